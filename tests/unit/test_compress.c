/*
 * tests/unit/test_compress.c - compression=zstd through the store: sealed
 * segments become <base>.zst in the background (tfs_store_clean), reads
 * return the exact bytes from any offset, the active segment stays raw,
 * disk bytes shrink, a reopen reads them, retention deletes them, an
 * interrupted compression is undone, and a damaged frame reads as EIO
 * while the rest stays readable.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "topicfs/store.h"
#include "internal.h"
#include "store_helpers.h"
#include "store_fixture.h"

#define SEG (64 * 1024)
#define NREC 1500

/* JSON-ish record i (compressible, varied). */
static int record(char *buf, size_t size, int i)
{
	return snprintf(buf, size,
			"{\"id\":%d,\"user\":\"user-%d\",\"amount\":%d.%02d,"
			"\"items\":[\"sku-%d\",\"sku-%d\"],\"note\":\"order "
			"number %d of the compression test\"}\n",
			i, i % 97, i * 7 % 1000, i % 100, i % 13, i % 17, i);
}

/* Append NREC records; their bytes, concatenated, into *all. */
static size_t fill(struct tfs_part *p, char **all)
{
	size_t n = 0;
	char rec[256];

	*all = malloc(NREC * sizeof(rec));
	for (int i = 0; i < NREC; i++) {
		int len = record(rec, sizeof(rec), i);

		assert_int_equal(tfs_part_append(p, rec, (size_t)len,
						 TFS_OFFSET_ANY, NULL),
				 len);
		memcpy(*all + n, rec, (size_t)len);
		n += (size_t)len;
	}
	return n;
}

/* Every byte reads back, from several offsets and in small pieces. */
static void check_all(struct tfs_part *p, const char *all, size_t n)
{
	char *buf = malloc(n);
	static const size_t offs[] = { 0, 1, 4095, SEG - 1, SEG, SEG + 1 };

	assert_int_equal(tfs_part_pread(p, buf, n, 0), (ssize_t)n);
	assert_memory_equal(buf, all, n);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t len = n - offs[i] < 300 ? n - offs[i] : 300;

		assert_int_equal(tfs_part_pread(p, buf, len, offs[i]),
				 (ssize_t)len);
		assert_memory_equal(buf, all + offs[i], len);
	}
	free(buf);
}

static int count_files(const char *dir, const char *ext)
{
	char cmd[4300];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s/t/0 | grep -c '%s$'", dir, ext);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

static int setup(void **state)
{
	struct fix *f;

	fix_setup_seg(state, SEG);
	f = *state;
	assert_int_equal(tfs_topic_config_set(f->t, "compression=zstd", 16,
					      NULL, 0),
			 0);
	return 0;
}

static void test_compress_read(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info before, after;
	struct tfs_extent ext[4];
	size_t n, k;
	char *all;
	int segs;

	n = fill(f->p, &all);
	tfs_part_info(f->p, &before);
	segs = (int)before.segments;
	assert_true(segs >= 3);
	/* nothing compresses before the sealed segments are synced */
	tfs_store_clean(f->st);
	assert_int_equal(count_files(f->dir, ".zst"), 0);
	assert_int_equal(tfs_part_sync(f->p), 0);
	tfs_store_clean(f->st);
	assert_int_equal(count_files(f->dir, ".zst"), segs - 1);
	assert_int_equal(count_files(f->dir, ".log"), 1); /* the active one */
	assert_true(th_logged("compression: t/0/00000000000000000000:", NULL,
			      NULL));
	tfs_part_info(f->p, &after);
	assert_true(after.disk_bytes * 2 < before.disk_bytes);
	assert_int_equal(after.end, before.end);
	assert_int_equal(after.records, before.records);
	check_all(f->p, all, n);
	/* a compressed range maps to memory, the active one to its fd */
	assert_true(tfs_part_read_map(f->p, 10, 100, ext, 4, &k) == 100);
	assert_int_equal(k, 1);
	assert_int_equal(ext[0].fd, -1);
	assert_non_null(ext[0].mem);
	assert_memory_equal(ext[0].mem, all + 10, 100);
	tfs_part_read_unmap(ext, k);
	assert_true(tfs_part_read_map(f->p, n - 10, 100, ext, 4, &k) == 10);
	assert_true(ext[0].fd >= 0);
	assert_null(ext[0].mem);
	tfs_part_read_unmap(ext, k);
	/* survives a reopen, and appends go on; a compressed segment holds
	 * no fd until it is read, and none once it is idle again (each
	 * held one for life: 1,000 of them ran a daemon out of fds) */
	fix_close(f);
	fix_open(f);
	assert_int_equal(th_seg_fds(".zst"), 0);
	check_all(f->p, all, n); /* opens them (the syncer may close them
				    again any time: no count here) */
	for (int i = 0; i < 100 && th_seg_fds(".zst"); i++) {
		part_close_idle_fds(f->p); /* the syncer's pins are brief */
		usleep(10000);
	}
	assert_int_equal(th_seg_fds(".zst"), 0);
	check_all(f->p, all, n);
	assert_int_equal(tfs_part_append(f->p, "x\n", 2, TFS_OFFSET_ANY, NULL),
			 2);
	/* retention deletes compressed segments like any other */
	assert_int_equal(tfs_topic_config_set(f->t, "retention.bytes=1", 17,
					      NULL, 0),
			 0);
	tfs_store_clean(f->st);
	assert_int_equal(count_files(f->dir, ".zst"), 0);
	tfs_part_info(f->p, &after);
	assert_int_equal(after.segments, 1);
	free(all);
}

/* A compressed segment larger than one mapped extent (TFS_MAP_MEM_MAX)
 * before a raw one: one pread over both reads it all (the raw extent once
 * got a position before its segment: EINVAL). */
static void test_compress_big_segment(void **state)
{
	struct fix *f = *state;
	size_t n = 0, cap = 5u << 20;
	char *all = malloc(cap), *buf = malloc(cap), rec[800];
	static const size_t offs[] = { 0, 1u << 20, (1u << 20) + 12345,
				       (2u << 20) - 100 };

	fix_close(f);
	f->o.cfg.v[TFS_CFG_SEGMENT_BYTES] = 2u << 20;
	fix_open(f);
	assert_int_equal(tfs_topic_config_set(f->t, "compression=zstd", 16,
					      NULL, 0),
			 0);
	for (int i = 0; n + sizeof(rec) < cap; i++) {
		int len = snprintf(rec, sizeof(rec), "{\"id\":%d,\"x\":\"%0*d\"}\n",
				   i, 200 + i % 500, i);

		assert_int_equal(tfs_part_append(f->p, rec, (size_t)len,
						 TFS_OFFSET_ANY, NULL),
				 len);
		memcpy(all + n, rec, (size_t)len);
		n += (size_t)len;
	}
	assert_int_equal(tfs_part_sync(f->p), 0);
	tfs_store_clean(f->st);
	assert_int_equal(count_files(f->dir, ".zst"), 2);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		assert_int_equal(tfs_part_pread(f->p, buf, n - offs[i], offs[i]),
				 (ssize_t)(n - offs[i]));
		assert_memory_equal(buf, all + offs[i], n - offs[i]);
	}
	free(all);
	free(buf);
}

