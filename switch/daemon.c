/**
 * @file daemon.c  The running daemon: start-up, signals, reload, ctl
 *
 * Ownership: the daemon owns the config, store, location store, SIP stack
 * and registrar; they hold weak pointers to each other and are released in
 * the reverse order of creation.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "core.h"
#include "config.h"
#include "ctl.h"
#include "digest.h"
#include "location.h"
#include "media.h"
#include "wheel.h"
#include "registrar.h"
#include "call.h"
#include "events.h"
#include "cdr.h"
#include "route.h"
#include "sipstack.h"
#include "trunk.h"
#include "vm.h"
#include "vm_mail.h"
#include "mwi.h"
#include "store.h"
#include "daemon.h"

struct daemon {
	char *confdir;
	char *datadir;
	struct config *cfg;
	struct store *store;
	struct location *loc;
	struct sipstack *ss;
	struct registrar *reg;
	struct events *ev;
	struct cdr *cdr;
	struct callmgr *calls;
	struct trunkset *trunks;
	struct vm *vm;
	struct vm_mail *mail;          /* voicemail by e-mail */
	struct mwi *mwi;
	struct ctl *ctl;
	int sigfd;
	int lockfd;
	time_t started;
	uint32_t reloads;
};


static int print_status(struct re_printf *pf, struct daemon *d, bool json)
{
	struct registrar_stats st;
	struct callmgr_stats cs;
	time_t up = time(NULL) - d->started;
	uint64_t commits, writes;
	unsigned mspooled = 0, msent = 0, mfail = 0, mpending = 0;

	vm_mail_stats(d->mail, &mspooled, &msent, &mfail, &mpending);
	registrar_stats(d->reg, &st);
	store_group_stats(d->store, &commits, &writes);
	callmgr_stats(d->calls, &cs);

	if (json) {
		return re_hprintf(pf,
			"{\"version\":\"%s\",\"uptime\":%lld,"
			"\"users\":%u,\"registered_users\":%u,"
			"\"bindings\":%u,\"register_requests\":%llu,"
			"\"register_ok\":%llu,\"challenges\":%llu,"
			"\"auth_failures\":%llu,\"locked_out\":%llu,"
			"\"locked_sources\":%u,\"bad_requests\":%llu,"
			"\"store_commits\":%llu,\"store_writes\":%llu,"
			"\"reloads\":%u,\"calls_active\":%u,"
			"\"calls_started\":%llu,"
			"\"calls_refused_overload\":%llu,"
			"\"calls_refused_limits\":%llu,"
			"\"media_workers\":%u,\"media_parked\":%u,"
			"\"vm_mail_pending\":%u,\"vm_mail_sent\":%u,"
			"\"vm_mail_failures\":%u}\n",
			SWITCHBOARD_VERSION, (long long)up,
			d->cfg->user_count, location_aor_count(d->loc),
			location_count(d->loc),
			(unsigned long long)st.requests,
			(unsigned long long)st.ok,
			(unsigned long long)st.challenged,
			(unsigned long long)st.auth_failed,
			(unsigned long long)st.locked_out, st.locked_sources,
			(unsigned long long)sipstack_bad_requests(d->ss),
			(unsigned long long)commits,
			(unsigned long long)writes, d->reloads,
			cs.active, (unsigned long long)cs.started,
			(unsigned long long)cs.refused_backlog,
			(unsigned long long)cs.refused_limit,
			media_workers(), media_parked(), mpending, msent,
			mfail);
	}

	return re_hprintf(pf,
		"Switchboard %s, up %lldd %02lld:%02lld:%02lld\n"
		"config:   %s (reloaded %u times)\n"
		"data:     %s\n"
		"%H"
		"users:    %u configured, %u registered, %u contacts\n"
		"REGISTER: %llu received, %llu ok, %llu challenged, "
		"%llu failed auth, %llu refused (lock-out)\n"
		"lock-out: %u source(s) locked\n"
		"malformed requests refused: %llu\n"
		"store:    %llu writes in %llu commits\n"
		"calls:    %u in progress, %llu started, refused with 503: "
		"%llu overload, %llu limits\n"
		"media:    %u relay worker(s), %u port pair(s) parked\n"
		"e-mail:   %u voicemail e-mail(s) sent, %u waiting, "
		"%u failed attempt(s)\n",
		SWITCHBOARD_VERSION, (long long)up / 86400,
		(long long)(up / 3600) % 24, (long long)(up / 60) % 60,
		(long long)up % 60, d->cfg->file, d->reloads, d->datadir,
		sipstack_debug, d->ss,
		d->cfg->user_count, location_aor_count(d->loc),
		location_count(d->loc),
		(unsigned long long)st.requests, (unsigned long long)st.ok,
		(unsigned long long)st.challenged,
		(unsigned long long)st.auth_failed,
		(unsigned long long)st.locked_out, st.locked_sources,
		(unsigned long long)sipstack_bad_requests(d->ss),
		(unsigned long long)writes, (unsigned long long)commits,
		cs.active, (unsigned long long)cs.started,
		(unsigned long long)cs.refused_backlog,
		(unsigned long long)cs.refused_limit,
		media_workers(), media_parked(), msent, mpending, mfail);
}


