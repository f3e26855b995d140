/**
 * @file test_tmrheap.c  switch/tmrheap.c in place of libre's timer list:
 * expiry order (equal expiries in start order), cancel, restart, a
 * handler that starts and cancels timers, and libre's loop driving it
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "tmrheap.h"

enum { N = 5000 };

static struct tmr t[N];
static uint64_t started[N];        /* order of the last start */
static unsigned fired_order[N];
static unsigned nfired;


static void fire(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	assert_false(tmr_isrunning(&t[i]));
	fired_order[nfired++] = i;
	if (!tmrheap_count())
		re_cancel();
}


static void test_order_cancel_restart(void **state)
{
	unsigned i, live = 0;
	uint64_t seq = 0;
	(void)state;

	for (i = 0; i < N; i++)
		tmr_init(&t[i]);

	/* short, long, equal and zero delays */
	for (i = 0; i < N; i++) {
		uint64_t d = (i % 7 == 0) ? 0 : (i % 5 == 0) ? 300 :
			rand_u32() % 400;

		started[i] = ++seq;
		tmr_start(&t[i], d, fire, (void *)(uintptr_t)i);
		assert_true(tmr_isrunning(&t[i]));
	}
	assert_int_equal(tmrheap_count(), N);

	for (i = 0; i < N; i += 3) {
		started[i] = ++seq;
		tmr_start(&t[i], rand_u32() % 400, fire,
			  (void *)(uintptr_t)i);
	}
	for (i = 1; i < N; i += 4) {
		tmr_cancel(&t[i]);
		tmr_cancel(&t[i]);          /* twice: harmless */
		assert_false(tmr_isrunning(&t[i]));
	}

	for (i = 0; i < N; i++)
		live += tmr_isrunning(&t[i]);
	assert_int_equal(tmrheap_count(), live);
	assert_true(tmr_next_timeout(NULL) <= 400);

	nfired = 0;
	(void)re_main(NULL);
	assert_int_equal(nfired, live);
	assert_int_equal(tmrheap_count(), 0);
	assert_int_equal(tmr_next_timeout(NULL), 0);

	/* by expiry, equal expiries in the order they were started */
	for (i = 1; i < nfired; i++) {
		const struct tmr *a = &t[fired_order[i - 1]];
		const struct tmr *b = &t[fired_order[i]];

		assert_true(a->jfs <= b->jfs);
		if (a->jfs == b->jfs)
			assert_true(started[fired_order[i - 1]] <
				    started[fired_order[i]]);
	}
}


struct chain {
	struct tmr a, b, c;
	unsigned a_fired, b_fired, c_fired;
};

static void c_fired(void *arg)
{
	struct chain *ch = arg;

	++ch->c_fired;
	re_cancel();
}

static void b_fired(void *arg)
{
	struct chain *ch = arg;

	++ch->b_fired;
}

/* a's handler cancels b (due at the same moment) and restarts itself
 * once; c ends the loop */
static void a_fired(void *arg)
{
	struct chain *ch = arg;

	if (++ch->a_fired == 1) {
		tmr_cancel(&ch->b);
		tmr_start(&ch->a, 10, a_fired, ch);
		tmr_start(&ch->c, 40, c_fired, ch);
	}
}

static void test_handlers_start_and_cancel(void **state)
{
	struct chain ch;
	(void)state;

	memset(&ch, 0, sizeof(ch));
	tmr_start(&ch.a, 20, a_fired, &ch);
	tmr_start(&ch.b, 20, b_fired, &ch);
	assert_true(tmr_get_expire(&ch.b) <= 20);

	(void)re_main(NULL);
	assert_int_equal(ch.a_fired, 2);
	assert_int_equal(ch.b_fired, 0);
	assert_int_equal(ch.c_fired, 1);
	assert_int_equal(tmrheap_count(), 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_cancel_restart),
		cmocka_unit_test(test_handlers_start_and_cancel),
	};
	int r;

	libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}
