/**
 * @file vm_mail.c  E-mail notification of new voicemail messages
 *
 * One thread owns the spool: it turns requests into mail files and runs
 * the command, one at a time, for the mail whose try is due first, so a
 * mail that keeps failing only delays the others by one attempt. A spool
 * file is the complete RFC 5322 message (composed by vm_mail_msg.c): after
 * a restart its own headers are all that is needed to send it and to log
 * about it.
 *
 * Durability as in wavfile.c, with the same fsutil.c helpers: NAME.tmp is
 * fsync()ed before the rename to NAME.eml and the folder after it. A mail
 * is unlinked only after the command exited 0, so a crash in between sends
 * it twice, never not at all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* pipe2() */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "vm_mail.h"
#include "vm_mail_int.h"

extern char **environ;

enum {
	OUTPUT_MAX = 200,  /* bytes of the command's output in a log */
	POLL_MS    = 20,
};

/* A mail not sent yet; the thread's own, so no lock */
struct entry {
	struct entry *next;
	struct req *req;     /* until spooled */
	char *path;          /* SPOOLDIR/NAME.eml once spooled, else NULL */
	char *to;            /* to and mailbox (for logs) after the struct */
	char *mailbox;
	uint64_t due;        /* CLOCK_MONOTONIC, ms */
	unsigned delay;      /* s, to wait after the next failure */
};

struct vm_mail {
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;  /* on CLOCK_MONOTONIC, like the due times */

	/* under mtx */
	struct req *reqh, **reqt;
	bool stop;
	unsigned spooled, sent, failures, pending;
	char *next_command, *next_from;  /* vm_mail_set(): the thread */
	unsigned next_retry_min;         /* takes them, malloc'd      */

	/* the thread's own; the strings live after the struct */
	struct entry *entries;
	char *spooldir;
	char *command;
	char *from;
	char *set_command, *set_from;    /* malloc'd by vm_mail_set()  */
	unsigned retry_min, retry_max, timeout;
	vm_mail_log_h *logh;
	void *log_arg;
};

/* What became of one run of the command */
struct run {
	int status;            /* from waitpid() */
	bool killed;           /* at the timeout */
	bool line_done;
	size_t len;
	char line[OUTPUT_MAX + 1];  /* the first line of its output */
};


static const char *errstr(int err, char *buf, size_t sz)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(err, buf, sz);
#else
	return strerror_r(err, buf, sz) ? "unknown error" : buf;
#endif
}


#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void say(const struct vm_mail *m, int level, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!m->logh)
		return;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	m->logh(level, msg, m->log_arg);
}


/*
 * Write e's request into the spool. The name starts with the time, so a
 * restart finds the mails in the order they were written; 64 random bits
 * keep two in the same millisecond apart.
 */
static int spool(struct vm_mail *m, struct entry *e)
{
	size_t sz = strlen(m->spooldir) + 48;
	char *eml = malloc(sz), *tmp = malloc(sz);
	struct out *o = malloc(sizeof(*o));
	char ebuf[128];
	int fd = -1, err = 0, tries;

	if (!eml || !tmp || !o) {
		err = ENOMEM;
		goto out;
	}

	for (tries = 0; fd < 0; tries++) {
		int k = snprintf(eml, sz, "%s/%013llu-%016llx.eml",
			m->spooldir,
			(unsigned long long)vm_mail_clock_ms(CLOCK_REALTIME),
			(unsigned long long)vm_mail_rnd64());

		snprintf(tmp, sz, "%.*s.tmp", k - 4, eml);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd < 0 && (errno != EEXIST || tries == 3) &&
		    errno != EINTR) {
			err = errno;
			goto out;
		}
	}

	o->fd = fd;
	o->err = 0;
	o->len = 0;
	err = vm_mail_write(o, m->from, e->req, e->mailbox);
	if (!err)
		err = fs_sync_fd(fd);

	/* After a good fsync, EINTR from close() loses nothing (Linux). */
	if (close(fd) && errno != EINTR && !err)
		err = errno;
	if (!err && rename(tmp, eml))
		err = errno;
	if (err) {
		(void)unlink(tmp);
		goto out;
	}

	/* The mail is complete under its name: it is sent either way. */
	err = fs_sync_dir(m->spooldir);
	if (err) {
		say(m, VM_MAIL_WARN, "voicemail %s: e-mail to %s spooled, but"
		    " may not survive a power loss (%s)", e->mailbox, e->to,
		    errstr(err, ebuf, sizeof(ebuf)));
		err = 0;
	}

	e->path = eml;
	eml = NULL;
	free(e->req);
	e->req = NULL;

	pthread_mutex_lock(&m->mtx);
	++m->spooled;
	pthread_mutex_unlock(&m->mtx);

 out:
	free(o);
	free(tmp);
	free(eml);

	return err;
}


