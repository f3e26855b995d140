/**
 * @file test_digest.c  Server-side SIP digest authentication
 *
 * The expected responses are computed here independently (OpenSSL one-shot
 * hashes over printf-built strings), and that calculator is itself checked
 * against the RFC 2617 and RFC 7616 examples.
 *
 * Results for bad input, as implemented and documented in digest.c:
 *   garbage, other scheme, missing or duplicate params, qop missing or not
 *   "auth", bad nc, uri not the Request-URI, response of the wrong length
 *                                                   -> DIGEST_MALFORMED
 *   wrong realm, algorithm not enabled or unknown, wrong password, unknown
 *   user, tampered nonce                          -> DIGEST_FAIL
 *   replayed or lower nc (right credentials)        -> DIGEST_REPLAY
 *   right response on an expired, foreign or future nonce -> DIGEST_STALE
 *
 * Leaks: libre 1.1.0 as packaged has no MEM_DEBUG (mem_get_stat() returns
 * ENOSYS), so build with -fsanitize=address to have LeakSanitizer check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include "core.h"
#include "digest.h"


#define REALM    "example.com"
#define RURI     "sip:example.com"
#define LIFETIME 60

struct fixture {
	struct digest *d;
	unsigned lookups;
};

/* Independent inputs for a client-side response */
struct creds {
	const char *user;
	const char *realm;
	const char *password;
	const char *nonce;
	const char *uri;
	const char *method;
	const char *cnonce;
	const char *algo;     /* NULL: no algorithm param (means MD5) */
	uint32_t nc;
};


static void hexhash(char *out, const char *algo, const char *in)
{
	const EVP_MD *md = (algo && !strcmp(algo, "SHA-256")) ?
		EVP_sha256() : EVP_md5();
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned n = 0, i;

	assert_int_equal(EVP_Digest(in, strlen(in), h, &n, md, NULL), 1);

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}


/* RFC 7616 3.4.1, qop=auth */
static void client_response(char *out, const struct creds *c)
{
	char buf[1024], ha1[65], ha2[65];

	snprintf(buf, sizeof(buf), "%s:%s:%s", c->user, c->realm,
		 c->password);
	hexhash(ha1, c->algo, buf);

	snprintf(buf, sizeof(buf), "%s:%s", c->method, c->uri);
	hexhash(ha2, c->algo, buf);

	snprintf(buf, sizeof(buf), "%s:%s:%08x:%s:auth:%s", ha1, c->nonce,
		 c->nc, c->cnonce, ha2);
	hexhash(out, c->algo, buf);
}


static char *authz(const struct creds *c)
{
	char resp[65];
	char *s = NULL;

	client_response(resp, c);

	assert_int_equal(re_sdprintf(&s, "Digest username=\"%s\","
				     " realm=\"%s\", nonce=\"%s\","
				     " uri=\"%s\", response=\"%s\","
				     "%s%s%s qop=auth, nc=%08x,"
				     " cnonce=\"%s\"",
				     c->user, c->realm, c->nonce, c->uri,
				     resp,
				     c->algo ? " algorithm=" : "",
				     c->algo ? c->algo : "",
				     c->algo ? "," : "",
				     c->nc, c->cnonce), 0);
	return s;
}


static int ha1h(const struct pl *user, enum digest_algo algo, uint8_t *ha1,
		void *arg)
{
	struct fixture *f = arg;

	++f->lookups;

	if (pl_strcmp(user, "alice"))
		return ENOENT;

	return digest_ha1(ha1, algo, "alice", REALM, "secret");
}


static enum digest_result verify_at(struct fixture *f, const char *hdr,
				    const char *method, const char *ruri,
				    uint64_t now, struct pl *user)
{
	struct pl h, m, r;

	pl_set_str(&h, hdr);
	pl_set_str(&m, method);
	pl_set_str(&r, ruri);

	return digest_verify(f->d, &h, &m, &r, ha1h, f, user, now);
}


static enum digest_result verify(struct fixture *f, const char *hdr)
{
	return verify_at(f, hdr, "REGISTER", RURI, tmr_jiffies(), NULL);
}


