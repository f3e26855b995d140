/**
 * @file voicemail.c  voicemail MAILBOX: leave a message
 *
 * Answers, plays the mailbox's greeting and records a message into
 * MAILBOX (a user's mailbox attribute in the directory, usually the
 * extension: voicemail $1 after bridge user/$1).
 */
#include "core.h"
#include "app.h"


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl rest, box, more;

	pl_set_str(&rest, data ? data : "");

	if (!app_word(&rest, &box))
		return app_fail(msg, msgsz, EINVAL, "no mailbox");

	if (app_word(&rest, &more))
		return app_fail(msg, msgsz, EINVAL,
				"'%r' after the mailbox: one mailbox only",
				&more);

	return app_check_mailbox(&box, msg, msgsz);
}


const struct app app_voicemail = {
	.name   = "voicemail",
	.syntax = "MAILBOX",
	.descr  = "Record a message for MAILBOX after its greeting",
	.flags  = APP_NEEDS_DATA | APP_MEDIA,
	.check  = check,
};
