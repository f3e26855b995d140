/**
 * @file digest.c  SIP digest authentication, server side
 *
 * RFC 3261 22.4, RFC 7616 3.4 (qop=auth only), RFC 8760 (SHA-256 in SIP).
 *
 * Not thread safe: one struct digest belongs to the signalling thread (it
 * keeps its OpenSSL contexts so that a REGISTER costs no allocation apart
 * from the replay-table entry of a new nonce).
 */
#include "core.h"
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include "digest.h"


enum {
	KEY_LEN          = 32,
	NONCE_TIME       = 8,
	NONCE_RAND       = 8,
	NONCE_MAC        = 16,
	NONCE_RAW        = NONCE_TIME + NONCE_RAND + NONCE_MAC,
	NONCE_STRLEN     = (NONCE_RAW * 8 + 5) / 6,  /* base64url, no pad */
	FUTURE_SLACK_MS  = 5000,
	LIFETIME_DEFAULT = 300,
	REPLAY_MAX       = 100000,
	REPLAY_BUCKETS   = 8192,
	HASH_MAX         = 32,
};

enum nonce_state {
	NONCE_FRESH,    /* ours and within its lifetime          */
	NONCE_OLD,      /* ours but expired                       */
	NONCE_FOREIGN,  /* not ours: forged, other process, future */
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

	/* RFC 7616 3.4: the highest nonce-count accepted per nonce */
	struct hash *seenh;
	struct list seenl;      /* same entries, oldest insertion first */
	uint32_t seenc;
	uint64_t evicted_ms;    /* newest nonce dropped while still valid */
};

struct seen {
	struct le he;
	struct le le;
	uint8_t nonce[NONCE_RAW];
	uint64_t created_ms;
	uint32_t nc;
};

/* The auth-params we use from a digest response (RFC 7616 3.4) */
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

static const struct {
	const char *name;
	size_t off;
} dparamv[] = {
	{"username",  offsetof(struct dresp, username)},
	{"realm",     offsetof(struct dresp, realm)},
	{"nonce",     offsetof(struct dresp, nonce)},
	{"uri",       offsetof(struct dresp, uri)},
	{"response",  offsetof(struct dresp, response)},
	{"algorithm", offsetof(struct dresp, algorithm)},
	{"cnonce",    offsetof(struct dresp, cnonce)},
	{"qop",       offsetof(struct dresp, qop)},
	{"nc",        offsetof(struct dresp, nc)},
};

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static void seen_destructor(void *arg)
{
	struct seen *s = arg;

	hash_unlink(&s->he);
	list_unlink(&s->le);
}


static void destructor(void *arg)
{
	struct digest *d = arg;
	size_t i;

	list_flush(&d->seenl);
	mem_deref(d->seenh);
	mem_deref(d->realm);

	for (i = 0; i < DIGEST_ALGOC; i++)
		EVP_MD_free(d->mdv[i]);
	EVP_MD_CTX_free(d->mdctx);
	EVP_MAC_CTX_free(d->macctx);
	EVP_MAC_free(d->mac);

	OPENSSL_cleanse(d->nonce_key, sizeof(d->nonce_key));
	OPENSSL_cleanse(d->user_key, sizeof(d->user_key));
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


/* RFC 7616 3.4.1: lowercase hex */
static void hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		*out++ = hexd[in[i] >> 4];
		*out++ = hexd[in[i] & 0xf];
	}

	*out = '\0';
}


static int hex_val(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;

	return -1;
}


