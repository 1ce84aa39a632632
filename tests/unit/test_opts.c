/*
 * tests/unit/test_opts.c - the daemon's command line: counts, the option
 * table, topic config keys as mount options, and what is left for libfuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"

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
			 "-oretention.ms=60000,compression=zstd", "data",
			 "mnt" };
	struct tfs_store_opts so;
	struct fuse_args left;
	struct tfs_cli cli;

	assert_int_equal(parse(&cli, &so, &left, 9, argv), 0);
	assert_string_equal(cli.datadir, "data");
	assert_string_equal(cli.mountpoint, "mnt");
	assert_int_equal(so.cfg.v[TFS_CFG_SEGMENT_BYTES], 1 << 20);
	assert_int_equal(so.cfg.v[TFS_CFG_FLUSH_MS], 100);
	assert_int_equal(so.cfg.v[TFS_CFG_FLUSH_MESSAGES], 5);
	assert_int_equal(so.cfg.v[TFS_CFG_RETENTION_MS], 60000);
	assert_int_equal(so.cfg.v[TFS_CFG_COMPRESSION], TFS_COMPRESSION_ZSTD);
	assert_int_equal(so.cfg.set, 0); /* defaults, not a topic's own */
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
	assert_int_equal(so.cfg.v[TFS_CFG_SEGMENT_BYTES],
			 TFS_DEFAULT_SEGMENT_BYTES);
	assert_int_equal(so.cfg.v[TFS_CFG_FLUSH_MS], 0);
	assert_int_equal(so.cfg.v[TFS_CFG_FLUSH_MESSAGES], 0);
	assert_int_equal(so.cfg.v[TFS_CFG_RETENTION_MS], -1);
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
	char *bad_comp[] = { "topicfs", "-o", "compression=lz4", "d", "m" };
	char *empty[] = { "topicfs", "-o", "retention.ms=", "d", "m" };
	char *extra[] = { "topicfs", "d", "m", "x" };
	char *one[] = { "topicfs", "d" };
	char *help[] = { "topicfs", "-h" };
	char **cases[] = { bad_size, bad_val, bad_ms,	 bad_wb,
			   bad_comp, empty,   extra, one };
	int argcs[] = { 5, 5, 5, 5, 5, 5, 4, 2 };
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

/* key.separator as a mount option: fuse_opt takes one level of
 * backslashes (and "\\," for a comma) before ours. */
static void test_cli_key_separator(void **state)
{
	static const struct {
		const char *opt; /* the -o argument as the shell passes it */
		const char *sep; /* the separator, "" if refused */
	} cases[] = {
		{ "key.separator=:", ":" },
		{ "key.separator=|", "|" },
		{ "key.separator=\\,", "," },
		{ "key.separator=\\\\t", "\t" },
		{ "key.separator=\\\\x2c", "," },
		{ "key.separator=\\t", "t" }, /* one backslash: fuse_opt's */
		{ "key.separator=#", "" },
		{ "key.separator=\\\\q", "" },
		{ "key.separator=123456789", "" },
	};
	struct tfs_store_opts so;
	struct fuse_args left;
	struct tfs_cli cli;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "topicfs", "-o", (char *)cases[i].opt, "d",
				 "m" };
		int err = parse(&cli, &so, &left, 5, argv);

		if (cases[i].sep[0]
			    ? err || strcmp(so.cfg.key_sep, cases[i].sep)
			    : err != -EINVAL)
			fail_msg("-o %s: %d, '%s'", cases[i].opt, err,
				 err ? "" : so.cfg.key_sep);
		fuse_opt_free_args(&left);
		tfs_cli_free(&cli);
	}
}

static void test_usage_mentions_options(void **state)
{
	static const char *const words[] = { "nosplice", "stream",
					     "writeback.ms=", "-f",
					     "DATADIR MOUNTPOINT" };
	char buf[8192] = "", key[64];
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	assert_non_null(f);
	tfs_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(buf, words[i]))
			fail_msg("usage lacks %s", words[i]);
	for (unsigned k = 0; tfs_config_key_name(k); k++) {
		snprintf(key, sizeof(key), " %s=", tfs_config_key_name(k));
		if (!strstr(buf, key))
			fail_msg("usage lacks %s", key);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_cli_options),
		cmocka_unit_test(test_cli_defaults),
		cmocka_unit_test(test_cli_errors),
		cmocka_unit_test(test_cli_key_separator),
		cmocka_unit_test(test_usage_mentions_options),
	};

	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
