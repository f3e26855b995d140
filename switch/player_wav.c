/**
 * @file player_wav.c  WAV file source (librem aufile)
 *
 * This file includes librem and never spandsp (LIBRARY-NOTES.md 0).
 */
#include "core.h"
#include <rem.h>
#include "player.h"

struct wav {
	struct aufile *af;
	enum aufmt fmt;
};


static void wav_destructor(void *arg)
{
	struct wav *w = arg;

	mem_deref(w->af);
}


static int wav_read(void *st, int16_t *buf, size_t n)
{
	struct wav *w = st;
	uint8_t raw[640];
	size_t sz, i;

	if (w->fmt == AUFMT_S16LE) {
		sz = n * 2;
		if (aufile_read(w->af, (uint8_t *)buf, &sz) || !sz)
			return 0;
		return (int)(sz / 2);
	}

	sz = n < sizeof(raw) ? n : sizeof(raw);
	if (aufile_read(w->af, raw, &sz) || !sz)
		return 0;

	for (i = 0; i < sz; i++)
		buf[i] = w->fmt == AUFMT_PCMA ? g711_alaw2pcm(raw[i])
			: g711_ulaw2pcm(raw[i]);

	return (int)sz;
}


int player_wav_open(struct player_src *src, const char *path)
{
	struct aufile_prm prm;
	struct wav *w;
	int err;

	w = mem_zalloc(sizeof(*w), wav_destructor);
	if (!w)
		return ENOMEM;

	err = aufile_open(&w->af, &prm, path, AUFILE_READ);
	if (err)
		goto out;

	/* prompts are made at set-up for telephony: 8 kHz mono */
	if (prm.srate != 8000 || prm.channels != 1 ||
	    (prm.fmt != AUFMT_S16LE && prm.fmt != AUFMT_PCMA &&
	     prm.fmt != AUFMT_PCMU)) {
		log_warn("playback: %s is %u Hz, %u channel(s): 8000 Hz mono "
			 "PCM or G.711 is needed", path, prm.srate,
			 prm.channels);
		err = ENOTSUP;
		goto out;
	}

	w->fmt = prm.fmt;
	src->read = wav_read;
	src->st = w;

 out:
	if (err)
		mem_deref(w);
	return err;
}
