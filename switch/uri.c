/**
 * @file uri.c  SIP URI comparison, RFC 3261 19.1.4
 *
 * libre 1.1.0 has no uri_cmp, so this is ours: escapes are decoded before
 * comparing; user and password are case-sensitive, everything else is
 * not; the port must be equal (no port is not the same as 5060); the
 * parameters transport, user, ttl, method and maddr must match when
 * either side has them, others only when both do; headers must match
 * both ways.
 */
#include <ctype.h>
#include "core.h"
#include "uri.h"


static int esc_next(const struct pl *pl, size_t *ip)
{
	const char *p = pl->p;
	size_t i = *ip;

	if (p[i] == '%' && i + 2 < pl->l &&
	    isxdigit((unsigned char)p[i + 1]) &&
	    isxdigit((unsigned char)p[i + 2])) {
		*ip = i + 3;
		return ch_hex(p[i + 1]) << 4 | ch_hex(p[i + 2]);
	}

	*ip = i + 1;
	return (unsigned char)p[i];
}


static bool esc_eq(const struct pl *a, const struct pl *b, bool ci)
{
	size_t i = 0, j = 0;

	while (i < a->l && j < b->l) {
		int ca = esc_next(a, &i);
		int cb = esc_next(b, &j);

		if (ci) {
			ca = tolower(ca);
			cb = tolower(cb);
		}
		if (ca != cb)
			return false;
	}

	return i == a->l && j == b->l;
}


struct comp_find {
	const struct pl *name;
	struct pl val;
	bool found;
};


static int comp_find_h(const struct pl *name, const struct pl *val,
		       void *arg)
{
	struct comp_find *cf = arg;

	if (pl_casecmp(name, cf->name))
		return 0;

	cf->val = *val;
	cf->found = true;

	return 1;  /* stop */
}


struct comp_check {
	const struct pl *other;
	bool headers;
	bool eq;
};


static bool param_strict(const struct pl *name)
{
	static const char *const strict[] = {
		"transport", "user", "ttl", "method", "maddr"
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(strict); i++) {
		struct pl s;

		pl_set_str(&s, strict[i]);
		if (!pl_casecmp(name, &s))
			return true;
	}

	return false;
}


/* Is the component name=val of one URI matched by the other URI? */
static int comp_check_h(const struct pl *name, const struct pl *val,
			void *arg)
{
	struct comp_check *cc = arg;
	struct comp_find cf = { .name = name };

	if (cc->headers)
		(void)uri_headers_apply(cc->other, comp_find_h, &cf);
	else
		(void)uri_params_apply(cc->other, comp_find_h, &cf);

	if (cf.found)
		cc->eq = esc_eq(val, &cf.val, true);
	else
		cc->eq = !cc->headers && !param_strict(name);

	return cc->eq ? 0 : 1;
}


static bool comps_eq(const struct pl *a, const struct pl *b, bool headers)
{
	struct comp_check cc = { .other = b, .headers = headers, .eq = true };

	if (headers)
		(void)uri_headers_apply(a, comp_check_h, &cc);
	else
		(void)uri_params_apply(a, comp_check_h, &cc);
	if (!cc.eq)
		return false;

	cc.other = a;
	if (headers)
		(void)uri_headers_apply(b, comp_check_h, &cc);
	else
		(void)uri_params_apply(b, comp_check_h, &cc);

	return cc.eq;
}


static bool host_eq(const struct uri *a, const struct uri *b)
{
	struct sa sa, sb;

	if (a->af != b->af)
		return false;

	/* IP literals compare as addresses ("::1" equals "0::1") */
	if (a->af != AF_UNSPEC && !sa_set(&sa, &a->host, 0) &&
	    !sa_set(&sb, &b->host, 0))
		return sa_cmp(&sa, &sb, SA_ADDR);

	return !pl_casecmp(&a->host, &b->host);
}


bool uri_equal(const struct pl *a, const struct pl *b)
{
	struct uri ua, ub;

	if (!a || !b)
		return false;

	if (uri_decode(&ua, a) || uri_decode(&ub, b))
		return !pl_cmp(a, b);

	return !pl_casecmp(&ua.scheme, &ub.scheme) &&
		esc_eq(&ua.user, &ub.user, false) &&
		esc_eq(&ua.password, &ub.password, false) &&
		host_eq(&ua, &ub) &&
		ua.port == ub.port &&
		comps_eq(&ua.params, &ub.params, false) &&
		comps_eq(&ua.headers, &ub.headers, true);
}
