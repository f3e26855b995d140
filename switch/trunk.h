/**
 * @file trunk.h  Trunks at run time: registration, health, channel count
 *
 * One struct trunk per configured <trunk>, kept across reloads by name
 * (a trunk that is removed goes; one whose settings change starts its
 * registration and pings again). Each trunk has its own timers and
 * transactions: one that fails never stalls another.
 *
 * Health: with ping="N" an OPTIONS goes out every N seconds; an answer
 * (any, but 503) within 5 s (or N, if shorter) is a success. Three failures in a row mark
 * the trunk down, two successes up again (hysteresis). A trunk that is
 * down is skipped at once by bridge; one without ping is taken as up.
 *
 * Registration (register="yes"): libre's sipreg, which re-registers
 * before expiry and retries with a growing wait after a failure, never
 * giving up; the state tells credentials rejected (401/403/407 after our
 * credentials) apart from unreachable (no answer, no connection).
 */
#ifndef SWITCH_TRUNK_H
#define SWITCH_TRUNK_H

struct config;
struct config_trunk;
struct sipstack;
struct trunk;
struct trunkset;

enum trunk_reg {
	TRUNK_REG_OFF = 0,         /* register="no" */
	TRUNK_REG_TRYING,
	TRUNK_REG_OK,
	TRUNK_REG_REJECTED,        /* credentials rejected */
	TRUNK_REG_UNREACHABLE,
	TRUNK_REG_FAILED,          /* another answer */
};

int  trunkset_alloc(struct trunkset **tsp, struct sipstack *ss,
		    const struct config *cfg);

/**
 * The call engine's door on a trunk's own SIP stack (TLS trunks): h is
 * called for each such stack, now and for the ones made later, and
 * returns a mem object the trunk keeps (its sipsess socket and
 * listeners) until it goes.
 */
typedef void *(trunk_port_h)(struct trunk *t, struct sip *sip, void *arg);
void trunkset_set_porth(struct trunkset *ts, trunk_port_h *h, void *arg);

/** What h returned for t, or NULL (a trunk on the phones' stack) */
void *trunk_port(const struct trunk *t);

/** A reloaded config: trunks by name keep their state when unchanged */
int  trunkset_set_config(struct trunkset *ts, const struct config *cfg);

struct trunk *trunk_find(const struct trunkset *ts, const char *name);

/** The trunk whose addresses src is from, or NULL */
struct trunk *trunk_by_source(const struct trunkset *ts,
			      const struct sa *src);

const struct config_trunk *trunk_config(const struct trunk *t);

/** Can a new call go out on it now? If not, why (for the call's legs) */
bool trunk_usable(const struct trunk *t, const char **why);

/** A call on the trunk begins or ends (max-calls) */
void trunk_call_begin(struct trunk *t);
void trunk_call_end(struct trunk *t);

/** "sip:USER@HOST[:PORT][;transport=tcp]" */
int  trunk_uri(char *buf, size_t sz, const struct trunk *t,
	       const char *user);

/** ctl trunks */
int  trunkset_print(struct re_printf *pf, const struct trunkset *ts,
		    bool json);

/** Kilobits per second, one direction, of one call of codec at 20 ms
 *  on the wire (RTP 12 + UDP 8 + IPv4 20 bytes a packet) */
uint32_t trunk_call_kbps(const char *codec);

#endif
