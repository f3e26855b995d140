/**
 * @file call.c  Calls: the manager, the caller's leg, the dialplan steps
 *
 * libre 1.1.0 (LIBRARY-NOTES 1.3) sends no 100 Trying and refuses to
 * accept with 100, so the INVITE is answered 100 statelessly and kept
 * (mem_ref) until something must go to the caller: a 18x or the 200
 * create the a-leg session (sipsess_accept). A final refusal before that
 * is a stateless reply; the call object stays 32 s to answer
 * retransmissions the same way, and the ACK is absorbed. A CANCEL before
 * the a-leg exists is ours to answer (the session layer does not know
 * the call yet).
 */
#include <stdlib.h>
#include <time.h>
#include "core.h"
#include "app.h"
#include "cause.h"
#include "config.h"
#include "dialplan.h"
#include "events.h"
#include "location.h"
#include "media.h"
#include "player.h"
#include "registrar.h"
#include "codec.h"
#include "sipstack.h"
#include "trunk.h"
#include "vm.h"
#include "call.h"
#include "call_int.h"

enum {
	REJECTED_LINGER_MS = 32000,   /* RFC 3261 Timer H */
	CALL_HASH_SIZE     = 4096,
	SESS_HASH_SIZE     = 4096,    /* libre's sessions: two per call */
	RETRY_AFTER_S      = 2,       /* in 503s for overload */
};


uint64_t call_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static void call_destructor(void *arg)
{
	struct call *call = arg;

	mem_deref(call->player);
	if (call->vm) {
		vm_rec_stop(call->vm);
		vm_rec_forget(call->vm);
	}
	mem_deref(call->vm_box);
	mem_deref(call->vm_greet);
	mem_deref(call->vmbox);
	wtmr_cancel(&call->tmr);
	wtmr_cancel(&call->tmr_end);
	tmr_cancel(&call->tmr_gc);
	if (call->state != CALL_ENDED && call->le.list)
		--call->cm->active;
	list_unlink(&call->le);
	hash_unlink(&call->he);
	list_flush(&call->forks);
	list_flush(&call->dead);
	mem_deref(call->callee);
	mem_deref(call->a);
	mem_deref(call->a_ep);
	mem_deref(call->b_ep);
	mem_deref(call->inv);
	mem_deref(call->port);
	mem_deref(call->offer);
	mem_deref(call->b_sdp);
	mem_deref(call->a_offer);
	mem_deref(call->a_desc);
	mem_deref(call->cid_num);
	mem_deref(call->cid_name);
	list_flush(&call->steps);
	list_flush(&call->vars);
	mem_deref(call->dest);
	mem_deref(call->context);
	mem_deref(call->alts);
	mem_deref(call->trace);
	mem_deref(call->legs);
	mem_deref(call->cfg);
}


/* ---- ending ---- */

static const char *sip_reason(uint16_t scode)
{
	switch (scode) {

	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 480: return "Temporarily Unavailable";
	case 484: return "Address Incomplete";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 500: return "Server Internal Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 603: return "Decline";
	default:  return "Call Failed";
	}
}

static void end_tmr(void *arg)
{
	mem_deref(arg);
}


/* the text of mb as a C string, without moving its position */
static const char *cstr(struct mbuf *mb)
{
	if (!mb || mbuf_resize(mb, mb->end + 1))
		return "";

	mb->buf[mb->end] = '\0';
	return (const char *)mb->buf;
}


void call_publish(struct call *call, enum event_type type)
{
	struct call_event ce;

	memset(&ce, 0, sizeof(ce));
	ce.id = call->id;
	ce.caller = call->cid_num;
	ce.caller_name = call->cid_name;
	ce.destination = call->dest;
	ce.context = call->context;
	ce.callee = call->callee;
	ce.start = call->start;
	ce.answer = call->answer;
	ce.end = type == EVENT_CALL_ENDED ? call_now_ms() : 0;
	ce.cause = call->cause;
	ce.sip_code = call->scode;
	ce.hangup_side = call->side;
	ce.legs = cstr(call->legs);
	ce.trace = cstr(call->trace);

	events_publish(call->cm->ev, type, &ce);
}


