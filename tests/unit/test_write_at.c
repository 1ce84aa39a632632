/*
 * tests/unit/test_write_at.c - tfs_part_write_at, the store side of stream
 * mode: in-order writes, re-sent tails (compared, not stored twice),
 * refused overwrites, out-of-order writes that wait for the gap to close,
 * gaps that never close, rolls across segments, and mixing with appends.
 */
#include "store_helpers.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "store_fixture.h"
#include "internal.h" /* the hold cache */

static uint64_t records(struct tfs_part *p)
{
	struct tfs_part_info info;

	tfs_part_info(p, &info);
	return info.records;
}

/* The partition holds exactly want[0..len). */
static void check_content(struct tfs_part *p, const void *want, size_t len)
{
	unsigned char *got = malloc(len + 1);

	assert_non_null(got);
	assert_int_equal(tfs_part_end(p), len);
	assert_int_equal(tfs_part_pread(p, got, len + 1, 0), len);
	assert_memory_equal(got, want, len);
	free(got);
}


static void test_in_order(void **state)
{
	struct fix *f = *state;

	assert_int_equal(tfs_part_write_at(f->p, "abc", 3, 0), 3);
	assert_int_equal(tfs_part_write_at(f->p, "def", 3, 3), 3);
	check_content(f->p, "abcdef", 6);
	assert_int_equal(records(f->p), 2);
	assert_int_equal(tfs_part_write_at(f->p, "x", 0, 6), 0);
	assert_int_equal(tfs_part_write_at(f->p, "x", 0, 99), 0);
	assert_int_equal(records(f->p), 2);
}

static void test_resent_tail(void **state)
{
	struct fix *f = *state;
	unsigned char buf[150];

	pattern(buf, sizeof(buf), 1);
	assert_int_equal(tfs_part_write_at(f->p, buf, 100, 0), 100);
	assert_int_equal(tfs_part_write_at(f->p, buf, 150, 0), 150);
	check_content(f->p, buf, 150);
	assert_int_equal(records(f->p), 2);
	/* entirely below the end and equal: nothing stored */
	assert_int_equal(tfs_part_write_at(f->p, buf, 100, 0), 100);
	assert_int_equal(tfs_part_write_at(f->p, buf + 50, 100, 50), 100);
	check_content(f->p, buf, 150);
	assert_int_equal(records(f->p), 2);
	assert_int_equal(th_logged("stream write", NULL, NULL), 0);
}

static void test_overwrite_refused(void **state)
{
	struct fix *f = *state;

	assert_int_equal(tfs_part_write_at(f->p, "abc", 3, 0), 3);
	assert_int_equal(tfs_part_write_at(f->p, "xyz", 3, 0), -EIO);
	check_content(f->p, "abc", 3);
	assert_int_equal(records(f->p), 1);
	assert_true(th_logged("t/0: stream write at offset 0..3 differs from "
			      "stored bytes at 0",
			      "append-only", NULL));
	/* differing at the last overlapping byte, with a new tail: the
	 * stored bytes stay, the tail (the kernel's already) is stored */
	th_log_clear();
	assert_int_equal(tfs_part_write_at(f->p, "abXdef", 6, 0), -EIO);
	check_content(f->p, "abcdef", 6);
	assert_int_equal(records(f->p), 2);
	assert_true(th_logged("offset 0..6 differs", "stored bytes at 2",
			      "past the end is stored"));
}

/* A refused write that reached past the end (a pwrite() over stored bytes
 * that also extended the file): the kernel took the whole range into its
 * cache and its size, so the part past the end is stored.  The kernel
 * sends the page again with the next append (its copy still holds the
 * refused bytes until it is dropped): refused again, and the append is
 * stored.  No gap, and appends go on without a remount. */