struct reg_print {
	struct re_printf *pf;
	bool json;
	bool first;
	uint64_t now;
	int err;
};


static const char *transp_lower(enum sip_transp tp)
{
	switch (tp) {

	case SIP_TRANSP_UDP: return "udp";
	case SIP_TRANSP_TCP: return "tcp";
	case SIP_TRANSP_TLS: return "tls";
	case SIP_TRANSP_WS:  return "ws";
	case SIP_TRANSP_WSS: return "wss";
	default:             return "?";
	}
}


static bool reg_print_handler(const struct binding *b, void *arg)
{
	struct reg_print *rp = arg;
	uint64_t left = b->expires > rp->now ? b->expires - rp->now : 0;
	char src[64];

	(void)re_snprintf(src, sizeof(src), "%J", &b->src);

	if (rp->json) {
		rp->err |= re_hprintf(rp->pf, "%s{\"user\":",
				      rp->first ? "" : ",\n");
		rp->err |= json_str(rp->pf, b->aor);
		rp->err |= re_hprintf(rp->pf, ",\"contact\":");
		rp->err |= json_str(rp->pf, b->uri);
		rp->err |= re_hprintf(rp->pf, ",\"transport\":\"%s\","
				      "\"source\":\"%s\",\"expires_in\":%llu,"
				      "\"user_agent\":",
				      transp_lower(b->tp), src,
				      (unsigned long long)left);
		rp->err |= json_str(rp->pf, b->user_agent ? b->user_agent : "");
		rp->err |= re_hprintf(rp->pf, ",\"call_id\":");
		rp->err |= json_str(rp->pf, b->callid);
		rp->err |= re_hprintf(rp->pf, ",\"cseq\":%u}", b->cseq);
	}
	else {
		if (rp->first)
			rp->err |= re_hprintf(rp->pf, "%-10s %-4s %-22s %7s  "
					      "%-40s %s\n", "USER", "TP",
					      "SOURCE", "EXPIRES", "CONTACT",
					      "USER-AGENT");
		rp->err |= re_hprintf(rp->pf, "%-10s %-4s %-22s %6llus  "
				      "%-40s %s\n", b->aor,
				      transp_lower(b->tp), src,
				      (unsigned long long)left, b->uri,
				      b->user_agent ? b->user_agent : "-");
	}

	rp->first = false;
	return rp->err != 0;
}


static int print_registrations(struct re_printf *pf, struct daemon *d,
			       bool json)
{
	struct reg_print rp = {pf, json, true, (uint64_t)time(NULL), 0};

	if (json)
		rp.err |= re_hprintf(pf, "[");

	location_apply(d->loc, reg_print_handler, &rp);

	if (json)
		rp.err |= re_hprintf(pf, "]\n");
	else if (rp.first)
		rp.err |= re_hprintf(pf, "no registrations\n");

	return rp.err;
}


struct drop_ctx {
	const struct config *cfg;
	struct list gone;       /* struct gone: AORs to drop, found first */
};

struct gone {
	struct le le;
	char aor[];
};


static void gone_destructor(void *arg)
{
	struct gone *g = arg;

	list_unlink(&g->le);
}


