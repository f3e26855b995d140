/**
 * @file set.c  set VAR=VALUE: set a variable of the call
 *
 * VALUE is taken as written, blanks included; an empty one sets VAR to ""
 * (unset removes it).
 */
#include "core.h"
#include "app.h"


const struct app app_set = {
	.name   = "set",
	.syntax = "VAR=VALUE",
	.descr  = "Set the call variable VAR to VALUE",
	.flags  = APP_NEEDS_DATA,
	.check  = app_check_assign,
};
