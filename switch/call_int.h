/**
 * @file call_int.h  Calls, shared by their own files
 *
 * call.c         the manager, new calls, the a-leg, ending
 * call_sdp.c     SDP offer/answer on the legs, re-INVITEs
 * call_steps.c   running the dialplan actions, call variables
 * call_bridge.c  bridge: b-legs, forking, timeouts, failover
 * call_vmbox.c   voicemail_check: a mailbox's owner and its menus
 */
#ifndef SWITCH_CALL_INT_H
#define SWITCH_CALL_INT_H

#include "admit.h"
#include "events.h"
#include "media.h"
#include "sdpneg.h"
#include "player.h"
#include "wheel.h"

struct dp_channel;

enum call_state {
	CALL_ROUTING = 0,     /* running steps, not answered          */
	CALL_ANSWERED,        /* a bridge was answered                 */
	CALL_ENDED,           /* answered the caller finally; freed soon */
};

/* Where calls come in on one SIP stack: the phones' stack, or a TLS
 * trunk's own (whose calls are that trunk's: its certificate was
 * checked) */
struct callport {
	struct callmgr *cm;           /* weak */
	struct sip *sip;              /* weak */
	struct trunk *trunk;          /* weak; NULL on the phones' stack */
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;        /* CANCEL before accept */
	struct sip_lsnr *lsnr_ack;    /* ACKs of stateless answers */
};

struct callmgr {
	struct callport *main;        /* the phones' stack */
	struct sipstack *ss;          /* weak */
	struct registrar *reg;        /* weak */
	struct location *loc;         /* weak */
	struct events *ev;            /* weak */
	struct trunkset *trunks;      /* weak */
	struct vm *vm;                /* weak */
	struct config *cfg;
	struct list calls;
	struct hash *ht;              /* struct call by the INVITE's Call-ID */
	uint32_t active;              /* calls not ended */
	uint64_t started;
	uint32_t seq;
	struct admit admit;
	uint64_t refused_sec;         /* overload log: at most once a second */
	uint64_t refused_unlogged;
	enum admit_verdict refused_why;
};

struct call_var {
	struct le le;
	char *name;
	char *value;
};

struct bleg {
	struct le le;                 /* in call.forks */
	struct call *call;            /* weak */
	struct sipsess *sess;
	char *target;                 /* "user/1002" */
	struct trunk *trunk;          /* a leg on a trunk (weak; counted) */
	char *uri;                    /* the contact rung */
	uint16_t scode;               /* final answer, 0 while ringing */
};

struct call {
	struct le le;                 /* in callmgr.calls */
	struct le he;                 /* in callmgr.ht */
	struct callmgr *cm;           /* weak */
	char id[16];
	struct config *cfg;           /* the config the call began with */
	const struct config_user *caller;   /* in cfg (a trunk's for its
	                                       inbound calls) */
	struct trunk *from_trunk;     /* an inbound trunk call, weak */
	char *cid_num;                /* the caller's number and name */
	char *cid_name;
	enum call_state state;

	struct callport *port;        /* where the INVITE came in */
	struct sip_msg *inv;          /* the caller's INVITE */
	struct sipsess *a;            /* NULL until accepted (18x/200) */
	bool a_early;                 /* a-leg got a 18x */

	struct mbuf *offer;           /* the caller's SDP */
	struct mbuf *b_sdp;           /* the answering leg's SDP */
	struct media_ep *a_ep, *b_ep;

	/* SDP offer/answer (sdpneg.h): what the caller offered, the codec
	 * each leg speaks, our o= lines */
	struct sdp_audio *a_offer;
	struct media_codec a_mc, b_mc;
	bool a_fixed;                 /* our answer to the caller is out */
	struct mbuf *a_desc;          /* that answer (183 and 200 agree) */
	struct sdp_origin a_origin, b_origin;

	char *dest;
	char *context;
	struct list steps;            /* struct dp_step */
	struct le *next;              /* the next step to run */
	struct list vars;             /* struct call_var */

	/* bridge in progress */
	char *alts;                   /* what follows the next '|', or NULL */
	struct list forks;            /* struct bleg */
	struct list dead;             /* closed b-legs, freed from tmr_gc */
	struct bleg *winner;
	char *callee;                 /* the target that answered */
	int bridge_cause;

	struct player *player;        /* playback in progress */
	struct vm_rec *vm;            /* a voicemail being recorded */
	char *vm_box;
	struct vm_greet *vm_greet;    /* the greeting's files, in turn */
	struct vmbox *vmbox;          /* the mailbox's owner is in it */
	struct player_rtp a_rtp;      /* our RTP stream to the caller */
	struct wtmr tmr;              /* sleep, bridge timeout */
	struct wtmr tmr_end;          /* deferred teardown */
	struct tmr tmr_gc;            /* frees closed b-legs */

	struct mbuf *trace;
	struct mbuf *legs;
	uint64_t start, answer;
	int cause;
	uint16_t scode;
	const char *side;
};

/* call.c */
uint64_t call_now_ms(void);
void call_publish(struct call *call, enum event_type type);
int  call_answer_a(struct call *call, const struct mbuf *b_sdp);
void call_watch_media(struct call *call);

/* call_sdp.c */
int  call_a_sdp(struct mbuf **mbp, struct call *call,
		const struct mbuf *b_sdp);
int  call_a_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg);
int  call_a_answer(const struct sip_msg *msg, void *arg);
int  bleg_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg);
bool call_offer_usable(const struct call *call);

/* call_steps.c */
void call_continue(struct call *call);
void call_channel(struct dp_channel *ch, const struct call *call);
void call_end(struct call *call, int cause, uint16_t scode,
	      const char *side);
/* call_steps.c */
const char *call_var(const struct call *call, const char *name);
int  call_var_set(struct call *call, const char *name, const char *value);
int  call_accept_early(struct call *call, uint16_t scode,
		       const struct mbuf *b_sdp);
void call_answered(struct call *call, struct bleg *winner);
/** The user whose mailbox box is (its mailbox attribute, else its id) */
struct config;
struct config_user;
const struct config_user *call_mailbox_owner(const struct config *cfg,
					    const char *box);
/** Answer the caller (200 with our SDP) unless answered already */
int  call_answer(struct call *call);
/** The payload type our G.711 prompts go out to the caller with */
uint8_t call_prompt_pt(const struct call *call);
/** Hunt the dialplan again for ext (in ctx, or the call's context) */
int  call_transfer(struct call *call, const char *ext, const char *ctx);

/* call_vmbox.c */
int  call_vmbox_start(struct call *call, const char *data);

/* the sipsess socket a call on trunk t goes out on (NULL: a phone) */
struct sipsess_sock *callmgr_sock_for(const struct callmgr *cm,
				      const struct trunk *t);

/* call_bridge.c */
int  call_bridge(struct call *call, const char *data);
void call_bridge_stop(struct call *call);
int  bleg_sdp_offer(struct mbuf **mbp, struct call *call,
		   const struct codec_list *allowed);

#endif