static bool collect_removed(const struct binding *b, void *arg)
{
	struct drop_ctx *ctx = arg;
	const struct gone *last = list_ledata(list_tail(&ctx->gone));
	struct gone *g;
	struct pl id;

	pl_set_str(&id, b->aor);
	if (config_user_find(ctx->cfg, &id))
		return false;

	/* bindings come in AOR order */
	if (last && !strcmp(last->aor, b->aor))
		return false;

	g = mem_zalloc(sizeof(*g) + strlen(b->aor) + 1, gone_destructor);
	if (!g)
		return true;

	strcpy(g->aor, b->aor);
	list_append(&ctx->gone, &g->le, g);
	return false;
}


/* A user who left the directory keeps no registration: nobody could
 * refresh or remove it, and calls must not reach the old phone. */
static void drop_removed_users(struct daemon *d, const struct config *cfg)
{
	struct drop_ctx ctx = {cfg, LIST_INIT};
	struct le *le;

	location_apply(d->loc, collect_removed, &ctx);

	while ((le = list_head(&ctx.gone))) {
		struct gone *g = le->data;

		if (location_drop_aor(d->loc, g->aor))
			log_warn("reload: cannot drop the bindings of %s",
				 g->aor);
		else
			log_info("reload: user %s is gone; its registrations "
				 "are dropped", g->aor);
		mem_deref(g);
	}
}


static void mail_apply(struct daemon *d, const struct config *cfg);


static int do_reload(struct daemon *d, struct re_printf *pf)
{
	struct config *cfg = NULL;
	struct list errl = LIST_INIT;
	int err;

	err = config_load(&cfg, &errl, d->confdir);
	if (err) {
		log_error("reload refused, the running config stays:");
		(void)re_fprintf(stderr, "%H", config_errors_print, &errl);
		if (pf)
			(void)re_hprintf(pf, "%H", config_errors_print, &errl);
		list_flush(&errl);
		return EINVAL;
	}

	err = registrar_set_config(d->reg, cfg);
	if (err)
		goto out;

	err = sipstack_set_domain(d->ss, cfg->domain);
	if (err)
		goto out;

	callmgr_set_config(d->calls, cfg);
	err = trunkset_set_config(d->trunks, cfg);
	if (err)
		log_warn("reload: trunks: %m", err);
	err = 0;

	/* Listener changes need a restart: libre cannot remove a
	 * transport. Say so rather than pretend. */
	if (list_count(&cfg->listens) != list_count(&d->cfg->listens))
		log_warn("reload: listener changes take effect at restart");

	drop_removed_users(d, cfg);
	mail_apply(d, cfg);
	log_set_level(cfg->log_level);
	(void)store_set_sync_full(d->store, cfg->store_full_sync);
	mem_deref(d->cfg);
	d->cfg = mem_ref(cfg);
	++d->reloads;
	log_info("config reloaded from %s (%u users)", cfg->file,
		 cfg->user_count);
	if (pf)
		(void)re_hprintf(pf, "reloaded %s\n", cfg->file);

 out:
	mem_deref(cfg);
	return err;
}


static void mail_log(int level, const char *msg, void *arg)
{
	(void)arg;

	if (level == VM_MAIL_WARN)
		log_warn("%s", msg);
	else
		log_info("%s", msg);
}


/* The mail command and sender of a config, defaults filled in */
static void mail_settings(const struct config *cfg, const char **cmdp,
			  const char **fromp, char *from, size_t sz)
{
	(void)re_snprintf(from, sz, "Switchboard <voicemail@%s>",
			  cfg->domain);
	*cmdp = cfg->voicemail.mail_command ? cfg->voicemail.mail_command :
		"/usr/sbin/sendmail -t -i";
	*fromp = cfg->voicemail.mail_from ? cfg->voicemail.mail_from : from;
}


/* A reload's settings for the next mails (and those waiting: now) */
static void mail_apply(struct daemon *d, const struct config *cfg)
{
	const char *cmd, *fromp;
	char from[300];
	int err;

	mail_settings(cfg, &cmd, &fromp, from, sizeof(from));
	err = vm_mail_set(d->mail, cmd, fromp, cfg->voicemail.mail_retry);
	if (err)
		log_warn("reload: voicemail e-mail settings not taken: %m",
			 err);
}


