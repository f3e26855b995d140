/**
 * @file store.c  The embedded store (SQLite, WAL mode)
 *
 * Durability: WAL with synchronous=NORMAL makes every committed
 * transaction survive a crash of the process (kill -9), because the WAL
 * frames are in the OS page cache once COMMIT returns. Surviving a power
 * loss as well would need synchronous=FULL (an fsync of the WAL on every
 * commit), which costs a disk flush per REGISTER.
 *
 * Every statement is prepared once at open and reused: the registrar
 * writes a binding per REGISTER, so the hot path only binds and steps.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <sqlite3.h>
#include "core.h"
#include "location.h"
#include "store.h"
#include "store_ckpt.h"
#include "store_int.h"

/* How long a write waits for a lock held by another process (a backup, the
 * sqlite3 shell). Kept short: the caller is the signalling loop. */
#define STORE_BUSY_TIMEOUT_MS 500


static const char *const stmt_sql[STMT_COUNT] = {
	/* IMMEDIATE takes the write lock now, so a busy database fails the
	 * BEGIN rather than a statement half-way through the group. */
	[STMT_BEGIN]    = "BEGIN IMMEDIATE",
	[STMT_COMMIT]   = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	/* one savepoint per caller's group of writes inside the group
	 * transaction: a failed REGISTER leaves the others standing */
	[STMT_SAVEPOINT]   = "SAVEPOINT w",
	[STMT_RELEASE]     = "RELEASE w",
	[STMT_ROLLBACK_TO] = "ROLLBACK TO w",

	[STMT_BINDING_PUT] =
		"INSERT INTO bindings (aor, uri, callid, cseq, expires, q,"
		" src, laddr, transport, user_agent, instance, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
		" ON CONFLICT (aor, uri) DO UPDATE SET"
		" callid = excluded.callid, cseq = excluded.cseq,"
		" expires = excluded.expires, q = excluded.q,"
		" src = excluded.src, laddr = excluded.laddr,"
		" transport = excluded.transport,"
		" user_agent = excluded.user_agent,"
		" instance = excluded.instance, updated = excluded.updated",
	[STMT_BINDING_DEL] =
		"DELETE FROM bindings WHERE aor = ?1 AND uri = ?2",
	[STMT_BINDING_DEL_AOR] =
		"DELETE FROM bindings WHERE aor = ?1",
	[STMT_BINDING_LOAD] =
		"SELECT aor, uri, callid, cseq, expires, q, src, laddr,"
		" transport, user_agent, instance, updated"
		" FROM bindings ORDER BY aor, uri",
	[STMT_BINDING_PURGE] =
		"DELETE FROM bindings WHERE expires <= ?1",

	[STMT_CRED_SET] =
		"INSERT INTO credentials (user, realm, ha1_md5, ha1_sha256,"
		" created) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (user) DO UPDATE SET realm = excluded.realm,"
		" ha1_md5 = excluded.ha1_md5,"
		" ha1_sha256 = excluded.ha1_sha256,"
		" created = excluded.created",
	[STMT_CRED_GET] =
		"SELECT realm, ha1_md5, ha1_sha256 FROM credentials"
		" WHERE user = ?1",
};

/*
 * Schema migrations: entry i takes user_version i to i + 1. Append only;
 * never edit an entry that has shipped (voicemail and CDR tables come as
 * new entries).
 */
