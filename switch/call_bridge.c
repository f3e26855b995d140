/**
 * @file call_bridge.c  bridge: b-legs, forking, timeouts, failover
 *
 * "A,B|C" rings A and B together; if neither answers (busy, declined,
 * no answer within call_timeout, not registered), C is tried. A user
 * target rings every registered contact of the user (forking, LIBRARY-
 * NOTES 1.3: independent sessions, the first 200 wins and the others get
 * CANCEL). A contact is reached through the address its REGISTER came
 * from (a Route to it), so phones behind NAT and TCP/TLS flows work. When
 * every alternative failed, the dialplan goes on with its next action.
 */
#include <stdlib.h>
#include "core.h"
#include "cause.h"
#include "config.h"
#include "location.h"
#include "media.h"
#include "codec.h"
#include "e164.h"
#include "trunk.h"
#include "sipstack.h"
#include "call.h"
#include "call_int.h"



static void group_failed(struct call *call);


static void bleg_destructor(void *arg)
{
	struct bleg *bl = arg;

	list_unlink(&bl->le);
	mem_deref(bl->sess);     /* CANCEL if ringing, BYE if answered */
	mem_deref(bl->target);
	mem_deref(bl->uri);
	if (bl->trunk) {
		trunk_call_end(bl->trunk);
		mem_deref(bl->trunk);
	}
}


static void gc_tmr(void *arg)
{
	struct call *call = arg;

	list_flush(&call->dead);
}


/* libre is still inside the session when its close handler runs: the
 * b-leg is freed from a timer */
static void bleg_retire(struct bleg *bl)
{
	struct call *call = bl->call;

	list_unlink(&bl->le);
	list_append(&call->dead, &bl->le, bl);
	tmr_start(&call->tmr_gc, 0, gc_tmr, call);
}


static void note_leg(struct call *call, const struct bleg *bl,
		     const char *result)
{
	(void)mbuf_printf(call->legs, "%s %s: %s\n", bl->target, bl->uri,
			  result);
}


/* The answering leg's SDP: its address, and the codec it chose (the
 * first one we know in its answer) */
static void set_b_remote(struct call *call, const struct sip_msg *msg)
{
	struct sdp_audio *sa;

	if (!mbuf_get_left(msg->mb))
		return;

	sa = mem_zalloc(sizeof(*sa), NULL);
	if (!sa)
		return;

	if (sdpneg_parse(sa, msg->mb)) {
		mem_deref(sa);
		return;
	}

	media_ep_set_remote(call->b_ep, &sa->addr);
	sdpneg_leg_codec(&call->b_mc, sa, sa->n ? &sa->fmts[0] : NULL);
	if (sa->n) {
		media_ep_set_codec(call->b_ep, &call->b_mc);
	}
	else {
		log_warn("%s: the callee answered with no codec we know",
			 call->id);
		media_ep_set_codec(call->b_ep, NULL);
	}
	mem_deref(sa);

	mem_deref(call->b_sdp);
	call->b_sdp = mbuf_alloc(mbuf_get_left(msg->mb));
	if (call->b_sdp)
		(void)mbuf_write_mem(call->b_sdp, mbuf_buf(msg->mb),
				     mbuf_get_left(msg->mb));
}


static void bleg_progress(const struct sip_msg *msg, void *arg)
{
	struct bleg *bl = arg;
	struct call *call = bl->call;

	if (call->state != CALL_ROUTING)
		return;

	if (msg->scode == 183 && mbuf_get_left(msg->mb)) {
		/* early media: the caller hears the callee's ringback */
		set_b_remote(call, msg);
		media_ep_bridge(call->a_ep, call->b_ep);
		(void)call_accept_early(call, 183, call->b_sdp);
	}
	else if (msg->scode == 180 || msg->scode == 183) {
		(void)call_accept_early(call, 180, NULL);
	}
}


static int bleg_answer(const struct sip_msg *msg, void *arg)
{
	struct bleg *bl = arg;

	set_b_remote(bl->call, msg);
	return 0;
}