void call_end(struct call *call, int cause, uint16_t scode,
	      const char *side)
{
	const struct cause *c;

	if (call->state == CALL_ENDED)
		return;

	c = cause_by_number(cause);
	if (!scode)
		scode = cause_to_sip(cause);

	call->state = CALL_ENDED;
	--call->cm->active;
	call->cause = cause;
	call->scode = call->answer ? 200 : scode;
	call->side = side;

	wtmr_cancel(&call->tmr);
	call->player = mem_deref(call->player);
	call->vmbox = mem_deref(call->vmbox);

	/* a message being left is kept: the caller hanging up is how most
	 * end (the endpoint goes below, the stop is ahead of it) */
	if (call->vm)
		vm_rec_stop(call->vm);

	/* RFC 3326: the BYEs and CANCELs that go out now say why */
	if (cause_is_q850(c)) {
		struct le *le;

		if (call->a && call->answer)
			(void)sipsess_set_close_headers(call->a,
				"Reason: Q.850;cause=%d;text=\"%s\"\r\n",
				c->num, c->name);
		for (le = call->forks.head; le; le = le->next) {
			struct bleg *bl = le->data;

			if (bl->sess)
				(void)sipsess_set_close_headers(bl->sess,
					"Reason: Q.850;cause=%d;text=\"%s\"\r\n",
					c->num, c->name);
		}
	}

	call_bridge_stop(call);

	log_info("%s: ended, %s (%d), by the %s", call->id,
		 c ? c->name : "?", cause, side);

	if (!call->answer) {
		if (call->a) {
			(void)sipsess_reject(call->a, scode,
					     sip_reason(scode), NULL);
		}
		else {
			/* stateless: retransmissions get the same answer
			 * while the call lingers (Timer H) */
			(void)sip_reply(call->port->sip, call->inv,
					scode, sip_reason(scode));
		}
	}

	/* an answered a-leg gets its BYE when the session goes */
	call->a = mem_deref(call->a);
	call->a_ep = mem_deref(call->a_ep);
	call->b_ep = mem_deref(call->b_ep);

	call_publish(call, EVENT_CALL_ENDED);

	wtmr_start(&call->tmr_end, call->answer ? 0 : REJECTED_LINGER_MS,
		  end_tmr, call);
}


/* ---- the a-leg session ---- */

static void a_estab_handler(const struct sip_msg *msg, void *arg);
static void a_close_handler(int err, const struct sip_msg *msg, void *arg);


int call_accept_early(struct call *call, uint16_t scode,
		      const struct mbuf *b_sdp)
{
	struct mbuf *desc = NULL;
	int err;

	if (call->state != CALL_ROUTING)
		return 0;

	if (b_sdp || scode == 183) {
		err = call_a_sdp(&desc, call, b_sdp);
		if (err)
			return err;
	}

	if (!call->a) {
		err = sipsess_accept(&call->a, call->port->sock, call->inv,
				     scode, scode == 180 ? "Ringing" :
				     "Session Progress", call->caller->id,
				     "application/sdp", desc, NULL, NULL,
				     false, call_a_offer, call_a_answer,
				     a_estab_handler, NULL, NULL,
				     a_close_handler, call, NULL);
	}
	else {
		err = sipsess_progress(call->a, scode, scode == 180 ?
				       "Ringing" : "Session Progress", desc,
				       NULL);
	}

	if (!err)
		call->a_early = true;

	mem_deref(desc);
	return err;
}


int call_answer_a(struct call *call, const struct mbuf *b_sdp)
{
	struct mbuf *desc = NULL;
	int err;

	err = call_a_sdp(&desc, call, b_sdp);
	if (err)
		return err;

	if (!call->a)
		err = sipsess_accept(&call->a, call->port->sock, call->inv, 200,
				     "OK", call->caller->id,
				     "application/sdp", desc, NULL, NULL,
				     false, call_a_offer, call_a_answer,
				     a_estab_handler, NULL, NULL,
				     a_close_handler, call, NULL);
	else
		err = sipsess_answer(call->a, 200, "OK", desc, NULL);

	mem_deref(desc);
	return err;
}


