/*
 * tests/unit/test_when.c - the WHEN of .since/WHEN/: ages, epoch
 * milliseconds and ISO-8601 UTC times, and everything else refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tfs.h"

#define NOW 1764064800000ll /* 2025-11-25T10:00:00Z */

static void test_good(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} cases[] = {
		{ "-10m", NOW - 600000 },
		{ "-0s", NOW },
		{ "-2h", NOW - 7200000 },
		{ "-1d", NOW - 86400000 },
		{ "-1w", NOW - 604800000 },
		{ "0", 0 },
		{ "1764064800000", NOW },
		{ "2025-11-25T10:00Z", NOW },
		{ "2025-11-25T10:00:00Z", NOW },
		{ "2025-11-25T10:00:01.5Z", NOW + 1500 },
		{ "2025-11-25T10:00:01.123456Z", NOW + 1123 },
		{ "2024-02-29T00:00Z", 1709164800000ll },
		{ "2024-02-29", 1709164800000ll }, /* a date: its midnight */
		{ "2025-11-25", NOW - 36000000 },
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = -1;
		if (tfs_view_parse_when(cases[i].in, NOW, &ms) ||
		    ms != cases[i].ms)
			fail_msg("%s: %lld", cases[i].in, (long long)ms);
	}
}

static void test_bad(void **state)
{
	static const char *const cases[] = {
		"", "-", "-m", "- 10m", "-+10m", "--10m", "-10", "-10mm",
		"-10x", "-99999999999999999w", " 5", "+5", "5 ", "5x", "-5",
		"99999999999999999999", "yesterday", "2026-02-31T10:00Z",
		"2025-02-29T10:00Z", "2026-11-25T10:00:00.Z", " 2026-11-25T10:00Z",
		"2026-1-5T1:2Z", "2026-11-25T24:00Z", "2026-11-25T10:60Z",
		"2026-11-25T10:00:60Z", "2026-13-01T10:00Z", "2026-00-01T10:00Z",
		"2026-11-00T10:00Z", "2026-11-25T10:00", "2026-11-25T10:00z",
		"2026-11-25T10:00Z ", "2026-11-25T10:00:0Z", "T",
		"2026-02-30", "2026-13-01", "2026-1-05", "2026-11-5 ", "2026/11/25",
		"2026-11-25Z",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tfs_view_parse_when(cases[i], NOW, &ms) != -EINVAL)
			fail_msg("\"%s\" was accepted: %lld", cases[i],
				 (long long)ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("when", tests, NULL, NULL);
}