static char *challenge(struct digest *d, const char *hdr, bool stale)
{
	struct digest_challenge ch = {d, hdr, stale};
	char *s = NULL;

	assert_int_equal(re_sdprintf(&s, "%H", digest_challenge_print, &ch),
			 0);
	return s;
}


/* A fresh nonce from a real challenge; the caller frees it */
static char *nonce_get(struct digest *d)
{
	char *ch = challenge(d, "WWW-Authenticate", false);
	struct pl n;
	char *s = NULL;

	assert_int_equal(re_regex(ch, strlen(ch), "nonce=\"[^\"]+\"", &n),
			 0);
	assert_int_equal(pl_strdup(&s, &n), 0);
	mem_deref(ch);

	return s;
}


static struct creds alice(const char *nonce)
{
	struct creds c = {
		.user = "alice", .realm = REALM, .password = "secret",
		.nonce = nonce, .uri = RURI, .method = "REGISTER",
		.cnonce = "0a4f113b", .algo = NULL, .nc = 1,
	};

	return c;
}


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || digest_alloc(&f->d, REALM, LIFETIME))
		return -1;

	*state = f;
	return 0;
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	mem_deref(f->d);
	free(f);
	return 0;
}


/* RFC 2617 3.5 and RFC 7616 3.9.1: the test's own calculator is right */
static void test_client_kat(void **state)
{
	struct creds c = {
		.user = "Mufasa", .realm = "testrealm@host.com",
		.password = "Circle Of Life",
		.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		.uri = "/dir/index.html", .method = "GET",
		.cnonce = "0a4f113b", .nc = 1,
	};
	char resp[65];
	(void)state;

	client_response(resp, &c);
	assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");

	c.realm = "http-auth@example.org";
	c.password = "Circle of Life";
	c.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
	c.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

	client_response(resp, &c);
	assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");

	c.algo = "SHA-256";
	client_response(resp, &c);
	assert_string_equal(resp, "753927fa0e85d155564e2e272a28d1802ca10daf"
			    "4496794697cf8db5856cb6c1");
}


static int mufasa_ha1h(const struct pl *user, enum digest_algo algo,
		       uint8_t *ha1, void *arg)
{
	if (pl_strcmp(user, "Mufasa"))
		return ENOENT;

	return digest_ha1(ha1, algo, "Mufasa", arg, "Circle of Life");
}


/* RFC 7616 3.9.1 through digest_verify itself. The RFC's nonce is not one
 * of ours, so a right response yields STALE and a wrong one FAIL. */
static void kat_verify(const char *hdr, enum digest_result expect)
{
	const char *realm = "http-auth@example.org";
	struct pl h, m = PL("GET"), r = PL("/dir/index.html"), user;
	struct digest *d = NULL;
	enum digest_algo both[] = {DIGEST_SHA256, DIGEST_MD5};

	assert_int_equal(digest_alloc(&d, realm, 300), 0);
	assert_int_equal(digest_set_algorithms(d, both, 2), 0);

	pl_set_str(&h, hdr);
	assert_int_equal(digest_verify(d, &h, &m, &r, mufasa_ha1h,
				       (void *)realm, &user, tmr_jiffies()),
			 expect);
	assert_int_equal(pl_strcmp(&user, "Mufasa"), 0);

	mem_deref(d);
}