static void bleg_estab(const struct sip_msg *msg, void *arg)
{
	struct bleg *bl = arg;
	struct call *call = bl->call;
	struct le *le;

	(void)msg;

	if (call->state != CALL_ROUTING) {
		/* answered after the call was decided: hang it up */
		bleg_retire(bl);
		return;
	}

	bl->scode = 200;
	note_leg(call, bl, "answered");
	wtmr_cancel(&call->tmr);

	/* the others get CANCEL */
	le = call->forks.head;
	while (le) {
		struct bleg *other = le->data;

		le = le->next;
		if (other == bl)
			continue;
		note_leg(call, other, "cancelled (answered elsewhere)");
		mem_deref(other);
	}

	call_answered(call, bl);
}


/* Which answers of a trunk try the next route: timeouts, 5xx, no
 * connection (ours: 408 and 500 when no answer came), the provider's own
 * refusals of us (401/407 with our credentials, 403 from the provider is
 * the called party's) */
static bool trunk_failover(uint16_t scode)
{
	return scode == 408 || scode == 401 || scode == 407 ||
		(scode >= 500 && scode < 600);
}


static void bleg_close(int err, const struct sip_msg *msg, void *arg)
{
	struct bleg *bl = arg;
	struct call *call = bl->call;
	char result[64];

	if (bl == call->winner) {
		log_info("%s: %s hung up", call->id, bl->target);
		call->winner = NULL;
		bleg_retire(bl);
		call_end(call, 16, 0, "callee");
		return;
	}

	bl->scode = msg ? msg->scode : (err == ETIMEDOUT ? 408 : 500);
	(void)re_snprintf(result, sizeof(result), "%u %r", bl->scode,
			  msg ? &msg->reason : &(struct pl)PL("no answer"));
	note_leg(call, bl, result);
	log_info("%s: %s (%s) answered %s", call->id, bl->target, bl->uri,
		 result);

	{
		const struct cause *c = cause_from_sip(bl->scode);
		call->bridge_cause = c ? c->num : 41;
	}

	/* a trunk's failure tries the next one; an answer from the called
	 * party (busy, declined, no such number) ends the bridge: a busy
	 * callee is not rung once per trunk */
	if (bl->trunk && !trunk_failover(bl->scode)) {
		log_info("%s: %u from the called party: no other trunk tried",
			 call->id, bl->scode);
		call->alts = mem_deref(call->alts);
	}

	bleg_retire(bl);

	if (call->state == CALL_ROUTING && list_isempty(&call->forks))
		group_failed(call);
}


/* A b-leg to uri for target ("user/1002"), on trunk tr (counted) */
static int bleg_alloc(struct bleg **blp, struct call *call,
		      const char *target, const char *uri, struct trunk *tr)
{
	struct bleg *bl;
	int err;

	bl = mem_zalloc(sizeof(*bl), bleg_destructor);
	if (!bl)
		return ENOMEM;

	bl->call = call;
	err  = str_dup(&bl->target, target);
	err |= str_dup(&bl->uri, uri);
	if (!err && tr) {
		bl->trunk = mem_ref(tr);
		trunk_call_begin(tr);
	}
	if (err)
		mem_deref(bl);
	else
		*blp = bl;

	return err;
}


