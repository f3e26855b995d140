/**
 * @file registrar.c  The registrar (RFC 3261 10.3)
 *
 * REGISTER -> domain check -> lock-out -> digest -> contacts -> location.
 *
 * Replies are stateless (no server transaction per REGISTER: at thousands
 * of registrations per second the 32 s of Timer J would keep every
 * transaction in memory). A UDP retransmission carries the Call-ID and
 * CSeq of a binding that exists already; it is answered with the current
 * bindings instead of failing the CSeq ordering rule.
 */
#include <time.h>
#include "core.h"
#include "config.h"
#include "digest.h"
#include "lockout.h"
#include "location.h"
#include "sipstack.h"
#include "store.h"
#include "registrar.h"

enum {
	MAX_CONTACTS_PER_REQUEST = 32,
};

/* Credentials kept in the data dir (users without a password in the
 * config), cached per config generation. */
struct cred {
	struct le he;
	char *user;
	bool has[DIGEST_ALGOC];
	uint8_t ha1[DIGEST_ALGOC][DIGEST_HA1_MAX];
};

struct registrar {
	struct sip_lsnr *lsnr;
	struct sipstack *ss;        /* weak: the daemon owns it */
	struct location *loc;       /* weak */
	struct store *store;        /* weak */
	struct config *cfg;
	struct digest *digest;
	struct lockout *lockout;
	struct hash *creds;         /* struct cred by user */
	struct registrar_stats stats;
	registrar_reg_h *regh;
	void *reg_arg;
};

struct reg_req {
	struct registrar *r;
	const struct sip_msg *msg;
	const struct config_user *user;
	struct location_contact cv[MAX_CONTACTS_PER_REQUEST];
	size_t cc;
	bool star;
	uint16_t scode;             /* error found while parsing contacts */
	const char *reason;
};


static void cred_destructor(void *arg)
{
	struct cred *c = arg;

	hash_unlink(&c->he);
	mem_deref(c->user);
}


static void registrar_destructor(void *arg)
{
	struct registrar *r = arg;

	/* pending 200s point at us: send them now */
	(void)store_flush(r->store);

	mem_deref(r->lsnr);
	mem_deref(r->cfg);
	mem_deref(r->digest);
	mem_deref(r->lockout);
	hash_flush(r->creds);
	mem_deref(r->creds);
}


static bool cred_cmp(struct le *le, void *arg)
{
	const struct cred *c = le->data;

	return 0 == pl_strcmp(arg, c->user);
}


static const struct cred *cred_find(const struct registrar *r,
				    const struct pl *user)
{
	struct le *le;

	le = hash_lookup(r->creds, hash_joaat((const uint8_t *)user->p,
					      user->l), cred_cmp, (void *)user);
	return le ? le->data : NULL;
}


static int ha1_handler(const struct pl *user, enum digest_algo algo,
		       uint8_t *ha1, void *arg)
{
	struct registrar *r = arg;
	const struct config_user *u = config_user_find(r->cfg, user);
	const struct cred *c;

	if (!u)
		return ENOENT;

	if (u->has_ha1[algo]) {
		memcpy(ha1, u->ha1[algo], digest_ha1_len(algo));
		return 0;
	}

	if (u->password)
		return digest_ha1(ha1, algo, u->id, r->cfg->domain,
				  u->password);

	c = cred_find(r, user);
	if (c && c->has[algo]) {
		memcpy(ha1, c->ha1[algo], digest_ha1_len(algo));
		return 0;
	}

	/* No usable secret for this algorithm: same answer as a wrong
	 * password, so nothing tells the users apart. */
	return ENOENT;
}


/* Load the data-dir credentials of users that have none in the config */
static int load_creds(struct registrar *r, struct config *cfg,
		      struct hash *creds)
{
	struct le *le;
	int err = 0;

