/**
 * @file test_media.c  RTP relay between two endpoints, on loopback
 *
 * Two endpoints stand for the legs of a call; plain UDP sockets stand for
 * the phones at the far ends. Every wait runs the libre loop until a
 * condition holds or a deadline passes, never a fixed sleep. The only
 * waits that must last are the ones the feature is about (2 s of silence
 * before a re-latch, the idle timeout).
 *
 * Bridged legs with different codecs: a-law <-> u-law by table, and
 * PCMU to G.722 and to Opus through the transcoder (test_table,
 * test_transcode).
 *
 * Endpoint ports come from a range below the kernel's ephemeral ports
 * (32768 and up), where the phones' sockets are, chosen at random at
 * start-up; the endpoint picks a free pair inside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <math.h>
#include "core.h"
#include "codec.h"
#include "media.h"


enum {
	RANGE_SIZE  = 400,
	DEADLINE_MS = 2000,
	PCMU_FRAME  = 160,
	PKT_SIZE    = RTP_HEADER_SIZE + PCMU_FRAME,
	BULK_COUNT  = 1000,
	BULK_WINDOW = 16,
};

static uint16_t range_lo;
static uint16_t range_hi;
static uint8_t tone[PCMU_FRAME];   /* 1 kHz, 20 ms of PCMU */

struct stream;

/* Every packet a phone gets, for the transcoding tests */
enum { REC_MAX = 128 };
struct rec {
	uint8_t pkt[REC_MAX][1500];
	size_t len[REC_MAX];
	unsigned n;
};

struct phone {
	struct udp_sock *rtp;
	struct udp_sock *rtcp;
	struct sa addr;         /* RTP; RTCP is on port + 1 */
	unsigned rx;
	unsigned rtcp_rx;
	struct sa src;
	uint8_t last[1500];
	size_t len;
	uint64_t last_at;
	struct stream *feed;    /* the stream this phone receives */
	unsigned order_errors;
	struct rec *rec;        /* NULL: only the last packet is kept */
};

/* Packets from one phone to an endpoint, sent as the other phone
 * receives them: a fixed number in flight, so no socket buffer fills. */
struct stream {
	struct phone *from;
	struct sa dst;
	uint32_t ssrc;
	unsigned sent;
	unsigned total;
};


static uint64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/* G.711 mu-law (ITU-T G.711 table 2a), enough for a test tone */
static uint8_t ulaw_encode(int16_t pcm)
{
	int mag = pcm < 0 ? -pcm : pcm;
	int sign = pcm < 0 ? 0x80 : 0x00;
	int exp, mant;

	if (mag > 32635)
		mag = 32635;
	mag += 132;

	for (exp = 7; exp > 0; exp--) {
		if (mag & (0x80 << exp))
			break;
	}

	mant = (mag >> (exp + 3)) & 0x0f;

	return (uint8_t)~(sign | exp << 4 | mant);
}


static void tone_init(void)
{
	/* 8000 * sin(2 pi k / 8): one period of 1 kHz at 8 kHz */
	static const int16_t period[8] = {
		0, 5657, 8000, 5657, 0, -5657, -8000, -5657
	};
	size_t i;

	for (i = 0; i < sizeof(tone); i++)
		tone[i] = ulaw_encode(period[i % 8]);
}


static size_t rtp_build(uint8_t *p, uint16_t seq, uint32_t ts,
			uint32_t ssrc)
{
	p[0]  = 0x80;             /* V=2 */
	p[1]  = 0x00;             /* PT 0, PCMU */
	p[2]  = (uint8_t)(seq >> 8);
	p[3]  = (uint8_t)seq;
	p[4]  = (uint8_t)(ts >> 24);
	p[5]  = (uint8_t)(ts >> 16);
	p[6]  = (uint8_t)(ts >> 8);
	p[7]  = (uint8_t)ts;
	p[8]  = (uint8_t)(ssrc >> 24);
	p[9]  = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	memcpy(p + RTP_HEADER_SIZE, tone, sizeof(tone));

	return PKT_SIZE;
}


static uint16_t pkt_seq(const uint8_t *p)
{
	return (uint16_t)(p[2] << 8 | p[3]);
}


