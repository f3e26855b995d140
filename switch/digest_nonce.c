/**
 * @file digest_nonce.c  Digest nonces and the nonce-count replay table
 *
 * A nonce is base64url(timestamp | random | MAC): stateless to check, and
 * impossible to forge without the per-process key. Statelessness alone
 * would let a captured Authorization header be replayed for the whole
 * lifetime, so the table below remembers the highest nc seen per nonce
 * (RFC 7616 3.4).
 */
#include "core.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "digest.h"
#include "digest_int.h"


enum {
	FUTURE_SLACK_MS  = 5000,
	REPLAY_MAX       = 100000,
	REPLAY_BUCKETS   = 8192,
};

struct seen {
	struct le he;
	struct le le;
	uint8_t nonce[NONCE_RAW];
	uint64_t created_ms;
	uint32_t nc;
};

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static void seen_destructor(void *arg)
{
	struct seen *s = arg;

	hash_unlink(&s->he);
	list_unlink(&s->le);
}


static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}


static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];

	return v;
}


static void b64url_encode(char *out, const uint8_t *in, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = b64url[(acc >> bits) & 0x3f];
		}
	}

	if (bits)
		*out++ = b64url[(acc << (6 - bits)) & 0x3f];

	*out = '\0';
}


static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;

	return -1;
}


/* Strict: exactly n bytes and zero padding bits, so one nonce has one
 * spelling. */
static int b64url_decode(uint8_t *out, size_t n, const struct pl *in)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < in->l; i++) {
		int v = b64url_val(in->p[i]);

		if (v < 0)
			return EINVAL;

		acc = (acc << 6 | (uint32_t)v) & 0xfff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == n)
				return EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}

	if (o != n || (acc & ((1u << bits) - 1)))
		return EINVAL;

	return 0;
}


int digest_mac(struct digest *d, uint8_t out[HASH_MAX], const uint8_t *key,
	       const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t outl = 0;

	if (!EVP_MAC_init(d->macctx, key, KEY_LEN, NULL) ||
	    !EVP_MAC_update(d->macctx, a, alen) ||
	    (blen && !EVP_MAC_update(d->macctx, b, blen)) ||
	    !EVP_MAC_final(d->macctx, out, &outl, HASH_MAX))
		return EIO;

	return 0;
}


int digest_nonce_make(struct digest *d, char *out, uint64_t now_ms)
{
	uint8_t raw[NONCE_RAW], mac[HASH_MAX];
	int err;

	put_be64(raw, now_ms);
	if (RAND_bytes(raw + NONCE_TIME, NONCE_RAND) != 1)
		return EIO;

	err = digest_mac(d, mac, d->nonce_key, raw,
			 NONCE_TIME + NONCE_RAND, NULL, 0);
	if (err)
		return err;

	memcpy(raw + NONCE_TIME + NONCE_RAND, mac, NONCE_MAC);
	b64url_encode(out, raw, sizeof(raw));

	return 0;
}


enum nonce_state digest_nonce_check(struct digest *d, const struct pl *nonce,
				    uint64_t now_ms, uint8_t *raw,
				    uint64_t *createdp)
{
	uint8_t mac[HASH_MAX];
	uint64_t created;

	if (nonce->l != NONCE_STRLEN || b64url_decode(raw, NONCE_RAW, nonce))
		return NONCE_FOREIGN;

	if (digest_mac(d, mac, d->nonce_key, raw, NONCE_TIME + NONCE_RAND,
		       NULL, 0))
		return NONCE_FOREIGN;

	if (CRYPTO_memcmp(mac, raw + NONCE_TIME + NONCE_RAND, NONCE_MAC))
		return NONCE_FOREIGN;

	created = get_be64(raw);
	*createdp = created;

	/* tmr_jiffies() is wall-clock time in libre 1.1.0 and may step */
	if (created > now_ms + FUTURE_SLACK_MS)
		return NONCE_FOREIGN;

	if (now_ms > created && now_ms - created > d->lifetime_ms)
		return NONCE_OLD;

	return NONCE_FRESH;
}


static bool seen_cmp_handler(struct le *le, void *arg)
{
	const struct seen *s = le->data;

	return 0 == memcmp(s->nonce, arg, NONCE_RAW);
}


/* The MAC bytes are uniformly random: a fine bucket key */
static uint32_t seen_key(const uint8_t *raw)
{
	const uint8_t *m = raw + NONCE_TIME + NONCE_RAND;

	return (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
		(uint32_t)m[2] << 8 | m[3];
}


static struct seen *seen_find(const struct digest *d, const uint8_t *raw)
{
	struct le *le;

	le = hash_lookup(d->seenh, seen_key(raw), seen_cmp_handler,
			 (void *)raw);

	return le ? le->data : NULL;
}


static bool nonce_expired(const struct digest *d, uint64_t created,
			  uint64_t now_ms)
{
	return now_ms > created && now_ms - created > d->lifetime_ms;
}


static int seen_add(struct digest *d, const uint8_t *raw, uint64_t created,
		    uint32_t nc, uint64_t now_ms)
{
	struct seen *s;

	/* Lazy expiry from the oldest end; the bound below catches the rest */
	while (d->seenl.head) {
		s = d->seenl.head->data;
		if (!nonce_expired(d, s->created_ms, now_ms))
			break;
		mem_deref(s);
		--d->seenc;
	}

	/* Bounded memory. A still valid nonce that we forget could be
	 * replayed, so every nonce not newer than it is refused from now on
	 * (as stale; its owner simply fetches a new one). */
	if (d->seenc >= REPLAY_MAX && d->seenl.head) {
		s = d->seenl.head->data;
		if (s->created_ms > d->evicted_ms)
			d->evicted_ms = s->created_ms;
		mem_deref(s);
		--d->seenc;
	}

	s = mem_zalloc(sizeof(*s), seen_destructor);
	if (!s)
		return ENOMEM;

	memcpy(s->nonce, raw, NONCE_RAW);
	s->created_ms = created;
	s->nc = nc;

	hash_append(d->seenh, seen_key(raw), &s->he, s);
	list_append(&d->seenl, &s->le, s);
	++d->seenc;

	return 0;
}


/* RFC 7616 3.4: nc must grow; an equal or lower one is a replay */
enum digest_result digest_nonce_use(struct digest *d, const uint8_t *raw,
				    uint64_t created, uint32_t nc,
				    uint64_t now_ms, const struct pl *user)
{
	struct seen *s;
	int err;

	s = seen_find(d, raw);
	if (s) {
		if (nc <= s->nc) {
			log_debug("digest: %r: replayed nc %08x (seen %08x)",
				  user, nc, s->nc);
			return DIGEST_REPLAY;
		}
		s->nc = nc;
		return DIGEST_OK;
	}

	if (created <= d->evicted_ms) {
		log_debug("digest: %r: nonce dropped from replay table",
			  user);
		return DIGEST_STALE;
	}

	err = seen_add(d, raw, created, nc, now_ms);
	if (err) {
		log_warn("digest: %r: cannot record nonce (%m)", user, err);
		return DIGEST_FAIL;
	}

	return DIGEST_OK;
}


int digest_replay_alloc(struct digest *d)
{
	list_init(&d->seenl);

	return hash_alloc(&d->seenh, REPLAY_BUCKETS);
}


void digest_replay_flush(struct digest *d)
{
	list_flush(&d->seenl);
	d->seenh = mem_deref(d->seenh);
	d->seenc = 0;
}
