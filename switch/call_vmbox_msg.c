/**
 * @file call_vmbox_msg.c  voicemail_check: the messages
 *
 * The owner's messages, new ones first: the counts, each message with
 * when it came and who left it, then its audio; repeat, next, previous,
 * delete, save, and a call back to the sender (the call runs the
 * dialplan for the sender's number).
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


/* "received today at 10 45 P M": the day (today, yesterday, a weekday
 * within the week, else the month and day) and the time, local */
static void q_when(struct vmbox *vb, uint64_t time_ms)
{
	time_t t = (time_t)(time_ms / 1000), now = time(NULL);
	struct tm m, n, y;
	time_t yt = now - 86400;
	char name[16];
	int h;

	localtime_r(&t, &m);
	localtime_r(&now, &n);
	localtime_r(&yt, &y);

	vb_say(vb, "vm-received");
	if (m.tm_year == n.tm_year && m.tm_yday == n.tm_yday) {
		vb_say(vb, "vm-today");
	}
	else if (m.tm_year == y.tm_year && m.tm_yday == y.tm_yday) {
		vb_say(vb, "vm-yesterday");
	}
	else if (now >= t && now - t < 6 * 86400) {
		(void)re_snprintf(name, sizeof(name), "day-%d", m.tm_wday);
		vb_say(vb, name);
	}
	else {
		(void)re_snprintf(name, sizeof(name), "month-%d",
				  m.tm_mon + 1);
		vb_say(vb, name);
		vb_say_number(vb, (unsigned)m.tm_mday);
	}

	vb_say(vb, "vm-at");
	h = m.tm_hour % 12;
	vb_say_number(vb, h ? (unsigned)h : 12);
	if (m.tm_min > 0 && m.tm_min < 10) {
		vb_say(vb, "vm-oh");
		vb_say_number(vb, (unsigned)m.tm_min);
	}
	else if (m.tm_min) {
		vb_say_number(vb, (unsigned)m.tm_min);
	}
	vb_say(vb, m.tm_hour < 12 ? "vm-am" : "vm-pm");
}


void vb_heard(struct vmbox *vb, struct vb_msg *m)
{
	int err;

	if (!m->fresh)
		return;

	m->fresh = false;
	err = vm_set(vb->vm, vb->box, m->id, "new", true);
	if (err)
		log_warn("%s: voicemail %s: message %lld not marked heard: %m",
			 vb->call->id, vb->box, (long long)m->id, err);
}


static int msg_add(const struct vm_msg *m, void *arg)
{
	struct vmbox *vb = arg;
	struct vb_msg *v;

	if (vb->n % 16 == 0) {
		/* libre's mem_realloc takes no NULL */
		v = vb->msgs ? mem_realloc(vb->msgs, (vb->n + 16) * sizeof(*v))
			: mem_alloc(16 * sizeof(*v), NULL);
		if (!v)
			return ENOMEM;
		vb->msgs = v;
	}

	v = &vb->msgs[vb->n++];
	memset(v, 0, sizeof(*v));
	v->id = m->id;
	v->time_ms = m->time_ms;
	str_ncpy(v->file, m->file, sizeof(v->file));
	if (m->caller)
		str_ncpy(v->caller, m->caller, sizeof(v->caller));
	v->fresh = !strcmp(m->folder, "new") && !m->heard;
	return 0;
}


/* The messages, new ones first, each part oldest first */
static int load_messages(struct vmbox *vb)
{
	unsigned i, j;
	int err;

	vb->msgs = mem_deref(vb->msgs);
	vb->n = vb->cur = 0;

	err = vm_list(vb->vm, vb->box, msg_add, vb);
	if (err)
		return err;

	/* stable: the list came oldest first */
	for (i = 1; i < vb->n; i++) {
		struct vb_msg m = vb->msgs[i];

		for (j = i; j > 0 && m.fresh && !vb->msgs[j - 1].fresh; j--)
			vb->msgs[j] = vb->msgs[j - 1];
		vb->msgs[j] = m;
	}

	return 0;
}


/* "You have 2 new messages and 1 saved message", then the main menu */
void vb_main_menu(struct vmbox *vb, bool counts)
{
	unsigned i, fresh = 0;

	for (i = 0; i < vb->n; i++)
		fresh += vb->msgs[i].fresh;

	if (counts && !vb->n) {
		vb_say(vb, "vm-no-messages");
	}
	else if (counts) {
		vb_say(vb, "vm-you-have");
		vb_say_number(vb, fresh);
		vb_say(vb, fresh == 1 ? "vm-new-message" : "vm-new-messages");
		vb_say(vb, "vm-and");
		vb_say_number(vb, vb->n - fresh);
		vb_say(vb, vb->n - fresh == 1 ? "vm-saved-message" :
		      "vm-saved-messages");
	}

	vb_go(vb, VB_MAIN);
}


