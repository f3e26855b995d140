/**
 * @file store_vm.c  The voicemail message index in the store
 *
 * The table is migration 4 in store.c; the statements are prepared at
 * open with the others. Only the index lives here: the audio is a file
 * under the data dir, which the caller writes before the row and removes
 * after it. Writes are ordinary store writes: the caller wraps them in
 * store_begin/store_commit and acknowledges (MWI, "message saved") from
 * store_when_durable(), so an announced message is never lost.
 */
#include <sqlite3.h>
#include "core.h"
#include "store.h"
#include "store_int.h"


#define VM_COLUMNS \
	"id, mailbox, file, caller, caller_name, time_ms, duration_ms," \
	" folder, heard"


const char *store_vm_sql(enum stmt_id id)
{
	switch (id) {

	case STMT_VM_PUT:
		return "INSERT INTO voicemail (mailbox, file, caller,"
			" caller_name, time_ms, duration_ms, folder, heard)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

	/* the (mailbox, time_ms) index holds the rowid too: one range
	 * scan, already in order */
	case STMT_VM_LIST:
		return "SELECT " VM_COLUMNS " FROM voicemail"
			" WHERE mailbox = ?1 ORDER BY time_ms, id";

	/* a statement of its own: "?1 IS NULL OR mailbox = ?1" would make
	 * the list of one mailbox scan the whole table */
	case STMT_VM_LIST_ALL:
		return "SELECT " VM_COLUMNS " FROM voicemail"
			" ORDER BY time_ms, id";

	case STMT_VM_COUNT:
		return "SELECT coalesce(sum(folder = 'new' AND heard = 0), 0),"
			" count(*) FROM voicemail WHERE mailbox = ?1";

	case STMT_VM_DEL:
		return "DELETE FROM voicemail WHERE id = ?1";

	case STMT_VM_SET:
		return "UPDATE voicemail SET folder = ?2, heard = ?3"
			" WHERE id = ?1";

	case STMT_VM_PIN_GET:
		return "SELECT salt, hash FROM vm_pins WHERE mailbox = ?1";

	case STMT_VM_PIN_SET:
		return "INSERT OR REPLACE INTO vm_pins (mailbox, salt, hash)"
			" VALUES (?1, ?2, ?3)";

	default:
		return NULL;
	}
}


int store_vm_put(struct store *st, const struct vm_msg *m, int64_t *idp)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;
	int err;

	if (!st || !m || !m->mailbox || !m->file)
		return EINVAL;

	s = st->stmtv[STMT_VM_PUT];

	/* an explicit NULL would not take the column's default */
	if (!rc) rc = store_bind_str(s, 1, m->mailbox);
	if (!rc) rc = store_bind_str(s, 2, m->file);
	if (!rc) rc = store_bind_str(s, 3, m->caller);
	if (!rc) rc = store_bind_str(s, 4, m->caller_name);
	if (!rc) rc = sqlite3_bind_int64(s, 5, (sqlite3_int64)m->time_ms);
	if (!rc) rc = sqlite3_bind_int64(s, 6,
					 (sqlite3_int64)m->duration_ms);
	if (!rc) rc = store_bind_str(s, 7, m->folder ? m->folder : "new");
	if (!rc) rc = sqlite3_bind_int(s, 8, m->heard);
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "vm put");
	}

	err = store_stmt_exec(st, STMT_VM_PUT, "vm put");
	if (!err && idp)
		*idp = sqlite3_last_insert_rowid(st->db);

	return err;
}


/* Step s and hand each row to h; resets s whatever happens. */
static int walk(struct store *st, sqlite3_stmt *s, store_vm_h *h,
		void *arg, const char *what)
{
	int rc, err = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {

		const struct vm_msg m = {
			.id          = sqlite3_column_int64(s, 0),
			.mailbox     = store_column_str(s, 1),
			.file        = store_column_str(s, 2),
			.caller      = store_column_str(s, 3),
			.caller_name = store_column_str(s, 4),
			.time_ms     = (uint64_t)sqlite3_column_int64(s, 5),
			.duration_ms = (uint64_t)sqlite3_column_int64(s, 6),
			.folder      = store_column_str(s, 7),
			.heard       = sqlite3_column_int(s, 8) != 0,
		};

		/* NOT NULL columns; NULL here means out of memory */
		if (!m.mailbox || !m.file || !m.folder) {
			err = ENOMEM;
			break;
		}

		err = h(&m, arg);
		if (err)
			break;
	}

	if (!err && rc != SQLITE_DONE)
		err = store_fail(st, rc, what);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);

	return err;
}