static const char *const migrations[] = {
	/* 1: registrar bindings and generated credentials */
	"CREATE TABLE bindings ("
	" aor        TEXT NOT NULL,"
	" uri        TEXT NOT NULL,"
	" callid     TEXT NOT NULL,"
	" cseq       INTEGER NOT NULL,"
	" expires    INTEGER NOT NULL,"   /* absolute unix time */
	" q          INTEGER NOT NULL DEFAULT 1000,"
	" src        TEXT,"               /* "ip:port" / "[ip]:port" */
	" laddr      TEXT,"
	" transport  TEXT,"               /* "UDP", "TCP", "TLS", ... */
	" user_agent TEXT,"
	" instance   TEXT,"
	" updated    INTEGER NOT NULL,"
	" PRIMARY KEY (aor, uri));"
	"CREATE INDEX bindings_expires ON bindings (expires);"
	"CREATE TABLE credentials ("
	" user       TEXT PRIMARY KEY,"
	" realm      TEXT NOT NULL,"
	" ha1_md5    TEXT,"
	" ha1_sha256 TEXT,"
	" created    INTEGER NOT NULL);",

	/* 2: one b-tree per binding write instead of three (table, primary
	 * key, expires index): a REGISTER appends a third of the pages to
	 * the WAL. Purging by expiry scans, which is rare and small. */
	"CREATE TABLE bindings2 ("
	" aor        TEXT NOT NULL,"
	" uri        TEXT NOT NULL,"
	" callid     TEXT NOT NULL,"
	" cseq       INTEGER NOT NULL,"
	" expires    INTEGER NOT NULL,"
	" q          INTEGER NOT NULL DEFAULT 1000,"
	" src        TEXT,"
	" laddr      TEXT,"
	" transport  TEXT,"
	" user_agent TEXT,"
	" instance   TEXT,"
	" updated    INTEGER NOT NULL,"
	" PRIMARY KEY (aor, uri)) WITHOUT ROWID;"
	"INSERT INTO bindings2 SELECT aor, uri, callid, cseq, expires, q, src,"
	" laddr, transport, user_agent, instance, updated FROM bindings;"
	"DROP TABLE bindings;"
	"ALTER TABLE bindings2 RENAME TO bindings;",

	/* 3: call detail records, one row per call (store_cdr.c). Times
	 * in unix ms; answer_ms and sip_code are NULL when there were
	 * none. */
	"CREATE TABLE cdr ("
	" id          INTEGER PRIMARY KEY,"
	" call_id     TEXT NOT NULL,"
	" caller      TEXT,"
	" caller_name TEXT,"
	" destination TEXT,"
	" context     TEXT,"
	" callee      TEXT,"
	" start_ms    INTEGER NOT NULL,"
	" answer_ms   INTEGER,"
	" end_ms      INTEGER NOT NULL,"
	" duration_ms INTEGER NOT NULL,"   /* end - start */
	" billsec_ms  INTEGER NOT NULL,"   /* end - answer, 0 unanswered */
	" cause       INTEGER NOT NULL,"   /* Q.850 */
	" cause_name  TEXT,"
	" sip_code    INTEGER,"
	" hangup_side TEXT,"               /* caller, callee, system */
	" legs        TEXT,"
	" trace       TEXT);"
	"CREATE INDEX cdr_start ON cdr (start_ms);"
	"CREATE INDEX cdr_call_id ON cdr (call_id);",

	/* 4: the voicemail message index (store_vm.c); the audio stays in
	 * files, the path relative to the data dir. The index serves both
	 * the list of a mailbox (oldest first) and its counts. */
	"CREATE TABLE voicemail ("
	" id          INTEGER PRIMARY KEY,"
	" mailbox     TEXT NOT NULL,"
	" file        TEXT NOT NULL,"      /* voicemail/1002/msg-....wav */
	" caller      TEXT,"
	" caller_name TEXT,"
	" time_ms     INTEGER NOT NULL,"   /* unix ms, message began */
	" duration_ms INTEGER NOT NULL,"
	" folder      TEXT NOT NULL DEFAULT 'new',"   /* new, saved */
	" heard       INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX voicemail_mailbox ON voicemail (mailbox, time_ms);",

	/* 5: mailbox PINs changed by phone; they take the place of the
	 * directory's vm-pin. A salted SHA-256, never the digits. */
	"CREATE TABLE vm_pins ("
	" mailbox TEXT PRIMARY KEY,"
	" salt    TEXT NOT NULL,"
	" hash    TEXT NOT NULL) WITHOUT ROWID;",
};



