/**
 * @file test_codecs.c  Each codec: registry entry, and a round trip of a
 * tone and of speech-like noise that keeps its waveform (SNR after the
 * codec's delay is found) and its frequency; loss concealment
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include "codec.h"
#include "g711x.h"
#include "resample.h"

enum { SECONDS = 2, MAX_RATE = 48000, MAX_LAG_MS = 20 };

static int16_t in[SECONDS * MAX_RATE];
static int16_t out[SECONDS * MAX_RATE];


static void make_tone(int16_t *x, size_t n, unsigned rate, double hz)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = (int16_t)(10000.0 * sin(2.0 * M_PI * hz * (double)i /
					       rate));
}


/* Noise shaped like speech: low-passed (most energy below 1 kHz),
 * amplitude-modulated at a syllable rate of 4 Hz */
static void make_speechlike(int16_t *x, size_t n, unsigned rate)
{
	uint32_t s = 12345;
	double lp = 0.0, lp2 = 0.0, a = exp(-2.0 * M_PI * 800.0 / rate);
	size_t i;

	for (i = 0; i < n; i++) {
		double w, env;

		s = s * 1103515245u + 12345u;
		w = ((double)(s >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
		lp = a * lp + (1.0 - a) * w;
		lp2 = a * lp2 + (1.0 - a) * lp;
		env = 0.6 + 0.4 * sin(2.0 * M_PI * 4.0 * (double)i / rate);
		x[i] = (int16_t)(env * 60000.0 * lp2);
	}
}


static void round_trip(const struct codec *c, const int16_t *x, int16_t *y,
		       size_t n, size_t drop_every)
{
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	size_t frame = codec_frame(c), pos, k = 0;

	assert_int_equal(c->enc_alloc(&enc, NULL, 0), 0);
	assert_int_equal(c->dec_alloc(&dec, NULL, 0), 0);

	for (pos = 0; pos + frame <= n; pos += frame, k++) {
		uint8_t pkt[1500];
		size_t len = sizeof(pkt), got = frame;

		assert_int_equal(c->encode(enc, pkt, &len, x + pos, frame), 0);
		assert_true(len > 0);
		if (drop_every && k % drop_every == drop_every - 1)
			assert_int_equal(c->decode(dec, y + pos, &got, NULL, 0),
					 0);
		else
			assert_int_equal(c->decode(dec, y + pos, &got, pkt,
						   len), 0);
		assert_int_equal(got, frame);
	}

	c->enc_free(enc);
	c->dec_free(dec);
}


/* SNR in dB of y against x delayed by the lag that fits best, over the
 * second half (after the codec has settled) */
static double snr_db(const int16_t *x, const int16_t *y, size_t n,
		     unsigned rate, size_t *lagp)
{
	size_t maxlag = rate * MAX_LAG_MS / 1000, lag, best = 0, i;
	size_t from = n / 2, to = n - maxlag;
	double bestc = -1e300, sig = 0.0, err = 0.0;

	for (lag = 0; lag <= maxlag; lag++) {
		double cc = 0.0;

		for (i = from; i < to; i++)
			cc += (double)x[i - lag] * y[i];
		if (cc > bestc) {
			bestc = cc;
			best = lag;
		}
	}

	for (i = from; i < to; i++) {
		double d = (double)y[i] - x[i - best];

		sig += (double)x[i - best] * x[i - best];
		err += d * d;
	}

	*lagp = best;
	return 10.0 * log10(sig / (err > 0 ? err : 1e-9));
}


/* share of y's power (second half) at hz, by a single-bin DFT */
static double tone_share(const int16_t *y, size_t n, unsigned rate, double hz)
{
	double re = 0.0, im = 0.0, total = 0.0;
	size_t i, from = n / 2, m = n - n / 2;

	for (i = from; i < n; i++) {
		double ph = 2.0 * M_PI * hz * (double)(i - from) / rate;

		re += y[i] * cos(ph);
		im += y[i] * sin(ph);
		total += (double)y[i] * y[i];
	}

	/* a pure tone of amplitude A: |X|^2 = (A m / 2)^2, power A^2 m / 2 */
	return (re * re + im * im) * 2.0 / m / (total > 0 ? total : 1.0);
}


struct expect {
	const char *name;
	uint8_t pt;
	uint32_t clock, srate, ts_step;
	double tone_snr, noise_snr;     /* dB, at least */
	double plc_share;               /* power left at 1 kHz, 10 % lost */
};

static const struct expect expects[] = {
	/* measured: tone 37 / 49 / 47 / 25 dB, noise 37 / 38 / 30 / 5 dB
	 * (Opus at 32 kbit/s keeps the sound, not the waveform of noise),
	 * 10 % loss 99 / 99 / 97 / 72 % */
	{"PCMU", 0, 8000, 8000, 160, 30.0, 30.0, 0.90},
	{"PCMA", 8, 8000, 8000, 160, 30.0, 30.0, 0.90},
	{"G722", 9, 8000, 16000, 160, 30.0, 20.0, 0.90},
	{"opus", CODEC_PT_DYNAMIC, 48000, 48000, 960, 15.0, 3.0, 0.60},
};


static void test_registry(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		const struct expect *e = &expects[i];
		const struct codec *c = codec_find(e->name);

		assert_non_null(c);
		assert_int_equal(c->pt, e->pt);
		assert_int_equal(c->clock, e->clock);
		assert_int_equal(c->srate, e->srate);
		assert_int_equal(codec_ts_step(c), e->ts_step);
		assert_int_equal(codec_frame(c), e->srate / 50);
		if (e->pt != CODEC_PT_DYNAMIC)
			assert_ptr_equal(codec_find_pt(e->pt), c);
	}

	assert_ptr_equal(codec_find("OPUS"), codec_find("opus"));
	assert_null(codec_find("G729"));
	assert_null(codec_find_pt(18));
	assert_int_equal(codec_find("opus")->channels, 2);
}


static void test_round_trips(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		const struct expect *e = &expects[i];
		const struct codec *c = codec_find(e->name);
		size_t n = SECONDS * c->srate, lag;
		double snr, share;

		make_tone(in, n, c->srate, 1000.0);
		memset(out, 0, sizeof(out));
		round_trip(c, in, out, n, 0);
		snr = snr_db(in, out, n, c->srate, &lag);
		share = tone_share(out, n, c->srate, 1000.0);
		print_message("# %s: 1 kHz tone SNR %.1f dB (delay %zu samples), "
			      "%.1f %% of the power at 1 kHz\n", c->name, snr,
			      lag, 100.0 * share);
		assert_true(snr >= e->tone_snr);
		assert_true(share >= 0.95);

		make_speechlike(in, n, c->srate);
		memset(out, 0, sizeof(out));
		round_trip(c, in, out, n, 0);
		snr = snr_db(in, out, n, c->srate, &lag);
		print_message("# %s: speech-like noise SNR %.1f dB (delay %zu)\n",
			      c->name, snr, lag);
		assert_true(snr >= e->noise_snr);
	}
}


