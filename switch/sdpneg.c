/**
 * @file sdpneg.c  SDP offer/answer for the audio stream of a call leg
 *
 * Reading is line by line over the body (the first m=audio and the
 * session-level lines before it); what is not audio, or a codec we do
 * not have, is skipped. Writing makes a whole SDP of ours.
 */
#include <strings.h>
#include "core.h"
#include "codec.h"
#include "config.h"
#include "media.h"
#include "sdpneg.h"


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


static bool dir_line(const struct pl *line, enum sdp_dir *dir)
{
	if (!pl_strcmp(line, "a=sendrecv"))
		*dir = SDP_SENDRECV;
	else if (!pl_strcmp(line, "a=sendonly"))
		*dir = SDP_SENDONLY;
	else if (!pl_strcmp(line, "a=recvonly"))
		*dir = SDP_RECVONLY;
	else if (!pl_strcmp(line, "a=inactive"))
		*dir = SDP_INACTIVE;
	else
		return false;

	return true;
}


static int parse_c(const struct pl *line, struct sa *addr)
{
	struct pl ip;
	const char *slash;

	if (!starts(line, "c=IN IP4 ") && !starts(line, "c=IN IP6 "))
		return EBADMSG;

	ip.p = line->p + 9;
	ip.l = line->l - 9;
	slash = pl_strchr(&ip, '/');
	if (slash)
		ip.l = (size_t)(slash - ip.p);

	return sa_set(addr, &ip, 0);
}


/* the payload types of the m= line, in order */
struct pts {
	uint8_t v[64];
	unsigned n;
};


/* A number at *pp (before end), *pp moved past it; false if none.
 * (By hand: re_regex was a tenth of the signalling thread's time.) */
static bool scan_u32(const char **pp, const char *end, uint32_t *v)
{
	const char *p = *pp;
	uint64_t n = 0;

	if (p >= end || *p < '0' || *p > '9')
		return false;

	while (p < end && *p >= '0' && *p <= '9' && n <= UINT32_MAX) {
		n = n * 10 + (uint64_t)(*p - '0');
		++p;
	}

	*pp = p;
	*v = (uint32_t)n;
	return n <= UINT32_MAX;
}


static void skip_to(const char **pp, const char *end, char c)
{
	while (*pp < end && **pp != c)
		++*pp;
}


/* m=audio PORT[/N] PROTO PT PT ... */
static void parse_m(const struct pl *line, struct pts *pts, uint32_t *port)
{
	const char *p = line->p + 8, *end = line->p + line->l;
	uint32_t v;

	pts->n = 0;
	if (!scan_u32(&p, end, port))
		return;
	skip_to(&p, end, ' ');          /* the /N of a port count */
	++p;
	skip_to(&p, end, ' ');          /* the protocol */

	while (p < end && pts->n < sizeof(pts->v)) {
		++p;
		if (!scan_u32(&p, end, &v))
			break;
		if (v < 128)
			pts->v[pts->n++] = (uint8_t)v;
	}
}


/* what a=rtpmap said of a payload type */
struct rtpmap {
	bool set;
	char name[32];
	uint32_t clock;
	char fmtp[SDP_FMTP_MAX];
};


