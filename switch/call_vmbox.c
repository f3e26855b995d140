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


enum {
	KEY_POLL_MS    = 40,
	FIRST_KEY_MS   = 8000,   /* after a prompt, the wait for a key   */
	NEXT_KEY_MS    = 5000,   /* between the digits of a number       */
	MENU_REPEATS   = 3,      /* a menu said again, then goodbye      */
	LOGIN_TRIES    = 3,
	QUEUE_MAX      = 48,
	DIGITS_SAID    = 16,     /* of a caller's number */
	IN_MAX         = 15,     /* digits of a number or PIN            */
	GREETING_MAX_S = 60,
	PIN_MIN        = 4,
	PIN_MAX        = 12,
};

enum vb_state {
	VB_BOX,       /* digits: the mailbox number */
	VB_PIN,       /* digits: its PIN */
	VB_MAIN,      /* key: the main menu */
	VB_MSG,       /* key: a message and its menu */
	VB_OPTS,      /* key: the mailbox options */
	VB_NEWPIN,    /* digits: a new PIN */
	VB_NEWPIN2,   /* digits: the same again */
	VB_RECORD,    /* a greeting: the prompt and beep, then recording */
	VB_REVIEW,    /* key: keep, hear again, record again, cancel */
	VB_BYE,       /* goodbye, then the call ends */
};

struct vb_msg {
	int64_t id;
	uint64_t time_ms;
	char file[200];
	char caller[64];
	bool fresh;              /* new and not heard */
};

struct vmbox {
	struct call *call;       /* weak */
	struct vm *vm;           /* weak */
	struct vm_rec *keys;     /* the key listener; NULL while recording */
	struct vm_rec *rec;      /* a greeting being recorded */
	enum vb_state st;
	const struct config_user *owner;   /* in call->cfg; NULL: none */
	char box[64];
	bool ask_box;            /* the dialplan gave no mailbox (*98) */
	bool first_pin;          /* the owner sets a PIN before all else */
	unsigned fails;          /* wrong logins in this call */
	unsigned repeats;        /* a menu said again without a key */
	bool missing_said;       /* a missing prompt was logged */

	char in[IN_MAX + 1];     /* digits so far */
	size_t inlen;
	bool in_over;            /* more digits than IN_MAX */
	bool waiting;            /* the prompts are done: keys awaited */
	uint64_t deadline;       /* monotonic ms the wait ends */

	char q[QUEUE_MAX][320];  /* files to play, in turn */
	unsigned qn, qi;
	int msg_qi;              /* the message's place in q, or -1 */

	struct vb_msg *msgs;
	unsigned n, cur;

	char newpin[PIN_MAX + 1];
	const char *greet;       /* greeting-unavailable, -busy, -name */
	uint64_t rec_started;
};


static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


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

static void q_clear(struct vmbox *vb)
{
	vb->qn = vb->qi = 0;
	vb->msg_qi = -1;
}


static void q_path(struct vmbox *vb, const char *path)
{
	if (vb->qn < QUEUE_MAX)
		str_ncpy(vb->q[vb->qn++], path, sizeof(vb->q[0]));
}


/* A prompt of CONFDIR/sounds; one missing is skipped (said once a
 * call: the menu still works by its keys) */
static void q_say(struct vmbox *vb, const char *name)
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

	q_path(vb, path);
}


static void q_number(struct vmbox *vb, unsigned n)
{
	char name[16];

	if (n >= 100) {
		char d[12], *p;

		(void)re_snprintf(d, sizeof(d), "%u", n);
		for (p = d; *p; p++) {
			(void)re_snprintf(name, sizeof(name), "digit-%c", *p);
			q_say(vb, name);
		}
		return;
	}

	if (n < 20 || n % 10 == 0) {
		(void)re_snprintf(name, sizeof(name), "num-%u", n);
		q_say(vb, name);
		return;
	}

	(void)re_snprintf(name, sizeof(name), "num-%u", n - n % 10);
	q_say(vb, name);
	(void)re_snprintf(name, sizeof(name), "num-%u", n % 10);
	q_say(vb, name);
}