void vb_logged_in(struct vmbox *vb)
{
	int err;

	err = load_messages(vb);
	if (err) {
		log_warn("%s: voicemail %s: cannot list messages: %m",
			 vb->call->id, vb->box, err);
		vb_goodbye(vb);
		return;
	}

	log_info("%s: voicemail %s: the owner is in (%u messages)",
		 vb->call->id, vb->box, vb->n);
	vb_main_menu(vb, true);
}


/* The current message: "Message 2, received today at 10 45 A M, from
 * 1 0 0 1", then the audio (the menu follows from vb_go()) */
void vb_queue_msg(struct vmbox *vb)
{
	const struct vb_msg *m = &vb->msgs[vb->cur];
	char path[512];

	vb_say(vb, "vm-message");
	vb_say_number(vb, vb->cur + 1);
	q_when(vb, m->time_ms);
	if (m->caller[0] && strpbrk(m->caller, "0123456789")) {
		vb_say(vb, "vm-from");
		vb_say_digits(vb, m->caller);
	}

	(void)re_snprintf(path, sizeof(path), "%s/%s", vm_datadir(vb->vm),
			  m->file);
	vb->msg_qi = (int)vb->qn;
	vb_q_path(vb, path);
}


/* After delete or save: the next message, or the main menu */
static void msg_then_next(struct vmbox *vb)
{
	if (vb->cur < vb->n) {
		vb_queue_msg(vb);
		vb_go(vb, VB_MSG);
		return;
	}

	vb_say(vb, "vm-no-more");
	vb_main_menu(vb, false);
}


static void callback(struct vmbox *vb)
{
	struct call *call = vb->call;
	char number[64];

	str_ncpy(number, vb->msgs[vb->cur].caller, sizeof(number));
	log_info("%s: voicemail %s: calling back %s", call->id, vb->box,
		 number);

	/* the menu goes; the call runs the dialplan for the number */
	call->player = mem_deref(call->player);
	wtmr_cancel(&call->tmr);
	call->vmbox = mem_deref(call->vmbox);
	if (call_transfer(call, number, NULL)) {
		call_end(call, 41, 0, "system");
		return;
	}
	call_continue(call);
}


void vb_msg_key(struct vmbox *vb, char key)
{
	struct vb_msg *m = &vb->msgs[vb->cur];
	int err;

	switch (key) {

	case '5':
		vb_queue_msg(vb);
		vb_go(vb, VB_MSG);
		break;

	case '6':
		if (vb->cur + 1 < vb->n) {
			++vb->cur;
			vb_queue_msg(vb);
			vb_go(vb, VB_MSG);
			break;
		}
		vb_say(vb, "vm-no-more");
		vb_go(vb, VB_MSG);
		break;

	case '4':
		if (vb->cur > 0) {
			--vb->cur;
			vb_queue_msg(vb);
			vb_go(vb, VB_MSG);
			break;
		}
		vb_say(vb, "vm-no-previous");
		vb_go(vb, VB_MSG);
		break;

	case '7':
		err = vm_delete(vb->vm, vb->box, m->id, m->file);
		if (err) {
			log_warn("%s: voicemail %s: message %lld not deleted:"
				 " %m", vb->call->id, vb->box,
				 (long long)m->id, err);
			vb_go(vb, VB_MSG);
			break;
		}
		log_info("%s: voicemail %s: message %lld deleted",
			 vb->call->id, vb->box, (long long)m->id);
		memmove(m, m + 1, (vb->n - vb->cur - 1) * sizeof(*m));
		--vb->n;
		vb_say(vb, "vm-deleted");
		msg_then_next(vb);
		break;

	case '9':
		err = vm_set(vb->vm, vb->box, m->id, "saved", true);
		if (err) {
			log_warn("%s: voicemail %s: message %lld not saved:"
				 " %m", vb->call->id, vb->box,
				 (long long)m->id, err);
			vb_go(vb, VB_MSG);
			break;
		}
		m->fresh = false;
		++vb->cur;
		vb_say(vb, "vm-saved");
		msg_then_next(vb);
		break;

	case '3':
		if (!m->caller[0] || strspn(m->caller, "+0123456789") !=
		    strlen(m->caller)) {
			vb_say(vb, "vm-no-callback");
			vb_go(vb, VB_MSG);
			break;
		}
		callback(vb);
		break;

	case '*':
		vb_main_menu(vb, false);
		break;

	case '#':
		vb_goodbye(vb);
		break;

	default:
		vb_go(vb, VB_MSG);
		break;
	}
}