int sdpneg_parse(struct sdp_audio *a, const struct mbuf *sdp)
{
	static struct rtpmap maps[128];   /* signalling thread only */
	struct pl rest, line;
	struct sa session, media;
	bool in_audio = false, seen_audio = false;
	bool have_session_c = false, have_media_c = false;
	enum sdp_dir sdir = SDP_SENDRECV, mdir = SDP_SENDRECV;
	bool have_mdir = false;
	uint32_t port = 0;
	struct pts pts = {{0}, 0};
	unsigned i;

	if (!a || !sdp)
		return EINVAL;

	memset(a, 0, sizeof(*a));
	sa_init(&session, AF_UNSPEC);
	sa_init(&media, AF_UNSPEC);

	rest.p = (const char *)sdp->buf;
	rest.l = sdp->end;

	while (next_line(&rest, &line)) {
		const char *q, *end = line.p + line.l;
		uint32_t n;

		if (starts(&line, "m=")) {
			if (seen_audio)
				break;
			in_audio = starts(&line, "m=audio ");
			if (in_audio) {
				seen_audio = true;
				parse_m(&line, &pts, &port);
				/* only the entries of this stream's types are
				 * read below: clear just those */
				for (i = 0; i < pts.n; i++) {
					maps[pts.v[i]].set = false;
					maps[pts.v[i]].fmtp[0] = '\0';
				}
			}
			continue;
		}

		if (starts(&line, "c=")) {
			if (in_audio)
				have_media_c = !parse_c(&line, &media);
			else if (!seen_audio)
				have_session_c = !parse_c(&line, &session);
			continue;
		}

		if (!seen_audio) {
			(void)dir_line(&line, &sdir);
			continue;
		}
		if (!in_audio)
			continue;

		if (dir_line(&line, &mdir)) {
			have_mdir = true;
		}
		else if (starts(&line, "a=rtpmap:")) {
			/* a=rtpmap:PT NAME/CLOCK[/CHANNELS] */
			const char *nm;
			uint32_t clock;
			size_t nl;

			q = line.p + 9;
			if (!scan_u32(&q, end, &n) || n >= 128 || q >= end ||
			    *q != ' ')
				continue;
			nm = ++q;
			skip_to(&q, end, '/');
			nl = (size_t)(q - nm);
			if (q >= end || !nl || nl >= sizeof(maps[n].name))
				continue;
			++q;
			if (!scan_u32(&q, end, &clock))
				continue;
			memcpy(maps[n].name, nm, nl);
			maps[n].name[nl] = '\0';
			maps[n].clock = clock;
			maps[n].set = true;
		}
		else if (starts(&line, "a=fmtp:")) {
			size_t len;

			q = line.p + 7;
			if (!scan_u32(&q, end, &n) || n >= 128 || q >= end ||
			    *q != ' ')
				continue;
			++q;
			len = (size_t)(end - q);
			if (len >= sizeof(maps[n].fmtp))
				len = sizeof(maps[n].fmtp) - 1;
			memcpy(maps[n].fmtp, q, len);
			maps[n].fmtp[len] = '\0';
		}
	}

	if (!seen_audio || !port)
		return ENOENT;

	a->has_stream = true;
	a->dir = have_mdir ? mdir : sdir;

	if (have_media_c)
		a->addr = media;
	else if (have_session_c)
		a->addr = session;
	if (sa_isset(&a->addr, SA_ADDR))
		sa_set_port(&a->addr, (uint16_t)port);
	else if (a->dir == SDP_SENDRECV)
		a->dir = SDP_SENDONLY;        /* c=0.0.0.0: RFC 2543 hold */

	for (i = 0; i < pts.n; i++) {
		uint8_t n = pts.v[i];
		const struct rtpmap *m = n < 128 ? &maps[n] : NULL;
		const struct codec *c = NULL;

		if (!m)
			continue;

		if (m->set && !strcasecmp(m->name, "telephone-event")) {
			if (a->nte < SDP_TE_MAX) {
				a->te[a->nte].pt = n;
				a->te[a->nte].clock = m->clock;
				++a->nte;
			}
			continue;
		}

		if (m->set) {
			c = codec_find(m->name);
			if (c && c->clock != m->clock)
				c = NULL;
		}
		else if (n < 96) {
			c = codec_find_pt(n);     /* static, no rtpmap */
		}

		if (!c || sdpneg_find(a, c) || a->n == SDP_FMTS_MAX)
			continue;

		a->fmts[a->n].codec = c;
		a->fmts[a->n].pt = n;
		str_ncpy(a->fmts[a->n].fmtp, m->fmtp,
			 sizeof(a->fmts[a->n].fmtp));
		++a->n;
	}

	return 0;
}


int sdpneg_te(const struct sdp_audio *a, uint32_t clock)
{
	unsigned i;

	for (i = 0; a && i < a->nte; i++) {
		if (a->te[i].clock == clock)
			return a->te[i].pt;
	}

	return -1;
}


void sdpneg_leg_codec(struct media_codec *mc, const struct sdp_audio *a,
		      const struct sdp_fmt *f)
{
	memset(mc, 0, sizeof(*mc));
	mc->te_pt = -1;
	if (!f)
		return;

	mc->codec = f->codec;
	mc->pt = f->pt;
	str_ncpy(mc->fmtp, f->fmtp, sizeof(mc->fmtp));

	mc->te_pt = sdpneg_te(a, f->codec->clock);
	mc->te_clock = f->codec->clock;
	if (mc->te_pt < 0 && a->nte) {
		mc->te_pt = a->te[0].pt;
		mc->te_clock = a->te[0].clock;
	}
}


const struct sdp_fmt *sdpneg_find(const struct sdp_audio *a,
				  const struct codec *c)
{
	unsigned i;

	for (i = 0; a && i < a->n; i++) {
		if (a->fmts[i].codec == c)
			return &a->fmts[i];
	}

	return NULL;
}


enum sdp_dir sdpneg_answer_dir(enum sdp_dir offered)
{
	switch (offered) {
	case SDP_SENDONLY: return SDP_RECVONLY;
	case SDP_RECVONLY: return SDP_SENDONLY;
	default:           return offered;
	}
}


static const char *dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDONLY: return "sendonly";
	case SDP_RECVONLY: return "recvonly";
	case SDP_INACTIVE: return "inactive";
	default:           return "sendrecv";
	}
}


int sdpneg_write(struct mbuf **mbp, struct sdp_origin *o,
		 const struct sa *local, const struct sdp_fmt *fmts,
		 unsigned n, const struct sdp_te *te, unsigned nte,
		 enum sdp_dir dir)
{
	struct mbuf *mb;
	char v;
	unsigned i;
	int err;

	if (!mbp || !o || !local || (!fmts && n))
		return EINVAL;

