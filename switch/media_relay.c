/**
 * @file media_relay.c  The packet path, on a media worker thread
 *
 * One socket's waiting datagrams are read with recvmmsg() into the
 * worker's buffers (BATCH at most: the loop is level triggered), their
 * sources checked against the latch (RFC 4961), counted, and sent on
 * on with sendmmsg() out of the peer's socket: unchanged when the legs
 * speak the same codec with the same payload types (nothing is parsed
 * beyond the first 12 bytes, so RFC 4733 events, RTCP-mux, ZRTP and SRTP
 * pass untouched), with the payload type renumbered when only that
 * differs, the payload rewritten by table between a-law and u-law (the
 * headers kept), or through media_xcode.c for anything else. Nothing is
 * allocated and nothing locked.
 *
 * The relay state the signalling thread's commands set (remote address,
 * bridge, reset) is changed here too, on the worker, between batches.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "core.h"
#include "codec.h"
#include "g711x.h"
#include "media.h"
#include "media_int.h"
#include "recorder.h"


static uint64_t seq_lost(const struct seqstate *s)
{
	uint64_t expected;

	if (!s->init)
		return 0;

	expected = s->cycles + s->max_seq - s->base + 1;

	return expected > s->received ? expected - s->received : 0;
}


static void seq_restart(struct seqstate *s, uint16_t seq, uint32_t ssrc)
{
	s->lost_before += seq_lost(s);
	s->received = 1;
	s->cycles   = 0;
	s->ssrc     = ssrc;
	s->base     = seq;
	s->max_seq  = seq;
	s->init     = true;
}


static void seq_update(struct seqstate *s, const uint8_t *p, size_t n)
{
	uint16_t seq, udelta;
	uint32_t ssrc;
	uint8_t pt;

	if (n < RTP_HDR_SIZE || (p[0] >> 6) != 2)
		return;

	/* RFC 5761 4: RTCP multiplexed on the RTP port */
	pt = p[1] & 0x7f;
	if (pt >= 64 && pt <= 95)
		return;

	seq  = (uint16_t)(p[2] << 8 | p[3]);
	ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
		(uint32_t)p[10] << 8 | p[11];

	if (!s->init || ssrc != s->ssrc) {
		seq_restart(s, seq, ssrc);
		return;
	}

	udelta = (uint16_t)(seq - s->max_seq);

	if (udelta < MAX_DROPOUT) {
		if (seq < s->max_seq)
			s->cycles += 65536;
		s->max_seq = seq;
	}
	else if (udelta <= 65536 - MAX_MISORDER) {
		/* The sender restarted its numbering */
		seq_restart(s, seq, ssrc);
		return;
	}
	/* else late or duplicate: received, and it fills its gap */

	++s->received;
}


/* RFC 4961: the first source latches; another one takes over only when
 * the latched one has been silent for RELATCH_MS (the phone moved). */
static bool flow_accept(struct flow *f, const struct sa *src, uint64_t now)
{
	if (f->latched && !sa_cmp(src, &f->raddr, SA_ALL) &&
	    media_elapsed(now, f->last_rx) < RELATCH_MS)
		return false;

	if (!f->latched || !sa_cmp(src, &f->raddr, SA_ALL)) {
		f->raddr     = *src;
		f->has_raddr = true;
		f->latched   = true;
	}

	f->last_rx = now;

	return true;
}


void relay_batch_init(struct worker *w)
{
	int i;

	memset(w->msg, 0, sizeof(w->msg));
	memset(w->out, 0, sizeof(w->out));

	for (i = 0; i < BATCH; i++) {
		w->iov[i].iov_base = w->buf[i];
		w->iov[i].iov_len  = PKT_MAX;
		w->msg[i].msg_hdr.msg_name   = &w->src[i].u;
		w->msg[i].msg_hdr.msg_iov    = &w->iov[i];
		w->msg[i].msg_hdr.msg_iovlen = 1;
		w->out[i].msg_hdr.msg_iov    = &w->oiov[i];
		w->out[i].msg_hdr.msg_iovlen = 1;
	}
}


