/**
 * @file media.c  RTP anchoring and relay between the legs of a call
 *
 * The relay runs on media worker threads (one per core by default), each
 * with its own epoll loop; the signalling thread only creates and binds
 * the sockets, hands them to a worker and sends it commands. The two
 * legs of a call live on the same worker, so the packet path touches
 * nothing another thread writes: no lock and no allocation per packet.
 *
 * The packet path: recvmmsg() up to BATCH datagrams from one socket into
 * the worker's own buffers, check each source against the latch (RFC
 * 4961), count it, and sendmmsg() the batch unchanged out of the peer's
 * socket. Nothing is parsed beyond the first 12 bytes, so RFC 4733
 * events, RTCP-mux, ZRTP and SRTP pass untouched.
 *
 * Ownership: struct media_ep is the signalling thread's handle (libre
 * memory); struct relay is the worker's (plain malloc). The handle posts
 * commands (remote address, bridge, a player's packet, remove) to the
 * worker's queue, taken under a mutex that only the control path uses;
 * an eventfd wakes the worker only when it may be asleep (cmd_post).
 * The worker runs the commands before each batch of packets (an address
 * set before a packet arrived applies to it) and frees removed relays
 * after it, so a removed relay is never in a batch being handled.
 * The counters the signalling thread reads (ctl calls, the idle timer)
 * are single-writer 64-bit words read with relaxed atomics.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "core.h"
#include "media.h"
#include "wheel.h"


enum {
	RELATCH_MS   = 2000,        /* latched source silent: may move    */
	SOCKBUF_SIZE = 256 * 1024,  /* kernel default is about 208 KiB    */
	RTP_HDR_SIZE = 12,
	MAX_DROPOUT  = 3000,        /* RFC 3550 A.1                       */
	MAX_MISORDER = 100,
	BATCH        = 32,          /* datagrams per recvmmsg()           */
	PKT_MAX      = 2048,        /* longer datagrams are dropped       */
	EVENTS       = 64,
	MAX_WORKERS  = 64,
	CMD_PKT_MAX  = 512,         /* a player's packet (G.711: 172)     */
	QUARANTINE_MS = 2000,       /* a parked pair rests this long      */
	MAX_PARKED   = 8192,        /* parked pairs, all workers together */
};

#define ATOMIC_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ATOMIC_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)


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

struct relay;

/* One socket and where its traffic goes: the SDP address until the
 * first packet arrives, then that packet's source (RFC 4961). */
struct flow {
	struct relay *r;
	int fd;
	bool rtcp;
	struct sa laddr;
	struct sa raddr;
	uint64_t last_rx;    /* monotonic ms of the last accepted packet */
	bool has_raddr;
	bool latched;
};

/* The worker's side of an endpoint */
struct relay {
	struct flow rtp;
	struct flow rtcp;
	struct sa sdp;              /* remote RTP address from the SDP */
	bool has_sdp;
	struct relay *peer;         /* same worker; cleared on removal */
	struct seqstate seq;
	/* read by the signalling thread (ATOMIC_GET) */
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t rx_bytes;
	uint64_t lost;
	uint64_t dropped;           /* from a source other than the latch */
	uint64_t last_rx;           /* monotonic ms, RTP or RTCP */
	bool latched;
};

enum cmd_type {
	CMD_REMOTE,
	CMD_BRIDGE,
	CMD_UNBRIDGE,
	CMD_SEND,
	CMD_REMOVE,
	CMD_PARK,
	CMD_RESET,
	CMD_STOP,
};

struct cmd {
	struct cmd *next;
	enum cmd_type type;
	struct relay *r;
	struct relay *peer;
	struct sa addr;
	bool has_addr;
	size_t len;
	uint8_t pkt[CMD_PKT_MAX];
};

/* A relay whose call has ended, kept with its sockets bound and in the
 * worker's epoll for the next call: no socket(), bind(), epoll_ctl() and
 * close() per call. The signalling thread's record of it. */
struct parked {
	struct parked *next;
	struct relay *r;
	struct sa laddr;
	uint64_t since;             /* monotonic ms */
};