/* Voicemail by e-mail: the thread runs whether or not a user has an
 * email attribute now (a reload may add one; mails spooled by an
 * earlier run go out). */
static int mail_start(struct daemon *d)
{
	const struct config *cfg = d->cfg;
	struct vm_mail_prm prm;
	char spool[512], from[300];
	int err;

	(void)re_snprintf(spool, sizeof(spool), "%s/mailq",
			  d->datadir);

	memset(&prm, 0, sizeof(prm));
	prm.spooldir = spool;
	mail_settings(cfg, &prm.command, &prm.from, from, sizeof(from));
	prm.retry_min_s = cfg->voicemail.mail_retry;
	prm.logh = mail_log;

	err = vm_mail_start(&d->mail, &prm);
	if (err) {
		log_error("voicemail e-mail: cannot start (spool %s): %m",
			  spool, err);
		return err;
	}

	vm_set_mail(d->vm, d->mail);
	return 0;
}


static void vm_changed(const char *mailbox, void *arg)
{
	mwi_update(arg, mailbox);
}


static int ctl_handler(struct re_printf *pf, int argc, char *argv[],
		       void *arg)
{
	struct daemon *d = arg;
	bool json = argc > 1 && !strcmp(argv[argc - 1], "--json");

	if (!strcmp(argv[0], "status"))
		return print_status(pf, d, json);

	if (!strcmp(argv[0], "registrations"))
		return print_registrations(pf, d, json);

	if (!strcmp(argv[0], "reload"))
		return do_reload(d, pf);

	if (!strcmp(argv[0], "route"))
		return route_dry_run(pf, d->cfg, argc, argv);

	if (!strcmp(argv[0], "calls"))
		return callmgr_print(pf, d->calls, json);

	if (!strcmp(argv[0], "cdr"))
		return cdr_print(pf, d->store, argc, argv);

	if (!strcmp(argv[0], "trunks"))
		return trunkset_print(pf, d->trunks, json);

	if (!strcmp(argv[0], "voicemail"))
		return vm_print(pf, d->vm, argc > 1 ? argv[1] : NULL);

	(void)re_hprintf(pf, "unknown command \"%s\"; try status, "
			 "registrations [--json], reload, route NUMBER "
			 "[--from USER], calls [--json], trunks [--json], "
			 "voicemail [MAILBOX], cdr [--csv] [--limit N], "
			 "cdr --trace CALL\n", argv[0]);
	return EINVAL;
}


static void signal_read_handler(int flags, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;
	(void)flags;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {

		case SIGHUP:
			log_info("SIGHUP: reloading the config");
			(void)do_reload(d, NULL);
			break;

		case SIGINT:
		case SIGTERM:
			log_info("signal %u: shutting down", si.ssi_signo);
			re_cancel();
			break;

		default:
			break;
		}
	}
}


static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);

	/* Blocked before any thread starts, so all inherit the mask and
	 * the signals arrive only through the signalfd. */
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return errno;

	(void)signal(SIGPIPE, SIG_IGN);

	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0)
		return errno;

	return fd_listen(d->sigfd, FD_READ, signal_read_handler, d);
}


/* One daemon per data dir: two would fight over the store and socket. */
static int lock_datadir(struct daemon *d)
{
	char path[512];

	if (re_snprintf(path, sizeof(path), "%s/switchboard.lock",
			d->datadir) < 0)
		return ENAMETOOLONG;

	d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lockfd < 0)
		return errno;

	if (flock(d->lockfd, LOCK_EX | LOCK_NB)) {
		log_error("another switchboard is running on %s", d->datadir);
		return EBUSY;
	}

	return 0;
}


static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;

	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}


