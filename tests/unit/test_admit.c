/**
 * @file test_admit.c  Admission of new calls: backlog hysteresis, limits
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "admit.h"


static void test_backlog_hysteresis(void **state)
{
	struct admit a;
	(void)state;

	memset(&a, 0, sizeof(a));

	assert_int_equal(admit_backlog(&a, 0), ADMIT_OK);
	assert_int_equal(admit_backlog(&a, ADMIT_BACKLOG_HIGH - 1), ADMIT_OK);

	/* over the high mark: refused, and still refused on the way
	 * down until the queue is below the low mark */
	assert_int_equal(admit_backlog(&a, ADMIT_BACKLOG_HIGH),
			 ADMIT_BACKLOG);
	assert_int_equal(admit_backlog(&a, ADMIT_BACKLOG_HIGH - 1),
			 ADMIT_BACKLOG);
	assert_int_equal(admit_backlog(&a, ADMIT_BACKLOG_LOW), ADMIT_BACKLOG);
	assert_int_equal(admit_backlog(&a, ADMIT_BACKLOG_LOW - 1), ADMIT_OK);
	assert_int_equal(admit_backlog(&a, ADMIT_BACKLOG_HIGH - 1), ADMIT_OK);

	assert_int_equal(a.refused[ADMIT_BACKLOG], 3);
}


static void test_max_calls(void **state)
{
	struct admit a;
	(void)state;

	memset(&a, 0, sizeof(a));

	/* 0: no limit */
	assert_int_equal(admit_limits(&a, 0, 0, 100000, 1000), ADMIT_OK);

	assert_int_equal(admit_limits(&a, 2, 0, 0, 1000), ADMIT_OK);
	assert_int_equal(admit_limits(&a, 2, 0, 1, 1000), ADMIT_OK);
	assert_int_equal(admit_limits(&a, 2, 0, 2, 1000), ADMIT_MAX_CALLS);
	assert_int_equal(admit_limits(&a, 2, 0, 3, 1000), ADMIT_MAX_CALLS);
	assert_int_equal(a.refused[ADMIT_MAX_CALLS], 2);
}


static void test_calls_per_second(void **state)
{
	struct admit a;
	int i;
	(void)state;

	memset(&a, 0, sizeof(a));

	/* three per second: the fourth in the same second is refused,
	 * the next second starts again; refusals do not use the budget */
	for (i = 0; i < 3; i++)
		assert_int_equal(admit_limits(&a, 0, 3, 0, 5000 + i * 300),
				 ADMIT_OK);
	assert_int_equal(admit_limits(&a, 0, 3, 0, 5950), ADMIT_RATE);
	assert_int_equal(admit_limits(&a, 0, 3, 0, 5999), ADMIT_RATE);
	assert_int_equal(admit_limits(&a, 0, 3, 0, 6000), ADMIT_OK);
	assert_int_equal(admit_limits(&a, 0, 3, 0, 6001), ADMIT_OK);
	assert_int_equal(admit_limits(&a, 0, 3, 0, 6002), ADMIT_OK);
	assert_int_equal(admit_limits(&a, 0, 3, 0, 6003), ADMIT_RATE);
	assert_int_equal(a.refused[ADMIT_RATE], 3);

	assert_string_equal(admit_verdict_str(ADMIT_RATE),
			    "calls-per-second reached");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backlog_hysteresis),
		cmocka_unit_test(test_max_calls),
		cmocka_unit_test(test_calls_per_second),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
