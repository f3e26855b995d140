/**
 * @file call_steps.c  Running a call's dialplan actions, and its variables
 *
 * The actions a hunt found run one after another until one waits
 * (bridge, sleep, playback: each resumes with call_continue()) or the
 * call ends. ${var} in their data is expanded just before each runs.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "core.h"
#include "app.h"
#include "cause.h"
#include "config.h"
#include "dialplan.h"
#include "events.h"
#include "media.h"
#include "player.h"
#include "codec.h"
#include "vm.h"
#include "call.h"
#include "call_int.h"


static void var_destructor(void *arg)
{
	struct call_var *v = arg;

	list_unlink(&v->le);
	mem_deref(v->name);
	mem_deref(v->value);
}


/* ---- variables ---- */

const char *call_var(const struct call *call, const char *name)
{
	struct le *le;

	for (le = call->vars.head; le; le = le->next) {
		const struct call_var *v = le->data;
		if (!strcmp(v->name, name))
			return v->value;
	}

	/* the authenticated caller's own mailbox (*97); none for a
	 * trunk's callers */
	if (!strcmp(name, "caller_mailbox") && call->caller &&
	    !call->from_trunk)
		return call->caller->mailbox ? call->caller->mailbox :
			call->caller->id;

	return NULL;
}


static void var_unset(struct call *call, const char *name)
{
	struct le *le;

	for (le = call->vars.head; le; le = le->next) {
		struct call_var *v = le->data;
		if (!strcmp(v->name, name)) {
			mem_deref(v);
			return;
		}
	}
}


static int var_set(struct call *call, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	struct call_var *v;
	int err;

	if (!eq)
		return EINVAL;

	v = mem_zalloc(sizeof(*v), var_destructor);
	if (!v)
		return ENOMEM;

	err  = re_sdprintf(&v->name, "%b", assignment,
			   (size_t)(eq - assignment));
	err |= str_dup(&v->value, eq + 1);
	if (err) {
		mem_deref(v);
		return err;
	}

	var_unset(call, v->name);
	list_append(&call->vars, &v->le, v);
	return 0;
}


int call_var_set(struct call *call, const char *name, const char *value)
{
	char *a = NULL;
	int err;

	err = re_sdprintf(&a, "%s=%s", name, value);
	if (!err)
		err = var_set(call, a);
	mem_deref(a);
	return err;
}


static const char *var_handler(const char *name, void *arg)
{
	return call_var(arg, name);
}


void call_channel(struct dp_channel *ch, const struct call *call)
{
	static char addr[64];

	(void)re_snprintf(addr, sizeof(addr), "%j", &call->inv->src);
	memset(ch, 0, sizeof(*ch));
	ch->destination_number = call->dest;
	ch->caller_id_number = call->cid_num;
	ch->caller_id_name = call->cid_name;
	ch->network_addr = addr;
	ch->context = call->context;
	ch->var = var_handler;
	ch->arg = (void *)call;
	ch->now = time(NULL);
}


/* ---- running the steps ---- */

int call_answer(struct call *call)
{
	int err;

	if (call->answer)
		return 0;

	err = call_answer_a(call, NULL);
	if (err)
		return err;

	call->answer = call_now_ms();
	call_watch_media(call);
	call_publish(call, EVENT_CALL_ANSWERED);
	return 0;
}


static void sleep_done(void *arg)
{
	call_continue(arg);
}


/* The payload type our G.711 prompts go out with: the caller's own for
 * PCMU or PCMA, else PCMU (the media worker transcodes it) */
uint8_t call_prompt_pt(const struct call *call)
{
	const struct codec *c = call->a_mc.codec;

	return c && (c->pt == 0 || c->pt == 8) ? call->a_mc.pt : 0;
}


static void playback_done(int err, void *arg)
{
	struct call *call = arg;

	call->player = mem_deref(call->player);
	if (err)
		log_warn("%s: playback: %m", call->id, err);
	call_continue(call);
}


/* A prompt or a tone to the caller: as early media (183) when the call
 * is not answered, so announcements cost the caller nothing. */