static void test_rfc7616_vectors(void **state)
{
	(void)state;

	/* RFC 7616 3.9.1, MD5 */
	kat_verify("Digest username=\"Mufasa\","
		   " realm=\"http-auth@example.org\","
		   " uri=\"/dir/index.html\", algorithm=MD5,"
		   " nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\","
		   " nc=00000001,"
		   " cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\","
		   " qop=auth,"
		   " response=\"8ca523f5e9506fed4657c9700eebdbec\","
		   " opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		   DIGEST_STALE);

	/* RFC 7616 3.9.1, SHA-256 */
	kat_verify("Digest username=\"Mufasa\","
		   " realm=\"http-auth@example.org\","
		   " uri=\"/dir/index.html\", algorithm=SHA-256,"
		   " nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\","
		   " nc=00000001,"
		   " cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\","
		   " qop=auth,"
		   " response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496"
		   "794697cf8db5856cb6c1\","
		   " opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		   DIGEST_STALE);

	/* Same, last digit of the response changed */
	kat_verify("Digest username=\"Mufasa\","
		   " realm=\"http-auth@example.org\","
		   " uri=\"/dir/index.html\", algorithm=SHA-256,"
		   " nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\","
		   " nc=00000001,"
		   " cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\","
		   " qop=auth,"
		   " response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496"
		   "794697cf8db5856cb6c2\"",
		   DIGEST_FAIL);
}


static void test_ha1_helpers(void **state)
{
	uint8_t ha1[DIGEST_HA1_MAX], ref[DIGEST_HA1_MAX];
	char hex[65];
	(void)state;

	assert_int_equal(digest_ha1(ha1, DIGEST_MD5, "Mufasa",
				    "testrealm@host.com", "Circle Of Life"),
			 0);
	/* RFC 2617 3.5: HA1 of the example */
	assert_int_equal(digest_ha1_from_hex(ref, DIGEST_MD5,
				     "939e7578ed9e3c518a452acee763bce9"), 0);
	assert_memory_equal(ha1, ref, 16);

	assert_int_equal(digest_ha1(ha1, DIGEST_SHA256, "alice", REALM,
				    "secret"), 0);
	hexhash(hex, "SHA-256", "alice:" REALM ":secret");
	assert_int_equal(digest_ha1_from_hex(ref, DIGEST_SHA256, hex), 0);
	assert_memory_equal(ha1, ref, 32);

	/* Upper case hex is fine too */
	assert_int_equal(digest_ha1_from_hex(ref, DIGEST_MD5,
				     "939E7578ED9E3C518A452ACEE763BCE9"), 0);
	assert_int_equal(digest_ha1_from_hex(ref, DIGEST_MD5,
				     "939e7578ed9e3c518a452acee763bce"),
			 EINVAL);
	assert_int_equal(digest_ha1_from_hex(ref, DIGEST_MD5,
				     "939e7578ed9e3c518a452acee763bcez"),
			 EINVAL);
	assert_int_equal(digest_ha1_from_hex(ref, DIGEST_SHA256,
				     "939e7578ed9e3c518a452acee763bce9"),
			 EINVAL);

	assert_int_equal(digest_ha1_len(DIGEST_MD5), 16);
	assert_int_equal(digest_ha1_len(DIGEST_SHA256), 32);
	assert_string_equal(digest_algo_name(DIGEST_MD5), "MD5");
	assert_string_equal(digest_algo_name(DIGEST_SHA256), "SHA-256");
}


static void test_alloc_args(void **state)
{
	struct digest *d = NULL;
	enum digest_algo bad[] = {DIGEST_MD5, DIGEST_MD5};
	enum digest_algo unknown[] = {DIGEST_ALGOC};
	(void)state;

	assert_int_equal(digest_alloc(&d, "", 60), EINVAL);
	assert_int_equal(digest_alloc(&d, "a\"b", 60), EINVAL);
	assert_int_equal(digest_alloc(&d, "a\r\nb", 60), EINVAL);
	assert_null(d);

	assert_int_equal(digest_alloc(&d, REALM, 0), 0);
	assert_string_equal(digest_realm(d), REALM);
	assert_int_equal(digest_set_algorithms(d, bad, 2), EINVAL);
	assert_int_equal(digest_set_algorithms(d, unknown, 1), EINVAL);
	assert_int_equal(digest_set_algorithms(d, bad, 0), EINVAL);
	mem_deref(d);
}


static void test_right_password(void **state)
{
	struct fixture *f = *state;
	char *n = nonce_get(f->d);
	struct creds c = alice(n);
	char *h = authz(&c);
	struct pl user;

	assert_int_equal(verify_at(f, h, "REGISTER", RURI, tmr_jiffies(),
				   &user), DIGEST_OK);
	assert_int_equal(pl_strcmp(&user, "alice"), 0);

	mem_deref(h);
	mem_deref(n);
}


static void test_wrong_password_unknown_user(void **state)
{
	struct fixture *f = *state;
	char *n = nonce_get(f->d);
	struct creds c = alice(n);
	struct pl user;
	char *h;

	c.password = "guess";
	h = authz(&c);
	f->lookups = 0;
	assert_int_equal(verify_at(f, h, "REGISTER", RURI, tmr_jiffies(),
				   &user), DIGEST_FAIL);
	assert_int_equal(pl_strcmp(&user, "alice"), 0);
	assert_int_equal(f->lookups, 1);
	mem_deref(h);

	/* An unknown user takes the same path and gets the same answer */
	c.user = "mallory";
	c.password = "secret";
	h = authz(&c);
	f->lookups = 0;
	assert_int_equal(verify_at(f, h, "REGISTER", RURI, tmr_jiffies(),
				   &user), DIGEST_FAIL);
	assert_int_equal(pl_strcmp(&user, "mallory"), 0);
	assert_int_equal(f->lookups, 1);
	mem_deref(h);

	/* The nonce was not spent by the failures */
	c = alice(n);
	h = authz(&c);
	assert_int_equal(verify(f, h), DIGEST_OK);
	mem_deref(h);

	mem_deref(n);
}


static void test_expiry(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = tmr_jiffies();
	char *n = nonce_get(f->d);
	struct creds c = alice(n);
	char *h = authz(&c), *bad;

	/* RFC 7616 3.3: stale only when the response was right */
	assert_int_equal(verify_at(f, h, "REGISTER", RURI,
				   t0 + LIFETIME * 1000 + 2000, NULL),
			 DIGEST_STALE);

	c.password = "guess";
	bad = authz(&c);
	assert_int_equal(verify_at(f, bad, "REGISTER", RURI,
				   t0 + LIFETIME * 1000 + 2000, NULL),
			 DIGEST_FAIL);

	/* Still inside the lifetime */
	assert_int_equal(verify_at(f, h, "REGISTER", RURI,
				   t0 + LIFETIME * 1000 - 2000, NULL),
			 DIGEST_OK);

	/* From the future beyond the slack: not one we issued */
	c = alice(n);
	c.nc = 2;
	mem_deref(h);
	h = authz(&c);
	assert_int_equal(verify_at(f, h, "REGISTER", RURI, t0 - 60000, NULL),
			 DIGEST_STALE);

	mem_deref(bad);
	mem_deref(h);
	mem_deref(n);
}


static void test_tampered_nonce(void **state)
{
	struct fixture *f = *state;
	char *n = nonce_get(f->d), *t = NULL, *h, *hdr;
	struct digest *other = NULL;
	struct creds c = alice(n);
	char *p;

	/* Keep the response computed over the genuine nonce */
	h = authz(&c);
	assert_int_equal(str_dup(&t, n), 0);
	t[5] = t[5] == 'A' ? 'B' : 'A';
	p = strstr(h, n);
	assert_non_null(p);
	memcpy(p, t, strlen(t));
	assert_int_equal(verify(f, h), DIGEST_FAIL);
	mem_deref(h);

	/* A response over the tampered nonce proves the password but not
	 * the nonce: only STALE, never OK */
	c.nonce = t;
	h = authz(&c);
	assert_int_equal(verify(f, h), DIGEST_STALE);
	mem_deref(h);

	/* Not base64url at all */
	c.nonce = "not a nonce";
	h = authz(&c);
	assert_int_equal(verify(f, h), DIGEST_STALE);
	c.password = "guess";
	hdr = authz(&c);
	assert_int_equal(verify(f, hdr), DIGEST_FAIL);
	mem_deref(hdr);
	mem_deref(h);

	/* Issued by another instance (another secret, e.g. before a
	 * restart) */
	assert_int_equal(digest_alloc(&other, REALM, LIFETIME), 0);
	mem_deref(n);
	n = nonce_get(other);
	c = alice(n);
	h = authz(&c);
	assert_int_equal(verify(f, h), DIGEST_STALE);
	mem_deref(h);

	mem_deref(other);
	mem_deref(t);
	mem_deref(n);
}


static void test_replay(void **state)
{
	struct fixture *f = *state;
	char *n = nonce_get(f->d), *h1, *h2, *h3;
	struct creds c = alice(n);

	h1 = authz(&c);
	c.nc = 2;
	h2 = authz(&c);
	c.nc = 3;
	h3 = authz(&c);

	assert_int_equal(verify(f, h1), DIGEST_OK);
	assert_int_equal(verify(f, h1), DIGEST_REPLAY);  /* replay */
	assert_int_equal(verify(f, h2), DIGEST_OK);
	assert_int_equal(verify(f, h2), DIGEST_REPLAY);
	assert_int_equal(verify(f, h1), DIGEST_REPLAY);  /* lower nc */
	assert_int_equal(verify(f, h3), DIGEST_OK);

	mem_deref(h1);
	mem_deref(h2);
	mem_deref(h3);
	mem_deref(n);
}


/* Bounded replay table: after more than 100000 nonces, the first one's
 * history is gone, so replaying it must not give OK. */
static void test_replay_bound(void **state)
{
	struct fixture *f = *state;
	char *first = nonce_get(f->d), *h1;
	struct creds c = alice(first);
	uint32_t i;

	h1 = authz(&c);
	assert_int_equal(verify(f, h1), DIGEST_OK);

	for (i = 0; i < 100000; i++) {
		char *n = nonce_get(f->d), *h;

		c = alice(n);
		h = authz(&c);
		assert_int_equal(verify(f, h), DIGEST_OK);
		mem_deref(h);
		mem_deref(n);
	}

	assert_int_not_equal(verify(f, h1), DIGEST_OK);

	mem_deref(h1);
	mem_deref(first);
}


static void expect(struct fixture *f, const char *hdr,
		   enum digest_result res)
{
	assert_int_equal(verify(f, hdr), res);
}


static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	char *n = nonce_get(f->d), *h;
	struct creds c = alice(n);
	char buf[1024];

	/* RFC 3261 22.1: another realm's credentials: rechallenge */
	c.realm = "example.org";
	h = authz(&c);
	expect(f, h, DIGEST_FAIL);
	mem_deref(h);

	/* RFC 2617 3.2.2.5: uri must be the Request-URI (400) */
	c = alice(n);
	c.uri = "sip:other.example.com";
	h = authz(&c);
	expect(f, h, DIGEST_MALFORMED);
	mem_deref(h);

	/* ... but scheme and host compare case-insensitively */
	c = alice(n);
	c.uri = "SIP:Example.COM";
	h = authz(&c);
	expect(f, h, DIGEST_OK);
	mem_deref(h);

	expect(f, "", DIGEST_MALFORMED);
	expect(f, "garbage", DIGEST_MALFORMED);
	expect(f, "Digest", DIGEST_MALFORMED);
	expect(f, "Basic YWxpY2U6c2VjcmV0", DIGEST_MALFORMED);
	expect(f, "Digest username=\"alice, realm=\"" REALM "\"",
	       DIGEST_MALFORMED);
	expect(f, "Digest username alice", DIGEST_MALFORMED);

	/* qop is required: no RFC 2069 mode */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae49393a05397450978507c4ef1\"", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* qop=auth-int is not supported */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae49393a05397450978507c4ef1\","
		 " qop=auth-int, nc=00000001, cnonce=\"x\"", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* cnonce missing */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae49393a05397450978507c4ef1\","
		 " qop=auth, nc=00000001", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* nc zero or not hex */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae49393a05397450978507c4ef1\","
		 " qop=auth, nc=00000000, cnonce=\"x\"", n);
	expect(f, buf, DIGEST_MALFORMED);
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae49393a05397450978507c4ef1\","
		 " qop=auth, nc=0000000g, cnonce=\"x\"", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* response of the wrong length for MD5 */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae4\","
		 " qop=auth, nc=00000001, cnonce=\"x\"", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* a directive twice (RFC 7616 3.4) */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s\", uri=\"" RURI "\","
		 " response=\"6629fae49393a05397450978507c4ef1\","
		 " qop=auth, nc=00000001, cnonce=\"x\", username=\"bob\"", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* unterminated quoted-string */
	snprintf(buf, sizeof(buf), "Digest username=\"alice\", realm=\""
		 REALM "\", nonce=\"%s", n);
	expect(f, buf, DIGEST_MALFORMED);

	/* -sess variants are not offered */
	c = alice(n);
	c.algo = "MD5-sess";
	h = authz(&c);
	expect(f, h, DIGEST_FAIL);
	mem_deref(h);

	/* nc 1 was spent by the case-insensitive uri above. Odd but legal
	 * spelling: unquoted values, odd spacing, extra params, lower case
	 * scheme and names, empty list elements */
	c = alice(n);
	c.nc = 7;
	{
		char resp[65];

		client_response(resp, &c);
		snprintf(buf, sizeof(buf), "  digest  cnonce=\"0a4f113b\" ,"
			 "NC=00000007,qop=\"auth\",opaque=\"\",  "
			 "response=%s ,uri=" RURI ", nonce=\"%s\","
			 "realm=\"" REALM "\",username=\"alice\",,", resp, n);
	}
	expect(f, buf, DIGEST_OK);

	mem_deref(n);
}


