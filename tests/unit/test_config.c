/*
 * tests/unit/test_config.c - topic configuration: the key=value parser
 * (values, sizes, ranges, all-or-nothing), the text form, and a topic's
 * own keys persisted, reloaded and acting on appends.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "topicfs/store.h"
#include "store_helpers.h"
#include "store_fixture.h"

static int parse(struct tfs_config *c, const char *text)
{
	return tfs_config_parse(c, text, strlen(text), NULL, 0);
}

static void test_defaults(void **state)
{
	struct tfs_config c;

	tfs_config_init(&c);
	assert_int_equal(c.set, 0);
	assert_int_equal(c.v[TFS_CFG_RETENTION_MS], -1);
	assert_int_equal(c.v[TFS_CFG_RETENTION_BYTES], -1);
	assert_int_equal(c.v[TFS_CFG_SEGMENT_BYTES], TFS_DEFAULT_SEGMENT_BYTES);
	assert_int_equal(c.v[TFS_CFG_SEGMENT_MS], 7 * 24 * 3600 * 1000ll);
	assert_int_equal(c.v[TFS_CFG_COMPRESSION], TFS_COMPRESSION_NONE);
	assert_int_equal(c.v[TFS_CFG_MAX_MESSAGE_BYTES], 1 << 20);
	assert_string_equal(c.key_sep, "");
	assert_int_equal(c.v[TFS_CFG_KEY_SEPARATOR], 0);
	assert_string_equal(tfs_config_key_name(0), "retention.ms");
	assert_string_equal(tfs_config_key_name(TFS_CFG_KEY_SEPARATOR),
			    "key.separator");
	assert_null(tfs_config_key_name(TFS_CFG_NKEYS));
}

/* Sizes, suffixes and ranges through retention.bytes (-1..INT64_MAX). */
static void test_values(void **state)
{
	static const struct {
		const char *in;
		int err;
		int64_t out;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "4k", 0, 4096 },
		{ "4K", 0, 4096 },
		{ "64M", 0, 64ll << 20 },
		{ "64MiB", 0, 64ll << 20 },
		{ "64MB", 0, 64ll << 20 },
		{ "1G", 0, 1ll << 30 },
		{ "2T", 0, 2ll << 40 },
		{ "-1", 0, -1 },
		{ " 7 ", 0, 7 },
		{ "-2", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1MM", -EINVAL, 0 },
		{ "1.5M", -EINVAL, 0 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "9223372036854775800", 0, 9223372036854775800ll },
		{ "9223372036854775808", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "17179869184G", -EINVAL, 0 },
	};
	char line[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tfs_config c;
		int err;

		tfs_config_init(&c);
		snprintf(line, sizeof(line), "retention.bytes=%s", cases[i].in);
		err = parse(&c, line);
		if (err != cases[i].err ||
		    (!err && c.v[TFS_CFG_RETENTION_BYTES] != cases[i].out))
			fail_msg("%s: %d, %lld", line, err,
				 (long long)c.v[TFS_CFG_RETENTION_BYTES]);
		if (!err)
			assert_int_equal(c.set,
					 TFS_CFG_BIT(TFS_CFG_RETENTION_BYTES));
	}
}