static uint32_t pkt_ssrc(const uint8_t *p)
{
	return (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
		(uint32_t)p[10] << 8 | p[11];
}


static void send_raw(struct udp_sock *us, const struct sa *dst,
		     const uint8_t *p, size_t n)
{
	struct mbuf *mb = mbuf_alloc(n);

	assert_non_null(mb);
	assert_int_equal(mbuf_write_mem(mb, p, n), 0);
	mb->pos = 0;
	assert_int_equal(udp_send(us, dst, mb), 0);
	mem_deref(mb);
}


static void send_rtp(struct phone *ph, const struct sa *dst, uint16_t seq,
		     uint32_t ssrc)
{
	uint8_t p[PKT_SIZE];

	send_raw(ph->rtp, dst, p, rtp_build(p, seq, seq * 160u, ssrc));
}


/* RTCP RR without report blocks (RFC 3550 6.4.2) */
static void send_rtcp(struct phone *ph, const struct sa *dst, uint32_t ssrc)
{
	uint8_t p[8] = {0x80, 201, 0, 1};

	p[4] = (uint8_t)(ssrc >> 24);
	p[5] = (uint8_t)(ssrc >> 16);
	p[6] = (uint8_t)(ssrc >> 8);
	p[7] = (uint8_t)ssrc;

	send_raw(ph->rtcp, dst, p, sizeof(p));
}


static void stream_next(struct stream *s)
{
	if (s->sent >= s->total)
		return;

	send_rtp(s->from, &s->dst, (uint16_t)s->sent, s->ssrc);
	++s->sent;
}


static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct phone *ph = arg;
	size_t n = mbuf_get_left(mb);

	if (n > sizeof(ph->last))
		n = sizeof(ph->last);

	memcpy(ph->last, mbuf_buf(mb), n);
	ph->len = n;
	if (ph->rec && ph->rec->n < REC_MAX) {
		memcpy(ph->rec->pkt[ph->rec->n], ph->last, n);
		ph->rec->len[ph->rec->n++] = n;
	}
	ph->src = *src;
	ph->last_at = now_ms();

	if (ph->feed) {
		uint8_t want[PKT_SIZE];

		rtp_build(want, (uint16_t)ph->rx, ph->rx * 160u,
			  ph->feed->ssrc);
		if (n != PKT_SIZE || memcmp(want, ph->last, n))
			++ph->order_errors;

		stream_next(ph->feed);
	}

	++ph->rx;
}


static void phone_rtcp_recv(const struct sa *src, struct mbuf *mb,
			    void *arg)
{
	struct phone *ph = arg;
	(void)mb;

	ph->src = *src;
	++ph->rtcp_rx;
}


/* A phone with RTCP on RTP + 1, both on ephemeral ports */
static struct phone *phone_new(void)
{
	struct phone *ph = mem_zalloc(sizeof(*ph), NULL);
	int i;

	assert_non_null(ph);

	for (i = 0; i < 100; i++) {
		struct sa a;

		assert_int_equal(sa_set_str(&a, "127.0.0.1", 0), 0);
		assert_int_equal(udp_listen(&ph->rtp, &a, phone_recv, ph), 0);
		assert_int_equal(udp_local_get(ph->rtp, &ph->addr), 0);

		if (sa_port(&ph->addr) < 65535) {
			sa_set_port(&a, sa_port(&ph->addr) + 1);
			if (!udp_listen(&ph->rtcp, &a, phone_rtcp_recv, ph))
				return ph;
		}

		ph->rtp = mem_deref(ph->rtp);
	}

	fail_msg("no free port pair for a phone");
	return NULL;
}


static void phone_free(struct phone *ph)
{
	mem_deref(ph->rtp);
	mem_deref(ph->rtcp);
	mem_deref(ph);
}


static struct sa rtcp_of(const struct sa *rtp)
{
	struct sa a = *rtp;

	sa_set_port(&a, sa_port(rtp) + 1);
	return a;
}


static struct sa loopback(void)
{
	struct sa ip;

	assert_int_equal(sa_set_str(&ip, "127.0.0.1", 0), 0);
	return ip;
}


/* Endpoints to be bridged share a worker: the second is allocated near
 * the first (the call does the same). */
static struct media_ep *ep_near(const struct media_ep *near)
{
	struct sa ip = loopback();
	struct media_ep *ep = NULL;

	assert_int_equal(media_ep_alloc(&ep, near, &ip, range_lo, range_hi),
			 0);
	return ep;
}


static struct media_ep *ep_new(void)
{
	return ep_near(NULL);
}


static struct media_stats stats(const struct media_ep *ep)
{
	struct media_stats st;

	media_ep_stats(ep, &st);
	return st;
}


/* Bounded loop: run until pred(arg) holds or ms pass */

typedef bool (pred_h)(const void *arg);

struct waiter {
	pred_h *pred;
	const void *arg;
	struct tmr poll;
	struct tmr deadline;
	bool ok;
};


static void poll_handler(void *arg)
{
	struct waiter *w = arg;

	if (w->pred && w->pred(w->arg)) {
		w->ok = true;
		re_cancel();
		return;
	}

	tmr_start(&w->poll, 1, poll_handler, w);
}


static void deadline_handler(void *arg)
{
	(void)arg;
	re_cancel();
}


static bool run_until(pred_h *pred, const void *arg, uint32_t ms)
{
	struct waiter w;

	if (pred && pred(arg))
		return true;

	memset(&w, 0, sizeof(w));
	w.pred = pred;
	w.arg  = arg;
	tmr_init(&w.poll);
	tmr_init(&w.deadline);
	tmr_start(&w.poll, 1, poll_handler, &w);
	tmr_start(&w.deadline, ms, deadline_handler, &w);

	(void)re_main(NULL);

	tmr_cancel(&w.poll);
	tmr_cancel(&w.deadline);

	return w.ok;
}


struct count_cond {
	const unsigned *v;
	unsigned n;
};

static bool count_reached(const void *arg)
{
	const struct count_cond *c = arg;

	return *c->v >= c->n;
}

static void wait_count_ms(const unsigned *v, unsigned n, uint32_t ms)
{
	struct count_cond c = {v, n};

	assert_true(run_until(count_reached, &c, ms));
	assert_int_equal(*v, n);
}

static void wait_count(const unsigned *v, unsigned n)
{
	wait_count_ms(v, n, DEADLINE_MS);
}


struct rx_cond {
	const struct media_ep *ep;
	uint64_t n;
};

