/**
 * @file tmrinsert.c  libre's tmr_start() with a shorter walk
 *
 * libre 1.1.0 keeps the timers of a thread in one list sorted by expiry
 * and tmr_start() finds the place by walking it from the end (from the
 * start for a delay of 0). A short timer - every SIP retransmission
 * timer, T1 = 500 ms - walks past every longer one: on UDP each call
 * leaves a 32 s Timer J (RFC 3261 17.2.2) behind its BYE, so at 600
 * calls/s each new transaction walked ~20000 list nodes (perf: 69 % of
 * the signalling thread in list_apply).
 *
 * libre calls tmr_start() through its PLT (tmr_cancel() too: it is
 * tmr_start(t, 0, NULL, NULL)), so this definition in the executable
 * takes its place, as sipdecode.c does for sip_msg_decode(). It keeps
 * libre's list and its order exactly - tmr_poll() and
 * tmr_next_timeout() read it unchanged - and only walks from the end
 * nearer to the new expiry: from the start for short timers. Equal
 * expiries keep their order of insertion, as in libre.
 *
 * The layout it relies on (struct tmr in re_tmr.h: le, th, arg, jfs) is
 * checked at build time by the use of the fields below; tmrl_get() is
 * libre's exported accessor of the calling thread's list.
 */
#include "core.h"

extern struct list *tmrl_get(void);


void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct list *tmrl = tmrl_get();
	struct le *le;
	uint64_t jfs, head, tail;

	if (!tmr)
		return;

	if (tmr->th)
		list_unlink(&tmr->le);

	tmr->th  = th;
	tmr->arg = arg;

	if (!th || !tmrl)
		return;

	jfs = tmr_jiffies() + delay;
	tmr->jfs = jfs;

	if (!tmrl->head) {
		list_append(tmrl, &tmr->le, tmr);
		return;
	}

	head = ((struct tmr *)tmrl->head->data)->jfs;
	tail = ((struct tmr *)tmrl->tail->data)->jfs;

	/* nearer the start: before the first that expires later */
	if (jfs < tail && (jfs < head || jfs - head < tail - jfs)) {

		for (le = tmrl->head; le; le = le->next) {
			if (((struct tmr *)le->data)->jfs > jfs)
				break;
		}

		if (le)
			list_insert_before(tmrl, le, &tmr->le, tmr);
		else
			list_append(tmrl, &tmr->le, tmr);
		return;
	}

	for (le = tmrl->tail; le; le = le->prev) {
		if (((struct tmr *)le->data)->jfs <= jfs)
			break;
	}

	if (le)
		list_insert_after(tmrl, le, &tmr->le, tmr);
	else
		list_prepend(tmrl, &tmr->le, tmr);
}
