/**
 * @file hangup.c  hangup [CAUSE]: end the call
 *
 * CAUSE is a name from the cause table (USER_BUSY, NO_ROUTE_DESTINATION,
 * ...) or its number; none is NORMAL_CLEARING. A call not yet answered is
 * refused with the cause's SIP code (cause_to_sip), an answered one gets a
 * BYE.
 */
#include <ctype.h>
#include "core.h"
#include "app.h"
#include "cause.h"


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl pl;
	uint32_t num;

	pl_set_str(&pl, data ? data : "");
	app_trim(&pl);

	if (!pl.l || app_pl_is_dynamic(&pl))
		return 0;

	if (isdigit((unsigned char)pl.p[0])) {
		if (app_pl_uint(&pl, 9999, &num) || !cause_by_number((int)num))
			return app_fail(msg, msgsz, EINVAL,
					"unknown cause number '%r'", &pl);
		return 0;
	}

	if (!cause_by_pl(&pl))
		return app_fail(msg, msgsz, EINVAL,
				"unknown cause '%r' (a name such as"
				" NORMAL_CLEARING or USER_BUSY, or a Q.850"
				" number)", &pl);

	return 0;
}


const struct app app_hangup = {
	.name   = "hangup",
	.syntax = "[CAUSE]",
	.descr  = "End the call with CAUSE (default NORMAL_CLEARING)",
	.flags  = APP_ENDS_CALL,
	.check  = check,
};
