/**
 * @file test_vm_store.c  The voicemail message index (switch/store_vm.c)
 *
 * A store in a temp dir; rows are read back through the store and
 * through another SQLite connection, as an operator would (what that
 * connection sees is what a crash would leave).
 */
#include "core.h"
#include "store.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <cmocka.h>
#include "unit_util.h"


/* 2023-11-14T22:13:20Z */
#define T0 1700000000000ull

struct fixture {
	char dir[64];
	struct store *st;
};


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	strcpy(f->dir, "/tmp/sb-test-vm-XXXXXX");
	if (!mkdtemp(f->dir) || store_open(&f->st, f->dir)) {
		free(f);
		return -1;
	}

	/* every write commits at once: what a crash would leave */
	store_set_group_commit(f->st, 60000, 0);
	*state = f;

	return 0;
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	mem_deref(f->st);
	rm_tree(f->dir);
	free(f);

	return 0;
}


/* One write group, as the voicemail app makes it */
static int put(struct store *st, const struct vm_msg *m, int64_t *idp)
{
	int err;

	err = store_begin(st);
	if (err)
		return err;

	err = store_vm_put(st, m, idp);
	if (err) {
		store_rollback(st);
		return err;
	}

	return store_commit(st);
}


static int del(struct store *st, int64_t id)
{
	int err;

	err = store_begin(st);
	if (err)
		return err;

	err = store_vm_delete(st, id);
	if (err) {
		store_rollback(st);
		return err;
	}

	return store_commit(st);
}


static const struct vm_msg m1 = {
	.mailbox     = "1002",
	.file        = "voicemail/1002/msg-1.wav",
	.caller      = "1001",
	.caller_name = "Alice",
	.time_ms     = T0 + 60000,
	.duration_ms = 12345,
	.folder      = NULL,           /* "new" */
};

static const struct vm_msg m2 = {
	.mailbox     = "1003",
	.file        = "voicemail/1003/msg-1.wav",
	.time_ms     = T0 + 30000,
	.duration_ms = 5000,
	.folder      = "new",
	.heard       = true,
};

static const struct vm_msg m3 = {
	.mailbox     = "1002",
	.file        = "voicemail/1002/msg-0.wav",
	.caller      = "1004",
	.caller_name = "Bob",
	.time_ms     = T0,
	.duration_ms = 3000,
	.folder      = "saved",
};


/* Copies of the messages a walk hands over */
struct msgs {
	unsigned n;
	unsigned max;                /* 0: no limit but the array's */
	struct vm_msg m[8];
	char mailbox[8][16];
	char file[8][64];
	char caller[8][16];
	char caller_name[8][16];
	char folder[8][8];
};


static void copy(char *dst, const char *src, size_t sz)
{
	str_ncpy(dst, src ? src : "(null)", sz);
}


static int msgs_h(const struct vm_msg *m, void *arg)
{
	struct msgs *r = arg;
	unsigned i = r->n;

	if (i >= ARRAY_SIZE(r->m) || (r->max && i >= r->max))
		return E2BIG;

	r->m[i] = *m;
	copy(r->mailbox[i], m->mailbox, sizeof(r->mailbox[0]));
	copy(r->file[i], m->file, sizeof(r->file[0]));
	copy(r->caller[i], m->caller, sizeof(r->caller[0]));
	copy(r->caller_name[i], m->caller_name, sizeof(r->caller_name[0]));
	copy(r->folder[i], m->folder, sizeof(r->folder[0]));
	++r->n;

	return 0;
}


static void assert_counts(struct store *st, const char *mailbox,
			  uint32_t fresh, uint32_t old)
{
	uint32_t n = 99, o = 99;

	assert_int_equal(store_vm_count(st, mailbox, &n, &o), 0);
	assert_int_equal(n, fresh);
	assert_int_equal(o, old);
}