struct worker {
	pthread_t tid;
	unsigned index;
	int epfd;
	int evfd;
	bool started;
	pthread_mutex_t lock;       /* the two lists below, nothing else */
	struct cmd *pending, **pending_tail;
	struct cmd *spare;
	/* the wake-up handshake (see cmd_post), sequentially consistent */
	bool has_pending;
	bool sleeping;
	/* the signalling thread's: parked relays, oldest first */
	struct parked *park_head, **park_tail;
	unsigned parked;
	/* the worker's own, for the packet path */
	uint64_t now;
	uint8_t buf[BATCH][PKT_MAX];
	struct sa src[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct mmsghdr out[BATCH];
	struct iovec oiov[BATCH];
};

struct media_ep {
	struct relay *r;            /* the worker's; freed by it */
	struct worker *w;
	struct sa laddr;
	uint64_t armed_at;          /* when the idle timer was set */
	struct wtmr tmr;
	uint32_t timeout_ms;
	media_timeout_h *timeouth;
	void *arg;
};

static struct {
	struct worker *workers;
	unsigned n;
	unsigned next;              /* round robin for new calls */
	unsigned parked;            /* all workers */
	struct parked *spare;       /* park records for reuse */
} engine;


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


/* ---- the packet path (worker threads) ---- */

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
	    elapsed(now, f->last_rx) < RELATCH_MS)
		return false;

	if (!f->latched || !sa_cmp(src, &f->raddr, SA_ALL)) {
		f->raddr     = *src;
		f->has_raddr = true;
		f->latched   = true;
	}

	f->last_rx = now;

	return true;
}


/* Receive what waits on one socket (BATCH at most, the loop is level
 * triggered) and send the accepted packets out of the peer's socket. */
static void flow_read(struct worker *w, struct flow *f)
{
	struct relay *r = f->r;
	struct relay *peer = r->peer;
	struct flow *pf = peer ? (f->rtcp ? &peer->rtcp : &peer->rtp) : NULL;
	int i, n, nout = 0;
	uint64_t bytes = 0;
	unsigned accepted = 0;

	for (i = 0; i < BATCH; i++) {
		w->iov[i].iov_base = w->buf[i];
		w->iov[i].iov_len  = PKT_MAX;
		memset(&w->msg[i].msg_hdr, 0, sizeof(w->msg[i].msg_hdr));
		w->msg[i].msg_hdr.msg_name    = &w->src[i].u;
		w->msg[i].msg_hdr.msg_namelen = sizeof(w->src[i].u);
		w->msg[i].msg_hdr.msg_iov     = &w->iov[i];
		w->msg[i].msg_hdr.msg_iovlen  = 1;
	}

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
		}

		if (!pf || !pf->has_raddr)
			continue;

		w->oiov[nout].iov_base = w->buf[i];
		w->oiov[nout].iov_len  = len;
		memset(&w->out[nout].msg_hdr, 0, sizeof(w->out[nout].msg_hdr));
		w->out[nout].msg_hdr.msg_name    = &pf->raddr.u;
		w->out[nout].msg_hdr.msg_namelen = pf->raddr.len;
		w->out[nout].msg_hdr.msg_iov     = &w->oiov[nout];
		w->out[nout].msg_hdr.msg_iovlen  = 1;
		++nout;
	}

	/* sent first, counted after: whoever sees a packet received
	 * (rx_packets, a release store) also sees it relayed */
	if (nout) {
		int sent = sendmmsg(pf->fd, w->out, (unsigned)nout,
				    MSG_DONTWAIT);

		if (sent > 0 && !f->rtcp)
			ATOMIC_SET(peer->tx_packets,
				   peer->tx_packets + (uint64_t)sent);
	}

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


/* ---- commands (worker side) ---- */

static void relay_set_remote(struct relay *r, const struct sa *rtp,
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


static void relay_unbridge(struct relay *r)
{
	if (!r->peer)
		return;

	if (r->peer->peer == r)
		r->peer->peer = NULL;

	r->peer = NULL;
}


static void relay_free(struct worker *w, struct relay *r)
{
	relay_unbridge(r);

	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, r->rtp.fd, NULL);
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, r->rtcp.fd, NULL);
	(void)close(r->rtp.fd);
	(void)close(r->rtcp.fd);
	free(r);
}


/* Used commands go back to the spares, for the next ones */
static void give_back(struct worker *w, struct cmd *list)
{
	struct cmd *last = list;

	while (last->next)
		last = last->next;

	pthread_mutex_lock(&w->lock);
	last->next = w->spare;
	w->spare = list;
	pthread_mutex_unlock(&w->lock);
}


/* A parked relay taken for a new call starts from nothing: stragglers of
 * the last call may have been counted and latched meanwhile. */