static int fork_to(struct call *call, const char *target,
		   const struct config_user *u, const struct binding *b)
{
	struct callmgr *cm = call->cm;
	const struct config *cfg = call->cfg;
	struct mbuf *desc = NULL;
	char route[128], from[256];
	const char *routev[1];
	struct bleg *bl;
	int err;

	err = bleg_alloc(&bl, call, target, b->uri, NULL);
	if (err)
		return err;

	/* to the address the REGISTER came from: NAT, TCP/TLS flows */
	(void)re_snprintf(route, sizeof(route), "sip:%J;transport=%s;lr",
			  &b->src, b->tp == SIP_TRANSP_TLS ? "tls" :
			  b->tp == SIP_TRANSP_TCP ? "tcp" : "udp");
	routev[0] = route;

	(void)re_snprintf(from, sizeof(from), "sip:%s@%s", call->cid_num,
			  cfg->domain);

	err = bleg_sdp_offer(&desc, call, config_user_codecs(cfg, u));
	if (err)
		goto out;

	err = sipsess_connect(&bl->sess, callmgr_sock_for(cm, NULL), b->uri,
			      call->cid_name, from, call->cid_num,
			      routev, 1, "application/sdp", desc,
			      NULL, NULL, false, bleg_offer, bleg_answer,
			      bleg_progress, bleg_estab, NULL, NULL,
			      bleg_close, bl, NULL);
	if (err) {
		log_warn("%s: cannot call %s at %s: %m", call->id, target,
			 b->uri, err);
		goto out;
	}

	log_info("%s: ringing %s at %s", call->id, target, b->uri);
	list_append(&call->forks, &bl->le, bl);
	bl = NULL;

 out:
	mem_deref(desc);
	mem_deref(bl);
	return err;
}


/* Our offer to a callee: the codecs it may use, those it shares with
 * the caller first (sdpneg_offer_fmts); once the caller's codec is
 * fixed, that one stands for the caller's offer. */
int bleg_sdp_offer(struct mbuf **mbp, struct call *call,
		   const struct codec_list *allowed)
{
	struct sdp_fmt fmts[SDP_FMTS_MAX];
	struct sdp_te te[SDP_TE_MAX];
	struct sdp_audio *have = call->a_offer;
	unsigned n, nte;
	int err;

	if (call->a_fixed) {
		have = mem_zalloc(sizeof(*have), NULL);
		if (!have)
			return ENOMEM;
		have->fmts[0].codec = call->a_mc.codec;
		have->fmts[0].pt = call->a_mc.pt;
		str_ncpy(have->fmts[0].fmtp, call->a_mc.fmtp,
			 sizeof(have->fmts[0].fmtp));
		have->n = 1;
		if (call->a_mc.te_pt >= 0) {
			have->te[0].pt = (uint8_t)call->a_mc.te_pt;
			have->te[0].clock = call->a_mc.te_clock;
			have->nte = 1;
		}
		have->dir = call->a_offer->dir;
	}

	err = sdpneg_offer_fmts(fmts, &n, te, &nte, have, allowed);
	if (!err)
		err = sdpneg_write(mbp, &call->b_origin,
				   media_ep_local(call->b_ep), fmts, n, te,
				   nte, call->a_offer->dir);

	if (have != call->a_offer)
		mem_deref(have);

	return err;
}


static void fork_user(struct call *call, const char *target,
		      const struct config_user *u)
{
	const struct list *bl = location_lookup(call->cm->loc, u->id);
	struct le *le;

	if (list_isempty(bl)) {
		(void)mbuf_printf(call->legs, "%s: not registered\n", target);
		call->bridge_cause = 806;    /* USER_NOT_REGISTERED */
		return;
	}

	for (le = list_head(bl); le; le = le->next)
		(void)fork_to(call, target, u, le->data);
}


/* The provider's digest challenge: the trunk's credentials */
static int trunk_auth(char **user, char **pass, const char *realm,
		      void *arg)
{
	const struct bleg *bl = arg;
	const struct config_trunk *tc = trunk_config(bl->trunk);
	(void)realm;

	if (!tc->username || !tc->password)
		return EAUTH;

	return str_dup(user, tc->username) | str_dup(pass, tc->password);
}


static int fork_trunk(struct call *call, const char *target,
		      struct trunk *tr, const char *e164)
{
	const struct config_trunk *tc = trunk_config(tr);
	const struct config *cfg = call->cfg;
	const char *cid = tc->caller_id ? tc->caller_id : call->cid_num;
	const char *pv = call_var(call, "privacy");
	const struct sip_hdr *ph = sip_msg_hdr(call->inv, SIP_HDR_PRIVACY);
	/* RFC 3323: the caller asked (Privacy: id from the phone, or the
	 * dialplan's privacy=yes): an anonymous From, the identity only in
	 * P-Asserted-Identity for the provider, with Privacy: id */
	bool anon = (pv && (!strcmp(pv, "yes") || !strcmp(pv, "id"))) ||
		(ph && !re_regex(ph->val.p, ph->val.l, "[^a-z]*id[^a-z]*"));
	struct mbuf *desc = NULL;
	char uri[256], from[256], pai[400] = "";
	struct bleg *bl;
	int err;

