/**
 * @file media_xcode.c  Transcoding one direction of a call, on its worker
 *
 * A packet from the leg (its codec, its payload types) is decoded to
 * linear audio, resampled when the rates differ, gathered in a FIFO and
 * encoded 20 ms at a time for the other leg: a new RTP stream of ours
 * (our SSRC, continuous sequence numbers), whose time stamps follow the
 * sender's, scaled to the other clock, so silences and jitter keep their
 * length. Opus decodes and encodes at the other codec's rate (libopus
 * resamples inside), so only G.722 <-> G.711 uses codecs/resample.c.
 *
 * Loss: a gap of up to MAX_CONCEAL packets is filled by the decoder's
 * concealment (spandsp PLC, Opus PLC) one frame per missing packet; a
 * late packet is dropped; a longer gap or a new SSRC starts over.
 *
 * RFC 4733 events go across as they came (event, end bit, volume), with
 * our sequence numbers, the time stamp of the event's start in our
 * stream, and the duration scaled to the other leg's telephone-event
 * clock (phones that offer opus/48000 often offer telephone-event/8000
 * only: the time stamps are the stream's, the duration the event's
 * clock). Without telephone-event on the other leg they are dropped.
 *
 * Everything is allocated in xcode_alloc (on the worker, when a bridge
 * or a codec is set); xcode_packet allocates nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include "core.h"
#include "codec.h"
#include "resample.h"
#include "media.h"
#include "media_int.h"

enum {
	MAX_CONCEAL = 5,            /* frames made up for a gap, at most */
	DEC_MAX     = 5760,         /* 120 ms at 48 kHz: one Opus packet */
	FIFO_MAX    = 2 * DEC_MAX,
	REBASE      = 1u << 30,     /* time stamp span before re-basing */
};

struct xcode {
	const struct codec *dc, *ec;
	struct codec_dec *dec;
	struct codec_enc *enc;
	uint32_t drate, erate;      /* linear rates out of dec, into enc */
	uint32_t in_clock, out_clock;
	size_t eframe;              /* encoder frame, samples */
	bool resample;
	struct resampler rs;
	uint8_t in_pt, out_pt;
	int in_te, out_te;
	uint32_t in_te_clock, out_te_clock;

	/* the stream coming in */
	bool in_init;
	uint32_t in_ssrc;
	uint16_t in_next;           /* the sequence number expected next */
	uint32_t in_next_ts;        /* and its time stamp */

	/* in time stamp -> out time stamp: out_base + (in - in_base) x
	 * out_clock / in_clock */
	uint32_t in_base, out_base;

	/* linear audio at erate waiting to be encoded; fifo_ts is the in
	 * time stamp of fifo[0] */
	size_t fifo_n;
	uint32_t fifo_ts;

	/* the stream going out */
	uint32_t out_ssrc;
	uint16_t out_seq;
	uint32_t out_last_ts;
	bool out_started;
	bool marker;

	/* the event in progress: its in and out start time stamps */
	bool ev_on;
	uint32_t ev_in_ts, ev_out_ts;

	int16_t dbuf[DEC_MAX];
	int16_t rbuf[FIFO_MAX];
	int16_t fifo[FIFO_MAX];
};


void xcode_free(struct xcode *x)
{
	if (!x)
		return;

	if (x->dec)
		x->dc->dec_free(x->dec);
	if (x->enc)
		x->ec->enc_free(x->enc);
	free(x);
}