	for (le = cfg->userl.head; le && !err; le = le->next) {
		const struct config_user *u = le->data;
		char *realm = NULL, *md5 = NULL, *sha = NULL;
		struct cred *c;

		if (u->password || u->has_ha1[DIGEST_MD5] ||
		    u->has_ha1[DIGEST_SHA256])
			continue;

		if (!r->store ||
		    store_credential_get(r->store, u->id, &realm, &md5, &sha)) {
			log_warn("registrar: user %s has no password (in %s:%d"
				 " or the data dir); it cannot register",
				 u->id, u->file, u->line);
			continue;
		}

		if (strcmp(realm, cfg->domain)) {
			log_warn("registrar: the stored password of user %s "
				 "was made for realm \"%s\", not \"%s\"; set it "
				 "again with 'switchboard passwd'", u->id,
				 realm, cfg->domain);
			goto next;
		}

		c = mem_zalloc(sizeof(*c), cred_destructor);
		if (!c) {
			err = ENOMEM;
			goto next;
		}

		err = str_dup(&c->user, u->id);
		if (err) {
			mem_deref(c);
			goto next;
		}

		c->has[DIGEST_MD5] = md5 && !digest_ha1_from_hex(
			c->ha1[DIGEST_MD5], DIGEST_MD5, md5);
		c->has[DIGEST_SHA256] = sha && !digest_ha1_from_hex(
			c->ha1[DIGEST_SHA256], DIGEST_SHA256, sha);

		hash_append(creds, hash_joaat_str(c->user), &c->he, c);
	next:
		mem_deref(realm);
		mem_deref(md5);
		mem_deref(sha);
	}

	return err;
}


int registrar_set_config(struct registrar *r, struct config *cfg)
{
	struct lockout_params lp;
	struct digest *dg = NULL;
	struct lockout *lo = NULL;
	struct hash *creds = NULL;
	int err;

	if (!r || !cfg)
		return EINVAL;

	err = hash_alloc(&creds, 64);
	if (err)
		return err;

	err = load_creds(r, cfg, creds);
	if (err)
		goto out;

	/* A new digest context only when the realm or lifetime changed:
	 * nonces handed out before a reload stay valid. */
	if (!r->digest || strcmp(digest_realm(r->digest), cfg->domain) ||
	    !r->cfg || r->cfg->auth.nonce_lifetime != cfg->auth.nonce_lifetime) {
		err = digest_alloc(&dg, cfg->domain, cfg->auth.nonce_lifetime);
		if (err)
			goto out;
	}
	else {
		dg = mem_ref(r->digest);
	}

	err = digest_set_algorithms(dg, cfg->auth.algov, cfg->auth.algoc);
	if (err)
		goto out;

	if (!r->lockout || r->cfg->auth.max_failures != cfg->auth.max_failures
	    || r->cfg->auth.failure_window != cfg->auth.failure_window
	    || r->cfg->auth.lockout != cfg->auth.lockout) {
		memset(&lp, 0, sizeof(lp));
		lp.max_failures = cfg->auth.max_failures;
		lp.window_s     = cfg->auth.failure_window;
		lp.duration_s   = cfg->auth.lockout;
		lp.max_entries  = 65536;
		err = lockout_alloc(&lo, &lp);
		if (err)
			goto out;
	}
	else {
		lo = mem_ref(r->lockout);
	}

	mem_deref(r->digest);
	r->digest = dg;
	dg = NULL;
	mem_deref(r->lockout);
	r->lockout = lo;
	lo = NULL;
	hash_flush(r->creds);
	mem_deref(r->creds);
	r->creds = creds;
	creds = NULL;
	mem_deref(r->cfg);
	r->cfg = mem_ref(cfg);

 out:
	mem_deref(dg);
	mem_deref(lo);
	if (creds) {
		hash_flush(creds);
		mem_deref(creds);
	}
	return err;
}


/* ---- replies ---- */

static void challenge(struct registrar *r, const struct sip_msg *msg,
		      bool stale, bool proxy)
{
	struct digest_challenge ch = {r->digest, proxy ? "Proxy-Authenticate"
				      : "WWW-Authenticate", stale};

	++r->stats.challenged;
	(void)sip_replyf(sipstack_sip(r->ss), msg, proxy ? 407 : 401,
			 proxy ? "Proxy Authentication Required"
			 : "Unauthorized",
			 "%H"
			 "Content-Length: 0\r\n"
			 "\r\n",
			 digest_challenge_print, &ch);
}


static void reply_challenge(struct registrar *r, const struct sip_msg *msg,
			    bool stale)
{
	challenge(r, msg, stale, false);
}


struct contacts_of {
	struct location *loc;
	const char *aor;
};


