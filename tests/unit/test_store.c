/**
 * @file test_store.c  Unit tests for the embedded store (switch/store.c)
 */
#include "core.h"
#include "location.h"
#include "store.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <cmocka.h>
#include "unit_util.h"


struct fixture {
	char dir[64];          /* temp dir, removed at teardown */
	char datadir[128];     /* below dir, so open must mkdir -p */
};


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	strcpy(f->dir, "/tmp/sb-test-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->datadir, sizeof(f->datadir), "%s/var/data", f->dir);

	*state = f;

	return 0;
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f);

	return 0;
}


/* Run one query through a separate connection, as an operator would. */
static void test_open_creates_schema(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct stat sb;
	char path[256];
	mode_t um;

	assert_int_equal(store_open(&st, f->datadir), 0);
	assert_non_null(st);

	snprintf(path, sizeof(path), "%s/switchboard.db", f->datadir);
	assert_string_equal(store_path(st), path);
	assert_int_equal(stat(path, &sb), 0);

	/* the db holds password hashes */
	assert_int_equal(sb.st_mode & 007, 0);

	um = umask(0);
	umask(um);
	assert_int_equal(stat(f->datadir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0750 & ~um);

	assert_int_equal(sql_int(path, "PRAGMA user_version"), 5);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master "
				 "WHERE type = 'table' AND name IN "
				 "('bindings', 'credentials')"), 2);
	mem_deref(st);

	/* WAL is a property of the file, so it shows in a new connection */
	assert_int_equal(sql_int(path, "SELECT journal_mode = 'wal' FROM "
				 "pragma_journal_mode"), 1);
}


static void test_open_bad_args(void **state)
{
	struct store *st = NULL;
	(void)state;

	assert_int_equal(store_open(&st, NULL), EINVAL);
	assert_int_equal(store_open(&st, ""), EINVAL);
	assert_int_equal(store_open(NULL, "/tmp"), EINVAL);

	/* a datadir below a regular file cannot be created */
	assert_int_not_equal(store_open(&st, "/dev/null/x"), 0);
	assert_null(st);
}


static void test_credentials(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char *realm = NULL, *md5 = NULL, *sha = NULL;

	assert_int_equal(store_open(&st, f->datadir), 0);

	assert_int_equal(store_credential_get(st, "1001", &realm, &md5, &sha),
			 ENOENT);
	assert_null(realm);

	assert_int_equal(store_credential_set(st, "1001", "pbx.example.com",
					      "aa11", NULL), 0);
	assert_int_equal(store_credential_get(st, "1001", &realm, &md5, &sha),
			 0);
	assert_string_equal(realm, "pbx.example.com");
	assert_string_equal(md5, "aa11");
	assert_null(sha);
	realm = mem_deref(realm);
	md5 = mem_deref(md5);

	/* overwrite (UPSERT): one row, new values */
	assert_int_equal(store_credential_set(st, "1001", "other.example",
					      "bb22", "cc33"), 0);
	assert_int_equal(store_credential_get(st, "1001", &realm, &md5, &sha),
			 0);
	assert_string_equal(realm, "other.example");
	assert_string_equal(md5, "bb22");
	assert_string_equal(sha, "cc33");
	realm = mem_deref(realm);
	md5 = mem_deref(md5);
	sha = mem_deref(sha);

	/* out-parameters are optional */
	assert_int_equal(store_credential_get(st, "1001", NULL, &md5, NULL),
			 0);
	assert_string_equal(md5, "bb22");
	md5 = mem_deref(md5);

	assert_int_equal(sql_int(store_path(st),
				 "SELECT count(*) FROM credentials"), 1);

	assert_int_equal(store_credential_set(st, NULL, "r", "x", NULL),
			 EINVAL);

	mem_deref(st);
}


/* Copies of what store_binding_load reports */
struct loaded {
	size_t n;
	struct {
		char aor[32], uri[128], callid[64], ua[64], inst[64];
		bool has_ua, has_inst;
		uint32_t cseq, q;
		uint64_t expires, updated;
		struct sa src, laddr;
		enum sip_transp tp;
	} v[8];
};


static void load_h(const struct binding *b, void *arg)
{
	struct loaded *l = arg;

	assert_true(l->n < ARRAY_SIZE(l->v));
	str_ncpy(l->v[l->n].aor, b->aor, sizeof(l->v[0].aor));
	str_ncpy(l->v[l->n].uri, b->uri, sizeof(l->v[0].uri));
	str_ncpy(l->v[l->n].callid, b->callid, sizeof(l->v[0].callid));
	l->v[l->n].has_ua = b->user_agent != NULL;
	if (b->user_agent)
		str_ncpy(l->v[l->n].ua, b->user_agent, sizeof(l->v[0].ua));
	l->v[l->n].has_inst = b->instance != NULL;
	if (b->instance)
		str_ncpy(l->v[l->n].inst, b->instance, sizeof(l->v[0].inst));
	l->v[l->n].cseq = b->cseq;
	l->v[l->n].q = b->q;
	l->v[l->n].expires = b->expires;
	l->v[l->n].updated = b->updated;
	l->v[l->n].src = b->src;
	l->v[l->n].laddr = b->laddr;
	l->v[l->n].tp = b->tp;
	l->n++;
}


