/**
 * @file cause.c  Hangup causes: Q.850 values, their names, SIP codes
 *
 * Names and numbers are FreeSWITCH's, so an administrator's dialplans,
 * CDR queries and habits carry over. SIP codes follow RFC 3398 (ISUP to
 * SIP); where it gives no code, or where FreeSWITCH (RFC 4497, QSIG)
 * gives a better one for a PBX, the line says why.
 */
#include "core.h"
#include "cause.h"


/* Sorted by number: cause_by_number() bisects it */
static const struct cause causes[] = {
	{"UNALLOCATED_NUMBER",              1, 404},
	{"NO_ROUTE_TRANSIT_NET",            2, 404},
	{"NO_ROUTE_DESTINATION",            3, 404},
	{"CHANNEL_UNACCEPTABLE",            6, 480},
	{"CALL_AWARDED_DELIVERED",          7, 480},
	/* RFC 3398: a BYE or CANCEL, no response; 480 when a call not yet
	 * answered is ended "normally" (dialplan `hangup` before answer) */
	{"NORMAL_CLEARING",                16, 480},
	{"USER_BUSY",                      17, 486},
	{"NO_USER_RESPONSE",               18, 408},
	{"NO_ANSWER",                      19, 480},
	{"SUBSCRIBER_ABSENT",              20, 480},
	{"CALL_REJECTED",                  21, 403},
	{"NUMBER_CHANGED",                 22, 410},
	{"REDIRECTION_TO_NEW_DESTINATION", 23, 410},
	/* Not in RFC 3398's list; its reverse maps 482/483 here */
	{"EXCHANGE_ROUTING_ERROR",         25, 483},
	{"DESTINATION_OUT_OF_ORDER",       27, 502},
	{"INVALID_NUMBER_FORMAT",          28, 484},
	{"FACILITY_REJECTED",              29, 501},
	{"RESPONSE_TO_STATUS_ENQUIRY",     30, 480},
	{"NORMAL_UNSPECIFIED",             31, 480},
	{"NORMAL_CIRCUIT_CONGESTION",      34, 503},
	{"NETWORK_OUT_OF_ORDER",           38, 503},
	{"NORMAL_TEMPORARY_FAILURE",       41, 503},
	{"SWITCH_CONGESTION",              42, 503},
	{"ACCESS_INFO_DISCARDED",          43, 503},
	{"REQUESTED_CHAN_UNAVAIL",         44, 503},
	{"PRE_EMPTED",                     45, 503},
	{"FACILITY_NOT_SUBSCRIBED",        50, 503},
	/* Barred is forbidden (RFC 3398 gives 403 for 55 and 57 alike) */
	{"OUTGOING_CALL_BARRED",           52, 403},
	{"INCOMING_CALL_BARRED",           54, 403},
	{"BEARERCAPABILITY_NOTAUTH",       57, 403},
	{"BEARERCAPABILITY_NOTAVAIL",      58, 503},
	{"SERVICE_UNAVAILABLE",            63, 503},
	{"BEARERCAPABILITY_NOTIMPL",       65, 488},
	{"CHAN_NOT_IMPLEMENTED",           66, 501},
	{"FACILITY_NOT_IMPLEMENTED",       69, 501},
	{"SERVICE_NOT_IMPLEMENTED",        79, 501},
	{"INVALID_CALL_REFERENCE",         81, 500},
	/* RFC 3398 says 503, but for SIP this is "no codec in common": 488
	 * says so, and a 503 would make upstream proxies fail over for
	 * nothing (RFC 4497 and FreeSWITCH use 488 too) */
	{"INCOMPATIBLE_DESTINATION",       88, 488},
	{"INVALID_MSG_UNSPECIFIED",        95, 500},
	{"MANDATORY_IE_MISSING",           96, 500},
	{"MESSAGE_TYPE_NONEXIST",          97, 500},
	{"WRONG_MESSAGE",                  98, 500},
	{"IE_NONEXIST",                    99, 500},
	{"INVALID_IE_CONTENTS",           100, 500},
	{"WRONG_CALL_STATE",              101, 500},
	{"RECOVERY_ON_TIMER_EXPIRE",      102, 504},
	{"MANDATORY_IE_LENGTH_ERROR",     103, 500},
	{"PROTOCOL_ERROR",                111, 500},
	{"INTERWORKING",                  127, 500},

	/* FreeSWITCH's own, not Q.850 */
	{"ORIGINATOR_CANCEL",             487, 487},
	{"CRASH",                         700, 500},
	{"SYSTEM_SHUTDOWN",               701, 503},
	/* A forked leg another contact answered first: it gets a CANCEL */
	{"LOSE_RACE",                     702, 487},
	{"MANAGER_REQUEST",               703, 480},
	{"BLIND_TRANSFER",                800, 480},
	{"ATTENDED_TRANSFER",             801, 480},
	{"ALLOTTED_TIMEOUT",              802, 480},
	{"USER_CHALLENGE",                803, 480},
	{"MEDIA_TIMEOUT",                 804, 480},
	{"PICKED_OFF",                    805, 480},
	/* RFC 3261 21.4.18: 480 is what a callee with no binding gets */
	{"USER_NOT_REGISTERED",           806, 480},
	{"PROGRESS_TIMEOUT",              807, 480},
	{"INVALID_GATEWAY",               808, 404},
	/* A trunk that is down: 503 lets the caller's side try another
	 * route */
	{"GATEWAY_DOWN",                  809, 503},
};