/* A phone that crashed must not hold a call for ever: no RTP (nor RTCP)
 * on a leg for media.timeout_ms ends the call. */
static void media_timeout(struct media_ep *ep, void *arg)
{
	struct call *call = arg;

	log_info("%s: no media from the %s for %u ms", call->id,
		 ep == call->a_ep ? "caller" : "callee",
		 call->cfg->media.timeout_ms);
	call_end(call, 804, 0, "system");       /* MEDIA_TIMEOUT */
}


void call_watch_media(struct call *call)
{
	if (!call->cfg->media.timeout_ms)
		return;

	media_ep_set_timeout(call->a_ep, call->cfg->media.timeout_ms,
			     media_timeout, call);
	if (call->winner)
		media_ep_set_timeout(call->b_ep, call->cfg->media.timeout_ms,
				     media_timeout, call);
}


void call_answered(struct call *call, struct bleg *winner)
{
	int err = 0;

	call->winner = winner;
	(void)str_dup(&call->callee, winner->target);
	/* after "answer" the caller has its 200 already */
	if (!call->answer)
		err = call_answer_a(call, call->b_sdp);
	if (err) {
		log_warn("%s: cannot answer the caller: %m", call->id, err);
		call_end(call, 41, 500, "system");
		return;
	}

	call->state = CALL_ANSWERED;
	if (!call->answer)
		call->answer = call_now_ms();
	media_ep_bridge(call->a_ep, call->b_ep);
	call_watch_media(call);
	log_info("%s: answered by %s (%s)", call->id, winner->target,
		 winner->uri);
	call_publish(call, EVENT_CALL_ANSWERED);
}


static void a_estab_handler(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}


static void a_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;

	(void)msg;
	log_info("%s: the caller hung up (%m)", call->id, err);
	call->a = mem_deref(call->a);
	call_end(call, call->answer ? 16 : 487, 487, "caller");
}


/* ---- new calls ---- */

static bool same_invite(const struct call *call, const struct sip_msg *msg)
{
	return !pl_cmp(&call->inv->callid, &msg->callid) &&
		!pl_cmp(&call->inv->from.tag, &msg->from.tag) &&
		call->inv->cseq.num == msg->cseq.num;
}


static bool same_invite_handler(struct le *le, void *arg)
{
	return same_invite(le->data, arg);
}


static struct call *find_call(const struct callmgr *cm,
			      const struct sip_msg *msg)
{
	return list_ledata(hash_lookup(cm->ht, hash_joaat_pl(&msg->callid),
				       same_invite_handler,
				       (void *)msg));
}


/* A CANCEL matches the INVITE by Call-ID and the top Via's branch */
static bool cancel_match_handler(struct le *le, void *arg)
{
	const struct call *call = le->data;
	const struct sip_msg *msg = arg;

	return !call->a && !pl_cmp(&call->inv->callid, &msg->callid) &&
		!pl_cmp(&call->inv->via.branch, &msg->via.branch);
}


/* RFC 4458: sip:voicemail@PBX;target=sip:1002%40PBX;cause=486 asks for
 * the mailbox of target, with the greeting for the cause (486 busy,
 * 480/408/487 unavailable). The dialplan decides what to do with it:
 * ${vm_target} and ${vm_cause} are set (etc/dialplan/default.xml). */
