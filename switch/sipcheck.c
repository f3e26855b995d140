/**
 * @file sipcheck.c  Request sanity checks that libre 1.1.0 does not make
 *
 * libre's parser is liberal: it takes the first of duplicated headers,
 * ignores a Content-Length that disagrees with the datagram and does not
 * look at the SIP version. A PBX that acts on such a request may act on
 * the wrong Call-ID or CSeq, so these checks answer 400 (or 505) first.
 * The cases follow RFC 4475 section 3.1.2 and 3.3.
 */
#include <ctype.h>
#include "core.h"
#include "sipstack.h"


/* RFC 3261 20: headers that may appear once only. */
static const struct {
	enum sip_hdrid id;
	const char *name;
} single_hdrs[] = {
	{SIP_HDR_TO,             "To"},
	{SIP_HDR_FROM,           "From"},
	{SIP_HDR_CALL_ID,        "Call-ID"},
	{SIP_HDR_CSEQ,           "CSeq"},
	{SIP_HDR_MAX_FORWARDS,   "Max-Forwards"},
	{SIP_HDR_CONTENT_LENGTH, "Content-Length"},
	{SIP_HDR_CONTENT_TYPE,   "Content-Type"},
	{SIP_HDR_EXPIRES,        "Expires"},
};


/* 1*DIGIT with at most maxlen significant digits: leading zeros are
 * legal (RFC 4475 3.1.1.1 sends "Max-Forwards: 0068"). */
static bool all_digits(const struct pl *pl, size_t maxlen)
{
	size_t i, sig = 0;

	if (!pl_isset(pl))
		return false;

	for (i = 0; i < pl->l; i++) {
		if (!isdigit((unsigned char)pl->p[i]))
			return false;
		if (sig || pl->p[i] != '0')
			++sig;
	}

	return sig <= maxlen;
}


/* The value of a checked all_digits() string */
static uint64_t digits_value(const struct pl *pl)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < pl->l; i++)
		v = v * 10 + (uint64_t)(pl->p[i] - '0');

	return v;
}


/* Empty parameters (";;", ";,") or empty list elements (",,"). */
static bool has_empty_element(const struct pl *v)
{
	bool quoted = false;
	char prev = ' ';
	size_t i;

	for (i = 0; i < v->l; i++) {
		char c = v->p[i];

		if (c == '"' && prev != '\\')
			quoted = !quoted;

		if (!quoted && (c == ';' || c == ',') &&
		    (prev == ';' || prev == ','))
			return true;

		if (!isspace((unsigned char)c))
			prev = c;
	}

	return !quoted && (prev == ';' || prev == ',');
}


/* RFC 3261 25.1: a display name before '<' is a quoted-string or tokens
 * separated by white space; "Bell, Alexander <sip:...>" is not. */
static bool bad_display_name(const struct pl *v)
{
	const char *lt = pl_strchr(v, '<');
	const char *p;

	if (!lt)
		return false;

	for (p = v->p; p < lt; p++) {
		if (*p == '"')
			return false;    /* quoted: libre parsed it */
		if (!isspace((unsigned char)*p) && !isalnum((unsigned char)*p)
		    && !strchr("-.!%*_+`'~", *p))
			return true;
	}

	return false;
}


static bool hdr_count_bad(const struct sip_msg *msg, const char **reason)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(single_hdrs); i++) {
		if (sip_msg_hdr_count(msg, single_hdrs[i].id) > 1) {
			*reason = "Bad Request (duplicate header)";
			return true;
		}
	}

	return false;
}


static bool via_bad(const struct sip_hdr *hdr, const struct sip_msg *msg,
		    void *arg)
{
	(void)msg;
	(void)arg;

	return has_empty_element(&hdr->val);
}


static bool contact_bad(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	(void)msg;
	(void)arg;

	return has_empty_element(&hdr->val) || bad_display_name(&hdr->val);
}


uint16_t sipcheck_request(const struct sip_msg *msg, const char **reason)
{
	const struct sip_hdr *hdr;
	uint64_t v;

	*reason = "Bad Request";

	/* RFC 3261 8.2.2... 21.5.7 */
	if (pl_strcasecmp(&msg->ver, "SIP/2.0")) {
		*reason = "Version Not Supported";
		return 505;
	}

	/* RFC 3261 8.1.1: the mandatory headers */
	if (!pl_isset(&msg->to.auri) || !pl_isset(&msg->from.auri) ||
	    !pl_isset(&msg->callid) || !pl_isset(&msg->cseq.met) ||
	    !sip_msg_hdr(msg, SIP_HDR_VIA)) {
		*reason = "Bad Request (missing mandatory header)";
		return 400;
	}

	if (hdr_count_bad(msg, reason))
		return 400;

	/* RFC 3261 8.2.2.3 / 20.16 */
	if (pl_casecmp(&msg->cseq.met, &msg->met)) {
		*reason = "Bad Request (CSeq method mismatch)";
		return 400;
	}

	/* RFC 3261 8.1.1.5: CSeq MUST be less than 2**31 */
	hdr = sip_msg_hdr(msg, SIP_HDR_CSEQ);
	{
		struct pl num;

		if (!hdr || re_regex(hdr->val.p, hdr->val.l, "[0-9]+", &num) ||
		    !all_digits(&num, 10) || digits_value(&num) > 0x7fffffffULL) {
			*reason = "Bad Request (CSeq)";
			return 400;
		}
	}

	if (pl_isset(&msg->maxfwd)) {
		if (!all_digits(&msg->maxfwd, 3) ||
		    digits_value(&msg->maxfwd) > 255) {
			*reason = "Bad Request (Max-Forwards)";
			return 400;
		}
	}

	if (pl_isset(&msg->expires) && !all_digits(&msg->expires, 64)) {
		*reason = "Bad Request (Expires)";
		return 400;
	}

	/* RFC 3261 18.3: on a datagram, a Content-Length larger than the
	 * body is an error; TCP framing is libre's */
	if (pl_isset(&msg->clen)) {
		if (!all_digits(&msg->clen, 9)) {
			*reason = "Bad Request (Content-Length)";
			return 400;
		}

		v = digits_value(&msg->clen);
		if (msg->tp == SIP_TRANSP_UDP && v > mbuf_get_left(msg->mb)) {
			*reason = "Bad Request (Content-Length larger than "
				"message)";
			return 400;
		}
	}

	if (sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_bad, NULL)) {
		*reason = "Bad Request (Via)";
		return 400;
	}

	if (sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_bad, NULL)) {
		*reason = "Bad Request (Contact)";
		return 400;
	}

	/* RFC 3261 8.2.2.1 */
	if (pl_strcasecmp(&msg->uri.scheme, "sip") &&
	    pl_strcasecmp(&msg->uri.scheme, "sips") &&
	    pl_strcasecmp(&msg->uri.scheme, "tel")) {
		*reason = "Unsupported URI Scheme";
		return 416;
	}

	hdr = sip_msg_hdr(msg, SIP_HDR_FROM);
	if (hdr && bad_display_name(&hdr->val)) {
		*reason = "Bad Request (From)";
		return 400;
	}

	hdr = sip_msg_hdr(msg, SIP_HDR_TO);
	if (hdr && bad_display_name(&hdr->val)) {
		*reason = "Bad Request (To)";
		return 400;
	}

	return 0;
}
