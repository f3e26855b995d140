/**
 * @file events.h  A small publish/subscribe bus inside the process
 *
 * CDR, message waiting, presence and E9-1-1 notification subscribe here
 * instead of being called from the call code (DESIGN.md 4). Handlers run
 * synchronously on the signalling thread, in subscription order; a
 * payload lives only for the duration of the publish call.
 */
#ifndef SWITCH_EVENTS_H
#define SWITCH_EVENTS_H

enum event_type {
	EVENT_CALL_STARTED = 0,   /* payload: const struct call_event * */
	EVENT_CALL_ANSWERED,      /* payload: const struct call_event * */
	EVENT_CALL_ENDED,         /* payload: const struct call_event * */
	EVENT_TYPES
};

/** What the call code tells about a call. */
struct call_event {
	const char *id;            /* our call id, e.g. "c1f3a9..." */
	const char *caller;        /* caller_id_number */
	const char *caller_name;
	const char *destination;   /* destination_number dialled */
	const char *context;
	const char *callee;        /* who answered (user id / target), or NULL */
	uint64_t start;            /* unix time in ms */
	uint64_t answer;           /* 0: never answered */
	uint64_t end;              /* 0 until EVENT_CALL_ENDED */
	int cause;                 /* Q.850 hangup cause */
	uint16_t sip_code;         /* final SIP code towards the caller */
	const char *hangup_side;   /* "caller", "callee" or "system" */
	const char *legs;          /* one line per b-leg tried: target, SIP
				    * URI, result */
	const char *trace;         /* dialplan decision trace */
};

struct events;
struct events_sub;

typedef void (events_h)(enum event_type type, const void *payload,
			void *arg);

int  events_alloc(struct events **evp);
/** mask: bit (1 << type) for each type wanted. Deref the sub to stop. */
int  events_subscribe(struct events_sub **subp, struct events *ev,
		      unsigned mask, events_h *h, void *arg);
void events_publish(struct events *ev, enum event_type type,
		    const void *payload);

#endif