static void test_refused_past_end(void **state)
{
	struct fix *f = *state;

	assert_int_equal(tfs_part_write_at(f->p, "hello\n", 6, 0), 6);
	assert_int_equal(tfs_part_write_at(f->p, "hellXXworld\n", 12, 0), -EIO);
	check_content(f->p, "hello\nworld\n", 12);
	assert_int_equal(records(f->p), 2);
	th_log_clear();
	assert_int_equal(tfs_part_write_at(f->p, "hellXXworld\nnext\n", 17, 0),
			 -EIO);
	check_content(f->p, "hello\nworld\nnext\n", 17);
	assert_true(th_logged("t/0: stream write at offset 0..17 differs",
			      "stored bytes at 4", NULL));
	/* once the kernel has dropped its copy, its pages agree again */
	assert_int_equal(tfs_part_write_at(f->p, "hello\nworld\nnext\nmore", 21,
					   0),
			 21);
	assert_int_equal(tfs_part_write_at(f->p, "!", 1, 21), 1);
	check_content(f->p, "hello\nworld\nnext\nmore!", 22);
	assert_int_equal(records(f->p), 5);
	assert_int_equal(th_log_count, 1);
}

/* The later range arrives first: it is held (not visible), then stored
 * as soon as the bytes before it arrive, in order. */
static void test_out_of_order(void **state)
{
	struct fix *f = *state;
	static unsigned char buf[3 * 4096];

	struct tfs_held_stats h;

	pattern(buf, sizeof(buf), 2);
	tfs_store_held(f->st, &h);
	assert_int_equal(h.held_writes, 0);
	assert_int_equal(tfs_part_write_at(f->p, buf + 8192, 4096, 8192), 4096);
	assert_int_equal(tfs_part_write_at(f->p, buf + 4096, 4096, 4096), 4096);
	assert_int_equal(tfs_part_end(f->p), 0); /* held, not visible */
	tfs_store_held(f->st, &h); /* counted: .metrics shows them */
	assert_int_equal(h.held_writes, 2);
	assert_int_equal(h.held_bytes, 8192);
	assert_int_equal(tfs_part_sync(f->p), -EIO); /* a gap is not durable */
	assert_int_equal(tfs_part_write_at(f->p, buf, 4096, 0), 4096);
	check_content(f->p, buf, sizeof(buf));
	assert_int_equal(records(f->p), 3);
	assert_int_equal(tfs_part_sync(f->p), 0);
	assert_true(th_logged("fsync: stream writes from offset 4096", NULL,
			      NULL));
	assert_false(th_logged("refused", NULL, NULL));
	assert_false(th_logged("dropped", NULL, NULL));
}

/* Held writes overlapping each other and the re-sent tail: the held copy
 * of a page and a later, longer copy of it both land once. */
static void test_out_of_order_resent(void **state)
{
	struct fix *f = *state;
	static unsigned char buf[8192 + 100];

	pattern(buf, sizeof(buf), 5);
	assert_int_equal(tfs_part_write_at(f->p, buf, 100, 0), 100);
	/* page 1 arrives before page 0's longer second copy */
	assert_int_equal(tfs_part_write_at(f->p, buf + 4096, 4096, 4096), 4096);
	assert_int_equal(tfs_part_write_at(f->p, buf + 8192, 100, 8192), 100);
	assert_int_equal(tfs_part_end(f->p), 100);
	assert_int_equal(tfs_part_write_at(f->p, buf, 4096, 0), 4096);
	check_content(f->p, buf, sizeof(buf));
}

/* Hold buffers go back to the store's cache and are reused; a cleaner
 * pass that saw none taken frees them; a large hold is not cached.  (The
 * store's cleaner trims every second too: the counts below assume no
 * two passes of it between two lines.) */