static bool rx_reached(const void *arg)
{
	const struct rx_cond *c = arg;

	return stats(c->ep).rx_packets >= c->n;
}

static void wait_ep_rx(const struct media_ep *ep, uint64_t n)
{
	struct rx_cond c = {ep, n};

	assert_true(run_until(rx_reached, &c, DEADLINE_MS));
}


static bool tx_reached(const void *arg)
{
	const struct rx_cond *c = arg;

	return stats(c->ep).tx_packets >= c->n;
}

/* The worker counts a packet after sending it on: a phone can have it
 * before the counters say so. Wait for them, then check exact values. */
static void wait_ep_tx(const struct media_ep *ep, uint64_t n)
{
	struct rx_cond c = {ep, n};

	assert_true(run_until(tx_reached, &c, DEADLINE_MS));
}


/* Two phones, two bridged endpoints whose SDP says where the phones are */
struct call {
	struct phone *pa, *pb;
	struct media_ep *ea, *eb;
};

static void call_setup(struct call *c)
{
	c->pa = phone_new();
	c->pb = phone_new();
	c->ea = ep_new();
	c->eb = ep_near(c->ea);
	media_ep_set_remote(c->ea, &c->pa->addr);
	media_ep_set_remote(c->eb, &c->pb->addr);
	media_ep_bridge(c->ea, c->eb);
}

static void call_teardown(struct call *c)
{
	mem_deref(c->ea);
	mem_deref(c->eb);
	phone_free(c->pa);
	phone_free(c->pb);
}


static void test_ports(void **state)
{
	struct sa ip = loopback();
	struct media_ep *ep[4] = {NULL};
	struct media_ep *bad = NULL;
	size_t i, j;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(ep); i++) {
		const struct sa *l;
		struct udp_sock *us = NULL;
		struct sa rtcp;

		ep[i] = ep_new();
		l = media_ep_local(ep[i]);
		assert_non_null(l);
		assert_true(sa_cmp(l, &ip, SA_ADDR));
		assert_int_equal(sa_port(l) % 2, 0);
		assert_true(sa_port(l) >= range_lo);
		assert_true(sa_port(l) + 1 < range_hi);

		/* RTCP holds RTP + 1 */
		rtcp = rtcp_of(l);
		assert_int_equal(udp_listen(&us, &rtcp, NULL, NULL),
				 EADDRINUSE);

		for (j = 0; j < i; j++)
			assert_int_not_equal(sa_port(l),
					     sa_port(media_ep_local(ep[j])));
	}

	/* No even/odd pair inside the range */
	assert_int_equal(media_ep_alloc(&bad, NULL, &ip, range_lo,
					range_lo + 1), EINVAL);
	assert_int_equal(media_ep_alloc(&bad, NULL, &ip, range_lo + 1,
					range_lo + 3), EINVAL);
	assert_null(bad);

	for (i = 0; i < ARRAY_SIZE(ep); i++)
		mem_deref(ep[i]);
}


static void test_relay_both_ways(void **state)
{
	struct call c;
	uint8_t p[PKT_SIZE];
	struct media_stats sa_, sb;
	struct sa dst;
	(void)state;

	call_setup(&c);

	/* A -> B: byte-identical, from B's endpoint */
	rtp_build(p, 4711, 160 * 4711, 0x11223344);
	send_raw(c.pa->rtp, media_ep_local(c.ea), p, sizeof(p));
	wait_count(&c.pb->rx, 1);
	assert_int_equal(c.pb->len, sizeof(p));
	assert_memory_equal(c.pb->last, p, sizeof(p));
	assert_true(sa_cmp(&c.pb->src, media_ep_local(c.eb), SA_ALL));

	/* B -> A */
	rtp_build(p, 65535, 0xfffffff0, 0xcafebabe);
	send_raw(c.pb->rtp, media_ep_local(c.eb), p, sizeof(p));
	wait_count(&c.pa->rx, 1);
	assert_int_equal(c.pa->len, sizeof(p));
	assert_memory_equal(c.pa->last, p, sizeof(p));
	assert_true(sa_cmp(&c.pa->src, media_ep_local(c.ea), SA_ALL));

	/* RTCP between the odd ports, to the SDP port + 1 */
	dst = rtcp_of(media_ep_local(c.ea));
	send_rtcp(c.pa, &dst, 0x11223344);
	wait_count(&c.pb->rtcp_rx, 1);
	dst = rtcp_of(media_ep_local(c.eb));
	assert_true(sa_cmp(&c.pb->src, &dst, SA_ALL));

	send_rtcp(c.pb, &dst, 0xcafebabe);
	wait_count(&c.pa->rtcp_rx, 1);
	dst = rtcp_of(media_ep_local(c.ea));
	assert_true(sa_cmp(&c.pa->src, &dst, SA_ALL));

	wait_ep_rx(c.ea, 1);
	wait_ep_rx(c.eb, 1);
	wait_ep_tx(c.ea, 1);
	wait_ep_tx(c.eb, 1);
	sa_ = stats(c.ea);
	sb = stats(c.eb);
	assert_int_equal(sa_.rx_packets, 1);
	assert_int_equal(sa_.tx_packets, 1);
	assert_int_equal(sa_.rx_bytes, PKT_SIZE);
	assert_int_equal(sa_.lost, 0);
	assert_true(sa_.latched);
	assert_int_equal(sb.rx_packets, 1);
	assert_int_equal(sb.tx_packets, 1);
	assert_int_equal(sb.rx_bytes, PKT_SIZE);
	assert_true(sb.latched);

	call_teardown(&c);
}


