/**
 * @file ring_ready.c  ring_ready: tell the caller the callee is ringing
 */
#include "core.h"
#include "app.h"


const struct app app_ring_ready = {
	.name   = "ring_ready",
	.syntax = "",
	.descr  = "Send 180 Ringing (the caller's phone plays ringback)",
	.flags  = APP_NONE,
	.check  = app_check_none,
};
