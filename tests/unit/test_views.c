/*
 * tests/unit/test_views.c - the store side of consumer views: seeking by
 * time (forged index times, and real ones) and by record count from the
 * end, across segments, after retention and compression, with a clock
 * step; consumer groups: names, offsets, commits, persistence, leftovers
 * and damage at load, topic and partition deletes, concurrent commits.
 */
#include "store_helpers.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "format.h"
#include "internal.h" /* seg_ent_encode(), to forge index times */
#include "store_fixture.h"

#define NREC 100	     /* records of the seek tests */
#define T0   1000000000000ll /* forged time of offset 0 (2001) */

/* Offsets of the records the seek tests append, and the end. */
static uint64_t offs[NREC + 1];

/* Append NREC records of varied lengths (50..149 bytes) to f->p. */
static void fill(struct fix *f)
{
	unsigned char rec[200];

	for (int i = 0; i < NREC; i++) {
		size_t len = 50 + (size_t)(i * 37) % 100;

		pattern(rec, len, (unsigned)i);
		assert_int_equal(tfs_part_append(f->p, rec, len, TFS_OFFSET_ANY,
						 &offs[i]),
				 (ssize_t)len);
	}
	offs[NREC] = tfs_part_end(f->p);
}

/* The forged time of the record at off: T0 + off / 10, so times are
 * sorted, several records may share one, and gaps fall between. */
static int64_t t_sorted(uint64_t off)
{
	return T0 + (int64_t)(off / 10);
}

/* Rewrite the time of every index entry of partition 0 of topic t in dir
 * to fn(offset), with the store closed. */
static void forge_times(const char *dir, int64_t (*fn)(uint64_t))
{
	unsigned char raw[FMT_ENT_SIZE];
	struct seg_entry e;
	char path[4096];

	for (int i = 0; i <= NREC; i++) {
		const char *idx = th_seg(dir, "t", 0, offs[i], FMT_IDX_SUFFIX);
		long long size = th_size(idx);
		int fd;

		if (size < 0)
			continue; /* not a segment base */
		snprintf(path, sizeof(path), "%s", idx);
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		for (long long pos = FMT_HDR_SIZE; pos < size;
		     pos += FMT_ENT_SIZE) {
			assert_int_equal(pread(fd, raw, sizeof(raw), pos),
					 sizeof(raw));
			assert_int_equal(seg_ent_decode(raw, &e), 0);
			e.time_ms = fn(e.off);
			seg_ent_encode(raw, &e);
			assert_int_equal(pwrite(fd, raw, sizeof(raw), pos),
					 sizeof(raw));
		}
		close(fd);
	}
}

/* Fill, forge the times with fn, reopen. */
static void fill_forged(struct fix *f, int64_t (*fn)(uint64_t))
{
	fill(f);
	fix_close(f);
	forge_times(f->dir, fn);
	fix_open(f);
}

/* What tfs_part_seek_time must give: the first record from start on
 * whose time fn(off) is >= ms, by a forward scan; the end if none. */
static uint64_t want_time(int64_t (*fn)(uint64_t), uint64_t start, int64_t ms)
{
	for (int i = 0; i < NREC; i++)
		if (offs[i] >= start && fn(offs[i]) >= ms)
			return offs[i];
	return offs[NREC];
}

/* Every ms from before the first record to after the last. */
static void check_times(struct fix *f, int64_t (*fn)(uint64_t))
{
	struct tfs_part_info info;
	uint64_t off;

	tfs_part_info(f->p, &info);
	for (int64_t ms = T0 - 3; ms <= fn(offs[NREC]) + 3; ms++) {
		off = UINT64_MAX;
		assert_int_equal(tfs_part_seek_time(f->p, ms, &off), 0);
		if (off != want_time(fn, info.start, ms))
			fail_msg("seek_time(T0 + %lld) gave %llu, want %llu",
				 (long long)(ms - T0), (unsigned long long)off,
				 (unsigned long long)want_time(fn, info.start,
							       ms));
	}
}

