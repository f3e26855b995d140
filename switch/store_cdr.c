/**
 * @file store_cdr.c  Call detail records in the store
 *
 * The table is migration 3 in store.c; the statements are prepared at
 * open with the others. A row is written once, when the call has ended,
 * and never updated: durations are computed here so that every reader
 * (ctl cdr, an operator's sqlite3 shell, a billing export) agrees.
 */
#include <sqlite3.h>
#include "core.h"
#include "cause.h"
#include "events.h"
#include "store.h"
#include "store_int.h"


#define CDR_COLUMNS \
	"id, call_id, caller, caller_name, destination, context, callee," \
	" start_ms, answer_ms, end_ms, duration_ms, billsec_ms, cause," \
	" cause_name, sip_code, hangup_side, legs, trace"


const char *store_cdr_sql(enum stmt_id id)
{
	switch (id) {

	case STMT_CDR_PUT:
		return "INSERT INTO cdr (call_id, caller, caller_name,"
			" destination, context, callee, start_ms, answer_ms,"
			" end_ms, duration_ms, billsec_ms, cause, cause_name,"
			" sip_code, hangup_side, legs, trace) VALUES (?1, ?2,"
			" ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			" ?15, ?16, ?17)";

	/* the start_ms index holds the rowid too: one backward scan */
	case STMT_CDR_LIST:
		return "SELECT " CDR_COLUMNS " FROM cdr"
			" ORDER BY start_ms DESC, id DESC LIMIT ?1";

	case STMT_CDR_GET:
		return "SELECT " CDR_COLUMNS " FROM cdr"
			" WHERE call_id = ?1 ORDER BY id";

	default:
		return NULL;
	}
}


/* 0 means "none" for the answer time and the SIP code */
static int bind_opt(sqlite3_stmt *s, int col, uint64_t v)
{
	if (!v)
		return sqlite3_bind_null(s, col);

	return sqlite3_bind_int64(s, col, (sqlite3_int64)v);
}


int store_cdr_put(struct store *st, const struct call_event *ce)
{
	const struct cause *c;
	uint64_t duration = 0, billsec = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (!st || !ce || !ce->id)
		return EINVAL;

	/* a clock stepped back during the call gives 0, not 584 million
	 * years */
	if (ce->end > ce->start)
		duration = ce->end - ce->start;
	if (ce->answer && ce->end > ce->answer)
		billsec = ce->end - ce->answer;

	c = cause_by_number(ce->cause);
	s = st->stmtv[STMT_CDR_PUT];

	if (!rc) rc = store_bind_str(s, 1, ce->id);
	if (!rc) rc = store_bind_str(s, 2, ce->caller);
	if (!rc) rc = store_bind_str(s, 3, ce->caller_name);
	if (!rc) rc = store_bind_str(s, 4, ce->destination);
	if (!rc) rc = store_bind_str(s, 5, ce->context);
	if (!rc) rc = store_bind_str(s, 6, ce->callee);
	if (!rc) rc = sqlite3_bind_int64(s, 7, (sqlite3_int64)ce->start);
	if (!rc) rc = bind_opt(s, 8, ce->answer);
	if (!rc) rc = sqlite3_bind_int64(s, 9, (sqlite3_int64)ce->end);
	if (!rc) rc = sqlite3_bind_int64(s, 10, (sqlite3_int64)duration);
	if (!rc) rc = sqlite3_bind_int64(s, 11, (sqlite3_int64)billsec);
	if (!rc) rc = sqlite3_bind_int(s, 12, ce->cause);
	if (!rc) rc = store_bind_str(s, 13, c ? c->name : NULL);
	if (!rc) rc = bind_opt(s, 14, ce->sip_code);
	if (!rc) rc = store_bind_str(s, 15, ce->hangup_side);
	if (!rc) rc = store_bind_str(s, 16, ce->legs);
	if (!rc) rc = store_bind_str(s, 17, ce->trace);
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "cdr put");
	}

	return store_stmt_exec(st, STMT_CDR_PUT, "cdr put");
}


/* Step s and hand each row to h; resets s whatever happens. */
static int walk(struct store *st, sqlite3_stmt *s, store_cdr_h *h,
		void *arg, unsigned *np, const char *what)
{
	unsigned n = 0;
	int rc, err = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {

		const struct cdr_row row = {
			.id          = sqlite3_column_int64(s, 0),
			.call_id     = store_column_str(s, 1),
			.caller      = store_column_str(s, 2),
			.caller_name = store_column_str(s, 3),
			.destination = store_column_str(s, 4),
			.context     = store_column_str(s, 5),
			.callee      = store_column_str(s, 6),
			.start_ms    = (uint64_t)sqlite3_column_int64(s, 7),
			.answer_ms   = (uint64_t)sqlite3_column_int64(s, 8),
			.end_ms      = (uint64_t)sqlite3_column_int64(s, 9),
			.duration_ms = (uint64_t)sqlite3_column_int64(s, 10),
			.billsec_ms  = (uint64_t)sqlite3_column_int64(s, 11),
			.cause       = sqlite3_column_int(s, 12),
			.cause_name  = store_column_str(s, 13),
			.sip_code    = (uint16_t)sqlite3_column_int(s, 14),
			.hangup_side = store_column_str(s, 15),
			.legs        = store_column_str(s, 16),
			.trace       = store_column_str(s, 17),
		};

		/* NOT NULL column; NULL here means out of memory */
		if (!row.call_id) {
			err = ENOMEM;
			break;
		}

		++n;
		err = h(&row, arg);
		if (err)
			break;
	}

	if (!err && rc != SQLITE_DONE)
		err = store_fail(st, rc, what);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);

	if (np)
		*np = n;

	return err;
}


int store_cdr_list(struct store *st, uint32_t limit, store_cdr_h *h,
		   void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !h)
		return EINVAL;

	s = st->stmtv[STMT_CDR_LIST];

	/* a negative LIMIT is no limit in SQLite */
	rc = sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	if (rc)
		return store_fail(st, rc, "cdr list");

	return walk(st, s, h, arg, NULL, "cdr list");
}


int store_cdr_get(struct store *st, const char *call_id, store_cdr_h *h,
		  void *arg)
{
	sqlite3_stmt *s;
	unsigned n;
	int rc, err;

	if (!st || !call_id || !h)
		return EINVAL;

	s = st->stmtv[STMT_CDR_GET];

	rc = store_bind_str(s, 1, call_id);
	if (rc)
		return store_fail(st, rc, "cdr get");

	err = walk(st, s, h, arg, &n, "cdr get");
	if (!err && !n)
		err = ENOENT;

	return err;
}
