/**
 * @file media.c  RTP anchoring and relay between the legs of a call
 *
 * The signalling thread's side of the media engine (media.h): it creates
 * and binds the sockets of an endpoint, hands them to a worker
 * (media_worker.c) whose loop relays the packets (media_relay.c), and
 * sends it commands: remote address, bridge, a player's packet, park or
 * remove. The two legs of a call live on the same worker, so the packet
 * path touches nothing another thread writes.
 *
 * Ownership: struct media_ep is the signalling thread's handle (libre
 * memory); struct relay is the worker's (plain malloc). The counters the
 * signalling thread reads (ctl calls, the idle timer) are single-writer
 * 64-bit words read with relaxed atomics, rx_packets last (acquire).
 *
 * Idle detection does not touch a timer per packet: the worker stores a
 * time stamp and one wheel timer per endpoint compares it.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "core.h"
#include "codec.h"
#include "media.h"
#include "media_int.h"
#include "wheel.h"


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



static bool park(const struct media_ep *ep)
{
	struct worker *w = ep->w;
	struct parked *pk;

	if (media_eng.parked >= MAX_PARKED)
		return false;

	pk = media_eng.spare;
	if (pk)
		media_eng.spare = pk->next;
	else
		pk = malloc(sizeof(*pk));
	if (!pk)
		return false;

	pk->next = NULL;
	pk->r = ep->r;
	pk->laddr = ep->laddr;
	pk->since = media_mono_ms();
	*w->park_tail = pk;
	w->park_tail = &pk->next;
	++w->parked;
	++media_eng.parked;

	return true;
}


/* The oldest parked relay of w, once it has rested, if nothing has
 * arrived on it for as long and its address is still in the range
 * asked for (a reload may change it); one that fails is let go. */
static struct relay *unpark(struct worker *w, const struct sa *ip,
			    uint16_t port_min, uint16_t port_max,
			    struct sa *laddr)
{
	uint64_t now = media_mono_ms();

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
		--media_eng.parked;
		*laddr = pk->laddr;
		pk->next = media_eng.spare;
		media_eng.spare = pk;

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

	if (!media_eng.n)
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
		&media_eng.workers[media_eng.next++ % media_eng.n];

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


enum media_path media_path_of(const struct media_codec *from,
			      const struct media_codec *to)
{
	const struct codec *a = from ? from->codec : NULL;
	const struct codec *b = to ? to->codec : NULL;

	if (!a || !b || a == b)
		return MEDIA_RELAY;

	if ((a->pt == 0 && b->pt == 8) || (a->pt == 8 && b->pt == 0))
		return MEDIA_TABLE;

	return MEDIA_TRANSCODE;
}


const char *media_path_name(enum media_path p)
{
	switch (p) {
	case MEDIA_TABLE:     return "table";
	case MEDIA_TRANSCODE: return "transcode";
	default:              return "relay";
	}
}


void media_ep_set_codec(struct media_ep *ep, const struct media_codec *mc)
{
	struct cmd *c;

	if (!ep || !ep->r)
		return;

	c = cmd_must(ep->w);
	c->type = CMD_CODEC;
	c->r = ep->r;
	c->has_mc = mc && mc->codec;
	if (c->has_mc)
		c->mc = *mc;
	cmd_post(ep->w, c);
}


void media_ep_record(struct media_ep *ep, struct recorder *rec)
{
	struct cmd *c;

	if (!ep || !ep->r)
		return;

	c = cmd_must(ep->w);
	c->type = CMD_RECORD;
	c->r = ep->r;
	c->rec = rec;
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
	uint64_t idle = media_elapsed(media_mono_ms(), last_rx(ep));
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
	ep->armed_at = media_mono_ms();
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


