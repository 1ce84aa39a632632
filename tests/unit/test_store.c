/*
 * tests/unit/test_store.c - the store's public API: names, data dir
 * init and refusal, topics, partitions, appends, reads across segments,
 * persistence, deleted-but-open partitions, concurrency, flushing.
 */
#include "store_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cmocka.h>

#include "internal.h" /* part_unsynced(), for the flush tests */
#include "store_fixture.h"

/* ---- names ----------------------------------------------------------- */

static void test_topic_names(void **state)
{
	char n249[251], n250[251];

	memset(n249, 'a', 249);
	n249[249] = '\0';
	memset(n250, 'a', 250);
	n250[250] = '\0';
	assert_int_equal(tfs_topic_name_valid("orders"), 0);
	assert_int_equal(tfs_topic_name_valid("a.b_c-D9"), 0);
	assert_int_equal(tfs_topic_name_valid("x"), 0);
	assert_int_equal(tfs_topic_name_valid(n249), 0);
	assert_int_equal(tfs_topic_name_valid(n250), -EINVAL);
	assert_int_equal(tfs_topic_name_valid(""), -EINVAL);
	assert_int_equal(tfs_topic_name_valid("."), -EINVAL);
	assert_int_equal(tfs_topic_name_valid(".."), -EINVAL);
	assert_int_equal(tfs_topic_name_valid(".hidden"), -EINVAL);
	assert_int_equal(tfs_topic_name_valid("a/b"), -EINVAL);
	assert_int_equal(tfs_topic_name_valid("a b"), -EINVAL);
	assert_int_equal(tfs_topic_name_valid("caf\xc3\xa9"), -EINVAL);
	assert_int_equal(tfs_topic_name_valid("a\nb"), -EINVAL);
}

