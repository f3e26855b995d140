/**
 * @file resample.c  Sample rate conversion by whole ratios (polyphase FIR)
 *
 * Up by L: each input x[n] gives L outputs, y[nL + p] = L sum_k
 * h[kL + p] x[n - k] (the zeros between the inputs are never multiplied).
 * Down by M: y[m] = sum_j h[j] x[mM - j], only the kept outputs worked
 * out. Both filters have an odd length, so the delay is a whole number
 * of output samples (half a sample would smear a tone's phase). h is
 * designed at set-up: sinc cut off at 0.46 / max(L, M) of the
 * higher rate, times a Kaiser window (beta 7).
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "resample.h"


/* the modified Bessel function I0, by its series */
static double bessel_i0(double x)
{
	double sum = 1.0, term = 1.0, q = x * x / 4.0;
	int k;

	for (k = 1; k < 50 && term > sum * 1e-12; k++) {
		term *= q / ((double)k * k);
		sum  += term;
	}

	return sum;
}


static void design(float *h, unsigned n, unsigned ratio)
{
	const double beta = 7.0;
	double fc = 0.46 / ratio, mid = (n - 1) / 2.0, sum = 0.0;
	double tmp[RS_MAX_TAPS];
	unsigned i;

	for (i = 0; i < n; i++) {
		double t = i - mid, r = 2.0 * t / (n - 1);
		double s = t == 0.0 ? 2.0 * fc :
			sin(2.0 * M_PI * fc * t) / (M_PI * t);
		double w = bessel_i0(beta * sqrt(1.0 - r * r)) /
			bessel_i0(beta);

		tmp[i] = s * w;
		sum += tmp[i];
	}

	for (i = 0; i < n; i++)
		h[i] = (float)(tmp[i] / sum);
}


/* hr: for down, h reversed; for up, phase p's taps h[kL + p], k from
 * K-1 down to 0, at hr[p K ...] */
static void layout(struct resampler *rs)
{
	unsigned i, p, k;

	if (rs->down > 1) {
		for (i = 0; i < rs->taps; i++)
			rs->hr[i] = rs->h[rs->taps - 1 - i];
		return;
	}

	for (p = 0; p < rs->up; p++)
		for (k = 0; k < RS_TAPS_PER_PHASE; k++)
			rs->hr[p * RS_TAPS_PER_PHASE + k] =
				rs->h[(RS_TAPS_PER_PHASE - 1 - k) * rs->up + p];
}


/* sum of a[i] b[i], four sums at a time (the order of a float sum is
 * kept fixed, so the compiler does not vectorise it on its own) */
static inline float dot(const float *a, const float *b, unsigned n)
{
	float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
	unsigned i = 0;

	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];

	return (s0 + s1) + (s2 + s3);
}


static bool rate_ok(uint32_t r)
{
	return r == 8000 || r == 12000 || r == 16000 || r == 24000 ||
		r == 48000;
}


int resampler_init(struct resampler *rs, uint32_t from, uint32_t to)
{
	if (!rs || !rate_ok(from) || !rate_ok(to))
		return EINVAL;

	memset(rs, 0, sizeof(*rs));
	rs->from = from;
	rs->to   = to;

	if (from == to) {
		rs->up = rs->down = 1;
		return 0;
	}

	if (to > from && to % from == 0 && to / from <= RS_MAX_RATIO) {
		rs->up = to / from;
		rs->down = 1;
		/* odd: a whole number of samples of delay */
		rs->taps = rs->up * RS_TAPS_PER_PHASE - 1;
		rs->hist = RS_TAPS_PER_PHASE - 1;
		design(rs->h, rs->taps, rs->up);
		layout(rs);
		return 0;
	}

	if (from > to && from % to == 0 && from / to <= RS_MAX_RATIO) {
		rs->down = from / to;
		rs->up = 1;
		/* odd, and the delay a whole number of outputs */
		rs->taps = rs->down * (RS_TAPS_PER_PHASE - 2) + 1;
		rs->hist = rs->taps - 1;
		design(rs->h, rs->taps, rs->down);
		layout(rs);
		return 0;
	}

	return EINVAL;
}


static inline int16_t sat16(float v)
{
	if (v >= 32767.0f)
		return 32767;
	if (v <= -32768.0f)
		return -32768;

	return (int16_t)lrintf(v);
}


/* x: hist older inputs, then n new ones */
static size_t run_up(const struct resampler *rs, int16_t *out, size_t n)
{
	const unsigned L = rs->up, K = RS_TAPS_PER_PHASE;
	const float *x = rs->x + rs->hist;   /* x[i]: the i-th new input */
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		const float *xi = x + (ptrdiff_t)i - (ptrdiff_t)(K - 1);
		unsigned p;

		for (p = 0; p < L; p++)
			out[o++] = sat16(dot(rs->hr + p * K, xi, K) *
					 (float)L);
	}

	return o;
}


static size_t run_down(const struct resampler *rs, int16_t *out, size_t n)
{
	const unsigned M = rs->down, N = rs->taps;
	const float *x = rs->x + rs->hist;
	size_t i, o = 0;

	for (i = 0; i < n; i += M)
		out[o++] = sat16(dot(rs->hr, x + (ptrdiff_t)i -
				     (ptrdiff_t)(N - 1), N));

	return o;
}


int resampler_run(struct resampler *rs, int16_t *out, size_t *outn,
		  const int16_t *in, size_t n)
{
	size_t done = 0, o = 0;

	if (!rs || !out || !outn || (!in && n))
		return EINVAL;

	if (n % rs->down || n / rs->down * rs->up > *outn)
		return EINVAL;

	if (rs->up == rs->down) {
		memcpy(out, in, n * sizeof(*in));
		*outn = n;
		return 0;
	}

	while (done < n) {
		/* a chunk a multiple of the down ratio (RS_CHUNK is of 2,
		 * 3 and 6) */
		size_t m = n - done < RS_CHUNK ? n - done : RS_CHUNK;
		size_t i;

		for (i = 0; i < m; i++)
			rs->x[rs->hist + i] = (float)in[done + i];

		o += rs->up > 1 ? run_up(rs, out + o, m) :
			run_down(rs, out + o, m);

		/* keep the last hist inputs for the next chunk */
		memmove(rs->x, rs->x + m, rs->hist * sizeof(float));
		done += m;
	}

	*outn = o;
	return 0;
}


unsigned resampler_delay(const struct resampler *rs)
{
	if (!rs || rs->up == rs->down)
		return 0;

	/* (taps - 1) / 2 samples at the higher rate */
	return rs->up > 1 ? (rs->taps - 1) / 2 : (rs->taps - 1) / 2 /
		rs->down;
}
