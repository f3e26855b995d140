/**
 * @file lockout.h  Lock-out of sources that fail authentication
 *
 * Failed authentications are counted per source IP address (and, for the
 * log, per user). When a source has max_failures within window_s, it is
 * locked for duration_s: the registrar answers 403 to it, except for a user
 * that already holds a valid registration from that same address (one bad
 * phone behind an office NAT must not lock the whole office out).
 *
 * Memory is bounded: at most max_entries sources are tracked; the oldest
 * unlocked entry is evicted first.
 */
#ifndef SWITCH_LOCKOUT_H
#define SWITCH_LOCKOUT_H

struct lockout;

struct lockout_params {
	uint32_t max_failures;   /* default 5            */
	uint32_t window_s;       /* default 60           */
	uint32_t duration_s;     /* default 300          */
	uint32_t max_entries;    /* default 65536        */
};

int  lockout_alloc(struct lockout **lp, const struct lockout_params *prm);

/** True if src (address only, port ignored) is locked at now_ms. */
bool lockout_is_locked(struct lockout *l, const struct sa *src,
		       uint64_t now_ms);

/**
 * Count one failure for src and user. Returns true exactly once per lock:
 * when this failure locks the source (the caller logs it once).
 */
bool lockout_fail(struct lockout *l, const struct sa *src,
		  const struct pl *user, uint64_t now_ms);

/**
 * Failed authentications of user from src that this entry remembers (as
 * long as the source has failures in the window or is locked). The
 * registrar exempts a registered phone from its source's lock only while
 * this stays below max_failures.
 */
uint32_t lockout_user_failures(struct lockout *l, const struct sa *src,
			       const struct pl *user, uint64_t now_ms);

/** A success from src does not clear other users' failures; no-op hook. */
void lockout_success(struct lockout *l, const struct sa *src,
		     const struct pl *user, uint64_t now_ms);

/** Number of currently locked sources (for ctl status). */
uint32_t lockout_locked_count(struct lockout *l, uint64_t now_ms);

int  lockout_debug(struct re_printf *pf, const struct lockout *l);

#endif
