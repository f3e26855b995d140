/**
 * @file digest_parse.c  Digest credentials: the header and its values
 *
 * RFC 7235 2.1 (credentials syntax), RFC 7616 3.4 (the auth-params of a
 * response). Parsing is zero-copy: every value is a struct pl into the
 * header, and nothing here needs a secret or the clock.
 */
#include "core.h"
#include <strings.h>
#include "digest.h"
#include "digest_int.h"


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


/* RFC 7616 3.4.1: lowercase hex */
void digest_hex_encode(char *out, const uint8_t *in, size_t n)
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


int digest_hex_decode(uint8_t *out, size_t n, const char *in, size_t len)
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
int digest_resp_decode(struct dresp *r, const struct pl *hval)
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
int digest_algo_decode(enum digest_algo *algop, const struct pl *pl)
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


/* RFC 3261 22.4 / RFC 2617 3.2.2.5: the digest uri is the Request-URI.
 * Byte equality is the rule; a client that changed the case of the
 * scheme or host (RFC 3261 19.1.4: those compare case-insensitively)
 * still matches. Some clients (sipp among them) put the port they sent
 * to into the digest uri of a port-less Request-URI, or drop URI
 * parameters: user and host must match, a port only when both give one.
 * The response hash covers the uri param and the nonce-count check stops
 * replays, so this leniency gives an attacker nothing. (Hence not
 * uri_equal(): that one is strict about ports and parameters.) */
bool digest_uri_match(const struct pl *duri, const struct pl *ruri)
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


bool digest_nc_valid(const struct pl *nc)
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
