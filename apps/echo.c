/**
 * @file echo.c  echo: send the caller's audio back to the caller
 *
 * For testing a phone's audio path and the round-trip delay.
 */
#include "core.h"
#include "app.h"


const struct app app_echo = {
	.name   = "echo",
	.syntax = "",
	.descr  = "Send the caller's audio back to the caller (audio test)",
	.flags  = APP_MEDIA,
	.check  = app_check_none,
};