static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {

	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:       return 0;
	case SQLITE_FULL:       return ENOSPC;
	case SQLITE_NOMEM:      return ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:     return EBUSY;
	case SQLITE_READONLY:   return EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:   return EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:     return EBADMSG;
	case SQLITE_CONSTRAINT: return EEXIST;
	case SQLITE_TOOBIG:     return E2BIG;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:      return EINVAL;
	default:                return EIO;
	}
}


/* Log a failure once, where it happens, with SQLite's own words. */
int store_fail(const struct store *st, int rc, const char *what)
{
	log_error("store: %s: %s (%d)", what, sqlite3_errmsg(st->db), rc);

	return sqlite_errno(rc);
}


/* Step a write statement to completion and make it ready for reuse. */
int store_stmt_exec(struct store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = st->stmtv[id];
	int rc, err = 0;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = store_fail(st, rc, what);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);

	return err;
}


static int bind_str(sqlite3_stmt *s, int col, const char *str)
{
	if (!str)
		return sqlite3_bind_null(s, col);

	return sqlite3_bind_text(s, col, str, -1, SQLITE_STATIC);
}


/* buf must stay valid until the statement has been stepped. */
static int bind_sa(sqlite3_stmt *s, int col, const struct sa *sa,
		   char *buf, size_t sz)
{
	if (!sa_isset(sa, SA_ADDR))
		return sqlite3_bind_null(s, col);

	if (re_snprintf(buf, sz, "%J", sa) < 0)
		return SQLITE_RANGE;

	return sqlite3_bind_text(s, col, buf, -1, SQLITE_STATIC);
}


static void column_sa(sqlite3_stmt *s, int col, struct sa *sa)
{
	const char *txt = (const char *)sqlite3_column_text(s, col);

	if (!txt || sa_decode(sa, txt, strlen(txt)))
		sa_init(sa, AF_UNSPEC);
}


static enum sip_transp transp_decode(const char *name)
{
	int tp;

	if (!name)
		return SIP_TRANSP_NONE;

	for (tp = SIP_TRANSP_UDP; tp < SIP_TRANSPC; tp++) {
		if (!str_casecmp(name, sip_transp_name(tp)))
			return tp;
	}

	return SIP_TRANSP_NONE;
}


static int mkdir_p(const char *dir, mode_t mode)
{
	char *path;
	char *p, c;
	int err;

	err = str_dup(&path, dir);
	if (err)
		return err;

	/* Create each ancestor in turn; existing ones are fine. */
	for (p = path + 1; ; p++) {

		if (*p != '/' && *p != '\0')
			continue;

		c = *p;
		*p = '\0';
		if (mkdir(path, mode) && errno != EEXIST) {
			err = errno;
			log_error("store: mkdir %s: %m", path, err);
			goto out;
		}
		*p = c;

		if (c == '\0')
			break;
	}

 out:
	mem_deref(path);
	return err;
}


static int exec_sql(struct store *st, const char *sql, const char *what)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_fail(st, rc, what);

	return 0;
}


static int user_version(struct store *st, int *verp)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*verp = sqlite3_column_int(s, 0);
	else
		err = store_fail(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
				 "user_version");

	sqlite3_finalize(s);

	return err;
}


/* Apply one migration and bump user_version in the same transaction, so a
 * crash leaves the schema either before or after it, never between. */
static int migrate_one(struct store *st, int ver)
{
	char sql[64];
	int cur = 0;
	int err;

	err = exec_sql(st, "BEGIN IMMEDIATE", "migration begin");
	if (err)
		return err;

	/* Another process may have migrated while we waited for the lock. */
	err = user_version(st, &cur);
	if (err || cur > ver)
		goto out;

	err = exec_sql(st, migrations[ver], "migration");
	if (err)
		goto out;

	(void)re_snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			  ver + 1);
	err = exec_sql(st, sql, "migration version");
	if (err)
		goto out;

	err = exec_sql(st, "COMMIT", "migration commit");
	if (err)
		goto out;

	log_info("store: schema migrated to version %d", ver + 1);

 out:
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);

	return err;
}