static void relay_reset(struct relay *r)
{
	relay_unbridge(r);
	relay_set_remote(r, NULL, false);
	memset(&r->seq, 0, sizeof(r->seq));
	r->rtp.last_rx = r->rtcp.last_rx = 0;
	ATOMIC_SET(r->rx_packets, 0);
	ATOMIC_SET(r->tx_packets, 0);
	ATOMIC_SET(r->rx_bytes, 0);
	ATOMIC_SET(r->lost, 0);
	ATOMIC_SET(r->dropped, 0);
	ATOMIC_SET(r->last_rx, 0);
}


static bool run_cmd(struct worker *w, struct cmd *c)
{
	switch (c->type) {

	case CMD_REMOTE:
		relay_set_remote(c->r, &c->addr, c->has_addr);
		break;

	case CMD_BRIDGE:
		relay_unbridge(c->r);
		relay_unbridge(c->peer);
		c->r->peer = c->peer;
		c->peer->peer = c->r;
		break;

	case CMD_UNBRIDGE:
		relay_unbridge(c->r);
		break;

	case CMD_SEND:
		if (c->r->rtp.has_raddr &&
		    sendto(c->r->rtp.fd, c->pkt, c->len, MSG_DONTWAIT,
			   &c->r->rtp.raddr.u.sa, c->r->rtp.raddr.len) > 0)
			ATOMIC_SET(c->r->tx_packets, c->r->tx_packets + 1);
		break;

	case CMD_REMOVE:
		relay_free(w, c->r);
		break;

	case CMD_PARK:
		/* nothing relayed from now on; counted until reused */
		relay_unbridge(c->r);
		relay_set_remote(c->r, NULL, false);
		break;

	case CMD_RESET:
		relay_reset(c->r);
		break;

	case CMD_STOP:
		return false;
	}

	return true;
}


/* Take the queue and run it, except the removals: they wait in
 * *removals until the batch of events in hand has been handled. */
static bool run_cmds(struct worker *w, struct cmd **removals)
{
	struct cmd *list, *c, *next;
	struct cmd *done = NULL;
	bool run = true;

	pthread_mutex_lock(&w->lock);
	list = w->pending;
	w->pending = NULL;
	w->pending_tail = &w->pending;
	__atomic_store_n(&w->has_pending, false, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&w->lock);

	for (c = list; c; c = next) {
		next = c->next;

		if (c->type == CMD_REMOVE) {
			c->next = *removals;
			*removals = c;
			continue;
		}

		if (!run_cmd(w, c))
			run = false;
		c->next = done;
		done = c;
	}

	if (done)
		give_back(w, done);

	return run;
}


static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[EVENTS];
	bool run = true;

	while (run) {
		struct cmd *removals = NULL, *c;
		int i, n, timeout = -1;
		uint64_t v;

		/* say we may sleep, then look at the queue once more: a
		 * command posted in between is either seen here or finds
		 * us sleeping and wakes us (cmd_post) */
		__atomic_store_n(&w->sleeping, true, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&w->has_pending, __ATOMIC_SEQ_CST))
			timeout = 0;

		n = epoll_wait(w->epfd, ev, EVENTS, timeout);
		__atomic_store_n(&w->sleeping, false, __ATOMIC_SEQ_CST);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}

		w->now = mono_ms();

		for (i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				(void)read(w->evfd, &v, sizeof(v));
		}

		/* commands first: a remote address or a bridge set before
		 * a packet was sent applies to that packet */
		if (__atomic_load_n(&w->has_pending, __ATOMIC_SEQ_CST))
			run = run_cmds(w, &removals);

		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				flow_read(w, ev[i].data.ptr);
		}

		/* after the batch: nothing in it refers to these any more */
		for (c = removals; c; c = c->next)
			relay_free(w, c->r);
		if (removals)
			give_back(w, removals);
	}

	return NULL;
}


/* ---- the signalling thread's side ---- */

static struct cmd *cmd_get(struct worker *w)
{
	struct cmd *c;

	pthread_mutex_lock(&w->lock);
	c = w->spare;
	if (c)
		w->spare = c->next;
	pthread_mutex_unlock(&w->lock);

	if (!c)
		c = malloc(sizeof(*c));
	if (c)
		memset(c, 0, offsetof(struct cmd, pkt));

	return c;
}