static void test_part_names(void **state)
{
	const char *bad[] = { "01",	     "-1",     "+1", "1a", "",
			      "99999999999", "100000", " 1", "1 " };
	uint32_t n = 12345;

	assert_int_equal(tfs_part_name_parse("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(tfs_part_name_parse("7", &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(tfs_part_name_parse("10", &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(tfs_part_name_parse("99999", &n), 0);
	assert_int_equal(n, 99999);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 4242;
		assert_int_equal(tfs_part_name_parse(bad[i], &n), -EINVAL);
		assert_int_equal(n, 4242);
	}
}

/* ---- the data dir ---------------------------------------------------- */

static void test_store_init_empty(void **state)
{
	char *dir = th_mkdtemp(), path[4200], text[64] = { 0 };
	struct tfs_store_opts o = th_opts(0);
	struct tfs_store *st;
	char **names;
	FILE *fp;

	assert_int_equal(tfs_store_open(dir, &o, &st), 0);
	assert_int_equal(tfs_store_opts(st)->cfg.v[TFS_CFG_SEGMENT_BYTES],
			 TFS_DEFAULT_SEGMENT_BYTES);
	assert_int_equal(tfs_store_list(st, &names), 0);
	tfs_names_free(names, 0);
	tfs_store_close(st);
	snprintf(path, sizeof(path), "%s/.topicfs", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	assert_string_equal(text, "topicfs-format 3\n");
	/* and it opens again as an existing data dir */
	assert_int_equal(tfs_store_open(dir, NULL, &st), 0);
	tfs_store_close(st);
	/* a format 1 dir is upgraded in place (logged) */
	assert_int_equal(th_write_text(path, "topicfs-format 1\n"), 0);
	th_log_clear();
	assert_int_equal(tfs_store_open(dir, &o, &st), 0);
	tfs_store_close(st);
	assert_true(th_logged("upgrading the data dir from format 1 to 3", NULL,
			      NULL));
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	assert_string_equal(text, "topicfs-format 3\n");
	/* so is a format 2 dir */
	assert_int_equal(th_write_text(path, "topicfs-format 2\n"), 0);
	th_log_clear();
	assert_int_equal(tfs_store_open(dir, &o, &st), 0);
	tfs_store_close(st);
	assert_true(th_logged("upgrading the data dir from format 2 to 3", NULL,
			      NULL));
	th_rm_rf(dir);
}

static void test_store_refusals(void **state)
{
	char *dir = th_mkdtemp(), path[4200];
	struct tfs_store_opts o = th_opts(0);
	struct tfs_store *st = NULL;

	th_log_clear();
	snprintf(path, sizeof(path), "%s/somefile", dir);
	assert_int_equal(th_write_text(path, "hello\n"), 0);
	assert_int_equal(tfs_store_open(dir, &o, &st), -EINVAL);
	assert_true(th_logged(
		"not a topicfs data dir (no .topicfs file) and not empty", dir,
		NULL));
	/* an unknown version is refused, naming both versions */
	snprintf(path, sizeof(path), "%s/.topicfs", dir);
	assert_int_equal(th_write_text(path, "topicfs-format 4\n"), 0);
	assert_int_equal(tfs_store_open(dir, &o, &st), -EPROTONOSUPPORT);
	assert_true(th_logged("version 4", "versions 1 to 3", NULL));
	assert_int_equal(th_write_text(path, "something else\n"), 0);
	assert_int_equal(tfs_store_open(dir, &o, &st), -EINVAL);
	assert_int_equal(th_write_text(path, "topicfs-format 2\nmore\n"), 0);
	assert_int_equal(tfs_store_open(dir, &o, &st), -EINVAL);
	/* options and unusable dirs */
	o.cfg.v[TFS_CFG_SEGMENT_BYTES] = TFS_MIN_SEGMENT_BYTES - 1;
	assert_int_equal(tfs_store_open(dir, &o, &st), -EINVAL);
	o.cfg.v[TFS_CFG_SEGMENT_BYTES] = TFS_DEFAULT_SEGMENT_BYTES;
	snprintf(path, sizeof(path), "%s/nope", dir);
	assert_int_equal(tfs_store_open(path, &o, &st), -ENOENT);
	snprintf(path, sizeof(path), "%s/somefile", dir);
	assert_int_equal(tfs_store_open(path, &o, &st), -ENOTDIR);
	assert_null(st);
	th_rm_rf(dir);
}

static void test_strerror(void **state)
{
	assert_string_equal(tfs_strerror(-EUCLEAN),
			    "damaged data in the data directory");
	assert_string_equal(tfs_strerror(-EPROTONOSUPPORT),
			    "unknown data directory format version");
	assert_string_equal(
		tfs_strerror(-ESPIPE),
		"conditional append: offset is not the end of the partition");
	assert_string_equal(tfs_strerror(-ENOENT), strerror(ENOENT));
}

/* ---- topics and partitions ------------------------------------------- */

static void test_topics(void **state)
{
	struct fix *f = *state;
	struct tfs_topic *a, *b, *x;
	struct tfs_part *px;
	char **names, path[4200];
	struct stat sb;
	ssize_t n;

	assert_int_equal(tfs_topic_create(f->st, "b", &b), 0);
	assert_int_equal(tfs_topic_create(f->st, "a", &a), 0);
	assert_int_equal(tfs_topic_create(f->st, "a", &x), -EEXIST);
	assert_int_equal(tfs_topic_create(f->st, ".a", &x), -EINVAL);
	assert_int_equal(tfs_topic_open(f->st, "nope", &x), -ENOENT);
	assert_int_equal(tfs_topic_open(f->st, "a", &x), 0);
	assert_ptr_equal(x, a);
	assert_string_equal(tfs_topic_name(x), "a");
	tfs_topic_put(x, 1);
	n = tfs_store_list(f->st, &names);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_string_equal(names[2], "t");
	tfs_names_free(names, (size_t)n);
	/* a topic with partitions cannot go */
	assert_int_equal(tfs_topic_delete(f->st, "t"), -ENOTEMPTY);
	assert_int_equal(tfs_topic_delete(f->st, "nope"), -ENOENT);
	assert_int_equal(tfs_topic_delete(f->st, "a/b"), -EINVAL);
	/* a deleted topic lives on through its handle */
	assert_int_equal(tfs_topic_delete(f->st, "a"), 0);
	assert_true(tfs_topic_deleted(a));
	assert_false(tfs_topic_deleted(b));
	assert_int_equal(tfs_topic_partitions(a), 0);
	assert_string_equal(tfs_topic_name(a), "a");
	assert_int_equal(tfs_part_create(a, 0, &px), -ENOENT);
	assert_int_equal(tfs_topic_open(f->st, "a", &x), -ENOENT);
	snprintf(path, sizeof(path), "%s/a", f->dir);
	assert_int_equal(stat(path, &sb), -1);
	tfs_topic_put(a, 1);
	/* and b is freed by tfs_store_close while still referenced */
	assert_int_equal(tfs_topic_delete(f->st, "b"), 0);
	(void)b;
	/* the name can be reused */
	assert_int_equal(tfs_topic_create(f->st, "a", &a), 0);
	tfs_topic_put(a, 1);
}

static void test_partitions(void **state)
{
	struct fix *f = *state;
	struct tfs_part *p1, *p2, *x;
	char path[4200];
	struct stat sb;

	assert_int_equal(tfs_part_create(f->t, 0, &x), -EEXIST);
	assert_int_equal(tfs_part_create(f->t, 2, &x), -EINVAL);
	assert_int_equal(tfs_part_create(f->t, TFS_MAX_PARTITIONS, &x),
			 -EINVAL);
	assert_int_equal(tfs_part_create(f->t, 1, &p1), 0);
	assert_int_equal(tfs_part_create(f->t, 2, &p2), 0);
	assert_int_equal(tfs_part_number(p2), 2);
	assert_ptr_equal(tfs_part_topic(p2), f->t);
	assert_int_equal(tfs_topic_partitions(f->t), 3);
	snprintf(path, sizeof(path), "%s/t/2/00000000000000000000.idx", f->dir);
	assert_int_equal(th_size(path), 32);
	assert_int_equal(tfs_part_open(f->t, 3, &x), -ENOENT);
	assert_int_equal(tfs_part_delete(f->t, 0), -EBUSY);
	assert_int_equal(tfs_part_delete(f->t, 1), -EBUSY);
	assert_int_equal(tfs_part_delete(f->t, 5), -ENOENT);
	assert_int_equal(tfs_part_delete(f->t, 2), 0);
	assert_int_equal(tfs_part_delete(f->t, 2), -ENOENT);
	snprintf(path, sizeof(path), "%s/t/2", f->dir);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(tfs_topic_partitions(f->t), 2);
	assert_int_equal(tfs_part_delete(f->t, 1), 0);
	tfs_part_put(p1, 1);
	tfs_part_put(p2, 1);
	/* numbers are reused densely */
	assert_int_equal(tfs_part_create(f->t, 1, &p1), 0);
	assert_int_equal(tfs_part_end(p1), 0);
	tfs_part_put(p1, 1);
	/* what an earlier delete of 1 left behind does not block the next */
	snprintf(path, sizeof(path), "%s/t/1.deleted", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/1.deleted/00000000000000000000.log",
		 f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	assert_int_equal(tfs_part_delete(f->t, 1), 0);
	snprintf(path, sizeof(path), "%s/t/1.deleted", f->dir);
	assert_int_equal(stat(path, &sb), -1);
}

/* ---- appends and reads ----------------------------------------------- */

static void test_append_read(void **state)
{
	struct fix *f = *state;
	unsigned char rec[300], got[2000];
	struct tfs_part_info info;
	uint64_t off, want = 0;

	for (unsigned i = 0; i < 5; i++) {
		pattern(rec, 100 + i, i);
		assert_int_equal(tfs_part_append(f->p, rec, 100 + i,
						 TFS_OFFSET_ANY, &off),
				 100 + i);
		assert_int_equal(off, want);
		want += 100 + i;
	}
	assert_int_equal(tfs_part_end(f->p), want);
	assert_int_equal(tfs_part_pread(f->p, got, sizeof(got), 0), want);
	for (unsigned i = 0, pos = 0; i < 5; pos += 100 + i, i++) {
		pattern(rec, 100 + i, i);
		assert_memory_equal(got + pos, rec, 100 + i);
	}
	/* a read in the middle, past the end, and at the end */
	assert_int_equal(tfs_part_pread(f->p, got, 50, 120), 50);
	pattern(rec, 101, 1);
	assert_memory_equal(got, rec + 20, 50);
	assert_int_equal(tfs_part_pread(f->p, got, 50, want - 10), 10);
	assert_int_equal(tfs_part_pread(f->p, got, 50, want), 0);
	assert_int_equal(tfs_part_pread(f->p, got, 50, want + 1000), 0);
	/* empty and oversized appends store nothing */
	assert_int_equal(tfs_part_append(f->p, rec, 0, TFS_OFFSET_ANY, NULL),
			 0);
	assert_int_equal(tfs_part_append(f->p, rec, TFS_MAX_RECORD_BYTES + 1,
					 TFS_OFFSET_ANY, NULL),
			 -EMSGSIZE);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.start, 0);
	assert_int_equal(info.end, want);
	assert_int_equal(info.records, 5);
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.disk_bytes, want + 32 + 5 * 32);
	assert_true(info.mtime_ms > 1600000000000LL);
	assert_int_equal(tfs_part_sync(f->p), 0);
}

static void test_conditional_append(void **state)
{
	struct fix *f = *state;
	uint64_t off = 777;
	char got[16];

	assert_int_equal(tfs_part_append(f->p, "hello", 5, 0, &off), 5);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_append(f->p, "world", 5, 0, &off), -ESPIPE);
	assert_int_equal(tfs_part_append(f->p, "world", 5, 6, &off), -ESPIPE);
	assert_int_equal(tfs_part_end(f->p), 5);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 0, ".log")), 5);
	assert_int_equal(th_idx_used(th_seg(f->dir, "t", 0, 0, ".idx")), 64);
	assert_int_equal(tfs_part_append(f->p, "world", 5, 5, &off), 5);
	assert_int_equal(off, 5);
	assert_int_equal(tfs_part_pread(f->p, got, sizeof(got), 0), 10);
	assert_memory_equal(got, "helloworld", 10);
}

