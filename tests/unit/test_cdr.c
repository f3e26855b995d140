/**
 * @file test_cdr.c  Call detail records (switch/cdr.c, switch/store_cdr.c)
 *
 * Calls end on a real bus with a cdr subscribed over a store in a temp
 * dir; the rows are read back through the store, through another SQLite
 * connection (as an operator would) and through `ctl cdr`. Times are
 * printed in local time, so the tests run with TZ=UTC.
 */
#include "core.h"
#include "events.h"
#include "store.h"
#include "cdr.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>
#include <cmocka.h>
#include "unit_util.h"


/* 2023-11-14T22:13:20Z */
#define T0 1700000000000ull

struct fixture {
	char dir[64];
	struct store *st;
	struct events *ev;
	struct cdr *cdr;
};


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	strcpy(f->dir, "/tmp/sb-test-cdr-XXXXXX");
	if (!mkdtemp(f->dir) || store_open(&f->st, f->dir) ||
	    events_alloc(&f->ev) || cdr_alloc(&f->cdr, f->ev, f->st)) {
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

	mem_deref(f->cdr);
	mem_deref(f->ev);
	mem_deref(f->st);
	rm_tree(f->dir);
	free(f);

	return 0;
}


static struct call_event call(const char *id, uint64_t start,
			      uint64_t answer, uint64_t end, int cause)
{
	struct call_event ce = {
		.id          = id,
		.caller      = "1001",
		.caller_name = "Alice",
		.destination = "1002",
		.context     = "default",
		.callee      = answer ? "1002" : NULL,
		.start       = start,
		.answer      = answer,
		.end         = end,
		.cause       = cause,
		.sip_code    = answer ? 200 : 486,
		.hangup_side = answer ? "caller" : "callee",
		.legs        = "user/1002 sip:1002@192.0.2.10 486",
		.trace       = "extension local default.xml:12",
	};

	return ce;
}


static void end_call(struct fixture *f, const struct call_event *ce)
{
	events_publish(f->ev, EVENT_CALL_ENDED, ce);
}


/* Copies of the rows a walk hands over */
struct rows {
	unsigned n;
	char id[8][16];
	char cause_name[8][32];
	struct cdr_row row[8];
};


static int rows_h(const struct cdr_row *row, void *arg)
{
	struct rows *r = arg;

	if (r->n >= ARRAY_SIZE(r->row))
		return E2BIG;

	r->row[r->n] = *row;
	str_ncpy(r->id[r->n], row->call_id, sizeof(r->id[0]));
	str_ncpy(r->cause_name[r->n], row->cause_name ? row->cause_name
		 : "(null)", sizeof(r->cause_name[0]));
	++r->n;

	return 0;
}