/* every 10th frame lost: concealed frames keep the tone going */
static void test_concealment(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		const struct expect *e = &expects[i];
		const struct codec *c = codec_find(e->name);
		size_t n = SECONDS * c->srate;
		double share;

		make_tone(in, n, c->srate, 1000.0);
		memset(out, 0, sizeof(out));
		round_trip(c, in, out, n, 10);
		share = tone_share(out, n, c->srate, 1000.0);
		print_message("# %s: 10 %% loss, %.1f %% of the power at 1 kHz\n",
			      c->name, 100.0 * share);
		assert_true(share >= e->plc_share);
	}
}


/* a-law -> u-law by table keeps a tone as well as decoding and
 * encoding would (the tables are G.711's), and back */
static void test_alaw_ulaw_tables(void **state)
{
	const struct codec *pcma = codec_find("PCMA"), *pcmu = codec_find("PCMU");
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	size_t n = SECONDS * 8000, pos, lag;
	uint8_t a[160], u[160], back[160];
	double snr;
	int i, same = 0;
	(void)state;

	g711x_init();
	g711x_init();                   /* twice: harmless */

	make_tone(in, n, 8000, 1000.0);
	assert_int_equal(pcma->enc_alloc(&enc, NULL, 0), 0);
	assert_int_equal(pcmu->dec_alloc(&dec, NULL, 0), 0);

	for (pos = 0; pos + 160 <= n; pos += 160) {
		size_t len = sizeof(a), got = 160;

		assert_int_equal(pcma->encode(enc, a, &len, in + pos, 160), 0);
		g711x_alaw_to_ulaw(u, a, len);
		assert_int_equal(pcmu->decode(dec, out + pos, &got, u, len),
				 0);

		/* and back: a-law -> u-law -> a-law returns most codes
		 * unchanged (u-law has the finer steps near zero) */
		g711x_ulaw_to_alaw(back, u, len);
		for (i = 0; i < 160; i++)
			same += back[i] == a[i];
	}
	pcma->enc_free(enc);
	pcmu->dec_free(dec);

	snr = snr_db(in, out, n, 8000, &lag);
	print_message("# a-law -> u-law by table: tone SNR %.1f dB, %d of "
		      "%zu codes back unchanged\n", snr, same, n);
	assert_int_equal(lag, 0);
	assert_true(snr >= 30.0);
	assert_true(tone_share(out, n, 8000, 1000.0) >= 0.99);
	assert_true(same >= (int)(n * 95 / 100));

	/* in place */
	memcpy(u, a, sizeof(a));
	g711x_alaw_to_ulaw(u, u, sizeof(u));
	g711x_alaw_to_ulaw(back, a, sizeof(a));
	assert_memory_equal(u, back, sizeof(u));
}


