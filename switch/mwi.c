/**
 * @file mwi.c  Message waiting (RFC 3842): the lamp on the phone
 *
 * A phone SUBSCRIBEs to message-summary for its user's mailbox (digest,
 * as for calls; a user may watch only its own mailbox). The answer is
 * followed at once by a NOTIFY with the counts from the voicemail index,
 * and again whenever a message is stored. The index is the one truth: a
 * storage error sends nothing, so the lamp keeps its last state rather
 * than a wrong count.
 */
#include "core.h"
#include "config.h"
#include "registrar.h"
#include "sipstack.h"
#include "store.h"
#include "mwi.h"

enum {
	HT_SIZE     = 256,
	EXPIRES_MIN = 60,
	EXPIRES_DFL = 3600,
	EXPIRES_MAX = 7200,
};

struct mwi {
	struct sipevent_sock *sock;
	struct registrar *reg;        /* weak */
	struct store *st;             /* weak */
	struct sipstack *ss;          /* weak */
	struct list subs;
};

struct mwi_sub {
	struct le le;
	struct mwi *mwi;
	struct sipnot *not;
	char *mailbox;
};


static void sub_destructor(void *arg)
{
	struct mwi_sub *s = arg;

	list_unlink(&s->le);
	mem_deref(s->not);
	mem_deref(s->mailbox);
}


static int notify(struct mwi *mwi, struct mwi_sub *s)
{
	uint32_t nnew = 0, nold = 0;
	int err;

	err = store_vm_count(mwi->st, s->mailbox, &nnew, &nold);
	if (err) {
		log_warn("mwi %s: counts unknown (%m): the lamp keeps its "
			 "state", s->mailbox, err);
		return err;
	}

	return sipevent_notifyf(s->not, NULL, SIPEVENT_ACTIVE, 0, 0,
				"Messages-Waiting: %s\r\n"
				"Message-Account: sip:%s@%s\r\n"
				"Voice-Message: %u/%u (0/0)\r\n",
				nnew ? "yes" : "no", s->mailbox,
				sipstack_domain(mwi->ss), nnew, nold);
}


static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct mwi_sub *s = arg;
	(void)err;
	(void)msg;

	mem_deref(s);
}


static bool sub_handler(const struct sip_msg *msg, void *arg)
{
	struct mwi *mwi = arg;
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_EVENT);
	const struct config_user *user = NULL;
	struct sipevent_event se;
	struct mwi_sub *s;
	const char *box;
	int err;

	if (!hdr || sipevent_event_decode(&se, &hdr->val) ||
	    pl_strcasecmp(&se.event, "message-summary")) {
		(void)sip_reply(sipstack_sip(mwi->ss), msg, 489, "Bad Event");
		return true;
	}

	if (!registrar_authenticate(mwi->reg, msg, &user))
		return true;

	box = user->mailbox ? user->mailbox : user->id;

	s = mem_zalloc(sizeof(*s), sub_destructor);
	if (!s || str_dup(&s->mailbox, box)) {
		mem_deref(s);
		(void)sip_reply(sipstack_sip(mwi->ss), msg, 500,
				"Server Error");
		return true;
	}
	s->mwi = mwi;

	err = sipevent_accept(&s->not, mwi->sock, msg, NULL, &se, 200, "OK",
			      EXPIRES_MIN, EXPIRES_DFL, EXPIRES_MAX, user->id,
			      "application/simple-message-summary", NULL,
			      NULL, false, close_handler, s, NULL);
	if (err) {
		mem_deref(s);
		return true;
	}

	list_append(&mwi->subs, &s->le, s);
	log_info("mwi: %s watches mailbox %s", user->id, box);
	(void)notify(mwi, s);

	return true;
}


static void mwi_destructor(void *arg)
{
	struct mwi *mwi = arg;

	list_flush(&mwi->subs);
	mem_deref(mwi->sock);
}


int mwi_alloc(struct mwi **mwip, struct sipstack *ss, struct registrar *reg,
	      struct store *st)
{
	struct mwi *mwi;
	int err;

	if (!mwip || !ss || !reg || !st)
		return EINVAL;

	mwi = mem_zalloc(sizeof(*mwi), mwi_destructor);
	if (!mwi)
		return ENOMEM;

	mwi->ss = ss;
	mwi->reg = reg;
	mwi->st = st;

	err = sipevent_listen(&mwi->sock, sipstack_sip(ss), HT_SIZE, HT_SIZE,
			      sub_handler, mwi);
	if (err)
		mem_deref(mwi);
	else
		*mwip = mwi;

	return err;
}


void mwi_update(struct mwi *mwi, const char *mailbox)
{
	struct le *le;

	for (le = mwi && mailbox ? mwi->subs.head : NULL; le; le = le->next) {
		struct mwi_sub *s = le->data;

		if (!strcmp(s->mailbox, mailbox))
			(void)notify(mwi, s);
	}
}
