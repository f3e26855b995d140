/**
 * @file g722.c  G.722 (64 kbit/s, 16 kHz audio) through spandsp
 *
 * 20 ms = 320 samples -> 160 bytes. The RTP clock is 8000 although the
 * codec samples at 16 kHz (RFC 3551 4.5.2). Loss concealment: spandsp's
 * PLC works at 8 kHz only, so a lost frame is made up by decoding a
 * frame of silence codes through the same decoder state, which keeps
 * its ADPCM predictors continuous (and fades the sound out).
 */
#include <errno.h>
#include <stdlib.h>
#include <spandsp.h>
#include "codec.h"
#include "plcfill.h"

enum { FRAME = 320 };

struct codec_enc {
	g722_encode_state_t *g722;
};

struct codec_dec {
	g722_decode_state_t *g722;
	plc_state_t *plc;
};


static int enc_alloc(struct codec_enc **encp, const char *fmtp,
		     uint32_t rate)
{
	struct codec_enc *e;
	(void)fmtp;

	if (rate && rate != 16000)
		return ENOTSUP;
	e = calloc(1, sizeof(*e));

	if (!e)
		return ENOMEM;

	e->g722 = g722_encode_init(NULL, 64000, 0);
	if (!e->g722) {
		free(e);
		return ENOMEM;
	}

	*encp = e;
	return 0;
}


static int dec_alloc(struct codec_dec **decp, const char *fmtp,
		     uint32_t rate)
{
	struct codec_dec *d;
	(void)fmtp;

	if (rate && rate != 16000)
		return ENOTSUP;
	d = calloc(1, sizeof(*d));

	if (!d)
		return ENOMEM;

	d->g722 = g722_decode_init(NULL, 64000, 0);
	d->plc = plc_init(NULL);
	if (!d->g722 || !d->plc) {
		if (d->g722)
			g722_decode_free(d->g722);
		if (d->plc)
			plc_free(d->plc);
		free(d);
		return ENOMEM;
	}

	*decp = d;
	return 0;
}


static void enc_free(struct codec_enc *e)
{
	if (!e)
		return;
	g722_encode_free(e->g722);
	free(e);
}


static void dec_free(struct codec_dec *d)
{
	if (!d)
		return;
	g722_decode_free(d->g722);
	plc_free(d->plc);
	free(d);
}


static int encode(struct codec_enc *e, uint8_t *out, size_t *len,
		  const int16_t *pcm, size_t samples)
{
	if (!e || !out || !len || !pcm || *len < (samples + 1) / 2)
		return EINVAL;

	*len = (size_t)g722_encode(e->g722, out, pcm, (int)samples);
	return 0;
}


static int decode(struct codec_dec *d, int16_t *pcm, size_t *samples,
		  const uint8_t *in, size_t len)
{
	if (!d || !pcm || !samples)
		return EINVAL;

	if (!in) {
		if (*samples < FRAME)
			return EINVAL;
		*samples = (size_t)codec_plc_fillin(d->plc, pcm, FRAME);
		return 0;
	}

	if (*samples < 2 * len)
		return EINVAL;

	*samples = (size_t)g722_decode(d->g722, pcm, in, (int)len);
	(void)plc_rx(d->plc, pcm, (int)*samples);
	return 0;
}


const struct codec codec_g722 = {
	.name = "G722", .clock = 8000, .channels = 1, .pt = 9, .srate = 16000,
	.enc_alloc = enc_alloc, .enc_free = enc_free, .encode = encode,
	.dec_alloc = dec_alloc, .dec_free = dec_free, .decode = decode,
};
