/**
 * @file export.c  export VAR=VALUE: set a variable here and on the b-legs
 *
 * Like set, and the legs a later bridge creates inherit the variable.
 */
#include "core.h"
#include "app.h"


const struct app app_export = {
	.name   = "export",
	.syntax = "VAR=VALUE",
	.descr  = "Set VAR to VALUE on this call and on the legs it bridges to",
	.flags  = APP_NEEDS_DATA,
	.check  = app_check_assign,
};