/* Keep the first non-empty line; read the rest only to drain the pipe */
static void take_output(struct run *r, const char *p, size_t n)
{
	for (; n && !r->line_done; p++, n--) {
		if (*p == '\n' || *p == '\r')
			r->line_done = r->len > 0;
		else if (r->len < OUTPUT_MAX)
			r->line[r->len++] = *p;
	}
	r->line[r->len] = '\0';
}


/* false at the end of the output (or an error): close the pipe */
static bool drain(int fd, struct run *r)
{
	char buf[512];
	int i;

	/* bounded: a command that writes for ever must not stop the clock */
	for (i = 0; i < 64; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			take_output(r, buf, (size_t)n);
		else if (n < 0 && errno == EINTR)
			continue;
		else
			return n < 0 && errno == EAGAIN;
	}

	return true;
}


static void nap_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}


/*
 * Run the command on the mail open at in (closed here). It runs in a
 * process group of its own, so the timeout kills whatever the shell
 * started too, and with the default signal mask and dispositions: the
 * thread blocks all signals, and an ignored SIGPIPE would be inherited.
 * The pipe is not waited for: a daemon the command leaves behind may
 * hold it open.
 */
static int run_cmd(const struct vm_mail *m, int in, struct run *r)
{
	static const int defsigs[] = {
		SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGALRM,
		SIGUSR1, SIGUSR2, SIGXFSZ
	};
	char *argv[] = {"sh", "-c", m->command, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, dfl;
	int p[2], err;
	uint64_t deadline;
	pid_t pid, w;
	size_t i;

	if (pipe2(p, O_CLOEXEC)) {
		err = errno;
		(void)close(in);
		return err;
	}

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (i = 0; i < sizeof(defsigs) / sizeof(defsigs[0]); i++)
		sigaddset(&dfl, defsigs[i]);

	err = posix_spawn_file_actions_init(&fa);
	if (!err) {
		err = posix_spawnattr_init(&sa);
		if (err)
			posix_spawn_file_actions_destroy(&fa);
	}
	if (!err) {
		/* dup2() clears O_CLOEXEC on 0, 1 and 2 only */
		err = posix_spawn_file_actions_adddup2(&fa, in, 0);
		if (!err)
			err = posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		if (!err)
			err = posix_spawn_file_actions_adddup2(&fa, p[1], 2);
		if (!err)
			err = posix_spawnattr_setflags(&sa,
				POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				POSIX_SPAWN_SETSIGDEF);
		if (!err)
			err = posix_spawnattr_setpgroup(&sa, 0);
		if (!err)
			err = posix_spawnattr_setsigmask(&sa, &none);
		if (!err)
			err = posix_spawnattr_setsigdefault(&sa, &dfl);
		if (!err)
			err = posix_spawn(&pid, "/bin/sh", &fa, &sa, argv,
					  environ);
		posix_spawnattr_destroy(&sa);
		posix_spawn_file_actions_destroy(&fa);
	}

	(void)close(in);
	(void)close(p[1]);
	if (err) {
		(void)close(p[0]);
		return err;
	}

	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	deadline = vm_mail_clock_ms(CLOCK_MONOTONIC) + m->timeout * 1000ull;

	for (;;) {
		w = waitpid(pid, &r->status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			/* ECHILD: SIGCHLD ignored, the status is lost */
			err = errno;
			break;
		}

		if (vm_mail_clock_ms(CLOCK_MONOTONIC) >= deadline) {
			if (kill(-pid, SIGKILL))
				(void)kill(pid, SIGKILL);
			while (waitpid(pid, &r->status, 0) < 0 &&
			       errno == EINTR)
				;
			r->killed = true;
			break;
		}

		if (p[0] >= 0) {
			struct pollfd pfd = {p[0], POLLIN, 0};

			(void)poll(&pfd, 1, POLL_MS);
			if (!drain(p[0], r)) {
				(void)close(p[0]);
				p[0] = -1;
			}
		}
		else {
			nap_ms(POLL_MS);
		}
	}

	/* what it wrote just before it exited */
	if (p[0] >= 0) {
		(void)drain(p[0], r);
		(void)close(p[0]);
	}

	return err;
}


static void unlink_entry(struct vm_mail *m, struct entry *e)
{
	struct entry **pp;

	for (pp = &m->entries; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
}


static void free_entry(struct entry *e)
{
	free(e->req);
	free(e->path);
	free(e);
}


/* The mail is gone from the thread's hands: sent, or lost for good */
static void done(struct vm_mail *m, struct entry *e, bool sent)
{
	unlink_entry(m, e);
	free_entry(e);

	pthread_mutex_lock(&m->mtx);
	--m->pending;
	if (sent)
		++m->sent;
	pthread_mutex_unlock(&m->mtx);
}


static void fail(struct vm_mail *m, struct entry *e, const char *what,
		 const char *why)
{
	pthread_mutex_lock(&m->mtx);
	++m->failures;
	pthread_mutex_unlock(&m->mtx);

	e->due = vm_mail_clock_ms(CLOCK_MONOTONIC) + e->delay * 1000ull;
	say(m, VM_MAIL_WARN, "voicemail %s: e-mail to %s %s (%s); next try"
	    " in %u s", e->mailbox, e->to, what, why, e->delay);

	e->delay = e->delay > m->retry_max / 2 ? m->retry_max : e->delay * 2;
}


static void attempt(struct vm_mail *m, struct entry *e)
{
	char ebuf[128], why[OUTPUT_MAX + 160], line[OUTPUT_MAX + 1];
	struct run r;
	int in, err;
	size_t n;

	if (!e->path) {
		err = spool(m, e);
		if (err)
			fail(m, e, "not spooled",
			     errstr(err, ebuf, sizeof(ebuf)));
		return;
	}

	in = open(e->path, O_RDONLY | O_CLOEXEC);
	if (in < 0 && errno == ENOENT) {
		say(m, VM_MAIL_WARN, "voicemail %s: e-mail to %s lost: %s was"
		    " removed", e->mailbox, e->to, e->path);
		done(m, e, false);
		return;
	}
	if (in < 0) {
		err = errno;
		snprintf(why, sizeof(why), "cannot read %s: %s", e->path,
			 errstr(err, ebuf, sizeof(ebuf)));
		fail(m, e, "not sent", why);
		return;
	}

	memset(&r, 0, sizeof(r));
	err = run_cmd(m, in, &r);

	if (!err && !r.killed && WIFEXITED(r.status) &&
	    WEXITSTATUS(r.status) == 0) {
		/* left behind, it would be sent again at the next start */
		if (unlink(e->path) && errno != ENOENT)
			say(m, VM_MAIL_WARN, "voicemail %s: cannot remove %s:"
			    " %s", e->mailbox, e->path,
			    errstr(errno, ebuf, sizeof(ebuf)));
		say(m, VM_MAIL_INFO, "voicemail %s: e-mail to %s sent",
		    e->mailbox, e->to);
		done(m, e, true);
		return;
	}

	if (err)
		n = (size_t)snprintf(why, sizeof(why), "cannot run /bin/sh:"
				     " %s", errstr(err, ebuf, sizeof(ebuf)));
	else if (r.killed)
		n = (size_t)snprintf(why, sizeof(why), "still running after"
				     " %u s, killed", m->timeout);
	else if (WIFEXITED(r.status))
		n = (size_t)snprintf(why, sizeof(why), "exit %d",
				     WEXITSTATUS(r.status));
	else
		n = (size_t)snprintf(why, sizeof(why), "signal %d",
				     WTERMSIG(r.status));

	/* the output goes into a log line: no controls, valid UTF-8 */
	vm_mail_clean_text(line, OUTPUT_MAX, r.line);
	if (*line && n < sizeof(why))
		snprintf(why + n, sizeof(why) - n, ": %s", line);

	fail(m, e, "not sent", why);
}


static struct entry *new_entry(struct vm_mail *m, const char *to,
			       size_t tolen, const char *mailbox, size_t mblen)
{
	struct entry *e = calloc(1, sizeof(*e) + ADDR_MAX + 1 + NUM_MAX + 1);
	struct entry **pp;

	if (!e)
		return NULL;

	e->to = (char *)(e + 1);
	e->mailbox = e->to + ADDR_MAX + 1;
	vm_mail_clean_ascii(e->to, ADDR_MAX, to, tolen);
	vm_mail_clean_ascii(e->mailbox, NUM_MAX, mailbox, mblen);
	e->due = vm_mail_clock_ms(CLOCK_MONOTONIC);
	e->delay = m->retry_min;

	/* appended: of mails due at the same time the older goes first */
	for (pp = &m->entries; *pp; pp = &(*pp)->next)
		;
	*pp = e;

	return e;
}


/* New requests are spooled at once: in memory they die with the PBX */
static void take(struct vm_mail *m, struct req *reqs)
{
	char ebuf[128];
	struct req *r;
	struct entry *e;
	int err;

	while ((r = reqs) != NULL) {
		reqs = r->next;

		e = new_entry(m, r->to, ADDR_MAX, r->mailbox, NUM_MAX);
		if (!e) {
			say(m, VM_MAIL_WARN, "voicemail %s: e-mail to %s lost"
			    " (out of memory)", r->mailbox, r->to);
			free(r);
			pthread_mutex_lock(&m->mtx);
			--m->pending;
			pthread_mutex_unlock(&m->mtx);
			continue;
		}

		e->req = r;
		err = spool(m, e);
		if (err)
			fail(m, e, "not spooled",
			     errstr(err, ebuf, sizeof(ebuf)));
	}
}


/* The value of header name (with its colon) in the head of the file */
static void header(const char *head, const char *name, const char **vp,
		   size_t *lenp)
{
	size_t nlen = strlen(name);
	const char *p = head;

	while (*p && *p != '\r' && *p != '\n') {
		const char *end = p + strcspn(p, "\r\n");

		if (!strncasecmp(p, name, nlen)) {
			p += nlen;
			p += strspn(p, " \t");
			*vp = p;
			*lenp = (size_t)(end - p);
			return;
		}

		p = end;
		if (*p == '\r')
			++p;
		if (*p == '\n')
			++p;
	}
}


static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


/* Load name's To: and X-Switchboard-Mailbox: for the logs */
static void load(struct vm_mail *m, const char *name)
{
	size_t sz = strlen(m->spooldir) + strlen(name) + 2, tolen = 1;
	size_t mblen = 1;
	const char *to = "?", *mailbox = "?";
	char *path = malloc(sz), head[8192];
	struct entry *e;
	ssize_t n = 0;
	int fd;

	if (!path)
		goto nomem;
	snprintf(path, sz, "%s/%s", m->spooldir, name);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		do {
			n = read(fd, head, sizeof(head) - 1);
		} while (n < 0 && errno == EINTR);
		(void)close(fd);
	}
	head[n > 0 ? n : 0] = '\0';
	header(head, "To:", &to, &tolen);
	header(head, "X-Switchboard-Mailbox:", &mailbox, &mblen);

	e = new_entry(m, to, tolen, mailbox, mblen);
	if (!e)
		goto nomem;
	e->path = path;

	pthread_mutex_lock(&m->mtx);
	++m->pending;
	pthread_mutex_unlock(&m->mtx);

	return;

 nomem:
	/* still in the spool for the next start */
	say(m, VM_MAIL_WARN, "voicemail: %s/%s not sent (out of memory)",
	    m->spooldir, name);
	free(path);
}


/*
 * A NAME.tmp is a request that crashed while it was spooled: it was never
 * counted as spooled, and the mail could be incomplete.
 */
static void scan(struct vm_mail *m)
{
	char **names = NULL, **nn, ebuf[128];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	d = opendir(m->spooldir);
	if (!d) {
		say(m, VM_MAIL_WARN, "voicemail: cannot read spool %s: %s",
		    m->spooldir, errstr(errno, ebuf, sizeof(ebuf)));
		return;
	}

	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5)
			continue;

		if (!strcmp(de->d_name + len - 4, ".tmp")) {
			if (!unlinkat(dirfd(d), de->d_name, 0))
				say(m, VM_MAIL_INFO, "voicemail: removed"
				    " incomplete %s/%s", m->spooldir,
				    de->d_name);
			continue;
		}
		if (strcmp(de->d_name + len - 4, ".eml"))
			continue;

		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			++n;
	}
	(void)closedir(d);

	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		load(m, names[i]);
		free(names[i]);
	}
	free(names);

	if (n)
		say(m, VM_MAIL_INFO, "voicemail: %zu e-mail%s waiting in %s",
		    n, n == 1 ? "" : "s", m->spooldir);
}