static void binding_init(struct binding *b, char *aor, char *uri,
			 uint64_t expires)
{
	memset(b, 0, sizeof(*b));
	b->aor = aor;
	b->uri = uri;
	b->callid = "cid-1@phone";
	b->cseq = 7;
	b->expires = expires;
	b->q = 1000;
	sa_set_str(&b->src, "192.0.2.10", 5062);
	sa_set_str(&b->laddr, "127.0.0.1", 5060);
	b->tp = SIP_TRANSP_UDP;
	b->updated = expires - 3600;
}


static void test_bindings(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct binding b;
	struct loaded l;
	struct sa sa;

	assert_int_equal(store_open(&st, f->datadir), 0);

	binding_init(&b, "1001", "sip:1001@192.0.2.10:5062", 5000);
	b.user_agent = "Phone/1.0";
	assert_int_equal(store_binding_put(st, &b), 0);

	binding_init(&b, "1001", "sip:1001@[2001:db8::1]:5061;transport=tls",
		     6000);
	sa_set_str(&b.src, "2001:db8::1", 40000);
	sa_set_str(&b.laddr, "::1", 5061);
	b.tp = SIP_TRANSP_TLS;
	b.q = 500;
	b.instance = "\"<urn:uuid:0001>\"";
	assert_int_equal(store_binding_put(st, &b), 0);

	binding_init(&b, "1002", "sip:1002@192.0.2.11", 4000);
	sa_init(&b.laddr, AF_UNSPEC);  /* unknown: stored as NULL */
	b.tp = SIP_TRANSP_TCP;
	assert_int_equal(store_binding_put(st, &b), 0);

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 3);

	/* ordered by aor, uri */
	assert_string_equal(l.v[0].aor, "1001");
	assert_string_equal(l.v[0].uri, "sip:1001@192.0.2.10:5062");
	assert_string_equal(l.v[0].callid, "cid-1@phone");
	assert_true(l.v[0].has_ua);
	assert_string_equal(l.v[0].ua, "Phone/1.0");
	assert_false(l.v[0].has_inst);
	assert_int_equal(l.v[0].cseq, 7);
	assert_int_equal(l.v[0].expires, 5000);
	assert_int_equal(l.v[0].updated, 5000 - 3600);
	sa_set_str(&sa, "192.0.2.10", 5062);
	assert_true(sa_cmp(&l.v[0].src, &sa, SA_ALL));
	assert_int_equal(l.v[0].tp, SIP_TRANSP_UDP);

	assert_string_equal(l.v[1].uri,
			    "sip:1001@[2001:db8::1]:5061;transport=tls");
	sa_set_str(&sa, "2001:db8::1", 40000);
	assert_true(sa_cmp(&l.v[1].src, &sa, SA_ALL));
	sa_set_str(&sa, "::1", 5061);
	assert_true(sa_cmp(&l.v[1].laddr, &sa, SA_ALL));
	assert_int_equal(l.v[1].tp, SIP_TRANSP_TLS);
	assert_int_equal(l.v[1].q, 500);
	assert_false(l.v[1].has_ua);
	assert_true(l.v[1].has_inst);
	assert_string_equal(l.v[1].inst, "\"<urn:uuid:0001>\"");

	assert_string_equal(l.v[2].aor, "1002");
	assert_false(sa_isset(&l.v[2].laddr, SA_ADDR));
	assert_int_equal(l.v[2].tp, SIP_TRANSP_TCP);

	/* put on an existing (aor, uri) updates the row */
	binding_init(&b, "1002", "sip:1002@192.0.2.11", 4500);
	b.cseq = 8;
	assert_int_equal(store_binding_put(st, &b), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[2].cseq, 8);
	assert_int_equal(l.v[2].expires, 4500);

	/* delete one; deleting a missing one is not an error */
	assert_int_equal(store_binding_del(st, "1001",
					   "sip:1001@192.0.2.10:5062"), 0);
	assert_int_equal(store_binding_del(st, "1001", "sip:nope@x"), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].uri,
			    "sip:1001@[2001:db8::1]:5061;transport=tls");

	/* purge: expires <= now goes */
	assert_int_equal(store_binding_purge(st, 4500), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].aor, "1001");

	assert_int_equal(store_binding_del_aor(st, "1001"), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 0);

	mem_deref(st);
}


