/**
 * @file codec.h  Audio codecs: one file each, found by name in a registry
 *
 * A codec declares how SDP names it (name, RTP clock, channels in the
 * rtpmap, static payload type), the rate of the 16-bit linear audio it
 * encodes and decodes, and its frame (20 ms). Encoders and decoders are
 * separate states, allocated once per call leg and used for every frame
 * with buffers the caller provides: nothing is allocated per packet.
 * They know nothing of RTP or sockets (DESIGN.md).
 */
#ifndef CODECS_CODEC_H
#define CODECS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct codec_enc;
struct codec_dec;

enum {
	CODEC_PT_DYNAMIC = 0xff,    /* negotiated in the SDP (96-127) */
	CODEC_PTIME_MS   = 20,
};

struct codec {
	const char *name;           /* as in a=rtpmap, e.g. "PCMU", "opus"  */
	uint32_t clock;             /* RTP clock rate (G.722: 8000, RFC 3551) */
	uint8_t channels;           /* in the rtpmap (opus/48000/2)         */
	uint8_t pt;                 /* static payload type, or DYNAMIC      */
	uint32_t srate;             /* linear audio rate: 8000/16000/48000  */
	bool any_rate;              /* also encodes and decodes at 8, 12,
	                               16 and 24 kHz (Opus) */

	/** fmtp: the SDP's a=fmtp parameters for this codec, or NULL;
	 *  rate: the linear audio's rate, 0 for srate (another one only
	 *  where any_rate says so, else ENOTSUP) */
	int  (*enc_alloc)(struct codec_enc **encp, const char *fmtp,
			  uint32_t rate);
	void (*enc_free)(struct codec_enc *enc);
	/** one frame of rate x 20 ms samples -> *len bytes (in: room) */
	int  (*encode)(struct codec_enc *enc, uint8_t *out, size_t *len,
		       const int16_t *pcm, size_t samples);

	int  (*dec_alloc)(struct codec_dec **decp, const char *fmtp,
			  uint32_t rate);
	void (*dec_free)(struct codec_dec *dec);
	/** a packet -> *samples (in: room). in == NULL: conceal a lost
	 *  frame (packet loss concealment) */
	int  (*decode)(struct codec_dec *dec, int16_t *pcm, size_t *samples,
		       const uint8_t *in, size_t len);
};

/** The rate c's linear audio can be at nearest to want (srate unless
 *  any_rate) */
uint32_t codec_rate_for(const struct codec *c, uint32_t want);

/** Samples in one frame of c's linear audio */
static inline size_t codec_frame(const struct codec *c)
{
	return c->srate * CODEC_PTIME_MS / 1000;
}

/** RTP timestamp step of one frame */
static inline uint32_t codec_ts_step(const struct codec *c)
{
	return c->clock * CODEC_PTIME_MS / 1000;
}

/** By SDP name, case-insensitive ("pcmu", "OPUS") */
const struct codec *codec_find(const char *name);

/** By static payload type (0 PCMU, 8 PCMA, 9 G722) */
const struct codec *codec_find_pt(uint8_t pt);

/** The registry, NULL-terminated, in the default order of preference */
extern const struct codec *const codec_table[];

#endif
