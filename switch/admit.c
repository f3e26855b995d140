/**
 * @file admit.c  Admission of new calls: a 503 before the PBX drowns
 *
 * A PBX that takes every INVITE under overload answers none of them in
 * time: the phones' retransmissions pile up on top of the new calls and
 * every set-up times out. So a new call is refused at once with 503 and
 * Retry-After (RFC 3261 21.5.4) when
 *
 * - the kernel's receive queue of the signalling socket it came on is
 *   filling up (the loop is behind: a 503 costs one answer, a call two
 *   dialogs and a dialplan run). The check runs before the digest, with
 *   hysteresis so the PBX does not flap at the threshold; or
 * - the administrator's <limits max-calls> or <limits calls-per-second>
 *   would be exceeded (checked after the digest, so a challenge does not
 *   count as a call).
 *
 * Requests within dialogs (ACK, BYE, re-INVITE) and retransmissions are
 * never refused: the calls in progress go on.
 */
#include <stdbool.h>
#include <stdint.h>
#include "admit.h"


enum admit_verdict admit_backlog(struct admit *a, unsigned backlog)
{
	if (a->shedding && backlog < ADMIT_BACKLOG_LOW)
		a->shedding = false;
	else if (!a->shedding && backlog >= ADMIT_BACKLOG_HIGH)
		a->shedding = true;

	if (!a->shedding)
		return ADMIT_OK;

	++a->refused[ADMIT_BACKLOG];
	return ADMIT_BACKLOG;
}


enum admit_verdict admit_limits(struct admit *a, uint32_t max_calls,
				uint32_t cps, uint32_t active,
				uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;

	if (max_calls && active >= max_calls) {
		++a->refused[ADMIT_MAX_CALLS];
		return ADMIT_MAX_CALLS;
	}

	if (sec != a->sec) {
		a->sec = sec;
		a->in_sec = 0;
	}

	if (cps && a->in_sec >= cps) {
		++a->refused[ADMIT_RATE];
		return ADMIT_RATE;
	}

	++a->in_sec;
	return ADMIT_OK;
}


const char *admit_verdict_str(enum admit_verdict v)
{
	switch (v) {

	case ADMIT_OK:        return "admitted";
	case ADMIT_BACKLOG:   return "signalling backlog";
	case ADMIT_MAX_CALLS: return "max-calls reached";
	case ADMIT_RATE:      return "calls-per-second reached";
	default:              return "?";
	}
}