static void test_transactions(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct binding b;
	struct loaded l;

	assert_int_equal(store_open(&st, f->datadir), 0);

	binding_init(&b, "1001", "sip:1001@192.0.2.10", 5000);

	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_binding_put(st, &b), 0);
	store_rollback(st);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 0);

	/* rollback outside a transaction is harmless */
	store_rollback(st);

	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_binding_put(st, &b), 0);
	assert_int_equal(store_commit(st), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 1);

	/* a commit without a transaction fails and says so */
	assert_int_not_equal(store_commit(st), 0);

	/* the store still works afterwards */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_binding_del_aor(st, "1001"), 0);
	assert_int_equal(store_commit(st), 0);

	mem_deref(st);
}


struct durable {
	int calls;
	int err;
};


static void durable_h(int err, void *arg)
{
	struct durable *d = arg;

	++d->calls;
	d->err = err;
}


static void lost_h(void *arg)
{
	++*(int *)arg;
}


/* Group commit: a write right after another waits for the group; the
 * durable handler runs only once the group is on disk, as another
 * connection can see. */
static void test_group_commit(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct binding b1, b2;
	struct durable *d1, *d2;
	int lost = 0;

	assert_int_equal(store_open(&st, f->datadir), 0);
	store_set_lost_handler(st, lost_h, &lost);
	/* a minute of "recent": the second write surely groups */
	store_set_group_commit(st, 60000, 60000);
	d1 = mem_zalloc(sizeof(*d1), NULL);
	d2 = mem_zalloc(sizeof(*d2), NULL);

	/* idle: commits at once, the handler runs at once */
	binding_init(&b1, "1001", "sip:1001@192.0.2.10", 5000);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_binding_put(st, &b1), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_when_durable(st, durable_h, d1), 0);
	assert_int_equal(d1->calls, 1);
	assert_int_equal(d1->err, 0);
	assert_int_equal(sql_int(store_path(st),
				 "SELECT count(*) FROM bindings"), 1);

	/* right after: joins a group that is not on disk yet */
	binding_init(&b2, "1002", "sip:1002@192.0.2.11", 5000);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_binding_put(st, &b2), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_when_durable(st, durable_h, d2), 0);
	assert_int_equal(d2->calls, 0);

	assert_int_equal(store_flush(st), 0);
	assert_int_equal(d2->calls, 1);
	assert_int_equal(d2->err, 0);
	assert_int_equal(sql_int(store_path(st),
				 "SELECT count(*) FROM bindings"), 2);
	assert_int_equal(lost, 0);

	mem_deref(d1);
	mem_deref(d2);
	mem_deref(st);
}


/* A failing write reports an error (an operator's trigger stands in for
 * a full disk: the statement fails inside SQLite, as SQLITE_FULL would) */
static void test_write_failure(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct binding b;
	struct loaded l;

	assert_int_equal(store_open(&st, f->datadir), 0);

	sql_exec(store_path(st),
		 "CREATE TRIGGER fail BEFORE INSERT ON bindings "
		 "BEGIN SELECT RAISE(ABORT, 'injected'); END");

	binding_init(&b, "1001", "sip:1001@192.0.2.10", 5000);
	assert_int_equal(store_begin(st), 0);
	assert_int_not_equal(store_binding_put(st, &b), 0);
	store_rollback(st);

	sql_exec(store_path(st), "DROP TRIGGER fail");

	/* the statement is reusable after the failure */
	assert_int_equal(store_binding_put(st, &b), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 1);

	mem_deref(st);
}


static void test_reopen(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct binding b;
	struct loaded l;
	char *md5 = NULL;

	assert_int_equal(store_open(&st, f->datadir), 0);
	assert_int_equal(store_credential_set(st, "1001", "r", "aa", NULL),
			 0);
	binding_init(&b, "1001", "sip:1001@192.0.2.10", 5000);
	assert_int_equal(store_binding_put(st, &b), 0);
	st = mem_deref(st);

	/* the migration has run already; reopening must neither fail nor
	 * run it again (CREATE TABLE would fail) */
	assert_int_equal(store_open(&st, f->datadir), 0);
	assert_int_equal(store_credential_get(st, "1001", NULL, &md5, NULL),
			 0);
	assert_string_equal(md5, "aa");
	md5 = mem_deref(md5);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_binding_load(st, load_h, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(sql_int(store_path(st), "PRAGMA user_version"), 5);
	st = mem_deref(st);

	assert_int_equal(store_open(&st, f->datadir), 0);
	st = mem_deref(st);
}


static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char path[256];

	assert_int_equal(store_open(&st, f->datadir), 0);
	str_ncpy(path, store_path(st), sizeof(path));
	st = mem_deref(st);

	/* a database written by a newer switchboard is left alone */
	sql_exec(path, "PRAGMA user_version = 99");
	assert_int_equal(store_open(&st, f->datadir), ENOTSUP);
	assert_null(st);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 99);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_schema,
						setup, teardown),
		cmocka_unit_test(test_open_bad_args),
		cmocka_unit_test_setup_teardown(test_credentials,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
