/**
 * @file call.h  Calls: the back-to-back user agent
 *
 * An INVITE from a phone is authenticated (407, the registrar's digest
 * and lock-out rules), answered 100 Trying at once, hunted in the
 * caller's dialplan context, and its actions run in order. bridge rings
 * b-legs (every registered contact of a user: forking, first answer
 * wins); RTP is anchored at the PBX and relayed (media.h); CANCEL and BYE
 * travel across; re-INVITEs (hold, resume) are passed on. Each call ends
 * with an EVENT_CALL_ENDED on the event bus (the CDR listens).
 */
#ifndef SWITCH_CALL_H
#define SWITCH_CALL_H

struct callmgr;
struct config;
struct events;
struct location;
struct registrar;
struct sipstack;
struct trunkset;

int  callmgr_alloc(struct callmgr **cmp, struct sipstack *ss,
		   struct registrar *reg, struct location *loc,
		   struct events *ev, struct trunkset *trunks,
		   struct config *cfg);
/** Where voicemail app records (vm.h) */
struct vm;
void callmgr_set_vm(struct callmgr *cm, struct vm *vm);

/** New calls use cfg; calls in progress keep the config they began with */
void callmgr_set_config(struct callmgr *cm, struct config *cfg);
uint32_t callmgr_count(const struct callmgr *cm);

struct callmgr_stats {
	uint32_t active;           /* calls in progress */
	uint64_t started;          /* calls admitted since start-up */
	uint64_t refused_backlog;  /* 503: signalling queue filling up */
	uint64_t refused_limit;    /* 503: <limits> max-calls or rate */
};

void callmgr_stats(const struct callmgr *cm, struct callmgr_stats *st);

/** `ctl calls [--json]`: one line (object) per call with RTP counters */
int  callmgr_print(struct re_printf *pf, const struct callmgr *cm,
		   bool json);

#endif