	err = trunk_uri(uri, sizeof(uri), tr, e164);
	if (!err)
		err = bleg_alloc(&bl, call, target, uri, tr);
	if (err)
		return err;

	if (anon)
		str_ncpy(from, "sip:anonymous@anonymous.invalid", sizeof(from));
	else
		(void)re_snprintf(from, sizeof(from), "sip:%s@%s", cid,
				  cfg->domain);
	if (tc->pai || anon)
		(void)re_snprintf(pai, sizeof(pai), "P-Asserted-Identity: "
				  "\"%s\" <sip:%s@%s>\r\n%s",
				  call->cid_name, cid, cfg->domain,
				  anon ? "Privacy: id\r\n" : "");

	err = bleg_sdp_offer(&desc, call, tc->codecs.n ? &tc->codecs :
			     &cfg->media.codecs);
	if (err)
		goto out;

	err = sipsess_connect(&bl->sess, callmgr_sock_for(call->cm, tr), uri,
			      anon ? "Anonymous" : tc->caller_id ? NULL :
			      call->cid_name, from,
			      "switchboard", NULL, 0, "application/sdp",
			      desc, trunk_auth, bl, false, bleg_offer,
			      bleg_answer, bleg_progress, bleg_estab, NULL,
			      NULL, bleg_close, bl, "%s", pai);
	if (err) {
		log_warn("%s: cannot call %s: %m", call->id, target, err);
		goto out;
	}

	log_info("%s: calling %s over trunk %s (%s)", call->id, e164,
		 tc->name, uri);
	list_append(&call->forks, &bl->le, bl);
	bl = NULL;

 out:
	mem_deref(desc);
	mem_deref(bl);
	return err;
}


/* trunk/NAME/NUMBER: the class of service first (no toll fraud), then
 * the trunk's state (down and full trunks are skipped at once: the
 * next alternative is tried) */
static void start_trunk(struct call *call, const char *t)
{
	char name[64], number[64], e164[64];
	const char *slash = strchr(t + 6, '/'), *why = NULL;
	const struct config_trunk *tc;
	struct trunk *tr;
	enum cos need;

	if (!slash || (size_t)(slash - (t + 6)) >= sizeof(name) ||
	    !slash[1]) {
		(void)mbuf_printf(call->legs, "%s: want trunk/NAME/NUMBER\n",
				  t);
		call->bridge_cause = 3;             /* NO_ROUTE_DESTINATION */
		return;
	}
	str_ncpy(name, t + 6, (size_t)(slash - (t + 6)) + 1);
	str_ncpy(number, slash + 1, sizeof(number));

	tr = trunk_find(call->cm->trunks, name);
	if (!tr) {
		(void)mbuf_printf(call->legs, "%s: no such trunk\n", t);
		call->bridge_cause = 3;
		return;
	}
	tc = trunk_config(tr);

	if (e164_normalise(e164, sizeof(e164), number, tc)) {
		(void)mbuf_printf(call->legs, "%s: not a number\n", t);
		call->bridge_cause = 28;            /* INVALID_NUMBER_FORMAT */
		return;
	}

	need = e164_class(e164, tc);
	if (call->caller->cos == COS_INTERNAL || call->caller->cos < need) {
		(void)mbuf_printf(call->legs, "%s: refused: %s may call %s, "
				  "%s is %s\n", t, call->caller->id,
				  cos_name(call->caller->cos), e164,
				  cos_name(need));
		log_warn("%s: %s may not call %s (%s) over trunk %s: class of "
			 "service %s", call->id, call->caller->id, e164,
			 cos_name(need), tc->name, cos_name(call->caller->cos));
		call->bridge_cause = 21;            /* CALL_REJECTED: 403 */
		/* every other route would be refused the same */
		call->alts = mem_deref(call->alts);
		return;
	}

	if (!trunk_usable(tr, &why)) {
		(void)mbuf_printf(call->legs, "%s: skipped: %s\n", t, why);
		log_info("%s: trunk %s skipped: %s", call->id, tc->name, why);
		call->bridge_cause = 34;            /* NO_CIRCUIT_AVAILABLE */
		return;
	}

	/* the caller hears ringback while trunks are tried */
	if (!call->answer && !call->a_early)
		(void)call_accept_early(call, 180, NULL);

	if (fork_trunk(call, t, tr, e164)) {
		(void)mbuf_printf(call->legs, "%s: cannot send\n", t);
		call->bridge_cause = 38;            /* NETWORK_OUT_OF_ORDER */
	}
}


