/**
 * @file test_lockout.c  Lock-out of sources that fail authentication
 *
 * Time is a fixed base passed as now_ms, so every case is deterministic.
 * Leaks are checked by LeakSanitizer (build with -fsanitize=address):
 * libre 1.1.0 as packaged has no MEM_DEBUG for mem_get_stat().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "lockout.h"


#define T0 1000000000ull   /* any fixed base */
#define S  1000ull

static const struct pl alice = PL("alice");
static const struct pl bob   = PL("bob");


static struct sa addr(const char *ip, uint16_t port)
{
	struct sa sa;

	assert_int_equal(sa_set_str(&sa, ip, port), 0);
	return sa;
}


static struct lockout *mk(uint32_t max_entries)
{
	struct lockout_params prm = {5, 60, 300, max_entries};
	struct lockout *l = NULL;

	assert_int_equal(lockout_alloc(&l, &prm), 0);
	return l;
}


static void test_fifth_failure_locks(void **state)
{
	struct lockout *l = mk(0);
	struct sa a = addr("192.0.2.1", 5060);
	int i;
	(void)state;

	for (i = 0; i < 4; i++) {
		assert_false(lockout_fail(l, &a, &alice, T0 + i * S));
		assert_false(lockout_is_locked(l, &a, T0 + i * S));
	}
	assert_int_equal(lockout_locked_count(l, T0 + 4 * S), 0);

	assert_true(lockout_fail(l, &a, &alice, T0 + 4 * S));
	assert_true(lockout_is_locked(l, &a, T0 + 4 * S));
	assert_int_equal(lockout_locked_count(l, T0 + 4 * S), 1);

	/* True only once per lock */
	for (i = 5; i < 10; i++)
		assert_false(lockout_fail(l, &a, &alice, T0 + i * S));
	assert_true(lockout_is_locked(l, &a, T0 + 10 * S));

	mem_deref(l);
}


/* The registrar's exemption for phones registered from a locked address
 * ends when that user itself keeps failing: counted while locked too. */
static void test_user_failures_counted_while_locked(void **state)
{
	struct lockout *l = mk(0);
	struct sa a = addr("192.0.2.7", 5060);
	struct sa other = addr("192.0.2.8", 5060);
	int i;
	(void)state;

	for (i = 0; i < 5; i++)
		(void)lockout_fail(l, &a, &alice, T0 + i * S);
	assert_true(lockout_is_locked(l, &a, T0 + 5 * S));
	assert_int_equal(lockout_user_failures(l, &a, &alice, T0 + 5 * S), 5);
	assert_int_equal(lockout_user_failures(l, &a, &bob, T0 + 5 * S), 0);
	assert_int_equal(lockout_user_failures(l, &other, &bob, T0), 0);

	/* bob guessed at while the address is locked */
	for (i = 0; i < 5; i++)
		assert_false(lockout_fail(l, &a, &bob, T0 + (6 + i) * S));
	assert_int_equal(lockout_user_failures(l, &a, &bob, T0 + 12 * S), 5);

	/* the lock is not extended by them */
	assert_false(lockout_is_locked(l, &a, T0 + 4 * S + 300 * S));

	mem_deref(l);
}


static void test_locked_for_any_user_and_port(void **state)
{
	struct lockout *l = mk(0);
	struct sa a = addr("192.0.2.1", 5060);
	struct sa a2 = addr("192.0.2.1", 41234);
	int i;
	(void)state;

	/* Failures of several users from one address add up */
	for (i = 0; i < 4; i++)
		assert_false(lockout_fail(l, i & 1 ? &a2 : &a,
					  i & 1 ? &bob : &alice, T0 + i * S));
	assert_true(lockout_fail(l, &a2, NULL, T0 + 4 * S));

	/* The port is ignored */
	assert_true(lockout_is_locked(l, &a, T0 + 5 * S));
	assert_true(lockout_is_locked(l, &a2, T0 + 5 * S));

	/* A success does not unlock */
	lockout_success(l, &a, &alice, T0 + 6 * S);
	assert_true(lockout_is_locked(l, &a, T0 + 6 * S));

	mem_deref(l);
}


static void test_window(void **state)
{
	struct lockout *l = mk(0);
	struct sa a = addr("192.0.2.1", 5060);
	int i;
	(void)state;

	/* One failure every 15 s: any 5 in a row span 60 s, never within
	 * the 60 s window */
	for (i = 0; i < 20; i++)
		assert_false(lockout_fail(l, &a, &alice, T0 + i * 15 * S));
	assert_false(lockout_is_locked(l, &a, T0 + 20 * 15 * S));

	/* Four old failures plus one after the window: not locked; then
	 * four more quickly: the last five are inside the window */
	mem_deref(l);
	l = mk(0);
	for (i = 0; i < 4; i++)
		assert_false(lockout_fail(l, &a, &alice, T0 + i * S));
	assert_false(lockout_fail(l, &a, &alice, T0 + 63 * S));
	for (i = 0; i < 3; i++)
		assert_false(lockout_fail(l, &a, &alice, T0 + (64 + i) * S));
	assert_true(lockout_fail(l, &a, &alice, T0 + 67 * S));

	mem_deref(l);
}


