/**
 * @file call_vmbox.c  voicemail_check: a mailbox's owner on the phone
 *
 * The owner logs in (the mailbox number when the dialplan did not give
 * it, then the PIN; three wrong attempts end the call) and is led by
 * spoken menus: the count of new and saved messages, each message with
 * who left it (play, repeat, next, previous, delete, save, call back),
 * and the mailbox options (the unavailable, busy and name greetings,
 * the PIN). The owner of the mailbox calling from their own phone sets
 * a PIN first if the mailbox has none.
 *
 * Prompts are CONFDIR/sounds/NAME.wav (contrib/prompts.txt), played one
 * after another from a queue; a key stops them (the caller need not
 * hear a menu to the end). Keys come from a key listener on the caller's
 * leg (vm_keys_start: RFC 4733 events or in-band tones), read every
 * KEY_POLL_MS on the signalling thread; while a greeting is recorded the
 * recording listens instead (one per leg).
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


static void vmbox_destructor(void *arg)
{
	struct vmbox *vb = arg;

	if (vb->keys) {
		vm_rec_stop(vb->keys);
		vm_rec_forget(vb->keys);
	}
	if (vb->rec) {
		vm_rec_stop(vb->rec);
		vm_rec_forget(vb->rec);
	}
	mem_deref(vb->msgs);
	memset(vb->in, 0, sizeof(vb->in));
	memset(vb->newpin, 0, sizeof(vb->newpin));
}


/* ---- the queue of prompts ---- */

void vb_q_clear(struct vmbox *vb)
{
	vb->qn = vb->qi = 0;
	vb->msg_qi = -1;
}


void vb_q_path(struct vmbox *vb, const char *path)
{
	if (vb->qn < QUEUE_MAX)
		str_ncpy(vb->q[vb->qn++], path, sizeof(vb->q[0]));
}


/* A prompt of CONFDIR/sounds; one missing is skipped (said once a
 * call: the menu still works by its keys) */
void vb_say(struct vmbox *vb, const char *name)
{
	char path[320];

	(void)re_snprintf(path, sizeof(path), "%s/sounds/%s.wav",
			  vb->call->cfg->confdir, name);
	if (access(path, R_OK)) {
		if (!vb->missing_said)
			log_warn("%s: voicemail: prompt %s missing (make the "
				 "prompts: contrib/prompts.sh CONFDIR)",
				 vb->call->id, path);
		vb->missing_said = true;
		return;
	}

	vb_q_path(vb, path);
}


void vb_say_number(struct vmbox *vb, unsigned n)
{
	char name[16];

	if (n >= 100) {
		char d[12], *p;

		(void)re_snprintf(d, sizeof(d), "%u", n);
		for (p = d; *p; p++) {
			(void)re_snprintf(name, sizeof(name), "digit-%c", *p);
			vb_say(vb, name);
		}
		return;
	}

	if (n < 20 || n % 10 == 0) {
		(void)re_snprintf(name, sizeof(name), "num-%u", n);
		vb_say(vb, name);
		return;
	}

	(void)re_snprintf(name, sizeof(name), "num-%u", n - n % 10);
	vb_say(vb, name);
	(void)re_snprintf(name, sizeof(name), "num-%u", n % 10);
	vb_say(vb, name);
}


/* A number digit by digit (at most DIGITS_SAID: the queue keeps room
 * for the message after it) */
void vb_say_digits(struct vmbox *vb, const char *s)
{
	char name[16];
	unsigned n = 0;

	for (; *s && n < DIGITS_SAID; s++) {
		if (*s < '0' || *s > '9')
			continue;
		(void)re_snprintf(name, sizeof(name), "digit-%c", *s);
		vb_say(vb, name);
		++n;
	}
}


static void q_next(struct vmbox *vb);


static void q_done(int err, void *arg)
{
	struct vmbox *vb = arg;

	vb->call->player = mem_deref(vb->call->player);
	if (err)
		log_warn("%s: voicemail prompt: %m", vb->call->id, err);
	q_next(vb);
}


static void prompts_done(struct vmbox *vb);