static int hex_decode(uint8_t *out, size_t n, const char *in, size_t len)
{
	size_t i;

	if (len != 2 * n)
		return EINVAL;

	for (i = 0; i < n; i++) {
		int hi = hex_val(in[2 * i]);
		int lo = hex_val(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return EINVAL;

		out[i] = (uint8_t)(hi << 4 | lo);
	}

	return 0;
}


/* H(part1:part2:...) without building the joined string */
static int hash_join(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *out,
		     const struct pl *partv, size_t partc)
{
	size_t i;

	if (!EVP_DigestInit_ex(ctx, md, NULL))
		return EIO;

	for (i = 0; i < partc; i++) {
		if (i && !EVP_DigestUpdate(ctx, ":", 1))
			return EIO;
		if (partv[i].l &&
		    !EVP_DigestUpdate(ctx, partv[i].p, partv[i].l))
			return EIO;
	}

	if (!EVP_DigestFinal_ex(ctx, out, NULL))
		return EIO;

	return 0;
}


static int mac_sha256(struct digest *d, uint8_t out[HASH_MAX],
		      const uint8_t *key, const uint8_t *a, size_t alen,
		      const uint8_t *b, size_t blen)
{
	size_t outl = 0;

	if (!EVP_MAC_init(d->macctx, key, KEY_LEN, NULL) ||
	    !EVP_MAC_update(d->macctx, a, alen) ||
	    (blen && !EVP_MAC_update(d->macctx, b, blen)) ||
	    !EVP_MAC_final(d->macctx, out, &outl, HASH_MAX))
		return EIO;

	return 0;
}


static int nonce_make(struct digest *d, char *out, uint64_t now_ms)
{
	uint8_t raw[NONCE_RAW], mac[HASH_MAX];
	int err;

	put_be64(raw, now_ms);
	if (RAND_bytes(raw + NONCE_TIME, NONCE_RAND) != 1)
		return EIO;

	err = mac_sha256(d, mac, d->nonce_key, raw,
			 NONCE_TIME + NONCE_RAND, NULL, 0);
	if (err)
		return err;

	memcpy(raw + NONCE_TIME + NONCE_RAND, mac, NONCE_MAC);
	b64url_encode(out, raw, sizeof(raw));

	return 0;
}


static enum nonce_state nonce_check(struct digest *d, const struct pl *nonce,
				    uint64_t now_ms, uint8_t *raw,
				    uint64_t *createdp)
{
	uint8_t mac[HASH_MAX];
	uint64_t created;

	if (nonce->l != NONCE_STRLEN || b64url_decode(raw, NONCE_RAW, nonce))
		return NONCE_FOREIGN;

	if (mac_sha256(d, mac, d->nonce_key, raw, NONCE_TIME + NONCE_RAND,
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


static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/* RFC 7230 3.2.6 tchar */
static bool is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;

	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


static int dresp_set(struct dresp *r, uint32_t *havep, const struct pl *name,
		     const struct pl *val, bool escaped)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dparamv); i++) {

		if (pl_strcasecmp(name, dparamv[i].name))
			continue;

		/* RFC 7616 3.4: a directive appears at most once */
		if (*havep & (1u << i))
			return EBADMSG;

		/* We hash values verbatim; quoted-pairs would need undoing
		 * first, and no sane client sends them in these params. */
		if (escaped)
			return EBADMSG;

		*havep |= 1u << i;
		*(struct pl *)(void *)((uint8_t *)r + dparamv[i].off) = *val;
		return 0;
	}

	return 0;  /* unknown auth-params are ignored (RFC 7616 3.4) */
}


/* RFC 7235 2.1: credentials = auth-scheme 1*SP #auth-param; values are
 * tokens or quoted-strings. Unquoted values are taken up to the next
 * comma or space, which tolerates clients that leave a uri unquoted. */
static int dresp_decode(struct dresp *r, const struct pl *hval)
{
	const char *p = hval->p, *end = hval->p + hval->l, *s;
	uint32_t have = 0;
	int err;

	memset(r, 0, sizeof(*r));

	while (p < end && is_ws(*p))
		++p;

	s = p;
	while (p < end && is_tchar(*p))
		++p;

	if (p - s != 6 || strncasecmp(s, "Digest", 6) || p == end ||
	    !is_ws(*p))
		return EBADMSG;

	for (;;) {
		struct pl name, val;
		bool escaped = false;

		while (p < end && (is_ws(*p) || *p == ','))
			++p;
		if (p == end)
			break;

		name.p = p;
		while (p < end && is_tchar(*p))
			++p;
		name.l = p - name.p;
		if (!name.l)
			return EBADMSG;

		while (p < end && is_ws(*p))
			++p;
		if (p == end || *p != '=')
			return EBADMSG;
		++p;
		while (p < end && is_ws(*p))
			++p;

		if (p < end && *p == '"') {
			val.p = ++p;
			while (p < end && *p != '"') {
				if (*p == '\\') {
					escaped = true;
					if (++p == end)
						break;
				}
				++p;
			}
			if (p == end)
				return EBADMSG;
			val.l = p - val.p;
			++p;
		}
		else {
			val.p = p;
			while (p < end && !is_ws(*p) && *p != ',' && *p != '"')
				++p;
			val.l = p - val.p;
		}

		while (p < end && is_ws(*p))
			++p;
		if (p < end && *p != ',')
			return EBADMSG;

		err = dresp_set(r, &have, &name, &val, escaped);
		if (err)
			return err;
	}

	return 0;
}


/* RFC 7616 3.3: no algorithm means MD5. The -sess variants are not
 * supported (they need server state per cnonce). */
static int algo_decode(enum digest_algo *algop, const struct pl *pl)
{
	if (!pl->p)
		*algop = DIGEST_MD5;
	else if (!pl_strcasecmp(pl, "MD5"))
		*algop = DIGEST_MD5;
	else if (!pl_strcasecmp(pl, "SHA-256"))
		*algop = DIGEST_SHA256;
	else
		return ENOTSUP;

	return 0;
}


static bool algo_enabled(const struct digest *d, enum digest_algo algo)
{
	size_t i;

	for (i = 0; i < d->algoc; i++) {
		if (d->algov[i] == algo)
			return true;
	}

	return false;
}


/* RFC 3261 22.4 / RFC 2617 3.2.2.5: the digest uri is the Request-URI.
 * Byte equality is the rule; a client that changed the case of the
 * scheme or host (RFC 3261 19.1.4: those compare case-insensitively)
 * still matches. Some clients (sipp among them) put the port they sent
 * to into the digest uri of a port-less Request-URI, or drop URI
 * parameters: user and host must match, a port only when both give one.
 * The response hash covers the uri param and the nonce-count check stops
 * replays, so this leniency gives an attacker nothing. */
static bool uri_match(const struct pl *duri, const struct pl *ruri)
{
	struct uri a, b;

	if (!pl_cmp(duri, ruri))
		return true;

	if (uri_decode(&a, duri) || uri_decode(&b, ruri))
		return false;

	return !pl_casecmp(&a.scheme, &b.scheme) &&
		!pl_cmp(&a.user, &b.user) &&
		!pl_cmp(&a.password, &b.password) &&
		!pl_casecmp(&a.host, &b.host) &&
		(a.port == b.port || !a.port || !b.port);
}


static bool nc_valid(const struct pl *nc)
{
	size_t i;

	/* RFC 7616 3.4: nc-value = 8LHEX; shorter is tolerated */
	if (nc->l < 1 || nc->l > 8)
		return false;

	for (i = 0; i < nc->l; i++) {
		if (hex_val(nc->p[i]) < 0)
			return false;
	}

	return pl_x32(nc) != 0;
}


/* An unknown user gets a keyed hash of its name as HA1, so it costs the
 * same work as a wrong password and fails the same way. */
static int fake_ha1(struct digest *d, uint8_t *ha1, enum digest_algo algo,
		    const struct pl *user)
{
	uint8_t out[HASH_MAX];
	uint8_t a = (uint8_t)algo;
	int err;

	err = mac_sha256(d, out, d->user_key, &a, 1,
			 (const uint8_t *)user->p, user->l);
	if (err)
		return err;

	memcpy(ha1, out, digest_ha1_len(algo));

	return 0;
}


/* RFC 7616 3.4.1 (qop=auth):
 *   response = H(HA1:nonce:nc:cnonce:qop:H(method:uri)) */
static int response_calc(struct digest *d, uint8_t *out, enum digest_algo algo,
			 const uint8_t *ha1, const struct dresp *r,
			 const struct pl *method)
{
	char ha1hex[2 * HASH_MAX + 1], ha2hex[2 * HASH_MAX + 1];
	uint8_t ha2[HASH_MAX];
	size_t hlen = digest_ha1_len(algo);
	struct pl partv[6];
	int err;

	partv[0] = *method;
	partv[1] = r->uri;
	err = hash_join(d->mdctx, d->mdv[algo], ha2, partv, 2);
	if (err)
		return err;

	hex_encode(ha1hex, ha1, hlen);
	hex_encode(ha2hex, ha2, hlen);

	pl_set_str(&partv[0], ha1hex);
	partv[1] = r->nonce;
	partv[2] = r->nc;
	partv[3] = r->cnonce;
	partv[4] = r->qop;
	pl_set_str(&partv[5], ha2hex);

	err = hash_join(d->mdctx, d->mdv[algo], out, partv, 6);

	OPENSSL_cleanse(ha1hex, sizeof(ha1hex));

	return err;
}


int digest_alloc(struct digest **dp, const char *realm,
		 uint32_t nonce_lifetime_s)
{
	struct digest *d;
	OSSL_PARAM prm[2];
	const char *c;
	int err;

	if (!dp || !realm || !*realm)
		return EINVAL;

	/* The realm goes into a quoted-string verbatim (RFC 3261 25.1) */
	for (c = realm; *c; c++) {
		if (*c == '"' || *c == '\\' || (uint8_t)*c < 0x20 ||
		    *c == 0x7f)
			return EINVAL;
	}

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;

	d->lifetime_ms = 1000ull *
		(nonce_lifetime_s ? nonce_lifetime_s : LIFETIME_DEFAULT);
	d->algov[0] = DIGEST_MD5;
	d->algoc = 1;
	list_init(&d->seenl);

	err = str_dup(&d->realm, realm);
	if (err)
		goto out;

	err = hash_alloc(&d->seenh, REPLAY_BUCKETS);
	if (err)
		goto out;

	/* A fresh secret per process: nonces from before a restart come
	 * back as foreign, and the phones re-authenticate once. */
	if (RAND_bytes(d->nonce_key, KEY_LEN) != 1 ||
	    RAND_bytes(d->user_key, KEY_LEN) != 1) {
		err = EIO;
		goto out;
	}

	d->mdv[DIGEST_MD5]    = EVP_MD_fetch(NULL, "MD5", NULL);
	d->mdv[DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	d->mdctx = EVP_MD_CTX_new();
	d->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	d->macctx = d->mac ? EVP_MAC_CTX_new(d->mac) : NULL;
	if (!d->mdv[DIGEST_MD5] || !d->mdv[DIGEST_SHA256] || !d->mdctx ||
	    !d->macctx) {
		err = ENOTSUP;
		goto out;
	}

	prm[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA2-256", 0);
	prm[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(d->macctx, prm)) {
		err = ENOTSUP;
		goto out;
	}

 out:
	if (err)
		mem_deref(d);
	else
		*dp = d;

	return err;
}


const char *digest_realm(const struct digest *d)
{
	return d ? d->realm : NULL;
}


int digest_set_algorithms(struct digest *d, const enum digest_algo *algov,
			  size_t algoc)
{
	size_t i, j;

	if (!d || !algov || !algoc || algoc > DIGEST_ALGOC)
		return EINVAL;

	for (i = 0; i < algoc; i++) {
		if ((unsigned)algov[i] >= DIGEST_ALGOC)
			return EINVAL;
		for (j = 0; j < i; j++) {
			if (algov[j] == algov[i])
				return EINVAL;
		}
	}

	memcpy(d->algov, algov, algoc * sizeof(*algov));
	d->algoc = algoc;

	return 0;
}


/* RFC 3261 22.4, RFC 8760 2.4: one challenge per algorithm, preferred
 * first. One nonce serves them all: it does not depend on the algorithm. */
int digest_challenge_print(struct re_printf *pf,
			   const struct digest_challenge *ch)
{
	char nonce[NONCE_STRLEN + 1];
	struct digest *d;
	size_t i;
	int err;

	if (!pf || !ch || !ch->d || !ch->hdr)
		return EINVAL;

	d = ch->d;

	err = nonce_make(d, nonce, tmr_jiffies());
	if (err)
		return err;

	for (i = 0; i < d->algoc; i++) {
		err |= re_hprintf(pf, "%s: Digest realm=\"%s\", nonce=\"%s\","
				  " algorithm=%s, qop=\"auth\"%s\r\n",
				  ch->hdr, d->realm, nonce,
				  digest_algo_name(d->algov[i]),
				  ch->stale ? ", stale=true" : "");
	}

	return err;
}


/*
 * Order of checks: syntax first (MALFORMED, nothing secret involved), then
 * realm and algorithm (FAIL: the client should answer a fresh challenge),
 * then the response itself, with the same work for known and unknown
 * users. Only a right response can be told STALE, and only a right
 * response on a fresh nonce reaches the replay table.
 *
 * A nonce that is not ours (bad MAC, garbled, from the future) is treated
 * like an expired one: right credentials give STALE, so phones carrying a
 * nonce from before a restart re-authenticate without counting as a
 * failure; a wrong response, or a tampered nonce with the original
 * response, gives FAIL.
 */
enum digest_result digest_verify(struct digest *d, const struct pl *hval,
				 const struct pl *method,
				 const struct pl *ruri,
				 digest_ha1_h *ha1h, void *arg,
				 struct pl *userp, uint64_t now_ms)
{
	uint8_t ha1[DIGEST_HA1_MAX], want[HASH_MAX], got[HASH_MAX];
	uint8_t raw[NONCE_RAW];
	enum nonce_state ns;
	enum digest_algo algo;
	uint64_t created = 0;
	struct seen *s;
	struct dresp r;
	bool known, match;
	size_t hlen;
	uint32_t nc;
	int err;

	if (userp)
		*userp = pl_null;

	if (!d || !hval || !hval->p || !method || !ruri || !ha1h)
		return DIGEST_MALFORMED;

	if (dresp_decode(&r, hval)) {
		log_debug("digest: unparsable credentials");
		return DIGEST_MALFORMED;
	}

	if (userp)
		*userp = r.username;

	/* RFC 7616 3.4: qop is required (no RFC 2069 compatibility mode),
	 * and with it cnonce and nc */
	if (!r.username.l || !r.realm.l || !r.nonce.l || !r.uri.l ||
	    !r.response.l || !r.cnonce.l || !r.qop.l || !r.nc.l) {
		log_debug("digest: %r: missing parameters", &r.username);
		return DIGEST_MALFORMED;
	}

	if (pl_strcasecmp(&r.qop, "auth") || !nc_valid(&r.nc)) {
		log_debug("digest: %r: bad qop or nc", &r.username);
		return DIGEST_MALFORMED;
	}

	if (!uri_match(&r.uri, ruri)) {
		log_debug("digest: %r: uri '%r' is not the Request-URI '%r'",
			  &r.username, &r.uri, ruri);
		return DIGEST_MALFORMED;
	}

	/* RFC 3261 22.1: realms compare as case-sensitive strings */
	if (pl_strcmp(&r.realm, d->realm)) {
		log_debug("digest: %r: foreign realm '%r'",
			  &r.username, &r.realm);
		return DIGEST_FAIL;
	}

	if (algo_decode(&algo, &r.algorithm) || !algo_enabled(d, algo)) {
		log_debug("digest: %r: algorithm '%r' not offered",
			  &r.username, &r.algorithm);
		return DIGEST_FAIL;
	}

	hlen = digest_ha1_len(algo);
	if (hex_decode(got, hlen, r.response.p, r.response.l)) {
		log_debug("digest: %r: response is not %zu hex bytes",
			  &r.username, hlen);
		return DIGEST_MALFORMED;
	}

	nc = pl_x32(&r.nc);
	ns = nonce_check(d, &r.nonce, now_ms, raw, &created);

	err = ha1h(&r.username, algo, ha1, arg);
	known = (err == 0);
	if (err == ENOENT)
		err = fake_ha1(d, ha1, algo, &r.username);
	if (err) {
		log_warn("digest: %r: HA1 lookup failed (%m)",
			 &r.username, err);
		return DIGEST_FAIL;
	}

	err = response_calc(d, want, algo, ha1, &r, method);
	OPENSSL_cleanse(ha1, sizeof(ha1));
	if (err) {
		log_warn("digest: %r: hashing failed (%m)", &r.username, err);
		return DIGEST_FAIL;
	}

	match = 0 == CRYPTO_memcmp(want, got, hlen);

	if (!match || !known) {
		log_debug("digest: %r: wrong credentials", &r.username);
		return DIGEST_FAIL;
	}

	if (ns != NONCE_FRESH) {
		log_debug("digest: %r: %s nonce", &r.username,
			  ns == NONCE_OLD ? "expired" : "foreign");
		return DIGEST_STALE;
	}

	/* RFC 7616 3.4: nc must grow; an equal or lower one is a replay */
	s = seen_find(d, raw);
	if (s) {
		if (nc <= s->nc) {
			log_debug("digest: %r: replayed nc %08x (seen %08x)",
				  &r.username, nc, s->nc);
			return DIGEST_FAIL;
		}
		s->nc = nc;
		return DIGEST_OK;
	}

	if (created <= d->evicted_ms) {
		log_debug("digest: %r: nonce dropped from replay table",
			  &r.username);
		return DIGEST_STALE;
	}

	err = seen_add(d, raw, created, nc, now_ms);
	if (err) {
		log_warn("digest: %r: cannot record nonce (%m)",
			 &r.username, err);
		return DIGEST_FAIL;
	}

	return DIGEST_OK;
}


int digest_ha1(uint8_t *ha1, enum digest_algo algo, const char *user,
	       const char *realm, const char *password)
{
	struct pl partv[3];
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	int err;

	if (!ha1 || !user || !realm || !password)
		return EINVAL;

	switch (algo) {

	case DIGEST_MD5:    md = EVP_md5();    break;
	case DIGEST_SHA256: md = EVP_sha256(); break;
	default:            return EINVAL;
	}

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return ENOMEM;

	/* RFC 7616 3.4.2: A1 = username ":" realm ":" passwd */
	pl_set_str(&partv[0], user);
	pl_set_str(&partv[1], realm);
	pl_set_str(&partv[2], password);

	err = hash_join(ctx, md, ha1, partv, 3);

	EVP_MD_CTX_free(ctx);

	return err;
}


size_t digest_ha1_len(enum digest_algo algo)
{
	switch (algo) {

	case DIGEST_MD5:    return 16;
	case DIGEST_SHA256: return 32;
	default:            return 0;
	}
}


const char *digest_algo_name(enum digest_algo algo)
{
	switch (algo) {

	case DIGEST_MD5:    return "MD5";
	case DIGEST_SHA256: return "SHA-256";
	default:            return "?";
	}
}


int digest_ha1_from_hex(uint8_t *ha1, enum digest_algo algo, const char *hex)
{
	size_t n = digest_ha1_len(algo);

	if (!ha1 || !hex || !n)
		return EINVAL;

	return hex_decode(ha1, n, hex, strlen(hex));
}
