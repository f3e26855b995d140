/**
 * @file voicemail_check.c  voicemail_check [MAILBOX]: a mailbox's owner
 *
 * Answers and asks for the PIN of MAILBOX (without MAILBOX, first for
 * the mailbox number), then leads the owner through spoken menus:
 * messages (play, repeat, next, previous, delete, save, call back),
 * greetings and the PIN (switch/call_vmbox.c). The default dialplan
 * has *97 (voicemail_check ${caller_mailbox}) and *98 (asked).
 */
#include "core.h"
#include "app.h"


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl rest, box, more;

	pl_set_str(&rest, data ? data : "");

	if (!app_word(&rest, &box))
		return 0;                      /* the mailbox is asked */

	if (app_word(&rest, &more))
		return app_fail(msg, msgsz, EINVAL,
				"'%r' after the mailbox: one mailbox only",
				&more);

	return app_check_mailbox(&box, msg, msgsz);
}


const struct app app_voicemail_check = {
	.name   = "voicemail_check",
	.syntax = "[MAILBOX]",
	.descr  = "A mailbox's owner: PIN, messages, greetings (no MAILBOX:"
		  " asked)",
	.flags  = APP_MEDIA,
	.check  = check,
};