static void voicemail_uri(struct call *call, const struct sip_msg *msg)
{
	struct pl target, cause, user;
	char *t = NULL, *c = NULL;

	if (pl_strcasecmp(&msg->uri.user, "voicemail") ||
	    msg_param_decode(&msg->uri.params, "target", &target))
		return;

	if (re_sdprintf(&t, "%H", uri_param_unescape, &target))
		return;

	/* the target's user part: sip:1002@host, or a bare 1002 */
	if (re_regex(t, strlen(t), "sip[s]*:[^@;>]+", NULL, &user) &&
	    re_regex(t, strlen(t), "[^@;>]+", &user)) {
		mem_deref(t);
		return;
	}

	if (!re_sdprintf(&c, "%r", &user))
		(void)call_var_set(call, "vm_target", c);
	mem_deref(c);
	c = NULL;

	if (!msg_param_decode(&msg->uri.params, "cause", &cause)) {
		if (!re_sdprintf(&c, "%r", &cause))
			(void)call_var_set(call, "vm_cause", c);
		/* the greeting: busy for 486 (Q.850 17) */
		if (!pl_strcmp(&cause, "486"))
			call->bridge_cause = 17;
	}

	log_info("%s: RFC 4458 voicemail for %s (cause %s)", call->id,
		 call_var(call, "vm_target"), c ? c : "-");
	mem_deref(c);
	mem_deref(t);
}


static int call_alloc(struct call **callp, struct callport *port,
		      const struct sip_msg *msg,
		      const struct config_user *caller, struct trunk *trunk)
{
	struct callmgr *cm = port->cm;
	const struct config *cfg = cm->cfg;
	struct dp_channel ch;
	struct call *call;
	struct sa raddr;
	const char *ext = NULL;
	int err;

	call = mem_zalloc(sizeof(*call), call_destructor);
	if (!call)
		return ENOMEM;

	wtmr_init(&call->tmr);
	wtmr_init(&call->tmr_end);
	tmr_init(&call->tmr_gc);
	call->cm = cm;
	call->port = mem_ref(port);
	call->cfg = mem_ref(cm->cfg);
	call->caller = caller;
	call->inv = mem_ref((struct sip_msg *)msg);
	call->start = call_now_ms();
	(void)re_snprintf(call->id, sizeof(call->id), "c%08x%04x",
			  rand_u32(), ++cm->seq & 0xffff);
	list_append(&cm->calls, &call->le, call);
	hash_append(cm->ht, hash_joaat_pl(&msg->callid), &call->he, call);
	++cm->active;
	++cm->started;

	call->trace = mbuf_alloc(256);
	call->legs = mbuf_alloc(128);
	err  = call->trace && call->legs ? 0 : ENOMEM;
	err |= pl_strdup(&call->dest, &msg->uri.user);
	err |= str_dup(&call->context, caller->context);
	if (trunk) {
		/* the DID: the Request-URI's user, unless that is what we
		 * registered as (then the provider put the DID in To) */
		const struct config_trunk *tc = trunk_config(trunk);

		call->from_trunk = trunk;
		if (!msg->uri.user.l || (tc->username &&
		    !pl_strcmp(&msg->uri.user, tc->username))) {
			mem_deref(call->dest);
			call->dest = NULL;
			err |= pl_strdup(&call->dest, &msg->to.uri.user);
		}
		err |= pl_strdup(&call->cid_num, &msg->from.uri.user);
		if (msg->from.dname.l)
			err |= pl_strdup(&call->cid_name, &msg->from.dname);
		else
			err |= str_dup(&call->cid_name, call->cid_num);
	}
	else {
		err |= str_dup(&call->cid_num, caller->id);
		err |= str_dup(&call->cid_name, caller->name ? caller->name :
			       caller->id);
	}
	if (err)
		goto out;

	/* the caller's offer (delayed offer is not supported yet), with a
	 * codec the caller may use */
	call->a_offer = mem_zalloc(sizeof(*call->a_offer), NULL);
	if (!call->a_offer) {
		err = ENOMEM;
		goto out;
	}
	if (!mbuf_get_left(msg->mb) ||
	    sdpneg_parse(call->a_offer, msg->mb) ||
	    !call_offer_usable(call)) {
		call->state = CALL_ROUTING;
		err = EPROTO;
		goto out;
	}
	raddr = call->a_offer->addr;

	call->offer = mbuf_alloc(mbuf_get_left(msg->mb));
	if (!call->offer) {
		err = ENOMEM;
		goto out;
	}
	(void)mbuf_write_mem(call->offer, mbuf_buf(msg->mb),
			     mbuf_get_left(msg->mb));

	err = media_ep_alloc(&call->a_ep, NULL, &cfg->media.addr,
			     cfg->media.port_min, cfg->media.port_max);
	if (!err)
		err = media_ep_alloc(&call->b_ep, call->a_ep,
				     &cfg->media.addr,
				     cfg->media.port_min, cfg->media.port_max);
	if (err)
		goto out;
	media_ep_set_remote(call->a_ep, &raddr);

	voicemail_uri(call, msg);

	call_channel(&ch, call);
	err = dialplan_hunt(cfg->dialplan, &ch, &call->steps, &ext,
			    call->trace);
	call->next = call->steps.head;

	log_info("%s: %s -> %s in %s: extension %s, %u action(s)", call->id,
		 call->cid_num, call->dest, call->context,
		 ext ? ext : "(none)",
		 list_count(&call->steps));

 out:
	*callp = call;
	return err;
}