static void test_latch(void **state)
{
	struct call c;
	struct phone *nat, *rogue;
	struct sa dst;
	(void)state;

	call_setup(&c);          /* pa is what A's SDP says (X)  */
	nat   = phone_new();     /* where A really sends from (Y) */
	rogue = phone_new();

	/* Before A sends, B's audio goes to the SDP address */
	send_rtp(c.pb, media_ep_local(c.eb), 1, 0xb);
	wait_count(&c.pa->rx, 1);
	assert_false(stats(c.ea).latched);

	/* A's packets come from Y: latch onto Y */
	send_rtp(nat, media_ep_local(c.ea), 1, 0xa);
	wait_count(&c.pb->rx, 1);
	assert_true(stats(c.ea).latched);

	send_rtp(c.pb, media_ep_local(c.eb), 2, 0xb);
	wait_count(&nat->rx, 1);
	assert_int_equal(pkt_seq(nat->last), 2);
	wait_ep_tx(c.ea, 2);
	assert_int_equal(stats(c.ea).tx_packets, 2);
	assert_int_equal(c.pa->rx, 1);

	/* Latched: another source is dropped. It is queued before Y's
	 * next packet, so it has been handled when that one arrives. */
	send_rtp(rogue, media_ep_local(c.ea), 900, 0xbad);
	send_rtp(nat, media_ep_local(c.ea), 2, 0xa);
	wait_count(&c.pb->rx, 2);
	assert_int_equal(pkt_ssrc(c.pb->last), 0xa);
	assert_int_equal(pkt_seq(c.pb->last), 2);
	wait_ep_rx(c.ea, 2);
	wait_ep_tx(c.eb, 2);
	assert_int_equal(stats(c.ea).rx_packets, 2);
	assert_int_equal(stats(c.eb).tx_packets, 2);

	/* RTCP latches on its own: still to the SDP port + 1 ... */
	dst = rtcp_of(media_ep_local(c.eb));
	send_rtcp(c.pb, &dst, 0xb);
	wait_count(&c.pa->rtcp_rx, 1);

	/* ... until A's RTCP arrives from Y + 1 */
	dst = rtcp_of(media_ep_local(c.ea));
	send_rtcp(nat, &dst, 0xa);
	wait_count(&c.pb->rtcp_rx, 1);

	dst = rtcp_of(media_ep_local(c.eb));
	send_rtcp(c.pb, &dst, 0xb);
	wait_count(&nat->rtcp_rx, 1);
	assert_int_equal(c.pa->rtcp_rx, 1);

	/* The same SDP again (a re-INVITE) keeps the latch */
	media_ep_set_remote(c.ea, &c.pa->addr);
	assert_true(stats(c.ea).latched);
	send_rtp(c.pb, media_ep_local(c.eb), 3, 0xb);
	wait_count(&nat->rx, 2);

	phone_free(nat);
	phone_free(rogue);
	call_teardown(&c);
}


/* The latched source goes quiet; another one keeps sending */
struct relatch {
	struct phone *rogue;
	struct sa dst;
	struct tmr tmr;
	uint16_t seq;
};

static void relatch_send(void *arg)
{
	struct relatch *r = arg;

	send_rtp(r->rogue, &r->dst, r->seq++, 0x2);
	tmr_start(&r->tmr, 50, relatch_send, r);
}

static void test_relatch_after_silence(void **state)
{
	struct call c;
	struct relatch r;
	struct phone *moved;
	uint64_t t0;
	(void)state;

	call_setup(&c);
	moved = phone_new();

	send_rtp(c.pa, media_ep_local(c.ea), 1, 0x1);
	t0 = now_ms();
	wait_count(&c.pb->rx, 1);

	memset(&r, 0, sizeof(r));
	r.rogue = moved;
	r.dst   = *media_ep_local(c.ea);
	tmr_init(&r.tmr);
	relatch_send(&r);

	/* Dropped for 2 s, then taken over: exactly one more packet */
	wait_count_ms(&c.pb->rx, 2, 2000 + DEADLINE_MS);
	tmr_cancel(&r.tmr);
	assert_int_equal(pkt_ssrc(c.pb->last), 0x2);
	assert_true(c.pb->last_at - t0 >= 2000);
	assert_true(c.pb->last_at - t0 < 2000 + 1000);

	send_rtp(c.pb, media_ep_local(c.eb), 1, 0xb);
	wait_count(&moved->rx, 1);
	assert_int_equal(c.pa->rx, 0);

	phone_free(moved);
	call_teardown(&c);
}


