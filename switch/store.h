/**
 * @file store.h  The embedded store (SQLite, WAL mode)
 *
 * One small interface so another backend (PostgreSQL for several nodes)
 * can be added later. Every write that returns 0 is committed: it survives
 * a kill -9 of the daemon (WAL, synchronous=NORMAL; synchronous=FULL when
 * the config asks for power-loss safety).
 *
 * The schema is versioned (PRAGMA user_version) and migrated at open.
 */
#ifndef SWITCH_STORE_H
#define SWITCH_STORE_H

struct store;
struct binding;

/** Open (create) DATADIR/switchboard.db; creates DATADIR if missing. */
int  store_open(struct store **stp, const char *datadir);
const char *store_path(const struct store *st);
/** synchronous=FULL (power-loss safe) instead of NORMAL (crash safe). */
int  store_set_sync_full(struct store *st, bool full);

/* Registration bindings (see location.h) */
int  store_binding_put(struct store *st, const struct binding *b);
int  store_binding_del(struct store *st, const char *aor, const char *uri);
int  store_binding_del_aor(struct store *st, const char *aor);
typedef void (store_binding_h)(const struct binding *b, void *arg);
int  store_binding_load(struct store *st, store_binding_h *h, void *arg);
int  store_binding_purge(struct store *st, uint64_t now);

/* Atomic groups of writes (one REGISTER with several contacts) */
int  store_begin(struct store *st);
int  store_commit(struct store *st);
void store_rollback(struct store *st);

/* Credentials for users whose password is not in the config (set-up
 * generates them). HA1s are hex strings; realm is the one they were made
 * for. */
int  store_credential_set(struct store *st, const char *user,
			  const char *realm, const char *ha1_md5,
			  const char *ha1_sha256);
/** ENOENT if none. Strings are mem-allocated; caller derefs. */
int  store_credential_get(struct store *st, const char *user,
			  char **realmp, char **ha1_md5p, char **ha1_sha256p);

#endif