/* 503 at once, no call object: the ACK is absorbed by ack_handler. The
 * log says it at most once a second, with the count. */
static void refuse_overload(struct callport *port,
			    const struct sip_msg *msg, enum admit_verdict why)
{
	struct callmgr *cm = port->cm;
	uint64_t sec = call_now_ms() / 1000;

	(void)sip_replyf(port->sip, msg, 503,
			 "Service Unavailable",
			 "Retry-After: %u\r\n"
			 "Content-Length: 0\r\n\r\n", RETRY_AFTER_S);

	++cm->refused_unlogged;
	cm->refused_why = why;
	if (sec == cm->refused_sec)
		return;

	log_warn("calls: overload, %llu new call(s) refused with 503 "
		 "(last: %s from %J; %u in progress)",
		 (unsigned long long)cm->refused_unlogged,
		 admit_verdict_str(why), &msg->src, cm->active);
	cm->refused_sec = sec;
	cm->refused_unlogged = 0;
}


static void conn_handler(const struct sip_msg *msg, void *arg)
{
	struct callport *port = arg;
	struct callmgr *cm = port->cm;
	const struct config_user *caller = NULL;
	struct trunk *trunk = NULL;
	enum admit_verdict verdict;
	struct call *call;
	int err;

	/* a retransmission: the same answer again */
	call = find_call(cm, msg);
	if (call) {
		if (call->state == CALL_ENDED && !call->answer)
			(void)sip_reply(port->sip, msg, call->scode,
					sip_reason(call->scode));
		else if (!call->a)
			(void)sip_reply(port->sip, msg, 100, "Trying");
		return;
	}

	/* behind on signalling: refuse before any digest work */
	verdict = admit_backlog(&cm->admit, sipstack_backlog(msg));
	if (verdict) {
		refuse_overload(port, msg, verdict);
		return;
	}

	/* a trunk's own address: its calls need no digest (RFC 3261 22:
	 * providers do not answer challenges); anyone else is a phone and
	 * authenticates */
	trunk = port->trunk ? port->trunk :
		trunk_by_source(cm->trunks, &msg->src);
	if (trunk) {
		caller = trunk_config(trunk)->user;
	}
	else if (!registrar_authenticate(cm->reg, msg, &caller)) {
		return;
	}

	verdict = admit_limits(&cm->admit, cm->cfg->limits.max_calls,
			       cm->cfg->limits.cps, cm->active,
			       call_now_ms());
	if (verdict) {
		refuse_overload(port, msg, verdict);
		return;
	}

	(void)sip_reply(port->sip, msg, 100, "Trying");

	err = call_alloc(&call, port, msg, caller, trunk);
	if (err) {
		log_info("%s: cannot start the call: %m", call->id, err);
		/* 488 for an offer we cannot take; 503 when the media
		 * ports are all in use (Q.850 34: no circuit available) */
		if (err == EPROTO)
			call_end(call, 88, 488, "system");
		else if (err == EADDRINUSE)
			call_end(call, 34, 503, "system");
		else
			call_end(call, 41, 500, "system");
		return;
	}

	call_publish(call, EVENT_CALL_STARTED);
	call_continue(call);
}


