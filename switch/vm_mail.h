/**
 * @file vm_mail.h  E-mail notification of new voicemail messages
 *
 * Each new message is mailed, its WAV attached, to the mailbox owner
 * through a sendmail-compatible command. A request lives in memory only
 * until the mail thread has written it into the spool folder; from then on
 * it survives crashes and restarts and is retried until the command takes
 * it (exit status 0).
 *
 * Plain C without libre: the work happens on a thread of its own, so the
 * signalling thread never waits for the disk or the mail command.
 */
#ifndef SWITCH_VM_MAIL_H
#define SWITCH_VM_MAIL_H

#include <stdint.h>

struct vm_mail;

/** Called from the mail thread; msg holds no CR or LF */
typedef void (vm_mail_log_h)(int level, const char *msg, void *arg);

enum {
	VM_MAIL_INFO = 0,
	VM_MAIL_WARN = 1,
};

struct vm_mail_prm {
	const char *spooldir;  /* created (0750, with parents) if missing */
	const char *command;   /* run as /bin/sh -c COMMAND, mail on stdin */
	const char *from;      /* From: header, ASCII, e.g.
				  "Switchboard <pbx@localhost>" */
	unsigned retry_min_s;  /* first retry after a failure (0: 60), ... */
	unsigned retry_max_s;  /* ... doubling up to this (0: 3600) */
	unsigned timeout_s;    /* a command running longer is killed and
				  counts as a failure (0: 60) */
	vm_mail_log_h *logh;   /* may be NULL */
	void *log_arg;
};

/**
 * Create the spool folder if missing and start the mail thread. Mails
 * left in the spool by an earlier run are sent at once; stale NAME.tmp
 * files (a crash while spooling) are removed. EINVAL if spooldir, command
 * or from is missing, or from holds control or non-ASCII characters or is
 * longer than 900.
 */
int  vm_mail_start(struct vm_mail **mp, const struct vm_mail_prm *prm);

struct vm_mail_msg {
	const char *to;           /* one ASCII address with an '@'; no blanks,
				     controls, '<', '>' or ',' */
	const char *mailbox;
	const char *caller;       /* may be NULL */
	const char *caller_name;  /* may be NULL; UTF-8 */
	const char *wav_path;     /* the recording (absolute, best) */
	uint64_t time_ms;         /* unix time of the message (0: now) */
	uint64_t duration_ms;
};

/**
 * Queue a notification: copies msg and returns at once, without file
 * I/O, so the signalling thread may call it. The mail thread writes the
 * mail into the spool (fsync()ed and renamed into place) and then runs
 * the command. A recording that cannot be read by then is mentioned in
 * the text instead of attached. EINVAL for a bad address or a missing
 * field.
 */
int  vm_mail_queue(struct vm_mail *m, const struct vm_mail_msg *msg);

/**
 * Stop the thread and free m. A running command is waited for (at most
 * until its timeout); requests still queued are spooled first, so only a
 * failing disk loses one. Spooled mails stay for the next start. Must not
 * race with vm_mail_queue(). NULL is ignored.
 */
void vm_mail_stop(struct vm_mail *m);

/**
 * New settings (a reload): the command and From for the next attempts,
 * the first wait after a failure; mails waiting for a retry are tried
 * at once. A command running now finishes as it is. EINVAL as for
 * vm_mail_start. The signalling thread may call it.
 */
int  vm_mail_set(struct vm_mail *m, const char *command, const char *from,
		 unsigned retry_min_s);

/**
 * Counters since start; any pointer may be NULL. spooled: requests
 * written to the spool; sent: mails the command accepted; failures: failed
 * attempts to spool or send; pending: mails not sent yet, queued or
 * spooled (including those found at start).
 */
void vm_mail_stats(struct vm_mail *m, unsigned *spooled, unsigned *sent,
		   unsigned *failures, unsigned *pending);

#endif