/* Requests still queued or never spooled get one more try: then lost */
static void finish(struct vm_mail *m)
{
	char ebuf[128];
	struct entry *e;
	int err;

	while ((e = m->entries) != NULL) {
		if (e->req) {
			err = spool(m, e);
			if (err)
				say(m, VM_MAIL_WARN, "voicemail %s: e-mail to"
				    " %s lost (%s)", e->mailbox, e->to,
				    errstr(err, ebuf, sizeof(ebuf)));
		}
		m->entries = e->next;
		free_entry(e);
	}
}


/* New settings (vm_mail_set), taken by the thread under mtx: mails
 * waiting for a retry are tried at once with them (a reload that fixes
 * the command should not wait out an hour's back-off) */
static void take_settings(struct vm_mail *m)
{
	struct entry *e;
	uint64_t now;

	if (!m->next_command)
		return;

	free(m->set_command);
	free(m->set_from);
	m->command = m->set_command = m->next_command;
	m->from = m->set_from = m->next_from;
	m->next_command = m->next_from = NULL;
	m->retry_min = m->next_retry_min < m->retry_max ?
		m->next_retry_min : m->retry_max;

	now = vm_mail_clock_ms(CLOCK_MONOTONIC);
	for (e = m->entries; e; e = e->next) {
		e->due = now;
		e->delay = m->retry_min;
	}
}