static int run_playback(struct call *call, const char *data)
{
	int pt, err;

	if (!call->answer && !call->a_early) {
		err = call_accept_early(call, 183, NULL);
		if (err)
			return err;
	}

	/* our prompts are G.711: the caller's codec was chosen so when it
	 * offered one (a_choose); for another the media worker transcodes
	 * from PCMU */
	if (!call->a_mc.codec)
		return ENOTSUP;
	pt = call_prompt_pt(call);

	/* a file name is relative to the config folder */
	if (strncmp(data, "tone://", 7) && data[0] != '/') {
		char path[512];

		(void)re_snprintf(path, sizeof(path), "%s/%s",
				  call->cfg->confdir, data);
		return player_alloc(&call->player, call->a_ep, &call->a_rtp,
				    (uint8_t)pt, path, playback_done, call);
	}

	return player_alloc(&call->player, call->a_ep, &call->a_rtp,
			    (uint8_t)pt, data, playback_done, call);
}


/* ---- voicemail: a beep, then the caller's message ---- */

enum {
	VM_CHECK_MS   = 200,
};


static void vm_done(int err, int64_t id, uint64_t ms, void *arg)
{
	struct call *call = arg;

	(void)mbuf_printf(call->legs, "voicemail %s: %s (%llu ms)\n",
			  call->vm_box, err ? "not kept" : "message kept",
			  (unsigned long long)ms);
	(void)id;
	call->vm = NULL;
}


static bool vm_say(struct call *call, const char *name);


static void vm_check(void *arg)
{
	struct call *call = arg;
	const char *why = NULL;

	bool full = false;

	if (vm_rec_hash(call->vm))
		why = "# pressed";
	else if (vm_rec_ms(call->vm) >=
		 call->cfg->voicemail.max_length * 1000ULL)
		why = "maximum length", full = true;
	else if (vm_rec_silent_ms(call->vm) >=
		 call->cfg->voicemail.silence * 1000ULL)
		why = "silence";

	if (!why) {
		wtmr_start(&call->tmr, VM_CHECK_MS, vm_check, call);
		return;
	}

	log_info("%s: voicemail %s: recording ends (%s)", call->id,
		 call->vm_box, why);
	vm_rec_stop(call->vm);

	/* the caller is told why the recording stopped, then goodbye */
	if (full && vm_say(call, "vm-max-length"))
		return;
	call_end(call, 16, 0, "system");
}


static void vm_said(int err, void *arg)
{
	struct call *call = arg;
	(void)err;

	call->player = mem_deref(call->player);
	call_end(call, 16, 0, "system");
}


/* A prompt from CONFDIR/sounds, then the end of the call; false if it
 * cannot be played */
static bool vm_say(struct call *call, const char *name)
{
	char path[300];
	uint8_t pt = call_prompt_pt(call);

	(void)re_snprintf(path, sizeof(path), "%s/sounds/%s.wav",
			  call->cfg->confdir, name);
	if (access(path, R_OK))
		return false;

	return 0 == player_alloc(&call->player, call->a_ep, &call->a_rtp, pt,
				 path, vm_said, call);
}


static void vm_beep_done(int err, void *arg)
{
	struct call *call = arg;

	call->player = mem_deref(call->player);
	if (err)
		log_warn("%s: voicemail beep: %m", call->id, err);

	err = vm_rec_start(&call->vm, call->cm->vm, call->a_ep, call->vm_box,
			   call->cid_num, call->cid_name, vm_done, call);
	if (err) {
		log_warn("%s: voicemail %s: cannot record: %m", call->id,
			 call->vm_box, err);
		call_end(call, 41, 0, "system");
		return;
	}

	{
		const struct config_user *u =
			call_mailbox_owner(call->cfg, call->vm_box);

		if (u && u->email)
			(void)vm_rec_set_email(call->vm, u->email);
	}

	log_info("%s: voicemail %s: recording", call->id, call->vm_box);
	wtmr_start(&call->tmr, VM_CHECK_MS, vm_check, call);
}


/* The greeting, file after file, then the beep */
enum { VM_GREET_MAX = 16 };

struct vm_greet {
	unsigned n, i;
	char path[VM_GREET_MAX][300];
};


static void vm_play_next(struct call *call);


static void vm_greet_done(int err, void *arg)
{
	struct call *call = arg;

	call->player = mem_deref(call->player);
	if (err)
		log_warn("%s: voicemail greeting: %m", call->id, err);
	vm_play_next(call);
}


static void vm_play_next(struct call *call)
{
	struct vm_greet *g = call->vm_greet;
	uint8_t pt = call_prompt_pt(call);
	int err;

	/* our prompts are G.711 (transcoded by the worker for others) */
	while (g && g->i < g->n) {
		err = player_alloc(&call->player, call->a_ep, &call->a_rtp,
				   pt, g->path[g->i++], vm_greet_done, call);
		if (!err)
			return;
		log_warn("%s: voicemail greeting %s: %m", call->id,
			 g->path[g->i - 1], err);
	}

	err = player_alloc(&call->player, call->a_ep, &call->a_rtp, pt,
			   "tone://1000,300,0,1", vm_beep_done, call);
	if (err)
		vm_beep_done(err, call);
}


