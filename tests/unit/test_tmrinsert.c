/**
 * @file test_tmrinsert.c  switch/tmrinsert.c keeps libre's timer list
 * sorted, equal expiries in insertion order, and libre fires from it
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"

extern struct list *tmrl_get(void);

enum { N = 3000 };

static struct tmr t[N];
static unsigned seqno[N];
static unsigned fired_order[N];
static unsigned nfired;


static void check_sorted(void)
{
	struct le *le;
	uint64_t last = 0;
	unsigned last_seq = 0;

	for (le = tmrl_get()->head; le; le = le->next) {
		const struct tmr *x = le->data;
		unsigned i = (unsigned)(x - t);

		assert_true(x->jfs >= last);
		if (x->jfs == last)
			assert_true(seqno[i] > last_seq);
		last = x->jfs;
		last_seq = seqno[i];
	}
}


static void fire(void *arg)
{
	fired_order[nfired++] = (unsigned)(uintptr_t)arg;
	if (!tmrl_get()->head)
		re_cancel();
}


static void test_sorted_and_fired_in_order(void **state)
{
	unsigned i, seq = 0, live = 0;
	uint64_t prev = 0;
	(void)state;

	for (i = 0; i < N; i++)
		tmr_init(&t[i]);

	/* delays that land everywhere: short, long, equal, zero */
	for (i = 0; i < N; i++) {
		uint64_t d = (i % 7 == 0) ? 0 : (i % 5 == 0) ? 300 :
			rand_u32() % 400;

		seqno[i] = ++seq;
		tmr_start(&t[i], d, fire, (void *)(uintptr_t)i);
	}
	check_sorted();

	/* restart some, cancel some */
	for (i = 0; i < N; i += 3) {
		seqno[i] = ++seq;
		tmr_start(&t[i], rand_u32() % 400, fire, (void *)(uintptr_t)i);
	}
	for (i = 1; i < N; i += 4)
		tmr_cancel(&t[i]);
	check_sorted();

	for (i = 0; i < N; i++)
		live += tmr_isrunning(&t[i]);
	assert_int_equal(list_count(tmrl_get()), live);

	nfired = 0;
	(void)re_main(NULL);
	assert_int_equal(nfired, live);

	/* libre fired them by expiry */
	for (i = 0; i < nfired; i++) {
		assert_true(t[fired_order[i]].jfs >= prev);
		prev = t[fired_order[i]].jfs;
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_and_fired_in_order),
	};
	int r;

	libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}