/* Every n from 0 to past the records kept. */
static void check_last(struct fix *f)
{
	struct tfs_part_info info;
	uint64_t off, kept;
	int first = 0;

	tfs_part_info(f->p, &info);
	while (offs[first] < info.start)
		first++;
	kept = (uint64_t)(NREC - first);
	assert_int_equal(info.records, kept);
	for (uint64_t n = 0; n <= kept + 2; n++) {
		uint64_t want = n >= kept ? info.start : offs[NREC - n];

		off = UINT64_MAX;
		assert_int_equal(tfs_part_seek_last(f->p, n, &off), 0);
		if (off != want)
			fail_msg("seek_last(%llu) gave %llu, want %llu",
				 (unsigned long long)n, (unsigned long long)off,
				 (unsigned long long)want);
	}
	assert_int_equal(tfs_part_seek_last(f->p, UINT64_MAX, &off), 0);
	assert_int_equal(off, info.start);
}

static void test_seek_time_segments(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info info;
	uint64_t off;

	fill_forged(f, t_sorted);
	tfs_part_info(f->p, &info);
	assert_true(info.segments >= 3);
	/* the named cases, then every ms (the first seek into each loaded
	 * segment scans its index, later ones search it) */
	assert_int_equal(tfs_part_seek_time(f->p, T0 - 1000, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_seek_time(f->p, t_sorted(offs[7]), &off), 0);
	assert_int_equal(off, offs[7]);
	assert_int_equal(tfs_part_seek_time(f->p, t_sorted(offs[7]) + 1, &off),
			 0);
	assert_int_equal(off, offs[8]);
	assert_int_equal(tfs_part_seek_time(f->p, INT64_MAX, &off), 0);
	assert_int_equal(off, offs[NREC]);
	check_times(f, t_sorted);
	check_times(f, t_sorted);
}

/* Every offset from 0 to past the end: the start of its record. */
static void check_record(struct fix *f)
{
	struct tfs_part_info info;
	uint64_t off, want;
	int r = 0;

	tfs_part_info(f->p, &info);
	for (uint64_t x = 0; x <= info.end + 2; x++) {
		while (r < NREC && offs[r + 1] <= x)
			r++;
		want = x < info.start || x >= info.end ? x : offs[r];
		off = UINT64_MAX;
		assert_int_equal(tfs_part_seek_record(f->p, x, &off), 0);
		if (off != want)
			fail_msg("seek_record(%llu) gave %llu, want %llu",
				 (unsigned long long)x, (unsigned long long)off,
				 (unsigned long long)want);
	}
}

/* The record that holds an offset, in every segment (a group's commit
 * at close rounds down to it). */
static void test_seek_record(void **state)
{
	struct fix *f = *state;
	uint64_t off;

	assert_int_equal(tfs_part_seek_record(f->p, 0, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_seek_record(f->p, 7, &off), 0);
	assert_int_equal(off, 7); /* past the end of an empty partition */
	fill(f);
	check_record(f);
	fix_close(f);
	fix_open(f);
	check_record(f);
}

static void test_seek_last_segments(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info info;
	uint64_t off;

	/* empty partition: end = start = 0 for every n */
	assert_int_equal(tfs_part_seek_last(f->p, 0, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_seek_last(f->p, 5, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_seek_time(f->p, 0, &off), 0);
	assert_int_equal(off, 0);
	fill(f);
	tfs_part_info(f->p, &info);
	assert_true(info.segments >= 3);
	assert_int_equal(tfs_part_seek_last(f->p, 1, &off), 0);
	assert_int_equal(off, offs[NREC - 1]);
	check_last(f);
	fix_close(f);
	fix_open(f);
	check_last(f);
}

/* A clock step inside segment 1: its records 10..19 are 200 ms back.
 * (Segments are chosen by their newest record's time, so the segments'
 * newest times stay in order.) */
static uint64_t step_at, step_end;

static int64_t t_step(uint64_t off)
{
	if (off >= step_at && off < step_end)
		return t_sorted(off) - 200;
	return t_sorted(off);
}

static void test_seek_time_clock_step(void **state)
{
	struct fix *f = *state;
	int seg1 = 0;
	uint64_t off;

	fill(f);
	while (th_size(th_seg(f->dir, "t", 0, offs[++seg1], ".idx")) < 0)
		;
	step_at = offs[seg1 + 10];
	step_end = offs[seg1 + 20];
	assert_true(th_size(th_seg(f->dir, "t", 0, step_end, ".idx")) < 0);
	fix_close(f);
	forge_times(f->dir, t_step);
	fix_open(f);
	/* a binary search would find a record after the step */
	assert_int_equal(tfs_part_seek_time(f->p, t_step(offs[seg1 + 5]), &off),
			 0);
	assert_int_equal(off, offs[seg1 + 5]);
	check_times(f, t_step);
	check_times(f, t_step);
}

/* Append len bytes to p's active segment stamped ms, as
 * part_append_locked does but with a time of our choosing (white box: the
 * clock cannot be stepped from here). */
static void append_at(struct tfs_part *p, size_t len, int64_t ms)
{
	unsigned char rec[100] = { 0 };
	uint64_t end;

	pthread_mutex_lock(&p->append_lock);
	end = atomic_load(&p->end);
	assert_int_equal(
		seg_append(p, p->segs[p->nsegs - 1], rec, len, ms, false), 0);
	atomic_store(&p->end, end + len);
	atomic_fetch_add(&p->records, 1);
	pthread_mutex_unlock(&p->append_lock);
}

/* An append whose time goes back marks its segment: seeks scan it. */
static void test_seek_time_append_step(void **state)
{
	struct fix *f = *state;
	struct tfs_seg *seg = f->p->segs[0];
	uint64_t off;

	assert_int_equal(atomic_load(&seg->times), SEG_TIMES_SORTED);
	for (int i = 0; i < 10; i++)
		append_at(f->p, 100, T0 + 10 * i);
	assert_int_equal(atomic_load(&seg->times), SEG_TIMES_SORTED);
	for (int i = 0; i < 10; i++)
		append_at(f->p, 100, T0 - 500 + 10 * i);
	assert_int_equal(atomic_load(&seg->times), SEG_TIMES_UNSORTED);
	for (int i = 0; i < 10; i++)
		append_at(f->p, 100, T0 + 200 + 10 * i);
	assert_int_equal(tfs_part_seek_time(f->p, T0 + 45, &off), 0);
	assert_int_equal(off, 500);
	assert_int_equal(tfs_part_seek_time(f->p, T0 - 495, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(tfs_part_seek_time(f->p, T0 + 95, &off), 0);
	assert_int_equal(off, 2000);
	assert_int_equal(tfs_part_seek_time(f->p, T0 + 100, &off), 0);
	assert_int_equal(off, 2000);
	assert_int_equal(tfs_part_seek_time(f->p, T0 + 300, &off), 0);
	assert_int_equal(off, 3000);
}

/* The store stamps CLOCK_REALTIME ms itself; also after a roll. */
static void test_seek_time_real(void **state)
{
	struct fix *f = *state;
	struct timespec ts;
	uint64_t a, b, c, off;
	int64_t t0, t1, t2;
	char big[3000] = { 0 };

	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_int_equal(tfs_part_append(f->p, big, 2500, TFS_OFFSET_ANY, &a),
			 2500);
	usleep(20000);
	clock_gettime(CLOCK_REALTIME, &ts);
	t1 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	usleep(20000);
	assert_int_equal(tfs_part_append(f->p, big, 100, TFS_OFFSET_ANY, &b),
			 100);
	usleep(20000);
	clock_gettime(CLOCK_REALTIME, &ts);
	t2 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	usleep(20000);
	/* rolls: 2600 + 2500 > 4096 */
	assert_int_equal(tfs_part_append(f->p, big, 2500, TFS_OFFSET_ANY, &c),
			 2500);
	assert_int_equal(tfs_part_seek_time(f->p, t0 - 1, &off), 0);
	assert_int_equal(off, a);
	assert_int_equal(tfs_part_seek_time(f->p, t1, &off), 0);
	assert_int_equal(off, b);
	assert_int_equal(tfs_part_seek_time(f->p, t2, &off), 0);
	assert_int_equal(off, c);
	assert_int_equal(c, 2600);
	assert_int_equal(tfs_part_seek_time(f->p, t2 + 100000, &off), 0);
	assert_int_equal(off, 5100);
}

/* Keep at least 5000 bytes (the first segment goes): sync (retention
 * waits for SYNCED), clean. */
static void retain(struct fix *f)
{
	struct tfs_part_info info;
	const char *cfg = "retention.bytes=5000";

	assert_int_equal(tfs_topic_config_set(f->t, cfg, strlen(cfg), NULL, 0),
			 0);
	assert_int_equal(tfs_part_sync(f->p), 0);
	tfs_store_clean(f->st);
	tfs_part_info(f->p, &info);
	assert_true(info.start > 0);
	assert_true(info.end - info.start >= 5000);
}

static void test_seek_retention(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info info;
	uint64_t off;

	fill_forged(f, t_sorted);
	retain(f);
	tfs_part_info(f->p, &info);
	assert_int_equal(tfs_part_seek_time(f->p, T0, &off), 0);
	assert_int_equal(off, info.start);
	check_times(f, t_sorted);
	check_last(f);
}

static void test_seek_compressed(void **state)
{
	struct fix *f = *state;
	const char *cfg = "compression=zstd";

	fill_forged(f, t_sorted);
	assert_int_equal(tfs_topic_config_set(f->t, cfg, strlen(cfg), NULL, 0),
			 0);
	assert_int_equal(tfs_part_sync(f->p), 0);
	tfs_store_clean(f->st);
	assert_true(th_size(th_seg(f->dir, "t", 0, 0, ".zst")) > 0);
	assert_true(th_size(th_seg(f->dir, "t", 0, 0, ".log")) < 0);
	check_times(f, t_sorted);
	check_last(f);
	/* retention over compressed segments */
	retain(f);
	check_times(f, t_sorted);
	check_last(f);
}

/* Appends and retention race seeks: every answer is a record boundary at
 * or after the start it saw, and never past the end after the call. */
struct race {
	struct fix *f;	   /* the fixture */
	_Atomic bool stop; /* the appender is done */
};

static void *race_append(void *arg)
{
	struct race *r = arg;
	char rec[100] = { 0 };

	for (int i = 0; i < 3000; i++) {
		tfs_part_append(r->f->p, rec, sizeof(rec), TFS_OFFSET_ANY,
				NULL);
		if (i % 500 == 0) {
			tfs_part_sync(r->f->p);
			tfs_store_clean(r->f->st);
		}
	}
	atomic_store(&r->stop, true);
	return NULL;
}

static void test_seek_race(void **state)
{
	struct fix *f = *state;
	struct race r = { .f = f };
	const char *cfg = "retention.bytes=20000";
	pthread_t th;
	uint64_t off;
	int64_t now = (int64_t)time(NULL) * 1000;

	assert_int_equal(tfs_topic_config_set(f->t, cfg, strlen(cfg), NULL, 0),
			 0);
	assert_int_equal(pthread_create(&th, NULL, race_append, &r), 0);
	while (!atomic_load(&r.stop)) {
		assert_int_equal(tfs_part_seek_last(f->p, 7, &off), 0);
		assert_int_equal(off % 100, 0);
		assert_true(off <= tfs_part_end(f->p));
		assert_int_equal(tfs_part_seek_time(f->p, now, &off), 0);
		assert_int_equal(off % 100, 0);
		assert_true(off <= tfs_part_end(f->p));
	}
	pthread_join(th, NULL);
	assert_int_equal(tfs_part_seek_last(f->p, 7, &off), 0);
	assert_int_equal(off, 300000 - 700);
}

/* ---- groups ------------------------------------------------------------ */

/* DIR/t/.groups/NAME in a static buffer. */
static const char *gpath(struct fix *f, const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/t/%s/%s", f->dir, FMT_GROUPS_DIR, name);
	return buf;
}

/* The file's text (static buffer). */
static const char *gtext(struct fix *f, const char *name)
{
	static char buf[4096];
	FILE *fp = fopen(gpath(f, name), "r");
	size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;

	if (fp)
		fclose(fp);
	buf[n] = '\0';
	return buf;
}

static void check_offset(struct fix *f, const char *g, uint32_t part,
			 uint64_t want, bool want_committed)
{
	uint64_t off = UINT64_MAX;
	bool committed = !want_committed;

	assert_int_equal(tfs_group_offset(f->t, g, part, &off, &committed), 0);
	assert_int_equal(off, want);
	assert_int_equal(committed, want_committed);
}

static void test_group_names(void **state)
{
	struct fix *f = *state;
	char long_name[300];
	char **names;
	ssize_t n;

	memset(long_name, 'a', 250);
	long_name[250] = '\0';
	assert_int_equal(tfs_group_create(f->t, ""), -EINVAL);
	assert_int_equal(tfs_group_create(f->t, ".g"), -EINVAL);
	assert_int_equal(tfs_group_create(f->t, "a/b"), -EINVAL);
	assert_int_equal(tfs_group_create(f->t, "a b"), -EINVAL);
	assert_int_equal(tfs_group_create(f->t, long_name), -EINVAL);
	assert_int_equal(tfs_group_delete(f->t, ".."), -EINVAL);
	long_name[249] = '\0';
	assert_int_equal(tfs_group_create(f->t, long_name), 0);
	assert_int_equal(tfs_group_create(f->t, "c"), 0);
	assert_int_equal(tfs_group_create(f->t, "a"), 0);
	assert_int_equal(tfs_group_create(f->t, "b.tmp"), 0);
	assert_int_equal(tfs_group_create(f->t, "a"), -EEXIST);
	assert_int_equal(tfs_group_exists(f->t, "a"), 1);
	assert_int_equal(tfs_group_exists(f->t, "z"), 0);
	assert_int_equal(tfs_group_exists(f->t, ".g"), 0);
	assert_int_equal(th_size(gpath(f, "a")), 0);
	n = tfs_group_list(f->t, &names);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], long_name);
	assert_string_equal(names[2], "b.tmp");
	assert_string_equal(names[3], "c");
	tfs_names_free(names, (size_t)n);
	assert_int_equal(tfs_group_delete(f->t, "a"), 0);
	assert_int_equal(tfs_group_delete(f->t, "a"), -ENOENT);
	assert_int_equal(tfs_group_exists(f->t, "a"), 0);
	assert_int_equal(th_size(gpath(f, "a")), -1);
	/* "b.tmp" is a group, not a temp file: it survives a reopen */
	fix_close(f);
	fix_open(f);
	n = tfs_group_list(f->t, &names);
	assert_int_equal(n, 3);
	assert_string_equal(names[1], "b.tmp");
	tfs_names_free(names, (size_t)n);
	assert_false(th_logged("recovery", NULL, NULL));
}

static void test_group_commit(void **state)
{
	struct fix *f = *state;
	struct tfs_part *p1;
	uint64_t off;
	bool committed;

	assert_int_equal(tfs_part_create(f->t, 1, &p1), 0);
	assert_int_equal(
		tfs_part_append(f->p, "0123456789", 10, TFS_OFFSET_ANY, NULL),
		10);
	assert_int_equal(tfs_group_offset(f->t, "g", 0, &off, &committed),
			 -ENOENT);
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 1), -ENOENT);
	assert_int_equal(tfs_group_create(f->t, "g"), 0);
	check_offset(f, "g", 0, 0, false);
	check_offset(f, "g", 1, 0, false);
	assert_int_equal(tfs_group_offset(f->t, "g", 2, &off, &committed),
			 -ENOENT);
	assert_int_equal(tfs_group_commit(f->t, "g", 2, 0), -ENOENT);
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 11), -EINVAL);
	assert_int_equal(tfs_group_commit(f->t, "g", 1, 1), -EINVAL);
	assert_string_equal(gtext(f, "g"), "");
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 7), 0);
	check_offset(f, "g", 0, 7, true);
	assert_string_equal(gtext(f, "g"), "0 7\n");
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 10), 0); /* = end */
	assert_int_equal(tfs_group_commit(f->t, "g", 1, 0), 0);
	assert_string_equal(gtext(f, "g"), "0 10\n1 0\n");
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 3), 0); /* rewind */
	check_offset(f, "g", 0, 3, true);
	check_offset(f, "g", 1, 0, true);
	assert_string_equal(gtext(f, "g"), "0 3\n1 0\n");
	/* another group is separate */
	assert_int_equal(tfs_group_create(f->t, "h"), 0);
	check_offset(f, "h", 0, 0, false);
	assert_int_equal(tfs_group_commit(f->t, "h", 1, 0), 0);
	assert_string_equal(gtext(f, "h"), "1 0\n");
	/* a commit as a reader that opened earlier: only into that group
	 * and that partition, not ones made again by their name */
	{
		uint64_t id, id2;

		assert_int_equal(tfs_group_id(f->t, "h", &id), 0);
		assert_int_equal(tfs_group_id(f->t, "nope", &id2), -ENOENT);
		assert_int_equal(tfs_group_commit_as(f->t, "h", 0, 1, f->p, id),
				 0);
		check_offset(f, "h", 0, 1, true);
		assert_int_equal(tfs_group_commit_as(f->t, "h", 0, 2, p1, id),
				 -ENOENT); /* not partition 0 */
		assert_int_equal(tfs_group_delete(f->t, "h"), 0);
		assert_int_equal(tfs_group_create(f->t, "h"), 0);
		assert_int_equal(tfs_group_id(f->t, "h", &id2), 0);
		assert_true(id2 != id);
		assert_int_equal(tfs_group_commit_as(f->t, "h", 0, 2, f->p, id),
				 -ENOENT); /* the old group */
		check_offset(f, "h", 0, 0, false);
		assert_int_equal(tfs_group_commit_as(f->t, "h", 1, 0, p1, id2),
				 0);
	}
	tfs_part_put(p1, 1);
	fix_close(f);
	fix_open(f);
	check_offset(f, "g", 0, 3, true);
	check_offset(f, "g", 1, 0, true);
	check_offset(f, "h", 0, 0, false);
	check_offset(f, "h", 1, 0, true);
}