static int migrate(struct store *st)
{
	const int latest = (int)ARRAY_SIZE(migrations);
	int ver = 0;
	int err;

	err = user_version(st, &ver);
	if (err)
		return err;

	if (ver > latest) {
		log_error("store: %s has schema version %d, newer than this "
			  "build knows (%d)", st->path, ver, latest);
		return ENOTSUP;
	}

	for (; ver < latest; ver++) {
		err = migrate_one(st, ver);
		if (err)
			return err;
	}

	return 0;
}


static int configure(struct store *st)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int rc, err = 0;

	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		/* WAL needs shared memory; some network filesystems refuse
		 * it and SQLite silently stays in rollback mode. Still
		 * safe, only slower. */
		mode = (const char *)sqlite3_column_text(s, 0);
		if (!mode || str_casecmp(mode, "wal"))
			log_warn("store: %s: journal_mode is %s, not wal",
				 st->path, mode ? mode : "?");
	}
	else {
		err = store_fail(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
				 "journal_mode");
	}

	sqlite3_finalize(s);
	if (err)
		return err;

	err = exec_sql(st, "PRAGMA synchronous = NORMAL", "synchronous");
	if (err)
		return err;

	/* Checkpoints run in store_ckpt.c's thread, not inside COMMIT */
	err = exec_sql(st, "PRAGMA wal_autocheckpoint = 0", "autocheckpoint");
	if (err)
		return err;

	return exec_sql(st, "PRAGMA foreign_keys = ON", "foreign_keys");
}


static void destructor(void *arg)
{
	struct store *st = arg;
	size_t i;

	tmr_cancel(&st->tmr);
	if (st->group_open && st->db)
		(void)store_stmt_exec(st, STMT_COMMIT, "commit");
	list_flush(&st->waiters);   /* owners are gone: no callbacks */

	/* stop the checkpointer first: then this is the last connection,
	 * and closing it checkpoints the WAL into the db */
	st->ckpt = mem_deref(st->ckpt);

	for (i = 0; i < ARRAY_SIZE(st->stmtv); i++)
		sqlite3_finalize(st->stmtv[i]);

	/* Closing the last connection checkpoints the WAL into the db. */
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("store: close: %s", sqlite3_errmsg(st->db));

	mem_deref(st->path);
}


int store_open(struct store **stp, const char *datadir)
{
	struct store *st;
	struct stat sb;
	bool created;
	size_t i;
	int rc, err;

	if (!stp || !datadir || !*datadir)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;

	tmr_init(&st->tmr);
	st->window_ms = GROUP_WINDOW_MS;
	st->idle_ms = GROUP_IDLE_MS;

	err = mkdir_p(datadir, 0750);
	if (err)
		goto out;

	err = re_sdprintf(&st->path, "%s/switchboard.db", datadir);
	if (err)
		goto out;

	created = stat(st->path, &sb) != 0;

	rc = sqlite3_open_v2(st->path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!st->db) {
			err = ENOMEM;
			goto out;
		}
		err = store_fail(st, rc, st->path);
		goto out;
	}

	/* The db holds password hashes. The -wal and -shm files take the
	 * mode of the db file, so set it before WAL creates them. */
	if (created && chmod(st->path, 0640))
		log_warn("store: chmod %s: %m", st->path, errno);

	err = configure(st);
	if (err)
		goto out;

	err = migrate(st);
	if (err)
		goto out;

	err = store_ckpt_start(&st->ckpt, st->path);
	if (err)
		goto out;

	for (i = 0; i < ARRAY_SIZE(st->stmtv); i++) {
		const char *sql = stmt_sql[i];

		if (!sql)
			sql = store_cdr_sql((enum stmt_id)i);
		if (!sql)
			sql = store_vm_sql((enum stmt_id)i);

		rc = sqlite3_prepare_v3(st->db, sql, -1,
					SQLITE_PREPARE_PERSISTENT,
					&st->stmtv[i], NULL);
		if (rc != SQLITE_OK) {
			err = store_fail(st, rc, sql ? sql : "no SQL");
			goto out;
		}
	}

 out:
	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