/* Play the next file of the queue; at the end, what the state does */
static void q_next(struct vmbox *vb)
{
	struct call *call = vb->call;
	uint8_t pt = call_prompt_pt(call);
	int err;

	while (vb->qi < vb->qn) {
		unsigned i = vb->qi++;

		err = player_alloc(&call->player, call->a_ep, &call->a_rtp,
				   pt, vb->q[i], q_done, vb);
		if (err) {
			log_warn("%s: voicemail: cannot play %s: %m",
				 call->id, vb->q[i], err);
			continue;
		}

		/* a message is heard once it begins */
		if ((int)i == vb->msg_qi && vb->cur < vb->n)
			vb_heard(vb, &vb->msgs[vb->cur]);
		return;
	}

	prompts_done(vb);
}


/* Start the queue afresh (what played is cut short) */
void vb_play(struct vmbox *vb)
{
	vb->call->player = mem_deref(vb->call->player);
	vb->waiting = false;
	q_next(vb);
}


/* ---- states ---- */

static void state_prompt(struct vmbox *vb)
{
	static const char *const prompt[] = {
		[VB_BOX]     = "vm-enter-mailbox",
		[VB_PIN]     = "vm-enter-pin",
		[VB_MAIN]    = "vm-main-menu",
		[VB_MSG]     = "vm-msg-menu",
		[VB_OPTS]    = "vm-options-menu",
		[VB_NEWPIN]  = "vm-new-pin",
		[VB_NEWPIN2] = "vm-reenter-pin",
		[VB_REVIEW]  = "vm-review-menu",
	};

	if (vb->st < ARRAY_SIZE(prompt) && prompt[vb->st])
		vb_say(vb, prompt[vb->st]);
}


/* Say what comes (queued already), then the prompt of state st */
void vb_go(struct vmbox *vb, enum vb_state st)
{
	vb->st = st;
	vb->inlen = 0;
	vb->in_over = false;
	state_prompt(vb);
	vb_play(vb);
}


void vb_goodbye(struct vmbox *vb)
{
	vb_say(vb, "vm-goodbye");
	vb->st = VB_BYE;
	vb_play(vb);
}


/* A number ends with '#' (or the wait after its last digit) */
static void digits_done(struct vmbox *vb)
{
	vb->in[vb->inlen] = '\0';

	switch (vb->st) {

	case VB_BOX:
		if (!vb->inlen) {
			vb_go(vb, VB_BOX);
			return;
		}
		str_ncpy(vb->box, vb->in, sizeof(vb->box));
		vb_go(vb, VB_PIN);
		break;

	case VB_PIN:
		vb_check_pin(vb);
		break;

	case VB_NEWPIN:
	case VB_NEWPIN2:
		vb_new_pin(vb);
		break;

	default:
		break;
	}
}


static void on_key(struct vmbox *vb, char key)
{
	vb->repeats = 0;

	switch (vb->st) {

	case VB_BOX:
	case VB_PIN:
	case VB_NEWPIN:
	case VB_NEWPIN2:
		if (key == '#') {
			digits_done(vb);
			break;
		}
		if (key == '*') {          /* start the number again */
			vb_go(vb, vb->st);
			break;
		}
		if (key < '0' || key > '9')
			break;
		if (vb->inlen < IN_MAX)
			vb->in[vb->inlen++] = key;
		else
			vb->in_over = true;
		vb->waiting = true;
		vb->deadline = media_mono_ms() + NEXT_KEY_MS;
		break;

	case VB_MAIN:
		if (key == '1' && vb->n) {
			vb->cur = 0;
			vb_queue_msg(vb);
			vb_go(vb, VB_MSG);
		}
		else if (key == '1') {
			vb_say(vb, "vm-no-messages");
			vb_go(vb, VB_MAIN);
		}
		else if (key == '0')
			vb_go(vb, VB_OPTS);
		else if (key == '#')
			vb_goodbye(vb);
		else
			vb_main_menu(vb, key == '*');
		break;

	case VB_MSG:
		vb_msg_key(vb, key);
		break;

	case VB_OPTS:
		if (key == '1')
			vb_record_greeting(vb, "greeting-unavailable");
		else if (key == '2')
			vb_record_greeting(vb, "greeting-busy");
		else if (key == '3')
			vb_record_greeting(vb, "greeting-name");
		else if (key == '4')
			vb_go(vb, VB_NEWPIN);
		else if (key == '*')
			vb_main_menu(vb, false);
		else if (key == '#')
			vb_goodbye(vb);
		else
			vb_go(vb, VB_OPTS);
		break;

	case VB_REVIEW:
		vb_review_key(vb, key);
		break;

	case VB_RECORD:           /* the recording takes its own '#' */
	case VB_BYE:
		break;
	}
}