static int mbuf_vph(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


/* `switchboard ctl LINE`: the output in *outp (mem; caller derefs) */
static int ctl(struct fixture *f, char **outp, const char *line)
{
	struct mbuf *mb = mbuf_alloc(256);
	struct re_printf pf = {mbuf_vph, mb};
	char *argv[16], *copy, *tok, *save = NULL;
	int argc = 0, err;

	assert_non_null(mb);
	assert_int_equal(str_dup(&copy, line), 0);

	for (tok = strtok_r(copy, " ", &save); tok && argc < 16;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;

	err = cdr_print(&pf, f->st, argc, argv);

	mb->pos = 0;
	assert_int_equal(mbuf_strdup(mb, outp, mb->end), 0);
	mem_deref(mb);
	mem_deref(copy);

	return err;
}


static void test_rows(void **state)
{
	struct fixture *f = *state;
	struct call_event answered, busy, odd;
	struct rows r;

	answered = call("c-answered", T0, T0 + 5000, T0 + 65250, 16);
	busy = call("c-busy", T0 + 100000, 0, T0 + 103000, 17);
	odd = call("c-odd", T0 + 200000, 0, T0 + 200000, 999);

	/* only the end of a call makes a row */
	events_publish(f->ev, EVENT_CALL_STARTED, &answered);
	events_publish(f->ev, EVENT_CALL_ANSWERED, &answered);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM cdr"), 0);

	/* committed as soon as the call ended: another connection sees it
	 * without a flush, so a crash now would not lose it */
	end_call(f, &answered);
	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM cdr"), 1);

	end_call(f, &busy);
	end_call(f, &odd);

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_cdr_list(f->st, 0, rows_h, &r), 0);
	assert_int_equal(r.n, 3);

	/* newest first */
	assert_string_equal(r.id[0], "c-odd");
	assert_string_equal(r.id[1], "c-busy");
	assert_string_equal(r.id[2], "c-answered");

	assert_int_equal(r.row[2].start_ms, T0);
	assert_int_equal(r.row[2].answer_ms, T0 + 5000);
	assert_int_equal(r.row[2].end_ms, T0 + 65250);
	assert_int_equal(r.row[2].duration_ms, 65250);
	assert_int_equal(r.row[2].billsec_ms, 60250);
	assert_int_equal(r.row[2].cause, 16);
	assert_string_equal(r.cause_name[2], "NORMAL_CLEARING");
	assert_int_equal(r.row[2].sip_code, 200);

	/* unanswered: no billable time, whatever the duration */
	assert_int_equal(r.row[1].answer_ms, 0);
	assert_int_equal(r.row[1].duration_ms, 3000);
	assert_int_equal(r.row[1].billsec_ms, 0);
	assert_string_equal(r.cause_name[1], "USER_BUSY");
	assert_int_equal(r.row[1].sip_code, 486);

	/* a cause cause.h does not know keeps its number, no name */
	assert_int_equal(r.row[0].cause, 999);
	assert_string_equal(r.cause_name[0], "(null)");
	assert_int_equal(r.row[0].duration_ms, 0);

	/* for SQL users: no answer is NULL, not 0 */
	assert_int_equal(sql_int(store_path(f->st), "SELECT count(*) FROM cdr"
				 " WHERE answer_ms IS NULL"), 2);
	assert_int_equal(sql_int(store_path(f->st), "SELECT billsec_ms FROM "
				 "cdr WHERE call_id = 'c-answered'"), 60250);

	/* one call by id */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_cdr_get(f->st, "c-busy", rows_h, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], "c-busy");
	assert_int_equal(store_cdr_get(f->st, "nope", rows_h, &r), ENOENT);
	assert_int_equal(r.n, 1);
}


static void test_clock_and_missing_end(void **state)
{
	struct fixture *f = *state;
	struct call_event back, unended;
	uint64_t before = (uint64_t)time(NULL) * 1000;
	struct rows r;

	/* the clock stepped back between answer and end */
	back = call("c-back", T0, T0 + 5000, T0 + 1000, 16);
	end_call(f, &back);

	/* the call code forgot the end time: now */
	unended = call("c-open", T0, T0 + 1000, 0, 16);
	end_call(f, &unended);

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_cdr_get(f->st, "c-back", rows_h, &r), 0);
	assert_int_equal(r.row[0].duration_ms, 1000);
	assert_int_equal(r.row[0].billsec_ms, 0);

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_cdr_get(f->st, "c-open", rows_h, &r), 0);
	assert_true(r.row[0].end_ms >= before);
	assert_int_equal(r.row[0].billsec_ms, r.row[0].end_ms - T0 - 1000);
}


static void test_csv(void **state)
{
	struct fixture *f = *state;
	struct call_event a, b;
	char *out = NULL;

	a = call("c-a", T0, T0 + 2000, T0 + 12345, 16);
	a.caller_name = "Smith, \"Bob\"";
	a.legs = "user/1002 sip:1002@192.0.2.10 200\n"
		"user/1002 sip:1002@192.0.2.11 487";

	b = call("c-b", T0 + 60000, 0, T0 + 90000, 19);
	b.context = NULL;
	b.caller_name = "plain";
	b.legs = NULL;

	end_call(f, &a);
	end_call(f, &b);

	assert_int_equal(ctl(f, &out, "cdr --csv"), 0);
	assert_string_equal(out,
		"start,answer,end,call_id,caller,caller_name,destination,"
		"context,callee,duration_ms,billsec_ms,cause,cause_name,"
		"sip_code,hangup_side,legs\r\n"
		"2023-11-14T22:14:20.000+00:00,,2023-11-14T22:14:50.000+00:00,"
		"c-b,1001,plain,1002,,,30000,0,19,NO_ANSWER,486,callee,\r\n"
		"2023-11-14T22:13:20.000+00:00,2023-11-14T22:13:22.000+00:00,"
		"2023-11-14T22:13:32.345+00:00,c-a,1001,"
		"\"Smith, \"\"Bob\"\"\",1002,default,1002,12345,10345,16,"
		"NORMAL_CLEARING,200,caller,"
		"\"user/1002 sip:1002@192.0.2.10 200\n"
		"user/1002 sip:1002@192.0.2.11 487\"\r\n");
	out = mem_deref(out);

	/* no rows: still the header, so a script sees the columns */
	sql_exec(store_path(f->st), "DELETE FROM cdr");
	assert_int_equal(ctl(f, &out, "cdr --csv"), 0);
	assert_true(!strncmp(out, "start,answer,", 13));
	assert_non_null(strstr(out, "legs\r\n"));
	assert_int_equal(strlen(strstr(out, "legs\r\n")), 6);
	mem_deref(out);
}