/* A crash between writing the .zst and removing the .log leaves both:
 * the .log wins.  A damaged frame fails with EIO, the rest reads. */
static void test_compress_crash_and_damage(void **state)
{
	struct fix *f = *state;
	char path[4300], cmd[9000], buf[256];
	int logged;
	size_t n;
	char *all;

	n = fill(f->p, &all);
	assert_int_equal(tfs_part_sync(f->p), 0);
	fix_close(f);
	/* a .zst beside its .log: removed at load, logged */
	snprintf(path, sizeof(path), "%s/t/0/00000000000000000000.zst",
		 f->dir);
	assert_int_equal(th_write_text(path, "junk"), 0);
	th_log_clear();
	fix_open(f);
	assert_true(th_logged("00000000000000000000.zst", "compression was "
			      "interrupted", NULL));
	assert_int_equal(access(path, F_OK), -1);
	check_all(f->p, all, n);
	tfs_store_clean(f->st);
	assert_int_equal(access(path, F_OK), 0);
	fix_close(f);
	/* flip a byte in the middle of the first frame */
	snprintf(cmd, sizeof(cmd),
		 "printf '\\377' | dd of=%s bs=1 seek=200 conv=notrunc "
		 "status=none",
		 path);
	assert_int_equal(system(cmd), 0);
	th_log_clear();
	fix_open(f);
	assert_int_equal(tfs_part_pread(f->p, buf, 100, 0), -EIO);
	assert_true(th_logged("00000000000000000000.zst", "damaged compressed "
			      "frame", NULL));
	/* logged once, however often it is read */
	assert_int_equal(tfs_part_pread(f->p, buf, 100, 0), -EIO);
	assert_int_equal(tfs_part_pread(f->p, buf, 100, 50), -EIO);
	logged = 0;
	for (int i = 0; i < th_log_count; i++)
		logged += strstr(th_log_lines[i], "damaged compressed frame") !=
			  NULL;
	assert_int_equal(logged, 1);
	/* the next segment is intact */
	assert_int_equal(tfs_part_pread(f->p, buf, 100, SEG), 100);
	assert_memory_equal(buf, all + SEG, 100);
	/* retention stops at the damaged frame's segment, as at a damaged
	 * .log, until its file is moved away */
	assert_int_equal(tfs_topic_config_set(f->t, "retention.bytes=1", 17,
					      NULL, 0),
			 0);
	tfs_store_clean(f->st);
	assert_int_equal(access(path, F_OK), 0);
	assert_true(th_logged("retention: t/0: stops at the damaged segment "
			      "00000000000000000000",
			      NULL, NULL));
	assert_int_equal(tfs_part_pread(f->p, buf, 100, SEG), 100);
	snprintf(cmd, sizeof(cmd), "%s.moved", path);
	assert_int_equal(rename(path, cmd), 0);
	tfs_store_clean(f->st);
	assert_int_equal(count_files(f->dir, ".zst"), 0);
	assert_true(th_logged("retention: t/0: deleted", NULL, NULL));
	free(all);
}

static void *clean_thread(void *arg)
{
	tfs_store_clean(arg);
	return NULL;
}

/* Passes of tfs_store_clean at once (the cleaner thread and a caller)
 * compress each segment once, and lose nothing. */
static void test_compress_concurrent(void **state)
{
	struct fix *f = *state;
	pthread_t th[4];
	size_t n;
	char *all;

	n = fill(f->p, &all);
	assert_int_equal(tfs_part_sync(f->p), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, clean_thread, f->st),
				 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_false(th_logged("compression", "No such file", NULL));
	check_all(f->p, all, n);
	fix_close(f);
	fix_open(f);
	check_all(f->p, all, n);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compress_read, setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_compress_big_segment, setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_compress_crash_and_damage,
						setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_compress_concurrent, setup,
						fix_teardown),
	};

	return cmocka_run_group_tests_name("compress", tests, NULL, NULL);
}