static void test_put_list_count_delete(void **state)
{
	struct fixture *f = *state;
	int64_t id1 = 0, id2 = 0, id3 = 0;
	struct msgs r;

	assert_int_equal(put(f->st, &m1, &id1), 0);

	/* committed at once: another connection sees it */
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 1);

	assert_int_equal(put(f->st, &m2, &id2), 0);
	assert_int_equal(put(f->st, &m3, &id3), 0);
	assert_true(id1 > 0);
	assert_true(id2 > id1);
	assert_true(id3 > id2);

	/* one mailbox, oldest first: by time, not by id */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, "1002", msgs_h, &r), 0);
	assert_int_equal(r.n, 2);

	assert_int_equal(r.m[0].id, id3);
	assert_string_equal(r.mailbox[0], "1002");
	assert_string_equal(r.file[0], "voicemail/1002/msg-0.wav");
	assert_string_equal(r.caller[0], "1004");
	assert_string_equal(r.caller_name[0], "Bob");
	assert_int_equal(r.m[0].time_ms, T0);
	assert_int_equal(r.m[0].duration_ms, 3000);
	assert_string_equal(r.folder[0], "saved");
	assert_false(r.m[0].heard);

	assert_int_equal(r.m[1].id, id1);
	assert_string_equal(r.file[1], "voicemail/1002/msg-1.wav");
	assert_string_equal(r.caller[1], "1001");
	assert_string_equal(r.caller_name[1], "Alice");
	assert_int_equal(r.m[1].time_ms, T0 + 60000);
	assert_int_equal(r.m[1].duration_ms, 12345);
	assert_string_equal(r.folder[1], "new");    /* NULL: the default */
	assert_false(r.m[1].heard);

	/* every mailbox, still oldest first */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, NULL, msgs_h, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.m[0].id, id3);
	assert_int_equal(r.m[1].id, id2);
	assert_int_equal(r.m[2].id, id1);
	assert_string_equal(r.mailbox[1], "1003");
	assert_string_equal(r.caller[1], "(null)");
	assert_string_equal(r.caller_name[1], "(null)");
	assert_true(r.m[1].heard);

	/* saved, or heard in "new": old */
	assert_counts(f->st, "1002", 1, 1);
	assert_counts(f->st, "1003", 0, 1);
	assert_counts(f->st, "9999", 0, 0);

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, "9999", msgs_h, &r), 0);
	assert_int_equal(r.n, 0);

	/* the new one goes */
	assert_int_equal(del(f->st, id1), 0);
	assert_counts(f->st, "1002", 0, 1);
	assert_counts(f->st, "1003", 0, 1);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 2);

	/* twice: nothing there */
	assert_int_equal(del(f->st, id1), ENOENT);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 2);

	/* the rows are on disk, not in this connection */
	f->st = mem_deref(f->st);
	assert_int_equal(store_open(&f->st, f->dir), 0);

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, "1002", msgs_h, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].id, id3);
	assert_string_equal(r.file[0], "voicemail/1002/msg-0.wav");
	assert_string_equal(r.caller_name[0], "Bob");
	assert_string_equal(r.folder[0], "saved");
	assert_int_equal(r.m[0].time_ms, T0);
	assert_int_equal(r.m[0].duration_ms, 3000);
	assert_counts(f->st, "1002", 0, 1);
	assert_counts(f->st, "1003", 0, 1);

	/* ids are not reused after a reopen */
	assert_int_equal(put(f->st, &m1, &id1), 0);
	assert_true(id1 > id3);
	assert_counts(f->st, "1002", 1, 1);
}


/* Heard, saved: the counts follow; a PIN changed by phone is kept as
 * its salt and hash and survives a reopen */
static void test_set_and_pins(void **state)
{
	struct fixture *f = *state;
	char *salt = NULL, *hash = NULL;
	int64_t id1 = 0;
	struct msgs r;
	int err;

	assert_int_equal(put(f->st, &m1, &id1), 0);
	assert_counts(f->st, "1002", 1, 0);

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_vm_set(f->st, id1, "new", true), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_counts(f->st, "1002", 0, 1);

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_vm_set(f->st, id1, "saved", true), 0);
	assert_int_equal(store_commit(f->st), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, "1002", msgs_h, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.folder[0], "saved");
	assert_true(r.m[0].heard);
	assert_counts(f->st, "1002", 0, 1);

	/* no such message */
	assert_int_equal(store_begin(f->st), 0);
	err = store_vm_set(f->st, id1 + 100, "saved", true);
	store_rollback(f->st);
	assert_int_equal(err, ENOENT);
	assert_int_equal(store_vm_set(f->st, id1, NULL, true), EINVAL);

	/* PINs */
	assert_int_equal(store_vm_pin_get(f->st, "1002", &salt, &hash),
			 ENOENT);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_vm_pin_set(f->st, "1002", "s1", "h1"), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_vm_pin_set(f->st, "1002", "s2", "h2"), 0);
	assert_int_equal(store_commit(f->st), 0);

	f->st = mem_deref(f->st);
	assert_int_equal(store_open(&f->st, f->dir), 0);
	assert_int_equal(store_vm_pin_get(f->st, "1002", &salt, &hash), 0);
	assert_string_equal(salt, "s2");
	assert_string_equal(hash, "h2");
	salt = mem_deref(salt);
	hash = mem_deref(hash);
	assert_int_equal(store_vm_pin_get(f->st, "1003", &salt, &hash),
			 ENOENT);
	assert_null(salt);
	assert_null(hash);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM vm_pins"), 1);
}


struct durable {
	unsigned calls;
	int err;
};


static void durable_h(int err, void *arg)
{
	struct durable *d = arg;

	++d->calls;
	d->err = err;
}


/* A message joins a group commit like any write: the durable handler
 * (where the app lights the MWI lamp) runs once it is on disk. */
