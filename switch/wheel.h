/**
 * @file wheel.h  Timers for the many long waits of calls, O(1) each
 *
 * libre 1.1.0 keeps its timers in one sorted list and tmr_start() walks
 * it from the end to find the place: every short timer (a SIP
 * retransmission) walks past every longer one. With a media timeout of
 * 60 s on each leg of each call, thousands of calls made each INVITE
 * cost a walk of tens of thousands of list nodes (perf: 43 % of the
 * signalling thread in list_apply at 500 calls/s).
 *
 * These timers sit in a hashed timing wheel instead: start and cancel
 * are O(1), and one libre timer ticks every WHEEL_TICK_MS while any is
 * running. A timer fires up to one tick late. Signalling thread only.
 */
#ifndef SWITCH_WHEEL_H
#define SWITCH_WHEEL_H

typedef void (wtmr_h)(void *arg);

struct wtmr {
	struct le le;
	uint64_t due;       /* monotonic ms */
	wtmr_h *h;
	void *arg;
};

void wtmr_init(struct wtmr *t);
void wtmr_start(struct wtmr *t, uint64_t ms, wtmr_h *h, void *arg);
void wtmr_cancel(struct wtmr *t);
bool wtmr_isrunning(const struct wtmr *t);

/** Timers running (for tests and ctl status) */
uint32_t wheel_count(void);

/** Drop every timer and the tick (at shutdown; none fires) */
void wheel_close(void);

#endif
