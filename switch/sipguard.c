/**
 * @file sipguard.c  What libre 1.1.0's SIP parser cannot take
 */
#include <ctype.h>
#include <strings.h>
#include "core.h"
#include "sipguard.h"

enum { RAW_HDR_MAX = 96 };

struct raw_hdr {
	struct pl name;
	struct pl val;
};

struct raw_head {
	struct pl start;           /* the start line, without CRLF       */
	struct raw_hdr hv[RAW_HDR_MAX];
	size_t n;
	size_t len;                /* bytes up to and including the empty
				    * line; 0 when the head is incomplete */
};

/* The stub carries the answer it must get in a header whose name holds
 * a per-process random token, so no request from outside can pose as a
 * stub (and one that tried would only get itself refused). */
static char stub_hdr[40];


static const char *stub_header_name(void)
{
	if (!stub_hdr[0])
		(void)re_snprintf(stub_hdr, sizeof(stub_hdr),
				  "X-Switchboard-Stub-%08x%08x",
				  rand_u32(), rand_u32());
	return stub_hdr;
}


static bool starts_with_sip(const struct pl *pl)
{
	return pl->l >= 4 && !strncasecmp(pl->p, "SIP/", 4);
}


static bool all_digits(const struct pl *pl)
{
	size_t i;

	for (i = 0; i < pl->l; i++) {
		if (!isdigit((unsigned char)pl->p[i]))
			return false;
	}
	return pl->l > 0;
}


/* Split a message head into the start line and header lines. Folded
 * lines (RFC 3261 7.3.1) stay inside their header's value. */
static void raw_parse(struct raw_head *h, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *eol;

	memset(h, 0, sizeof(*h));

	/* RFC 3261 7.5: CRLFs before the start line are ignored */
	while (p < end && (*p == '\r' || *p == '\n'))
		++p;

	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		return;
	h->start.p = p;
	h->start.l = (size_t)(eol - p);
	if (h->start.l && h->start.p[h->start.l - 1] == '\r')
		--h->start.l;
	p = eol + 1;

	while (p < end) {
		const char *colon, *q;

		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			h->len = (size_t)(p + (*p == '\r' ? 2 : 1) - buf);
			return;                  /* the empty line */
		}

		/* a header ends at a line break not followed by SP/HT */
		q = p;
		for (;;) {
			eol = memchr(q, '\n', (size_t)(end - q));
			if (!eol || eol + 1 >= end ||
			    (eol[1] != ' ' && eol[1] != '\t'))
				break;
			q = eol + 1;
		}
		if (!eol)
			return;                  /* incomplete */

		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && h->n < RAW_HDR_MAX) {
			struct raw_hdr *hd = &h->hv[h->n++];

			hd->name.p = p;
			hd->name.l = (size_t)(colon - p);
			while (hd->name.l && isspace((unsigned char)
					hd->name.p[hd->name.l - 1]))
				--hd->name.l;
			hd->val.p = colon + 1;
			hd->val.l = (size_t)(eol - hd->val.p);
			while (hd->val.l && isspace((unsigned char)*hd->val.p)) {
				++hd->val.p;
				--hd->val.l;
			}
			while (hd->val.l && isspace((unsigned char)
					hd->val.p[hd->val.l - 1]))
				--hd->val.l;
		}

		p = eol + 1;
	}
}


static const struct pl *raw_find(const struct raw_head *h,
				 const char *longname, const char *compact)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		const struct pl *nm = &h->hv[i].name;

		if (!pl_strcasecmp(nm, longname) ||
		    (compact && !pl_strcasecmp(nm, compact)))
			return &h->hv[i].val;
	}

	return NULL;
}


/* The first value of a Via header line (values may be comma-joined) */
static struct pl top_via_value(const struct pl *val)
{
	struct pl v = *val;
	const char *comma = pl_strchr(&v, ',');

	if (comma)
		v.l = (size_t)(comma - v.p);
	while (v.l && isspace((unsigned char)v.p[v.l - 1]))
		--v.l;

	return v;
}


/* Replace [at, at+oldlen) of mb with data (the rest of the buffer,
 * possibly the next messages of a TCP stream, moves along). */
static int splice(struct mbuf *mb, size_t at, size_t oldlen,
		  const uint8_t *data, size_t newlen)
{
	size_t tail = mb->end - at - oldlen;

	if (newlen > oldlen && mbuf_resize(mb, mb->end + newlen - oldlen))
		return ENOMEM;

	memmove(mb->buf + at + newlen, mb->buf + at + oldlen, tail);
	memcpy(mb->buf + at, data, newlen);
	mb->end = at + newlen + tail;

	return 0;
}


bool sipguard_repair_branch(struct mbuf *mb)
{
	struct raw_head h;
	const struct pl *via, *v;
	struct pl top, dummy, num, ruri, met;
	struct pl from = PL_INIT, callid = PL_INIT, cseq = PL_INIT;
	uint8_t md[MD5_SIZE];
	char ins[64];
	size_t inslen;

	if (!mb || !mbuf_get_left(mb))
		return false;

	raw_parse(&h, (const char *)mbuf_buf(mb), mbuf_get_left(mb));
	if (!h.len || starts_with_sip(&h.start))
		return false;        /* responses keep what they carry */

	via = raw_find(&h, "Via", "v");
	if (!via)
		return false;

	top = top_via_value(via);
	if (!msg_param_decode(&top, "branch", &dummy))
		return false;

	if (re_regex(h.start.p, h.start.l, "[^ ]+ [^ ]+", &met, &ruri))
		return false;

	/* RFC 3261 17.2.3: without a branch a transaction is known by
	 * Request-URI, tags, Call-ID, CSeq number and top Via; the same
	 * fields give the same branch, so retransmissions match. */
	if ((v = raw_find(&h, "From", "f")))
		from = *v;
	if ((v = raw_find(&h, "Call-ID", "i")))
		callid = *v;
	if ((v = raw_find(&h, "CSeq", NULL)) &&
	    !re_regex(v->p, v->l, "[0-9]+", &num))
		cseq = num;

	if (md5_printf(md, "%r|%r|%r|%r|%r", &ruri, &from, &callid, &cseq,
		       &top))
		return false;

	inslen = (size_t)re_snprintf(ins, sizeof(ins),
				     ";branch=z9hG4bK2543.%w", md, (size_t)8);

	return 0 == splice(mb, (size_t)(top.p + top.l - (const char *)mb->buf),
			   0, (const uint8_t *)ins, inslen);
}