/* 20 records of 1000 bytes with 4096-byte segments: 4 per segment. */
static void fill_segments(struct fix *f, unsigned count)
{
	unsigned char rec[1000];

	for (unsigned i = 0; i < count; i++) {
		pattern(rec, sizeof(rec), i);
		assert_int_equal(tfs_part_append(f->p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 1000);
	}
}

static void check_bytes(const unsigned char *got, uint64_t off, size_t len)
{
	unsigned char rec[1000];

	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		pattern(rec, sizeof(rec), (unsigned)(o / 1000));
		if (got[i] != rec[o % 1000])
			fail_msg("byte at offset %llu differs",
				 (unsigned long long)o);
	}
}

static void test_roll_and_map(void **state)
{
	struct fix *f = *state;
	struct tfs_extent ext[8];
	struct tfs_part_info info;
	unsigned char *got = malloc(20000);
	size_t n;
	ssize_t r;

	fill_segments(f, 20);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.segments, 5);
	assert_int_equal(info.records, 20);
	assert_int_equal(info.end, 20000);
	for (unsigned s = 0; s < 5; s++) {
		const char *idx = th_seg(f->dir, "t", 0, s * 4000, ".idx");

		assert_int_equal(
			th_size(th_seg(f->dir, "t", 0, s * 4000, ".log")),
			4000);
		/* sealed: exactly its entries; active: a window ahead */
		assert_int_equal(s < 4 ? th_size(idx) : th_idx_used(idx),
				 32 + 4 * 32);
	}
	/* 3500..12500 spans segments 0, 1, 2 and 3 */
	r = tfs_part_read_map(f->p, 3500, 9000, ext, 8, &n);
	assert_int_equal(r, 9000);
	assert_int_equal(n, 4);
	assert_int_equal(ext[0].pos, 3500);
	assert_int_equal(ext[0].len, 500);
	assert_int_equal(ext[1].pos, 0);
	assert_int_equal(ext[1].len, 4000);
	assert_int_equal(ext[2].len, 4000);
	assert_int_equal(ext[3].pos, 0);
	assert_int_equal(ext[3].len, 500);
	for (size_t i = 0, done = 0; i < n; done += ext[i].len, i++) {
		assert_int_equal(pread(ext[i].fd, got + done, ext[i].len,
				       (off_t)ext[i].pos),
				 (ssize_t)ext[i].len);
	}
	check_bytes(got, 3500, 9000);
	tfs_part_read_unmap(ext, n);
	/* max extents bound the mapping */
	r = tfs_part_read_map(f->p, 3500, 9000, ext, 2, &n);
	assert_int_equal(r, 4500);
	assert_int_equal(n, 2);
	tfs_part_read_unmap(ext, n);
	/* at and past the end */
	assert_int_equal(tfs_part_read_map(f->p, 20000, 10, ext, 8, &n), 0);
	assert_int_equal(n, 0);
	/* a copying read over everything */
	assert_int_equal(tfs_part_pread(f->p, got, 20000, 0), 20000);
	check_bytes(got, 0, 20000);
	assert_int_equal(tfs_part_pread(f->p, got, 20000, 3999), 16001);
	check_bytes(got, 3999, 16001);
	free(got);
}