/* A number digit by digit (at most DIGITS_SAID: the queue keeps room
 * for the message after it) */
static void q_digits(struct vmbox *vb, const char *s)
{
	char name[16];
	unsigned n = 0;

	for (; *s && n < DIGITS_SAID; s++) {
		if (*s < '0' || *s > '9')
			continue;
		(void)re_snprintf(name, sizeof(name), "digit-%c", *s);
		q_say(vb, name);
		++n;
	}
}


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

	q_say(vb, "vm-received");
	if (m.tm_year == n.tm_year && m.tm_yday == n.tm_yday) {
		q_say(vb, "vm-today");
	}
	else if (m.tm_year == y.tm_year && m.tm_yday == y.tm_yday) {
		q_say(vb, "vm-yesterday");
	}
	else if (now >= t && now - t < 6 * 86400) {
		(void)re_snprintf(name, sizeof(name), "day-%d", m.tm_wday);
		q_say(vb, name);
	}
	else {
		(void)re_snprintf(name, sizeof(name), "month-%d",
				  m.tm_mon + 1);
		q_say(vb, name);
		q_number(vb, (unsigned)m.tm_mday);
	}

	q_say(vb, "vm-at");
	h = m.tm_hour % 12;
	q_number(vb, h ? (unsigned)h : 12);
	if (m.tm_min > 0 && m.tm_min < 10) {
		q_say(vb, "vm-oh");
		q_number(vb, (unsigned)m.tm_min);
	}
	else if (m.tm_min) {
		q_number(vb, (unsigned)m.tm_min);
	}
	q_say(vb, m.tm_hour < 12 ? "vm-am" : "vm-pm");
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


static void heard(struct vmbox *vb, struct vb_msg *m)
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
			heard(vb, &vb->msgs[vb->cur]);
		return;
	}

	prompts_done(vb);
}


/* Start the queue afresh (what played is cut short) */
static void q_play(struct vmbox *vb)
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
		q_say(vb, prompt[vb->st]);
}


/* Say what comes (queued already), then the prompt of state st */
static void go(struct vmbox *vb, enum vb_state st)
{
	vb->st = st;
	vb->inlen = 0;
	vb->in_over = false;
	state_prompt(vb);
	q_play(vb);
}


static void goodbye(struct vmbox *vb)
{
	q_say(vb, "vm-goodbye");
	vb->st = VB_BYE;
	q_play(vb);
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
static void main_menu(struct vmbox *vb, bool counts)
{
	unsigned i, fresh = 0;

	for (i = 0; i < vb->n; i++)
		fresh += vb->msgs[i].fresh;

	if (counts && !vb->n) {
		q_say(vb, "vm-no-messages");
	}
	else if (counts) {
		q_say(vb, "vm-you-have");
		q_number(vb, fresh);
		q_say(vb, fresh == 1 ? "vm-new-message" : "vm-new-messages");
		q_say(vb, "vm-and");
		q_number(vb, vb->n - fresh);
		q_say(vb, vb->n - fresh == 1 ? "vm-saved-message" :
		      "vm-saved-messages");
	}

	go(vb, VB_MAIN);
}


static void logged_in(struct vmbox *vb)
{
	int err;

	err = load_messages(vb);
	if (err) {
		log_warn("%s: voicemail %s: cannot list messages: %m",
			 vb->call->id, vb->box, err);
		goodbye(vb);
		return;
	}

	log_info("%s: voicemail %s: the owner is in (%u messages)",
		 vb->call->id, vb->box, vb->n);
	main_menu(vb, true);
}


/* The current message: "Message 2, received today at 10 45 A M, from
 * 1 0 0 1", then the audio (the menu follows from go()) */
static void queue_msg(struct vmbox *vb)
{
	const struct vb_msg *m = &vb->msgs[vb->cur];
	char path[512];

	q_say(vb, "vm-message");
	q_number(vb, vb->cur + 1);
	q_when(vb, m->time_ms);
	if (m->caller[0] && strpbrk(m->caller, "0123456789")) {
		q_say(vb, "vm-from");
		q_digits(vb, m->caller);
	}

	(void)re_snprintf(path, sizeof(path), "%s/%s", vm_datadir(vb->vm),
			  m->file);
	vb->msg_qi = (int)vb->qn;
	q_path(vb, path);
}


/* After delete or save: the next message, or the main menu */
static void msg_then_next(struct vmbox *vb)
{
	if (vb->cur < vb->n) {
		queue_msg(vb);
		go(vb, VB_MSG);
		return;
	}

	q_say(vb, "vm-no-more");
	main_menu(vb, false);
}


static void login_failed(struct vmbox *vb)
{
	if (++vb->fails >= LOGIN_TRIES) {
		log_info("%s: voicemail %s: %u wrong logins: the call ends",
			 vb->call->id, vb->box, vb->fails);
		q_say(vb, "vm-login-incorrect");
		goodbye(vb);
		return;
	}

	q_say(vb, "vm-login-incorrect");
	go(vb, vb->ask_box ? VB_BOX : VB_PIN);
}


static void check_pin(struct vmbox *vb)
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
	logged_in(vb);
}


