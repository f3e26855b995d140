/**
 * @file test_randbuf.c  switch/randbuf.c: libre's random numbers drawn
 * from a per-thread buffer of OpenSSL output
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"

enum { N = 200000 };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}


/* 200000 draws of 64 bits: no repeat (a repeat would mean a byte was
 * handed out twice); across buffer refills */
static void test_u64_unique(void **state)
{
	uint64_t *v = malloc(N * sizeof(*v));
	size_t i;
	(void)state;

	assert_non_null(v);
	for (i = 0; i < N; i++)
		v[i] = rand_u64();
	qsort(v, N, sizeof(*v), cmp_u64);
	for (i = 1; i < N; i++)
		assert_true(v[i] != v[i - 1]);
	free(v);
}


/* every byte value, each bit about half the time */
static void test_spread(void **state)
{
	unsigned seen[256] = {0}, bits[32] = {0};
	size_t i, b;
	(void)state;

	for (i = 0; i < N; i++) {
		uint32_t x = rand_u32();
		uint16_t y = rand_u16();

		++seen[x & 0xff];
		++seen[y >> 8];
		for (b = 0; b < 32; b++)
			bits[b] += (x >> b) & 1;
	}

	for (i = 0; i < 256; i++)
		assert_true(seen[i] > 2 * N / 256 / 2);
	for (b = 0; b < 32; b++)
		assert_true(bits[b] > N * 45 / 100 && bits[b] < N * 55 / 100);
}


static void test_bytes(void **state)
{
	uint8_t a[64], b[64], big[10000];
	size_t i, zeros = 0;
	(void)state;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	rand_bytes(a, sizeof(a));
	rand_bytes(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));

	/* larger than the buffer: straight from OpenSSL */
	memset(big, 0, sizeof(big));
	rand_bytes(big, sizeof(big));
	for (i = 0; i < sizeof(big); i++)
		zeros += !big[i];
	assert_true(zeros < 100);          /* ~39 expected */

	rand_bytes(NULL, 10);              /* harmless */
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_unique),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