static void outq_flush(struct outq *q)
{
	int sent;

	if (!q->n)
		return;

	sent = sendmmsg(q->pf->fd, q->w->out, q->n, MSG_DONTWAIT);
	if (sent > 0 && !q->pf->rtcp)
		ATOMIC_SET(q->peer->tx_packets,
			   q->peer->tx_packets + (uint64_t)sent);

	q->n = 0;
	q->nx = 0;
}


static void outq_add(struct outq *q, uint8_t *p, size_t len)
{
	struct worker *w = q->w;

	if (q->n == BATCH)
		outq_flush(q);

	w->oiov[q->n].iov_base = p;
	w->oiov[q->n].iov_len  = len;
	w->out[q->n].msg_hdr.msg_name    = &q->pf->raddr.u;
	w->out[q->n].msg_hdr.msg_namelen = q->pf->raddr.len;
	++q->n;
}


/* Room for one packet the transcoder makes (sent with the batch) */
uint8_t *outq_slot(struct outq *q)
{
	if (q->n == BATCH || q->nx == BATCH)
		outq_flush(q);

	return q->w->xbuf[q->nx];
}


void outq_commit(struct outq *q, size_t len)
{
	outq_add(q, q->w->xbuf[q->nx++], len);
}


/* RELAY with other payload type numbers, or TABLE: rewritten in place.
 * false: not for the other leg (an event it did not agree to). */
static bool rewrite(const struct relay *r, uint8_t *p, size_t len)
{
	size_t hlen;
	uint8_t out;

	if (len < RTP_HDR_SIZE || (p[0] >> 6) != 2)
		return true;

	out = r->ptmap[p[1] & 0x7f];
	if (out == 0xff)
		return false;
	p[1] = (uint8_t)((p[1] & 0x80) | out);

	if (r->table && (p[1] & 0x7f) == r->peer->mc.pt) {
		hlen = rtp_header_len(p, len);
		if (hlen && !(p[0] & 0x20))
			r->table(p + hlen, p + hlen, len - hlen);
	}

	return true;
}


/* Receive what waits on one socket and send the accepted packets out of
 * the peer's socket. The headers were set up once (relay_batch_init);
 * only what the kernel overwrites is set again. */
