/**
 * @file digest_int.h  Digest authentication, shared by its own files only
 *
 * digest.c      the public API: alloc, challenges, digest_verify(), HA1
 * digest_parse.c  the Authorization header and its auth-param values
 * digest_nonce.c  nonces (minting, MAC check) and the nc replay table
 *
 * Include after core.h and digest.h.
 */
#ifndef SWITCH_DIGEST_INT_H
#define SWITCH_DIGEST_INT_H

#include <openssl/evp.h>

enum {
	KEY_LEN          = 32,
	NONCE_TIME       = 8,
	NONCE_RAND       = 8,
	NONCE_MAC        = 16,
	NONCE_RAW        = NONCE_TIME + NONCE_RAND + NONCE_MAC,
	NONCE_STRLEN     = (NONCE_RAW * 8 + 5) / 6,  /* base64url, no pad */
	HASH_MAX         = 32,
};

struct digest {
	char *realm;
	uint64_t lifetime_ms;
	enum digest_algo algov[DIGEST_ALGOC];
	size_t algoc;

	/* Two keys so that a nonce MAC can never double as a fake HA1 */
	uint8_t nonce_key[KEY_LEN];
	uint8_t user_key[KEY_LEN];

	/* Fetched once: implicit fetches on every request are slow */
	EVP_MD *mdv[DIGEST_ALGOC];
	EVP_MD_CTX *mdctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *macctx;

	/* RFC 7616 3.4: the highest nonce-count accepted per nonce
	 * (owned by digest_nonce.c) */
	struct hash *seenh;
	struct list seenl;      /* same entries, oldest insertion first */
	uint32_t seenc;
	uint64_t evicted_ms;    /* newest nonce dropped while still valid */
};


/* digest_parse.c */

/* The auth-params we use from a digest response (RFC 7616 3.4); each
 * points into the header value. */
struct dresp {
	struct pl username;
	struct pl realm;
	struct pl nonce;
	struct pl uri;
	struct pl response;
	struct pl algorithm;
	struct pl cnonce;
	struct pl qop;
	struct pl nc;
};

int  digest_resp_decode(struct dresp *r, const struct pl *hval);
int  digest_algo_decode(enum digest_algo *algop, const struct pl *pl);
bool digest_nc_valid(const struct pl *nc);
bool digest_uri_match(const struct pl *duri, const struct pl *ruri);
void digest_hex_encode(char *out, const uint8_t *in, size_t n);
int  digest_hex_decode(uint8_t *out, size_t n, const char *in, size_t len);


/* digest_nonce.c */

enum nonce_state {
	NONCE_FRESH,    /* ours and within its lifetime          */
	NONCE_OLD,      /* ours but expired                       */
	NONCE_FOREIGN,  /* not ours: forged, other process, future */
};

/** HMAC-SHA-256 over a | b with one of the keys of d */
int  digest_mac(struct digest *d, uint8_t out[HASH_MAX], const uint8_t *key,
		const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/** out must hold NONCE_STRLEN + 1 chars */
int  digest_nonce_make(struct digest *d, char *out, uint64_t now_ms);
/** raw receives the decoded nonce (NONCE_RAW bytes), *createdp its
 *  timestamp once the MAC is right */
enum nonce_state digest_nonce_check(struct digest *d, const struct pl *nonce,
				    uint64_t now_ms, uint8_t *raw,
				    uint64_t *createdp);
/** Record nonce-count nc for a right response on a fresh nonce: OK,
 *  FAIL for a replay, STALE for a nonce the table had to forget. */
enum digest_result digest_nonce_use(struct digest *d, const uint8_t *raw,
				    uint64_t created, uint32_t nc,
				    uint64_t now_ms, const struct pl *user);
int  digest_replay_alloc(struct digest *d);
void digest_replay_flush(struct digest *d);

#endif