const char *store_path(const struct store *st)
{
	return st ? st->path : NULL;
}


int store_set_sync_full(struct store *st, bool full)
{
	if (!st)
		return EINVAL;

	/* FULL: an fsync of the WAL at every commit, so an acknowledged
	 * write survives a power cut as well as a crash */
	return exec_sql(st, full ? "PRAGMA synchronous = FULL"
			: "PRAGMA synchronous = NORMAL", "synchronous");
}


int store_binding_put(struct store *st, const struct binding *b)
{
	char src[64], laddr[64];  /* "[v6]:port", bound without a copy */
	sqlite3_stmt *s;
	const char *tp;
	int rc = SQLITE_OK;

	if (!st || !b || !b->aor || !b->uri || !b->callid)
		return EINVAL;

	s = st->stmtv[STMT_BINDING_PUT];
	tp = (b->tp >= SIP_TRANSP_UDP && b->tp < SIP_TRANSPC)
		? sip_transp_name(b->tp) : NULL;

	/* sqlite3_bind_* only fail on misuse (bad index, out of memory);
	 * stop at the first one and report it as the statement's error. */
	if (!rc) rc = bind_str(s, 1, b->aor);
	if (!rc) rc = bind_str(s, 2, b->uri);
	if (!rc) rc = bind_str(s, 3, b->callid);
	if (!rc) rc = sqlite3_bind_int64(s, 4, b->cseq);
	if (!rc) rc = sqlite3_bind_int64(s, 5, (sqlite3_int64)b->expires);
	if (!rc) rc = sqlite3_bind_int64(s, 6, b->q);
	if (!rc) rc = bind_sa(s, 7, &b->src, src, sizeof(src));
	if (!rc) rc = bind_sa(s, 8, &b->laddr, laddr, sizeof(laddr));
	if (!rc) rc = bind_str(s, 9, tp);
	if (!rc) rc = bind_str(s, 10, b->user_agent);
	if (!rc) rc = bind_str(s, 11, b->instance);
	if (!rc) rc = sqlite3_bind_int64(s, 12, (sqlite3_int64)b->updated);
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "binding put");
	}

	return store_stmt_exec(st, STMT_BINDING_PUT, "binding put");
}


int store_binding_del(struct store *st, const char *aor, const char *uri)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !aor || !uri)
		return EINVAL;

	s = st->stmtv[STMT_BINDING_DEL];
	rc = bind_str(s, 1, aor);
	if (!rc)
		rc = bind_str(s, 2, uri);
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "binding del");
	}

	return store_stmt_exec(st, STMT_BINDING_DEL, "binding del");
}


int store_binding_del_aor(struct store *st, const char *aor)
{
	int rc;

	if (!st || !aor)
		return EINVAL;

	rc = bind_str(st->stmtv[STMT_BINDING_DEL_AOR], 1, aor);
	if (rc)
		return store_fail(st, rc, "binding del aor");

	return store_stmt_exec(st, STMT_BINDING_DEL_AOR, "binding del aor");
}


int store_binding_purge(struct store *st, uint64_t now)
{
	int rc;

	if (!st)
		return EINVAL;

	rc = sqlite3_bind_int64(st->stmtv[STMT_BINDING_PURGE], 1,
				(sqlite3_int64)now);
	if (rc)
		return store_fail(st, rc, "binding purge");

	return store_stmt_exec(st, STMT_BINDING_PURGE, "binding purge");
}