/* A header value that libre can parse, or the fallback. */
static const char *usable(const struct pl *v, int (*check)(const struct pl *),
			  char *buf, size_t sz, const char *fallback)
{
	if (!v || !v->l || v->l >= sz || check(v))
		return fallback;

	(void)re_snprintf(buf, sz, "%r", v);
	return buf;
}


static int check_addr(const struct pl *v)
{
	struct sip_addr a;
	return sip_addr_decode(&a, v);
}


static int check_via(const struct pl *v)
{
	struct sip_via via;
	return sip_via_decode(&via, v) || !pl_isset(&via.branch);
}


static int check_token(const struct pl *v)
{
	size_t i;

	for (i = 0; i < v->l; i++) {
		if (isspace((unsigned char)v->p[i]) || v->p[i] == ',' ||
		    v->p[i] == ';' || v->p[i] == '"')
			return EINVAL;
	}
	return 0;
}


bool sipguard_stub(struct mbuf *mb)
{
	static char via[512], from[512], to[512], callid[256];
	struct raw_head h;
	struct pl met, ruri, ver, num, m2;
	const struct pl *v;
	struct mbuf *stub;
	uint32_t cseq = 1;
	uint16_t scode = 400;
	const char *reason = "Bad Request";
	char method[32];
	long clen = -1;
	bool ok;

	raw_parse(&h, (const char *)mbuf_buf(mb), mbuf_get_left(mb));
	if (!h.len || starts_with_sip(&h.start))
		return false;

	/* libre's re_regex: every [...] is a capture with its own pl */
	if (re_regex(h.start.p, h.start.l, "[^ \t]+[ \t]+[^ \t]+[ \t]+[^]*",
		     &met, NULL, &ruri, NULL, &ver))
		return false;

	/* RFC 3261 21.5.7: another version gets 505 */
	if (ver.l >= 4 && !strncasecmp(ver.p, "SIP/", 4) &&
	    pl_strcasecmp(&ver, "SIP/2.0") && !isspace((unsigned char)
							ver.p[ver.l - 1])) {
		scode = 505;
		reason = "Version Not Supported";
	}

	/* The method must survive as a token; CSeq repeats it. */
	if (met.l >= sizeof(method) || check_token(&met))
		return false;
	(void)re_snprintf(method, sizeof(method), "%r", &met);

	v = raw_find(&h, "CSeq", NULL);
	if (v && !re_regex(v->p, v->l, "[0-9]+[ \t]+[^ \t]+", &num, NULL,
			   &m2) &&
	    num.l <= 9)
		cseq = pl_u32(&num);

	v = raw_find(&h, "Content-Length", "l");
	if (v && v->l && v->l <= 9 && all_digits(v))
		clen = (long)pl_u32(v);

	stub = mbuf_alloc(1024);
	if (!stub)
		return false;

	ok = 0 == mbuf_printf(stub,
		"%s sip:invalid.invalid SIP/2.0\r\n"
		"Via: %s\r\n"
		"From: %s\r\n"
		"To: %s\r\n"
		"Call-ID: %s\r\n"
		"CSeq: %u %s\r\n"
		"Max-Forwards: 70\r\n"
		"%s: %u %s\r\n",
		method,
		usable(raw_find(&h, "Via", "v"), check_via, via, sizeof(via),
		       "SIP/2.0/UDP invalid.invalid;branch=z9hG4bKinvalid"),
		usable(raw_find(&h, "From", "f"), check_addr, from,
		       sizeof(from), "<sip:invalid@invalid.invalid>;tag=x"),
		usable(raw_find(&h, "To", "t"), check_addr, to, sizeof(to),
		       "<sip:invalid@invalid.invalid>"),
		usable(raw_find(&h, "Call-ID", "i"), check_token, callid,
		       sizeof(callid), "invalid"),
		cseq, method, stub_header_name(), scode, reason);

	/* Without a Content-Length the stream cannot be framed; libre
	 * closes a TCP connection then, as it should. */
	if (ok && clen >= 0)
		ok = 0 == mbuf_printf(stub, "Content-Length: %ld\r\n", clen);
	ok = ok && 0 == mbuf_write_str(stub, "\r\n");

	if (ok)
		ok = 0 == splice(mb, mb->pos, h.len, stub->buf, stub->end);
	mem_deref(stub);

	return ok;
}


bool sipguard_rejection(const struct sip_msg *msg, uint16_t *scodep,
			const char **reasonp)
{
	const struct sip_hdr *hdr;
	struct pl code;

	if (!stub_hdr[0])
		return false;

	hdr = sip_msg_xhdr(msg, stub_hdr);
	if (!hdr || re_regex(hdr->val.p, hdr->val.l, "[0-9]+", &code))
		return false;

	*scodep = (uint16_t)pl_u32(&code);
	*reasonp = *scodep == 505 ? "Version Not Supported" : "Bad Request";
	return true;
}