static void on_timeout(struct vmbox *vb)
{
	bool digits = vb->st == VB_BOX || vb->st == VB_PIN ||
		vb->st == VB_NEWPIN || vb->st == VB_NEWPIN2;

	if (digits && vb->inlen) {
		digits_done(vb);
		return;
	}

	if (++vb->repeats > MENU_REPEATS) {
		log_info("%s: voicemail %s: no key pressed: goodbye",
			 vb->call->id, vb->box[0] ? vb->box : "?");
		vb_goodbye(vb);
		return;
	}

	vb_go(vb, vb->st);
}


void vb_keys_listen(struct vmbox *vb)
{
	int err;

	err = vm_keys_start(&vb->keys, vb->vm, vb->call->a_ep);
	if (err)
		log_warn("%s: voicemail: cannot listen for keys: %m",
			 vb->call->id, err);
}


void vb_keys_stop(struct vmbox *vb)
{
	if (!vb->keys)
		return;

	vm_rec_stop(vb->keys);
	vm_rec_forget(vb->keys);
	vb->keys = NULL;
}


/* The queue played out: what the state waits for next */
static void prompts_done(struct vmbox *vb)
{
	switch (vb->st) {

	case VB_BYE:
		call_end(vb->call, 16, 0, "system");
		return;

	case VB_RECORD:
		if (!vb->rec)
			vb_record_start(vb);
		return;

	default:
		vb->waiting = true;
		vb->deadline = media_mono_ms() + (vb->inlen ? NEXT_KEY_MS :
					    FIRST_KEY_MS);
		return;
	}
}


static void tick(void *arg)
{
	struct vmbox *vb = arg;
	struct call *call = vb->call;
	char key;

	while ((key = vm_rec_key(vb->keys))) {

		/* a key stops the prompts: no need to hear a menu out */
		if (vb->st != VB_BYE && vb->st != VB_RECORD) {
			call->player = mem_deref(call->player);
			vb_q_clear(vb);
		}

		log_debug("%s: voicemail key %c", call->id, key);
		on_key(vb, key);
		if (call->vmbox != vb || call->state != CALL_ROUTING)
			return;       /* the call goes on without the menu */
	}

	if (vb->rec)
		vb_record_check(vb);
	else if (vb->waiting && media_mono_ms() >= vb->deadline)
		on_timeout(vb);

	if (call->vmbox == vb && call->state == CALL_ROUTING)
		wtmr_start(&call->tmr, KEY_POLL_MS, tick, vb);
}


/* voicemail_check [MAILBOX]: the owner's menu (no MAILBOX: asked) */
int call_vmbox_start(struct call *call, const char *data)
{
	const struct config_user *me = call->from_trunk ? NULL : call->caller;
	struct vmbox *vb;
	int err;

	if (!call->cm->vm)
		return ENOSYS;

	err = call_answer(call);
	if (err)
		return err;

	vb = mem_zalloc(sizeof(*vb), vmbox_destructor);
	if (!vb)
		return ENOMEM;

	vb->call = call;
	vb->vm = call->cm->vm;
	vb->msg_qi = -1;
	vb_keys_listen(vb);
	if (!vb->keys) {
		mem_deref(vb);
		return ENOMEM;
	}

	mem_deref(call->vmbox);
	call->vmbox = vb;
	(void)mbuf_printf(call->legs, "voicemail_check %s\n",
			  data && *data ? data : "(asked)");

	if (!data || !*data) {
		vb->ask_box = true;
		vb_go(vb, VB_BOX);
	}
	else {
		str_ncpy(vb->box, data, sizeof(vb->box));

		/* the owner on their own phone (authenticated by the SIP
		 * digest) may set the first PIN of a mailbox without one */
		vb->owner = call_mailbox_owner(call->cfg, vb->box);
		if (me && me == vb->owner &&
		    !vm_pin_exists(vb->vm, vb->box, vb->owner->vm_pin)) {
			log_info("%s: voicemail %s: no PIN yet; the owner "
				 "sets one", call->id, vb->box);
			vb->first_pin = true;
			vb_say(vb, "vm-no-pin");
			vb_go(vb, VB_NEWPIN);
		}
		else {
			vb_go(vb, VB_PIN);
		}
	}

	wtmr_start(&call->tmr, KEY_POLL_MS, tick, vb);
	return 0;
}