int store_binding_load(struct store *st, store_binding_h *h, void *arg)
{
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!st || !h)
		return EINVAL;

	s = st->stmtv[STMT_BINDING_LOAD];

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {

		/* The strings point into SQLite's row buffer, valid until the
		 * next step: the handler copies what it keeps. The casts only
		 * drop const to fit struct binding; nobody writes through
		 * them. */
		struct binding b = {
			.aor    = (char *)sqlite3_column_text(s, 0),
			.uri    = (char *)sqlite3_column_text(s, 1),
			.callid = (char *)sqlite3_column_text(s, 2),
			.cseq   = (uint32_t)sqlite3_column_int64(s, 3),
			.expires = (uint64_t)sqlite3_column_int64(s, 4),
			.q      = (uint32_t)sqlite3_column_int64(s, 5),
			.tp     = transp_decode(
				(const char *)sqlite3_column_text(s, 8)),
			.user_agent = (char *)sqlite3_column_text(s, 9),
			.instance   = (char *)sqlite3_column_text(s, 10),
			.updated = (uint64_t)sqlite3_column_int64(s, 11),
		};

		column_sa(s, 6, &b.src);
		column_sa(s, 7, &b.laddr);

		/* NOT NULL columns; NULL here means out of memory. */
		if (!b.aor || !b.uri || !b.callid) {
			err = ENOMEM;
			break;
		}

		h(&b, arg);
	}

	if (!err && rc != SQLITE_DONE)
		err = store_fail(st, rc, "binding load");

	sqlite3_reset(s);

	return err;
}


int store_credential_set(struct store *st, const char *user,
			 const char *realm, const char *ha1_md5,
			 const char *ha1_sha256)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (!st || !user || !realm)
		return EINVAL;

	s = st->stmtv[STMT_CRED_SET];

	if (!rc) rc = bind_str(s, 1, user);
	if (!rc) rc = bind_str(s, 2, realm);
	if (!rc) rc = bind_str(s, 3, ha1_md5);
	if (!rc) rc = bind_str(s, 4, ha1_sha256);
	if (!rc) rc = sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	if (rc) {
		sqlite3_clear_bindings(s);
		return store_fail(st, rc, "credential set");
	}

	return store_stmt_exec(st, STMT_CRED_SET, "credential set");
}


static int column_dup(char **dstp, sqlite3_stmt *s, int col)
{
	const char *txt;

	if (!dstp)
		return 0;

	txt = (const char *)sqlite3_column_text(s, col);
	if (!txt) {
		*dstp = NULL;
		return sqlite3_column_type(s, col) == SQLITE_NULL ? 0 : ENOMEM;
	}

	return str_dup(dstp, txt);
}


int store_credential_get(struct store *st, const char *user,
			 char **realmp, char **ha1_md5p, char **ha1_sha256p)
{
	char *realm = NULL, *md5 = NULL, *sha256 = NULL;
	sqlite3_stmt *s;
	int rc, err;

	if (!st || !user)
		return EINVAL;

	s = st->stmtv[STMT_CRED_GET];

	rc = bind_str(s, 1, user);
	if (rc) {
		err = store_fail(st, rc, "credential get");
		goto out;
	}

	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = store_fail(st, rc, "credential get");
		goto out;
	}

	err = column_dup(realmp ? &realm : NULL, s, 0);
	if (!err)
		err = column_dup(ha1_md5p ? &md5 : NULL, s, 1);
	if (!err)
		err = column_dup(ha1_sha256p ? &sha256 : NULL, s, 2);
	if (err)
		goto out;

	if (realmp)
		*realmp = realm;
	if (ha1_md5p)
		*ha1_md5p = md5;
	if (ha1_sha256p)
		*ha1_sha256p = sha256;

 out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);

	if (err) {
		mem_deref(realm);
		mem_deref(md5);
		mem_deref(sha256);
	}

	return err;
}
