/**
 * @file recorder.h  What a call leg sends, as 8 kHz linear audio
 *
 * A recorder is fed on the leg's media worker (media_ep_record): each RTP
 * packet of the leg's codec is decoded (and resampled to 8 kHz) into a
 * single-producer single-consumer ring that another thread drains (the
 * voicemail writer, vm.c). The worker also notes when the caller last
 * spoke (energy above a floor) and an RFC 4733 '#'. Nothing is allocated
 * per packet; the decoder is made when recording starts and freed by the
 * worker when it stops (detached tells the reader it may take the rest).
 * Keys count as RFC 4733 events or as in-band tones (spandsp's DTMF
 * receiver on the decoded audio), whichever the phone sends: each press
 * once into a small queue of keys, and '#' also as a flag.
 */
#ifndef SWITCH_RECORDER_H
#define SWITCH_RECORDER_H

struct codec_dec;
struct codec;
struct media_codec;

enum {
	REC_RATE = 8000,
	REC_RING = 1 << 16,          /* samples: 8 s at 8 kHz */
	REC_VOICE_FLOOR = 400,       /* rms of 20 ms that counts as voice */
	REC_KEYS = 32,               /* keys not yet read (a power of 2) */
};

/* The last RFC 4733 event of a leg: every packet of one press carries
 * the time stamp of its start */
struct recorder_keys {
	uint32_t ev_ts;
	bool ev_seen;
};

struct recorder {
	/* the worker's */
	const struct codec *c;
	struct codec_dec *dec;
	void *rs;                    /* struct resampler, or NULL */
	void *dtmf;                  /* spandsp dtmf_rx_state_t */
	uint8_t pt;
	int te_pt;
	struct recorder_keys keys_seen;  /* the leg's relay hands it on */

	/* keys pressed (0-9 * # A-D): the worker writes khead, the
	 * reader ktail; a key that finds the queue full is dropped */
	char keys[REC_KEYS];
	uint32_t khead;
	uint32_t ktail;

	/* set before the recorder is attached: keys only, no audio into
	 * the ring (a voicemail menu listens for keys) */
	bool keys_only;

	/* the ring: the worker writes head, the reader tail */
	int16_t ring[REC_RING];
	uint32_t head;
	uint32_t tail;

	/* read by the others (atomics) */
	uint64_t samples;            /* pushed since the start */
	uint64_t dropped;            /* the ring was full */
	uint64_t last_voice_ms;      /* monotonic */
	bool hash;                   /* '#' came (RFC 4733 event 11) */
	bool detached;               /* the worker let go */
};

/** Zeroed recorder, for the leg's codec (worker side: set up by
 *  media_ep_record on the worker) */
struct recorder *recorder_alloc(void);
void recorder_free(struct recorder *rec);

/* the worker's: start (decoder for mc), a packet, stop */
int  recorder_attach(struct recorder *rec, const struct media_codec *mc);
void recorder_packet(struct recorder *rec, const uint8_t *p, size_t len,
		     uint64_t now);
void recorder_detach(struct recorder *rec);

/** The reader's: up to max samples out of the ring; how many */
size_t recorder_read(struct recorder *rec, int16_t *out, size_t max);

/** The reader's: the next key pressed, or 0 */
char recorder_key(struct recorder *rec);

#endif