static void *thread_main(void *arg)
{
	struct vm_mail *m = arg;
	struct entry *e, *first;
	struct req *reqs;

	scan(m);

	pthread_mutex_lock(&m->mtx);
	for (;;) {
		take_settings(m);

		reqs = m->reqh;
		if (reqs) {
			m->reqh = NULL;
			m->reqt = &m->reqh;
			pthread_mutex_unlock(&m->mtx);
			take(m, reqs);
			pthread_mutex_lock(&m->mtx);
			continue;
		}

		/* only now: what was queued before the stop is spooled */
		if (m->stop)
			break;

		first = NULL;
		for (e = m->entries; e; e = e->next) {
			if (!first || e->due < first->due)
				first = e;
		}

		if (!first) {
			pthread_cond_wait(&m->cond, &m->mtx);
		}
		else if (first->due > vm_mail_clock_ms(CLOCK_MONOTONIC)) {
			struct timespec ts;

			ts.tv_sec = (time_t)(first->due / 1000);
			ts.tv_nsec = (long)(first->due % 1000) * 1000000;
			(void)pthread_cond_timedwait(&m->cond, &m->mtx, &ts);
		}
		else {
			pthread_mutex_unlock(&m->mtx);
			attempt(m, first);
			pthread_mutex_lock(&m->mtx);
		}
	}
	pthread_mutex_unlock(&m->mtx);

	finish(m);

	return NULL;
}