static void test_hold_cache(void **state)
{
	struct fix *f = *state;
	enum { C = 512 << 10 }; /* a chunk large enough for a cache buffer */
	static unsigned char buf[3 * C];
	static unsigned char big[PART_HOLD_BUF + 4096];

	pattern(buf, sizeof(buf), 7);
	assert_int_equal(tfs_part_write_at(f->p, buf + 2 * C, C, 2 * C), C);
	assert_int_equal(tfs_part_write_at(f->p, buf + C, C, C), C);
	assert_int_equal(f->p->early_bytes, 2 * PART_HOLD_BUF);
	assert_int_equal(f->st->hold_cached, 0);
	assert_int_equal(tfs_part_write_at(f->p, buf, C, 0), C);
	assert_int_equal(f->st->hold_cached, 2); /* both back, for reuse */
	assert_int_equal(f->p->early_bytes, 0);
	check_content(f->p, buf, sizeof(buf));
	/* a hold takes one from the cache, and gives it back */
	assert_int_equal(tfs_part_write_at(f->p, buf, C, 3 * C + 100), C);
	assert_int_equal(f->st->hold_cached, 1);
	assert_int_equal(tfs_part_write_at(f->p, buf, 100, 3 * C), 100);
	assert_int_equal(f->st->hold_cached, 2);
	/* of two passes with no take between them, the second frees them
	 * (the cleaner's own passes may come between: it does the same) */
	part_hold_trim(f->st, false);
	part_hold_trim(f->st, false);
	assert_int_equal(f->st->hold_cached, 0);
	/* a hold larger than a cache buffer is freed, not cached */
	pattern(big, sizeof(big), 8);
	assert_int_equal(tfs_part_write_at(f->p, big, sizeof(big), 4 * C + 300),
			 sizeof(big));
	assert_int_equal(tfs_part_write_at(f->p, buf, 200, 4 * C + 100), 200);
	assert_int_equal(f->st->hold_cached, 0);
	assert_int_equal(tfs_part_end(f->p), 4 * C + 300 + sizeof(big));
}

/* Small holds take buffers of their own size, counted as such, and many
 * of them in ascending order are stored whole once the gap fills. */
static void test_hold_small(void **state)
{
	struct fix *f = *state;
	enum { N = 2000, L = 512 };
	static unsigned char buf[N * L];

	pattern(buf, sizeof(buf), 9);
	for (size_t i = 1; i < N; i++)
		assert_int_equal(tfs_part_write_at(f->p, buf + i * L, L, i * L),
				 L);
	assert_int_equal(f->p->early_bytes, (uint64_t)(N - 1) * L);
	assert_int_equal(f->st->hold_cached, 0);
	/* one out of order, before the tail */
	assert_int_equal(tfs_part_write_at(f->p, buf + L, L, L), L);
	assert_int_equal(tfs_part_write_at(f->p, buf, L, 0), L);
	assert_int_equal(f->p->early_bytes, 0);
	assert_null(f->p->early_tail);
	assert_int_equal(tfs_part_end(f->p), sizeof(buf));
	check_content(f->p, buf, sizeof(buf));
}

/* A range whose predecessor never comes is dropped, logged, at close; an
 * overwrite inside a held range is refused when it is reached. */
static void test_gap_never_closes(void **state)
{
	struct fix *f = *state;
	unsigned char buf[100];

	pattern(buf, sizeof(buf), 3);
	assert_int_equal(tfs_part_write_at(f->p, buf, sizeof(buf), 5000), 100);
	assert_int_equal(tfs_part_end(f->p), 0);
	assert_int_equal(records(f->p), 0);
	fix_close(f);
	assert_true(th_logged("dropped 100 bytes of a stream write at offset 5000..5100",
			      "never arrived", NULL));
	fix_open(f);
	assert_int_equal(tfs_part_end(f->p), 0);
	/* still usable from its end */
	assert_int_equal(tfs_part_write_at(f->p, buf, sizeof(buf), 0), 100);
	check_content(f->p, buf, 100);
}

/* A held range that cannot be stored when the gap closes, for a reason
 * other than disk space (here its segment cannot be created: a directory
 * has the name), is lost: it is logged and counted as refused, so its
 * writers hear of it at close() (EIO), as when a direct write fails. */
