/**
 * @file admit.h  Admission of new calls (overload protection)
 */
#ifndef SWITCH_ADMIT_H
#define SWITCH_ADMIT_H

enum admit_verdict {
	ADMIT_OK = 0,
	ADMIT_BACKLOG,     /* the signalling socket's queue is filling up */
	ADMIT_MAX_CALLS,   /* <limits max-calls>                          */
	ADMIT_RATE,        /* <limits calls-per-second>                   */
	ADMIT_VERDICTS
};

enum {
	/* receive queue fill (per mille of the buffer) at which new calls
	 * are refused, and below which they are taken again. Linux gives
	 * back a UDP socket's memory in batches of up to a quarter of its
	 * buffer while datagrams wait (udp_rmem_release), so what the
	 * kernel reports can be 250 above what really waits: 500 means
	 * at least a quarter of the buffer waits, below 300 at most 30 %. */
	ADMIT_BACKLOG_HIGH = 500,
	ADMIT_BACKLOG_LOW  = 300,
};

struct admit {
	bool shedding;               /* backlog above HIGH, not yet below LOW */
	uint64_t sec;                /* the current second (ms / 1000)        */
	uint32_t in_sec;             /* calls admitted within it              */
	uint64_t refused[ADMIT_VERDICTS];
};

enum admit_verdict admit_backlog(struct admit *a, unsigned backlog);
enum admit_verdict admit_limits(struct admit *a, uint32_t max_calls,
				uint32_t cps, uint32_t active,
				uint64_t now_ms);
const char *admit_verdict_str(enum admit_verdict v);

#endif