/* tgroup/NAME/NUMBER: the group's trunks become '|' alternatives,
 * ahead of the ones that followed, the first one tried now */
static void start_tgroup(struct call *call, const char *t)
{
	const char *slash = strchr(t + 7, '/');
	const struct config_tgroup *g;
	char name[64], buf[512], *tok, *save = NULL, *p = buf;
	struct mbuf *mb;
	char *list = NULL, *bar;

	if (!slash || (size_t)(slash - (t + 7)) >= sizeof(name)) {
		(void)mbuf_printf(call->legs, "%s: want tgroup/NAME/NUMBER\n",
				  t);
		call->bridge_cause = 3;
		return;
	}
	str_ncpy(name, t + 7, (size_t)(slash - (t + 7)) + 1);
	g = config_tgroup_find(call->cfg, name);
	if (!g) {
		(void)mbuf_printf(call->legs, "%s: no such trunk group\n", t);
		call->bridge_cause = 3;
		return;
	}

	mb = mbuf_alloc(256);
	if (!mb)
		return;
	str_ncpy(buf, g->trunks, sizeof(buf));
	while ((tok = strtok_r(p, " \t", &save))) {
		(void)mbuf_printf(mb, "%strunk/%s%s", p ? "" : "|", tok, slash);
		p = NULL;
	}
	if (call->alts)
		(void)mbuf_printf(mb, "|%s", call->alts);
	mb->pos = 0;
	(void)mbuf_strdup(mb, &list, mb->end);
	mem_deref(mb);
	if (!list)
		return;

	bar = strchr(list, '|');
	call->alts = mem_deref(call->alts);
	if (bar) {
		*bar = '\0';
		(void)str_dup(&call->alts, bar + 1);
	}
	start_trunk(call, list);
	mem_deref(list);
}


static void start_target(struct call *call, const char *t)
{
	if (!strncmp(t, "user/", 5)) {
		struct pl id;
		const struct config_user *u;

		pl_set_str(&id, t + 5);
		u = config_user_find(call->cfg, &id);
		if (!u) {
			(void)mbuf_printf(call->legs, "%s: no such user\n", t);
			call->bridge_cause = 1;     /* UNALLOCATED_NUMBER */
			return;
		}
		fork_user(call, t, u);
	}
	else if (!strncmp(t, "group/", 6)) {
		const struct config_group *g = config_group_find(call->cfg,
								  t + 6);
		char buf[512], *tok, *save = NULL, *p = buf;

		if (!g) {
			(void)mbuf_printf(call->legs, "%s: no such group\n", t);
			call->bridge_cause = 1;     /* UNALLOCATED_NUMBER */
			return;
		}

		/* sequential: the members become '|' alternatives */
		if (g->sequential) {
			struct mbuf *mb = mbuf_alloc(128);
			char *rest = NULL;

			str_ncpy(buf, g->members, sizeof(buf));
			while (mb && (tok = strtok_r(p, " \t", &save))) {
				(void)mbuf_printf(mb, "%suser/%s",
						  p ? "" : "|", tok);
				p = NULL;
			}
			if (mb && call->alts)
				(void)mbuf_printf(mb, "|%s", call->alts);
			if (mb) {
				mb->pos = 0;
				(void)mbuf_strdup(mb, &rest, mb->end);
			}
			mem_deref(mb);

			/* ring the first member now, the rest in turn */
			if (rest) {
				char *bar = strchr(rest, '|');

				call->alts = mem_deref(call->alts);
				if (bar) {
					*bar = '\0';
					(void)str_dup(&call->alts, bar + 1);
				}
				start_target(call, rest);
				mem_deref(rest);
			}
			return;
		}

		str_ncpy(buf, g->members, sizeof(buf));
		while ((tok = strtok_r(p, " \t", &save))) {
			char ut[128];

			(void)re_snprintf(ut, sizeof(ut), "user/%s", tok);
			start_target(call, ut);
			p = NULL;
		}
	}
	else if (!strncmp(t, "trunk/", 6)) {
		start_trunk(call, t);
	}
	else if (!strncmp(t, "tgroup/", 7)) {
		start_tgroup(call, t);
	}
	else {
		(void)mbuf_printf(call->legs, "%s: unknown target\n", t);
		log_warn("%s: bridge %s: unknown target", call->id, t);
		call->bridge_cause = 3;             /* NO_ROUTE_DESTINATION */
	}
}


