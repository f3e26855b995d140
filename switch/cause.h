/**
 * @file cause.h  Hangup causes: Q.850 values, their names, SIP codes
 *
 * One table of the causes administrators know from FreeSWITCH (names such
 * as USER_BUSY, NORMAL_CLEARING), used by the dialplan (`hangup CAUSE`),
 * the call engine (the response to send, the cause of a failed b-leg) and
 * CDRs. Numbers 1..127 are Q.850 cause values; the few above are
 * FreeSWITCH's own (ORIGINATOR_CANCEL 487, MEDIA_TIMEOUT 804, ...) and are
 * never sent as a Q.850 Reason.
 *
 * SIP mapping: RFC 3398 section 8.2.6.1 (a SIP response to a cause) and
 * section 7.2.4.1 (a cause to a SIP response), with the exceptions that
 * cause.c names.
 */
#ifndef SWITCH_CAUSE_H
#define SWITCH_CAUSE_H

struct cause {
	const char *name;   /* e.g. "USER_BUSY"                            */
	int num;            /* Q.850 value 1..127, or FreeSWITCH's above    */
	uint16_t scode;     /* SIP response for a call that fails with it   */
};

/** By name, case-insensitive ("user_busy" works). NULL if unknown. */
const struct cause *cause_by_name(const char *name);
const struct cause *cause_by_pl(const struct pl *name);

/** By number. NULL if the table has no such cause. */
const struct cause *cause_by_number(int num);

/**
 * The cause of a failed outgoing INVITE from its final response. NULL for
 * 1xx, 2xx and codes outside 100..699 (not a failure); a 3xx-6xx code
 * RFC 3398 does not list is NORMAL_UNSPECIFIED (31), as it says.
 */
const struct cause *cause_from_sip(uint16_t scode);

/**
 * The SIP response that refuses a call with cause num (once a call is
 * answered, every cause is a BYE). A number not in the table gets its
 * Q.850 class's response; anything else 500.
 */
uint16_t cause_to_sip(int num);

/** True if c may go out as "Reason: Q.850;cause=N". */
static inline bool cause_is_q850(const struct cause *c)
{
	return c && c->num >= 1 && c->num <= 127;
}

#endif
