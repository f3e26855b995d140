/**
 * @file cdr.h  Call detail records
 *
 * A subscriber of the event bus: every EVENT_CALL_ENDED becomes one row
 * of the cdr table, written at once (the store's group commit puts it on
 * disk within a few ms), so a crash loses no call that had ended. The
 * call code knows nothing about CDRs.
 */
#ifndef SWITCH_CDR_H
#define SWITCH_CDR_H

struct cdr;
struct events;
struct store;

/** Subscribe to ev; rows go to st. Deref the cdr to stop. */
int cdr_alloc(struct cdr **cp, struct events *ev, struct store *st);

/** Rows written and rows lost to store errors (for ctl status) */
int cdr_debug(struct re_printf *pf, const struct cdr *cdr);

/**
 * `switchboard ctl cdr`. argv[0] is "cdr", then:
 *   [--limit N]     the newest N calls as a table (default 50; 0: all)
 *   --csv           the same rows as RFC 4180 CSV with a header line
 *   --trace CALL    one call in full: times, cause, legs, decision trace
 */
int cdr_print(struct re_printf *pf, struct store *st, int argc,
	      char *argv[]);

#endif
