/**
 * @file digest.h  SIP digest authentication, server side
 *
 * RFC 3261 22, RFC 7616 (MD5 and SHA-256, qop=auth), RFC 8760.
 *
 * Nonces are stateless: base64url(timestamp | random | MAC), the MAC keyed
 * with a per-process secret, so a nonce cannot be forged and expires after
 * the configured lifetime (then the challenge says stale=true). A small
 * table remembers the highest nonce-count seen per nonce, so a captured
 * Authorization header cannot be replayed.
 *
 * An unknown user and a wrong password take the same path (the HA1 of an
 * unknown user is a keyed hash of its name), so nothing outside can tell
 * them apart.
 */
#ifndef SWITCH_DIGEST_H
#define SWITCH_DIGEST_H

enum digest_algo {
	DIGEST_MD5 = 0,
	DIGEST_SHA256,
	DIGEST_ALGOC
};

enum digest_result {
	DIGEST_OK = 0,      /* credentials are right, nonce fresh      */
	DIGEST_STALE,       /* right credentials on an expired nonce,
			       or on one not ours (e.g. pre-restart)   */
	DIGEST_FAIL,        /* wrong password, unknown user,
			       other realm, algorithm not enabled      */
	DIGEST_REPLAY,      /* right credentials, but a nonce-count
			       already used: a retransmission or a
			       captured header; challenge again (stale),
			       it proves nothing and is no failure     */
	DIGEST_MALFORMED,   /* header unparsable / params missing / no
			       qop=auth / uri is not the Request-URI   */
};

/* Longest HA1 in binary form (SHA-256) */
#define DIGEST_HA1_MAX 32

struct digest;

/**
 * Supplies the HA1 for a user: H(user:realm:password) in binary, 16 bytes
 * for MD5, 32 for SHA-256. Returns ENOENT for an unknown user (the caller
 * must not act on it differently), or another error.
 */
typedef int (digest_ha1_h)(const struct pl *user, enum digest_algo algo,
			   uint8_t *ha1, void *arg);

int  digest_alloc(struct digest **dp, const char *realm,
		  uint32_t nonce_lifetime_s);
const char *digest_realm(const struct digest *d);

/**
 * Choose the algorithms offered in challenges and accepted in responses,
 * in order of preference (RFC 8760: the preferred one first). The default
 * is MD5 only: libre 1.1.0's client (baresip) gives up when any challenge
 * names an algorithm other than MD5. EINVAL for an empty list, an unknown
 * algorithm or a duplicate.
 */
int  digest_set_algorithms(struct digest *d, const enum digest_algo *algov,
			   size_t algoc);

/**
 * Print the challenge header lines, each ending in CRLF:
 * "<hdr>: Digest realm=..., nonce=..., algorithm=SHA-256, qop="auth"[,
 * stale=true]", one line per enabled algorithm in the order given to
 * digest_set_algorithms(), all with the same nonce. hdr is
 * "WWW-Authenticate" or "Proxy-Authenticate". Use with %H through
 * digest_challenge_print().
 */
struct digest_challenge {
	struct digest *d;
	const char *hdr;
	bool stale;
};
int  digest_challenge_print(struct re_printf *pf,
			    const struct digest_challenge *ch);

/**
 * Check one Authorization / Proxy-Authorization header value.
 *
 * @param d       Digest context
 * @param hval    Header value ("Digest username=..., ...")
 * @param method  Request method (REGISTER, INVITE, ...)
 * @param ruri    Request-URI as received; the digest uri must match it
 * @param ha1h    HA1 lookup
 * @param arg     Argument for ha1h
 * @param userp   On return (any result but MALFORMED) the username param
 * @param now_ms  Current time in milliseconds (tmr_jiffies())
 */
enum digest_result digest_verify(struct digest *d, const struct pl *hval,
				 const struct pl *method,
				 const struct pl *ruri,
				 digest_ha1_h *ha1h, void *arg,
				 struct pl *userp, uint64_t now_ms);

/** Compute HA1 = H(user:realm:password) in binary for an algorithm. */
int  digest_ha1(uint8_t *ha1, enum digest_algo algo, const char *user,
		const char *realm, const char *password);
size_t digest_ha1_len(enum digest_algo algo);
const char *digest_algo_name(enum digest_algo algo);

/** Parse a hex HA1 (32 or 64 hex chars) into binary; EINVAL if bad. */
int  digest_ha1_from_hex(uint8_t *ha1, enum digest_algo algo,
			 const char *hex);

#endif