static void greet_add(struct vm_greet *g, const char *dir, const char *name)
{
	if (g->n == VM_GREET_MAX)
		return;

	(void)re_snprintf(g->path[g->n], sizeof(g->path[g->n]), "%s/%s.wav",
			  dir, name);
	if (access(g->path[g->n], R_OK) == 0)
		++g->n;
}


/* The spoken default: "The person at extension 1 0 0 2" (or the
 * owner's recorded name) "is not available. Please leave a message..." */
static void greet_default(struct vm_greet *g, const struct call *call,
			  const char *dir, bool busy)
{
	char sounds[300];
	const char *p;

	(void)re_snprintf(sounds, sizeof(sounds), "%s/sounds",
			  call->cfg->confdir);

	greet_add(g, dir, "greeting-name");
	if (!g->n) {
		greet_add(g, sounds, "vm-person");
		for (p = call->vm_box; g->n && *p; p++) {
			char d[16];

			(void)re_snprintf(d, sizeof(d), "digit-%c", *p);
			if (*p >= '0' && *p <= '9')
				greet_add(g, sounds, d);
		}
	}
	if (g->n)
		greet_add(g, sounds, busy ? "vm-busy" : "vm-unavailable");
	greet_add(g, sounds, "vm-leave-message");
}


/* The mailbox's own greeting (greeting-busy or greeting-unavailable in
 * its folder), else the spoken default from the prompts in
 * CONFDIR/sounds (contrib/prompts.sh); none: the beep alone */
static int vm_greeting(struct call *call, bool busy)
{
	struct vm_greet *g;
	const char *kind = "the mailbox's own";
	char dir[300];

	g = mem_zalloc(sizeof(*g), NULL);
	if (!g)
		return ENOMEM;

	(void)re_snprintf(dir, sizeof(dir), "%s/voicemail/%s",
			  vm_datadir(call->cm->vm), call->vm_box);
	greet_add(g, dir, busy ? "greeting-busy" : "greeting-unavailable");
	if (!g->n) {
		greet_default(g, call, dir, busy);
		kind = g->n ? "spoken default" : "none: the beep alone";
	}

	log_info("%s: voicemail %s: %s greeting (%s)", call->id,
		 call->vm_box, busy ? "busy" : "unavailable", kind);

	mem_deref(call->vm_greet);
	call->vm_greet = g;
	return 0;
}


/* voicemail MAILBOX: answer, greet, beep, record until the caller hangs
 * up, presses #, stays silent or reaches the maximum length */
const struct config_user *call_mailbox_owner(const struct config *cfg,
					    const char *box)
{
	struct le *le;

	for (le = cfg->userl.head; le; le = le->next) {
		const struct config_user *u = le->data;

		if (u->mailbox ? !strcmp(u->mailbox, box) :
		    !strcmp(u->id, box))
			return u;
	}

	return NULL;
}


static int run_voicemail(struct call *call, const char *data)
{
	int err;

	if (!call->cm->vm)
		return ENOSYS;

	if (!call_mailbox_owner(call->cfg, data)) {
		(void)mbuf_printf(call->legs, "voicemail %s: no such mailbox\n",
				  data);
		return ENOENT;
	}

	mem_deref(call->vm_box);
	call->vm_box = NULL;
	err = str_dup(&call->vm_box, data);
	if (err)
		return err;

	err = call_answer(call);
	if (err)
		return err;

	/* a full mailbox takes no more: the caller is told so */
	{
		uint32_t nnew = 0, nold = 0;

		if (!vm_count(call->cm->vm, call->vm_box, &nnew, &nold) &&
		    nnew + nold >= call->cfg->voicemail.max_messages) {
			log_info("%s: voicemail %s: full (%u messages)",
				 call->id, call->vm_box, nnew + nold);
			(void)mbuf_printf(call->legs, "voicemail %s: full\n",
					  call->vm_box);
			if (!vm_say(call, "vm-full"))
				call_end(call, 16, 0, "system");
			return 0;
		}
	}

	/* a bridge that found the callee busy (Q.850 17) */
	err = vm_greeting(call, call->bridge_cause == 17);
	if (err)
		return err;

	vm_play_next(call);
	return 0;
}