/* Uncommitted partitions start at the partition's start; an offset
 * retention passed stays (the group fell behind) until it is reset. */
static void test_group_retention(void **state)
{
	struct fix *f = *state;
	struct tfs_part_info info;

	fill(f);
	assert_int_equal(tfs_group_create(f->t, "g"), 0);
	assert_int_equal(tfs_group_commit(f->t, "g", 0, offs[1]), 0);
	retain(f);
	tfs_part_info(f->p, &info);
	assert_true(offs[1] < info.start);
	check_offset(f, "g", 0, offs[1], true);
	assert_int_equal(tfs_group_create(f->t, "u"), 0);
	check_offset(f, "u", 0, info.start, false);
	assert_int_equal(tfs_group_commit(f->t, "g", 0, offs[NREC - 1]), 0);
	check_offset(f, "g", 0, offs[NREC - 1], true);
}

static void test_group_leftovers(void **state)
{
	struct fix *f = *state;

	assert_int_equal(tfs_group_create(f->t, "g"), 0);
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 0), 0);
	fix_close(f);
	/* a crash during a commit of g, and of a group being created */
	assert_int_equal(th_write_text(gpath(f, ".g.tmp"), "0 5\n"), 0);
	assert_int_equal(th_write_text(gpath(f, ".new.tmp"), ""), 0);
	assert_int_equal(th_write_text(gpath(f, ".odd"), "x"), 0);
	th_log_clear();
	fix_open(f);
	assert_true(th_logged("recovery:", "t/.groups/.g.tmp", NULL));
	assert_true(th_logged("recovery:", "t/.groups/.new.tmp", NULL));
	assert_true(th_logged("t/.groups/.odd", "unknown file", NULL));
	assert_int_equal(th_size(gpath(f, ".g.tmp")), -1);
	assert_int_equal(th_size(gpath(f, ".new.tmp")), -1);
	assert_int_equal(tfs_group_exists(f->t, "new"), 0);
	check_offset(f, "g", 0, 0, true);
	/* the data dir loads without a word the second time */
	assert_int_equal(unlink(gpath(f, ".odd")), 0);
	fix_close(f);
	th_log_clear();
	fix_open(f);
	assert_false(th_logged("groups", NULL, NULL));
}

