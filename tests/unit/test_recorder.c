/**
 * @file test_recorder.c  Keys and audio out of a leg (switch/recorder.c)
 *
 * The worker's side is called directly with RTP packets: PCMU audio and
 * RFC 4733 events (payload type 101). Each key press counts once
 * whatever the number of its packets; the rest of a press the leg's
 * last recorder saw does not count (the '#' that ended a recording,
 * seen by the menu's listener that follows; the relay hands the time
 * stamp on), while a press whose first packet came before any recorder
 * does (a phone that keys at once); an in-band
 * key is found in the audio; a keys-only recorder keeps no audio.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "core.h"
#include "codec.h"
#include "media.h"
#include "recorder.h"
#include "player.h"

enum { TE_PT = 101 };


static struct recorder *attach(bool keys_only)
{
	struct media_codec mc;
	struct recorder *rec = recorder_alloc();

	assert_non_null(rec);
	memset(&mc, 0, sizeof(mc));
	mc.codec = codec_find("PCMU");
	assert_non_null(mc.codec);
	mc.pt = 0;
	mc.te_pt = TE_PT;
	mc.te_clock = 8000;
	rec->keys_only = keys_only;
	assert_int_equal(recorder_attach(rec, &mc), 0);

	return rec;
}


static size_t header(uint8_t *p, uint8_t pt, uint16_t seq, uint32_t ts)
{
	p[0] = 0x80;
	p[1] = pt;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	memset(p + 8, 0, 4);

	return 12;
}


/* One RFC 4733 packet of event ev (the first of an event: marker) */
static void event(struct recorder *rec, uint8_t ev, bool end, bool first,
		  uint16_t seq, uint32_t ts, uint64_t now)
{
	uint8_t p[16];
	size_t h = header(p, TE_PT, seq, ts);

	if (first)
		p[1] |= 0x80;
	p[h] = ev;
	p[h + 1] = (uint8_t)(10 | (end ? 0x80 : 0));
	p[h + 2] = 0;
	p[h + 3] = 160;
	recorder_packet(rec, p, h + 4, now);
}


/* A whole press: three packets while down, three end packets */
static void press(struct recorder *rec, uint8_t ev, uint16_t *seq,
		  uint32_t ts, uint64_t now)
{
	int i;

	for (i = 0; i < 6; i++)
		event(rec, ev, i >= 3, i == 0, (*seq)++, ts,
		      now + 20 * (uint64_t)i);
}


/* 20 ms of PCMU with x(i) */
static void audio(struct recorder *rec, const int16_t *x, uint16_t seq,
		  uint32_t ts, uint64_t now)
{
	uint8_t p[12 + 160];
	size_t h = header(p, 0, seq, ts);

	player_g711_encode(p + h, x, 160, false);
	recorder_packet(rec, p, h + 160, now);
}


static void test_events(void **state)
{
	struct recorder *rec = attach(true);
	uint16_t seq = 1;
	(void)state;

	/* the rest of the press the last recorder of the leg saw (the
	 * relay hands its time stamp on): not a key */
	rec->keys_seen.ev_ts = 1000;
	rec->keys_seen.ev_seen = true;
	event(rec, 11, false, false, seq++, 1000, 5000);
	event(rec, 11, true, false, seq++, 1000, 5020);
	event(rec, 11, true, false, seq++, 1000, 5040);
	assert_int_equal(recorder_key(rec), 0);
	assert_false(rec->hash);

	press(rec, 1, &seq, 2000, 6000);
	press(rec, 1, &seq, 3600, 6500);       /* the same key again */
	press(rec, 10, &seq, 5200, 7000);
	press(rec, 11, &seq, 6800, 7500);

	assert_int_equal(recorder_key(rec), '1');
	assert_int_equal(recorder_key(rec), '1');
	assert_int_equal(recorder_key(rec), '*');
	assert_int_equal(recorder_key(rec), '#');
	assert_int_equal(recorder_key(rec), 0);
	assert_true(rec->hash);

	/* later, a press whose first packet was lost still counts */
	event(rec, 7, false, false, seq++, 9000, 9000);
	event(rec, 7, true, false, seq++, 9000, 9020);
	assert_int_equal(recorder_key(rec), '7');
	assert_int_equal(recorder_key(rec), 0);

	/* keys only: no audio kept */
	assert_int_equal(rec->head, 0);

	recorder_free(rec);
}


/* The first press of a call whose first packet came before the
 * recorder was attached (a phone keys at once): still a key */
static void test_first_press_cut(void **state)
{
	struct recorder *rec = attach(true);
	(void)state;

	event(rec, 1, false, false, 10, 2000, 100);
	event(rec, 1, true, false, 11, 2000, 120);
	event(rec, 1, true, false, 12, 2000, 140);
	assert_int_equal(recorder_key(rec), '1');
	assert_int_equal(recorder_key(rec), 0);

	recorder_free(rec);
}


static void test_queue_full(void **state)
{
	struct recorder *rec = attach(true);
	uint16_t seq = 1;
	unsigned i, n = 0;
	(void)state;

	for (i = 0; i < REC_KEYS + 8; i++)
		press(rec, (uint8_t)(i % 10), &seq, 1000 + 1600 * i,
		      1000 + 200 * (uint64_t)i);

	/* the first REC_KEYS, in order; the rest dropped */
	while (recorder_key(rec)) {
		++n;
	}
	assert_int_equal(n, REC_KEYS);

	recorder_free(rec);
}


/* '5' as an in-band tone (770 + 1336 Hz, 100 ms) in the audio, which a
 * recorder with audio keeps */
static void test_inband(void **state)
{
	struct recorder *rec = attach(false);
	int16_t x[160], out[800];
	uint32_t ts = 0;
	uint16_t seq = 1;
	unsigned k, i, n = 0;
	(void)state;

	for (k = 0; k < 20; k++) {
		for (i = 0; i < 160; i++) {
			double t = (double)(k * 160 + i) / 8000.0;

			x[i] = (k >= 5 && k < 10) ? (int16_t)(
				5000 * sin(2 * M_PI * 770 * t) +
				5000 * sin(2 * M_PI * 1336 * t)) : 0;
		}
		audio(rec, x, seq++, ts, 1000 + 20 * (uint64_t)k);
		ts += 160;
	}

	assert_int_equal(recorder_key(rec), '5');
	assert_int_equal(recorder_key(rec), 0);

	while ((i = (unsigned)recorder_read(rec, out, 800)) > 0)
		n += i;
	assert_int_equal(n, 20 * 160);

	recorder_free(rec);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_first_press_cut),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_inband),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
