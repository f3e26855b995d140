/**
 * @file codec_speed.c  How fast each codec encodes and decodes on one core
 *
 * The raw speed of the spandsp and libopus calls behind codecs/, in a
 * tight loop: 20 ms frames of speech-like noise, encoded and decoded
 * for at least --seconds of CPU time per codec. Prints frames per second
 * and what that is in real-time channels on one core (one call leg that
 * is transcoded needs one encode and one decode every 20 ms). The
 * transcoding benchmark (issue 4) compares the PBX's in-call figures
 * with these, its limit.
 *
 *     build/contrib/bench/codec_speed [SECONDS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "codec.h"
#include "g711x.h"

enum { MAX_FRAME = 960, SAMPLES = 48000 * 4 };

static int16_t audio[SAMPLES];


static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}


static void speechlike(unsigned rate)
{
	uint32_t s = 1;
	double lp = 0, lp2 = 0, a = exp(-2.0 * M_PI * 800.0 / rate);
	size_t i;

	for (i = 0; i < SAMPLES; i++) {
		double w;

		s = s * 1103515245u + 12345u;
		w = ((double)(s >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
		lp = a * lp + (1 - a) * w;
		lp2 = a * lp2 + (1 - a) * lp;
		audio[i] = (int16_t)((0.6 + 0.4 * sin(2 * M_PI * 4.0 * i /
						      rate)) * 60000.0 * lp2);
	}
}


int main(int argc, char *argv[])
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	size_t i;

	if (seconds <= 0)
		seconds = 2.0;

	printf("%-6s %12s %12s %14s %14s\n", "codec", "enc/s", "dec/s",
	       "enc+dec/s", "legs per core");

	for (i = 0; codec_table[i]; i++) {
		const struct codec *c = codec_table[i];
		struct codec_enc *enc = NULL;
		struct codec_dec *dec = NULL;
		size_t frame = codec_frame(c), nframes = SAMPLES / frame, k;
		static uint8_t pkts[SAMPLES / 160][1500];
		static size_t lens[SAMPLES / 160];
		int16_t pcm[MAX_FRAME];
		double t0, te = 0, td = 0;
		unsigned long ne = 0, nd = 0;

		speechlike(c->srate);
		if (c->enc_alloc(&enc, NULL, 0) || c->dec_alloc(&dec, NULL, 0)) {
			fprintf(stderr, "%s: cannot allocate\n", c->name);
			return 1;
		}

		/* encode and decode in turn until each had the time */
		while (te < seconds || td < seconds) {
			t0 = cpu_now();
			for (k = 0; k < nframes; k++) {
				lens[k] = sizeof(pkts[k]);
				if (c->encode(enc, pkts[k], &lens[k],
					      audio + k * frame, frame))
					return 1;
			}
			te += cpu_now() - t0;
			ne += nframes;

			t0 = cpu_now();
			for (k = 0; k < nframes; k++) {
				size_t got = MAX_FRAME;

				if (c->decode(dec, pcm, &got, pkts[k], lens[k]))
					return 1;
			}
			td += cpu_now() - t0;
			nd += nframes;
		}

		printf("%-6s %12.0f %12.0f %14.0f %14.0f\n", c->name,
		       ne / te, nd / td, 1.0 / (te / ne + td / nd),
		       1.0 / (te / ne + td / nd) / 50.0);
		c->enc_free(enc);
		c->dec_free(dec);
	}

	/* the table path: a-law <-> u-law, no codec state */
	{
		static uint8_t buf[160];
		double t0 = cpu_now(), t;
		unsigned long n = 0;

		g711x_init();
		memset(buf, 0x55, sizeof(buf));
		do {
			for (i = 0; i < 10000; i++)
				g711x_alaw_to_ulaw(buf, buf, sizeof(buf));
			n += 10000;
			t = cpu_now() - t0;
		} while (t < seconds);

		printf("%-6s %12.0f %12s %14s %14.0f\n", "A->U", n / t, "-",
		       "-", n / t / 50.0);
	}

	return 0;
}
