/**
 * @file sleep.c  sleep MS: pause the dialplan
 *
 * A timer, not a blocking wait: media keeps flowing meanwhile.
 */
#include "core.h"
#include "app.h"


/* Longer is surely a typo (a missing unit is the usual one: "sleep 5m") */
enum { SLEEP_MAX_MS = 3600000 };


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl pl;
	int err;

	pl_set_str(&pl, data ? data : "");
	app_trim(&pl);

	if (app_pl_is_dynamic(&pl))
		return 0;

	err = app_pl_uint(&pl, SLEEP_MAX_MS, NULL);
	if (err == ERANGE)
		return app_fail(msg, msgsz, err,
				"%r ms is more than an hour", &pl);
	if (err)
		return app_fail(msg, msgsz, err,
				"'%r' is not a whole number of milliseconds",
				&pl);

	return 0;
}


const struct app app_sleep = {
	.name   = "sleep",
	.syntax = "MS",
	.descr  = "Pause the dialplan for MS milliseconds",
	.flags  = APP_NEEDS_DATA,
	.check  = check,
};
