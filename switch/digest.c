/**
 * @file digest.c  SIP digest authentication, server side
 *
 * RFC 3261 22.4, RFC 7616 3.4 (qop=auth only), RFC 8760 (SHA-256 in SIP).
 * This file holds the public API and the order of the checks; parsing is
 * in digest_parse.c, nonces and the replay table in digest_nonce.c.
 *
 * Not thread safe: one struct digest belongs to the signalling thread (it
 * keeps its OpenSSL contexts so that a REGISTER costs no allocation apart
 * from the replay-table entry of a new nonce).
 */
#include "core.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include "digest.h"
#include "digest_int.h"


enum {
	LIFETIME_DEFAULT = 300,
};


static void destructor(void *arg)
{
	struct digest *d = arg;
	size_t i;

	digest_replay_flush(d);
	mem_deref(d->realm);

	for (i = 0; i < DIGEST_ALGOC; i++)
		EVP_MD_free(d->mdv[i]);
	EVP_MD_CTX_free(d->mdctx);
	EVP_MAC_CTX_free(d->macctx);
	EVP_MAC_free(d->mac);

	OPENSSL_cleanse(d->nonce_key, sizeof(d->nonce_key));
	OPENSSL_cleanse(d->user_key, sizeof(d->user_key));
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


static bool algo_enabled(const struct digest *d, enum digest_algo algo)
{
	size_t i;

	for (i = 0; i < d->algoc; i++) {
		if (d->algov[i] == algo)
			return true;
	}

	return false;
}


/* An unknown user gets a keyed hash of its name as HA1, so it costs the
 * same work as a wrong password and fails the same way. */
static int fake_ha1(struct digest *d, uint8_t *ha1, enum digest_algo algo,
		    const struct pl *user)
{
	uint8_t out[HASH_MAX];
	uint8_t a = (uint8_t)algo;
	int err;

	err = digest_mac(d, out, d->user_key, &a, 1,
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

	digest_hex_encode(ha1hex, ha1, hlen);
	digest_hex_encode(ha2hex, ha2, hlen);

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

	err = str_dup(&d->realm, realm);
	if (err)
		goto out;

	err = digest_replay_alloc(d);
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

	err = digest_nonce_make(d, nonce, tmr_jiffies());
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
	struct dresp r;
	bool known, match;
	size_t hlen;
	uint32_t nc;
	int err;

	if (userp)
		*userp = pl_null;

	if (!d || !hval || !hval->p || !method || !ruri || !ha1h)
		return DIGEST_MALFORMED;

	if (digest_resp_decode(&r, hval)) {
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

	if (pl_strcasecmp(&r.qop, "auth") || !digest_nc_valid(&r.nc)) {
		log_debug("digest: %r: bad qop or nc", &r.username);
		return DIGEST_MALFORMED;
	}

	if (!digest_uri_match(&r.uri, ruri)) {
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

	if (digest_algo_decode(&algo, &r.algorithm) ||
	    !algo_enabled(d, algo)) {
		log_debug("digest: %r: algorithm '%r' not offered",
			  &r.username, &r.algorithm);
		return DIGEST_FAIL;
	}

	hlen = digest_ha1_len(algo);
	if (digest_hex_decode(got, hlen, r.response.p, r.response.l)) {
		log_debug("digest: %r: response is not %zu hex bytes",
			  &r.username, hlen);
		return DIGEST_MALFORMED;
	}

	nc = pl_x32(&r.nc);
	ns = digest_nonce_check(d, &r.nonce, now_ms, raw, &created);

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

	return digest_nonce_use(d, raw, created, nc, now_ms, &r.username);
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

	return digest_hex_decode(ha1, n, hex, strlen(hex));
}