static void test_table(void **state)
{
	struct fixture *f = *state;
	struct call_event a, b;
	char *out = NULL;

	assert_int_equal(ctl(f, &out, "cdr"), 0);
	assert_string_equal(out, "no call records\n");
	out = mem_deref(out);

	a = call("c-a", T0, T0 + 2000, T0 + 12345, 16);
	b = call("c-b", T0 + 60000, 0, T0 + 90000, 17);
	/* what a caller puts in a header must not drive the terminal */
	b.caller = "\x1b[2J1003";
	b.callee = "trunk/itsp/00493012345678";
	end_call(f, &a);
	end_call(f, &b);

	assert_int_equal(ctl(f, &out, "cdr"), 0);
	assert_string_equal(out,
		"START                CALLER         DESTINATION    CALLEE"
		"             DURATION  BILLSEC  SIDE    CAUSE\n"
		"2023-11-14 22:14:20  ?[2J1003       1002           "
		"trunk/itsp/004930~     30.0      0.0  callee  USER_BUSY\n"
		"2023-11-14 22:13:20  1001           1002           "
		"1002                   12.3     10.3  caller  "
		"NORMAL_CLEARING\n");
	mem_deref(out);
}


static void test_trace(void **state)
{
	struct fixture *f = *state;
	struct call_event a;
	char *out = NULL;

	a = call("c-a", T0, T0 + 2000, T0 + 12345, 16);
	a.legs = "user/1002 sip:1002@192.0.2.10 486\n"
		"user/1002 sip:1002@192.0.2.11 200";
	a.trace = "extension local default.xml:12\n"
		"bridge user/1002: answered";
	end_call(f, &a);

	assert_int_equal(ctl(f, &out, "cdr --trace c-a"), 0);
	assert_string_equal(out,
		"call        c-a\n"
		"caller      1001\n"
		"caller name Alice\n"
		"destination 1002\n"
		"context     default\n"
		"callee      1002\n"
		"start       2023-11-14T22:13:20.000+00:00\n"
		"answer      2023-11-14T22:13:22.000+00:00\n"
		"end         2023-11-14T22:13:32.345+00:00\n"
		"duration    12.345 s, billable 10.345 s\n"
		"cause       NORMAL_CLEARING (16), SIP 200, hung up by caller\n"
		"legs:\n"
		"  user/1002 sip:1002@192.0.2.10 486\n"
		"  user/1002 sip:1002@192.0.2.11 200\n"
		"trace:\n"
		"  extension local default.xml:12\n"
		"  bridge user/1002: answered\n");
	out = mem_deref(out);

	assert_int_equal(ctl(f, &out, "cdr --trace nope"), ENOENT);
	assert_non_null(strstr(out, "no call \"nope\""));
	out = mem_deref(out);

	assert_int_equal(ctl(f, &out, "cdr --trace c-a --csv"), EINVAL);
	out = mem_deref(out);
	assert_int_equal(ctl(f, &out, "cdr --trace"), EINVAL);
	mem_deref(out);
}


static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';

	return n;
}


