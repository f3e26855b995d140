/**
 * @file location.h  Location store: AOR -> contact bindings
 *
 * The binding table of the registrar (RFC 3261 10.3), in memory, written
 * through to the store before a change is acknowledged, and loaded back at
 * start (with each binding's remaining expiry). The registrar does the SIP
 * parsing and authentication; this module keeps the RFC 3261 10.3 step 6-8
 * rules: Call-ID/CSeq ordering, per-AOR contact limits, expiry.
 */
#ifndef SWITCH_LOCATION_H
#define SWITCH_LOCATION_H

struct store;
struct location;

struct binding {
	struct le le;          /* in the AOR's list (owned by location) */
	char *aor;             /* user id, e.g. "1001"                   */
	char *uri;             /* Contact URI as the phone sent it       */
	char *callid;
	uint32_t cseq;
	uint64_t expires;      /* absolute, unix time in seconds         */
	uint32_t q;            /* q-value x 1000 (1000 when absent)      */
	struct sa src;         /* source of the REGISTER (NAT: rport)    */
	struct sa laddr;       /* local address it arrived on            */
	enum sip_transp tp;    /* transport it arrived on                */
	char *user_agent;      /* may be NULL                            */
	char *instance;        /* +sip.instance, may be NULL             */
	uint64_t updated;      /* unix time of last refresh              */
};

/** One Contact of a REGISTER, already parsed by the registrar. */
struct location_contact {
	struct pl uri;         /* URI without <>                          */
	uint32_t expires;      /* final expiry in seconds, 0 = remove     */
	uint32_t q;            /* x 1000                                  */
	struct pl instance;    /* +sip.instance value, may be unset      */
};

/** Request-wide data of one REGISTER. */
struct location_req {
	const char *aor;
	struct pl callid;
	uint32_t cseq;
	struct sa src;
	struct sa laddr;
	enum sip_transp tp;
	struct pl user_agent;  /* may be unset */
	uint32_t max_contacts; /* this AOR's limit; 0: the location's */
};

int  location_alloc(struct location **locp, struct store *st,
		    uint32_t max_contacts);

/**
 * Apply all contacts of one REGISTER atomically (all or nothing, in memory
 * and in the store).
 *
 * @return 0 on success;
 *         EPROTO  a binding exists with the same Call-ID and a CSeq that is
 *                 not higher (RFC 3261 10.3 step 7: answer 500 / 400);
 *         EOVERFLOW more than max_contacts would remain (answer 403);
 *         another error from the store (answer 500).
 */
int  location_register(struct location *loc, const struct location_req *req,
		       const struct location_contact *cv, size_t cc,
		       uint64_t now);

/** "Contact: *" with Expires 0: remove all bindings of req->aor (same
 *  Call-ID/CSeq rule as above). */
int  location_unregister_all(struct location *loc,
			     const struct location_req *req, uint64_t now);

/** Remove every binding of aor, whatever its Call-ID and CSeq (the user
 *  left the directory). */
int  location_drop_aor(struct location *loc, const char *aor);

/** The live bindings of one AOR (list of struct binding), or NULL. */
const struct list *location_lookup(struct location *loc, const char *aor);

/** Whether aor has a live binding whose source address (not port)
 *  equals src. */
bool location_has_binding_from(struct location *loc, const char *aor,
			       const struct sa *src, uint64_t now);

typedef bool (location_apply_h)(const struct binding *b, void *arg);
/** Call h for every live binding, in AOR order; stop when h returns true */
void location_apply(struct location *loc, location_apply_h *h, void *arg);

uint32_t location_count(const struct location *loc);  /* bindings */
uint32_t location_aor_count(const struct location *loc);

/** Remove expired bindings from memory and store (also run by a timer
 *  inside the module every second or so). */
void location_expire(struct location *loc, uint64_t now);

#endif