static void test_no_relay_without_remote(void **state)
{
	struct phone *pa = phone_new(), *pb = phone_new();
	struct media_ep *ea = ep_new(), *eb = ep_near(ea);
	(void)state;

	media_ep_set_remote(ea, &pa->addr);
	media_ep_bridge(ea, eb);

	send_rtp(pa, media_ep_local(ea), 1, 0xa);
	wait_ep_rx(ea, 1);
	assert_int_equal(stats(eb).tx_packets, 0);

	media_ep_set_remote(eb, &pb->addr);
	send_rtp(pa, media_ep_local(ea), 2, 0xa);
	wait_count(&pb->rx, 1);
	assert_int_equal(pkt_seq(pb->last), 2);
	wait_ep_tx(eb, 1);
	assert_int_equal(stats(eb).tx_packets, 1);

	/* Unbridged: received, counted, not relayed */
	media_ep_bridge(ea, NULL);
	send_rtp(pa, media_ep_local(ea), 3, 0xa);
	wait_ep_rx(ea, 3);
	assert_int_equal(stats(eb).tx_packets, 1);

	mem_deref(ea);
	mem_deref(eb);
	phone_free(pa);
	phone_free(pb);
}


static void test_lost(void **state)
{
	static const uint16_t seqv[] = {
		100, 101, 103, 104,       /* 102 missing              */
	};
	static const uint16_t wrapv[] = {
		65533, 65534, 0, 1, 3, 2, /* 65535 missing; 2 late    */
	};
	static const uint8_t zrtp[16] = {0x10, 0x00, 0x00, 0x01};
	struct call c;
	size_t i;
	(void)state;

	call_setup(&c);

	for (i = 0; i < ARRAY_SIZE(seqv); i++)
		send_rtp(c.pa, media_ep_local(c.ea), seqv[i], 0x1);
	wait_count(&c.pb->rx, ARRAY_SIZE(seqv));
	wait_ep_rx(c.ea, ARRAY_SIZE(seqv));
	assert_int_equal(stats(c.ea).lost, 1);

	/* Not RTP (version 0): relayed, not counted as a sequence */
	send_raw(c.pa->rtp, media_ep_local(c.ea), zrtp, sizeof(zrtp));

	/* A new SSRC starts a new sequence, across the wrap */
	for (i = 0; i < ARRAY_SIZE(wrapv); i++)
		send_rtp(c.pa, media_ep_local(c.ea), wrapv[i], 0x2);
	wait_count(&c.pb->rx, ARRAY_SIZE(seqv) + 1 + ARRAY_SIZE(wrapv));
	wait_ep_rx(c.ea, ARRAY_SIZE(seqv) + 1 + ARRAY_SIZE(wrapv));
	assert_int_equal(stats(c.ea).lost, 2);
	assert_int_equal(stats(c.ea).rx_packets,
			 ARRAY_SIZE(seqv) + 1 + ARRAY_SIZE(wrapv));
	assert_int_equal(stats(c.eb).lost, 0);

	call_teardown(&c);
}


struct idle {
	struct media_ep *ep;
	struct phone *ph;
	struct tmr tmr;
	unsigned to_send;
	unsigned fired;
	unsigned fired_while_sending;
	uint64_t last_tx;
	uint64_t fired_at;
	bool free_ep;
};

static void idle_timeout(struct media_ep *ep, void *arg)
{
	struct idle *d = arg;

	assert_ptr_equal(ep, d->ep);
	++d->fired;
	d->fired_at = now_ms();

	if (d->free_ep)
		d->ep = mem_deref(ep);
}

static void idle_send(void *arg)
{
	struct idle *d = arg;

	if (!d->to_send)
		return;

	if (d->fired)
		++d->fired_while_sending;

	send_rtp(d->ph, media_ep_local(d->ep), (uint16_t)d->to_send, 0x1);
	d->last_tx = now_ms();
	--d->to_send;
	tmr_start(&d->tmr, 50, idle_send, d);
}

static void test_timeout_once(void **state)
{
	struct idle d;
	uint64_t t0;
	(void)state;

	memset(&d, 0, sizeof(d));
	tmr_init(&d.tmr);
	d.ph = phone_new();
	d.ep = ep_new();
	d.to_send = 8;  /* 400 ms of packets, twice the timeout */

	t0 = now_ms();
	media_ep_set_timeout(d.ep, 200, idle_timeout, &d);
	idle_send(&d);

	wait_count(&d.fired, 1);
	assert_int_equal(d.fired_while_sending, 0);
	assert_int_equal(d.to_send, 0);
	assert_true(d.fired_at - d.last_tx >= 200 - 1);
	assert_true(d.fired_at - t0 >= 400);

	/* Once: three more timeouts' worth of silence */
	(void)run_until(NULL, NULL, 600);
	assert_int_equal(d.fired, 1);

	/* Off */
	media_ep_set_timeout(d.ep, 0, NULL, NULL);

	tmr_cancel(&d.tmr);
	mem_deref(d.ep);
	phone_free(d.ph);
}


static void test_timeout_handler_frees(void **state)
{
	struct idle d;
	struct phone *peer = phone_new();
	struct media_ep *other = ep_new();
	(void)state;

	memset(&d, 0, sizeof(d));
	tmr_init(&d.tmr);
	d.ph = phone_new();
	d.ep = ep_near(other);
	d.free_ep = true;

	media_ep_set_remote(other, &peer->addr);
	media_ep_bridge(d.ep, other);
	media_ep_set_timeout(d.ep, 20, idle_timeout, &d);
	wait_count(&d.fired, 1);
	assert_null(d.ep);

	/* The survivor was unbridged: no relay, no use after free */
	send_rtp(d.ph, media_ep_local(other), 1, 0x1);
	wait_ep_rx(other, 1);
	assert_int_equal(stats(other).tx_packets, 0);

	/* Freed with its timer running: the timer goes with it */
	media_ep_set_timeout(other, 20, idle_timeout, &d);
	mem_deref(other);
	(void)run_until(NULL, NULL, 100);
	assert_int_equal(d.fired, 1);
	phone_free(peer);
	phone_free(d.ph);
}