static int run_transfer(struct call *call, const char *data)
{
	char ext[128], ctx[128] = "";

	if (sscanf(data, "%127s %127s", ext, ctx) < 1)
		return EINVAL;

	return call_transfer(call, ext, ctx[0] ? ctx : NULL);
}


int call_transfer(struct call *call, const char *ext, const char *ctx)
{
	struct dp_channel ch;
	const char *e = NULL;
	int err;

	mem_deref(call->dest);
	call->dest = NULL;
	err = str_dup(&call->dest, ext);
	if (!err && ctx) {
		mem_deref(call->context);
		call->context = NULL;
		err = str_dup(&call->context, ctx);
	}
	if (err)
		return err;

	list_flush(&call->steps);
	(void)mbuf_printf(call->trace, "transfer to %s in %s\n", call->dest,
			  call->context);
	call_channel(&ch, call);
	err = dialplan_hunt(call->cfg->dialplan, &ch, &call->steps, &e,
			    call->trace);
	call->next = call->steps.head;

	return err;
}


/* Run steps until one waits (bridge, sleep) or the call ends. */
void call_continue(struct call *call)
{
	while (call->state == CALL_ROUTING && call->next) {
		struct dp_step *s = call->next->data;
		const char *name = s->app->name;
		struct dp_channel ch;
		char *data = NULL;
		int err = 0;

		call->next = call->next->next;
		call_channel(&ch, call);
		if (dialplan_expand_vars(&data, s->data, &ch)) {
			call_end(call, 41, 500, "system");
			return;
		}

		log_debug("%s: %s %s", call->id, name, data);

		if (!strcmp(name, "set") || !strcmp(name, "export")) {
			err = var_set(call, data);
		}
		else if (!strcmp(name, "unset")) {
			var_unset(call, data);
		}
		else if (!strcmp(name, "log")) {
			log_info("%s: %s", call->id, data);
		}
		else if (!strcmp(name, "ring_ready")) {
			err = call_accept_early(call, 180, NULL);
		}
		else if (!strcmp(name, "pre_answer")) {
			err = call_accept_early(call, 183, NULL);
		}
		else if (!strcmp(name, "hangup")) {
			const struct cause *c = cause_by_name(
				*data ? data : "NORMAL_CLEARING");
			int num = c ? c->num : atoi(data);

			mem_deref(data);
			call_end(call, num ? num : 16, 0, "system");
			return;
		}
		else if (!strcmp(name, "sleep")) {
			wtmr_start(&call->tmr, (uint64_t)atoi(data), sleep_done,
				  call);
			mem_deref(data);
			return;
		}
		else if (!strcmp(name, "transfer")) {
			err = run_transfer(call, data);
		}
		else if (!strcmp(name, "playback")) {
			err = run_playback(call, data);
			mem_deref(data);
			if (!err)
				return;      /* continues when it ends */
			log_warn("%s: playback: %m", call->id, err);
			continue;
		}
		else if (!strcmp(name, "answer")) {
			err = call_answer(call);
		}
		else if (!strcmp(name, "echo")) {
			/* the caller hears itself until it hangs up */
			err = call_answer(call);
			if (err)
				goto fail;
			media_ep_bridge(call->a_ep, call->a_ep);
			mem_deref(data);
			return;
		}
		else if (!strcmp(name, "bridge")) {
			err = call_bridge(call, data);
			mem_deref(data);
			if (!err)
				return;      /* continues when it fails */
			continue;
		}
		else if (!strcmp(name, "voicemail_check")) {
			err = call_vmbox_start(call, data);
			mem_deref(data);
			if (!err)
				return;      /* the call ends with it */
			log_warn("%s: voicemail_check: %m", call->id, err);
			continue;
		}
		else if (!strcmp(name, "voicemail")) {
			err = run_voicemail(call, data);
			mem_deref(data);
			if (!err)
				return;      /* the call ends with it */
			log_warn("%s: voicemail: %m", call->id, err);
			continue;
		}
		else {
			log_warn("%s: %s is not available yet; skipped",
				 call->id, name);
		}

		if (err)
			log_warn("%s: %s %s: %m", call->id, name, data, err);
		mem_deref(data);
		continue;

	fail:
		log_warn("%s: %s %s: %m", call->id, name, data, err);
		mem_deref(data);
		call_end(call, 41, 500, "system");
		return;
	}

	if (call->state == CALL_ROUTING)
		call_end(call, call->bridge_cause ? call->bridge_cause : 3, 0,
			 "system");
}
