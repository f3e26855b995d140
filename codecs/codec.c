/**
 * @file codec.c  The codec registry
 *
 * A new codec is one new file defining `const struct codec codec_NAME`,
 * one line in meson.build and one line below.
 */
#include <strings.h>
#include "codec.h"

extern const struct codec codec_pcmu;
extern const struct codec codec_pcma;
extern const struct codec codec_g722;
extern const struct codec codec_opus;

const struct codec *const codec_table[] = {
	&codec_opus,
	&codec_g722,
	&codec_pcmu,
	&codec_pcma,
	NULL,
};


const struct codec *codec_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;

	for (i = 0; codec_table[i]; i++) {
		if (!strcasecmp(codec_table[i]->name, name))
			return codec_table[i];
	}

	return NULL;
}


const struct codec *codec_find_pt(uint8_t pt)
{
	size_t i;

	for (i = 0; codec_table[i]; i++) {
		if (codec_table[i]->pt != CODEC_PT_DYNAMIC &&
		    codec_table[i]->pt == pt)
			return codec_table[i];
	}

	return NULL;
}


uint32_t codec_rate_for(const struct codec *c, uint32_t want)
{
	if (!c->any_rate)
		return c->srate;

	switch (want) {
	case 8000: case 12000: case 16000: case 24000: case 48000:
		return want;
	default:
		return c->srate;
	}
}