int xcode_alloc(struct xcode **xp, const struct media_codec *from,
		const struct media_codec *to)
{
	const struct codec *dc = from->codec, *ec = to->codec;
	struct xcode *x;
	int err;

	if (!xp || !dc || !ec)
		return EINVAL;

	x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;

	x->dc = dc;
	x->ec = ec;

	/* a codec that can run at any rate takes the other's */
	x->drate = dc->any_rate ? codec_rate_for(dc, ec->srate) : dc->srate;
	x->erate = ec->any_rate ? codec_rate_for(ec, x->drate) : ec->srate;
	x->in_clock  = dc->clock;
	x->out_clock = ec->clock;
	x->eframe    = x->erate * CODEC_PTIME_MS / 1000;
	x->in_pt  = from->pt;
	x->out_pt = to->pt;
	x->in_te  = from->te_pt;
	x->out_te = to->te_pt;
	x->in_te_clock  = from->te_clock ? from->te_clock : dc->clock;
	x->out_te_clock = to->te_clock ? to->te_clock : ec->clock;

	err = dc->dec_alloc(&x->dec, from->fmtp, x->drate);
	if (!err)
		err = ec->enc_alloc(&x->enc, to->fmtp, x->erate);
	if (!err && x->drate != x->erate) {
		x->resample = true;
		err = resampler_init(&x->rs, x->drate, x->erate);
	}
	if (err) {
		xcode_free(x);
		return err;
	}

	x->out_ssrc = rand_u32();
	x->out_seq  = rand_u16() & 0x7fff;
	x->out_base = rand_u32();
	x->marker   = true;

	*xp = x;
	return 0;
}


size_t rtp_header_len(const uint8_t *p, size_t len)
{
	size_t hlen;

	if (len < RTP_HDR_SIZE || (p[0] >> 6) != 2)
		return 0;

	hlen = RTP_HDR_SIZE + 4u * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (len < hlen + 4)
			return 0;
		hlen += 4 + 4u * (size_t)(p[hlen + 2] << 8 | p[hlen + 3]);
	}

	return hlen <= len ? hlen : 0;
}


static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}


static uint32_t map_ts(struct xcode *x, uint32_t in_ts)
{
	uint32_t span = in_ts - x->in_base;
	uint32_t out = x->out_base + (uint32_t)((uint64_t)span *
						x->out_clock / x->in_clock);

	/* keep the product exact: a long call re-bases now and then */
	if (span >= REBASE) {
		x->in_base  = in_ts;
		x->out_base = out;
	}

	return out;
}


/* Time starts again at in_ts (first packet, new SSRC, long gap): our
 * stream goes on one frame after its last packet. */
static void rebase(struct xcode *x, uint32_t in_ts)
{
	x->in_base = in_ts;
	if (x->out_started)
		x->out_base = x->out_last_ts + x->out_clock / 50;
	x->fifo_n  = 0;
	x->fifo_ts = in_ts;
	x->marker  = true;
	x->ev_on   = false;
}


static void write_header(struct xcode *x, uint8_t *p, uint8_t pt,
			 bool marker, uint32_t ts)
{
	p[0] = 0x80;
	p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	p[2] = (uint8_t)(x->out_seq >> 8);
	p[3] = (uint8_t)x->out_seq;
	wr32(p + 4, ts);
	wr32(p + 8, x->out_ssrc);
	++x->out_seq;
}


/* Encode and send what the FIFO holds, 20 ms at a time */
static void drain(struct xcode *x, struct outq *q)
{
	size_t done = 0;

	while (x->fifo_n - done >= x->eframe) {
		uint8_t *p = outq_slot(q);
		size_t len = PKT_MAX - RTP_HDR_SIZE;
		uint32_t ts = map_ts(x, x->fifo_ts);

		if (!p)
			break;

		if (x->ec->encode(x->enc, p + RTP_HDR_SIZE, &len,
				  x->fifo + done, x->eframe) == 0 && len) {
			write_header(x, p, x->out_pt, x->marker, ts);
			x->marker = false;
			x->out_last_ts = ts;
			x->out_started = true;
			outq_commit(q, RTP_HDR_SIZE + len);
		}

		done += x->eframe;
		x->fifo_ts += x->in_clock / 50;
	}

	if (done) {
		x->fifo_n -= done;
		memmove(x->fifo, x->fifo + done, x->fifo_n * sizeof(int16_t));
	}
}


/* n samples at drate, starting at in time stamp ts, into the FIFO */
static void feed(struct xcode *x, const int16_t *pcm, size_t n, uint32_t ts)
{
	const int16_t *src = pcm;
	size_t m = n;

	if (x->resample) {
		m = FIFO_MAX;
		if (resampler_run(&x->rs, x->rbuf, &m, pcm, n))
			return;
		src = x->rbuf;
	}

	if (!x->fifo_n)
		x->fifo_ts = ts;

	if (m > FIFO_MAX - x->fifo_n)
		m = FIFO_MAX - x->fifo_n;

	memcpy(x->fifo + x->fifo_n, src, m * sizeof(int16_t));
	x->fifo_n += m;
}