static void test_rebridge_and_free(void **state)
{
	struct call c;
	struct phone *pc = phone_new();
	struct media_ep *ec;
	(void)state;

	call_setup(&c);
	ec = ep_near(c.ea);
	media_ep_set_remote(ec, &pc->addr);

	/* A is moved to C (a transfer): B is left alone */
	media_ep_bridge(c.ea, ec);
	send_rtp(c.pa, media_ep_local(c.ea), 1, 0xa);
	wait_count(&pc->rx, 1);
	assert_int_equal(stats(c.eb).tx_packets, 0);

	send_rtp(c.pb, media_ep_local(c.eb), 1, 0xb);
	wait_ep_rx(c.eb, 1);
	assert_int_equal(stats(c.ea).tx_packets, 0);

	/* C goes away: A keeps receiving, relays nothing */
	mem_deref(ec);
	send_rtp(c.pa, media_ep_local(c.ea), 2, 0xa);
	wait_ep_rx(c.ea, 2);

	/* A's remote points at B's own socket: B's packet goes out of A
	 * back into B. B's fresh latch on phone B drops it, and so would
	 * the loop guard once a re-INVITE has cleared that latch (which
	 * of the two acts depends on when the loop reads the packet):
	 * either way it must not come round again. */
	media_ep_bridge(c.ea, c.eb);
	media_ep_set_remote(c.ea, media_ep_local(c.eb));
	send_rtp(c.pb, media_ep_local(c.eb), 2, 0xb);
	wait_ep_rx(c.eb, 2);
	assert_int_equal(stats(c.ea).tx_packets, 1);
	media_ep_set_remote(c.eb, &pc->addr);
	media_ep_set_remote(c.ea, &c.pa->addr);

	/* Phone A's first packet is B's next one, not the looped one */
	send_rtp(c.pb, media_ep_local(c.eb), 3, 0xb);
	wait_count(&c.pa->rx, 1);
	assert_int_equal(pkt_seq(c.pa->last), 3);
	wait_ep_rx(c.eb, 3);
	wait_ep_tx(c.ea, 2);
	assert_int_equal(stats(c.eb).rx_packets, 3);
	assert_int_equal(stats(c.ea).tx_packets, 2);

	phone_free(pc);
	call_teardown(&c);
}


struct bulk_cond {
	const struct phone *a, *b;
};

static bool bulk_done(const void *arg)
{
	const struct bulk_cond *c = arg;

	return c->a->rx >= BULK_COUNT && c->b->rx >= BULK_COUNT;
}

static void test_bulk(void **state)
{
	struct call c;
	struct stream ab, ba;
	struct bulk_cond cond;
	struct media_stats st;
	int i;
	(void)state;

	call_setup(&c);

	memset(&ab, 0, sizeof(ab));
	ab.from  = c.pa;
	ab.dst   = *media_ep_local(c.ea);
	ab.ssrc  = 0xaaaa;
	ab.total = BULK_COUNT;
	ba = ab;
	ba.from = c.pb;
	ba.dst  = *media_ep_local(c.eb);
	ba.ssrc = 0xbbbb;

	c.pb->feed = &ab;
	c.pa->feed = &ba;

	for (i = 0; i < BULK_WINDOW; i++) {
		stream_next(&ab);
		stream_next(&ba);
	}

	cond.a = c.pa;
	cond.b = c.pb;
	assert_true(run_until(bulk_done, &cond, 5000));
	assert_int_equal(c.pa->rx, BULK_COUNT);
	assert_int_equal(c.pb->rx, BULK_COUNT);
	assert_int_equal(c.pa->order_errors, 0);
	assert_int_equal(c.pb->order_errors, 0);

	wait_ep_rx(c.ea, BULK_COUNT);
	wait_ep_rx(c.eb, BULK_COUNT);
	wait_ep_tx(c.ea, BULK_COUNT);
	wait_ep_tx(c.eb, BULK_COUNT);
	st = stats(c.ea);
	assert_int_equal(st.rx_packets, BULK_COUNT);
	assert_int_equal(st.tx_packets, BULK_COUNT);
	assert_int_equal(st.rx_bytes, (uint64_t)BULK_COUNT * PKT_SIZE);
	assert_int_equal(st.lost, 0);
	st = stats(c.eb);
	assert_int_equal(st.rx_packets, BULK_COUNT);
	assert_int_equal(st.tx_packets, BULK_COUNT);
	assert_int_equal(st.lost, 0);

	call_teardown(&c);
}


