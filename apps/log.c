/**
 * @file log.c  log [LEVEL ]MESSAGE: write a line to the daemon's log
 *
 * LEVEL is one of DEBUG INFO NOTICE WARNING ERR, in capitals (so that a
 * message starting with "Debug" or "info" is not taken for a level);
 * without one the line is logged at INFO. The call's id starts the line,
 * as for every call-related line.
 */
#include "core.h"
#include "app.h"


static const char *const levels[] = {
	"DEBUG", "INFO", "NOTICE", "WARNING", "ERR"
};

/* What FreeSWITCH and syslog users type: an error, not a message that
 * happens to start with CRIT */
static const char *const foreign_levels[] = {
	"CONSOLE", "ALERT", "CRIT", "EMERG", "ERROR", "WARN"
};


static bool in(const struct pl *w, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!pl_strcmp(w, v[i]))
			return true;
	}

	return false;
}


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl rest, word;

	pl_set_str(&rest, data ? data : "");

	if (!app_word(&rest, &word))
		return app_fail(msg, msgsz, EINVAL, "no message");

	app_trim(&rest);

	if (in(&word, levels, ARRAY_SIZE(levels))) {
		if (!rest.l)
			return app_fail(msg, msgsz, EINVAL,
					"no message after %r", &word);
		return 0;
	}

	if (rest.l && in(&word, foreign_levels, ARRAY_SIZE(foreign_levels)))
		return app_fail(msg, msgsz, EINVAL,
				"unknown log level %r (DEBUG, INFO, NOTICE,"
				" WARNING, ERR)", &word);

	return 0;
}


const struct app app_log = {
	.name   = "log",
	.syntax = "[DEBUG|INFO|NOTICE|WARNING|ERR ]MESSAGE",
	.descr  = "Write MESSAGE to the log, at INFO unless a level is given",
	.flags  = APP_NEEDS_DATA,
	.check  = check,
};