static void test_refusals(void **state)
{
	static const char *const bad[] = {
		"nokey=1",
		"retention.ms",
		"retention.ms=1k",	/* only sizes take suffixes */
		"segment.bytes=100",	/* below 4096 */
		"compression=lz4",
		"compression.level=0",
		"compression.level=20",
		"max.message.bytes=17M",
		"flush.ms=-1",
		"segment.ms=0",
		"key.separator=123456789", /* 1 to 8 bytes */
		"key.separator=\\q",	   /* escapes: \t \n \r \\ \xHH */
		"key.separator=\\x00",	   /* no NUL */
		"retention.ms=5\nbogus=1", /* all or nothing */
	};
	struct tfs_config c, before;
	char why[256];

	tfs_config_init(&c);
	assert_int_equal(parse(&c, "flush.ms=10"), 0);
	before = c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (tfs_config_parse(&c, bad[i], strlen(bad[i]), why,
				     sizeof(why)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		if (!why[0])
			fail_msg("no reason for: %s", bad[i]);
		assert_memory_equal(&c, &before, sizeof(c));
	}
	assert_int_equal(tfs_config_parse(&c, "a\0b", 3, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "NUL"));
	tfs_config_parse(&c, "nokey=1", 7, why, sizeof(why));
	assert_string_equal(why, "unknown key 'nokey'");
}

static void test_lines_comments_reset(void **state)
{
	const char *text = "# a comment\n"
			   "\n"
			   "  retention.ms = 3600000  # one hour\r\n"
			   "compression=zstd\n"
			   "key.separator = \\t|  # a tab and a pipe\n"
			   "segment.bytes=1M";
	struct tfs_config c, d, eff;
	char buf[1024];

	tfs_config_init(&c);
	assert_int_equal(parse(&c, text), 0);
	assert_int_equal(c.v[TFS_CFG_RETENTION_MS], 3600000);
	assert_int_equal(c.v[TFS_CFG_COMPRESSION], TFS_COMPRESSION_ZSTD);
	assert_int_equal(c.v[TFS_CFG_SEGMENT_BYTES], 1 << 20);
	assert_string_equal(c.key_sep, "\t|");
	assert_int_equal(c.set, TFS_CFG_BIT(TFS_CFG_RETENTION_MS) |
					TFS_CFG_BIT(TFS_CFG_COMPRESSION) |
					TFS_CFG_BIT(TFS_CFG_SEGMENT_BYTES) |
					TFS_CFG_BIT(TFS_CFG_KEY_SEPARATOR));
	/* an empty value returns the key to the defaults */
	assert_int_equal(parse(&c, "compression="), 0);
	assert_false(c.set & TFS_CFG_BIT(TFS_CFG_COMPRESSION));
	/* a '#' right after the '=' is the value, not a comment that
	 * empties it: refused, and nothing changes */
	assert_int_equal(parse(&c, "key.separator=#"), -EINVAL);
	assert_int_equal(parse(&c, "retention.ms=#1000"), -EINVAL);
	assert_int_equal(parse(&c, "retention.ms=1000#x"), -EINVAL);
	assert_int_equal(c.v[TFS_CFG_RETENTION_MS], 3600000);
	assert_string_equal(c.key_sep, "\t|");
	assert_int_equal(parse(&c, "key.separator=\\x23"), 0);
	assert_string_equal(c.key_sep, "#");
	assert_int_equal(parse(&c, "key.separator=\\t|\t# a tab"), 0);
	assert_string_equal(c.key_sep, "\t|");
	/* merge: own keys over the defaults */
	tfs_config_init(&d);
	d.v[TFS_CFG_FLUSH_MS] = 50;
	d.v[TFS_CFG_RETENTION_MS] = 1;
	strcpy(d.key_sep, ",");
	tfs_config_merge(&eff, &d, &c);
	assert_int_equal(eff.v[TFS_CFG_FLUSH_MS], 50);
	assert_int_equal(eff.v[TFS_CFG_RETENTION_MS], 3600000);
	assert_string_equal(eff.key_sep, "\t|");
	/* text: own keys bare, defaults marked; the persisted form only has
	 * own keys, and parses back to the same */
	tfs_config_format(&eff, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "retention.ms=3600000\n"));
	assert_non_null(strstr(buf, "flush.ms=50  # default\n"));
	assert_non_null(strstr(buf, "compression=none  # default\n"));
	tfs_config_format(&c, false, buf, sizeof(buf));
	assert_string_equal(buf, "retention.ms=3600000\nsegment.bytes=1048576\n"
				 "key.separator=\\t|\n");
	tfs_config_init(&d);
	assert_int_equal(parse(&d, buf), 0);
	assert_int_equal(d.set, c.set);
	assert_string_equal(d.key_sep, "\t|");
	/* its reset: the default's separator again */
	assert_int_equal(parse(&d, "key.separator="), 0);
	assert_string_equal(d.key_sep, "");
	assert_false(d.set & TFS_CFG_BIT(TFS_CFG_KEY_SEPARATOR));
	/* the full text parses too (a user may paste it back) */
	tfs_config_format(&eff, true, buf, sizeof(buf));
	tfs_config_init(&d);
	assert_int_equal(parse(&d, buf), 0);
	/* a short buffer truncates but reports the full length */
	assert_true(tfs_config_format(&eff, true, buf, 10) > 10);
}

/* A topic's own keys persist in DATADIR/TOPIC/.config and survive a
 * reopen; a damaged file is logged and the defaults apply. */
