/**
 * @file pre_answer.c  pre_answer: early media before answering
 *
 * For announcements and tones the caller should hear without the call
 * being answered (and billed).
 */
#include "core.h"
#include "app.h"


const struct app app_pre_answer = {
	.name   = "pre_answer",
	.syntax = "",
	.descr  = "Send 183 Session Progress and start early media",
	.flags  = APP_MEDIA,
	.check  = app_check_none,
};