int store_vm_list(struct store *st, const char *mailbox, store_vm_h *h,
		  void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !h)
		return EINVAL;

	if (!mailbox)
		return walk(st, st->stmtv[STMT_VM_LIST_ALL], h, arg,
			    "vm list");

	s = st->stmtv[STMT_VM_LIST];

	rc = store_bind_str(s, 1, mailbox);
	if (rc)
		return store_fail(st, rc, "vm list");

	return walk(st, s, h, arg, "vm list");
}


int store_vm_count(struct store *st, const char *mailbox, uint32_t *newp,
		   uint32_t *oldp)
{
	sqlite3_int64 fresh = 0, total = 0;
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!st || !mailbox)
		return EINVAL;

	s = st->stmtv[STMT_VM_COUNT];

	rc = store_bind_str(s, 1, mailbox);
	if (!rc)
		rc = sqlite3_step(s);

	/* an aggregate always gives one row */
	if (rc == SQLITE_ROW) {
		fresh = sqlite3_column_int64(s, 0);
		total = sqlite3_column_int64(s, 1);
	}
	else {
		err = store_fail(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
				 "vm count");
	}

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);

	if (err)
		return err;

	if (newp)
		*newp = (uint32_t)fresh;
	if (oldp)
		*oldp = (uint32_t)(total - fresh);

	return 0;
}


int store_vm_delete(struct store *st, int64_t id)
{
	int rc, err;

	if (!st)
		return EINVAL;

	rc = sqlite3_bind_int64(st->stmtv[STMT_VM_DEL], 1, id);
	if (rc)
		return store_fail(st, rc, "vm delete");

	err = store_stmt_exec(st, STMT_VM_DEL, "vm delete");
	if (err)
		return err;

	/* still valid after the reset: the count of the last DELETE */
	return sqlite3_changes(st->db) ? 0 : ENOENT;
}


int store_vm_set(struct store *st, int64_t id, const char *folder,
		 bool heard)
{
	sqlite3_stmt *s;
	int rc, err;

	if (!st || !folder)
		return EINVAL;

	s = st->stmtv[STMT_VM_SET];
	rc = sqlite3_bind_int64(s, 1, id);
	if (!rc) rc = store_bind_str(s, 2, folder);
	if (!rc) rc = sqlite3_bind_int(s, 3, heard);
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "vm set");
	}

	err = store_stmt_exec(st, STMT_VM_SET, "vm set");
	if (err)
		return err;

	return sqlite3_changes(st->db) ? 0 : ENOENT;
}


int store_vm_pin_get(struct store *st, const char *mailbox, char **saltp,
		     char **hashp)
{
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!st || !mailbox || !saltp || !hashp)
		return EINVAL;

	s = st->stmtv[STMT_VM_PIN_GET];
	rc = store_bind_str(s, 1, mailbox);
	if (!rc)
		rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		err  = str_dup(saltp, store_column_str(s, 0));
		err |= str_dup(hashp, store_column_str(s, 1));
		if (err) {
			*saltp = mem_deref(*saltp);
			*hashp = mem_deref(*hashp);
			err = ENOMEM;
		}
	}
	else if (rc == SQLITE_DONE) {
		err = ENOENT;
	}
	else {
		err = store_fail(st, rc, "vm pin get");
	}

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}


int store_vm_pin_set(struct store *st, const char *mailbox,
		     const char *salt, const char *hash)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (!st || !mailbox || !salt || !hash)
		return EINVAL;

	s = st->stmtv[STMT_VM_PIN_SET];
	if (!rc) rc = store_bind_str(s, 1, mailbox);
	if (!rc) rc = store_bind_str(s, 2, salt);
	if (!rc) rc = store_bind_str(s, 3, hash);
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "vm pin set");
	}

	return store_stmt_exec(st, STMT_VM_PIN_SET, "vm pin set");
}