static void test_held_drain_fails(void **state)
{
	struct fix *f = *state;
	static unsigned char buf[TFS_MIN_SEGMENT_BYTES + 100];
	char path[PATH_MAX];

	pattern(buf, sizeof(buf), 6);
	snprintf(path, sizeof(path), "%s/t/0/%020llu.log", f->dir,
		 (unsigned long long)TFS_MIN_SEGMENT_BYTES);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(tfs_part_write_at(f->p, buf + TFS_MIN_SEGMENT_BYTES,
					   100, TFS_MIN_SEGMENT_BYTES),
			 100);
	assert_int_equal(tfs_part_refused(f->p), 0);
	/* fills segment 0 exactly: the held range needs a new segment */
	assert_int_equal(tfs_part_write_at(f->p, buf, TFS_MIN_SEGMENT_BYTES,
					   0),
			 TFS_MIN_SEGMENT_BYTES);
	assert_int_equal(tfs_part_end(f->p), TFS_MIN_SEGMENT_BYTES);
	assert_int_equal(tfs_part_refused(f->p), 1);
	assert_true(th_logged("stream write at offset 4096..4196", NULL, NULL));
	assert_null(f->p->early);
	assert_int_equal(rmdir(path), 0);
	check_content(f->p, buf, TFS_MIN_SEGMENT_BYTES);
}

/* Page-aligned writeback: each step re-sends its partial tail page
 * together with the new bytes, like the kernel's writeback cache does. */
static void test_segments_and_reopen(void **state)
{
	struct fix *f = *state;
	static unsigned char buf[40000];
	size_t stored = 0, step = 1500;
	struct tfs_part_info info;

	pattern(buf, sizeof(buf), 4);
	while (stored < sizeof(buf)) {
		size_t page = stored & ~(size_t)4095;
		size_t upto = stored + step < sizeof(buf) ? stored + step
							  : sizeof(buf);

		/* at most 4 pages a request, as writeback sends them */
		if (upto - page > 4 * 4096)
			upto = page + 4 * 4096;
		assert_int_equal(tfs_part_write_at(f->p, buf + page,
						   upto - page, page),
				 upto - page);
		assert_int_equal(tfs_part_end(f->p), upto);
		stored = upto;
		step = step * 3 % 9000 + 700;
	}
	check_content(f->p, buf, sizeof(buf));
	tfs_part_info(f->p, &info);
	assert_true(info.segments > 1);
	assert_int_equal(th_logged("stream write", NULL, NULL), 0);
	fix_close(f);
	fix_open(f);
	check_content(f->p, buf, sizeof(buf));
	/* a re-sent tail after reopening is still recognised */
	assert_int_equal(tfs_part_write_at(f->p, buf + 36864, 40000 - 36864,
					   36864),
			 40000 - 36864);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.end, sizeof(buf));
	assert_int_equal(th_logged("stream write", NULL, NULL), 0);
}

static void test_mix_with_append(void **state)
{
	struct fix *f = *state;
	uint64_t off = 99;

	assert_int_equal(tfs_part_append(f->p, "hello ", 6, TFS_OFFSET_ANY,
					 &off),
			 6);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_write_at(f->p, "hello world", 11, 0), 11);
	check_content(f->p, "hello world", 11);
	assert_int_equal(records(f->p), 2);
	assert_int_equal(tfs_part_append(f->p, "!", 1, 11, NULL), 1);
	assert_int_equal(tfs_part_write_at(f->p, "d!?", 3, 10), 3);
	check_content(f->p, "hello world!?", 13);
	assert_int_equal(records(f->p), 4);
}

/* A plain append can fill the gap in front of a held write. */
static void test_append_fills_gap(void **state)
{
	struct fix *f = *state;

	assert_int_equal(tfs_part_write_at(f->p, "def", 3, 3), 3);
	assert_int_equal(tfs_part_append(f->p, "abc", 3, 0, NULL), 3);
	/* held writes are stored by the next stream write that reaches them */
	assert_int_equal(tfs_part_write_at(f->p, "abc", 3, 0), 3);
	check_content(f->p, "abcdef", 6);
}