	if (!o->sess) {
		o->sess = rand_u32() | 1;
		o->version = o->sess & 0xffff;
	}
	++o->version;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;

	v = sa_af(local) == AF_INET6 ? '6' : '4';
	err = mbuf_printf(mb, "v=0\r\no=switchboard %llu %u IN IP%c %j\r\n"
			  "s=-\r\nc=IN IP%c %j\r\nt=0 0\r\n"
			  "m=audio %u RTP/AVP",
			  (unsigned long long)o->sess, o->version, v, local,
			  v, local, sa_port(local));
	for (i = 0; i < n; i++)
		err |= mbuf_printf(mb, " %u", fmts[i].pt);
	for (i = 0; i < nte; i++)
		err |= mbuf_printf(mb, " %u", te[i].pt);
	err |= mbuf_write_str(mb, "\r\n");

	for (i = 0; i < n; i++) {
		const struct codec *c = fmts[i].codec;

		err |= mbuf_printf(mb, "a=rtpmap:%u %s/%u", fmts[i].pt,
				   c->name, c->clock);
		if (c->channels > 1)
			err |= mbuf_printf(mb, "/%u", c->channels);
		err |= mbuf_write_str(mb, "\r\n");
		if (fmts[i].fmtp[0])
			err |= mbuf_printf(mb, "a=fmtp:%u %s\r\n",
					   fmts[i].pt, fmts[i].fmtp);
	}
	for (i = 0; i < nte; i++)
		err |= mbuf_printf(mb, "a=rtpmap:%u telephone-event/%u\r\n"
				   "a=fmtp:%u 0-16\r\n", te[i].pt,
				   te[i].clock, te[i].pt);

	err |= mbuf_printf(mb, "a=ptime:%u\r\na=%s\r\n", CODEC_PTIME_MS,
			   dir_name(dir));
	if (err) {
		mem_deref(mb);
		return ENOMEM;
	}

	mb->pos = 0;
	*mbp = mb;
	return 0;
}


static bool pt_used(const struct sdp_fmt *fmts, unsigned n,
		    const struct sdp_te *te, unsigned nte, unsigned pt)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (fmts[i].pt == pt)
			return true;
	}
	for (i = 0; i < nte; i++) {
		if (te[i].pt == pt)
			return true;
	}

	return false;
}


/* a dynamic payload type nobody in the list (nor have) uses */
static int free_pt(const struct sdp_fmt *fmts, unsigned n,
		   const struct sdp_te *te, unsigned nte,
		   const struct sdp_audio *have, unsigned prefer)
{
	unsigned pt;

	for (pt = prefer; pt < prefer + 32; pt++) {
		unsigned p = 96 + (pt - 96) % 32;

		if (pt_used(fmts, n, te, nte, p))
			continue;
		if (have && (pt_used(have->fmts, have->n, have->te,
				     have->nte, p)))
			continue;
		return (int)p;
	}

	return -1;
}


int sdpneg_offer_fmts(struct sdp_fmt *fmts, unsigned *np,
		      struct sdp_te *te, unsigned *ntep,
		      const struct sdp_audio *have,
		      const struct codec_list *allowed)
{
	unsigned i, n = 0, nte = 0;

	if (!fmts || !np || !te || !ntep || !allowed)
		return EINVAL;

	/* shared with the other leg: relayed as they are */
	for (i = 0; i < allowed->n && n < SDP_FMTS_MAX; i++) {
		const struct sdp_fmt *f = sdpneg_find(have, allowed->v[i]);

		if (f)
			fmts[n++] = *f;
	}

	/* the rest: transcoded */
	for (i = 0; i < allowed->n && n < SDP_FMTS_MAX; i++) {
		const struct codec *c = allowed->v[i];
		unsigned j;
		int pt;

		for (j = 0; j < n && fmts[j].codec != c; j++)
			;
		if (j < n)
			continue;

		if (c->pt != CODEC_PT_DYNAMIC &&
		    !pt_used(fmts, n, te, 0, c->pt))
			pt = c->pt;
		else
			pt = free_pt(fmts, n, te, 0, have, 96);
		if (pt < 0)
			break;

		memset(&fmts[n], 0, sizeof(fmts[n]));
		fmts[n].codec = c;
		fmts[n].pt = (uint8_t)pt;
		++n;
	}

	/* telephone-event at each clock the codecs use */
	for (i = 0; i < n && nte < SDP_TE_MAX; i++) {
		uint32_t clock = fmts[i].codec->clock;
		unsigned j;
		int pt;

		for (j = 0; j < nte && te[j].clock != clock; j++)
			;
		if (j < nte)
			continue;

		pt = sdpneg_te(have, clock);
		if (pt < 0 || pt_used(fmts, n, te, nte, (unsigned)pt))
			pt = free_pt(fmts, n, te, nte, have,
				     clock == 8000 ? 101 : 100);
		if (pt < 0)
			break;

		te[nte].pt = (uint8_t)pt;
		te[nte].clock = clock;
		++nte;
	}

	*np = n;
	*ntep = nte;
	return n ? 0 : ENOENT;
}
