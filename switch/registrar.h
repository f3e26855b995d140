/**
 * @file registrar.h  The registrar (RFC 3261 10.3)
 */
#ifndef SWITCH_REGISTRAR_H
#define SWITCH_REGISTRAR_H

struct config;
struct config_user;
struct location;
struct sipstack;
struct store;
struct registrar;

int  registrar_alloc(struct registrar **rp, struct sipstack *ss,
		     struct location *loc, struct store *st,
		     struct config *cfg);

/** Use a new (valid) config; bindings stay. */
int  registrar_set_config(struct registrar *r, struct config *cfg);

/**
 * Authenticate a request that is not a REGISTER (an INVITE) with digest
 * and the lock-out rules; the From user must be the one who
 * authenticates. Returns true with *userp set, or false after answering
 * (407, 403 or 400).
 */
bool registrar_authenticate(struct registrar *r, const struct sip_msg *msg,
			    const struct config_user **userp);

/** Called after every REGISTER answered 200 (user id) */
typedef void (registrar_reg_h)(const char *user, void *arg);
void registrar_set_regh(struct registrar *r, registrar_reg_h *h, void *arg);

struct registrar_stats {
	uint64_t requests;     /* REGISTERs seen            */
	uint64_t ok;           /* answered 200              */
	uint64_t challenged;   /* answered 401              */
	uint64_t auth_failed;  /* wrong credentials         */
	uint64_t locked_out;   /* answered 403 for lock-out */
	uint32_t locked_sources;
};
void registrar_stats(const struct registrar *r, struct registrar_stats *st);

#endif
