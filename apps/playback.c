/**
 * @file playback.c  playback FILE|TONE: play a WAV file or a tone
 *
 * FILE is the path of a WAV file (whether it exists is known only once
 * the call engine knows its sounds directory). TONE is generated:
 *
 *   tone://FREQ[+FREQ2],ON_MS,OFF_MS[,REPEAT]
 *
 * FREQ (and FREQ2, played together: 350+440 is a dial tone) in Hz; ON_MS
 * of tone then OFF_MS of silence, REPEAT times, or until the call moves on
 * when REPEAT is 0 or left out. tone://425,1000,4000 is a European
 * ringback, tone://480+620,500,500 a North American busy signal.
 */
#include "core.h"
#include "app.h"


enum {
	/* Under half the 8 kHz sample rate of G.711, whatever the codec */
	TONE_FREQ_MAX   = 3999,
	/* Longer is surely a typo: a minute of tone, or of silence */
	TONE_MS_MAX     = 60000,
	TONE_REPEAT_MAX = 10000,
};

static const char tone_prefix[] = "tone://";


/* One number field of a tone, dynamic fields pass */
static int tone_num(const struct pl *f, uint32_t min, uint32_t max,
		    const char *what, char *msg, size_t msgsz)
{
	uint32_t v;
	int err;

	if (app_pl_is_dynamic(f))
		return 0;

	err = app_pl_uint(f, max, &v);
	if (!err && v < min)
		err = ERANGE;

	if (err == ERANGE)
		return app_fail(msg, msgsz, err, "tone %s %r: must be %u..%u",
				what, f, min, max);
	if (err)
		return app_fail(msg, msgsz, err,
				"tone %s '%r' is not a whole number", what, f);

	return 0;
}


static int check_tone(const struct pl *spec, char *msg, size_t msgsz)
{
	struct pl rest = *spec, f[5], freqs, fq;
	unsigned n = 0, nf = 0;
	int err;

	while (n < ARRAY_SIZE(f) && app_field(&rest, &f[n], ','))
		++n;

	if (n < 3 || n > 4) {
		/* One variable may stand for several fields */
		if (n < 3 && app_pl_is_dynamic(spec))
			return 0;

		return app_fail(msg, msgsz, EINVAL,
				"tone '%r': tone://FREQ[+FREQ2],ON_MS,OFF_MS"
				"[,REPEAT]", spec);
	}

	freqs = f[0];
	while (app_field(&freqs, &fq, '+')) {
		if (++nf > 2)
			return app_fail(msg, msgsz, EINVAL,
					"tone '%r': at most two frequencies",
					spec);

		err = tone_num(&fq, 1, TONE_FREQ_MAX, "frequency",
			       msg, msgsz);
		if (err)
			return err;
	}

	err = tone_num(&f[1], 1, TONE_MS_MAX, "ON_MS", msg, msgsz);
	if (!err)
		err = tone_num(&f[2], 0, TONE_MS_MAX, "OFF_MS", msg, msgsz);
	if (!err && n == 4)
		err = tone_num(&f[3], 0, TONE_REPEAT_MAX, "REPEAT",
			       msg, msgsz);

	return err;
}


static int check(const char *data, char *msg, size_t msgsz)
{
	const size_t plen = sizeof(tone_prefix) - 1;
	struct pl pl, ext;
	const char *colon;

	pl_set_str(&pl, data ? data : "");
	app_trim(&pl);

	if (pl.l >= plen && !memcmp(pl.p, tone_prefix, plen)) {
		struct pl spec = {pl.p + plen, pl.l - plen};

		return check_tone(&spec, msg, msgsz);
	}

	if (app_pl_is_dynamic(&pl))
		return 0;

	/* "http://...", "say:..." and the like of other PBXs */
	colon = pl_strchr(&pl, ':');
	if (colon && (size_t)(colon - pl.p) < pl.l - 2 &&
	    colon[1] == '/' && colon[2] == '/')
		return app_fail(msg, msgsz, EINVAL,
				"'%r': only WAV files and tone:// can be"
				" played", &pl);

	ext.l = 4;
	ext.p = pl.l > ext.l ? pl.p + pl.l - ext.l : pl.p;
	if (pl.l <= ext.l || pl_strcasecmp(&ext, ".wav"))
		return app_fail(msg, msgsz, EINVAL,
				"'%r' is not a .wav file or a"
				" tone://FREQ,ON_MS,OFF_MS", &pl);

	return 0;
}


const struct app app_playback = {
	.name   = "playback",
	.syntax = "FILE.wav|tone://FREQ[+FREQ2],ON_MS,OFF_MS[,REPEAT]",
	.descr  = "Play a WAV file or a tone to the caller",
	.flags  = APP_NEEDS_DATA | APP_MEDIA,
	.check  = check,
};