/* Queue a command. The eventfd is written only when the worker may be
 * asleep: it sets sleeping, then reads has_pending; we set has_pending,
 * then read sleeping (both sequentially consistent, as in Dekker's
 * algorithm), so one of the two sees the other and no command waits for
 * the next packet. A busy worker finds the queue at the top of its loop
 * without a system call on either side. */
static void cmd_post(struct worker *w, struct cmd *c)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&w->lock);
	first = !w->pending;
	*w->pending_tail = c;
	w->pending_tail = &c->next;
	__atomic_store_n(&w->has_pending, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&w->lock);

	if (first && __atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST))
		(void)write(w->evfd, &one, sizeof(one));
}


/* Commands that must not be lost: wait for memory rather than drop */
static struct cmd *cmd_must(struct worker *w)
{
	struct cmd *c;

	while (!(c = cmd_get(w)))
		(void)usleep(1000);

	return c;
}


/* Keep the relay for a later call (true), or let it go (false) */
static bool park(const struct media_ep *ep)
{
	struct worker *w = ep->w;
	struct parked *pk;

	if (engine.parked >= MAX_PARKED)
		return false;

	pk = engine.spare;
	if (pk)
		engine.spare = pk->next;
	else
		pk = malloc(sizeof(*pk));
	if (!pk)
		return false;

	pk->next = NULL;
	pk->r = ep->r;
	pk->laddr = ep->laddr;
	pk->since = mono_ms();
	*w->park_tail = pk;
	w->park_tail = &pk->next;
	++w->parked;
	++engine.parked;

	return true;
}


/* The oldest parked relay of w, once it has rested, if nothing has
 * arrived on it for as long and its address is still in the range
 * asked for (a reload may change it); one that fails is let go. */
static struct relay *unpark(struct worker *w, const struct sa *ip,
			    uint16_t port_min, uint16_t port_max,
			    struct sa *laddr)
{
	uint64_t now = mono_ms();

	while (w->park_head && now - w->park_head->since >= QUARANTINE_MS) {
		struct parked *pk = w->park_head;
		struct relay *r = pk->r;
		uint16_t port = sa_port(&pk->laddr);
		/* still hit by its last call's phone (one that missed the
		 * BYE): that phone would take the new call's latch. Let it
		 * go; a fresh pair starts at a random port. */
		bool quiet = ATOMIC_GET(r->last_rx) + QUARANTINE_MS <= now;
		bool fits = quiet && sa_cmp(&pk->laddr, ip, SA_ADDR) &&
			port >= port_min && port + 1 < port_max;
		struct cmd *c;

		w->park_head = pk->next;
		if (!w->park_head)
			w->park_tail = &w->park_head;
		--w->parked;
		--engine.parked;
		*laddr = pk->laddr;
		pk->next = engine.spare;
		engine.spare = pk;

		c = cmd_must(w);
		c->r = r;
		c->type = fits ? CMD_RESET : CMD_REMOVE;
		cmd_post(w, c);

		if (fits)
			return r;
	}

	return NULL;
}


static void destructor(void *arg)
{
	struct media_ep *ep = arg;
	struct cmd *c;

	wtmr_cancel(&ep->tmr);

	if (!ep->r)
		return;

	c = cmd_must(ep->w);
	c->r = ep->r;
	c->type = park(ep) ? CMD_PARK : CMD_REMOVE;
	cmd_post(ep->w, c);
}


static int flow_open(struct flow *f, const struct sa *ip, uint16_t port)
{
	struct sa local = *ip;
	int fd, one = 1;

	sa_set_port(&local, port);

	fd = socket(sa_af(ip), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (sa_af(ip) == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));

	if (bind(fd, &local.u.sa, local.len) < 0) {
		int err = errno;
		(void)close(fd);
		return err;
	}

	f->fd = fd;
	f->laddr = local;

	return 0;
}


static int worker_add(struct worker *w, struct flow *f)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = f;

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, f->fd, &ev) ? errno : 0;
}


