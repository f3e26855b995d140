/**
 * @file recorder.c  What a call leg sends, as 8 kHz linear audio
 *
 * See recorder.h. The ring indexes run free (uint32_t, masked on use):
 * the worker publishes head with a release store after writing the
 * samples, the reader publishes tail the same way after reading them.
 */
#include <stdlib.h>
#include <spandsp.h>
#include "core.h"
#include "codec.h"
#include "resample.h"
#include "media.h"
#include "media_int.h"
#include "recorder.h"

enum { DEC_MAX = 5760 };

/* the worker's scratch, one per worker thread */
static __thread int16_t dbuf[DEC_MAX];
static __thread int16_t rbuf[DEC_MAX];


struct recorder *recorder_alloc(void)
{
	return calloc(1, sizeof(struct recorder));
}


void recorder_free(struct recorder *rec)
{
	if (!rec)
		return;

	recorder_detach(rec);
	free(rec);
}


/* A key pressed, on the worker */
static void key_push(struct recorder *rec, char key)
{
	uint32_t kt = __atomic_load_n(&rec->ktail, __ATOMIC_ACQUIRE);

	if (key == '#')
		__atomic_store_n(&rec->hash, true, __ATOMIC_RELEASE);

	if (rec->khead - kt >= REC_KEYS)
		return;

	rec->keys[rec->khead & (REC_KEYS - 1)] = key;
	__atomic_store_n(&rec->khead, rec->khead + 1, __ATOMIC_RELEASE);
}


/* in-band keys (spandsp), on the worker */
static void dtmf_digits(void *arg, const char *digits, int len)
{
	struct recorder *rec = arg;
	int i;

	for (i = 0; i < len; i++)
		key_push(rec, digits[i]);
}


int recorder_attach(struct recorder *rec, const struct media_codec *mc)
{
	uint32_t rate;
	int err;

	if (!rec || !mc || !mc->codec)
		return EINVAL;

	recorder_detach(rec);

	rec->c = mc->codec;
	rec->pt = mc->pt;
	memset(&rec->keys_seen, 0, sizeof(rec->keys_seen));
	rec->te_pt = mc->te_pt;
	rate = codec_rate_for(rec->c, REC_RATE);

	err = rec->c->dec_alloc(&rec->dec, mc->fmtp, rate);
	if (err)
		return err;

	rec->dtmf = dtmf_rx_init(NULL, dtmf_digits, rec);
	if (!rec->dtmf) {
		recorder_detach(rec);
		return ENOMEM;
	}

	if (rate != REC_RATE) {
		rec->rs = malloc(sizeof(struct resampler));
		if (!rec->rs ||
		    resampler_init(rec->rs, rate, REC_RATE)) {
			recorder_detach(rec);
			return ENOMEM;
		}
	}

	__atomic_store_n(&rec->detached, false, __ATOMIC_RELEASE);
	return 0;
}


void recorder_detach(struct recorder *rec)
{
	if (!rec)
		return;

	if (rec->dec)
		rec->c->dec_free(rec->dec);
	rec->dec = NULL;
	free(rec->rs);
	rec->rs = NULL;
	if (rec->dtmf)
		dtmf_rx_free(rec->dtmf);
	rec->dtmf = NULL;
	__atomic_store_n(&rec->detached, true, __ATOMIC_RELEASE);
}


static void push(struct recorder *rec, const int16_t *x, size_t n,
		 uint64_t now)
{
	uint32_t head = rec->head;
	uint32_t tail = __atomic_load_n(&rec->tail, __ATOMIC_ACQUIRE);
	uint64_t energy = 0;
	size_t i;

	for (i = 0; i < n; i++)
		energy += (uint64_t)((int32_t)x[i] * x[i]);

	if (rec->dtmf)
		(void)dtmf_rx(rec->dtmf, x, (int)n);

	if (n && energy / n > (uint64_t)REC_VOICE_FLOOR * REC_VOICE_FLOOR)
		__atomic_store_n(&rec->last_voice_ms, now, __ATOMIC_RELAXED);

	if (rec->keys_only)
		return;

	if (REC_RING - (head - tail) < n) {
		__atomic_store_n(&rec->dropped, rec->dropped + n,
				 __ATOMIC_RELAXED);
		return;
	}

	for (i = 0; i < n; i++)
		rec->ring[(head + i) & (REC_RING - 1)] = x[i];

	__atomic_store_n(&rec->samples, rec->samples + n, __ATOMIC_RELAXED);
	__atomic_store_n(&rec->head, head + (uint32_t)n, __ATOMIC_RELEASE);
}


void recorder_packet(struct recorder *rec, const uint8_t *p, size_t len,
		     uint64_t now)
{
	size_t hlen = rtp_header_len(p, len), n = DEC_MAX;
	uint8_t pt;

	if (!rec->dec || !hlen || len <= hlen)
		return;


	pt = p[1] & 0x7f;
	if (rec->te_pt >= 0 && pt == rec->te_pt && len - hlen >= 4) {
		/* RFC 4733: every packet of one press (and the three end
		 * packets) carries the time stamp of its start */
		static const char evkeys[] = "0123456789*#ABCD";
		uint32_t ts = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) |
			((uint32_t)p[6] << 8) | p[7];

		struct recorder_keys *k = &rec->keys_seen;

		if (p[hlen] < 16 && (!k->ev_seen || ts != k->ev_ts))
			key_push(rec, evkeys[p[hlen]]);
		k->ev_seen = true;
		k->ev_ts = ts;
		return;
	}

	if (pt != rec->pt)
		return;

	if (rec->c->decode(rec->dec, dbuf, &n, p + hlen, len - hlen) || !n)
		return;

	if (rec->rs) {
		size_t m = DEC_MAX;

		if (resampler_run(rec->rs, rbuf, &m, dbuf, n))
			return;
		push(rec, rbuf, m, now);
		return;
	}

	push(rec, dbuf, n, now);
}


size_t recorder_read(struct recorder *rec, int16_t *out, size_t max)
{
	uint32_t tail = rec->tail;
	uint32_t head = __atomic_load_n(&rec->head, __ATOMIC_ACQUIRE);
	size_t n = head - tail, i;

	if (n > max)
		n = max;

	for (i = 0; i < n; i++)
		out[i] = rec->ring[(tail + i) & (REC_RING - 1)];

	__atomic_store_n(&rec->tail, tail + (uint32_t)n, __ATOMIC_RELEASE);
	return n;
}


char recorder_key(struct recorder *rec)
{
	uint32_t kt = rec->ktail;
	char key;

	if (__atomic_load_n(&rec->khead, __ATOMIC_ACQUIRE) == kt)
		return 0;

	key = rec->keys[kt & (REC_KEYS - 1)];
	__atomic_store_n(&rec->ktail, kt + 1, __ATOMIC_RELEASE);
	return key;
}