static int print_contacts(struct re_printf *pf, const struct contacts_of *co)
{
	const struct list *bl = location_lookup(co->loc, co->aor);
	uint64_t now = (uint64_t)time(NULL);
	struct le *le;
	int err = 0;

	for (le = list_head(bl); le; le = le->next) {
		const struct binding *b = le->data;
		uint64_t left = b->expires > now ? b->expires - now : 0;

		err |= re_hprintf(pf, "Contact: <%s>;expires=%llu", b->uri,
				  (unsigned long long)left);
		if (b->q != 1000)
			err |= re_hprintf(pf, ";q=%u.%03u", b->q / 1000,
					  b->q % 1000);
		if (b->instance)
			err |= re_hprintf(pf, ";+sip.instance=\"%s\"",
					  b->instance);
		err |= re_hprintf(pf, "\r\n");
	}

	return err;
}


static int print_date(struct re_printf *pf, void *arg)
{
	char buf[64];
	time_t t = time(NULL);
	struct tm tm;
	(void)arg;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return re_hprintf(pf, "%s", buf);
}


static void reply_ok(struct registrar *r, const struct sip_msg *msg,
		     const char *aor)
{
	struct contacts_of co = {r->loc, aor};

	++r->stats.ok;
	/* RFC 3261 10.3 step 8: all current bindings, and a Date */
	(void)sip_replyf(sipstack_sip(r->ss), msg, 200, "OK",
			 "%H"
			 "Date: %H\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n",
			 print_contacts, &co, print_date, NULL);

	/* after the 200: whoever wants to greet the phone (the lamp) */
	if (r->regh)
		r->regh(aor, r->reg_arg);
}


void registrar_set_regh(struct registrar *r, registrar_reg_h *h, void *arg)
{
	if (!r)
		return;

	r->regh = h;
	r->reg_arg = arg;
}


/* A 200 that waits for the group commit carrying its binding. */
struct pending_ok {
	struct registrar *r;        /* weak: flushes the store before it
				     * goes (registrar_destructor) */
	struct sip_msg *msg;
	struct config *cfg;         /* holds user */
	const struct config_user *user;
};


static void pending_destructor(void *arg)
{
	struct pending_ok *p = arg;

	mem_deref(p->msg);
	mem_deref(p->cfg);
}


static void durable_handler(int err, void *arg)
{
	struct pending_ok *p = arg;

	if (err) {
		log_error("registrar: %s: the binding did not reach the disk: "
			  "%m", p->user->id, err);
		(void)sip_replyf(sipstack_sip(p->r->ss), p->msg, 500,
				 "Server Internal Error",
				 "Retry-After: 30\r\nContent-Length: 0\r\n\r\n");
		return;
	}

	reply_ok(p->r, p->msg, p->user->id);
}


/* Acknowledge only what is on disk: at once when the store committed
 * already, else after the group commit. */
static void reply_ok_durable(struct reg_req *rq)
{
	struct registrar *r = rq->r;
	struct pending_ok *p;

	if (!store_group_open(r->store)) {
		reply_ok(r, rq->msg, rq->user->id);
		return;
	}

	p = mem_zalloc(sizeof(*p), pending_destructor);
	if (!p)
		goto fail;

	p->r = r;
	p->msg = mem_ref((struct sip_msg *)rq->msg);
	p->cfg = mem_ref(r->cfg);
	p->user = rq->user;

	if (store_when_durable(r->store, durable_handler, p))
		goto fail;

	mem_deref(p);
	return;

 fail:
	mem_deref(p);
	if (store_flush(r->store))
		(void)sip_reply(sipstack_sip(r->ss), rq->msg, 500,
				"Server Internal Error");
	else
		reply_ok(r, rq->msg, rq->user->id);
}


/* ---- contacts ---- */