/* in time stamp units of n decoded samples */
static uint32_t in_span(const struct xcode *x, size_t n)
{
	return (uint32_t)((uint64_t)n * x->in_clock / x->drate);
}


static void event(struct xcode *x, struct outq *q, const uint8_t *p,
		  size_t hlen, size_t len)
{
	uint32_t ts = rd32(p + 4), dur;
	uint8_t *o;

	if (x->out_te < 0 || len - hlen < 4)
		return;

	if (!x->in_init) {
		/* an event before any audio: time starts here */
		x->in_init = true;
		x->in_ssrc = rd32(p + 8);
		x->in_next = (uint16_t)(p[2] << 8 | p[3]);
		x->in_next_ts = ts;
		rebase(x, ts);
	}

	if (!x->ev_on || ts != x->ev_in_ts) {
		x->ev_on = true;
		x->ev_in_ts  = ts;
		x->ev_out_ts = map_ts(x, ts);
	}

	o = outq_slot(q);
	if (!o)
		return;

	write_header(x, o, (uint8_t)x->out_te, (p[1] & 0x80) != 0,
		     x->ev_out_ts);
	memcpy(o + RTP_HDR_SIZE, p + hlen, 4);
	dur = (uint32_t)(p[hlen + 2] << 8 | p[hlen + 3]);
	dur = (uint32_t)((uint64_t)dur * x->out_te_clock / x->in_te_clock);
	if (dur > 0xffff)
		dur = 0xffff;
	o[RTP_HDR_SIZE + 2] = (uint8_t)(dur >> 8);
	o[RTP_HDR_SIZE + 3] = (uint8_t)dur;
	outq_commit(q, RTP_HDR_SIZE + 4);
}


void xcode_packet(struct xcode *x, struct outq *q, const uint8_t *p,
		  size_t len)
{
	size_t hlen = rtp_header_len(p, len), plen, n;
	uint16_t seq, gap;
	uint32_t ts, ssrc;
	uint8_t pt;

	if (!hlen)
		return;

	plen = len - hlen;
	if ((p[0] & 0x20) && plen) {
		/* padding: its length is the last byte */
		if (p[len - 1] > plen)
			return;
		plen -= p[len - 1];
	}

	pt = p[1] & 0x7f;
	if (x->in_te >= 0 && pt == x->in_te) {
		event(x, q, p, hlen, hlen + plen);
		return;
	}
	if (pt != x->in_pt || !plen)
		return;     /* comfort noise, RTCP-mux, what was not agreed */

	seq  = (uint16_t)(p[2] << 8 | p[3]);
	ts   = rd32(p + 4);
	ssrc = rd32(p + 8);

	if (!x->in_init || ssrc != x->in_ssrc) {
		x->in_init = true;
		x->in_ssrc = ssrc;
		rebase(x, ts);
		gap = 0;
	}
	else {
		gap = (uint16_t)(seq - x->in_next);
		if (gap >= 0x8000)
			return;                 /* late or repeated */
		if (gap > MAX_CONCEAL) {
			rebase(x, ts);
			gap = 0;
		}
	}

	/* the missing frames, made up by the decoder */
	while (gap--) {
		n = DEC_MAX;
		if (x->dc->decode(x->dec, x->dbuf, &n, NULL, 0) || !n)
			break;
		feed(x, x->dbuf, n, x->in_next_ts);
		x->in_next_ts += in_span(x, n);
		drain(x, q);
	}

	n = DEC_MAX;
	if (x->dc->decode(x->dec, x->dbuf, &n, p + hlen, plen) || !n) {
		x->in_next = (uint16_t)(seq + 1);
		return;
	}

	feed(x, x->dbuf, n, ts);
	x->in_next = (uint16_t)(seq + 1);
	x->in_next_ts = ts + in_span(x, n);
	drain(x, q);
}