static void timeout_tmr(void *arg)
{
	struct call *call = arg;
	struct le *le;

	log_info("%s: no answer within the bridge timeout", call->id);

	le = call->forks.head;
	while (le) {
		struct bleg *bl = le->data;

		le = le->next;
		note_leg(call, bl, "no answer (timeout)");
		mem_deref(bl);
	}

	call->bridge_cause = 19;                    /* NO_ANSWER */
	group_failed(call);
}


/* Start the alternative in group ("A,B"); false if nothing rings. */
static bool start_group(struct call *call, const char *group)
{
	char buf[512], *tok, *save = NULL, *p = buf;
	const char *to = call_var(call, "call_timeout");
	uint32_t secs = to ? (uint32_t)atoi(to) : call->cfg->calls.timeout;

	str_ncpy(buf, group, sizeof(buf));
	while ((tok = strtok_r(p, ",", &save))) {
		while (*tok == ' ')
			++tok;
		start_target(call, tok);
		p = NULL;
	}

	if (list_isempty(&call->forks))
		return false;

	wtmr_start(&call->tmr, (secs ? secs : 30) * 1000ULL, timeout_tmr,
		  call);
	return true;
}


/* Next alternative after '|', or on with the dialplan. */
static void group_failed(struct call *call)
{
	wtmr_cancel(&call->tmr);

	while (call->alts) {
		char *rest = call->alts, *bar = strchr(rest, '|');
		char *group = NULL;

		call->alts = NULL;
		if (bar) {
			*bar = '\0';
			(void)str_dup(&call->alts, bar + 1);
		}
		(void)str_dup(&group, rest);
		mem_deref(rest);

		if (group && start_group(call, group)) {
			mem_deref(group);
			return;
		}
		mem_deref(group);
	}

	call_continue(call);
}


int call_bridge(struct call *call, const char *data)
{
	char *bar;
	char *first = NULL;
	int err;

	call->alts = mem_deref(call->alts);
	err = str_dup(&first, data);
	if (err)
		return err;

	bar = strchr(first, '|');
	if (bar) {
		*bar = '\0';
		err = str_dup(&call->alts, bar + 1);
	}

	/* The relay runs on a media worker, the 200 here: a callee that
	 * sends RTP right after its 200 must not lose the first packets
	 * while the answer is handled. Until then the b-leg has no remote
	 * and the caller's packets go nowhere. */
	if (!call->answer)
		media_ep_bridge(call->a_ep, call->b_ep);

	if (!err && !start_group(call, first)) {
		/* nothing rang: the next alternative, or fail now */
		mem_deref(first);
		if (!call->alts)
			return ENOENT;
		group_failed(call);
		return 0;
	}

	mem_deref(first);
	return err;
}


void call_bridge_stop(struct call *call)
{
	wtmr_cancel(&call->tmr);
	call->alts = mem_deref(call->alts);

	/* the winner is a fork too: its BYE goes with it */
	list_flush(&call->forks);
	call->winner = NULL;
}
