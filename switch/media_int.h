/**
 * @file media_int.h  The media engine's inside, shared by its files
 *
 * media.c         the signalling thread's side: endpoints, parking,
 *                 idle timers, counters (media.h is its interface)
 * media_worker.c  the worker threads: their loop, the command queue,
 *                 start and stop
 * media_relay.c   the packet path and the relay state the commands set
 * media_xcode.c   the transcoding path: decode, resample, encode
 *
 * struct relay and everything in it belong to one worker; the
 * signalling thread only posts commands about it and reads the counters
 * marked so, with the ATOMIC_ macros.
 */
#ifndef SWITCH_MEDIA_INT_H
#define SWITCH_MEDIA_INT_H

#include <pthread.h>
#include <time.h>
#include <sys/socket.h>
#include "recorder.h"

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

struct xcode;

/* The worker's side of an endpoint */
struct relay {
	struct flow rtp;
	struct flow rtcp;
	struct sa sdp;              /* remote RTP address from the SDP */
	bool has_sdp;
	struct relay *peer;         /* same worker; cleared on removal */
	struct seqstate seq;
	/* the leg's codec, and the path of its packets to the peer */
	struct media_codec mc;
	bool has_mc;
	enum media_path path;
	bool renumber;              /* RELAY/TABLE: ptmap applies */
	uint8_t ptmap[128];         /* payload type in -> out; 0xff: drop */
	void (*table)(uint8_t *dst, const uint8_t *src, size_t n);
	struct xcode *x;            /* TRANSCODE: this leg -> the peer */
	struct xcode *px;           /* our prompts (PCMU) -> this leg's
	                               codec, when it is not G.711 */
	struct recorder *rec;       /* what the leg sends is recorded */
	struct recorder_keys keys;  /* the last key seen, from one recorder
	                               to the next (relay_record) */
	/* read by the signalling thread (ATOMIC_GET) */
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t rx_bytes;
	uint64_t lost;
	uint64_t dropped;           /* from a source other than the latch */
	uint64_t last_rx;           /* monotonic ms, RTP or RTCP */
	bool latched;
};

struct recorder;

enum cmd_type {
	CMD_REMOTE,
	CMD_CODEC,
	CMD_RECORD,
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
	struct media_codec mc;
	bool has_mc;
	struct recorder *rec;
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
	uint8_t xbuf[BATCH][PKT_MAX];   /* transcoded packets to send */
};

/* The packets a batch sends out of one socket (media_relay.c) */
struct outq {
	struct worker *w;
	struct flow *pf;            /* out of this socket, to its remote */
	struct relay *peer;         /* counts them */
	unsigned n;                 /* in w->out */
	unsigned nx;                /* of w->xbuf in use */
};

struct media_engine {
	struct worker *workers;
	unsigned n;
	unsigned next;              /* round robin for new calls */
	unsigned parked;            /* all workers */
	struct parked *spare;       /* park records for reuse */
};

extern struct media_engine media_eng;




static inline uint64_t media_elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}


/* media_relay.c: the worker's own */
void relay_batch_init(struct worker *w);
void relay_read(struct worker *w, struct flow *f);
void relay_set_remote(struct relay *r, const struct sa *rtp, bool has);
void relay_bridge(struct relay *a, struct relay *b);
void relay_unbridge(struct relay *r);
void relay_reset(struct relay *r);
void relay_free(struct worker *w, struct relay *r);
bool relay_send(struct worker *w, struct relay *r, const uint8_t *pkt,
		size_t len);

void relay_set_codec(struct relay *r, const struct media_codec *mc,
		     bool has);
void relay_plan(struct relay *r);
void relay_record(struct relay *r, struct recorder *rec);
uint8_t *outq_slot(struct outq *q);
void outq_commit(struct outq *q, size_t len);

/* media_xcode.c: one direction of a transcoded call, the worker's */
int  xcode_alloc(struct xcode **xp, const struct media_codec *from,
		 const struct media_codec *to);
void xcode_free(struct xcode *x);
void xcode_packet(struct xcode *x, struct outq *q, const uint8_t *p,
		  size_t len);

/* the RTP header's length (CSRCs, extension), or 0 if it is not RTP */
size_t rtp_header_len(const uint8_t *p, size_t len);

/* media_worker.c: the queue, for the signalling thread */
struct cmd *cmd_get(struct worker *w);
struct cmd *cmd_must(struct worker *w);
void cmd_post(struct worker *w, struct cmd *c);

#endif