static void test_exhaustion(void **state)
{
	struct sa ip = loopback();
	struct media_ep *ep[3] = {NULL};
	struct media_ep *extra = NULL;
	uint16_t lo = 0, port1;
	int tries;
	size_t i;
	(void)state;

	/* A range of three pairs nobody else holds */
	for (tries = 0; tries < 50; tries++) {
		int err = 0;

		lo = (uint16_t)(range_lo + 2 * (rand_u16() % 190));

		for (i = 0; i < ARRAY_SIZE(ep) && !err; i++)
			err = media_ep_alloc(&ep[i], NULL, &ip, lo, lo + 6);
		if (!err)
			break;

		for (i = 0; i < ARRAY_SIZE(ep); i++)
			ep[i] = mem_deref(ep[i]);
	}
	assert_true(tries < 50);

	for (i = 0; i < ARRAY_SIZE(ep); i++) {
		uint16_t port = sa_port(media_ep_local(ep[i]));

		assert_true(port >= lo && port + 1 < lo + 6);
		assert_int_equal(port % 2, 0);
	}

	assert_int_equal(media_ep_alloc(&extra, NULL, &ip, lo, lo + 6),
			 EADDRINUSE);
	assert_null(extra);

	/* A freed pair is parked, bound, for the next call: not handed
	 * out again while its stragglers may still arrive (2 s), then it
	 * is, on the same port, with nothing of its last call left */
	port1 = sa_port(media_ep_local(ep[1]));
	ep[1] = mem_deref(ep[1]);
	assert_int_equal(media_ep_alloc(&ep[1], NULL, &ip, lo, lo + 6),
			 EADDRINUSE);
	for (tries = 0; tries < 60; tries++) {
		(void)run_until(NULL, NULL, 100);
		if (!media_ep_alloc(&ep[1], NULL, &ip, lo, lo + 6))
			break;
	}
	assert_non_null(ep[1]);
	assert_true(tries >= 15);        /* rested about 2 s */
	assert_int_equal(sa_port(media_ep_local(ep[1])), port1);
	assert_int_equal(stats(ep[1]).rx_packets, 0);

	for (i = 0; i < ARRAY_SIZE(ep); i++)
		mem_deref(ep[i]);
}


static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


/* share of x's power at hz (single-bin DFT) */
static double tone_share(const int16_t *x, size_t n, unsigned rate,
			 double hz)
{
	double re = 0.0, im = 0.0, total = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		double ph = 2.0 * M_PI * hz * (double)i / rate;

		re += x[i] * cos(ph);
		im += x[i] * sin(ph);
		total += (double)x[i] * x[i];
	}

	return (re * re + im * im) * 2.0 / (double)n /
		(total > 0 ? total : 1.0);
}


enum { XC_PACKETS = 60, XC_GAP = 30 };

/*
 * A PCMU leg bridged to a leg of another codec: 60 packets of a 1 kHz
 * tone, one of them (the 30th) never sent. The other phone gets its own
 * stream: one SSRC, consecutive sequence numbers, time stamps one 20 ms
 * step apart at its clock, the lost packet made up by concealment (60
 * packets out), payload type its own; decoded, the audio is the tone.
 * Then a DTMF event (PT 101 at 8 kHz) arrives as the other leg's
 * telephone-event with the duration scaled to its clock.
 */
static void transcode_to(const char *name, uint8_t pt, int te_pt,
			 uint32_t te_clock)
{
	const struct codec *c = codec_find(name);
	struct media_codec ma, mb;
	static struct rec rec;
	static int16_t pcm[XC_PACKETS * 960];
	struct codec_dec *dec = NULL;
	struct call cl;
	size_t n = 0, frame;
	uint8_t p[PKT_SIZE];
	unsigned i, sent = 0;
	double share;

	assert_non_null(c);
	memset(&rec, 0, sizeof(rec));
	memset(&ma, 0, sizeof(ma));
	memset(&mb, 0, sizeof(mb));
	ma.codec = codec_find("PCMU");
	ma.pt = 0;
	ma.te_pt = 101;
	ma.te_clock = 8000;
	mb.codec = c;
	mb.pt = pt;
	mb.te_pt = te_pt;
	mb.te_clock = te_clock;
	assert_int_equal(media_path_of(&ma, &mb), MEDIA_TRANSCODE);

	call_setup(&cl);
	cl.pb->rec = &rec;
	media_ep_set_codec(cl.ea, &ma);
	media_ep_set_codec(cl.eb, &mb);

	for (i = 0; i < XC_PACKETS; i++) {
		if (i == XC_GAP)
			continue;
		rtp_build(p, (uint16_t)(500 + i), 8000u + 160u * i, 0x5a5a);
		send_raw(cl.pa->rtp, media_ep_local(cl.ea), p, sizeof(p));
		++sent;
	}
	wait_count(&cl.pb->rx, XC_PACKETS);
	assert_int_equal(rec.n, XC_PACKETS);

	/* Opus decoded at 8 kHz, as the transcoder encodes it */
	assert_int_equal(c->dec_alloc(&dec, NULL, c->any_rate ? 8000 : 0), 0);
	frame = codec_frame(c);
	for (i = 0; i < rec.n; i++) {
		const uint8_t *q = rec.pkt[i];
		size_t got = sizeof(pcm) / sizeof(pcm[0]) - n;

		assert_int_equal(q[1] & 0x7f, pt);
		assert_int_equal(rd32(q + 8), rd32(rec.pkt[0] + 8));
		assert_int_equal(pkt_seq(q), (uint16_t)(pkt_seq(rec.pkt[0]) +
							  i));
		assert_int_equal(rd32(q + 4) - rd32(rec.pkt[0] + 4),
				 i * codec_ts_step(c));
		assert_int_equal((q[1] & 0x80) != 0, i == 0);
		assert_int_equal(c->decode(dec, pcm + n, &got, q + 12,
					   rec.len[i] - 12), 0);
		n += got;
	}
	c->dec_free(dec);
	(void)frame;

	/* the second half: the codec has settled */
	share = tone_share(pcm + n / 2, n / 2, c->any_rate ? 8000 : c->srate,
			   1000.0);
	print_message("# PCMU -> %s: %u sent, %u out, %.1f %% of the power "
		      "at 1 kHz\n", name, sent, rec.n, 100.0 * share);
	assert_true(share >= 0.9);

	/* DTMF 5, 50 ms so far (400 at 8 kHz) */
	{
		static const uint8_t ev[4] = {5, 10, 0x01, 0x90};
		uint8_t e[PKT_SIZE];

		rtp_build(e, 500 + XC_PACKETS, 8000u + 160u * XC_PACKETS,
			  0x5a5a);
		e[1] = 101;
		memcpy(e + 12, ev, sizeof(ev));
		send_raw(cl.pa->rtp, media_ep_local(cl.ea), e, 16);
		wait_count(&cl.pb->rx, XC_PACKETS + 1);
		assert_int_equal(rec.len[XC_PACKETS], 16);
		assert_int_equal(rec.pkt[XC_PACKETS][1] & 0x7f, te_pt);
		assert_int_equal(rec.pkt[XC_PACKETS][12], 5);
		assert_int_equal(rec.pkt[XC_PACKETS][14] << 8 |
				 rec.pkt[XC_PACKETS][15],
				 400 * te_clock / 8000);
		assert_int_equal(pkt_seq(rec.pkt[XC_PACKETS]),
				 (uint16_t)(pkt_seq(rec.pkt[0]) + XC_PACKETS));
		/* it starts where the next audio frame would */
		assert_int_equal(rd32(rec.pkt[XC_PACKETS] + 4) -
				 rd32(rec.pkt[0] + 4),
				 XC_PACKETS * codec_ts_step(c));
	}

	wait_ep_rx(cl.ea, sent + 1);
	assert_int_equal(stats(cl.ea).lost, 1);
	assert_int_equal(stats(cl.eb).tx_packets, XC_PACKETS + 1);

	cl.pb->rec = NULL;
	call_teardown(&cl);
}


