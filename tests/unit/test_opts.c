/*
 * tests/unit/test_opts.c - the daemon's command line: sizes, counts, the
 * option table and what is left for libfuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		int err;
		uint64_t out;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "4k", 0, 4096 },
		{ "4K", 0, 4096 },
		{ "64M", 0, 64ull << 20 },
		{ "64MiB", 0, 64ull << 20 },
		{ "64MB", 0, 64ull << 20 },
		{ "1G", 0, 1ull << 30 },
		{ "2T", 0, 2ull << 40 },
		{ "", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1MM", -EINVAL, 0 },
		{ "1.5M", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int err = tfs_parse_size(cases[i].in, &v);

		if (err != cases[i].err || (err == 0 && v != cases[i].out))
			fail_msg("tfs_parse_size(\"%s\") = %d, %llu",
				 cases[i].in, err, (unsigned long long)v);
	}
	assert_int_equal(tfs_parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void test_parse_count(void **state)
{
	uint64_t v;

	assert_int_equal(tfs_parse_count("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(tfs_parse_count("10k", &v), -EINVAL);
	assert_int_equal(tfs_parse_count("", &v), -EINVAL);
	assert_int_equal(tfs_parse_count("x", &v), -EINVAL);
}

/* Parse argv; the leftover arguments for libfuse come back in *left. */
static int parse(struct tfs_cli *cli, struct tfs_store_opts *so,
		 struct fuse_args *left, int argc, char **argv)
{
	*left = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	for (int i = 0; i < argc; i++)
		fuse_opt_add_arg(left, argv[i]);
	memset(cli, 0, sizeof(*cli));
	return tfs_cli_parse(left, cli, so);
}

static void test_cli_options(void **state)
{
	char *argv[] = { "topicfs", "-f", "-o",
			 "segment.bytes=1M,allow_other,flush.ms=100",
			 "-o", "flush.messages=5,nosplice,stream,writeback.ms=7",
			 "data", "mnt" };
	struct tfs_store_opts so;
	struct fuse_args left;
	struct tfs_cli cli;

	assert_int_equal(parse(&cli, &so, &left, 8, argv), 0);
	assert_string_equal(cli.datadir, "data");
	assert_string_equal(cli.mountpoint, "mnt");
	assert_int_equal(so.segment_bytes, 1 << 20);
	assert_int_equal(so.flush_ms, 100);
	assert_int_equal(so.flush_messages, 5);
	assert_int_equal(cli.nosplice, 1);
	assert_int_equal(cli.stream, 1);
	assert_int_equal(cli.writeback, 7);
	assert_int_equal(cli.foreground, 1);
	/* only argv[0] and the FUSE option are left for libfuse */
	assert_int_equal(left.argc, 3);
	assert_string_equal(left.argv[0], "topicfs");
	assert_string_equal(left.argv[1], "-o");
	assert_string_equal(left.argv[2], "allow_other");
	fuse_opt_free_args(&left);
	tfs_cli_free(&cli);
}

static void test_cli_defaults(void **state)
{
	char *argv[] = { "topicfs", "d", "m" };
	struct tfs_store_opts so;
	struct fuse_args left;
	struct tfs_cli cli;

	assert_int_equal(parse(&cli, &so, &left, 3, argv), 0);
	assert_int_equal(so.segment_bytes, TFS_DEFAULT_SEGMENT_BYTES);
	assert_int_equal(so.flush_ms, 0);
	assert_int_equal(so.flush_messages, 0);
	assert_int_equal(cli.foreground, 0);
	assert_int_equal(cli.nosplice, 0);
	assert_int_equal(cli.stream, 0);
	assert_int_equal(cli.writeback, TFS_WRITEBACK_MS_DEFAULT);
	fuse_opt_free_args(&left);
	tfs_cli_free(&cli);
}

static void test_cli_errors(void **state)
{
	char *bad_size[] = { "topicfs", "-o", "segment.bytes=12", "d", "m" };
	char *bad_val[] = { "topicfs", "-o", "segment.bytes=abc", "d", "m" };
	char *bad_ms[] = { "topicfs", "-o", "flush.ms=-5", "d", "m" };
	char *bad_wb[] = { "topicfs", "-o", "writeback.ms=0", "d", "m" };
	char *extra[] = { "topicfs", "d", "m", "x" };
	char *one[] = { "topicfs", "d" };
	char *help[] = { "topicfs", "-h" };
	char **cases[] = { bad_size, bad_val, bad_ms, bad_wb, extra, one };
	int argcs[] = { 5, 5, 5, 5, 4, 2 };
	struct tfs_store_opts so;
	struct fuse_args left;
	struct tfs_cli cli;

	for (size_t i = 0; i < sizeof(argcs) / sizeof(argcs[0]); i++) {
		if (parse(&cli, &so, &left, argcs[i], cases[i]) != -EINVAL)
			fail_msg("case %zu was accepted", i);
		fuse_opt_free_args(&left);
		tfs_cli_free(&cli);
	}
	/* -h needs no positional arguments */
	assert_int_equal(parse(&cli, &so, &left, 2, help), 0);
	assert_int_equal(cli.show_help, 1);
	fuse_opt_free_args(&left);
	tfs_cli_free(&cli);
}

static void test_usage_mentions_options(void **state)
{
	static const char *const words[] = { "segment.bytes=", "flush.messages=",
					     "flush.ms=", "nosplice", "stream",
					     "writeback.ms=", "-f",
					     "DATADIR MOUNTPOINT" };
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	assert_non_null(f);
	tfs_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(buf, words[i]))
			fail_msg("usage lacks %s", words[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_cli_options),
		cmocka_unit_test(test_cli_defaults),
		cmocka_unit_test(test_cli_errors),
		cmocka_unit_test(test_usage_mentions_options),
	};

	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