static void daemon_close(struct daemon *d)
{
	d->ctl = mem_deref(d->ctl);
	d->calls = mem_deref(d->calls);
	d->trunks = mem_deref(d->trunks);  /* after the calls on them */
	d->vm = mem_deref(d->vm);          /* after the calls: their messages
	                                      are written before the store */
	vm_mail_stop(d->mail);             /* after vm: its last mails */
	d->mail = NULL;
	d->mwi = mem_deref(d->mwi);
	media_stop();                /* after the calls' endpoints */
	wheel_close();
	d->cdr = mem_deref(d->cdr);
	d->reg = mem_deref(d->reg);
	d->ss  = mem_deref(d->ss);
	d->loc = mem_deref(d->loc);
	d->ev = mem_deref(d->ev);
	d->store = mem_deref(d->store);
	d->cfg = mem_deref(d->cfg);
	if (d->sigfd >= 0) {
		fd_close(d->sigfd);
		(void)close(d->sigfd);
	}
	if (d->lockfd >= 0)
		(void)close(d->lockfd);
}


int daemon_run(const char *confdir, const char *datadir)
{
	struct daemon d;
	struct list errl = LIST_INIT;
	char sockpath[512];
	int err;

	memset(&d, 0, sizeof(d));
	d.sigfd = d.lockfd = -1;
	d.confdir = (char *)confdir;
	d.datadir = (char *)datadir;
	d.started = time(NULL);

	err = config_load(&d.cfg, &errl, confdir);
	if (err) {
		(void)re_fprintf(stderr, "%H", config_errors_print, &errl);
		list_flush(&errl);
		if (err != EINVAL)
			log_error("cannot load the config: %m", err);
		return 1;
	}
	log_set_level(d.cfg->log_level);

	raise_fd_limit();
	/* LIBRARY-NOTES 1.1: before the first fd_listen of this thread */
	(void)fd_setsize(65536);

	err = store_open(&d.store, datadir);
	if (err) {
		log_error("cannot open the store in %s: %m", datadir, err);
		goto out;
	}

	err = store_set_sync_full(d.store, d.cfg->store_full_sync);
	if (err)
		goto out;

	err = lock_datadir(&d);
	if (err)
		goto out;

	err = setup_signals(&d);
	if (err) {
		log_error("cannot set up signal handling: %m", err);
		goto out;
	}

	err = location_alloc(&d.loc, d.store, d.cfg->registrar.max_contacts);
	if (err) {
		log_error("cannot load the registrations: %m", err);
		goto out;
	}

	err = sipstack_alloc(&d.ss, d.cfg);
	if (err)
		goto out;

	err = registrar_alloc(&d.reg, d.ss, d.loc, d.store, d.cfg);
	if (err) {
		log_error("cannot start the registrar: %m", err);
		goto out;
	}

	/* the CDR subscribes before any call can end */
	err = media_start(d.cfg->media.workers);
	if (err) {
		log_error("cannot start the media workers: %m", err);
		goto out;
	}
	log_info("media: %u relay worker(s), ports %u-%u on %j",
		 media_workers(), d.cfg->media.port_min,
		 d.cfg->media.port_max, &d.cfg->media.addr);

	err = events_alloc(&d.ev);
	if (!err)
		err = cdr_alloc(&d.cdr, d.ev, d.store);
	if (!err)
		err = trunkset_alloc(&d.trunks, d.ss, d.cfg);
	if (!err)
		err = callmgr_alloc(&d.calls, d.ss, d.reg, d.loc, d.ev,
				    d.trunks, d.cfg);
	if (!err)
		err = vm_alloc(&d.vm, d.store, d.datadir);
	if (!err)
		err = mail_start(&d);
	if (!err)
		callmgr_set_vm(d.calls, d.vm);
	if (!err)
		err = mwi_alloc(&d.mwi, d.ss, d.reg, d.store, d.loc,
				&d.cfg);
	if (!err)
		vm_set_changeh(d.vm, vm_changed, d.mwi);
	if (err) {
		log_error("cannot start the call engine: %m", err);
		goto out;
	}

	(void)re_snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", datadir);
	err = ctl_listen(&d.ctl, sockpath, ctl_handler, &d);
	if (err) {
		log_error("cannot open the control socket %s: %m", sockpath,
			  err);
		goto out;
	}

	log_info("switchboard %s ready: %u users, %u registrations restored, "
		 "realm \"%s\"", SWITCHBOARD_VERSION, d.cfg->user_count,
		 location_count(d.loc), d.cfg->domain);

	err = re_main(NULL);
	if (err)
		log_error("main loop: %m", err);

 out:
	daemon_close(&d);
	return err ? 1 : 0;
}
