/**
 * @file g711.c  PCMU and PCMA (ITU-T G.711) through spandsp
 *
 * Stateless apart from spandsp's mode. Loss concealment is spandsp's PLC
 * on the decoded audio (it needs the last good frames, so it lives in the
 * decoder state).
 */
#include <errno.h>
#include <stdlib.h>
#include <spandsp.h>
#include "codec.h"
#include "plcfill.h"

struct codec_enc {
	g711_state_t *g711;
};

struct codec_dec {
	g711_state_t *g711;
	plc_state_t *plc;
};


static int enc_alloc(struct codec_enc **encp, int mode)
{
	struct codec_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return ENOMEM;

	e->g711 = g711_init(NULL, mode);
	if (!e->g711) {
		free(e);
		return ENOMEM;
	}

	*encp = e;
	return 0;
}


static int dec_alloc(struct codec_dec **decp, int mode)
{
	struct codec_dec *d = calloc(1, sizeof(*d));

	if (!d)
		return ENOMEM;

	d->g711 = g711_init(NULL, mode);
	d->plc = plc_init(NULL);
	if (!d->g711 || !d->plc) {
		if (d->g711)
			g711_free(d->g711);
		if (d->plc)
			plc_free(d->plc);
		free(d);
		return ENOMEM;
	}

	*decp = d;
	return 0;
}


static int pcmu_enc_alloc(struct codec_enc **encp, const char *fmtp,
			  uint32_t rate)
{
	(void)fmtp;
	if (rate && rate != 8000)
		return ENOTSUP;
	return enc_alloc(encp, G711_ULAW);
}


static int pcma_enc_alloc(struct codec_enc **encp, const char *fmtp,
			  uint32_t rate)
{
	(void)fmtp;
	if (rate && rate != 8000)
		return ENOTSUP;
	return enc_alloc(encp, G711_ALAW);
}


static int pcmu_dec_alloc(struct codec_dec **decp, const char *fmtp,
			  uint32_t rate)
{
	(void)fmtp;
	if (rate && rate != 8000)
		return ENOTSUP;
	return dec_alloc(decp, G711_ULAW);
}


static int pcma_dec_alloc(struct codec_dec **decp, const char *fmtp,
			  uint32_t rate)
{
	(void)fmtp;
	if (rate && rate != 8000)
		return ENOTSUP;
	return dec_alloc(decp, G711_ALAW);
}


static void enc_free(struct codec_enc *e)
{
	if (!e)
		return;
	g711_free(e->g711);
	free(e);
}


static void dec_free(struct codec_dec *d)
{
	if (!d)
		return;
	g711_free(d->g711);
	plc_free(d->plc);
	free(d);
}


static int encode(struct codec_enc *e, uint8_t *out, size_t *len,
		  const int16_t *pcm, size_t samples)
{
	if (!e || !out || !len || !pcm || *len < samples)
		return EINVAL;

	*len = (size_t)g711_encode(e->g711, out, pcm, (int)samples);
	return 0;
}


static int decode(struct codec_dec *d, int16_t *pcm, size_t *samples,
		  const uint8_t *in, size_t len)
{
	if (!d || !pcm || !samples)
		return EINVAL;

	if (!in) {
		/* one 20 ms frame made up from what came before */
		size_t n = 160;

		if (*samples < n)
			return EINVAL;
		*samples = (size_t)codec_plc_fillin(d->plc, pcm, (int)n);
		return 0;
	}

	if (*samples < len)
		return EINVAL;

	*samples = (size_t)g711_decode(d->g711, pcm, in, (int)len);
	(void)plc_rx(d->plc, pcm, (int)*samples);
	return 0;
}


const struct codec codec_pcmu = {
	.name = "PCMU", .clock = 8000, .channels = 1, .pt = 0, .srate = 8000,
	.enc_alloc = pcmu_enc_alloc, .enc_free = enc_free, .encode = encode,
	.dec_alloc = pcmu_dec_alloc, .dec_free = dec_free, .decode = decode,
};

const struct codec codec_pcma = {
	.name = "PCMA", .clock = 8000, .channels = 1, .pt = 8, .srate = 8000,
	.enc_alloc = pcma_enc_alloc, .enc_free = enc_free, .encode = encode,
	.dec_alloc = pcma_dec_alloc, .dec_free = dec_free, .decode = decode,
};