static void test_group_commit(void **state)
{
	struct fixture *f = *state;
	struct durable *d1, *d2;
	int64_t id = 0;

	/* a minute of "recent": the second write surely groups */
	store_set_group_commit(f->st, 60000, 60000);
	d1 = mem_zalloc(sizeof(*d1), NULL);
	d2 = mem_zalloc(sizeof(*d2), NULL);
	assert_non_null(d1);
	assert_non_null(d2);

	/* idle: commits at once, the handler runs at once */
	assert_int_equal(put(f->st, &m1, NULL), 0);
	assert_int_equal(store_when_durable(f->st, durable_h, d1), 0);
	assert_int_equal(d1->calls, 1);
	assert_int_equal(d1->err, 0);

	/* right after: waits for the group; the id is known already */
	assert_int_equal(put(f->st, &m3, &id), 0);
	assert_true(id > 0);
	assert_true(store_group_open(f->st));
	assert_int_equal(store_when_durable(f->st, durable_h, d2), 0);
	assert_int_equal(d2->calls, 0);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 1);

	/* this connection sees its own group */
	assert_counts(f->st, "1002", 1, 1);

	assert_int_equal(store_flush(f->st), 0);
	assert_int_equal(d2->calls, 1);
	assert_int_equal(d2->err, 0);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 2);

	/* a delete groups the same way */
	assert_int_equal(del(f->st, id), 0);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 2);
	assert_int_equal(store_flush(f->st), 0);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM voicemail"), 1);

	mem_deref(d1);
	mem_deref(d2);
}


/* A database from before voicemail (schema 3) gains the table at open
 * and keeps what it had */
static void test_migrate_from_v3(void **state)
{
	struct fixture *f = *state;
	char path[256];
	struct msgs r;

	str_ncpy(path, store_path(f->st), sizeof(path));
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 5);
	f->st = mem_deref(f->st);

	/* back to version 3: no voicemail, a call record */
	sql_exec(path, "DROP TABLE voicemail; DROP TABLE vm_pins;"
		 "INSERT INTO cdr (call_id, start_ms, end_ms, duration_ms,"
		 " billsec_ms, cause) VALUES ('c-old', 1, 2, 1, 0, 16);"
		 "PRAGMA user_version = 3");
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
				 " WHERE name LIKE 'voicemail%'"), 0);

	assert_int_equal(store_open(&f->st, f->dir), 0);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 5);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
				 " WHERE name IN ('voicemail',"
				 " 'voicemail_mailbox')"), 2);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM cdr"
				 " WHERE call_id = 'c-old'"), 1);

	assert_int_equal(put(f->st, &m1, NULL), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, "1002", msgs_h, &r), 0);
	assert_int_equal(r.n, 1);
	assert_counts(f->st, "1002", 1, 0);
}


/* A handler's error stops the walk and comes back */
static void test_handler_stops(void **state)
{
	struct fixture *f = *state;
	struct msgs r;

	assert_int_equal(put(f->st, &m1, NULL), 0);
	assert_int_equal(put(f->st, &m2, NULL), 0);
	assert_int_equal(put(f->st, &m3, NULL), 0);

	memset(&r, 0, sizeof(r));
	r.max = 1;
	assert_int_equal(store_vm_list(f->st, NULL, msgs_h, &r), E2BIG);
	assert_int_equal(r.n, 1);

	/* the statement is reusable after a stopped walk */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_vm_list(f->st, NULL, msgs_h, &r), 0);
	assert_int_equal(r.n, 3);
}


static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct vm_msg m = m1;
	uint32_t n;
	int64_t id = 0;

	assert_int_equal(store_vm_put(NULL, &m1, &id), EINVAL);
	assert_int_equal(store_vm_put(f->st, NULL, &id), EINVAL);
	m.mailbox = NULL;
	assert_int_equal(store_vm_put(f->st, &m, &id), EINVAL);
	m = m1;
	m.file = NULL;
	assert_int_equal(store_vm_put(f->st, &m, &id), EINVAL);
	assert_int_equal(id, 0);

	assert_int_equal(store_vm_list(NULL, "1002", msgs_h, NULL), EINVAL);
	assert_int_equal(store_vm_list(f->st, "1002", NULL, NULL), EINVAL);
	assert_int_equal(store_vm_count(NULL, "1002", &n, &n), EINVAL);
	assert_int_equal(store_vm_count(f->st, NULL, &n, &n), EINVAL);
	assert_int_equal(store_vm_delete(NULL, 1), EINVAL);

	/* either count may be left out */
	assert_int_equal(put(f->st, &m1, NULL), 0);
	n = 99;
	assert_int_equal(store_vm_count(f->st, "1002", &n, NULL), 0);
	assert_int_equal(n, 1);
	n = 99;
	assert_int_equal(store_vm_count(f->st, "1002", NULL, &n), 0);
	assert_int_equal(n, 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_list_count_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_and_pins, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v3, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handler_stops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
