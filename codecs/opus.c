/**
 * @file opus.c  Opus (RFC 6716, RTP: RFC 7587) through libopus
 *
 * 48 kHz mono linear audio, 20 ms frames (960 samples); the rtpmap is
 * always opus/48000/2 (RFC 7587 7). The fmtp parameters the far end sent
 * are honoured: useinbandfec=1 turns the encoder's in-band FEC on,
 * usedtx=1 its DTX, maxaveragebitrate caps the bitrate, and
 * maxplaybackrate caps the audio bandwidth we send.
 *
 * The decoder conceals a lost frame itself (opus_decode with no data).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>
#include "codec.h"

enum {
	SRATE   = 48000,
	FRAME   = 960,
	BITRATE = 32000,        /* wideband speech, before fmtp caps it */
};

struct codec_enc {
	OpusEncoder *opus;
};

struct codec_dec {
	OpusDecoder *opus;
};


/* the value of name=VALUE in an fmtp string ("a=1;b=2"), or -1 */
static long fmtp_param(const char *fmtp, const char *name)
{
	size_t n = strlen(name);
	const char *p = fmtp;

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			++p;
		if (!strncmp(p, name, n) && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
		p = strchr(p, ';');
	}

	return -1;
}


static int enc_alloc(struct codec_enc **encp, const char *fmtp)
{
	struct codec_enc *e = calloc(1, sizeof(*e));
	long v;
	int err;

	if (!e)
		return ENOMEM;

	e->opus = opus_encoder_create(SRATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (!e->opus || err != OPUS_OK) {
		free(e);
		return ENOMEM;
	}

	(void)opus_encoder_ctl(e->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	v = fmtp_param(fmtp, "maxaveragebitrate");
	(void)opus_encoder_ctl(e->opus, OPUS_SET_BITRATE(
		v >= 6000 && v <= 510000 ? (opus_int32)v : BITRATE));

	if (fmtp_param(fmtp, "useinbandfec") == 1) {
		(void)opus_encoder_ctl(e->opus, OPUS_SET_INBAND_FEC(1));
		(void)opus_encoder_ctl(e->opus,
				       OPUS_SET_PACKET_LOSS_PERC(5));
	}
	if (fmtp_param(fmtp, "usedtx") == 1)
		(void)opus_encoder_ctl(e->opus, OPUS_SET_DTX(1));

	v = fmtp_param(fmtp, "maxplaybackrate");
	if (v > 0) {
		int bw = v <= 8000 ? OPUS_BANDWIDTH_NARROWBAND :
			v <= 12000 ? OPUS_BANDWIDTH_MEDIUMBAND :
			v <= 16000 ? OPUS_BANDWIDTH_WIDEBAND :
			v <= 24000 ? OPUS_BANDWIDTH_SUPERWIDEBAND :
			OPUS_BANDWIDTH_FULLBAND;

		(void)opus_encoder_ctl(e->opus, OPUS_SET_MAX_BANDWIDTH(bw));
	}

	*encp = e;
	return 0;
}


static int dec_alloc(struct codec_dec **decp, const char *fmtp)
{
	struct codec_dec *d = calloc(1, sizeof(*d));
	int err;
	(void)fmtp;

	if (!d)
		return ENOMEM;

	d->opus = opus_decoder_create(SRATE, 1, &err);
	if (!d->opus || err != OPUS_OK) {
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
	opus_encoder_destroy(e->opus);
	free(e);
}


static void dec_free(struct codec_dec *d)
{
	if (!d)
		return;
	opus_decoder_destroy(d->opus);
	free(d);
}


static int encode(struct codec_enc *e, uint8_t *out, size_t *len,
		  const int16_t *pcm, size_t samples)
{
	opus_int32 n;

	if (!e || !out || !len || !pcm || samples != FRAME)
		return EINVAL;

	n = opus_encode(e->opus, pcm, FRAME, out,
			(opus_int32)(*len > 1275 ? 1275 : *len));
	if (n < 0)
		return EPROTO;

	*len = (size_t)n;
	return 0;
}


static int decode(struct codec_dec *d, int16_t *pcm, size_t *samples,
		  const uint8_t *in, size_t len)
{
	int n;

	if (!d || !pcm || !samples || *samples < FRAME)
		return EINVAL;

	/* no data: conceal one frame */
	n = opus_decode(d->opus, in, in ? (opus_int32)len : 0, pcm,
			FRAME, 0);
	if (n < 0)
		return EPROTO;

	*samples = (size_t)n;
	return 0;
}


const struct codec codec_opus = {
	.name = "opus", .clock = 48000, .channels = 2,
	.pt = CODEC_PT_DYNAMIC, .srate = SRATE,
	.enc_alloc = enc_alloc, .enc_free = enc_free, .encode = encode,
	.dec_alloc = dec_alloc, .dec_free = dec_free, .decode = decode,
};