static void test_limit(void **state)
{
	struct fixture *f = *state;
	char id[16], *out = NULL;
	struct call_event ce;
	struct rows r;
	int i;

	for (i = 0; i < 60; i++) {
		(void)re_snprintf(id, sizeof(id), "c-%02d", i);
		ce = call(id, T0 + (uint64_t)i * 1000, 0,
			  T0 + (uint64_t)i * 1000 + 500, 19);
		end_call(f, &ce);
	}

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_cdr_list(f->st, 2, rows_h, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.id[0], "c-59");
	assert_string_equal(r.id[1], "c-58");

	/* a handler error stops the walk and comes back */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_cdr_list(f->st, 0, rows_h, &r), E2BIG);
	assert_int_equal(r.n, 8);

	assert_int_equal(ctl(f, &out, "cdr --limit 3"), 0);
	assert_int_equal(count_lines(out), 1 + 3);
	assert_non_null(strstr(out, "22:14:19"));      /* c-59 */
	assert_null(strstr(out, "22:14:16"));          /* c-56 */
	out = mem_deref(out);

	assert_int_equal(ctl(f, &out, "cdr --csv --limit 1"), 0);
	assert_int_equal(count_lines(out), 1 + 1);
	assert_non_null(strstr(out, ",c-59,"));
	out = mem_deref(out);

	/* default 50, 0 is all */
	assert_int_equal(ctl(f, &out, "cdr"), 0);
	assert_int_equal(count_lines(out), 1 + 50);
	out = mem_deref(out);
	assert_int_equal(ctl(f, &out, "cdr --limit 0 --csv"), 0);
	assert_int_equal(count_lines(out), 1 + 60);
	out = mem_deref(out);

	assert_int_equal(ctl(f, &out, "cdr --limit -1"), EINVAL);
	assert_non_null(strstr(out, "usage:"));
	out = mem_deref(out);
	assert_int_equal(ctl(f, &out, "cdr --limit 3x"), EINVAL);
	out = mem_deref(out);
	assert_int_equal(ctl(f, &out, "cdr --limit 99999999999"), EINVAL);
	out = mem_deref(out);
	assert_int_equal(ctl(f, &out, "cdr --limit"), EINVAL);
	out = mem_deref(out);
	assert_int_equal(ctl(f, &out, "cdr --json"), EINVAL);
	mem_deref(out);
}


/* A row the store refuses is counted and logged, and the next one is
 * written (an operator's trigger stands in for a full disk) */
static void test_store_failure(void **state)
{
	struct fixture *f = *state;
	struct call_event ce = call("c-fail", T0, 0, T0 + 1000, 17);
	struct mbuf *mb = mbuf_alloc(64);
	struct re_printf pf = {mbuf_vph, mb};
	char *out = NULL;

	sql_exec(store_path(f->st),
		 "CREATE TRIGGER fail BEFORE INSERT ON cdr "
		 "BEGIN SELECT RAISE(ABORT, 'injected'); END");
	end_call(f, &ce);
	sql_exec(store_path(f->st), "DROP TRIGGER fail");

	ce.id = "c-ok";
	end_call(f, &ce);

	/* no id: refused, not a crash */
	ce.id = NULL;
	end_call(f, &ce);

	assert_int_equal(sql_int(store_path(f->st),
				 "SELECT count(*) FROM cdr"), 1);

	assert_non_null(mb);
	assert_int_equal(cdr_debug(&pf, f->cdr), 0);
	mb->pos = 0;
	assert_int_equal(mbuf_strdup(mb, &out, mb->end), 0);
	assert_string_equal(out, "cdr: 1 written, 2 not stored\n");
	mem_deref(out);
	mem_deref(mb);
}


static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct cdr *cdr = NULL;

	assert_int_equal(cdr_alloc(NULL, f->ev, f->st), EINVAL);
	assert_int_equal(cdr_alloc(&cdr, NULL, f->st), EINVAL);
	assert_int_equal(cdr_alloc(&cdr, f->ev, NULL), EINVAL);
	assert_null(cdr);

	assert_int_equal(store_cdr_put(f->st, NULL), EINVAL);
	assert_int_equal(store_cdr_list(f->st, 0, NULL, NULL), EINVAL);
	assert_int_equal(store_cdr_get(f->st, NULL, rows_h, NULL), EINVAL);

	/* a second subscriber writes a second row per call */
	assert_int_equal(cdr_alloc(&cdr, f->ev, f->st), 0);
	{
		struct call_event ce = call("c-x", T0, 0, T0 + 1, 16);
		struct rows r;

		end_call(f, &ce);
		memset(&r, 0, sizeof(r));
		assert_int_equal(store_cdr_get(f->st, "c-x", rows_h, &r), 0);
		assert_int_equal(r.n, 2);
	}
	mem_deref(cdr);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_and_missing_end,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup,
						teardown),
	};

	setenv("TZ", "UTC", 1);
	tzset();

	return cmocka_run_group_tests(tests, NULL, NULL);
}