static void new_pin(struct vmbox *vb)
{
	if (vb->st == VB_NEWPIN) {
		if (vb->in_over || vb->inlen < PIN_MIN || vb->inlen > PIN_MAX) {
			q_say(vb, "vm-pin-invalid");
			go(vb, VB_NEWPIN);
			return;
		}
		str_ncpy(vb->newpin, vb->in, sizeof(vb->newpin));
		go(vb, VB_NEWPIN2);
		return;
	}

	if (vb->in_over || strcmp(vb->in, vb->newpin)) {
		q_say(vb, "vm-pin-mismatch");
		go(vb, VB_NEWPIN);
		return;
	}

	if (vm_pin_set(vb->vm, vb->box, vb->newpin)) {
		log_warn("%s: voicemail %s: the new PIN was not stored",
			 vb->call->id, vb->box);
		goodbye(vb);
		return;
	}

	log_info("%s: voicemail %s: PIN changed by phone", vb->call->id,
		 vb->box);
	memset(vb->newpin, 0, sizeof(vb->newpin));
	q_say(vb, "vm-pin-changed");
	if (vb->first_pin) {
		vb->first_pin = false;
		logged_in(vb);
		return;
	}
	go(vb, VB_OPTS);
}


/* A number ends with '#' (or the wait after its last digit) */
static void digits_done(struct vmbox *vb)
{
	vb->in[vb->inlen] = '\0';

	switch (vb->st) {

	case VB_BOX:
		if (!vb->inlen) {
			go(vb, VB_BOX);
			return;
		}
		str_ncpy(vb->box, vb->in, sizeof(vb->box));
		go(vb, VB_PIN);
		break;

	case VB_PIN:
		check_pin(vb);
		break;

	case VB_NEWPIN:
	case VB_NEWPIN2:
		new_pin(vb);
		break;

	default:
		break;
	}
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


static void msg_key(struct vmbox *vb, char key)
{
	struct vb_msg *m = &vb->msgs[vb->cur];
	int err;

	switch (key) {

	case '5':
		queue_msg(vb);
		go(vb, VB_MSG);
		break;

	case '6':
		if (vb->cur + 1 < vb->n) {
			++vb->cur;
			queue_msg(vb);
			go(vb, VB_MSG);
			break;
		}
		q_say(vb, "vm-no-more");
		go(vb, VB_MSG);
		break;

	case '4':
		if (vb->cur > 0) {
			--vb->cur;
			queue_msg(vb);
			go(vb, VB_MSG);
			break;
		}
		q_say(vb, "vm-no-previous");
		go(vb, VB_MSG);
		break;

	case '7':
		err = vm_delete(vb->vm, vb->box, m->id, m->file);
		if (err) {
			log_warn("%s: voicemail %s: message %lld not deleted:"
				 " %m", vb->call->id, vb->box,
				 (long long)m->id, err);
			go(vb, VB_MSG);
			break;
		}
		log_info("%s: voicemail %s: message %lld deleted",
			 vb->call->id, vb->box, (long long)m->id);
		memmove(m, m + 1, (vb->n - vb->cur - 1) * sizeof(*m));
		--vb->n;
		q_say(vb, "vm-deleted");
		msg_then_next(vb);
		break;

	case '9':
		err = vm_set(vb->vm, vb->box, m->id, "saved", true);
		if (err) {
			log_warn("%s: voicemail %s: message %lld not saved:"
				 " %m", vb->call->id, vb->box,
				 (long long)m->id, err);
			go(vb, VB_MSG);
			break;
		}
		m->fresh = false;
		++vb->cur;
		q_say(vb, "vm-saved");
		msg_then_next(vb);
		break;

	case '3':
		if (!m->caller[0] || strspn(m->caller, "+0123456789") !=
		    strlen(m->caller)) {
			q_say(vb, "vm-no-callback");
			go(vb, VB_MSG);
			break;
		}
		callback(vb);
		break;

	case '*':
		main_menu(vb, false);
		break;

	case '#':
		goodbye(vb);
		break;

	default:
		go(vb, VB_MSG);
		break;
	}
}


static void record_greeting(struct vmbox *vb, const char *greet)
{
	vb->greet = greet;
	q_say(vb, strcmp(greet, "greeting-name") ? "vm-record-greeting" :
	      "vm-record-name");
	q_path(vb, "tone://1000,300,0,1");
	vb->st = VB_RECORD;
	q_play(vb);
}


static void greeting_path(char *path, size_t sz, const struct vmbox *vb,
			  const char *suffix)
{
	(void)re_snprintf(path, sz, "%s/voicemail/%s/%s%s.wav",
			  vm_datadir(vb->vm), vb->box, vb->greet, suffix);
}


static void review_key(struct vmbox *vb, char key)
{
	char fresh[512], final[512];

	greeting_path(fresh, sizeof(fresh), vb, "-new");
	greeting_path(final, sizeof(final), vb, "");

	switch (key) {

	case '1':
		if (rename(fresh, final)) {
			log_warn("%s: voicemail %s: %s not kept: %m",
				 vb->call->id, vb->box, final, errno);
			go(vb, VB_OPTS);
			break;
		}
		log_info("%s: voicemail %s: new %s", vb->call->id, vb->box,
			 vb->greet);
		q_say(vb, "vm-recording-saved");
		go(vb, VB_OPTS);
		break;

	case '2':
		q_path(vb, fresh);
		go(vb, VB_REVIEW);
		break;

	case '3':
		record_greeting(vb, vb->greet);
		break;

	case '*':
		(void)unlink(fresh);
		q_say(vb, "vm-cancelled");
		go(vb, VB_OPTS);
		break;

	default:
		go(vb, VB_REVIEW);
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
			go(vb, vb->st);
			break;
		}
		if (key < '0' || key > '9')
			break;
		if (vb->inlen < IN_MAX)
			vb->in[vb->inlen++] = key;
		else
			vb->in_over = true;
		vb->waiting = true;
		vb->deadline = mono_ms() + NEXT_KEY_MS;
		break;

	case VB_MAIN:
		if (key == '1' && vb->n) {
			vb->cur = 0;
			queue_msg(vb);
			go(vb, VB_MSG);
		}
		else if (key == '1') {
			q_say(vb, "vm-no-messages");
			go(vb, VB_MAIN);
		}
		else if (key == '0')
			go(vb, VB_OPTS);
		else if (key == '#')
			goodbye(vb);
		else
			main_menu(vb, key == '*');
		break;

	case VB_MSG:
		msg_key(vb, key);
		break;

	case VB_OPTS:
		if (key == '1')
			record_greeting(vb, "greeting-unavailable");
		else if (key == '2')
			record_greeting(vb, "greeting-busy");
		else if (key == '3')
			record_greeting(vb, "greeting-name");
		else if (key == '4')
			go(vb, VB_NEWPIN);
		else if (key == '*')
			main_menu(vb, false);
		else if (key == '#')
			goodbye(vb);
		else
			go(vb, VB_OPTS);
		break;

	case VB_REVIEW:
		review_key(vb, key);
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
		goodbye(vb);
		return;
	}

	go(vb, vb->st);
}


