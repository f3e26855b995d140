/**
 * @file media.c  RTP anchoring and relay between the legs of a call
 *
 * The fast path is one receive handler per socket: check the source
 * against the latch, update the counters, and hand the very mbuf libre
 * received to udp_send() on the peer's socket. libre's receive mbuf is
 * the only allocation per packet; nothing is parsed beyond the first 12
 * bytes, so RFC 4733 events, RTCP-mux, ZRTP and SRTP pass untouched.
 *
 * Idle detection does not touch a timer per packet: the handler stores a
 * time stamp and one timer per endpoint compares it, sleeping until the
 * earliest moment the endpoint could have been idle long enough.
 */
#include "core.h"
#include <time.h>
#include "media.h"


enum {
	RELATCH_MS   = 2000,        /* latched source silent: may move    */
	SOCKBUF_SIZE = 256 * 1024,  /* kernel default is about 208 KiB    */
	RTP_HDR_SIZE = 12,
	MAX_DROPOUT  = 3000,        /* RFC 3550 A.1                       */
	MAX_MISORDER = 100,
};

/* One socket and where its traffic goes: the SDP address until the
 * first packet arrives, then that packet's source (RFC 4961). */
struct flow {
	struct udp_sock *us;
	struct sa laddr;
	struct sa raddr;
	uint64_t last_rx;    /* monotonic ms of the last accepted packet */
	bool has_raddr;
	bool latched;
};

/* Received sequence numbers, as RFC 3550 A.3 counts loss; restarted on
 * a new SSRC or a jump, the loss so far kept in lost_before. */
struct seqstate {
	uint64_t lost_before;
	uint64_t received;
	uint64_t cycles;
	uint32_t ssrc;
	uint16_t base;
	uint16_t max_seq;
	bool init;
};

struct media_ep {
	struct flow rtp;
	struct flow rtcp;
	struct sa sdp;              /* remote RTP address from the SDP  */
	bool has_sdp;
	struct media_ep *peer;      /* weak both ways, see unbridge()   */
	struct seqstate seq;
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t rx_bytes;
	uint64_t dropped;           /* from a source other than the latch */
	uint64_t last_rx;           /* monotonic ms, RTP or RTCP         */
	struct tmr tmr;
	uint32_t timeout_ms;
	media_timeout_h *timeouth;
	void *arg;
};


/* libre 1.1.0's tmr_jiffies() reads gettimeofday(): a wall clock step
 * must not make every call look idle (or a latch look stale). */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static uint64_t elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}


static void unbridge(struct media_ep *ep)
{
	if (!ep->peer)
		return;

	if (ep->peer->peer == ep)
		ep->peer->peer = NULL;

	ep->peer = NULL;
}


static void destructor(void *arg)
{
	struct media_ep *ep = arg;

	unbridge(ep);
	tmr_cancel(&ep->tmr);
	mem_deref(ep->rtp.us);
	mem_deref(ep->rtcp.us);

	if (ep->dropped)
		log_debug("media %J: dropped %llu packets from unlatched "
			  "sources\n", &ep->rtp.laddr,
			  (unsigned long long)ep->dropped);
}


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
static bool flow_accept(struct media_ep *ep, struct flow *f,
			const struct sa *src, uint64_t now)
{
	if (f->latched && !sa_cmp(src, &f->raddr, SA_ALL)) {

		if (elapsed(now, f->last_rx) < RELATCH_MS) {
			++ep->dropped;
			return false;
		}

		log_debug("media %J: re-latch %J -> %J\n", &f->laddr,
			  &f->raddr, src);
	}

	if (!f->latched || !sa_cmp(src, &f->raddr, SA_ALL)) {
		f->raddr     = *src;
		f->has_raddr = true;
		f->latched   = true;
	}

	f->last_rx = now;

	return true;
}


/* A peer whose remote address is our own socket sends every packet back
 * to us: a loop at full speed. Nothing legitimate comes from there. */
static bool from_peer(const struct flow *pf, const struct sa *src)
{
	return sa_cmp(src, &pf->laddr, SA_ALL);
}


static void rtp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct media_ep *ep = arg;
	struct media_ep *peer = ep->peer;
	uint64_t now = mono_ms();
	size_t n = mbuf_get_left(mb);

	if (peer && from_peer(&peer->rtp, src)) {
		++ep->dropped;
		return;
	}

	if (!flow_accept(ep, &ep->rtp, src, now))
		return;

	ep->last_rx = now;
	++ep->rx_packets;
	ep->rx_bytes += n;
	seq_update(&ep->seq, mbuf_buf(mb), n);

	if (!peer || !peer->rtp.has_raddr)
		return;

	if (!udp_send(peer->rtp.us, &peer->rtp.raddr, mb))
		++peer->tx_packets;
}


static void rtcp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct media_ep *ep = arg;
	struct media_ep *peer = ep->peer;
	uint64_t now = mono_ms();

	if (peer && from_peer(&peer->rtcp, src)) {
		++ep->dropped;
		return;
	}

	if (!flow_accept(ep, &ep->rtcp, src, now))
		return;

	/* A phone on hold may send nothing but RTCP: still alive */
	ep->last_rx = now;

	if (!peer || !peer->rtcp.has_raddr)
		return;

	(void)udp_send(peer->rtcp.us, &peer->rtcp.raddr, mb);
}


