/**
 * @file player_tone.c  Tone source and G.711 encoding (spandsp)
 *
 * This file includes spandsp and never librem (LIBRARY-NOTES.md 0).
 */
#include <stdlib.h>
#include <spandsp.h>
#include "core.h"
#include "player.h"

struct tone {
	tone_gen_descriptor_t *desc;
	tone_gen_state_t *gen;
	uint64_t left;          /* samples to go; UINT64_MAX: no end */
};


static void tone_destructor(void *arg)
{
	struct tone *t = arg;

	if (t->gen)
		tone_gen_free(t->gen);
	if (t->desc)
		tone_gen_descriptor_free(t->desc);
}


static int tone_read(void *st, int16_t *buf, size_t n)
{
	struct tone *t = st;
	int got;

	if (!t->left)
		return 0;
	if (t->left < n)
		n = (size_t)t->left;

	got = tone_gen(t->gen, buf, (int)n);
	if (got < (int)n)      /* the generator's cadence ended */
		memset(buf + got, 0, (n - (size_t)got) * sizeof(*buf));

	if (t->left != UINT64_MAX)
		t->left -= n;

	return (int)n;
}


/* tone://FREQ[+FREQ2],ON_MS,OFF_MS[,REPEAT] */
int player_tone_open(struct player_src *src, const char *spec)
{
	unsigned f1, f2 = 0, on, off, repeat = 0;
	const char *p = spec + 7;
	struct tone *t;
	int n;

	if (strncmp(spec, "tone://", 7))
		return EINVAL;

	n = sscanf(p, "%u+%u,%u,%u,%u", &f1, &f2, &on, &off, &repeat);
	if (n < 4) {
		f2 = 0;
		repeat = 0;
		n = sscanf(p, "%u,%u,%u,%u", &f1, &on, &off, &repeat);
		if (n < 3)
			return EINVAL;
	}
	if (!f1 || f1 >= 4000 || f2 >= 4000 || !on)
		return EINVAL;

	t = mem_zalloc(sizeof(*t), tone_destructor);
	if (!t)
		return ENOMEM;

	/* -10 dBm0 per frequency; off 0 means a steady tone */
	t->desc = tone_gen_descriptor_init(NULL, (int)f1, -10,
					   f2 ? (int)f2 : 0, f2 ? -10 : 0,
					   (int)on, (int)off, 0, 0,
					   repeat != 1);
	t->gen = t->desc ? tone_gen_init(NULL, t->desc) : NULL;
	if (!t->gen) {
		mem_deref(t);
		return ENOMEM;
	}

	t->left = repeat ? (uint64_t)(on + off) * repeat * 8 : UINT64_MAX;

	src->read = tone_read;
	src->st = t;
	return 0;
}


void player_g711_encode(uint8_t *out, const int16_t *in, size_t n,
			bool alaw)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = alaw ? linear_to_alaw(in[i]) : linear_to_ulaw(in[i]);
}