/* Held write-backs read back, with zeros for the holes between them (a
 * READ covers only pages the kernel does not have). */
static void test_held_read(void **state)
{
	struct fix *f = *state;
	unsigned char buf[8192], want[8192];

	assert_int_equal(tfs_part_write_at(f->p, "abc", 3, 0), 3);
	assert_int_equal(tfs_part_write_at(f->p, "XXXXXXXXXX", 10, 4096), 10);
	assert_int_equal(tfs_part_write_at(f->p, "YY", 2, 6000), 2);
	assert_true(tfs_part_held(f->p));
	assert_int_equal(tfs_part_held_end(f->p), 6002);
	assert_int_equal(tfs_part_pread_held(f->p, buf, 10, 0), -EAGAIN);
	memset(want, 0, sizeof(want));
	memcpy(want + 4096 - 3, "XXXXXXXXXX", 10);
	memcpy(want + 6000 - 3, "YY", 2);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(tfs_part_pread_held(f->p, buf, sizeof(buf), 3),
			 6002 - 3);
	assert_memory_equal(buf, want, 6002 - 3);
	/* from inside a held range, and a range before any */
	assert_int_equal(tfs_part_pread_held(f->p, buf, 4, 4100), 4);
	assert_memory_equal(buf, "XXXX", 4);
	assert_int_equal(tfs_part_pread_held(f->p, buf, 100, 3), 0);
	assert_int_equal(tfs_part_pread_held(f->p, buf, 100, 7000), 0);
}

/* Once the kernel has written everything back, a hole is filled with
 * zeros and the held bytes after it stored; a hole over 64 MiB is not. */
static void test_fill_holes(void **state)
{
	struct fix *f = *state;
	unsigned char want[10002];

	assert_int_equal(tfs_part_write_at(f->p, "x\n", 2, 0), 2);
	assert_int_equal(tfs_part_write_at(f->p, "y\n", 2, 10000), 2);
	assert_int_equal(tfs_part_sync(f->p), -EIO); /* waits for the hole */
	assert_int_equal(tfs_part_fill_holes(f->p), 0);
	assert_false(tfs_part_held(f->p));
	memset(want, 0, sizeof(want));
	memcpy(want, "x\n", 2);
	memcpy(want + 10000, "y\n", 2);
	check_content(f->p, want, sizeof(want));
	assert_true(th_logged("t/0: stored 9998 zero bytes from offset 2",
			      NULL, NULL));
	assert_int_equal(tfs_part_sync(f->p), 0);
	/* too large: stays held, and says so */
	assert_int_equal(tfs_part_write_at(f->p, "z", 1, 10002 + (65ull << 20)),
			 1);
	assert_int_equal(tfs_part_fill_holes(f->p), -EIO);
	assert_true(tfs_part_held(f->p));
	assert_int_equal(tfs_part_end(f->p), 10002);
	assert_true(th_logged("too large to fill with zeros", NULL, NULL));
}

static void test_bad_args(void **state)
{
	struct fix *f = *state;

	assert_int_equal(tfs_part_write_at(f->p, "x", TFS_MAX_RECORD_BYTES + 1u,
					   0),
			 -EMSGSIZE);
	assert_int_equal(tfs_part_write_at(f->p, "xy", 2, UINT64_MAX - 1),
			 -EINVAL);
	assert_int_equal(tfs_part_end(f->p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_resent_tail, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_refused,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_refused_past_end,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_resent,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_hold_cache, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_hold_small, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_gap_never_closes, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_segments_and_reopen,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_held_drain_fails,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_mix_with_append, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_append_fills_gap,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_held_read, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_fill_holes, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, fix_setup,
						fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