static void test_lock_ends(void **state)
{
	struct lockout *l = mk(0);
	struct sa a = addr("192.0.2.1", 5060);
	uint64_t t;
	int i;
	(void)state;

	for (i = 0; i < 5; i++)
		lockout_fail(l, &a, &alice, T0 + i * S);
	t = T0 + 4 * S;     /* locked at t for 300 s */

	assert_true(lockout_is_locked(l, &a, t + 300 * S - 1));
	assert_false(lockout_is_locked(l, &a, t + 300 * S));
	assert_int_equal(lockout_locked_count(l, t + 300 * S), 0);

	/* The count starts over: four more do not lock, the fifth does */
	t += 300 * S;
	for (i = 0; i < 4; i++)
		assert_false(lockout_fail(l, &a, &alice, t + i * S));
	assert_true(lockout_fail(l, &a, &alice, t + 4 * S));

	mem_deref(l);
}


static void test_sources_independent(void **state)
{
	struct lockout *l = mk(0);
	struct sa a = addr("192.0.2.1", 5060);
	struct sa b = addr("192.0.2.2", 5060);
	struct sa c = addr("2001:db8::1", 5060);
	int i;
	(void)state;

	for (i = 0; i < 4; i++) {
		assert_false(lockout_fail(l, &a, &alice, T0 + i * S));
		assert_false(lockout_fail(l, &b, &alice, T0 + i * S));
		assert_false(lockout_fail(l, &c, &alice, T0 + i * S));
	}
	assert_true(lockout_fail(l, &a, &alice, T0 + 5 * S));
	assert_true(lockout_is_locked(l, &a, T0 + 5 * S));
	assert_false(lockout_is_locked(l, &b, T0 + 5 * S));
	assert_false(lockout_is_locked(l, &c, T0 + 5 * S));

	assert_true(lockout_fail(l, &c, &bob, T0 + 6 * S));
	assert_true(lockout_is_locked(l, &c, T0 + 6 * S));
	assert_false(lockout_is_locked(l, &b, T0 + 6 * S));
	assert_int_equal(lockout_locked_count(l, T0 + 6 * S), 2);

	mem_deref(l);
}


static void test_memory_bound(void **state)
{
	struct lockout *l = mk(8);
	struct sa locked = addr("198.51.100.1", 5060);
	char *dbg = NULL;
	uint32_t i;
	(void)state;

	for (i = 0; i < 5; i++)
		lockout_fail(l, &locked, &alice, T0);
	assert_true(lockout_is_locked(l, &locked, T0));

	/* Many more sources than entries, each one failure short */
	for (i = 0; i < 1000; i++) {
		struct sa a;
		int j;

		sa_set_in(&a, 0x0a000000 + i, 5060);
		for (j = 0; j < 4; j++)
			assert_false(lockout_fail(l, &a, &bob, T0 + S));
	}

	/* The table never grew past its bound: the debug dump counts it */
	assert_int_equal(re_sdprintf(&dbg, "%H", lockout_debug, l), 0);
	assert_non_null(strstr(dbg, "8 sources tracked, 1 locked"));
	mem_deref(dbg);

	/* Unlocked entries went first: the lock survived */
	assert_true(lockout_is_locked(l, &locked, T0 + 2 * S));

	/* A table full of locks gives up its oldest */
	for (i = 0; i < 8; i++) {
		struct sa a;
		int j;

		sa_set_in(&a, 0x0b000000 + i, 5060);
		for (j = 0; j < 5; j++)
			lockout_fail(l, &a, &bob, T0 + 3 * S);
	}
	assert_int_equal(lockout_locked_count(l, T0 + 3 * S), 8);
	assert_false(lockout_is_locked(l, &locked, T0 + 3 * S));

	mem_deref(l);
}


static void test_idle_entries_dropped(void **state)
{
	struct lockout *l = mk(0);
	char *dbg = NULL;
	uint32_t i;
	(void)state;

	for (i = 0; i < 100; i++) {
		struct sa a;

		sa_set_in(&a, 0x0a000000 + i, 5060);
		lockout_fail(l, &a, &alice, T0);
	}

	/* Once the window has passed nothing is worth remembering */
	assert_int_equal(lockout_locked_count(l, T0 + 60 * S), 0);
	assert_int_equal(re_sdprintf(&dbg, "%H", lockout_debug, l), 0);
	assert_non_null(strstr(dbg, "0 sources tracked"));
	mem_deref(dbg);

	mem_deref(l);
}


static void test_debug_and_defaults(void **state)
{
	struct lockout *l = NULL;
	struct lockout_params big = {101, 0, 0, 0};
	struct sa a = addr("192.0.2.7", 5060);
	struct pl evil = PL("ev\r\nil");
	char *dbg = NULL;
	int i;
	(void)state;

	assert_int_equal(lockout_alloc(&l, &big), EINVAL);
	assert_int_equal(lockout_alloc(&l, NULL), 0);

	for (i = 0; i < 3; i++)
		lockout_fail(l, &a, &alice, T0);
	lockout_fail(l, &a, &evil, T0);
	assert_true(lockout_fail(l, &a, &bob, T0));

	assert_int_equal(re_sdprintf(&dbg, "%H", lockout_debug, l), 0);
	assert_non_null(strstr(dbg, "192.0.2.7 locked for 300s more:"
			       " alice x3 ev??il x1 bob x1\n"));
	mem_deref(dbg);

	/* Not a source at all */
	assert_false(lockout_fail(l, NULL, &alice, T0));
	assert_false(lockout_is_locked(l, NULL, T0));

	mem_deref(l);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifth_failure_locks),
		cmocka_unit_test(test_locked_for_any_user_and_port),
		cmocka_unit_test(test_user_failures_counted_while_locked),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_lock_ends),
		cmocka_unit_test(test_sources_independent),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_idle_entries_dropped),
		cmocka_unit_test(test_debug_and_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