/* Expires values larger than 2**32-1 are taken as that (RFC 3261 20.19). */
static uint32_t pl_expires(const struct pl *pl)
{
	if (pl->l > 10)
		return UINT32_MAX;

	{
		uint64_t v = pl_u64(pl);
		return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
}


static uint32_t parse_q(const struct pl *pl)
{
	double q = pl_float(pl);

	if (q <= 0.0)
		return 0;
	if (q >= 1.0)
		return 1000;
	return (uint32_t)(q * 1000.0 + 0.5);
}


static bool contact_handler(const struct sip_hdr *hdr,
			    const struct sip_msg *msg, void *arg)
{
	struct reg_req *rq = arg;
	const struct config *cfg = rq->r->cfg;
	struct location_contact *c;
	struct sip_addr addr;
	struct pl val;
	uint32_t exp;

	if (!pl_strcmp(&hdr->val, "*")) {
		rq->star = true;
		return false;
	}

	if (rq->cc >= ARRAY_SIZE(rq->cv)) {
		rq->scode = 403;
		rq->reason = "Too Many Contacts";
		return true;
	}

	if (sip_addr_decode(&addr, &hdr->val)) {
		rq->scode = 400;
		rq->reason = "Bad Request (Contact)";
		return true;
	}

	/* RFC 3261 10.3 step 6: the contact's expires param, then the
	 * Expires header, then our default */
	if (!msg_param_decode(&addr.params, "expires", &val))
		exp = pl_expires(&val);
	else if (pl_isset(&msg->expires))
		exp = pl_expires(&msg->expires);
	else
		exp = cfg->registrar.default_expires;

	/* RFC 3261 10.3 step 7: 423 with Min-Expires */
	if (exp && exp < cfg->registrar.min_expires) {
		rq->scode = 423;
		rq->reason = "Interval Too Brief";
		return true;
	}

	if (exp > cfg->registrar.max_expires)
		exp = cfg->registrar.max_expires;

	/* libre drops idle TCP/TLS connections after 900 s */
	if (exp && msg->tp != SIP_TRANSP_UDP &&
	    exp > cfg->registrar.tcp_max_expires)
		exp = cfg->registrar.tcp_max_expires;

	c = &rq->cv[rq->cc++];
	memset(c, 0, sizeof(*c));
	c->uri = addr.auri;
	c->expires = exp;
	c->q = 1000;
	if (!msg_param_decode(&addr.params, "q", &val))
		c->q = parse_q(&val);

	/* RFC 5626 4.2: +sip.instance="<urn:...>" */
	if (!msg_param_decode(&addr.params, "+sip.instance", &val)) {
		if (val.l >= 2 && val.p[0] == '"' && val.p[val.l - 1] == '"') {
			val.p += 1;
			val.l -= 2;
		}
		c->instance = val;
	}

	return false;
}


/* A UDP retransmission of a REGISTER that was already applied: same
 * Call-ID and CSeq as a binding, from the same address. It repeats the
 * nonce-count of the original, so it must be answered before the digest
 * check, which would take it for a replay (and count a failure). */
static bool is_retransmission(struct reg_req *rq)
{
	const struct list *bl;
	struct le *le;

	if (!rq->user)
		return false;

	bl = location_lookup(rq->r->loc, rq->user->id);
	for (le = list_head(bl); le; le = le->next) {
		const struct binding *b = le->data;

		if (b->cseq == rq->msg->cseq.num &&
		    sa_cmp(&b->src, &rq->msg->src, SA_ALL) &&
		    !pl_strcmp(&rq->msg->callid, b->callid))
			return true;
	}

	return false;
}


static void update_bindings(struct reg_req *rq)
{
	struct registrar *r = rq->r;
	const struct sip_msg *msg = rq->msg;
	struct location_req lreq;
	const struct sip_hdr *ua;
	const struct list *bl;
	uint64_t now = (uint64_t)time(NULL);
	uint32_t before;
	int err;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_handler,
				rq);
	if (rq->scode) {
		if (rq->scode == 423)
			(void)sip_replyf(sipstack_sip(r->ss), msg, 423,
					 rq->reason, "Min-Expires: %u\r\n"
					 "Content-Length: 0\r\n\r\n",
					 r->cfg->registrar.min_expires);
		else
			(void)sip_reply(sipstack_sip(r->ss), msg, rq->scode,
					rq->reason);
		return;
	}

	/* RFC 3261 10.3 step 6: "*" only alone and with Expires: 0 */
	if (rq->star && (rq->cc || !pl_isset(&msg->expires) ||
			 pl_u32(&msg->expires) != 0)) {
		(void)sip_reply(sipstack_sip(r->ss), msg, 400,
				"Bad Request (Contact: * needs Expires: 0)");
		return;
	}

	if (!rq->star && !rq->cc) {
		/* a query (RFC 3261 10.2.3) */
		reply_ok(r, msg, rq->user->id);
		return;
	}

	memset(&lreq, 0, sizeof(lreq));
	lreq.aor    = rq->user->id;
	lreq.callid = msg->callid;
	lreq.cseq   = msg->cseq.num;
	lreq.src    = msg->src;
	lreq.laddr  = msg->dst;
	lreq.tp     = msg->tp;
	/* the user's own limit, else the registrar's (both follow reloads) */
	lreq.max_contacts = rq->user->max_contacts ? rq->user->max_contacts
		: r->cfg->registrar.max_contacts;
	ua = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
	if (ua)
		lreq.user_agent = ua->val;

	bl = location_lookup(r->loc, rq->user->id);
	before = list_count(bl);

	if (rq->star)
		err = location_unregister_all(r->loc, &lreq, now);
	else
		err = location_register(r->loc, &lreq, rq->cv, rq->cc, now);

	switch (err) {

	case 0:
		break;

	case EPROTO:
		(void)sip_reply(sipstack_sip(r->ss), msg, 500,
				"Out-of-order CSeq");
		return;

	case EOVERFLOW:
		(void)sip_reply(sipstack_sip(r->ss), msg, 403,
				"Too Many Contacts");
		return;

	default:
		log_error("registrar: %s: cannot store the binding: %m",
			  rq->user->id, err);
		(void)sip_replyf(sipstack_sip(r->ss), msg, 500,
				 "Server Internal Error",
				 "Retry-After: 30\r\nContent-Length: 0\r\n\r\n");
		return;
	}

	bl = location_lookup(r->loc, rq->user->id);
	if (!before && list_count(bl))
		log_info("registrar: %s registered from %J (%s)",
			 rq->user->id, &msg->src, sip_transp_name(msg->tp));
	else if (before && !list_count(bl))
		log_info("registrar: %s unregistered", rq->user->id);

	reply_ok_durable(rq);
}