/* CANCEL of an INVITE we have not accepted yet, and ACKs of our
 * stateless refusals: the session layer knows neither. */
static bool request_handler(const struct sip_msg *msg, void *arg)
{
	struct callport *port = arg;
	struct callmgr *cm = port->cm;
	struct le *le;

	if (!pl_strcmp(&msg->met, "CANCEL")) {
		struct call *call;

		le = hash_lookup(cm->ht, hash_joaat_pl(&msg->callid),
				 cancel_match_handler, (void *)msg);
		if (!le)
			return false;

		call = le->data;
		(void)sip_reply(port->sip, msg, 200, "OK");
		if (call->state != CALL_ENDED)
			call_end(call, 487, 487, "caller");
		return true;
	}

	return false;
}


/* Last in line: an ACK nobody claimed acknowledges a stateless final
 * answer (407, or a refusal before the a-leg existed). RFC 3261
 * 17.2.1: it gets no answer (libre would send 501). */
static bool ack_handler(const struct sip_msg *msg, void *arg)
{
	(void)arg;

	return 0 == pl_strcmp(&msg->met, "ACK");
}


static void callmgr_destructor(void *arg)
{
	struct callmgr *cm = arg;

	list_flush(&cm->calls);
	mem_deref(cm->ht);
	mem_deref(cm->main);
	mem_deref(cm->cfg);
}


static void port_destructor(void *arg)
{
	struct callport *port = arg;

	mem_deref(port->lsnr_ack);
	mem_deref(port->lsnr);
	mem_deref(port->sock);
}


static int port_alloc(struct callport **portp, struct callmgr *cm,
		      struct sip *sip, struct trunk *trunk)
{
	struct callport *port;
	int err;

	port = mem_zalloc(sizeof(*port), port_destructor);
	if (!port)
		return ENOMEM;

	port->cm = cm;
	port->sip = sip;
	port->trunk = trunk;

	/* before the session layer's listener: CANCEL of a call we have
	 * not accepted is ours */
	err = sip_listen(&port->lsnr, sip, true, request_handler, port);
	if (!err)
		err = sipsess_listen(&port->sock, sip, SESS_HASH_SIZE,
				     conn_handler, port);
	if (!err)
		err = sip_listen(&port->lsnr_ack, sip, true, ack_handler,
				 port);
	if (err)
		mem_deref(port);
	else
		*portp = port;

	return err;
}


/* A TLS trunk's own stack: its calls come in here */
static void *trunk_port_handler(struct trunk *t, struct sip *sip, void *arg)
{
	struct callport *port = NULL;

	if (port_alloc(&port, arg, sip, t))
		log_warn("trunk %s: calls cannot come in on its stack",
			 trunk_config(t)->name);

	return port;
}


struct sipsess_sock *callmgr_sock_for(const struct callmgr *cm,
				      const struct trunk *t)
{
	const struct callport *port = trunk_port(t);

	return port ? port->sock : cm->main->sock;
}


int callmgr_alloc(struct callmgr **cmp, struct sipstack *ss,
		  struct registrar *reg, struct location *loc,
		  struct events *ev, struct trunkset *trunks,
		  struct config *cfg)
{
	struct callmgr *cm;
	int err;

	cm = mem_zalloc(sizeof(*cm), callmgr_destructor);
	if (!cm)
		return ENOMEM;

	cm->ss = ss;
	cm->reg = reg;
	cm->loc = loc;
	cm->ev = ev;
	cm->trunks = trunks;
	cm->cfg = mem_ref(cfg);

	err = hash_alloc(&cm->ht, CALL_HASH_SIZE);
	if (err)
		goto out;

	err = port_alloc(&cm->main, cm, sipstack_sip(ss), NULL);
	if (!err && trunks)
		trunkset_set_porth(trunks, trunk_port_handler, cm);

