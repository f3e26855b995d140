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

/* Atomic groups of writes (one REGISTER with several contacts).
 *
 * store_commit() ends the caller's group; the transaction that holds it
 * may commit a moment later together with other callers' groups (group
 * commit). A caller that acknowledges the write to someone waits for
 * store_when_durable(). If store_commit() returns an error the group is
 * rolled back; if the shared commit fails later, the durable handlers get
 * the error and the lost handler is called. */
int  store_begin(struct store *st);
int  store_commit(struct store *st);
void store_rollback(struct store *st);

typedef void (store_durable_h)(int err, void *arg);
/** Call h (now, or after the pending commit) once every write made so
 *  far is on disk; arg is a mem object, held until then. */
int  store_when_durable(struct store *st, store_durable_h *h, void *arg);
/** Whether writes are waiting for a group commit (then acknowledge only
 *  from a store_when_durable() handler). */
bool store_group_open(const struct store *st);
/** Commit the pending group now (shutdown, tests). */
int  store_flush(struct store *st);

/** Group commit timing: a write within idle_ms of the last commit waits
 *  up to window_ms for others (defaults 1 and 2 ms). */
void store_set_group_commit(struct store *st, uint32_t window_ms,
			    uint32_t idle_ms);

/** Commits made and caller write groups they carried (for ctl status) */
void store_group_stats(const struct store *st, uint64_t *groupsp,
		       uint64_t *writesp);

typedef void (store_lost_h)(void *arg);
void store_set_lost_handler(struct store *st, store_lost_h *h, void *arg);

/* Credentials for users whose password is not in the config (set-up
 * generates them). HA1s are hex strings; realm is the one they were made
 * for. */
int  store_credential_set(struct store *st, const char *user,
			  const char *realm, const char *ha1_md5,
			  const char *ha1_sha256);
/** ENOENT if none. Strings are mem-allocated; caller derefs. */
int  store_credential_get(struct store *st, const char *user,
			  char **realmp, char **ha1_md5p, char **ha1_sha256p);

/* Call detail records (cdr.c): one row per call that ended. The times
 * are unix ms; answer_ms 0 for a call never answered. */
struct call_event;

struct cdr_row {
	int64_t id;
	const char *call_id;
	const char *caller;
	const char *caller_name;
	const char *destination;
	const char *context;
	const char *callee;
	uint64_t start_ms;
	uint64_t answer_ms;
	uint64_t end_ms;
	uint64_t duration_ms;        /* end - start                   */
	uint64_t billsec_ms;         /* end - answer; 0 if unanswered */
	int cause;                   /* Q.850 (see cause.h)           */
	const char *cause_name;      /* NULL if cause.h does not know */
	uint16_t sip_code;
	const char *hangup_side;
	const char *legs;
	const char *trace;
};

/** The strings point into SQLite's row: valid during the call only. A
 *  non-zero return stops the walk and is returned. */
typedef int (store_cdr_h)(const struct cdr_row *row, void *arg);

/** Write one row; a write like the others (store_begin/store_commit). */
int  store_cdr_put(struct store *st, const struct call_event *ce);
/** Newest first (by start); limit 0: all rows. */
int  store_cdr_list(struct store *st, uint32_t limit, store_cdr_h *h,
		    void *arg);
/** The rows of one call (normally one); ENOENT if none. */
int  store_cdr_get(struct store *st, const char *call_id, store_cdr_h *h,
		   void *arg);

/* The voicemail message index: one row per message, the audio in a file
 * (path relative to the data dir). Times are unix ms. A message is new
 * until it is heard or saved. */
struct vm_msg {
	int64_t id;
	const char *mailbox, *file, *caller, *caller_name, *folder;
	uint64_t time_ms, duration_ms;
	bool heard;
};

/** The strings point into SQLite's row: valid during the call only. A
 *  non-zero return stops the walk and is returned. */
typedef int (store_vm_h)(const struct vm_msg *m, void *arg);

/** Write one message (m->id is ignored; folder NULL is "new"); its id in
 *  *idp if not NULL. A write like the others (store_begin/store_commit). */
int  store_vm_put(struct store *st, const struct vm_msg *m, int64_t *idp);
/** Oldest first; mailbox NULL: every mailbox. */
int  store_vm_list(struct store *st, const char *mailbox, store_vm_h *h,
		   void *arg);
/** new: in folder "new" and not heard; old: the rest. Either may be
 *  NULL. */
int  store_vm_count(struct store *st, const char *mailbox, uint32_t *newp,
		    uint32_t *oldp);
/** ENOENT if there is no such message. A write like the others. */
int  store_vm_delete(struct store *st, int64_t id);
/** Move a message to folder ("new", "saved") and mark it heard or not;
 *  ENOENT if there is none. A write like the others. */
int  store_vm_set(struct store *st, int64_t id, const char *folder,
		  bool heard);

/* Mailbox PINs changed by phone: a salt and the hex SHA-256 of salt and
 * PIN (vm.c makes and checks them). Strings mem-allocated; ENOENT if the
 * mailbox has none (the directory's vm-pin holds then). */
int  store_vm_pin_get(struct store *st, const char *mailbox, char **saltp,
		      char **hashp);
int  store_vm_pin_set(struct store *st, const char *mailbox,
		      const char *salt, const char *hash);

#endif