static void test_group_damaged(void **state)
{
	struct fix *f = *state;
	struct tfs_part *p1;

	assert_int_equal(tfs_part_create(f->t, 1, &p1), 0);
	tfs_part_put(p1, 1);
	assert_int_equal(
		tfs_part_append(f->p, "0123456789", 10, TFS_OFFSET_ANY, NULL),
		10);
	fix_close(f);
	assert_int_equal(mkdir(gpath(f, ""), 0755), 0);
	assert_int_equal(th_write_text(gpath(f, "g"),
				       "0 10\ngarbage\n1 x\n5 7\n0 11\n\n"
				       "01 3\n1  2\n1 -1\n1 20"),
			 0);
	th_log_clear();
	fix_open(f);
	if (!th_logged("t/.groups/g", "ignoring 8 damaged line(s)",
		       "line 2: \"garbage\""))
		th_log_dump();
	assert_true(th_logged("t/.groups/g", "ignoring 8 damaged line(s)",
			      "line 2: \"garbage\""));
	check_offset(f, "g", 0, 10, true);
	check_offset(f, "g", 1, 20, true);
	/* the next commit writes it clean */
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 4), 0);
	assert_string_equal(gtext(f, "g"), "0 4\n1 20\n");
}

static void test_group_deletes(void **state)
{
	struct fix *f = *state;
	struct tfs_topic *u;
	struct tfs_part *p;
	char path[4096], **names;
	uint64_t off;
	bool committed;

	/* a partition delete forgets its offsets */
	assert_int_equal(tfs_part_create(f->t, 1, &p), 0);
	assert_int_equal(tfs_group_create(f->t, "g"), 0);
	assert_int_equal(tfs_group_commit(f->t, "g", 0, 0), 0);
	assert_int_equal(tfs_group_commit(f->t, "g", 1, 0), 0);
	tfs_part_put(p, 1);
	assert_int_equal(tfs_part_delete(f->t, 1), 0);
	assert_string_equal(gtext(f, "g"), "0 0\n");
	assert_int_equal(tfs_group_offset(f->t, "g", 1, &off, &committed),
			 -ENOENT);
	assert_int_equal(tfs_part_create(f->t, 1, &p), 0);
	tfs_part_put(p, 1);
	check_offset(f, "g", 1, 0, false);

	/* a topic delete removes .groups */
	assert_int_equal(tfs_topic_create(f->st, "u", &u), 0);
	assert_int_equal(tfs_part_create(u, 0, &p), 0);
	assert_int_equal(tfs_group_create(u, "g1"), 0);
	assert_int_equal(tfs_group_create(u, "g2"), 0);
	assert_int_equal(tfs_group_commit(u, "g1", 0, 0), 0);
	assert_int_equal(tfs_topic_delete(f->st, "u"), -ENOTEMPTY);
	tfs_part_put(p, 1);
	assert_int_equal(tfs_part_delete(u, 0), 0);
	assert_int_equal(tfs_topic_delete(f->st, "u"), 0);
	snprintf(path, sizeof(path), "%s/u", f->dir);
	assert_int_equal(th_size(path), -1);
	/* the held handle: groups gone */
	assert_int_equal(tfs_group_exists(u, "g1"), 0);
	assert_int_equal(tfs_group_list(u, &names), 0);
	tfs_names_free(names, 0);
	assert_int_equal(tfs_group_create(u, "g3"), -ENOENT);
	assert_int_equal(tfs_group_delete(u, "g1"), -ENOENT);
	assert_int_equal(tfs_group_commit(u, "g1", 0, 0), -ENOENT);
	tfs_topic_put(u, 1);
	/* a new topic of that name has none */
	assert_int_equal(tfs_topic_create(f->st, "u", &u), 0);
	assert_int_equal(tfs_group_exists(u, "g1"), 0);
	assert_int_equal(tfs_group_create(u, "g1"), 0);
	tfs_topic_put(u, 1);
	fix_close(f);
	fix_open(f);
	assert_int_equal(tfs_topic_open(f->st, "u", &u), 0);
	assert_int_equal(tfs_group_exists(u, "g1"), 1);
	assert_int_equal(tfs_group_exists(u, "g2"), 0);
	tfs_topic_put(u, 1);
}

