/**
 * @file call_vmbox.h  The mailbox owner's menus, shared by their files
 *
 * call_vmbox.c        the queue of prompts, states, keys, the start
 * call_vmbox_pin.c    login and PIN changes
 * call_vmbox_msg.c    the messages: counts, play, delete, save, call back
 * call_vmbox_greet.c  recording the greetings, with review
 */
#ifndef SWITCH_CALL_VMBOX_H
#define SWITCH_CALL_VMBOX_H

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
};


/* call_vmbox.c: prompts (vb_say: CONFDIR/sounds/NAME.wav; queued, then
 * played by vb_play or vb_go), states and keys */
void vb_q_clear(struct vmbox *vb);
void vb_q_path(struct vmbox *vb, const char *path);
void vb_say(struct vmbox *vb, const char *name);
void vb_say_number(struct vmbox *vb, unsigned n);
void vb_say_digits(struct vmbox *vb, const char *s);
void vb_play(struct vmbox *vb);
/** Play what is queued, then the prompt of st, and wait in st */
void vb_go(struct vmbox *vb, enum vb_state st);
/** "Goodbye", then the call ends */
void vb_goodbye(struct vmbox *vb);
void vb_keys_listen(struct vmbox *vb);
void vb_keys_stop(struct vmbox *vb);

/* call_vmbox_pin.c */
void vb_check_pin(struct vmbox *vb);
void vb_new_pin(struct vmbox *vb);

/* call_vmbox_msg.c */
void vb_logged_in(struct vmbox *vb);
void vb_main_menu(struct vmbox *vb, bool counts);
void vb_queue_msg(struct vmbox *vb);
void vb_heard(struct vmbox *vb, struct vb_msg *m);
void vb_msg_key(struct vmbox *vb, char key);

/* call_vmbox_greet.c */
void vb_record_greeting(struct vmbox *vb, const char *greet);
void vb_review_key(struct vmbox *vb, char key);
void vb_record_start(struct vmbox *vb);
void vb_record_check(struct vmbox *vb);

#endif
