/**
 * @file media.h  RTP anchoring and relay between the legs of a call
 *
 * Each leg of a call gets an endpoint: an RTP/RTCP socket pair bound on
 * the configured media address, in the configured port range (even RTP
 * port, RTCP = RTP + 1). Two endpoints are bridged: a packet that arrives
 * on one goes out of the other to that side's remote address, unchanged
 * (sequence numbers, timestamps, SSRC and RFC 4733 events intact), with
 * no allocation per packet. When the legs speak different codecs
 * (media_ep_set_codec), a-law <-> u-law is rewritten by table with the
 * headers kept, and anything else is transcoded (media_xcode.c).
 *
 * Symmetric RTP (RFC 4961): the remote address starts as the one in the
 * SDP, and latches onto the source of the first packets that arrive, so a
 * phone behind NAT gets its audio.
 *
 * An endpoint that receives nothing for the configured time reports it
 * (the call hangs up: a crashed phone must not hold a call for ever).
 *
 * The relay runs on media worker threads (media_start); this API is for
 * the signalling thread, which owns the endpoints.
 */
#ifndef SWITCH_MEDIA_H
#define SWITCH_MEDIA_H

#include <time.h>

struct media_ep;
struct codec;

/* What a leg speaks, from the SDP offer/answer: the codec, the payload
 * types it uses for it and for RFC 4733 events (at the codec's clock),
 * and the far end's fmtp for the codec (what our encoder honours). */
struct media_codec {
	const struct codec *codec;  /* NULL: unknown, relayed as it comes */
	uint8_t pt;
	int te_pt;                  /* -1: no telephone-event */
	uint32_t te_clock;          /* its clock (the codec's, or 8000 from
	                               phones that offer no other) */
	char fmtp[96];
};

/* How packets go from one leg to the other */
enum media_path {
	MEDIA_RELAY = 0,    /* unchanged (payload types renumbered if need) */
	MEDIA_TABLE,        /* a-law <-> u-law by table, headers kept      */
	MEDIA_TRANSCODE,    /* decoded, resampled, encoded: our own stream */
};

/** The path from a leg speaking from to one speaking to */
enum media_path media_path_of(const struct media_codec *from,
			      const struct media_codec *to);
const char *media_path_name(enum media_path p);

struct media_stats {
	uint64_t rx_packets, tx_packets;
	uint64_t rx_bytes;
	uint64_t lost;          /* gaps in the received sequence numbers */
	uint64_t dropped;       /* from sources other than the latched one */
	bool latched;
};

typedef void (media_timeout_h)(struct media_ep *ep, void *arg);

/**
 * Start the media workers: n threads (0: one per online core), each with
 * its own epoll loop. Once per process, before any endpoint.
 */
int  media_start(unsigned n);

/** Stop the workers (after the endpoints are gone) and free them. */
void media_stop(void);

/** How many workers run (0 before media_start). */
unsigned media_workers(void);

/** Socket pairs of ended calls kept for the next ones (ctl status) */
unsigned media_parked(void);

/**
 * Allocate an endpoint on ip (port 0), with an even port from
 * [port_min, port_max) for RTP and the next one for RTCP. Endpoints to
 * be bridged must be on the same worker: pass the first as near when
 * allocating the second (NULL: the next worker in turn).
 */
int  media_ep_alloc(struct media_ep **epp, const struct media_ep *near,
		    const struct sa *ip, uint16_t port_min, uint16_t port_max);

/** The local RTP address (to put in our SDP). */
const struct sa *media_ep_local(const struct media_ep *ep);

/** Where this leg's peer said to send RTP (its SDP c= and m= port). */
void media_ep_set_remote(struct media_ep *ep, const struct sa *rtp);

/** Relay a <-> b (either may be re-bridged; NULL to stop). a == b
 * sends what arrives back where it came from (echo). */
void media_ep_bridge(struct media_ep *a, struct media_ep *b);

/** The leg's codec (none set: relayed unchanged). The packet path
 *  follows when both bridged legs have one: relay, table or transcode. */
void media_ep_set_codec(struct media_ep *ep, const struct media_codec *mc);

/** Record what the leg's phone sends (recorder.h) into rec, which
 *  must outlive the recording; NULL stops (the worker sets
 *  rec->detached when it has let go, also when the endpoint goes). */
struct recorder;
void media_ep_record(struct media_ep *ep, struct recorder *rec);

/** Report after ms without a received packet (0: off). */
void media_ep_set_timeout(struct media_ep *ep, uint32_t ms,
			  media_timeout_h *h, void *arg);

void media_ep_stats(const struct media_ep *ep, struct media_stats *st);

/** Send one RTP packet of our own (a player) to the leg's remote. */
int  media_ep_send(struct media_ep *ep, struct mbuf *mb);


/* The monotonic ms clock the media workers stamp packets with (the
 * recorder's voice time too). libre 1.1.0's tmr_jiffies() reads
 * gettimeofday(): a wall clock step must not make every call look idle
 * (or a latch look stale). */
static inline uint64_t media_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