static double power(const int16_t *y, size_t n)
{
	double p = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		p += (double)y[i] * y[i];

	return p / (n ? n : 1);
}


/* through a resampler 20 ms at a time, as a call leg feeds it */
static size_t resample_frames(struct resampler *rs, const int16_t *x,
			      size_t n, int16_t *y, size_t room)
{
	size_t frame = rs->from / 50, pos, o = 0;

	for (pos = 0; pos + frame <= n; pos += frame) {
		size_t got = room - o;

		assert_int_equal(resampler_run(rs, y + o, &got, x + pos,
					       frame), 0);
		assert_int_equal(got, rs->to / 50);
		o += got;
	}

	return o;
}


/* every pair of 8, 16 and 48 kHz: a 1 kHz tone keeps its waveform and
 * frequency; a tone above the lower rate's Nyquist frequency is gone */
static void test_resample(void **state)
{
	static const uint32_t pairs[][2] = {
		{8000, 16000}, {16000, 8000}, {8000, 48000}, {48000, 8000},
		{16000, 48000}, {48000, 16000}, {8000, 8000},
	};
	static int16_t want[SECONDS * MAX_RATE];
	struct resampler rs;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		uint32_t from = pairs[i][0], to = pairs[i][1];
		size_t n = SECONDS * from, m, lag;
		double snr, share;

		assert_int_equal(resampler_init(&rs, from, to), 0);
		make_tone(in, n, from, 1000.0);
		make_tone(want, SECONDS * to, to, 1000.0);
		m = resample_frames(&rs, in, n, out, sizeof(out) /
				    sizeof(out[0]));
		assert_int_equal(m, SECONDS * to);
		snr = snr_db(want, out, m, to, &lag);
		share = tone_share(out, m, to, 1000.0);
		print_message("# %u -> %u Hz: 1 kHz tone SNR %.1f dB (delay "
			      "%zu, filter %u), %.2f %% at 1 kHz\n", from, to,
			      snr, lag, resampler_delay(&rs), 100.0 * share);
		assert_true(snr >= 40.0);
		assert_true(share >= 0.99);
		assert_true(lag <= resampler_delay(&rs) + 1);

		if (to < from) {
			/* just above the lower rate's Nyquist frequency,
			 * and far above it: must not fold back into the
			 * lower band */
			const double hzs[] = {to * 0.6, from * 0.35};
			size_t k;

			for (k = 0; k < 2; k++) {
				double before, after;

				make_tone(in, n, from, hzs[k]);
				assert_int_equal(resampler_init(&rs, from, to),
						 0);
				m = resample_frames(&rs, in, n, out,
						    sizeof(out) /
						    sizeof(out[0]));
				before = power(in, n);
				after = power(out + m / 2, m / 2);
				print_message("# %u -> %u Hz: %.0f Hz down "
					      "%.1f dB\n", from, to, hzs[k],
					      10.0 * log10(before / (after >
						1e-9 ? after : 1e-9)));
				assert_true(after < before * 1e-5);  /* 50 dB */
			}
		}
	}

	assert_int_equal(resampler_init(&rs, 8000, 44100), EINVAL);
	assert_int_equal(resampler_init(&rs, 16000, 24000), EINVAL);
}


/* Opus at 8 kHz (the other leg is G.711): libopus resamples inside */
static void test_opus_narrow(void **state)
{
	const struct codec *c = codec_find("opus");
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	size_t n = SECONDS * 8000, pos;
	double share;
	(void)state;

	assert_int_equal(codec_rate_for(c, 8000), 8000);
	assert_int_equal(codec_rate_for(codec_find("PCMU"), 48000), 8000);
	assert_int_equal(codec_find("PCMU")->enc_alloc(&enc, NULL, 16000),
			 ENOTSUP);
	assert_int_equal(c->enc_alloc(&enc, NULL, 8000), 0);
	assert_int_equal(c->dec_alloc(&dec, NULL, 8000), 0);

	make_tone(in, n, 8000, 1000.0);
	for (pos = 0; pos + 160 <= n; pos += 160) {
		uint8_t pkt[400];
		size_t len = sizeof(pkt), got = 160;

		assert_int_equal(c->encode(enc, pkt, &len, in + pos, 160), 0);
		assert_int_equal(c->decode(dec, out + pos, &got, pkt, len),
				 0);
		assert_int_equal(got, 160);
	}
	c->enc_free(enc);
	c->dec_free(dec);

	share = tone_share(out, n, 8000, 1000.0);
	print_message("# opus at 8 kHz: %.1f %% of the power at 1 kHz\n",
		      100.0 * share);
	assert_true(share >= 0.95);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alaw_ulaw_tables),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_concealment),
		cmocka_unit_test(test_resample),
		cmocka_unit_test(test_opus_narrow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