static int flow_listen(struct flow *f, const struct sa *ip, uint16_t port,
		       udp_recv_h *recvh, void *arg)
{
	struct sa local = *ip;
	int err;

	sa_set_port(&local, port);

	err = udp_listen(&f->us, &local, recvh, arg);
	if (err)
		return err;

	err = udp_local_get(f->us, &f->laddr);
	if (err) {
		f->us = mem_deref(f->us);
		return err;
	}

	return 0;
}


int media_ep_alloc(struct media_ep **epp, const struct sa *ip,
		   uint16_t port_min, uint16_t port_max)
{
	struct media_ep *ep;
	uint32_t base, npairs, start, i;
	int err = EADDRINUSE;

	if (!epp || !ip || (sa_af(ip) != AF_INET && sa_af(ip) != AF_INET6))
		return EINVAL;

	base = (port_min + 1u) & ~1u;
	if (base == 0)
		base = 2;
	if (base + 1 >= port_max)
		return EINVAL;

	npairs = (port_max - base) / 2;

	ep = mem_zalloc(sizeof(*ep), destructor);
	if (!ep)
		return ENOMEM;

	tmr_init(&ep->tmr);

	/* Start at a random pair: a port freed by the last call is not
	 * handed out again at once, while its stragglers still arrive.
	 * Every pair is tried once, so the search is bounded. */
	start = rand_u32() % npairs;

	for (i = 0; i < npairs; i++) {
		uint32_t port = base + 2 * ((start + i) % npairs);

		err = flow_listen(&ep->rtp, ip, (uint16_t)port, rtp_recv, ep);
		if (err == EADDRINUSE || err == EACCES)
			continue;
		else if (err)
			goto out;

		err = flow_listen(&ep->rtcp, ip, (uint16_t)(port + 1),
				  rtcp_recv, ep);
		if (!err)
			break;

		ep->rtp.us = mem_deref(ep->rtp.us);

		if (err != EADDRINUSE && err != EACCES)
			goto out;
	}

	if (err) {
		err = EADDRINUSE;
		goto out;
	}

	/* Bursts while the loop is busy elsewhere; RTCP is a trickle */
	(void)udp_sockbuf_set(ep->rtp.us, SOCKBUF_SIZE);

 out:
	if (err)
		mem_deref(ep);
	else
		*epp = ep;

	return err;
}


const struct sa *media_ep_local(const struct media_ep *ep)
{
	return ep ? &ep->rtp.laddr : NULL;
}


void media_ep_set_remote(struct media_ep *ep, const struct sa *rtp)
{
	uint16_t port;

	if (!ep)
		return;

	/* A re-offer with the same address keeps what was learnt */
	if (rtp && ep->has_sdp && sa_cmp(rtp, &ep->sdp, SA_ALL))
		return;

	ep->rtp.latched  = false;
	ep->rtcp.latched = false;

	if (!rtp || !sa_isset(rtp, SA_ALL)) {
		ep->has_sdp = false;
		ep->rtp.has_raddr  = false;
		ep->rtcp.has_raddr = false;
		return;
	}

	ep->sdp     = *rtp;
	ep->has_sdp = true;

	ep->rtp.raddr     = *rtp;
	ep->rtp.has_raddr = true;

	port = sa_port(rtp);
	ep->rtcp.raddr = *rtp;
	sa_set_port(&ep->rtcp.raddr, (uint16_t)(port + 1));
	ep->rtcp.has_raddr = port < 65535;
}


void media_ep_bridge(struct media_ep *a, struct media_ep *b)
{
	if (a)
		unbridge(a);
	if (b)
		unbridge(b);

	if (!a || !b)
		return;

	a->peer = b;
	b->peer = a;
}


static void timeout_check(void *arg)
{
	struct media_ep *ep = arg;
	uint64_t idle = elapsed(mono_ms(), ep->last_rx);
	media_timeout_h *h;
	void *harg;

	if (idle < ep->timeout_ms) {
		tmr_start(&ep->tmr, ep->timeout_ms - idle, timeout_check, ep);
		return;
	}

	/* Once: the handler may free the endpoint */
	h    = ep->timeouth;
	harg = ep->arg;

	if (h)
		h(ep, harg);
}


void media_ep_set_timeout(struct media_ep *ep, uint32_t ms,
			  media_timeout_h *h, void *arg)
{
	if (!ep)
		return;

	ep->timeout_ms = ms;
	ep->timeouth   = h;
	ep->arg        = arg;

	if (!ms || !h) {
		tmr_cancel(&ep->tmr);
		return;
	}

	/* Counts from now, not from the last packet of an earlier life */
	ep->last_rx = mono_ms();
	tmr_start(&ep->tmr, ms, timeout_check, ep);
}


void media_ep_stats(const struct media_ep *ep, struct media_stats *st)
{
	if (!st)
		return;

	memset(st, 0, sizeof(*st));

	if (!ep)
		return;

	st->rx_packets = ep->rx_packets;
	st->tx_packets = ep->tx_packets;
	st->rx_bytes   = ep->rx_bytes;
	st->lost       = ep->seq.lost_before + seq_lost(&ep->seq);
	st->latched    = ep->rtp.latched;
}


int media_ep_send(struct media_ep *ep, struct mbuf *mb)
{
	int err;

	if (!ep || !mb)
		return EINVAL;

	if (!ep->rtp.has_raddr)
		return ENOTCONN;

	err = udp_send(ep->rtp.us, &ep->rtp.raddr, mb);
	if (!err)
		++ep->tx_packets;

	return err;
}
