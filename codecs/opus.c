/**
 * @file opus.c  Opus (RFC 6716, RTP: RFC 7587) through libopus
 *
 * 48 kHz mono linear audio, 20 ms frames (960 samples), or 8, 12, 16 or
 * 24 kHz when the other side of a call is narrowband or wideband: libopus
 * then resamples inside the codec, cheaper than decoding at 48 kHz and
 * resampling after (the RTP clock stays 48 kHz). The rtpmap is
 * always opus/48000/2 (RFC 7587 7). The fmtp parameters the far end sent
 * are honoured: useinbandfec=1 turns the encoder's in-band FEC on,
 * usedtx=1 its DTX, maxaveragebitrate caps the bitrate, and
 * maxplaybackrate caps the audio bandwidth we send.
 *
 * The decoder conceals a lost frame itself (opus_decode with no data).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>
#include "codec.h"

enum {
	SRATE   = 48000,
	BITRATE = 32000,        /* wideband speech, before fmtp caps it */
};

struct codec_enc {
	OpusEncoder *opus;
	int frame;
};

struct codec_dec {
	OpusDecoder *opus;
	int frame;
};


static bool rate_ok(uint32_t rate)
{
	return rate == 8000 || rate == 12000 || rate == 16000 ||
		rate == 24000 || rate == 48000;
}


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


static int enc_alloc(struct codec_enc **encp, const char *fmtp,
		     uint32_t rate)
{
	struct codec_enc *e;
	long v;
	int err;

	if (!rate)
		rate = SRATE;
	if (!rate_ok(rate))
		return ENOTSUP;

	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;

	e->frame = (int)rate / 50;
	e->opus = opus_encoder_create((opus_int32)rate, 1,
				      OPUS_APPLICATION_VOIP, &err);
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


static int dec_alloc(struct codec_dec **decp, const char *fmtp,
		     uint32_t rate)
{
	struct codec_dec *d;
	int err;
	(void)fmtp;

	if (!rate)
		rate = SRATE;
	if (!rate_ok(rate))
		return ENOTSUP;

	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;

	d->frame = (int)rate / 50;
	d->opus = opus_decoder_create((opus_int32)rate, 1, &err);
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

	if (!e || !out || !len || !pcm || samples != (size_t)e->frame)
		return EINVAL;

	n = opus_encode(e->opus, pcm, e->frame, out,
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

	if (!d || !pcm || !samples || *samples < (size_t)d->frame)
		return EINVAL;

	/* no data: conceal one frame. A packet may hold up to 120 ms;
	 * what does not fit in the caller's room is an error. */
	n = opus_decode(d->opus, in, in ? (opus_int32)len : 0, pcm,
			in ? (int)*samples : d->frame, 0);
	if (n < 0)
		return EPROTO;

	*samples = (size_t)n;
	return 0;
}


const struct codec codec_opus = {
	.name = "opus", .clock = 48000, .channels = 2,
	.pt = CODEC_PT_DYNAMIC, .srate = SRATE, .any_rate = true,
	.enc_alloc = enc_alloc, .enc_free = enc_free, .encode = encode,
	.dec_alloc = dec_alloc, .dec_free = dec_free, .decode = decode,
};