/* ---- authentication ---- */

static bool authz_realm_handler(const struct sip_hdr *hdr,
				const struct sip_msg *msg, void *arg)
{
	const char *realm = arg;
	struct pl r;
	(void)msg;

	/* RFC 3261 22.4: use the credentials for our realm */
	if (re_regex(hdr->val.p, hdr->val.l, "realm=\"[^\"]*\"", &r))
		return false;

	return 0 == pl_strcmp(&r, realm);
}


/* ---- lock-out ---- */

/*
 * While src is locked, only a phone that holds a registration from that
 * address goes on (one office behind one NAT address), and only as long
 * as its own user is not the one failing. name is the user the request
 * is for (the AOR of a REGISTER, the caller of an INVITE).
 */
static bool lock_exempt(struct registrar *r, const struct sip_msg *msg,
			const struct config_user *user,
			const struct pl *name, uint64_t now_ms)
{
	return user && location_has_binding_from(r->loc, user->id, &msg->src,
						 (uint64_t)time(NULL))
		&& lockout_user_failures(r->lockout, &msg->src, name, now_ms)
		< r->cfg->auth.max_failures;
}


/* 403 if src is locked and the request is not exempt; true if refused */
static bool refuse_locked(struct registrar *r, const struct sip_msg *msg,
			  const struct config_user *user,
			  const struct pl *name, uint64_t now_ms)
{
	if (!lockout_is_locked(r->lockout, &msg->src, now_ms) ||
	    lock_exempt(r, msg, user, name, now_ms))
		return false;

	++r->stats.locked_out;
	(void)sip_reply(sipstack_sip(r->ss), msg, 403, "Forbidden");
	return true;
}


/* A failed authentication as authname: counted, and the lock (if it
 * starts now) logged once. */
static void count_failure(struct registrar *r, const struct sip_msg *msg,
			  const struct pl *authname, uint64_t now_ms)
{
	++r->stats.auth_failed;

	if (lockout_fail(r->lockout, &msg->src, authname, now_ms))
		log_warn("auth: %j locked out for %us after %u failed "
			 "authentications (last as \"%r\")", &msg->src,
			 r->cfg->auth.lockout, r->cfg->auth.max_failures,
			 authname);
}


