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
#include "location.h"
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
	struct config *const *cfgp;   /* the daemon's current config */
	struct location *loc;         /* weak */
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


/* The message-summary body of a mailbox (RFC 3842 5.2) */
static int summary(struct mwi *mwi, const char *mailbox, char *buf,
		   size_t sz)
{
	uint32_t nnew = 0, nold = 0;
	int err;

	err = store_vm_count(mwi->st, mailbox, &nnew, &nold);
	if (err) {
		log_warn("mwi %s: counts unknown (%m): the lamp keeps its "
			 "state", mailbox, err);
		return err;
	}

	(void)re_snprintf(buf, sz, "Messages-Waiting: %s\r\n"
			  "Message-Account: sip:%s@%s\r\n"
			  "Voice-Message: %u/%u (0/0)\r\n",
			  nnew ? "yes" : "no", mailbox,
			  sipstack_domain(mwi->ss), nnew, nold);
	return 0;
}


static int notify(struct mwi *mwi, struct mwi_sub *s)
{
	char body[256];
	int err;

	err = summary(mwi, s->mailbox, body, sizeof(body));
	if (err)
		return err;

	return sipevent_notifyf(s->not, NULL, SIPEVENT_ACTIVE, 0, 0, "%s",
				body);
}


/* RFC 3842 for phones that do not subscribe: a NOTIFY outside any
 * dialog to each of the user's registered phones, at the address the
 * REGISTER came from */
static void unsolicited(struct mwi *mwi, const struct config_user *u)
{
	const char *box = u->mailbox ? u->mailbox : u->id;
	const struct list *bl = location_lookup(mwi->loc, u->id);
	const char *dom = sipstack_domain(mwi->ss);
	char body[256];
	struct le *le;

	if (list_isempty(bl) || summary(mwi, box, body, sizeof(body)))
		return;

	for (le = list_head(bl); le; le = le->next) {
		const struct binding *b = le->data;
		char uri[256];

		(void)re_snprintf(uri, sizeof(uri), "sip:%s@%J;transport=%s",
				  u->id, &b->src, b->tp == SIP_TRANSP_TLS ?
				  "tls" : b->tp == SIP_TRANSP_TCP ? "tcp" :
				  "udp");
		(void)sip_requestf(NULL, sipstack_sip(mwi->ss), true,
				   "NOTIFY", uri, NULL, NULL, NULL, NULL, NULL,
				   "To: <sip:%s@%s>\r\n"
				   "From: <sip:%s@%s>;tag=%x\r\n"
				   "Call-ID: mwi-%x%x\r\n"
				   "CSeq: 1 NOTIFY\r\n"
				   "Max-Forwards: 70\r\n"
				   "Event: message-summary\r\n"
				   "Subscription-State: terminated;"
				   "reason=noresource\r\n"
				   "Content-Type: "
				   "application/simple-message-summary\r\n"
				   "Content-Length: %zu\r\n\r\n%s",
				   u->id, dom, box, dom, rand_u32(),
				   rand_u32(), rand_u32(), strlen(body), body);
	}
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

	registrar_set_regh(mwi->reg, NULL, NULL);
	list_flush(&mwi->subs);
	mem_deref(mwi->sock);
}


/* A phone registered: its lamp gets the state again (after a restart
 * of the phone or of the PBX it is right at once) */
static void reg_handler(const char *user, void *arg)
{
	struct mwi *mwi = arg;
	const struct config *cfg = *mwi->cfgp;
	struct pl id;
	const struct config_user *u;

	pl_set_str(&id, user);
	u = config_user_find(cfg, &id);
	if (!u)
		return;

	mwi_update(mwi, u->mailbox ? u->mailbox : u->id);
}


int mwi_alloc(struct mwi **mwip, struct sipstack *ss, struct registrar *reg,
	      struct store *st, struct location *loc,
	      struct config *const *cfgp)
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
	mwi->loc = loc;
	mwi->cfgp = cfgp;
	registrar_set_regh(reg, reg_handler, mwi);

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

	/* and the phones of its users that do not subscribe */
	for (le = mwi && mailbox ? (*mwi->cfgp)->userl.head : NULL; le;
	     le = le->next) {
		const struct config_user *u = le->data;

		if (u->mwi_unsolicited &&
		    !strcmp(u->mailbox ? u->mailbox : u->id, mailbox))
			unsolicited(mwi, u);
	}
}
