/**
 * @file store_int.h  The store, shared by its own files only
 *
 * store.c        open, schema migrations, the statements
 * store_group.c  transactions and group commit
 * store_ckpt.c   WAL checkpoints in their own thread
 * store_cdr.c    call detail records
 * store_vm.c     the voicemail message index
 */
#ifndef SWITCH_STORE_INT_H
#define SWITCH_STORE_INT_H

#include <sqlite3.h>

enum stmt_id {
	STMT_BEGIN = 0,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_RELEASE,
	STMT_ROLLBACK_TO,
	STMT_BINDING_PUT,
	STMT_BINDING_DEL,
	STMT_BINDING_DEL_AOR,
	STMT_BINDING_LOAD,
	STMT_BINDING_PURGE,
	STMT_CRED_SET,
	STMT_CRED_GET,
	STMT_CDR_PUT,
	STMT_CDR_LIST,
	STMT_CDR_GET,
	STMT_VM_PUT,
	STMT_VM_LIST,
	STMT_VM_LIST_ALL,
	STMT_VM_COUNT,
	STMT_VM_DEL,
	STMT_VM_SET,
	STMT_VM_PIN_GET,
	STMT_VM_PIN_SET,
	STMT_COUNT
};

/*
 * Group commit. Under load, the writes of many REGISTERs share one
 * transaction: each caller's writes sit in a savepoint, and the group
 * commits GROUP_WINDOW_MS later (or at GROUP_MAX writes). Callers answer
 * only once store_when_durable() says the group is on disk, so an
 * acknowledged write is never lost. When the store has been idle for
 * GROUP_IDLE_MS a write commits at once, so a lone REGISTER waits for
 * nobody. If a group commit fails, the lost handler lets the location
 * store reload what is really on disk.
 */
enum {
	GROUP_WINDOW_MS = 1,
	GROUP_IDLE_MS   = 2,
	GROUP_MAX       = 256,
};

struct waiter {
	struct le le;
	store_durable_h *h;
	void *arg;                 /* mem_ref'd */
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmtv[STMT_COUNT];
	struct store_ckpt *ckpt;

	bool group_open;           /* BEGIN done, COMMIT pending  */
	uint32_t depth;            /* open savepoints             */
	uint32_t group_writes;
	uint64_t last_flush_ms;
	uint32_t window_ms;
	uint32_t idle_ms;
	struct tmr tmr;
	struct list waiters;
	store_lost_h *losth;
	void *lost_arg;
	uint64_t groups, grouped;  /* for the debug output */
};


int  store_fail(const struct store *st, int rc, const char *what);
int  store_stmt_exec(struct store *st, enum stmt_id id, const char *what);

/* SQL of the statements kept in store_cdr.c; NULL for other ids */
const char *store_cdr_sql(enum stmt_id id);
/* SQL of the statements kept in store_vm.c; NULL for other ids */
const char *store_vm_sql(enum stmt_id id);

/* A text column of the current row (NULL for SQL NULL) */
static inline const char *store_column_str(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}


/* A string column, NULL as SQL NULL (the text lives until the step) */
static inline int store_bind_str(sqlite3_stmt *s, int col, const char *str)
{
	if (!str)
		return sqlite3_bind_null(s, col);

	return sqlite3_bind_text(s, col, str, -1, SQLITE_STATIC);
}

#endif
