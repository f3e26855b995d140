/**
 * @file sipstack.h  The phones' SIP stack: transports and generic replies
 */
#ifndef SWITCH_SIPSTACK_H
#define SWITCH_SIPSTACK_H

struct config;
struct sipstack;

int  sipstack_alloc(struct sipstack **ssp, const struct config *cfg);
struct sip *sipstack_sip(const struct sipstack *ss);

/** The DNS client trunk host names are looked up with (or NULL) */
struct dnsc *sipstack_dnsc(const struct sipstack *ss);

/** Whether host (a Request-URI / To host) names this PBX. */
bool sipstack_is_local(const struct sipstack *ss, const struct pl *host);

/** The served domain (the digest realm) */
const char *sipstack_domain(const struct sipstack *ss);

/** Update the served domain after a reload (listeners stay). */
int  sipstack_set_domain(struct sipstack *ss, const char *domain);

int  sipstack_debug(struct re_printf *pf, const struct sipstack *ss);

/** Count of requests refused as malformed (for ctl status). */
uint64_t sipstack_bad_requests(const struct sipstack *ss);

/**
 * How full the kernel's receive queue of the UDP socket that msg came on
 * is, in per mille of the socket's buffer: what is still waiting to be
 * read behind this message. 0 for TCP/TLS or when the kernel cannot say.
 */
unsigned sipstack_backlog(const struct sip_msg *msg);

/* sipcheck.c: RFC 3261 / RFC 4475 sanity checks that libre leaves out.
 * Returns 0 when the request is fine, or the status code to answer
 * (400, 505, ...) and the reason phrase. */
uint16_t sipcheck_request(const struct sip_msg *msg, const char **reason);

#endif