static void handle_register(struct registrar *r, const struct sip_msg *msg)
{
	struct reg_req rq;
	const struct sip_hdr *authz;
	struct pl user = PL_INIT;
	uint64_t now_ms = tmr_jiffies();
	enum digest_result res;

	++r->stats.requests;

	if (!sipstack_is_local(r->ss, &msg->uri.host) ||
	    !sipstack_is_local(r->ss, &msg->to.uri.host)) {
		(void)sip_reply(sipstack_sip(r->ss), msg, 403,
				"Domain Not Served");
		return;
	}

	memset(&rq, 0, sizeof(rq));
	rq.r = r;
	rq.msg = msg;
	rq.user = config_user_find(r->cfg, &msg->to.uri.user);

	if (refuse_locked(r, msg, rq.user, &msg->to.uri.user, now_ms))
		return;

	authz = sip_msg_hdr_apply(msg, true, SIP_HDR_AUTHORIZATION,
				  authz_realm_handler, r->cfg->domain);
	if (authz && is_retransmission(&rq)) {
		reply_ok_durable(&rq);
		return;
	}

	if (!authz) {
		reply_challenge(r, msg, false);
		return;
	}

	res = digest_verify(r->digest, &authz->val, &msg->met, &msg->ruri,
			    ha1_handler, r, &user, now_ms);

	/* RFC 3261 10.3 step 3: the authenticated user may change only
	 * its own bindings */
	if (res == DIGEST_OK && (!rq.user || pl_cmp(&user, &msg->to.uri.user)))
		res = DIGEST_FAIL;

	switch (res) {

	case DIGEST_OK:
		lockout_success(r->lockout, &msg->src, &user, now_ms);
		update_bindings(&rq);
		return;

	/* A retransmission whose original changed the binding already, or
	 * a captured header: a new nonce, and no failure counted (a burst
	 * of retransmissions must not lock an office out). */
	case DIGEST_STALE:
	case DIGEST_REPLAY:
		reply_challenge(r, msg, true);
		return;

	case DIGEST_MALFORMED:
		(void)sip_reply(sipstack_sip(r->ss), msg, 400,
				"Bad Request (Authorization)");
		return;

	case DIGEST_FAIL:
	default:
		count_failure(r, msg, &user, now_ms);
		if (refuse_locked(r, msg, rq.user, &msg->to.uri.user, now_ms))
			return;

		reply_challenge(r, msg, false);
		return;
	}
}


static bool request_handler(const struct sip_msg *msg, void *arg)
{
	struct registrar *r = arg;

	if (pl_strcmp(&msg->met, "REGISTER"))
		return false;

	handle_register(r, msg);
	return true;
}


int registrar_alloc(struct registrar **rp, struct sipstack *ss,
		    struct location *loc, struct store *st,
		    struct config *cfg)
{
	struct registrar *r;
	int err;

	if (!rp || !ss || !loc || !cfg)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), registrar_destructor);
	if (!r)
		return ENOMEM;

	r->ss = ss;
	r->loc = loc;
	r->store = st;

	err = registrar_set_config(r, cfg);
	if (err)
		goto out;

	err = sip_listen(&r->lsnr, sipstack_sip(ss), true, request_handler, r);

 out:
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}


void registrar_stats(const struct registrar *r, struct registrar_stats *st)
{
	if (!r || !st)
		return;

	*st = r->stats;
	st->locked_sources = lockout_locked_count(r->lockout, tmr_jiffies());
}


/*
 * Requests other than REGISTER (INVITE): the same digest, nonce and
 * lock-out rules, with 407 and Proxy-Authorization (RFC 3261 22.3). The
 * caller is the From user; it must be the one who authenticates.
 */
bool registrar_authenticate(struct registrar *r, const struct sip_msg *msg,
			    const struct config_user **userp)
{
	const struct config_user *user;
	const struct sip_hdr *authz;
	struct pl name = PL_INIT;
	uint64_t now_ms = tmr_jiffies();
	enum digest_result res;

	user = config_user_find(r->cfg, &msg->from.uri.user);

	if (refuse_locked(r, msg, user, &msg->from.uri.user, now_ms))
		return false;

	authz = sip_msg_hdr_apply(msg, true, SIP_HDR_PROXY_AUTHORIZATION,
				  authz_realm_handler, r->cfg->domain);
	if (!authz) {
		challenge(r, msg, false, true);
		return false;
	}

	res = digest_verify(r->digest, &authz->val, &msg->met, &msg->ruri,
			    ha1_handler, r, &name, now_ms);
	if (res == DIGEST_OK && (!user || pl_cmp(&name, &msg->from.uri.user)))
		res = DIGEST_FAIL;

	switch (res) {

	case DIGEST_OK:
		*userp = user;
		return true;

	case DIGEST_STALE:
	case DIGEST_REPLAY:
		challenge(r, msg, true, true);
		return false;

	case DIGEST_MALFORMED:
		(void)sip_reply(sipstack_sip(r->ss), msg, 400,
				"Bad Request (Proxy-Authorization)");
		return false;

	default:
		count_failure(r, msg, &name, now_ms);
		if (refuse_locked(r, msg, user, &msg->from.uri.user, now_ms))
			return false;

		challenge(r, msg, false, true);
		return false;
	}
}