static void test_topic_persist(void **state)
{
	struct fix *f = *state;
	struct tfs_config c;
	char path[4200], why[256];

	assert_int_equal(tfs_topic_config_set(f->t, "retention.ms=1000\n", 18,
					      why, sizeof(why)),
			 0);
	assert_int_equal(tfs_topic_config_set(f->t, "key.separator=\\x20", 18,
					      why, sizeof(why)),
			 0);
	assert_int_equal(tfs_topic_config_set(f->t, "key.separator=\\", 15, why,
					      sizeof(why)),
			 -EINVAL);
	assert_int_equal(tfs_topic_config_set(f->t, "bogus=1", 7, why,
					      sizeof(why)),
			 -EINVAL);
	tfs_topic_config(f->t, &c);
	assert_int_equal(c.v[TFS_CFG_RETENTION_MS], 1000);
	assert_string_equal(c.key_sep, " ");
	assert_int_equal(c.set, TFS_CFG_BIT(TFS_CFG_RETENTION_MS) |
					TFS_CFG_BIT(TFS_CFG_KEY_SEPARATOR));
	fix_close(f);
	/* a temp file left by a crash mid-write is removed at load */
	snprintf(path, sizeof(path), "%s/t/.config.tmp", f->dir);
	assert_int_equal(th_write_text(path, "retention.ms=5\n"), 0);
	fix_open(f);
	tfs_topic_config(f->t, &c);
	assert_int_equal(c.v[TFS_CFG_RETENTION_MS], 1000);
	assert_string_equal(c.key_sep, " ");
	assert_int_equal(access(path, F_OK), -1);
	assert_true(th_logged("unfinished config write", NULL, NULL));
	fix_close(f);
	snprintf(path, sizeof(path), "%s/t/.config", f->dir);
	assert_int_equal(th_write_text(path, "retention.ms=x\n"), 0);
	th_log_clear();
	fix_open(f);
	assert_true(th_logged("t/.config", "using the defaults", NULL));
	tfs_topic_config(f->t, &c);
	assert_int_equal(c.v[TFS_CFG_RETENTION_MS], -1);
	assert_string_equal(c.key_sep, "");
	assert_int_equal(c.set, 0);
	fix_close(f);
	/* one that cannot be read is logged too: a sysfs file says 4096
	 * bytes and holds fewer, so the read comes up short */
	if (access("/sys/kernel/profiling", R_OK))
		skip();
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/sys/kernel/profiling", path), 0);
	th_log_clear();
	fix_open(f);
	assert_true(th_logged("t/.config", "using the defaults", NULL));
	assert_int_equal(unlink(path), 0);
}

/* segment.bytes and max.message.bytes act on appends at once; a topic
 * with a .config can still be deleted. */
static void test_topic_effects(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info info;
	char buf[8192];
	const char *cfg = "segment.bytes=4096\nmax.message.bytes=3000\n";

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(tfs_topic_config_set(f->t, cfg, strlen(cfg), NULL, 0),
			 0);
	assert_int_equal(tfs_part_append(f->p, buf, 3001, TFS_OFFSET_ANY, NULL),
			 -EMSGSIZE);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tfs_part_append(f->p, buf, 3000,
						 TFS_OFFSET_ANY, NULL),
				 3000);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.segments, 4);
	/* segment.ms: a segment whose first record is older rolls */
	assert_int_equal(tfs_topic_config_set(f->t, "segment.ms=1", 12, NULL,
					      0),
			 0);
	assert_int_equal(tfs_topic_config_set(f->t, "segment.bytes=", 14,
					      NULL, 0),
			 0);
	usleep(3000);
	assert_int_equal(tfs_part_append(f->p, buf, 10, TFS_OFFSET_ANY, NULL),
			 10);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.segments, 5);
	tfs_part_put(f->p, 1);
	f->p = NULL;
	assert_int_equal(tfs_part_delete(f->t, 0), 0);
	tfs_topic_put(f->t, 1);
	f->t = NULL;
	assert_int_equal(tfs_topic_delete(f->st, "t"), 0);
	tfs_store_close(f->st);
	f->st = NULL;
}

/* A topic delete that fails (a file topicfs does not know is in the
 * directory) leaves the topic as it was, its .config included: without
 * it the topic would run on the mount's defaults after a restart (with a
 * short retention.ms there, its data would go). */
static void test_failed_delete_keeps_config(void **state)
{
	struct fix *f = *state;
	struct tfs_config cfg;
	char path[4200];

	assert_int_equal(tfs_topic_config_set(f->t, "retention.ms=12345", 18,
					      NULL, 0),
			 0);
	tfs_part_put(f->p, 1);
	f->p = NULL;
	assert_int_equal(tfs_part_delete(f->t, 0), 0);
	tfs_topic_put(f->t, 1);
	f->t = NULL;
	snprintf(path, sizeof(path), "%s/t/notes", f->dir);
	assert_int_equal(th_write_text(path, "mine"), 0);
	assert_int_equal(tfs_topic_delete(f->st, "t"), -ENOTEMPTY);
	snprintf(path, sizeof(path), "%s/t/.config", f->dir);
	assert_true(th_size(path) > 0);
	tfs_store_close(f->st);
	assert_int_equal(tfs_store_open(f->dir, &f->o, &f->st), 0);
	assert_int_equal(tfs_topic_open(f->st, "t", &f->t), 0);
	tfs_topic_config(f->t, &cfg);
	assert_int_equal(cfg.v[TFS_CFG_RETENTION_MS], 12345);
	tfs_topic_put(f->t, 1);
	tfs_store_close(f->st);
	f->st = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_lines_comments_reset),
		cmocka_unit_test_setup_teardown(test_topic_persist, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_topic_effects, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_failed_delete_keeps_config,
						fix_setup, fix_teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
