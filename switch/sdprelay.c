/**
 * @file sdprelay.c  SDP rewriting for a relaying B2BUA
 */
#include "core.h"
#include "sdprelay.h"


/* Iterate the lines of an SDP body: each call gives the next line
 * without its CR LF. */
static bool next_line(struct pl *rest, struct pl *line)
{
	const char *nl;

	if (!rest->l)
		return false;

	nl = pl_strchr(rest, '\n');
	line->p = rest->p;
	line->l = nl ? (size_t)(nl - rest->p) : rest->l;
	pl_advance(rest, nl ? line->l + 1 : rest->l);

	if (line->l && line->p[line->l - 1] == '\r')
		--line->l;

	return true;
}


static bool starts(const struct pl *line, const char *prefix)
{
	size_t n = strlen(prefix);

	return line->l >= n && !memcmp(line->p, prefix, n);
}


static int parse_c(const struct pl *line, struct sa *addr)
{
	struct pl ip;
	const char *slash;

	/* c=IN IP4 192.0.2.1 (a multicast TTL suffix is not for phones) */
	if (!starts(line, "c=IN IP4 ") && !starts(line, "c=IN IP6 "))
		return EBADMSG;

	ip.p = line->p + 9;
	ip.l = line->l - 9;
	slash = pl_strchr(&ip, '/');
	if (slash)
		ip.l = (size_t)(slash - ip.p);

	return sa_set(addr, &ip, 0);
}


int sdprelay_audio_addr(const struct mbuf *sdp, struct sa *rtp)
{
	struct pl rest, line, port;
	struct sa session, media;
	bool in_audio = false, seen_audio = false, have_media_c = false;
	bool have_session_c = false;

	if (!sdp || !rtp)
		return EINVAL;

	rest.p = (const char *)sdp->buf;
	rest.l = sdp->end;
	sa_init(&session, AF_UNSPEC);
	sa_init(&media, AF_UNSPEC);

	while (next_line(&rest, &line)) {

		if (line.l > 2 && line.p[0] == 'm' && line.p[1] == '=') {
			if (seen_audio)
				break;
			in_audio = !re_regex(line.p, line.l,
					     "m=audio [0-9]+", &port);
			seen_audio = in_audio;
			continue;
		}

		if (line.l > 2 && line.p[0] == 'c' && line.p[1] == '=') {
			if (in_audio)
				have_media_c = !parse_c(&line, &media);
			else if (!seen_audio)
				have_session_c = !parse_c(&line, &session);
		}
	}

	if (!seen_audio || (!have_media_c && !have_session_c))
		return ENOENT;

	*rtp = have_media_c ? media : session;
	sa_set_port(rtp, (uint16_t)pl_u32(&port));
	return 0;
}


/* the first occurrence of s in pl, or NULL */
static const char *strstr_pl(const struct pl *pl, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i + n <= pl->l; i++) {
		if (!memcmp(pl->p + i, s, n))
			return pl->p + i;
	}

	return NULL;
}


int sdprelay_rewrite(struct mbuf **outp, const struct mbuf *sdp,
		     const struct sa *local)
{
	struct pl rest, line;
	struct mbuf *mb;
	bool audio_done = false;
	int err = 0;

	if (!outp || !sdp || !local)
		return EINVAL;

	mb = mbuf_alloc(sdp->end + 64);
	if (!mb)
		return ENOMEM;

	rest.p = (const char *)sdp->buf;
	rest.l = sdp->end;

	while (!err && next_line(&rest, &line)) {
		char v = sa_af(local) == AF_INET6 ? '6' : '4';
		const char *in;

		if (starts(&line, "c=IN IP")) {
			err = mbuf_printf(mb, "c=IN IP%c %j\r\n", v, local);
		}
		else if (starts(&line, "o=") &&
			 (in = strstr_pl(&line, " IN IP"))) {
			/* keep the phone's user, session id and version */
			err = mbuf_printf(mb, "%b IN IP%c %j\r\n", line.p,
					  (size_t)(in - line.p), v, local);
		}
		else if (starts(&line, "m=") && pl_strchr(&line, ' ')) {
			const char *sp1 = pl_strchr(&line, ' ');
			struct pl after = {sp1 + 1,
				line.l - (size_t)(sp1 + 1 - line.p)};
			const char *sp2 = pl_strchr(&after, ' ');
			bool audio = starts(&line, "m=audio ");

			if (!sp2) {
				err = mbuf_printf(mb, "%r\r\n", &line);
				continue;
			}
			err = mbuf_printf(mb, "%b %u%b\r\n", line.p,
					  (size_t)(sp1 - line.p),
					  (audio && !audio_done) ?
					  sa_port(local) : 0, sp2,
					  line.l - (size_t)(sp2 - line.p));
			if (audio)
				audio_done = true;
		}
		else if (starts(&line, "a=rtcp:")) {
			/* RFC 3605: ours is the RTP port + 1 */
			continue;
		}
		else {
			err = mbuf_printf(mb, "%r\r\n", &line);
		}
	}

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	*outp = mb;
	return 0;
}


int sdprelay_answer(struct mbuf **outp, const struct mbuf *offer,
		    const struct sa *local)
{
	struct mbuf *mb;
	char *p, *end;
	int err;

	err = sdprelay_rewrite(&mb, offer, local);
	if (err)
		return err;

	/* RFC 3264 6.1: the answer to sendonly is recvonly and back */
	end = (char *)mb->buf + mb->end;
	for (p = (char *)mb->buf; p + 10 <= end; p++) {
		if (!memcmp(p, "a=sendonly", 10))
			memcpy(p, "a=recvonly", 10);
		else if (!memcmp(p, "a=recvonly", 10))
			memcpy(p, "a=sendonly", 10);
	}

	*outp = mb;
	return 0;
}


int sdprelay_g711_pt(const struct mbuf *sdp)
{
	struct pl rest, line;

	if (!sdp)
		return -1;

	rest.p = (const char *)sdp->buf;
	rest.l = sdp->end;

	/* m=audio PORT RTP/AVP 8 0 101: the first of 0 and 8 */
	while (next_line(&rest, &line)) {
		struct pl fmts;
		const char *p;

		if (!starts(&line, "m=audio "))
			continue;
		if (re_regex(line.p, line.l, "RTP/AVP[^]*", &fmts))
			return -1;
		for (p = fmts.p; p < fmts.p + fmts.l; p++) {
			if (*p != ' ')
				continue;
			if (p + 2 <= fmts.p + fmts.l && p[1] == '0' &&
			    (p + 2 == fmts.p + fmts.l || p[2] == ' '))
				return 0;
			if (p + 2 <= fmts.p + fmts.l && p[1] == '8' &&
			    (p + 2 == fmts.p + fmts.l || p[2] == ' '))
				return 8;
		}
		return -1;
	}

	return -1;
}
