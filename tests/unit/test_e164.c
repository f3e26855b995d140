/**
 * @file test_e164.c  Dialled numbers to E.164 per trunk, and their class
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "config.h"
#include "e164.h"


static struct config_trunk trunk(const char *cc, const char *area,
				 const char *intl, const char *natl)
{
	struct config_trunk t;

	memset(&t, 0, sizeof(t));
	t.country_code = (char *)cc;
	t.area_code = (char *)area;
	t.intl_prefix = (char *)intl;
	t.natl_prefix = (char *)natl;
	return t;
}


static void expect(const struct config_trunk *t, const char *dialled,
		   const char *want, enum cos cls)
{
	char out[64];

	assert_int_equal(e164_normalise(out, sizeof(out), dialled, t), 0);
	assert_string_equal(out, want);
	assert_int_equal(e164_class(out, t), cls);
}


static void test_germany(void **state)
{
	struct config_trunk t = trunk("49", "201", "00", "0");
	char out[8];
	(void)state;

	expect(&t, "0201555999", "+49201555999", COS_LOCAL);
	expect(&t, "030 123-456", "+4930123456", COS_NATIONAL);
	expect(&t, "0044 20 7946 0000", "+442079460000", COS_INTERNATIONAL);
	expect(&t, "+4930123456", "+4930123456", COS_NATIONAL);
	expect(&t, "+1 (212) 555-0100", "+12125550100", COS_INTERNATIONAL);
	/* a subscriber number alone: the trunk's own area */
	expect(&t, "555999", "+49201555999", COS_LOCAL);

	assert_int_equal(e164_normalise(out, sizeof(out), "12a4", &t),
			 EINVAL);
	assert_int_equal(e164_normalise(out, sizeof(out), "--", &t), EINVAL);
	assert_int_equal(e164_normalise(out, sizeof(out), "0201555999", &t),
			 ENOMEM);
}


static void test_north_america(void **state)
{
	struct config_trunk t = trunk("1", NULL, "011", "1");
	(void)state;

	expect(&t, "12125550100", "+12125550100", COS_NATIONAL);
	expect(&t, "2125550100", "+12125550100", COS_NATIONAL);
	expect(&t, "01144207946", "+44207946", COS_INTERNATIONAL);
}


static void test_no_country(void **state)
{
	struct config_trunk t = trunk(NULL, NULL, "00", "0");
	(void)state;

	/* as dialled: the provider knows what to do with it */
	expect(&t, "0201555999", "0201555999", COS_NATIONAL);
	expect(&t, "+4930123", "+4930123", COS_NATIONAL);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_germany),
		cmocka_unit_test(test_north_america),
		cmocka_unit_test(test_no_country),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