static void test_big_record(void **state)
{
	struct fix *f = *state;
	unsigned char *big = malloc(10000), got[10000];
	struct tfs_part_info info;
	uint64_t off;

	pattern(big, 10000, 9);
	assert_int_equal(tfs_part_append(f->p, "abc", 3, TFS_OFFSET_ANY, &off),
			 3);
	/* larger than a segment: alone in a new one */
	assert_int_equal(
		tfs_part_append(f->p, big, 10000, TFS_OFFSET_ANY, &off), 10000);
	assert_int_equal(off, 3);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 3, ".log")), 10000);
	assert_int_equal(tfs_part_append(f->p, "z", 1, TFS_OFFSET_ANY, &off),
			 1);
	assert_int_equal(off, 10003);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 10003, ".log")), 1);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.segments, 3);
	assert_int_equal(tfs_part_pread(f->p, got, 10000, 3), 10000);
	assert_memory_equal(got, big, 10000);
	free(big);
}

static void test_reopen(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info a, b;
	unsigned char *got = malloc(24000), rec[1000];
	uint64_t off;

	fill_segments(f, 18);
	tfs_part_info(f->p, &a);
	fix_close(f);
	th_log_clear();
	fix_open(f);
	tfs_part_info(f->p, &b);
	assert_int_equal(b.start, a.start);
	assert_int_equal(b.end, a.end);
	assert_int_equal(b.records, a.records);
	assert_int_equal(b.segments, a.segments);
	assert_int_equal(b.disk_bytes, a.disk_bytes);
	/* every segment's data, index header and entries, across rolls */
	assert_true(a.segments > 1);
	assert_int_equal(a.disk_bytes, a.end + 32 * a.segments + 32 * a.records);
	assert_false(th_logged("recovery", NULL, NULL));
	assert_int_equal(tfs_part_pread(f->p, got, 24000, 0), 18000);
	check_bytes(got, 0, 18000);
	/* appends continue at the end, into the active segment */
	pattern(rec, sizeof(rec), 18);
	assert_int_equal(tfs_part_append(f->p, rec, 1000, 18000, &off), 1000);
	assert_int_equal(off, 18000);
	assert_int_equal(tfs_part_pread(f->p, got, 24000, 0), 19000);
	check_bytes(got, 0, 19000);
	tfs_part_info(f->p, &b);
	assert_int_equal(b.segments, 5);
	assert_int_equal(b.records, 19);
	free(got);
}