int vm_mail_start(struct vm_mail **mp, const struct vm_mail_prm *prm)
{
	size_t dlen, clen, flen;
	pthread_condattr_t ca;
	sigset_t all, old;
	struct vm_mail *m;
	int err;

	if (!mp || !prm || !prm->spooldir || !*prm->spooldir ||
	    !prm->command || !*prm->command || !prm->from ||
	    !vm_mail_valid_from(prm->from))
		return EINVAL;

	dlen = strlen(prm->spooldir) + 1;
	clen = strlen(prm->command) + 1;
	flen = strlen(prm->from) + 1;
	m = calloc(1, sizeof(*m) + dlen + clen + flen);
	if (!m)
		return ENOMEM;

	m->spooldir = (char *)(m + 1);
	m->command = m->spooldir + dlen;
	m->from = m->command + clen;
	memcpy(m->spooldir, prm->spooldir, dlen);
	memcpy(m->command, prm->command, clen);
	memcpy(m->from, prm->from, flen);

	m->retry_max = prm->retry_max_s ? prm->retry_max_s : 3600;
	m->retry_min = prm->retry_min_s ? prm->retry_min_s : 60;
	if (m->retry_min > m->retry_max)
		m->retry_min = m->retry_max;
	m->timeout = prm->timeout_s ? prm->timeout_s : 60;
	m->logh = prm->logh;
	m->log_arg = prm->log_arg;
	m->reqt = &m->reqh;

	err = fs_mkdir_p(m->spooldir, 0750);
	if (err) {
		free(m);
		return err;
	}

	/* localtime_r() need not read TZ itself */
	tzset();

	err = pthread_mutex_init(&m->mtx, NULL);
	if (err) {
		free(m);
		return err;
	}

	err = pthread_condattr_init(&ca);
	if (!err) {
		err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (!err)
			err = pthread_cond_init(&m->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (err) {
		pthread_mutex_destroy(&m->mtx);
		free(m);
		return err;
	}

	/* signals are for the main thread; the thread inherits the mask */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&m->thread, NULL, thread_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->mtx);
		free(m);
		return err;
	}
	(void)pthread_setname_np(m->thread, "sb-vm-mail");

	*mp = m;

	return 0;
}