/* RFC 3398 section 8.2.6.1, sorted by code */
static const struct {
	uint16_t scode;
	int num;
} sip_causes[] = {
	{400,  41}, {401,  21}, {402,  21}, {403,  21}, {404,   1},
	{405,  63}, {406,  79}, {407,  21}, {408, 102}, {410,  22},
	{413, 127}, {414, 127}, {415,  79}, {416, 127}, {420, 127},
	{421, 127}, {423, 127}, {480,  18}, {481,  41}, {482,  25},
	{483,  25}, {484,  28}, {485,   1}, {486,  17},
	/* RFC 3398 has no mapping: the INVITE was cancelled, as FreeSWITCH
	 * reports it */
	{487, 487},
	/* RFC 3398 reads the Warning header; "no codec in common" is the
	 * case a PBX meets */
	{488,  88},
	{500,  41}, {501,  79}, {502,  38}, {503,  41}, {504, 102},
	{505, 127}, {513, 127}, {600,  17}, {603,  21}, {604,   1},
	{606,  88},
};


const struct cause *cause_by_pl(const struct pl *name)
{
	size_t i;

	if (!pl_isset(name))
		return NULL;

	/* At load time and on a failed call only: a scan is fine */
	for (i = 0; i < ARRAY_SIZE(causes); i++) {
		if (!pl_strcasecmp(name, causes[i].name))
			return &causes[i];
	}

	return NULL;
}


const struct cause *cause_by_name(const char *name)
{
	struct pl pl;

	if (!name)
		return NULL;

	pl_set_str(&pl, name);

	return cause_by_pl(&pl);
}


const struct cause *cause_by_number(int num)
{
	size_t lo = 0, hi = ARRAY_SIZE(causes);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (causes[mid].num == num)
			return &causes[mid];
		if (num < causes[mid].num)
			hi = mid;
		else
			lo = mid + 1;
	}

	return NULL;
}


const struct cause *cause_from_sip(uint16_t scode)
{
	size_t lo = 0, hi = ARRAY_SIZE(sip_causes);

	if (scode < 300 || scode > 699)
		return NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sip_causes[mid].scode == scode)
			return cause_by_number(sip_causes[mid].num);
		if (scode < sip_causes[mid].scode)
			hi = mid;
		else
			lo = mid + 1;
	}

	return cause_by_number(31);
}


uint16_t cause_to_sip(int num)
{
	/* By Q.850 class (the value's top three bits): normal event (two
	 * classes), resource unavailable, service not available, service
	 * not implemented, invalid message, protocol error, interworking */
	static const uint16_t class_scode[8] = {
		480, 480, 503, 503, 501, 500, 500, 500
	};
	const struct cause *c = cause_by_number(num);

	if (c)
		return c->scode;

	if (num < 1 || num > 127)
		return 500;

	return class_scode[num >> 4];
}