/* ---- recording a greeting ---- */

static void keys_listen(struct vmbox *vb)
{
	int err;

	err = vm_keys_start(&vb->keys, vb->vm, vb->call->a_ep);
	if (err)
		log_warn("%s: voicemail: cannot listen for keys: %m",
			 vb->call->id, err);
}


static void keys_stop(struct vmbox *vb)
{
	if (!vb->keys)
		return;

	vm_rec_stop(vb->keys);
	vm_rec_forget(vb->keys);
	vb->keys = NULL;
}


static void greeting_recorded(int err, int64_t id, uint64_t ms, void *arg)
{
	struct vmbox *vb = arg;
	char fresh[512];
	(void)id;

	vb->rec = NULL;
	keys_listen(vb);

	if (err) {
		if (err != ENODATA)
			log_warn("%s: voicemail %s: %s not recorded: %m",
				 vb->call->id, vb->box, vb->greet, err);
		q_say(vb, "vm-not-recorded");
		go(vb, VB_OPTS);
		return;
	}

	log_info("%s: voicemail %s: %s recorded (%llu ms), for review",
		 vb->call->id, vb->box, vb->greet, (unsigned long long)ms);
	greeting_path(fresh, sizeof(fresh), vb, "-new");
	q_path(vb, fresh);
	go(vb, VB_REVIEW);
}


