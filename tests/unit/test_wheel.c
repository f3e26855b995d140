/**
 * @file test_wheel.c  The timing wheel: due times, cancel, restart, many
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "core.h"
#include "wheel.h"

enum { TICK_MS = 20, MANY = 20000 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct rec {
	uint64_t fired_at;
	unsigned fired;
	unsigned *order;
	unsigned *pos;
	unsigned id;
};

static void fire(void *arg)
{
	struct rec *r = arg;

	r->fired_at = now_ms();
	++r->fired;
	if (r->order)
		r->order[(*r->pos)++] = r->id;
	if (!wheel_count())
		re_cancel();
}

static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

/* run the loop until every wheel timer has fired, or limit ms */
static void run(uint32_t limit)
{
	struct tmr guard;

	tmr_init(&guard);
	tmr_start(&guard, limit, stop_loop, NULL);
	(void)re_main(NULL);
	tmr_cancel(&guard);
}


static void test_due_and_order(void **state)
{
	static const uint32_t ms[] = {150, 30, 0, 90, 60};
	struct wtmr t[5];
	struct rec r[5];
	unsigned order[5], pos = 0, i;
	uint64_t t0 = now_ms();
	(void)state;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 5; i++) {
		wtmr_init(&t[i]);
		r[i].order = order;
		r[i].pos = &pos;
		r[i].id = i;
		wtmr_start(&t[i], ms[i], fire, &r[i]);
	}
	assert_int_equal(wheel_count(), 5);

	run(2000);

	assert_int_equal(pos, 5);
	assert_int_equal(wheel_count(), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(r[i].fired, 1);
		assert_true(r[i].fired_at - t0 >= ms[i]);
		assert_true(r[i].fired_at - t0 <= ms[i] + 3 * TICK_MS + 50);
		assert_false(wtmr_isrunning(&t[i]));
	}
	/* earliest first: 0, 30, 60, 90, 150 */
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 4);
	assert_int_equal(order[3], 3);
	assert_int_equal(order[4], 0);
}


static void test_cancel_and_restart(void **state)
{
	struct wtmr a, b;
	struct rec ra, rb;
	uint64_t t0 = now_ms();
	(void)state;

	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	wtmr_init(&a);
	wtmr_init(&b);

	wtmr_start(&a, 40, fire, &ra);
	wtmr_start(&b, 40, fire, &rb);
	wtmr_cancel(&a);
	wtmr_cancel(&a);                /* twice: harmless */
	assert_false(wtmr_isrunning(&a));

	/* restarted later: the first due time is forgotten */
	wtmr_start(&b, 120, fire, &rb);
	assert_int_equal(wheel_count(), 1);

	run(2000);
	assert_int_equal(ra.fired, 0);
	assert_int_equal(rb.fired, 1);
	assert_true(rb.fired_at - t0 >= 120);
}


/* Two timers due in the same tick, the first one's handler cancels and
 * frees the second (both legs of a call time out together) */
struct pair {
	struct wtmr a;
	struct wtmr *b;         /* heap: freed by a's handler */
	unsigned fired;
};

static void cancel_other(void *arg)
{
	struct pair *p = arg;

	++p->fired;
	if (p->b) {
		wtmr_cancel(p->b);
		mem_deref(p->b);
		p->b = NULL;
	}
	re_cancel();
}

static void test_handler_cancels_other(void **state)
{
	struct pair p;
	(void)state;

	memset(&p, 0, sizeof(p));
	p.b = mem_zalloc(sizeof(*p.b), NULL);
	assert_non_null(p.b);
	wtmr_init(&p.a);
	wtmr_start(&p.a, 30, cancel_other, &p);
	wtmr_start(p.b, 30, cancel_other, &p);

	run(2000);
	assert_int_equal(p.fired, 1);
	assert_null(p.b);
	assert_int_equal(wheel_count(), 0);
}


/* Due beyond one turn of the wheel (41 s): waits its turns. Simulated
 * with many timers spread over the slots, the far one not fired early. */
static void test_many(void **state)
{
	static struct wtmr t[MANY];
	static struct rec r[MANY];
	struct wtmr far;
	struct rec rf;
	unsigned i, fired = 0;
	(void)state;

	memset(r, 0, sizeof(r));
	memset(&rf, 0, sizeof(rf));
	wtmr_init(&far);
	wtmr_start(&far, 60000, fire, &rf);

	for (i = 0; i < MANY; i++) {
		wtmr_init(&t[i]);
		wtmr_start(&t[i], i % 200, fire, &r[i]);
	}
	/* half of them cancelled */
	for (i = 0; i < MANY; i += 2)
		wtmr_cancel(&t[i]);
	assert_int_equal(wheel_count(), MANY / 2 + 1);

	run(400);
	for (i = 0; i < MANY; i++)
		fired += r[i].fired;
	assert_int_equal(fired, MANY / 2);
	assert_int_equal(rf.fired, 0);
	assert_true(wtmr_isrunning(&far));

	wheel_close();
	assert_int_equal(wheel_count(), 0);
	assert_false(wtmr_isrunning(&far));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_and_order),
		cmocka_unit_test(test_cancel_and_restart),
		cmocka_unit_test(test_handler_cancels_other),
		cmocka_unit_test(test_many),
	};
	int r;

	libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}