void relay_read(struct worker *w, struct flow *f)
{
	struct relay *r = f->r;
	struct relay *peer = r->peer;
	struct flow *pf = peer ? (f->rtcp ? &peer->rtcp : &peer->rtp) : NULL;
	struct outq q = {w, pf, peer, 0, 0};
	enum media_path path = peer ? r->path : MEDIA_RELAY;
	int i, n;
	uint64_t bytes = 0;
	unsigned accepted = 0;

	for (i = 0; i < BATCH; i++)
		w->msg[i].msg_hdr.msg_namelen = sizeof(w->src[i].u);

	n = recvmmsg(f->fd, w->msg, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;

	for (i = 0; i < n; i++) {
		struct msghdr *h = &w->msg[i].msg_hdr;
		struct sa *src = &w->src[i];
		size_t len = w->msg[i].msg_len;

		src->len = h->msg_namelen;

		/* a peer whose remote is our own socket would loop */
		if ((h->msg_flags & MSG_TRUNC) ||
		    (pf && sa_cmp(src, &pf->laddr, SA_ALL)) ||
		    !flow_accept(f, src, w->now)) {
			ATOMIC_SET(r->dropped, r->dropped + 1);
			continue;
		}

		++accepted;
		if (!f->rtcp) {
			bytes += len;
			seq_update(&r->seq, w->buf[i], len);
			if (r->rec)
				recorder_packet(r->rec, w->buf[i], len,
						w->now);
		}

		if (!pf || !pf->has_raddr)
			continue;

		if (path == MEDIA_TRANSCODE) {
			/* RTCP ends at each leg: the streams differ */
			if (!f->rtcp)
				xcode_packet(r->x, &q, w->buf[i], len);
			continue;
		}

		if (r->renumber && !f->rtcp && !rewrite(r, w->buf[i], len))
			continue;

		outq_add(&q, w->buf[i], len);
	}

	/* sent first, counted after: whoever sees a packet received
	 * (rx_packets, a release store) also sees it relayed */
	if (pf)
		outq_flush(&q);

	if (accepted) {
		/* a phone on hold may send nothing but RTCP: still alive */
		ATOMIC_SET(r->last_rx, w->now);
		if (!f->rtcp) {
			ATOMIC_SET(r->rx_bytes, r->rx_bytes + bytes);
			ATOMIC_SET(r->lost, r->seq.lost_before +
				   seq_lost(&r->seq));
			ATOMIC_SET(r->latched, f->latched);
			__atomic_store_n(&r->rx_packets,
					 r->rx_packets + accepted,
					 __ATOMIC_RELEASE);
		}
	}
}


void relay_set_remote(struct relay *r, const struct sa *rtp,
			     bool has)
{
	uint16_t port;

	/* A re-offer with the same address keeps what was learnt */
	if (has && r->has_sdp && sa_cmp(rtp, &r->sdp, SA_ALL))
		return;

	r->rtp.latched  = false;
	r->rtcp.latched = false;
	ATOMIC_SET(r->latched, false);

	if (!has) {
		r->has_sdp = false;
		r->rtp.has_raddr  = false;
		r->rtcp.has_raddr = false;
		return;
	}

	r->sdp     = *rtp;
	r->has_sdp = true;

	r->rtp.raddr     = *rtp;
	r->rtp.has_raddr = true;

	port = sa_port(rtp);
	r->rtcp.raddr = *rtp;
	sa_set_port(&r->rtcp.raddr, (uint16_t)(port + 1));
	r->rtcp.has_raddr = port < 65535;
}


static void plan_one(struct relay *r)
{
	struct relay *peer = r->peer;
	unsigned i;

	xcode_free(r->x);
	r->x = NULL;
	r->table = NULL;
	r->renumber = false;
	r->path = MEDIA_RELAY;

	if (!peer || !r->has_mc || !peer->has_mc)
		return;

	r->path = media_path_of(&r->mc, &peer->mc);

	if (r->path == MEDIA_TRANSCODE) {
		int err = xcode_alloc(&r->x, &r->mc, &peer->mc);

		if (!err)
			return;
		/* no worse than before codecs were known */
		r->path = MEDIA_RELAY;
	}

	for (i = 0; i < 128; i++)
		r->ptmap[i] = (uint8_t)i;

	r->ptmap[r->mc.pt] = peer->mc.pt;
	if (r->mc.te_pt >= 0)
		r->ptmap[r->mc.te_pt] = peer->mc.te_pt >= 0 ?
			(uint8_t)peer->mc.te_pt : 0xff;

	for (i = 0; i < 128; i++)
		r->renumber |= r->ptmap[i] != i;

	if (r->path == MEDIA_TABLE) {
		r->renumber = true;
		r->table = !strcmp(r->mc.codec->name, "PCMA") ?
			g711x_alaw_to_ulaw : g711x_ulaw_to_alaw;
	}
}


/* Which path each direction takes, after a bridge or a codec changed */
void relay_plan(struct relay *r)
{
	plan_one(r);
	if (r->peer && r->peer != r)
		plan_one(r->peer);
}


static bool same_codec(const struct media_codec *a,
		       const struct media_codec *b)
{
	return a->codec == b->codec && a->pt == b->pt &&
		a->te_pt == b->te_pt && a->te_clock == b->te_clock &&
		!strcmp(a->fmtp, b->fmtp);
}


/* Start (rec) or stop (NULL) recording what the leg sends: the decoder
 * is made and freed here, on the worker */
void relay_record(struct relay *r, struct recorder *rec)
{
	/* the leg's last key goes from one recorder to the next: the rest
	 * of the '#' that ended a recording is not a key for the menu
	 * listening after it */
	if (r->rec)
		r->keys = r->rec->keys_seen;
	if (r->rec && r->rec != rec)
		recorder_detach(r->rec);
	r->rec = NULL;

	if (!rec)
		return;

	if (!r->has_mc || recorder_attach(rec, &r->mc)) {
		recorder_detach(rec);       /* the reader sees it ended */
		return;
	}
	rec->keys_seen = r->keys;
	r->rec = rec;
}


void relay_set_codec(struct relay *r, const struct media_codec *mc,
		     bool has)
{
	/* the 200 after a 183 says it again: the streams go on as they
	 * are (a new transcoder would start a new SSRC) */
	if (has && r->has_mc && same_codec(&r->mc, mc))
		return;

	xcode_free(r->px);
	r->px = NULL;
	r->has_mc = has;
	if (has)
		r->mc = *mc;
	relay_plan(r);
}


void relay_unbridge(struct relay *r)
{
	struct relay *peer = r->peer;

	if (!peer)
		return;

	if (peer->peer == r)
		peer->peer = NULL;

	r->peer = NULL;
	plan_one(r);
	plan_one(peer);
}


void relay_free(struct worker *w, struct relay *r)
{
	relay_unbridge(r);
	relay_record(r, NULL);
	xcode_free(r->px);

	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, r->rtp.fd, NULL);
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, r->rtcp.fd, NULL);
	(void)close(r->rtp.fd);
	(void)close(r->rtcp.fd);
	free(r);
}