static void record_start(struct vmbox *vb)
{
	char name[64];
	int err;

	keys_stop(vb);
	(void)re_snprintf(name, sizeof(name), "%s-new.wav", vb->greet);
	err = vm_rec_file(&vb->rec, vb->vm, vb->call->a_ep, vb->box, name,
			  greeting_recorded, vb);
	if (err) {
		log_warn("%s: voicemail %s: cannot record: %m", vb->call->id,
			 vb->box, err);
		keys_listen(vb);
		q_say(vb, "vm-not-recorded");
		go(vb, VB_OPTS);
		return;
	}

	vb->rec_started = mono_ms();
}


static void record_check(struct vmbox *vb)
{
	const struct config *cfg = vb->call->cfg;

	if (vm_rec_hash(vb->rec) ||
	    vm_rec_ms(vb->rec) >= GREETING_MAX_S * 1000ULL ||
	    vm_rec_silent_ms(vb->rec) >= cfg->voicemail.silence * 1000ULL)
		vm_rec_stop(vb->rec);   /* greeting_recorded follows */
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
			record_start(vb);
		return;

	default:
		vb->waiting = true;
		vb->deadline = mono_ms() + (vb->inlen ? NEXT_KEY_MS :
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
			q_clear(vb);
		}

		log_debug("%s: voicemail key %c", call->id, key);
		on_key(vb, key);
		if (call->vmbox != vb || call->state != CALL_ROUTING)
			return;       /* the call goes on without the menu */
	}

	if (vb->rec)
		record_check(vb);
	else if (vb->waiting && mono_ms() >= vb->deadline)
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
	keys_listen(vb);
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
		go(vb, VB_BOX);
	}
	else {
		str_ncpy(vb->box, data, sizeof(vb->box));

		/* the owner on their own phone (authenticated by the SIP
		 * digest) may set the first PIN of a mailbox without one */
		vb->owner = call_mailbox_owner(call->cfg, vb->box);
		if (me && me == vb->owner &&
		    vm_pin_check(vb->vm, vb->box, vb->owner->vm_pin, "") ==
		    ENOENT) {
			log_info("%s: voicemail %s: no PIN yet; the owner "
				 "sets one", call->id, vb->box);
			vb->first_pin = true;
			q_say(vb, "vm-no-pin");
			go(vb, VB_NEWPIN);
		}
		else {
			go(vb, VB_PIN);
		}
	}

	wtmr_start(&call->tmr, KEY_POLL_MS, tick, vb);
	return 0;
}