static char *copy(char **pp, const char *s, size_t len)
{
	char *d = *pp;

	memcpy(d, s, len);
	d[len] = '\0';
	*pp += len + 1;

	return d;
}


int vm_mail_queue(struct vm_mail *m, const struct vm_mail_msg *msg)
{
	size_t tl, ml, cl, nl, wl;
	struct req *r;
	char *p;

	if (!m || !msg || !msg->to || !vm_mail_valid_addr(msg->to) ||
	    !msg->mailbox || !*msg->mailbox || !msg->wav_path ||
	    !*msg->wav_path)
		return EINVAL;

	tl = strlen(msg->to);
	ml = strlen(msg->mailbox);
	cl = msg->caller ? strlen(msg->caller) : 0;
	nl = msg->caller_name ? strlen(msg->caller_name) : 0;
	wl = strlen(msg->wav_path);

	r = malloc(sizeof(*r) + tl + ml + cl + nl + wl + 5);
	if (!r)
		return ENOMEM;

	p = (char *)(r + 1);
	r->next = NULL;
	r->to = copy(&p, msg->to, tl);
	r->mailbox = copy(&p, msg->mailbox, ml);
	r->caller = msg->caller ? copy(&p, msg->caller, cl) : NULL;
	r->caller_name = msg->caller_name ? copy(&p, msg->caller_name, nl)
					  : NULL;
	r->wav_path = copy(&p, msg->wav_path, wl);
	r->time_ms = msg->time_ms;
	r->duration_ms = msg->duration_ms;

	pthread_mutex_lock(&m->mtx);
	*m->reqt = r;
	m->reqt = &r->next;
	++m->pending;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->mtx);

	return 0;
}


void vm_mail_stop(struct vm_mail *m)
{
	struct req *r;

	if (!m)
		return;

	pthread_mutex_lock(&m->mtx);
	m->stop = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->mtx);

	pthread_join(m->thread, NULL);

	/* only if vm_mail_queue() raced with the stop, against the rules */
	while ((r = m->reqh) != NULL) {
		m->reqh = r->next;
		free(r);
	}

	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mtx);
	free(m->next_command);
	free(m->next_from);
	free(m->set_command);
	free(m->set_from);
	free(m);
}


int vm_mail_set(struct vm_mail *m, const char *command, const char *from,
		unsigned retry_min_s)
{
	char *c, *f;

	if (!m || !command || !*command || !from ||
	    !vm_mail_valid_from(from))
		return EINVAL;

	c = strdup(command);
	f = strdup(from);
	if (!c || !f) {
		free(c);
		free(f);
		return ENOMEM;
	}

	pthread_mutex_lock(&m->mtx);
	free(m->next_command);
	free(m->next_from);
	m->next_command = c;
	m->next_from = f;
	m->next_retry_min = retry_min_s ? retry_min_s : 60;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->mtx);

	return 0;
}


void vm_mail_stats(struct vm_mail *m, unsigned *spooled, unsigned *sent,
		   unsigned *failures, unsigned *pending)
{
	unsigned v[4] = {0, 0, 0, 0};

	if (m) {
		pthread_mutex_lock(&m->mtx);
		v[0] = m->spooled;
		v[1] = m->sent;
		v[2] = m->failures;
		v[3] = m->pending;
		pthread_mutex_unlock(&m->mtx);
	}

	if (spooled)
		*spooled = v[0];
	if (sent)
		*sent = v[1];
	if (failures)
		*failures = v[2];
	if (pending)
		*pending = v[3];
}
