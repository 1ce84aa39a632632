/*
 * tests/unit/test_crc32c.c - CRC32C known vectors, incremental use, and
 * agreement of the SSE4.2, carry-less multiply and table-driven paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

static void test_vectors(void **state)
{
	unsigned char zeros[32] = { 0 }, ones[32], inc[32];

	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (unsigned char)i;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* RFC 3720 (iSCSI) B.4 test vectors */
	assert_int_equal(crc32c(0, zeros, 32), 0x8A9136AAu);
	assert_int_equal(crc32c(0, ones, 32), 0x62A8AB43u);
	assert_int_equal(crc32c(0, inc, 32), 0x46DD794Eu);
	assert_int_equal(crc32c_sw(0, inc, 32), 0x46DD794Eu);
}

static void test_incremental(void **state)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s);
	uint32_t whole = crc32c(0, s, n);

	for (size_t k = 0; k <= n; k++) {
		assert_int_equal(crc32c(crc32c(0, s, k), s + k, n - k), whole);
		assert_int_equal(crc32c_sw(crc32c_sw(0, s, k), s + k, n - k),
				 whole);
	}
}

static void test_hw_sw_agree(void **state)
{
	unsigned char *buf = malloc(70000);

	assert_non_null(buf);
	srand(12345);
	for (size_t i = 0; i < 70000; i++)
		buf[i] = (unsigned char)rand();
	if (!crc32c_have_hw()) {
		free(buf);
		skip();
	}
	for (int i = 0; i < 500; i++) {
		size_t off = (size_t)(rand() % 13);
		size_t len = (size_t)(rand() % 69000) | 1; /* odd lengths */

		assert_int_equal(crc32c_hw(0, buf + off, len),
				 crc32c_sw(0, buf + off, len));
		assert_int_equal(crc32c_hw(0x1234, buf + off, len % 17),
				 crc32c_sw(0x1234, buf + off, len % 17));
	}
	free(buf);
}

/* The three-lane path: lengths at and around its lane sizes (3 x 8192,
 * 3 x 256) and a whole 1 MiB record, seeded and unseeded. */
static void test_lanes(void **state)
{
	static const size_t lens[] = { 767,	  768,	   769,	    24575,
				       24576,	  24577,   24576 + 768,
				       49152 + 5, 1 << 20, (1 << 20) + 13 };
	size_t max = (1 << 20) + 32;
	unsigned char *buf = malloc(max);

	assert_non_null(buf);
	for (size_t i = 0; i < max; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	if (!crc32c_have_hw()) {
		free(buf);
		skip();
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t off = 0; off < 3; off++) {
			assert_int_equal(crc32c_hw(0, buf + off, lens[i]),
					 crc32c_sw(0, buf + off, lens[i]));
			assert_int_equal(
				crc32c_hw(0xdeadbeef, buf + off, lens[i]),
				crc32c_sw(0xdeadbeef, buf + off, lens[i]));
		}
	}
	free(buf);
}

/* The carry-less multiply fold (AVX-512 VPCLMULQDQ): every length up to
 * 4,200 bytes (its first fold step at 512, a fold of the four registers at
 * 768 and beyond, a tail of 0-255 bytes) at three misalignments, seeded
 * and unseeded, 300 random lengths and offsets up to 1 MiB, and a record
 * split anywhere between two calls. */
static void test_fold(void **state)
{
	size_t max = (1 << 20) + 4096;
	unsigned char *buf = malloc(max);

	assert_non_null(buf);
	srand(4242);
	for (size_t i = 0; i < max; i++)
		buf[i] = (unsigned char)rand();
	if (!crc32c_have_fold()) {
		free(buf);
		skip();
	}
	for (size_t len = 0; len <= 4200; len++) {
		for (size_t off = 0; off < 3; off++) {
			uint32_t seed = (uint32_t)(len * 2654435761u);

			assert_int_equal(crc32c_fold(0, buf + off * 5, len),
					 crc32c_sw(0, buf + off * 5, len));
			assert_int_equal(crc32c_fold(seed, buf + off * 5, len),
					 crc32c_sw(seed, buf + off * 5, len));
		}
	}
	for (int i = 0; i < 300; i++) {
		size_t off = (size_t)(rand() % 4096);
		size_t len = (size_t)rand() % (1 << 20);

		assert_int_equal(crc32c_fold((uint32_t)i, buf + off, len),
				 crc32c_sw((uint32_t)i, buf + off, len));
	}
	for (size_t k = 0; k <= 3000; k += 7) {
		uint32_t whole = crc32c_sw(0, buf, 3000);

		assert_int_equal(crc32c_fold(crc32c_fold(0, buf, k), buf + k,
					     3000 - k),
				 whole);
	}
	/* the dispatching entry point takes the fold too */
	assert_int_equal(crc32c(0, buf, 1 << 20), crc32c_sw(0, buf, 1 << 20));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_hw_sw_agree),
		cmocka_unit_test(test_lanes),
		cmocka_unit_test(test_fold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