static void test_transcode(void **state)
{
	(void)state;

	transcode_to("G722", 9, 101, 8000);
	transcode_to("opus", 111, 110, 48000);
}


/* PCMU <-> PCMA by table: the headers stay, the payload type and the
 * bytes change; telephone-event renumbered */
static void test_table(void **state)
{
	struct media_codec ma, mb;
	struct call cl;
	uint8_t p[PKT_SIZE];
	const struct codec *pcma = codec_find("PCMA");
	struct codec_dec *dec = NULL;
	int16_t pcm[PCMU_FRAME];
	size_t got = PCMU_FRAME;
	(void)state;

	memset(&ma, 0, sizeof(ma));
	memset(&mb, 0, sizeof(mb));
	ma.codec = codec_find("PCMU");
	ma.pt = 0;
	ma.te_pt = 101;
	mb.codec = pcma;
	mb.pt = 8;
	mb.te_pt = 96;
	assert_int_equal(media_path_of(&ma, &mb), MEDIA_TABLE);
	assert_int_equal(media_path_of(&ma, &ma), MEDIA_RELAY);

	call_setup(&cl);
	media_ep_set_codec(cl.ea, &ma);
	media_ep_set_codec(cl.eb, &mb);

	rtp_build(p, 77, 7700, 0x77);
	send_raw(cl.pa->rtp, media_ep_local(cl.ea), p, sizeof(p));
	wait_count(&cl.pb->rx, 1);
	assert_int_equal(cl.pb->len, sizeof(p));
	assert_int_equal(cl.pb->last[1], 8);
	assert_memory_equal(cl.pb->last + 2, p + 2, 10);
	assert_int_equal(pcma->dec_alloc(&dec, NULL, 0), 0);
	assert_int_equal(pcma->decode(dec, pcm, &got, cl.pb->last + 12,
				      PCMU_FRAME), 0);
	pcma->dec_free(dec);
	assert_true(tone_share(pcm, got, 8000, 1000.0) > 0.99);

	p[1] = 101;
	send_raw(cl.pa->rtp, media_ep_local(cl.ea), p, 16);
	wait_count(&cl.pb->rx, 2);
	assert_int_equal(cl.pb->len, 16);
	assert_int_equal(cl.pb->last[1], 96);
	assert_memory_equal(cl.pb->last + 2, p + 2, 14);

	call_teardown(&cl);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_relay_both_ways),
		cmocka_unit_test(test_latch),
		cmocka_unit_test(test_relatch_after_silence),
		cmocka_unit_test(test_no_relay_without_remote),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_timeout_once),
		cmocka_unit_test(test_timeout_handler_frees),
		cmocka_unit_test(test_rebridge_and_free),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_transcode),
	};
	int r;

	libre_init();
	tone_init();

	/* Even, inside 20000..29999: below the ephemeral ports */
	range_lo = (uint16_t)(20000 + 2 * (rand_u16() % 4800));
	range_hi = (uint16_t)(range_lo + RANGE_SIZE);

	/* two workers: consecutive calls land on different threads */
	assert_int_equal(media_start(2), 0);
	assert_int_equal(media_workers(), 2);

	r = cmocka_run_group_tests(tests, NULL, NULL);
	media_stop();
	libre_close();
	return r;
}