void relay_bridge(struct relay *a, struct relay *b)
{
	relay_unbridge(a);
	relay_unbridge(b);
	a->peer = b;
	b->peer = a;
	relay_plan(a);
}


/* A parked relay taken for a new call starts from nothing: stragglers of
 * the last call may have been counted and latched meanwhile. */
void relay_reset(struct relay *r)
{
	relay_unbridge(r);
	relay_record(r, NULL);
	relay_set_remote(r, NULL, false);
	relay_set_codec(r, NULL, false);
	memset(&r->seq, 0, sizeof(r->seq));
	r->rtp.last_rx = r->rtcp.last_rx = 0;
	ATOMIC_SET(r->rx_packets, 0);
	ATOMIC_SET(r->tx_packets, 0);
	ATOMIC_SET(r->rx_bytes, 0);
	ATOMIC_SET(r->lost, 0);
	ATOMIC_SET(r->dropped, 0);
	ATOMIC_SET(r->last_rx, 0);
}


static bool is_g711(const struct codec *c)
{
	return c->pt == 0 || c->pt == 8;
}


/* One packet of a player (a prompt, a tone) to the leg's remote. The
 * player speaks G.711; a leg on another codec gets it transcoded from
 * PCMU (the transcoder set up with the first packet). */
bool relay_send(struct worker *w, struct relay *r, const uint8_t *pkt,
		size_t len)
{
	if (r->has_mc && r->mc.codec && !is_g711(r->mc.codec) &&
	    len > RTP_HDR_SIZE && (pkt[1] & 0x7f) == 0) {
		struct outq q = {w, &r->rtp, r, 0, 0};

		if (!r->px) {
			struct media_codec pcmu;

			memset(&pcmu, 0, sizeof(pcmu));
			pcmu.codec = codec_find("PCMU");
			pcmu.te_pt = -1;
			if (xcode_alloc(&r->px, &pcmu, &r->mc))
				return false;
		}

		if (!r->rtp.has_raddr)
			return false;

		xcode_packet(r->px, &q, pkt, len);
		outq_flush(&q);
		return true;
	}

	if (!r->rtp.has_raddr ||
	    sendto(r->rtp.fd, pkt, len, MSG_DONTWAIT, &r->rtp.raddr.u.sa,
		   r->rtp.raddr.len) <= 0)
		return false;

	ATOMIC_SET(r->tx_packets, r->tx_packets + 1);
	return true;
}