int media_ep_alloc(struct media_ep **epp, const struct media_ep *near,
		   const struct sa *ip, uint16_t port_min, uint16_t port_max)
{
	struct media_ep *ep;
	struct relay *r, *r_old;
	uint32_t base, npairs, start, i;
	int size = SOCKBUF_SIZE;
	int err = EADDRINUSE;

	if (!epp || !ip || (sa_af(ip) != AF_INET && sa_af(ip) != AF_INET6))
		return EINVAL;

	if (!engine.n)
		return ENOSYS;

	base = (port_min + 1u) & ~1u;
	if (base == 0)
		base = 2;
	if (base + 1 >= port_max)
		return EINVAL;

	npairs = (port_max - base) / 2;

	ep = mem_zalloc(sizeof(*ep), destructor);
	r = calloc(1, sizeof(*r));
	if (!ep || !r) {
		mem_deref(ep);
		free(r);
		return ENOMEM;
	}

	wtmr_init(&ep->tmr);
	ep->w = near && near->w ? near->w :
		&engine.workers[engine.next++ % engine.n];

	r_old = unpark(ep->w, ip, (uint16_t)base, port_max, &ep->laddr);
	if (r_old) {
		free(r);
		ep->r = r_old;
		*epp = ep;
		return 0;
	}

	r->rtp.r = r;
	r->rtcp.r = r;
	r->rtcp.rtcp = true;
	r->rtp.fd = r->rtcp.fd = -1;

	/* Start at a random pair: a port freed by the last call is not
	 * handed out again at once, while its stragglers still arrive.
	 * Every pair is tried once, so the search is bounded. */
	start = rand_u32() % npairs;

	for (i = 0; i < npairs; i++) {
		uint32_t port = base + 2 * ((start + i) % npairs);

		err = flow_open(&r->rtp, ip, (uint16_t)port);
		if (err == EADDRINUSE || err == EACCES)
			continue;
		else if (err)
			break;

		err = flow_open(&r->rtcp, ip, (uint16_t)(port + 1));
		if (!err)
			break;

		(void)close(r->rtp.fd);
		r->rtp.fd = -1;

		if (err != EADDRINUSE && err != EACCES)
			break;
	}

	if (err) {
		if (err == EACCES)
			err = EADDRINUSE;
		goto out;
	}

	/* Bursts while the worker is busy elsewhere; RTCP is a trickle */
	(void)setsockopt(r->rtp.fd, SOL_SOCKET, SO_RCVBUF, &size,
			 sizeof(size));

	ep->laddr = r->rtp.laddr;

	/* from here the relay is the worker's */
	err = worker_add(ep->w, &r->rtp);
	if (!err)
		err = worker_add(ep->w, &r->rtcp);
	if (err) {
		(void)epoll_ctl(ep->w->epfd, EPOLL_CTL_DEL, r->rtp.fd, NULL);
		goto out;
	}

	ep->r = r;
	r = NULL;

 out:
	if (r) {
		if (r->rtp.fd >= 0)
			(void)close(r->rtp.fd);
		if (r->rtcp.fd >= 0)
			(void)close(r->rtcp.fd);
		free(r);
	}

	if (err)
		mem_deref(ep);
	else
		*epp = ep;

	return err;
}


const struct sa *media_ep_local(const struct media_ep *ep)
{
	return ep ? &ep->laddr : NULL;
}


void media_ep_set_remote(struct media_ep *ep, const struct sa *rtp)
{
	struct cmd *c;

	if (!ep || !ep->r)
		return;

	c = cmd_must(ep->w);
	c->type = CMD_REMOTE;
	c->r = ep->r;
	c->has_addr = rtp && sa_isset(rtp, SA_ALL);
	if (c->has_addr)
		c->addr = *rtp;
	cmd_post(ep->w, c);
}


void media_ep_bridge(struct media_ep *a, struct media_ep *b)
{
	struct cmd *c;

	if (a && b && a->r && b->r) {
		if (a->w != b->w) {
			log_warn("media %J / %J: on different workers, not "
				 "bridged", &a->laddr, &b->laddr);
			return;
		}
		c = cmd_must(a->w);
		c->type = CMD_BRIDGE;
		c->r = a->r;
		c->peer = b->r;
		cmd_post(a->w, c);
		return;
	}

	if (a && a->r) {
		c = cmd_must(a->w);
		c->type = CMD_UNBRIDGE;
		c->r = a->r;
		cmd_post(a->w, c);
	}
	if (b && b->r) {
		c = cmd_must(b->w);
		c->type = CMD_UNBRIDGE;
		c->r = b->r;
		cmd_post(b->w, c);
	}
}


static uint64_t last_rx(const struct media_ep *ep)
{
	uint64_t t = ATOMIC_GET(ep->r->last_rx);

	return t > ep->armed_at ? t : ep->armed_at;
}