#define NTHREADS 6
#define NCOMMITS 25

/* One committer: partition part of group "g", offsets 1..NCOMMITS. */
struct committer {
	struct fix *f; /* the fixture */
	uint32_t part; /* its partition */
	int err;       /* first failure */
};

static void *commit_loop(void *arg)
{
	struct committer *c = arg;

	for (uint64_t off = 1; off <= NCOMMITS && !c->err; off++)
		c->err = tfs_group_commit(c->f->t, "g", c->part,
					  off * (c->part + 1));
	return NULL;
}

static void test_group_concurrent(void **state)
{
	struct fix *f = *state;
	struct committer c[NTHREADS];
	pthread_t th[NTHREADS];
	char rec[NCOMMITS * NTHREADS] = { 0 };
	struct tfs_part *p;

	assert_int_equal(tfs_group_create(f->t, "g"), 0);
	for (uint32_t i = 0; i < NTHREADS; i++) {
		if (i)
			assert_int_equal(tfs_part_create(f->t, i, &p), 0);
		else
			tfs_part_ref(p = f->p, 1);
		assert_int_equal(tfs_part_append(p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 sizeof(rec));
		tfs_part_put(p, 1);
		c[i] = (struct committer){ .f = f, .part = i };
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, commit_loop, &c[i]), 0);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].err, 0);
	}
	for (uint32_t i = 0; i < NTHREADS; i++)
		check_offset(f, "g", i, NCOMMITS * (i + 1), true);
	fix_close(f);
	fix_open(f);
	for (uint32_t i = 0; i < NTHREADS; i++)
		check_offset(f, "g", i, NCOMMITS * (i + 1), true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seek_time_segments,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_record, fix_setup_small,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_last_segments,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_time_clock_step,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_time_append_step,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_time_real,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_retention,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_compressed,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_seek_race, fix_setup_small,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_names, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_retention,
						fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_leftovers, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_damaged, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_deletes, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_group_concurrent,
						fix_setup, fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