/* A deleted partition keeps reading and appending through its handle. */
static void test_unlinked_partition(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info info;
	struct tfs_extent ext[4];
	struct tfs_part *p1, *x;
	char got[8192], path[4200];
	struct stat sb;
	size_t n;

	assert_int_equal(tfs_part_create(f->t, 1, &p1), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(tfs_part_append(p1, "0123456789", 10,
						 TFS_OFFSET_ANY, NULL),
				 10);
	assert_int_equal(tfs_part_delete(f->t, 1), 0);
	snprintf(path, sizeof(path), "%s/t/1", f->dir);
	assert_int_equal(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/t/1.deleted", f->dir);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(tfs_part_open(f->t, 1, &x), -ENOENT);
	assert_int_equal(tfs_part_append(p1, "abcdefghij", 10, 60, NULL), 10);
	assert_int_equal(tfs_part_pread(p1, got, sizeof(got), 50), 20);
	assert_memory_equal(got, "0123456789abcdefghij", 20);
	/* an extent pinned across the put stays readable */
	assert_int_equal(tfs_part_read_map(p1, 0, 5, ext, 4, &n), 5);
	assert_int_equal(tfs_part_sync(p1), 0);
	tfs_part_info(p1, &info);
	assert_int_equal(info.records, 7);
	/* a new partition 1 is a different, empty one */
	assert_int_equal(tfs_part_create(f->t, 1, &x), 0);
	assert_int_equal(tfs_part_end(x), 0);
	tfs_part_put(x, 1);
	tfs_part_put(p1, 1);
	assert_int_equal(pread(ext[0].fd, got, 5, 0), 5);
	assert_memory_equal(got, "01234", 5);
	tfs_part_read_unmap(ext, n);
}

/* A deleted partition still referenced at tfs_store_close is freed. */
static void test_graveyard_at_close(void **state)
{
	struct fix *f = *state;
	struct tfs_part *p1;
	struct tfs_topic *u;

	assert_int_equal(tfs_topic_create(f->st, "u", &u), 0);
	assert_int_equal(tfs_part_create(u, 0, &p1), 0);
	assert_int_equal(tfs_part_append(p1, "x", 1, TFS_OFFSET_ANY, NULL), 1);
	assert_int_equal(tfs_part_delete(u, 0), 0);
	assert_int_equal(tfs_topic_delete(f->st, "u"), 0);
	/* p1 and u are still referenced: tfs_store_close frees them (ASan
	 * reports a leak otherwise) */
}

/* ---- concurrency ----------------------------------------------------- */

#define THR_N	 4   /* appending threads */
#define THR_RECS 400 /* records per thread */

/* What one appending thread did. */
struct thr {
	struct tfs_part *p;	/* the shared partition */
	unsigned id;		/* thread number */
	uint64_t off[THR_RECS]; /* where each record landed */
	uint32_t len[THR_RECS]; /* each record's length */
	int err;		/* first failure, or 0 */
};

static void *thr_append(void *arg)
{
	struct thr *t = arg;
	unsigned char rec[700];

	for (unsigned i = 0; i < THR_RECS && !t->err; i++) {
		uint32_t len = 16 + (t->id * 97 + i * 31) % 600;

		pattern(rec, len, t->id * 100000 + i);
		if (tfs_part_append(t->p, rec, len, TFS_OFFSET_ANY,
				    &t->off[i]) != (ssize_t)len)
			t->err = -1;
		t->len[i] = len;
	}
	return NULL;
}

static int cmp_span(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void test_threads(void **state)
{
	struct fix *f = *state;
	static struct thr thr[THR_N];
	static uint64_t spans[THR_N * THR_RECS][2];
	pthread_t tid[THR_N];
	struct tfs_part_info info;
	unsigned char rec[700], got[700];
	uint64_t total = 0;

	for (unsigned i = 0; i < THR_N; i++) {
		memset(&thr[i], 0, sizeof(thr[i]));
		thr[i].p = f->p;
		thr[i].id = i;
		assert_int_equal(
			pthread_create(&tid[i], NULL, thr_append, &thr[i]), 0);
	}
	for (unsigned i = 0; i < THR_N; i++)
		pthread_join(tid[i], NULL);
	for (unsigned i = 0; i < THR_N; i++) {
		assert_int_equal(thr[i].err, 0);
		for (unsigned j = 0; j < THR_RECS; j++) {
			spans[i * THR_RECS + j][0] = thr[i].off[j];
			spans[i * THR_RECS + j][1] = thr[i].len[j];
			total += thr[i].len[j];
			pattern(rec, thr[i].len[j], i * 100000 + j);
			assert_int_equal(tfs_part_pread(f->p, got,
							thr[i].len[j],
							thr[i].off[j]),
					 thr[i].len[j]);
			assert_memory_equal(got, rec, thr[i].len[j]);
		}
	}
	/* records tile the partition: no gap, no overlap */
	qsort(spans, THR_N * THR_RECS, sizeof(spans[0]), cmp_span);
	for (unsigned k = 1; k < THR_N * THR_RECS; k++)
		assert_int_equal(spans[k][0],
				 spans[k - 1][0] + spans[k - 1][1]);
	assert_int_equal(spans[0][0], 0);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.end, total);
	assert_int_equal(info.records, THR_N * THR_RECS);
	/* and the index on disk agrees after a reopen */
	fix_close(f);
	th_log_clear();
	fix_open(f);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.end, total);
	assert_int_equal(info.records, THR_N * THR_RECS);
	assert_false(th_logged("recovery", NULL, NULL));
}

/* Readers run during appends and never see a partial record. */
static void *thr_read(void *arg)
{
	struct thr *t = arg;
	unsigned char *buf = malloc(1 << 16);

	for (int i = 0; i < 2000 && !t->err; i++) {
		uint64_t end = tfs_part_end(t->p);
		uint64_t from = end > 60000 ? end - 60000 : 0;
		ssize_t r =
			tfs_part_pread(t->p, buf, (size_t)(end - from), from);

		if (r != (ssize_t)(end - from))
			t->err = -1;
	}
	free(buf);
	return NULL;
}

static void test_read_during_append(void **state)
{
	struct fix *f = *state;
	static struct thr w, r;
	pthread_t tw, tr;

	w.p = r.p = f->p;
	w.err = r.err = 0;
	assert_int_equal(pthread_create(&tw, NULL, thr_append, &w), 0);
	assert_int_equal(pthread_create(&tr, NULL, thr_read, &r), 0);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	assert_int_equal(w.err, 0);
	assert_int_equal(r.err, 0);
}

/* ---- flushing -------------------------------------------------------- */

static void test_flush_messages(void **state)
{
	struct fix *f = *state;

	fix_close(f);
	f->o.cfg.v[TFS_CFG_FLUSH_MESSAGES] = 3;
	fix_open(f);
	assert_int_equal(tfs_part_append(f->p, "a", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(part_unsynced(f->p), 1);
	assert_int_equal(tfs_part_append(f->p, "b", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(part_unsynced(f->p), 2);
	assert_int_equal(tfs_part_append(f->p, "c", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(part_unsynced(f->p), 0);
	assert_int_equal(tfs_part_append(f->p, "d", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(tfs_part_sync(f->p), 0);
	assert_int_equal(part_unsynced(f->p), 0);
}

static void test_flush_thread(void **state)
{
	struct fix *f = *state;

	fix_close(f);
	f->o.cfg.v[TFS_CFG_FLUSH_MS] = 5;
	fix_open(f);
	assert_int_equal(tfs_part_append(f->p, "a", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(part_unsynced(f->p), 1);
	for (int i = 0; i < 400 && part_unsynced(f->p); i++)
		usleep(5000);
	assert_int_equal(part_unsynced(f->p), 0);
}

/* Fill partition 0 with n records of 1000 bytes, record i all 'a'+i. */
static void fill_part(struct fix *f, int n)
{
	unsigned char rec[1000];

	for (int i = 0; i < n; i++) {
		memset(rec, 'a' + i % 26, sizeof(rec));
		assert_int_equal(tfs_part_append(f->p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 sizeof(rec));
	}
}

/* A partition deleted while open, whose segments were never read since
 * the mount (so never checked), stays readable through its handle, also
 * after the syncer's pass over idle fds, and after a new partition took
 * its name. */
static void test_unlinked_unchecked(void **state)
{
	struct fix *f = *state;
	unsigned char got[1000];
	struct tfs_part *x;
	uint64_t size = TFS_MIN_SEGMENT_BYTES;
	int n = (int)(3 * size / 1000);

	fill_part(f, n);
	assert_int_equal(tfs_part_sync(f->p), 0);
	fix_close(f);
	fix_open(f);
	assert_int_equal(tfs_part_delete(f->t, 0), 0);
	part_close_idle_fds(f->p); /* as the syncer would */
	assert_int_equal(tfs_part_create(f->t, 0, &x), 0);
	assert_int_equal(tfs_part_append(x, "new", 3, TFS_OFFSET_ANY, NULL),
			 3);
	tfs_part_put(x, 1);
	for (int i = 0; i < n; i++) {
		assert_int_equal(tfs_part_pread(f->p, got, sizeof(got),
						(uint64_t)i * 1000),
				 sizeof(got));
		assert_int_equal(got[0], 'a' + i % 26);
		assert_int_equal(got[999], 'a' + i % 26);
	}
	assert_false(th_logged("cannot check it", NULL, NULL));
}

/* A damaged segment's files moved away while mounted (README, Damage:
 * how retention gets past it) do not make a delete of the partition
 * fail: there is nothing of them to keep open for its handles. */
static void test_unlink_moved_away(void **state)
{
	struct fix *f = *state;
	unsigned char got[1000];
	char cmd[9000];

	fill_part(f, 12);
	assert_int_equal(tfs_part_sync(f->p), 0);
	fix_close(f);
	snprintf(cmd, sizeof(cmd),
		 "printf '\\377' | dd of=%s bs=1 seek=1500 conv=notrunc "
		 "status=none",
		 th_seg(f->dir, "t", 0, 0, ".log"));
	assert_int_equal(system(cmd), 0);
	fix_open(f);
	assert_int_equal(tfs_part_pread(f->p, got, 100, 1000), -EIO);
	part_close_idle_fds(f->p); /* as the syncer would */
	snprintf(cmd, sizeof(cmd), "mkdir %s/away && mv %s %s %s/away/",
		 f->dir, th_seg(f->dir, "t", 0, 0, ".log"),
		 th_seg(f->dir, "t", 0, 0, ".idx"), f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tfs_part_delete(f->t, 0), 0);
	/* the segments after it stay readable through the handle */
	assert_int_equal(tfs_part_pread(f->p, got, sizeof(got), 11000),
			 sizeof(got));
	assert_int_equal(got[0], 'a' + 11);
}

/* Sealed segments not synced yet give their fds back when idle too (a
 * producer rolling thousands of them before the syncer's first pass ran
 * the daemon out of fds); the sync reopens them. */
static void test_idle_unsynced(void **state)
{
	struct fix *f = *state;

	fill_part(f, 40); /* 10 segments, 9 sealed (the syncer may be
			     closing them meanwhile: no count before) */
	/* the store's syncer pins them briefly on its passes: try again */
	for (int i = 0; i < 100; i++) {
		part_close_idle_fds(f->p);
		if (th_seg_fds(".log") == 1)
			break;
		usleep(10000);
	}
	assert_int_equal(th_seg_fds(".log"), 1); /* the active one */
	assert_int_equal(th_synced(f->dir, 0), 0);
	assert_int_equal(tfs_part_sync(f->p), 0);
	assert_int_equal(th_synced(f->dir, 0), 1);
	assert_int_equal(th_synced(f->dir, 8 * 4000), 1);
}

/* A delete of more segments than a quarter of the open-file limit goes
 * on (it failed with EIO): the open handle reads the newest segments and
 * gets EIO below them. */
static void test_unlink_many_segments(void **state)
{
	struct fix *f = *state;
	unsigned char got[1000];
	struct rlimit old, low;
	int n = 400; /* 100 segments of 4 records */

	fill_part(f, n);
	assert_int_equal(tfs_part_sync(f->p), 0);
	part_close_idle_fds(f->p);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 160; /* keeps 40 */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(tfs_part_delete(f->t, 0), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(th_logged("t/0: deleting 100 segments, too many to keep",
			      NULL, NULL));
	assert_int_equal(tfs_part_pread(f->p, got, sizeof(got),
					(uint64_t)(n - 1) * 1000),
			 sizeof(got));
	assert_int_equal(got[0], 'a' + (n - 1) % 26);
	assert_true(tfs_part_pread(f->p, got, sizeof(got), 0) < 0);
}

/* flush.messages=1 syncs as fsync() does: a segment sealed by a roll is
 * synced (and marked) before the record in the new one returns. */
static void test_flush_messages_roll(void **state)
{
	struct fix *f = *state;
	int n = (int)(TFS_MIN_SEGMENT_BYTES / 1000) + 1;

	fix_close(f);
	f->o.cfg.v[TFS_CFG_FLUSH_MESSAGES] = 1;
	fix_open(f);
	fill_part(f, n); /* the last one rolled */
	assert_int_equal(th_synced(f->dir, 0), 1);
	assert_int_equal(part_unsynced(f->p), 0);
}

/* Open fds of this process. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Idle sealed segments give their fds back; reads reopen them; a pinned
 * one keeps its fd. */
static void test_idle_fds(void **state)
{
	struct fix *f = *state;
	unsigned char rec[1000], all[10000], got[10000];
	struct tfs_extent ext[4];
	size_t n;
	int before;

	for (int i = 0; i < 10; i++) {
		memset(rec, 'a' + i, sizeof(rec));
		memcpy(all + i * 1000, rec, sizeof(rec));
		assert_int_equal(tfs_part_append(f->p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 1000);
	}
	assert_int_equal(tfs_part_sync(f->p), 0); /* marks 0 and 4000 synced */
	/* pin segment 0 through a read map; the rest may close (the
	 * store's syncer may do it too, any time: counts allow for that) */
	assert_int_equal(tfs_part_read_map(f->p, 0, 10, ext, 4, &n), 10);
	part_close_idle_fds(f->p);
	before = open_fds();
	assert_true(fcntl(ext[0].fd, F_GETFD) >= 0); /* pinned: still open */
	tfs_part_read_unmap(ext, n);
	part_close_idle_fds(f->p);
	assert_int_equal(open_fds(), before - 1); /* now segment 0 too */
	assert_int_equal(tfs_part_pread(f->p, got, sizeof(got), 0), 10000);
	assert_memory_equal(got, all, sizeof(all)); /* reopened by the read */
}


/* ---- blocks allocated ahead (store/segment.c, seg_prealloc) ----------- */

/* Bytes of blocks the file at path holds. */
static long long alloc_bytes(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (long long)sb.st_blocks * 512;
}

/* Blocks no more than size needs (a 4 KiB block and one for the extent
 * tree to spare). */
static void assert_trimmed(const char *path)
{
	long long size = th_size(path), alloc = alloc_bytes(path);

	if (alloc > (size + 4095) / 4096 * 4096 + 4096)
		fail_msg("%s holds %lld bytes of blocks for %lld bytes", path,
			 alloc, size);
}

/* On ext4 an active segment that takes records of 64 KiB or more
 * allocates its blocks ahead; sealing, closing and recovery free what is
 * past the end, and small records never allocate ahead. */
static void test_prealloc(void **state)
{
	struct fix *f = *state;
	unsigned char *mib = malloc(1 << 20), *got = malloc(4 << 20);
	char *log0, *log1;
	struct statfs sf;
	uint64_t off;
	int fd;

	assert_int_equal(statfs(f->dir, &sf), 0);
	/* the store allocates ahead on ext4 only, with 1 GiB free */
	if (sf.f_type != EXT4_SUPER_MAGIC ||
	    (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize < (2ull << 30)) {
		free(mib);
		free(got);
		skip();
	}
	pattern(mib, 1 << 20, 4);
	for (int i = 0; i < 100; i++)
		assert_int_equal(tfs_part_append(f->p, mib, 100,
						 TFS_OFFSET_ANY, &off),
				 100);
	log0 = strdup(th_seg(f->dir, "t", 0, 0, ".log"));
	assert_trimmed(log0); /* small records: nothing ahead */
	assert_int_equal(tfs_part_append(f->p, mib, 1 << 20, TFS_OFFSET_ANY,
					 &off),
			 1 << 20);
	/* up to segment.bytes (3,000,000), not to the 4 MiB chunk's end */
	assert_int_equal(th_size(log0), 10000 + (1 << 20));
	assert_true(alloc_bytes(log0) >= 2990000);
	assert_true(alloc_bytes(log0) <= 3000000 + 8192);
	assert_int_equal(tfs_part_append(f->p, mib, 1 << 20, TFS_OFFSET_ANY,
					 &off),
			 1 << 20);
	/* the roll frees the sealed segment's blocks past its end */
	assert_int_equal(tfs_part_append(f->p, mib, 1 << 20, TFS_OFFSET_ANY,
					 &off),
			 1 << 20);
	assert_int_equal(off, 10000 + (2 << 20));
	assert_trimmed(log0);
	log1 = strdup(th_seg(f->dir, "t", 0, off, ".log"));
	assert_true(alloc_bytes(log1) >= 2990000);
	/* and so does closing the store */
	fix_close(f);
	assert_trimmed(log1);
	/* blocks a crash left past the end: the next mount frees them,
	 * quietly (nothing is cut) */
	fd = open(log1, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 << 20), 0);
	close(fd);
	assert_true(alloc_bytes(log1) >= 4 << 20);
	th_log_clear();
	fix_open(f);
	assert_trimmed(log1);
	assert_false(th_logged("recovery", NULL, NULL));
	assert_int_equal(tfs_part_pread(f->p, got, 4 << 20, 0),
			 10000 + (3 << 20));
	for (int i = 0; i < 3; i++)
		assert_memory_equal(got + 10000 + ((size_t)i << 20), mib,
				    1 << 20);
	free(log0);
	free(log1);
	free(mib);
	free(got);
}

/* The active segment's entries go through a mapped window of its .idx,
 * which extends the file ahead (given 1 GiB free): the entries are there
 * while the store is open, so a kill -9 keeps them (a copy of the live
 * dir is what it leaves); a clean close cuts the .idx back to them, and
 * recovery frees what a crash left, cutting nothing. */
/* tfs_part_read_cached: what the request loop answers without handing
 * the reading over (fs/loop.c).  Bytes just appended are in the page
 * cache; a read over more than two segments is not counted on; a sealed
 * segment loaded at open is not checked until its first read; the end and
 * past it need nothing; dropped pages are not cached. */
static void test_read_cached(void **state)
{
	struct fix *f = *state;
	static char rec[4000];
	char path[PATH_MAX], buf[100];
	int fd;

	memset(rec, 'c', sizeof(rec));
	for (int i = 0; i < 3; i++)
		assert_int_equal(tfs_part_append(f->p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 (ssize_t)sizeof(rec));
	assert_true(tfs_part_read_cached(f->p, 0, 100));
	assert_true(tfs_part_read_cached(f->p, 100, 7900)); /* 2 segments */
	assert_true(tfs_part_read_cached(f->p, 4000, 1 << 20)); /* the end */
	assert_false(tfs_part_read_cached(f->p, 0, 1 << 20)); /* 3: many */
	assert_true(tfs_part_read_cached(f->p, 12000, 4096)); /* the end */
	assert_true(tfs_part_read_cached(f->p, 1 << 30, 4096));
	assert_int_equal(tfs_part_sync(f->p), 0);
	fix_close(f);
	fix_open(f);
	/* segment 0 (sealed) is checked at its first read */
	assert_false(tfs_part_read_cached(f->p, 0, 100));
	assert_int_equal(tfs_part_pread(f->p, buf, sizeof(buf), 0),
			 (ssize_t)sizeof(buf));
	assert_true(tfs_part_read_cached(f->p, 0, 100));
	/* pages the kernel dropped: not from memory (a reader would wait
	 * for the disk) */
	snprintf(path, sizeof(path), "%s/t/0/00000000000000000000.log",
		 f->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
	assert_false(tfs_part_read_cached(f->p, 0, 100));
}

/* retention.ms at its largest with a clock before 1970: nothing expires,
 * and no signed overflow (UBSan in the sanitizer build) */
static void test_retention_ms_early_clock(void **state)
{
	struct fix *f = *state;
	static const char cfg[] = "retention.ms=9223372036854775807";
	static char rec[4000];
	struct tfs_part_info info;

	memset(rec, 'r', sizeof(rec));
	assert_int_equal(tfs_topic_config_set(f->t, cfg, sizeof(cfg) - 1, NULL,
					      0),
			 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tfs_part_append(f->p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 (ssize_t)sizeof(rec));
	assert_int_equal(tfs_part_sync(f->p), 0);
	assert_int_equal(part_retain(f->p, INT64_MIN + 1000), 0);
	assert_int_equal(part_retain(f->p, -1), 0);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.segments, 3);
	assert_int_equal(info.start, 0);
}

static void test_index_window(void **state)
{
	struct fix *f = *state;
	const long long used = 32 + 600 * 32;
	char *idx = strdup(th_seg(f->dir, "t", 0, 0, ".idx")), *copy, cmd[256];
	char *cidx, got[3001];
	struct tfs_store *st;
	struct tfs_topic *t;
	struct tfs_part *p;
	struct tfs_part_info info;
	bool ahead = th_room_ahead(f->dir);

	for (int i = 0; i < 600; i++) {
		snprintf(got, sizeof(got), "r%03d\n", i);
		assert_int_equal(tfs_part_append(f->p, got, 5, TFS_OFFSET_ANY,
						 NULL),
				 5);
	}
	assert_int_equal(th_idx_used(idx), used);
	/* two 16 KiB windows: the header and entries 0..510, then the rest */
	assert_int_equal(th_size(idx), ahead ? 2 * 16384 : used);
	copy = th_mkdtemp();
	snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/", f->dir, copy);
	assert_int_equal(system(cmd), 0);
	fix_close(f);
	assert_int_equal(th_size(idx), used);

	cidx = strdup(th_seg(copy, "t", 0, 0, ".idx"));
	assert_int_equal(th_size(cidx), ahead ? 2 * 16384 : used);
	th_log_clear();
	assert_int_equal(tfs_store_open(copy, &f->o, &st), 0);
	if (ahead)
		assert_true(th_logged("recovery", "freed 13536 bytes of index "
					"space held ahead (zeros after entry 600)",
				      NULL));
	assert_false(th_logged("cut", NULL, NULL));
	assert_int_equal(th_size(cidx), used);
	assert_int_equal(tfs_topic_open(st, "t", &t), 0);
	assert_int_equal(tfs_part_open(t, 0, &p), 0);
	tfs_part_info(p, &info);
	assert_int_equal(info.records, 600);
	assert_int_equal(info.end, 3000);
	assert_int_equal(tfs_part_pread(p, got, sizeof(got), 0), 3000);
	for (int i = 0; i < 600; i++) {
		char want[6];

		snprintf(want, sizeof(want), "r%03d\n", i);
		assert_memory_equal(got + 5 * i, want, 5);
	}
	/* and appends go on after them, into a window again */
	assert_int_equal(tfs_part_append(p, "x", 1, TFS_OFFSET_ANY, NULL), 1);
	assert_int_equal(th_idx_used(cidx), used + 32);
	tfs_part_put(p, 1);
	tfs_topic_put(t, 1);
	tfs_store_close(st);
	assert_int_equal(th_size(cidx), used + 32);
	th_rm_rf(copy);
	free(cidx);
	free(idx);
}

/* A store into the index window that faults (here: the .idx cut under
 * the store, which nothing of topicfs does; a page that cannot be read
 * back in faults the same way) does not kill the process: the entry is
 * pwrite()n instead, and so are the segment's later ones. */
static void test_index_window_fault(void **state)
{
	struct fix *f = *state;
	const char *idx = th_seg(f->dir, "t", 0, 0, ".idx");
	struct statfs sf;

	assert_int_equal(statfs(f->dir, &sf), 0);
	if (!th_room_ahead(f->dir) ||
	    (sf.f_type != EXT4_SUPER_MAGIC && sf.f_type != 0x58465342 &&
	     sf.f_type != 0x01021994)) /* XFS, tmpfs */
		skip();
	for (int i = 0; i < 3; i++)
		assert_int_equal(tfs_part_append(f->p, "a", 1, TFS_OFFSET_ANY,
						 NULL),
				 1);
	assert_int_equal(th_size(idx), 16384);
	assert_int_equal(th_truncate(idx, 0), 0);
	assert_int_equal(tfs_part_append(f->p, "b", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(th_size(idx), 32 + 4 * 32);
	assert_int_equal(tfs_part_append(f->p, "c", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(th_size(idx), 32 + 5 * 32);
}

static int fix_setup_3m(void **state)
{
	return fix_setup_seg(state, 3000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_names),
		cmocka_unit_test(test_part_names),
		cmocka_unit_test(test_store_init_empty),
		cmocka_unit_test(test_store_refusals),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test_setup_teardown(test_topics, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_partitions, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_append_read, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_conditional_append,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_roll_and_map,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_big_record,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_reopen, fix_setup_small,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_unlinked_partition,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_graveyard_at_close,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fix_setup_small,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_read_during_append,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_flush_messages, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_idle_unsynced,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_unlink_many_segments,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_unlinked_unchecked,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_unlink_moved_away,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_flush_messages_roll,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_idle_fds, fix_setup_small,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_read_cached,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_retention_ms_early_clock,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_index_window, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_index_window_fault,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_prealloc, fix_setup_3m,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_flush_thread, fix_setup,
						fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