static void timeout_check(void *arg)
{
	struct media_ep *ep = arg;
	uint64_t idle = elapsed(mono_ms(), last_rx(ep));
	media_timeout_h *h;
	void *harg;

	if (idle < ep->timeout_ms) {
		wtmr_start(&ep->tmr, ep->timeout_ms - idle, timeout_check, ep);
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

	if (!ms || !h || !ep->r) {
		wtmr_cancel(&ep->tmr);
		return;
	}

	/* Counts from now, not from the last packet of an earlier life */
	ep->armed_at = mono_ms();
	wtmr_start(&ep->tmr, ms, timeout_check, ep);
}


void media_ep_stats(const struct media_ep *ep, struct media_stats *st)
{
	if (!st)
		return;

	memset(st, 0, sizeof(*st));

	if (!ep || !ep->r)
		return;

	/* acquire: what was counted before it is seen with it */
	st->rx_packets = __atomic_load_n(&ep->r->rx_packets,
					 __ATOMIC_ACQUIRE);
	st->tx_packets = ATOMIC_GET(ep->r->tx_packets);
	st->rx_bytes   = ATOMIC_GET(ep->r->rx_bytes);
	st->lost       = ATOMIC_GET(ep->r->lost);
	st->dropped    = ATOMIC_GET(ep->r->dropped);
	st->latched    = ATOMIC_GET(ep->r->latched);
}


int media_ep_send(struct media_ep *ep, struct mbuf *mb)
{
	size_t n = mb ? mbuf_get_left(mb) : 0;
	struct cmd *c;

	if (!ep || !ep->r || !mb)
		return EINVAL;

	if (n > CMD_PKT_MAX)
		return EMSGSIZE;

	c = cmd_get(ep->w);
	if (!c)
		return ENOMEM;

	c->type = CMD_SEND;
	c->r = ep->r;
	c->len = n;
	memcpy(c->pkt, mbuf_buf(mb), n);
	cmd_post(ep->w, c);

	return 0;
}


/* ---- the engine ---- */

static int worker_start(struct worker *w, unsigned index)
{
	struct epoll_event ev;
	int err;

	w->index = index;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0)
		return errno;

	pthread_mutex_init(&w->lock, NULL);
	w->pending_tail = &w->pending;
	w->park_tail = &w->park_head;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;         /* the command queue */
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev))
		return errno;

	err = pthread_create(&w->tid, NULL, worker_main, w);
	if (err)
		return err;

	w->started = true;
	return 0;
}


int media_start(unsigned workers)
{
	unsigned i;
	int err = 0;

	if (engine.n)
		return EALREADY;

	if (!workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n > 0 ? (unsigned)n : 1;
	}
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;

	engine.workers = calloc(workers, sizeof(*engine.workers));
	if (!engine.workers)
		return ENOMEM;

	for (i = 0; i < workers; i++) {
		engine.workers[i].epfd = engine.workers[i].evfd = -1;
		err = worker_start(&engine.workers[i], i);
		if (err)
			break;
	}

	engine.n = workers;
	if (err)
		media_stop();

	return err;
}


void media_stop(void)
{
	unsigned i;

	for (i = 0; i < engine.n; i++) {
		struct worker *w = &engine.workers[i];
		struct cmd *c;

		if (w->started) {
			/* after the removals already queued */
			c = cmd_must(w);
			c->type = CMD_STOP;
			cmd_post(w, c);
			pthread_join(w->tid, NULL);
		}

		/* the parked relays: the worker is gone, they are ours */
		while (w->park_head) {
			struct parked *pk = w->park_head;

			w->park_head = pk->next;
			relay_free(w, pk->r);
			free(pk);
		}

		/* what came after STOP, and the spares */
		while ((c = w->pending)) {
			w->pending = c->next;
			if (c->type == CMD_REMOVE)
				relay_free(w, c->r);
			free(c);
		}
		while ((c = w->spare)) {
			w->spare = c->next;
			free(c);
		}

		if (w->epfd >= 0)
			(void)close(w->epfd);
		if (w->evfd >= 0)
			(void)close(w->evfd);
		if (w->started)
			pthread_mutex_destroy(&w->lock);
	}

	while (engine.spare) {
		struct parked *pk = engine.spare;

		engine.spare = pk->next;
		free(pk);
	}

	free(engine.workers);
	memset(&engine, 0, sizeof(engine));
}


unsigned media_workers(void)
{
	return engine.n;
}


unsigned media_parked(void)
{
	return engine.parked;
}
