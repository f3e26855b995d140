/**
 * @file resample.h  Sample rate conversion by whole ratios: 8, 16, 48 kHz
 *
 * The rates a call's legs can be at (G.711 8 kHz, G.722 16 kHz, Opus up
 * to 48 kHz) are whole multiples of each other, so one polyphase FIR
 * filter does it: up by L (zeros stuffed, low-passed) or down by M
 * (low-passed, every M-th kept). The filter is a Kaiser-windowed sinc,
 * 32 taps per phase, cut off a little under the lower rate's Nyquist
 * frequency (about 70 dB down in the stop band). The state is a plain
 * struct the caller embeds: nothing is allocated, set up once per leg.
 */
#ifndef CODECS_RESAMPLE_H
#define CODECS_RESAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RS_TAPS_PER_PHASE = 32,
	RS_MAX_RATIO      = 6,
	RS_MAX_TAPS       = RS_TAPS_PER_PHASE * RS_MAX_RATIO,
	RS_CHUNK          = 960,     /* inputs handled per pass */
};

struct resampler {
	uint32_t from, to;
	unsigned up, down;           /* one of them is 1 */
	unsigned taps;               /* up * or down * RS_TAPS_PER_PHASE */
	unsigned hist;               /* inputs kept between calls */
	float h[RS_MAX_TAPS];        /* low-pass, sum 1 */
	/* the same, laid out for the loops: reversed (down), or one
	 * reversed run of RS_TAPS_PER_PHASE per output phase (up) */
	float hr[RS_MAX_TAPS];
	float x[RS_MAX_TAPS + RS_CHUNK];
};

/** Set up from -> to (8000, 12000, 16000, 24000, 48000; a whole ratio
 *  of at most 6 either way, or equal: a copy). EINVAL otherwise. */
int  resampler_init(struct resampler *rs, uint32_t from, uint32_t to);

/** Convert n samples. *outn: room in out, then what was written (n x
 *  to / from; n must be a multiple of the down ratio). */
int  resampler_run(struct resampler *rs, int16_t *out, size_t *outn,
		   const int16_t *in, size_t n);

/** The filter's delay in output samples (for tests and alignment) */
unsigned resampler_delay(const struct resampler *rs);

#endif
