/**
 * @file unset.c  unset VAR: remove a variable of the call
 */
#include "core.h"
#include "app.h"


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl pl;

	pl_set_str(&pl, data ? data : "");
	app_trim(&pl);

	if (pl_strchr(&pl, '='))
		return app_fail(msg, msgsz, EINVAL,
				"'%r': unset takes a name only (set VAR= to"
				" empty it)", &pl);

	if (!app_pl_valid(&pl, "_.-"))
		return app_fail(msg, msgsz, EINVAL,
				"invalid variable name '%r' (letters, digits,"
				" _ . -)", &pl);

	return 0;
}


const struct app app_unset = {
	.name   = "unset",
	.syntax = "VAR",
	.descr  = "Remove the call variable VAR",
	.flags  = APP_NEEDS_DATA,
	.check  = check,
};
