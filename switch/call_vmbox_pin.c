/**
 * @file call_vmbox_pin.c  voicemail_check: login and PIN changes
 *
 * An unknown mailbox fails as a wrong PIN does; three wrong logins end
 * the call; the mailbox's lock-out is vm_box.c's. A new PIN is keyed
 * twice and kept hashed (vm_pin_set).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "core.h"
#include "config.h"
#include "events.h"
#include "media.h"
#include "player.h"
#include "store.h"
#include "vm.h"
#include "call.h"
#include "call_int.h"
#include "call_vmbox.h"


static void login_failed(struct vmbox *vb)
{
	if (++vb->fails >= LOGIN_TRIES) {
		log_info("%s: voicemail %s: %u wrong logins: the call ends",
			 vb->call->id, vb->box, vb->fails);
		vb_say(vb, "vm-login-incorrect");
		vb_goodbye(vb);
		return;
	}

	vb_say(vb, "vm-login-incorrect");
	vb_go(vb, vb->ask_box ? VB_BOX : VB_PIN);
}


void vb_check_pin(struct vmbox *vb)
{
	struct call *call = vb->call;
	char from[64];
	int err;

	(void)re_snprintf(from, sizeof(from), "%J", &call->inv->src);

	/* an unknown mailbox fails as a wrong PIN does: the caller learns
	 * nothing of which mailboxes exist */
	vb->owner = call_mailbox_owner(call->cfg, vb->box);
	if (!vb->owner) {
		log_info("%s: voicemail: login to unknown mailbox %s from %s",
			 call->id, vb->box, from);
		login_failed(vb);
		return;
	}

	if (vm_pin_locked(vb->vm, vb->box, call_now_ms())) {
		log_warn("%s: voicemail %s: locked out; login from %s refused",
			 call->id, vb->box, from);
		login_failed(vb);
		return;
	}

	err = vm_pin_check(vb->vm, vb->box, vb->owner->vm_pin, vb->in);
	memset(vb->in, 0, sizeof(vb->in));
	if (err) {
		log_info("%s: voicemail %s: wrong PIN from %s (%s)", call->id,
			 vb->box, from, err == ENOENT ? "the mailbox has none" :
			 "refused");
		if (err == EACCES)
			vm_pin_failed(vb->vm, vb->box, from, call_now_ms());
		login_failed(vb);
		return;
	}

	vm_pin_ok(vb->vm, vb->box);
	vb_logged_in(vb);
}


void vb_new_pin(struct vmbox *vb)
{
	if (vb->st == VB_NEWPIN) {
		if (vb->in_over || vb->inlen < PIN_MIN || vb->inlen > PIN_MAX) {
			vb_say(vb, "vm-pin-invalid");
			vb_go(vb, VB_NEWPIN);
			return;
		}
		str_ncpy(vb->newpin, vb->in, sizeof(vb->newpin));
		vb_go(vb, VB_NEWPIN2);
		return;
	}

	if (vb->in_over || strcmp(vb->in, vb->newpin)) {
		vb_say(vb, "vm-pin-mismatch");
		vb_go(vb, VB_NEWPIN);
		return;
	}

	if (vm_pin_set(vb->vm, vb->box, vb->newpin)) {
		log_warn("%s: voicemail %s: the new PIN was not stored",
			 vb->call->id, vb->box);
		vb_goodbye(vb);
		return;
	}

	log_info("%s: voicemail %s: PIN changed by phone", vb->call->id,
		 vb->box);
	memset(vb->newpin, 0, sizeof(vb->newpin));
	vb_say(vb, "vm-pin-changed");
	if (vb->first_pin) {
		vb->first_pin = false;
		vb_logged_in(vb);
		return;
	}
	vb_go(vb, VB_OPTS);
}