 out:
	if (err)
		mem_deref(cm);
	else
		*cmp = cm;

	return err;
}


void callmgr_set_vm(struct callmgr *cm, struct vm *vm)
{
	if (cm)
		cm->vm = vm;
}


void callmgr_set_config(struct callmgr *cm, struct config *cfg)
{
	if (!cm || !cfg)
		return;

	mem_deref(cm->cfg);
	cm->cfg = mem_ref(cfg);
}


uint32_t callmgr_count(const struct callmgr *cm)
{
	return cm ? cm->active : 0;
}


void callmgr_stats(const struct callmgr *cm, struct callmgr_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!cm)
		return;

	st->active = cm->active;
	st->started = cm->started;
	st->refused_backlog = cm->admit.refused[ADMIT_BACKLOG];
	st->refused_limit = cm->admit.refused[ADMIT_MAX_CALLS] +
		cm->admit.refused[ADMIT_RATE];
}


static const char *codec_name(const struct media_codec *mc)
{
	return mc->codec ? mc->codec->name : "-";
}


static int print_leg_json(struct re_printf *pf, const char *name,
			  const struct media_codec *mc,
			  const struct media_stats *st)
{
	return re_hprintf(pf, "\"%s\":{\"codec\":\"%s\",\"rx\":%llu,"
			  "\"tx\":%llu,\"lost\":%llu}", name,
			  codec_name(mc),
			  (unsigned long long)st->rx_packets,
			  (unsigned long long)st->tx_packets,
			  (unsigned long long)st->lost);
}


int callmgr_print(struct re_printf *pf, const struct callmgr *cm,
		  bool json)
{
	uint64_t now = call_now_ms();
	bool first = true;
	struct le *le;
	int err = 0;

	if (json)
		err |= re_hprintf(pf, "[");

	for (le = cm ? cm->calls.head : NULL; le && !err; le = le->next) {
		const struct call *call = le->data;
		const char *state = call->state == CALL_ANSWERED ?
			"answered" : "routing";
		struct media_stats a, b;
		const char *path;

		if (call->state == CALL_ENDED)
			continue;

		/* the caller's packets to the callee; the other way is
		 * the same kind of path */
		path = media_path_name(media_path_of(&call->a_mc,
						     &call->b_mc));

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if (call->a_ep)
			media_ep_stats(call->a_ep, &a);
		if (call->b_ep)
			media_ep_stats(call->b_ep, &b);

		if (json) {
			err |= re_hprintf(pf, "%s{\"id\":\"%s\",\"caller\":",
					  first ? "" : ",", call->id);
			err |= json_str(pf, call->cid_num);
			err |= re_hprintf(pf, ",\"destination\":");
			err |= json_str(pf, call->dest);
			err |= re_hprintf(pf, ",\"state\":\"%s\","
					  "\"seconds\":%llu,\"path\":\"%s\",",
					  state, (unsigned long long)
					  (now - call->start) / 1000, path);
			err |= print_leg_json(pf, "a", &call->a_mc, &a);
			err |= re_hprintf(pf, ",");
			err |= print_leg_json(pf, "b", &call->b_mc, &b);
			err |= re_hprintf(pf, "}");
			first = false;
			continue;
		}

		err |= re_hprintf(pf, "%s %s -> %s %s %llus %s a:%s %llu/%llu "
				  "lost %llu b:%s %llu/%llu lost %llu\n",
				  call->id, call->cid_num, call->dest, state,
				  (unsigned long long)(now - call->start) /
				  1000, path, codec_name(&call->a_mc),
				  (unsigned long long)a.rx_packets,
				  (unsigned long long)a.tx_packets,
				  (unsigned long long)a.lost,
				  codec_name(&call->b_mc),
				  (unsigned long long)b.rx_packets,
				  (unsigned long long)b.tx_packets,
				  (unsigned long long)b.lost);
	}

	if (json)
		err |= re_hprintf(pf, "]\n");

	return err;
}
