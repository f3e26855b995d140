/**
 * @file test_cause.c  Hangup causes: names, numbers and SIP codes
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "cause.h"


/* Above every number in the table (FreeSWITCH's own end at 8xx) */
#define NUM_MAX 1000


static void test_by_name(void **state)
{
	static const struct {
		const char *name;
		int num;
	} tc[] = {
		{"UNALLOCATED_NUMBER",         1},
		{"NO_ROUTE_DESTINATION",       3},
		{"NORMAL_CLEARING",           16},
		{"USER_BUSY",                 17},
		{"NO_USER_RESPONSE",          18},
		{"NO_ANSWER",                 19},
		{"CALL_REJECTED",             21},
		{"NUMBER_CHANGED",            22},
		{"DESTINATION_OUT_OF_ORDER",  27},
		{"INVALID_NUMBER_FORMAT",     28},
		{"NORMAL_CIRCUIT_CONGESTION", 34},
		{"NORMAL_TEMPORARY_FAILURE",  41},
		{"SWITCH_CONGESTION",         42},
		{"BEARERCAPABILITY_NOTAUTH",  57},
		{"SERVICE_UNAVAILABLE",       63},
		{"INCOMPATIBLE_DESTINATION",  88},
		{"RECOVERY_ON_TIMER_EXPIRE", 102},
		{"INTERWORKING",             127},
		{"ORIGINATOR_CANCEL",        487},
		{"LOSE_RACE",                702},
		{"MEDIA_TIMEOUT",            804},
		{"USER_NOT_REGISTERED",      806},
		{"GATEWAY_DOWN",             809},
		{"user_busy",                 17},
		{"Normal_Clearing",           16},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(tc); i++) {
		const struct cause *c = cause_by_name(tc[i].name);

		assert_non_null(c);
		assert_int_equal(c->num, tc[i].num);
	}

	assert_null(cause_by_name(NULL));
	assert_null(cause_by_name(""));
	assert_null(cause_by_name("BUSY"));
	assert_null(cause_by_name("USER_BUSY "));
	assert_null(cause_by_name("17"));
	assert_null(cause_by_pl(NULL));
	assert_null(cause_by_pl(&pl_null));
}


static void test_by_number(void **state)
{
	(void)state;

	assert_string_equal(cause_by_number(1)->name, "UNALLOCATED_NUMBER");
	assert_string_equal(cause_by_number(16)->name, "NORMAL_CLEARING");
	assert_string_equal(cause_by_number(17)->name, "USER_BUSY");
	assert_string_equal(cause_by_number(127)->name, "INTERWORKING");
	assert_string_equal(cause_by_number(487)->name, "ORIGINATOR_CANCEL");

	assert_null(cause_by_number(0));
	assert_null(cause_by_number(-1));
	assert_null(cause_by_number(4));
	assert_null(cause_by_number(128));
	assert_null(cause_by_number(486));
	assert_null(cause_by_number(NUM_MAX));
}


/* Every entry is found both ways, names and numbers are unique */
static void test_table_round_trip(void **state)
{
	int num, n = 0;
	(void)state;

	for (num = -1; num <= NUM_MAX; num++) {
		const struct cause *c = cause_by_number(num);

		if (!c)
			continue;

		++n;
		assert_int_equal(c->num, num);
		assert_ptr_equal(cause_by_name(c->name), c);
		assert_true(c->scode >= 400 && c->scode <= 699);
		assert_int_equal(cause_to_sip(num), c->scode);
		assert_int_equal(cause_is_q850(c), num >= 1 && num <= 127);
	}

	assert_true(n >= 60);
	assert_false(cause_is_q850(NULL));
}


static void test_from_sip(void **state)
{
	static const struct {
		uint16_t scode;
		int num;
	} tc[] = {
		{400,  41}, {401,  21}, {403,  21}, {404,   1}, {405,  63},
		{407,  21}, {408, 102}, {410,  22}, {415,  79}, {480,  18},
		{481,  41}, {482,  25}, {484,  28}, {485,   1}, {486,  17},
		{487, 487}, {488,  88}, {500,  41}, {501,  79}, {502,  38},
		{503,  41}, {504, 102}, {505, 127}, {600,  17}, {603,  21},
		{604,   1}, {606,  88},
		/* Not in RFC 3398's list: "normal, unspecified" */
		{301,  31}, {409,  31}, {499,  31}, {580,  31}, {699,  31},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(tc); i++) {
		const struct cause *c = cause_from_sip(tc[i].scode);

		assert_non_null(c);
		if (c->num != tc[i].num)
			print_error("%u: expected %d, got %d\n",
				    tc[i].scode, tc[i].num, c->num);
		assert_int_equal(c->num, tc[i].num);
	}

	/* Not failures */
	assert_null(cause_from_sip(0));
	assert_null(cause_from_sip(100));
	assert_null(cause_from_sip(180));
	assert_null(cause_from_sip(200));
	assert_null(cause_from_sip(299));
	assert_null(cause_from_sip(700));
	assert_null(cause_from_sip(65535));
}


static void test_to_sip(void **state)
{
	static const struct {
		int num;
		uint16_t scode;
	} tc[] = {
		{  1, 404}, {  3, 404}, { 17, 486}, { 18, 408}, { 19, 480},
		{ 20, 480}, { 21, 403}, { 22, 410}, { 27, 502}, { 28, 484},
		{ 31, 480}, { 34, 503}, { 38, 503}, { 41, 503}, { 42, 503},
		{ 57, 403}, { 58, 503}, { 65, 488}, { 79, 501}, { 88, 488},
		{102, 504}, {111, 500}, {127, 500}, {487, 487}, {809, 503},
		/* Not in the table: by Q.850 class */
		{  4, 480}, { 24, 480}, { 47, 503}, { 49, 503}, { 70, 501},
		{ 90, 500}, {110, 500}, {120, 500},
		/* Not a cause at all */
		{  0, 500}, { -1, 500}, {128, 500}, {486, 500}, {9999, 500},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(tc); i++) {
		if (cause_to_sip(tc[i].num) != tc[i].scode)
			print_error("%d: expected %u, got %u\n", tc[i].num,
				    tc[i].scode, cause_to_sip(tc[i].num));
		assert_int_equal(cause_to_sip(tc[i].num), tc[i].scode);
	}
}


/* Where the two mappings agree, a failure crosses the B2BUA unchanged */
static void test_sip_round_trip(void **state)
{
	static const uint16_t scodes[] = {
		403, 404, 410, 484, 486, 487, 488, 504
	};
	static const int nums[] = {1, 17, 21, 22, 28, 88, 102, 487};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(scodes); i++)
		assert_int_equal(cause_to_sip(cause_from_sip(scodes[i])->num),
				 scodes[i]);

	for (i = 0; i < ARRAY_SIZE(nums); i++)
		assert_int_equal(cause_from_sip(cause_to_sip(nums[i]))->num,
				 nums[i]);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_by_number),
		cmocka_unit_test(test_table_round_trip),
		cmocka_unit_test(test_from_sip),
		cmocka_unit_test(test_to_sip),
		cmocka_unit_test(test_sip_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