static void test_sha256(void **state)
{
	struct fixture *f = *state;
	enum digest_algo both[] = {DIGEST_SHA256, DIGEST_MD5};
	char *n = nonce_get(f->d), *h;
	struct creds c = alice(n);

	/* Only MD5 enabled (the default): a SHA-256 response fails */
	c.algo = "SHA-256";
	h = authz(&c);
	expect(f, h, DIGEST_FAIL);
	mem_deref(h);

	assert_int_equal(digest_set_algorithms(f->d, both, 2), 0);

	h = authz(&c);
	expect(f, h, DIGEST_OK);
	mem_deref(h);

	/* MD5 still accepted, the same nonce with a higher nc */
	c.algo = "MD5";
	c.nc = 2;
	h = authz(&c);
	expect(f, h, DIGEST_OK);
	mem_deref(h);

	/* SHA-256 only: MD5 now fails */
	assert_int_equal(digest_set_algorithms(f->d, both, 1), 0);
	c.algo = NULL;
	c.nc = 3;
	h = authz(&c);
	expect(f, h, DIGEST_FAIL);
	mem_deref(h);

	mem_deref(n);
}


static void test_challenge_text(void **state)
{
	struct fixture *f = *state;
	enum digest_algo both[] = {DIGEST_SHA256, DIGEST_MD5};
	struct pl n1, n2, a1, a2;
	char buf[256];
	char *s;

	/* Default: one MD5 line, as libre 1.1.0 clients need */
	s = challenge(f->d, "WWW-Authenticate", false);
	assert_int_equal(re_regex(s, strlen(s), "nonce=\"[^\"]+\"", &n1), 0);
	assert_int_equal(n1.l, 43);
	assert_int_equal(strspn(n1.p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	snprintf(buf, sizeof(buf), "WWW-Authenticate: Digest realm=\"" REALM
		 "\", nonce=\"%.*s\", algorithm=MD5, qop=\"auth\"\r\n",
		 (int)n1.l, n1.p);
	assert_string_equal(s, buf);
	mem_deref(s);

	s = challenge(f->d, "Proxy-Authenticate", true);
	assert_int_equal(strncmp(s, "Proxy-Authenticate: Digest ", 27), 0);
	assert_non_null(strstr(s, ", stale=true\r\n"));
	mem_deref(s);

	/* RFC 8760: the preferred algorithm first, same nonce on both */
	assert_int_equal(digest_set_algorithms(f->d, both, 2), 0);
	s = challenge(f->d, "WWW-Authenticate", true);
	assert_int_equal(re_regex(s, strlen(s),
				  "nonce=\"[^\"]+\", algorithm=[^,]+, "
				  "qop=\"auth\", stale=true\r\n"
				  "WWW-Authenticate: Digest realm=\"" REALM
				  "\", nonce=\"[^\"]+\", algorithm=[^,]+, "
				  "qop=\"auth\", stale=true\r\n",
				  &n1, &a1, &n2, &a2), 0);
	assert_int_equal(pl_strcmp(&a1, "SHA-256"), 0);
	assert_int_equal(pl_strcmp(&a2, "MD5"), 0);
	assert_int_equal(pl_cmp(&n1, &n2), 0);
	mem_deref(s);

	/* Two challenges never share a nonce */
	{
		char *x = nonce_get(f->d), *y = nonce_get(f->d);

		assert_string_not_equal(x, y);
		mem_deref(x);
		mem_deref(y);
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_kat),
		cmocka_unit_test(test_rfc7616_vectors),
		cmocka_unit_test(test_ha1_helpers),
		cmocka_unit_test(test_alloc_args),
		cmocka_unit_test_setup_teardown(test_right_password,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wrong_password_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_nonce,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_bound,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenge_text,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
