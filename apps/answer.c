/**
 * @file answer.c  answer: answer the call
 */
#include "core.h"
#include "app.h"


const struct app app_answer = {
	.name   = "answer",
	.syntax = "",
	.descr  = "Answer the call (200 OK) and start its media",
	.flags  = APP_MEDIA,
	.check  = app_check_none,
};
