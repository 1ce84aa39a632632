/*
 * tests/unit/test_recovery.c - recovery at tfs_store_open: every torn-tail
 * shape of the active segment, cut on disk after a clean close, must keep
 * exactly the whole records, log the cut, and let appends continue at the
 * recovered end; damaged sealed segments must be refused with -EUCLEAN.
 */
#include "store_helpers.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "crc32c.h"
#include "internal.h" /* seg_ent_encode(), to forge index entries */

#define SEG 4096u /* segment size of every test */

/* A test's data dir; the store is open only inside helpers and checks. */
struct rfix {
	char *dir;		 /* temp data dir */
	struct tfs_store_opts o; /* options */
	struct tfs_store *st;	 /* open store or NULL */
	struct tfs_topic *t;	 /* topic "t" while open */
	struct tfs_part *p;	 /* partition 0 while open */
	char rp_path[PATH_MAX];	 /* scratch */
};

static int r_open(struct rfix *f)
{
	int err = tfs_store_open(f->dir, &f->o, &f->st);

	if (err)
		return err;
	assert_int_equal(tfs_topic_open(f->st, "t", &f->t), 0);
	assert_int_equal(tfs_part_open(f->t, 0, &f->p), 0);
	return 0;
}

static void r_close(struct rfix *f)
{
	tfs_part_put(f->p, 1);
	tfs_topic_put(f->t, 1);
	tfs_store_close(f->st);
	f->st = NULL;
}

static unsigned char r_byte(uint64_t off, unsigned reclen)
{
	return (unsigned char)('a' + (off / reclen) % 26);
}

/* Write n records of reclen bytes (record i is all 'a'+i) and close. */
static void r_fill(struct rfix *f, unsigned n, unsigned reclen)
{
	unsigned char rec[2000];

	assert_int_equal(tfs_store_open(f->dir, &f->o, &f->st), 0);
	assert_int_equal(tfs_topic_create(f->st, "t", &f->t), 0);
	assert_int_equal(tfs_part_create(f->t, 0, &f->p), 0);
	for (unsigned i = 0; i < n; i++) {
		memset(rec, 'a' + i % 26, reclen);
		assert_int_equal(tfs_part_append(f->p, rec, reclen,
						 TFS_OFFSET_ANY, NULL),
				 reclen);
	}
	r_close(f);
	th_log_clear();
}

/* Reopen: the recovery logged a line holding a and b (a NULL: nothing
 * about recovery was logged); exactly kept records of reclen survive with
 * their bytes; an append lands at the recovered end; a second reopen is
 * clean. */
static void r_expect(struct rfix *f, unsigned kept, unsigned reclen,
		     const char *a, const char *b)
{
	uint64_t end = (uint64_t)kept * reclen, off;
	unsigned char *got = malloc(end + 1);
	struct tfs_part_info info;

	assert_int_equal(r_open(f), 0);
	if (a && !th_logged(a, b, NULL)) {
		th_log_dump();
		fail_msg("no log line with \"%s\" and \"%s\"", a, b ? b : "");
	}
	if (!a)
		assert_false(th_logged("recovery", NULL, NULL));
	tfs_part_info(f->p, &info);
	if (info.end != end || info.records != kept)
		th_log_dump();
	assert_int_equal(info.end, end);
	assert_int_equal(info.records, kept);
	assert_int_equal(tfs_part_pread(f->p, got, end + 1, 0), end);
	for (uint64_t i = 0; i < end; i++)
		if (got[i] != r_byte(i, reclen))
			fail_msg("byte %llu differs", (unsigned long long)i);
	assert_int_equal(tfs_part_append(f->p, "Z", 1, end, &off), 1);
	assert_int_equal(off, end);
	r_close(f);
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.end, end + 1);
	assert_int_equal(info.records, kept + 1);
	assert_int_equal(tfs_part_pread(f->p, got, 1, end), 1);
	assert_int_equal(got[0], 'Z');
	r_close(f);
	if (th_logged("recovery", NULL, NULL))
		th_log_dump();
	assert_false(th_logged("recovery", NULL, NULL));
	free(got);
}

static int r_setup(void **state)
{
	struct rfix *f = calloc(1, sizeof(*f));

	f->dir = th_mkdtemp();
	f->o = th_opts(SEG);
	th_log_clear();
	*state = f;
	return 0;
}

static int r_teardown(void **state)
{
	struct rfix *f = *state;

	if (f->st)
		r_close(f);
	th_rm_rf(f->dir);
	free(f);
	return 0;
}

#define LOG0 th_seg(f->dir, "t", 0, 0, ".log")
#define IDX0 th_seg(f->dir, "t", 0, 0, ".idx")

/* ---- torn tails of the active segment -------------------------------- */

/* The recovery point of t/0: RP_NONE removes it.  Tests of torn tails
 * remove the one a clean close wrote, since a crash leaves the unsynced
 * records past it; a recovery point past index damage makes it damage. */
#define RP_NONE UINT64_MAX
static void r_set_rp(struct rfix *f, uint64_t off)
{
	if (off == RP_NONE) {
		snprintf(f->rp_path, sizeof(f->rp_path),
			 "%s/t/0/recovery-point", f->dir);
		assert_int_equal(unlink(f->rp_path), 0);
		return;
	}
	assert_int_equal(th_rp_io(f->dir, true, &off), 0);
}

/* Partition t/0's recovery point on disk; RP_NONE if none is valid. */
static uint64_t r_rp(struct rfix *f)
{
	uint64_t off;

	return th_rp_io(f->dir, false, &off) ? RP_NONE : off;
}


static void test_clean_reopen(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_expect(f, 5, 100, NULL, NULL);
}

static void test_cut_mid_record(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_truncate(LOG0, 450), 0);
	r_expect(f, 4, 100, "cut 1 index entries from entry 4",
		 "record 400..500 extends past the end of the .log (offset "
		 "450)");
	/* the data line names the .log and the range */
}

static void test_cut_mid_record_data_line(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_truncate(LOG0, 450), 0);
	r_expect(f, 4, 100, "00000000000000000000.log: cut 50 bytes",
		 "offset 400..450");
}

static void test_cut_mid_index_entry(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_truncate(IDX0, 32 + 5 * 32 - 10), 0);
	r_expect(f, 4, 100,
		 "t/0/00000000000000000000.idx: cut 22 bytes of a partial "
		 "index entry",
		 "index offset 160..182");
}

static void test_record_without_entry(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_truncate(IDX0, 32 + 4 * 32), 0);
	r_expect(f, 4, 100,
		 "recovery: t/0/00000000000000000000.log: cut 100 bytes of a "
		 "partial record at offset 400..500 (no index entry)",
		 NULL);
}

static void test_garbage_after_end(void **state)
{
	struct rfix *f = *state;
	char junk[37];

	memset(junk, '#', sizeof(junk));
	r_fill(f, 5, 100);
	assert_int_equal(th_write(LOG0, -1, junk, sizeof(junk)), 0);
	r_expect(f, 5, 100,
		 "cut 37 bytes of a partial record at offset 500..537 (no "
		 "index entry)",
		 NULL);
}

/* A crash with an index window mapped (seg_append): zero entries after
 * the last one.  Recovery frees them with an info line and cuts nothing,
 * below the recovery point or past it. */
static void r_held_ahead(struct rfix *f, uint64_t rp)
{
	static const unsigned char zeros[16384 - 192];

	r_fill(f, 5, 100);
	if (rp != 500)
		r_set_rp(f, rp);
	assert_int_equal(th_write(IDX0, -1, zeros, sizeof(zeros)), 0);
	assert_int_equal(r_open(f), 0);
	assert_true(th_logged("freed 16192 bytes of index space held ahead",
			      "(zeros after entry 5)", NULL));
	assert_false(th_logged("cut", NULL, NULL));
	assert_int_equal(th_size(IDX0), 192);
	r_close(f);
	th_log_clear();
	r_expect(f, 5, 100, NULL, NULL);
}

static void test_held_ahead(void **state)
{
	r_held_ahead(*state, 500);
}

static void test_held_ahead_unsynced(void **state)
{
	r_held_ahead(*state, RP_NONE);
}

/* Set partition t/0's recovery point on disk (r_fill's close wrote the
 * end there); RP_NONE removes it, as a power loss before its first write
 * leaves it. */
/* A power loss zeroed the last record, which no sync covered. */
static void test_zeroed_last_record(void **state)
{
	struct rfix *f = *state;
	char zeros[100] = { 0 };

	r_fill(f, 5, 100);
	r_set_rp(f, 0);
	assert_int_equal(th_write(LOG0, 400, zeros, sizeof(zeros)), 0);
	r_expect(f, 4, 100, "cut 1 index entries from entry 4",
		 "record 400..500 fails its data CRC (records 400..500 were "
		 "never synced: the recovery point is 0)");
}

static void test_zeroed_two_records(void **state)
{
	struct rfix *f = *state;
	char zeros[200] = { 0 };

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_write(LOG0, 300, zeros, sizeof(zeros)), 0);
	r_expect(f, 3, 100, "cut 2 index entries from entry 3",
		 "fails its data CRC");
}

/* A power loss zeroed a record in the middle of what no sync covered and
 * kept the records after it (appended blocks reach the disk in any
 * order): the log ends before it, not with a hole that reads as EIO. */
static void test_zeroed_hole_unsynced(void **state)
{
	struct rfix *f = *state;
	char zeros[100] = { 0 };

	r_fill(f, 5, 100);
	r_set_rp(f, 100);
	assert_int_equal(th_write(LOG0, 200, zeros, sizeof(zeros)), 0);
	r_expect(f, 2, 100, "cut 3 index entries from entry 2",
		 "record 200..300 fails its data CRC (records 200..500 were "
		 "never synced: the recovery point is 100)");
	assert_int_equal(r_rp(f), 201); /* r_expect's close */
}

/* A torn recovery point counts as none: every record of the tail is
 * checked. */
static void test_rp_torn(void **state)
{
	struct rfix *f = *state;
	char zeros[100] = { 0 };

	r_fill(f, 5, 100);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 0, ".log"), 400,
				  zeros, sizeof(zeros)),
			 0);
	snprintf(f->rp_path, sizeof(f->rp_path), "%s/t/0/recovery-point",
		 f->dir);
	assert_int_equal(th_write(f->rp_path, 20, "#", 1), 0);
	r_expect(f, 4, 100, "recovery-point: torn or not a recovery point",
		 "checking every record");
	assert_int_equal(r_rp(f), 401);
}

/* A recovery point file longer than 32 bytes is not one, whatever its
 * first 32 bytes say (docs/FORMAT.md): every record is checked. */
static void test_rp_long(void **state)
{
	struct rfix *f = *state;
	char zeros[100] = { 0 };

	r_fill(f, 5, 100);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 0, ".log"), 400,
				  zeros, sizeof(zeros)),
			 0);
	snprintf(f->rp_path, sizeof(f->rp_path), "%s/t/0/recovery-point",
		 f->dir);
	assert_int_equal(th_write(f->rp_path, 32, "#", 1), 0);
	r_expect(f, 4, 100, "recovery-point: torn or not a recovery point",
		 "checking every record");
}

/* A recovery point past the recovered end (the end went back) is reset,
 * so the records that reuse those offsets are checked after a crash. */
static void test_rp_past_end(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, 100000);
	assert_int_equal(r_open(f), 0);
	assert_true(th_logged("recovery point 100000 is past the end 500",
			      "set to the end", NULL));
	assert_int_equal(r_rp(f), 500);
	r_close(f);
	assert_int_equal(r_rp(f), 500);
}

/* A sync writes the recovery point (at most once a second, and at the
 * close); appends alone do not; a flush.messages sync does too. */
static void test_rp_follows_syncs(void **state)
{
	struct rfix *f = *state;
	char why[200];

	r_fill(f, 3, 100);
	assert_int_equal(r_rp(f), 300);
	assert_int_equal(r_open(f), 0);
	assert_int_equal(tfs_part_append(f->p, "xy", 2, TFS_OFFSET_ANY, NULL),
			 2);
	assert_int_equal(r_rp(f), 300);
	assert_int_equal(tfs_part_sync(f->p), 0);
	assert_int_equal(r_rp(f), 302);
	assert_int_equal(tfs_topic_config_set(f->t, "flush.messages=1\n", 17,
					      why, sizeof(why)),
			 0);
	assert_int_equal(tfs_part_append(f->p, "z", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(r_rp(f), 302); /* synced, the point within 1 s */
	usleep((PART_RP_MS + 50) * 1000);
	assert_int_equal(tfs_part_append(f->p, "w", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(r_rp(f), 304);
	assert_int_equal(tfs_part_append(f->p, "v", 1, TFS_OFFSET_ANY, NULL),
			 1);
	assert_int_equal(r_rp(f), 304);
	r_close(f);
	assert_int_equal(r_rp(f), 305);
}

static void test_entry_bad_crc(void **state)
{
	struct rfix *f = *state;
	unsigned char x = 0xff;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	/* the length field of entry 2 */
	assert_int_equal(th_write(IDX0, 32 + 2 * 32 + 8, &x, 1), 0);
	r_expect(f, 2, 100, "cut 3 index entries from entry 2",
		 "entry CRC mismatch");
}

static void test_entry_not_contiguous(void **state)
{
	struct rfix *f = *state;
	struct seg_entry e = { .off = 999, .len = 100, .time_ms = 1 };
	unsigned char raw[32];

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	seg_ent_encode(raw, &e); /* a valid CRC, a wrong offset */
	assert_int_equal(th_write(IDX0, 32 + 3 * 32, raw, sizeof(raw)), 0);
	r_expect(f, 3, 100, "cut 2 index entries from entry 3",
		 "record offset 999 does not follow the previous record "
		 "(expected 300)");
}

static void test_empty_files(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_truncate(LOG0, 0), 0);
	assert_int_equal(th_truncate(IDX0, 0), 0);
	r_expect(f, 0, 100, "index header incomplete (0 of 32 bytes)",
		 "rewrote the header");
	assert_int_equal(th_size(IDX0), 32 + 32);
}

static void test_short_header(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 0, 100);
	assert_int_equal(th_truncate(IDX0, 10), 0);
	r_expect(f, 0, 100, "index header incomplete (10 of 32 bytes)", NULL);
}

static void test_missing_idx_empty_log(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	assert_int_equal(unlink(IDX0), 0);
	assert_int_equal(th_truncate(LOG0, 0), 0);
	r_expect(f, 0, 100, "00000000000000000000.idx: index missing", NULL);
}

static void test_missing_idx_with_data(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(unlink(IDX0), 0);
	r_expect(f, 0, 100, "cut 500 bytes of a partial record",
		 "offset 0..500");
}

static void test_idx_header_only(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_truncate(IDX0, 32), 0);
	r_expect(f, 0, 100,
		 "cut 500 bytes of a partial record at offset 0..500",
		 "(no index entry)");
}

static void test_bad_header_with_data(void **state)
{
	struct rfix *f = *state;
	unsigned char x = 'X';

	r_fill(f, 5, 100);
	r_set_rp(f, RP_NONE);
	assert_int_equal(th_write(IDX0, 3, &x, 1), 0);
	r_expect(f, 0, 100, "bad index header (magic or CRC)",
		 "0 valid entries");
}

static void test_no_segments(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 5, 100);
	assert_int_equal(unlink(IDX0), 0);
	assert_int_equal(unlink(LOG0), 0);
	r_expect(f, 0, 100, "t/0: partition has no segments", NULL);
}

/* A crash in a roll after the new .log was made, before its .idx. */
static void test_torn_roll(void **state)
{
	struct rfix *f = *state;
	struct tfs_part_info info;

	r_fill(f, 4, 1000);
	assert_int_equal(
		th_write_text(th_seg(f->dir, "t", 0, 4000, ".log"), ""), 0);
	r_expect(f, 4, 1000, "00000000000000004000.idx: index missing", NULL);
	assert_int_equal(r_open(f), 0);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.segments, 2);
	r_close(f);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 4000, ".log")), 1);
}

/* Recovery of the active segment after several sealed ones. */
static void test_tail_after_sealed(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000); /* segments 0, 4000, 8000 */
	r_set_rp(f, 8000);
	assert_int_equal(
		th_truncate(th_seg(f->dir, "t", 0, 8000, ".log"), 1500), 0);
	r_expect(f, 9, 1000, "00000000000000008000.idx: cut 1 index entries",
		 "extends past");
}

static void test_leftovers(void **state)
{
	struct rfix *f = *state;
	char path[4200];

	r_fill(f, 2, 100);
	snprintf(path, sizeof(path), "%s/t/0/00000000000000000200.log.tmp",
		 f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	snprintf(path, sizeof(path), "%s/t/0/README", f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	r_expect(f, 2, 100, "t/0/README: ignoring an unknown file", NULL);
	assert_int_equal(th_size(path), 1);
	snprintf(path, sizeof(path), "%s/t/0/00000000000000000200.log.tmp",
		 f->dir);
	assert_int_equal(th_size(path), -1);
}

static void test_interrupted_part_delete(void **state)
{
	struct rfix *f = *state;
	char path[4200];

	r_fill(f, 2, 100);
	snprintf(path, sizeof(path), "%s/t/1.deleted", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/1.deleted/00000000000000000000.log",
		 f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	r_expect(f, 2, 100, "finishing an interrupted partition delete", NULL);
	snprintf(path, sizeof(path), "%s/t/1.deleted", f->dir);
	assert_int_equal(th_size(path), -1);
}

/* Only "<partition>.deleted" directories are interrupted deletes; other
 * names with that suffix are strangers, left alone (a file by such a
 * name once refused the mount, and a directory was emptied). */
static void test_deleted_strangers(void **state)
{
	struct rfix *f = *state;
	char path[4200];

	r_fill(f, 2, 100);
	snprintf(path, sizeof(path), "%s/t/notes.deleted", f->dir);
	assert_int_equal(th_write_text(path, "mine"), 0);
	snprintf(path, sizeof(path), "%s/t/backup.deleted", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/backup.deleted/keep", f->dir);
	assert_int_equal(th_write_text(path, "mine"), 0);
	snprintf(path, sizeof(path), "%s/t/7.deleted", f->dir);
	assert_int_equal(th_write_text(path, "a file"), 0);
	r_expect(f, 2, 100, "t/notes.deleted: ignoring an unknown file", NULL);
	assert_true(th_logged("t/7.deleted: ignoring an unknown file", NULL,
			      NULL));
	snprintf(path, sizeof(path), "%s/t/backup.deleted/keep", f->dir);
	assert_int_equal(th_size(path), 4);
	snprintf(path, sizeof(path), "%s/t/notes.deleted", f->dir);
	assert_int_equal(th_size(path), 4);
}

/* ---- damage recovery may not repair ---------------------------------- */

static void r_refused(struct rfix *f, int want, const char *a, const char *b)
{
	th_log_clear();
	assert_int_equal(tfs_store_open(f->dir, &f->o, &f->st), want);
	f->st = NULL;
	if (!th_logged(a, b, NULL)) {
		th_log_dump();
		fail_msg("no log line with \"%s\"", a);
	}
}

/* A FIFO where a metadata file belongs never blocks the open: a .config
 * FIFO is ignored (logged), a group FIFO refuses the mount. */
static void test_fifos(void **state)
{
	struct rfix *f = *state;
	char path[4200];

	r_fill(f, 2, 100);
	snprintf(path, sizeof(path), "%s/t/.config", f->dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	r_expect(f, 2, 100, "t/.config: not a readable regular file",
		 "using the defaults");
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/t/.groups", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/.groups/g1", f->dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	r_refused(f, -EIO, "t/.groups/g1: reading the group", NULL);
}

/* Reopen 10 records of 1000 bytes with damage: the open succeeds and logs
 * a line with a and b; offsets [lo, hi) read as EIO (checked in 500-byte
 * reads), every other byte reads right, and appends go on. */
static void r_damaged(struct rfix *f, uint64_t lo, uint64_t hi, const char *a,
		      const char *b)
{
	unsigned char buf[500];
	struct tfs_part_info info;
	uint64_t off;

	th_log_clear();
	assert_int_equal(r_open(f), 0);
	tfs_part_info(f->p, &info);
	assert_int_equal(info.end, 10000);
	for (off = 0; off < 10000; off += sizeof(buf)) {
		ssize_t r = tfs_part_pread(f->p, buf, sizeof(buf), off);

		if (off >= lo && off < hi) {
			if (r != -EIO)
				fail_msg("read at %llu: %zd, not EIO",
					 (unsigned long long)off, r);
			continue;
		}
		if (off + sizeof(buf) > lo && off < hi)
			continue; /* straddles: short or EIO */
		assert_int_equal(r, sizeof(buf));
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i] != r_byte(off + i, 1000))
				fail_msg("byte %llu differs",
					 (unsigned long long)(off + i));
	}
	if (!th_logged(a, b, NULL)) {
		th_log_dump();
		fail_msg("no log line with \"%s\" and \"%s\"", a, b);
	}
	assert_int_equal(tfs_part_append(f->p, "Z", 1, 10000, &off), 1);
	r_close(f);
}

/* The SYNCED flag of segment base's index header (-1: unreadable). */
static int r_synced(struct rfix *f, unsigned long long base)
{
	return th_synced(f->dir, base);
}

/* Rewrite segment base's index header without the SYNCED flag, as if the
 * store stopped between sealing it and syncing it. */
static void r_unsync(struct rfix *f, unsigned long long base)
{
	unsigned char hdr[32];

	seg_hdr_encode(hdr, base, 0);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, base, ".idx"), 0, hdr,
				  sizeof(hdr)),
			 0);
	assert_int_equal(r_synced(f, base), 0);
}

/* A record below the recovery point was synced: one that fails is damage
 * that reads as EIO, and nothing is cut, neither it nor what follows. */
static void test_zeroed_synced_kept(void **state)
{
	struct rfix *f = *state;
	char zeros[1000] = { 0 };

	r_fill(f, 10, 1000);
	assert_int_equal(r_rp(f), 10000);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 8000, ".log"), 0,
				  zeros, sizeof(zeros)),
			 0);
	r_damaged(f, 8000, 9000,
		  "00000000000000008000.log: record at offset 8000",
		  "data CRC mismatch");
	assert_false(th_logged("recovery", NULL, NULL));
}

/* Recovery checks the records past the recovery point; the first read
 * still checks those before it, and finds damage there. */
static void test_damage_below_rp_found(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_set_rp(f, 9000);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 8000, ".log"), 10, "#",
				  1),
			 0);
	r_damaged(f, 8000, 9000,
		  "00000000000000008000.log: record at offset 8000",
		  "data CRC mismatch");
	assert_true(th_logged("checked 1 records (1000 bytes, offsets "
			      "9000..10000) past the recovery point",
			      NULL, NULL));
}

/* ---- index damage below the recovery point: kept, never cut ---------- */

#define IDX8K th_seg(f->dir, "t", 0, 8000, ".idx")

/* Entry 0 of the active segment (records 8000..9000, 9000..10000) fails
 * its CRC, and the recovery point 10000 says a sync covered it: its
 * record reads as EIO, entry 1 resumes the walk, and nothing is cut. */
static void test_synced_entry_flip(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(IDX8K, 32 + 3, "#", 1), 0);
	r_damaged(f, 8000, 9000,
		  "00000000000000008000.idx: index entry 0 damaged "
		  "below the recovery point 10000",
		  "kept, not cut");
	assert_true(th_logged("entry 0: an index entry fails its CRC",
			      "offsets 8000..9000 read as EIO", NULL));
}

/* The last entry fails: nothing says where its record ends but the
 * recovery point. */
static void test_synced_last_entry_flip(void **state)
{
	struct rfix *f = *state;
	unsigned char got[2];

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(IDX8K, 32 + 32 + 3, "#", 1), 0);

	r_damaged(f, 9000, 10000, "index entry 1 damaged below",
		  "no entry follows: cut from the index");
	/* the next mount keeps it all, the append after it included */
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	assert_int_equal(tfs_part_end(f->p), 10001);
	assert_int_equal(tfs_part_pread(f->p, got, 2, 10000), 1);
	assert_int_equal(got[0], 'Z');
	assert_int_equal(tfs_part_pread(f->p, got, 1, 9500), -EIO);
	if (th_logged("cut", NULL, NULL))
		th_log_dump();
	assert_false(th_logged("cut", NULL, NULL));
	r_close(f);
}

/* The same flip past the recovery point is a torn tail: cut. */
static void test_unsynced_entry_flip(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_set_rp(f, 9000);
	assert_int_equal(th_write(IDX8K, 32 + 32 + 3, "#", 1), 0);
	r_expect(f, 9, 1000, "cut 1 index entries from entry 1",
		 "entry CRC mismatch");
}

/* A bad or zeroed header of an index a sync covered: written again, and
 * every entry kept. */
static void test_synced_header_flip(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(IDX8K, 3, "#", 1), 0);
	r_damaged(f, 0, 0, "bad index header (magic or CRC), but the "
			   "recovery point 10000",
		  "rewrote the header and kept the 64 bytes of index entries");
}

static void test_synced_header_zeros(void **state)
{
	struct rfix *f = *state;
	unsigned char z[32] = { 0 };

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(IDX8K, 0, z, sizeof(z)), 0);
	r_damaged(f, 0, 0, "index header is zeros, but the recovery point",
		  "kept the 64 bytes");
}

/* The index lost its last entry (or all of it): the synced data stays,
 * and reads as EIO. */
static void test_synced_idx_short(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_truncate(IDX8K, 32 + 32), 0);
	r_damaged(f, 9000, 10000,
		  "no index entries for offsets 9000..10000, below the "
		  "recovery point 10000",
		  "the data is kept and reads as EIO");
}

static void test_synced_idx_missing(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(unlink(IDX8K), 0);
	r_damaged(f, 8000, 10000, "index header incomplete, but the recovery "
				  "point 10000",
		  "rewrote the header");
	assert_true(th_logged("no index entries for offsets 8000..10000", NULL,
			      NULL));
}

/* The active .log lost synced bytes (cut to 9500): the end stays at the
 * recovery point 10000, the lost bytes come back as zeros that read as
 * EIO, and the next append lands at 10000: no offset is handed out
 * twice. */
static void test_synced_log_short(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 8000, ".log"), 1500),
			 0);
	r_damaged(f, 9000, 10000,
		  "00000000000000008000.log: ends at offset 9500, below the "
		  "recovery point 10000",
		  "extended with zeros to it; offsets 9500..10000 read as EIO");
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".log")), 2001);
}

/* Unsynced records past the synced ones are cut as usual: a damaged entry
 * below the recovery point, then a torn one past it (whose record does
 * not fit in the .log, so it cannot end the damaged run): the data up to
 * the recovery point stays, the rest goes. */
static void test_synced_damage_then_torn(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_set_rp(f, 9000);
	assert_int_equal(th_write(IDX8K, 32 + 3, "#", 1), 0);
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 8000, ".log"),
				     1500),
			 0);
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	assert_int_equal(tfs_part_end(f->p), 9000);
	assert_true(th_logged("index entries 0..1 damaged below the "
			      "recovery point 9000, and no entry follows",
			      "offsets 8000..9000 read as EIO", NULL));
	if (!th_logged("8000.log: cut 500 bytes", "offset 9000..9500", NULL))
		th_log_dump();
	assert_true(th_logged("8000.log: cut 500 bytes", "offset 9000..9500",
			      NULL));
	r_close(f);
}

/* The same hole in a sealed segment that was never marked synced: it ends
 * short, and the segments after it go (no sync covered them). */
static void test_zeroed_hole_sealed_unsynced(void **state)
{
	struct rfix *f = *state;
	char zeros[1000] = { 0 };

	r_fill(f, 10, 1000);
	r_unsync(f, 4000);
	r_set_rp(f, 4000);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 4000, ".log"), 1000,
				  zeros, sizeof(zeros)),
			 0);
	r_expect(f, 5, 1000, "00000000000000004000.idx: cut 3 index entries",
		 "record 5000..6000 fails its data CRC");
	/* dropped: 8000 follows offsets that no longer exist */
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".log")), -1);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".idx")), -1);
}

/* The syncer marks a sealed segment durable without a close or fsync,
 * STORE_SEAL_SYNC_MS after it was sealed. */
static void test_syncer_marks_sealed(void **state)
{
	struct rfix *f = *state;
	unsigned char rec[1000];
	int tries = 0;

	memset(rec, 'a', sizeof(rec));
	assert_int_equal(tfs_store_open(f->dir, &f->o, &f->st), 0);
	assert_int_equal(tfs_topic_create(f->st, "t", &f->t), 0);
	assert_int_equal(tfs_part_create(f->t, 0, &f->p), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tfs_part_append(f->p, rec, sizeof(rec),
						 TFS_OFFSET_ANY, NULL),
				 sizeof(rec));
	assert_int_equal(r_synced(f, 0), 0); /* not at once */
	while ((r_synced(f, 0) != 1 || r_synced(f, 4000) != 1) &&
	       tries++ < 1000)
		usleep(10000);
	assert_int_equal(r_synced(f, 0), 1);
	assert_int_equal(r_synced(f, 4000), 1);
	assert_int_equal(r_synced(f, 8000), 0); /* the active one */
	r_close(f);
}

/* Sealed but never synced, and whole: kept, and marked synced at open. */
static void test_unsynced_sealed_whole(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_unsync(f, 0);
	r_unsync(f, 4000);
	r_expect(f, 10, 1000, NULL, NULL);
	assert_int_equal(r_synced(f, 0), 1);
	assert_int_equal(r_synced(f, 4000), 1);
}

/* Sealed, never synced, and torn (a power loss): cut like an active
 * segment, and the segments after it dropped. */
static void test_unsynced_sealed_torn(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_unsync(f, 4000);
	r_set_rp(f, 4000);
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 4000, ".log"), 2500),
			 0);
	r_expect(f, 6, 1000, "00000000000000008000.log: dropped 2000 bytes",
		 "never synced");
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".log")), -1);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".idx")), -1);
}

/* Sealed, never synced, whole, and followed by a gap (the next segment's
 * files are gone, as a power loss leaves them where names are not kept in
 * order): no sync ever covered what follows it, so the segments after it
 * are dropped rather than kept behind a hole that reads as EIO. */
static void test_unsynced_sealed_then_gap(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_unsync(f, 0);
	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 4000, ".idx")), 0);
	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 4000, ".log")), 0);
	r_expect(f, 4, 1000, "00000000000000008000.log: dropped 2000 bytes",
		 "never synced and ends short of it");
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".log")), -1);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".idx")), -1);
}

/* Sealed, never synced, and its appends never reached the disk (a power
 * loss: the names were kept, the sizes were not): nothing to cut, but it
 * ends short of the next segment, so the later ones go. */
static void test_unsynced_sealed_sizes_lost(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	r_unsync(f, 0);
	r_unsync(f, 4000);
	assert_int_equal(th_truncate(LOG0, 0), 0);
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 0, ".idx"), 32), 0);
	r_expect(f, 0, 1000, "00000000000000004000.log: dropped 4000 bytes",
		 "ends short");
}

/* A sealed segment whose index header never reached the disk (0 bytes, or
 * zeros): never synced, since no later segment is; its tail is recovered
 * (all of it: no entry vouches for a record) and the later ones dropped. */
static void r_torn_header(struct rfix *f, bool zeros)
{
	const char *idx = th_seg(f->dir, "t", 0, 4000, ".idx");
	unsigned char z[96] = { 0 };

	r_fill(f, 10, 1000);
	r_unsync(f, 0);
	r_unsync(f, 4000);
	r_set_rp(f, RP_NONE);
	if (zeros)
		assert_int_equal(th_write(idx, 0, z, sizeof(z)), 0);
	else
		assert_int_equal(th_truncate(idx, 0), 0);
	r_expect(f, 4, 1000, "00000000000000004000.idx: sealed segment with a torn index header",
		 "never synced");
}

static void test_sealed_header_empty(void **state)
{
	r_torn_header(*state, false);
}

static void test_sealed_header_zeros(void **state)
{
	r_torn_header(*state, true);
}

/* The same torn header with a later segment marked synced: that sync
 * covered this one, so the header is damage (the sealed check), and the
 * rest stays. */
static void test_sealed_header_torn_synced_after(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 14, 1000); /* 0..4000, 4000..8000, 8000..12000, 12000.. */
	assert_int_equal(r_synced(f, 8000), 1);
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 4000, ".idx"), 0), 0);
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	assert_true(th_logged("00000000000000004000: damaged segment", NULL,
			      NULL));
	assert_false(th_logged("dropped", NULL, NULL));
	{
		struct tfs_part_info info;
		unsigned char buf[1000];

		tfs_part_info(f->p, &info);
		assert_int_equal(info.end, 14000);
		assert_int_equal(tfs_part_pread(f->p, buf, 1000, 4000), -EIO);
		assert_int_equal(tfs_part_pread(f->p, buf, 1000, 9000), 1000);
	}
	r_close(f);
}

/* Recovery cut an unsynced sealed segment, but a segment after it says it
 * was synced (not a power loss this store can produce): the later ones
 * are kept, and the cut becomes a gap. */
static void test_unsynced_cut_synced_after(void **state)
{
	struct rfix *f = *state;
	struct tfs_part_info info;
	unsigned char buf[1000];

	r_fill(f, 10, 1000); /* 0..4000, 4000..8000 (synced), 8000.. */
	r_unsync(f, 0);
	assert_int_equal(th_truncate(LOG0, 2500), 0);
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	assert_true(th_logged("ends short of the next segment, but a later "
			      "segment",
			      NULL, NULL));
	assert_false(th_logged("dropped", NULL, NULL));
	tfs_part_info(f->p, &info);
	assert_int_equal(info.end, 10000);
	assert_int_equal(tfs_part_pread(f->p, buf, 1000, 1000), 1000);
	assert_int_equal(tfs_part_pread(f->p, buf, 1000, 2000), -EIO);
	assert_int_equal(tfs_part_pread(f->p, buf, 1000, 4000), 1000);
	assert_int_equal(buf[0], r_byte(4000, 1000));
	assert_int_equal(tfs_part_pread(f->p, buf, 1000, 9000), 1000);
	r_close(f);
}

/* A segment that reaches past the next one's base, anywhere in the
 * partition: no consistent numbering, so the mount is refused, and
 * nothing is deleted, synced or not. */
static void r_overlap(struct rfix *f, int synced)
{
	struct rfix g = { .dir = th_mkdtemp(), .o = th_opts(8192) };
	char cmd[9000];

	r_fill(&g, 5, 1000); /* one segment 0..5000 */
	r_fill(f, 10, 1000); /* 0..4000, 4000..8000, 8000..10000 */
	snprintf(cmd, sizeof(cmd), "cp %s/t/0/* %s/t/0/", g.dir, f->dir);
	assert_int_equal(system(cmd), 0);
	if (!synced)
		r_unsync(f, 0);
	r_refused(f, -EUCLEAN, "segment starts at offset 4000 but the previous "
		  "segment ends at offset 5000", NULL);
	assert_false(th_logged("dropped", NULL, NULL));
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 4000, ".log")), 4000);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 8000, ".log")), 2000);
	th_rm_rf(g.dir);
}

static void test_overlap_synced(void **state)
{
	r_overlap(*state, 1);
}

static void test_overlap_unsynced(void **state)
{
	r_overlap(*state, 0);
}

/* A segment name past INT64_MAX (offsets are off_t) is not a segment. */
static void test_base_too_large(void **state)
{
	struct rfix *f = *state;
	char path[4200];

	r_fill(f, 10, 1000);
	snprintf(path, sizeof(path), "%s/t/0/09223372036854775808.log", f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	assert_true(th_logged("09223372036854775808.log",
			      "ignoring an unknown file", NULL));
	r_close(f);
	r_expect(f, 10, 1000, NULL, NULL);
}

/* Retention stops at a damaged sealed segment whose files are still
 * there (for a human, or topicfs-fsck), however old; it logs that once,
 * and again for the next damaged one once the first is moved away. */
static void test_retention_keeps_damage(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(IDX0, 3, "#", 1), 0); /* its header */
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 4000, ".idx"), 3,
				  "#", 1),
			 0);
	f->o.cfg.v[TFS_CFG_RETENTION_MS] = 0;
	th_log_clear();
	assert_int_equal(r_open(f), 0);
	tfs_store_clean(f->st);
	tfs_store_clean(f->st);
	assert_true(th_logged("retention: t/0: stops at the damaged segment "
			      "00000000000000000000", NULL, NULL));
	assert_false(th_logged("retention: t/0: deleted", NULL, NULL));
	assert_int_equal(th_size(LOG0), 4000);
	/* once its files are moved away it goes, and retention stops at
	 * the next damaged segment: logged too, for that segment */
	assert_int_equal(rename(LOG0, th_seg(f->dir, "t", 0, 9, ".moved")),
			 0);
	th_log_clear();
	tfs_store_clean(f->st);
	tfs_store_clean(f->st);
	assert_true(th_logged("retention: t/0: stops at the damaged segment "
			      "00000000000000004000", NULL, NULL));
	r_close(f);
}

static void test_sealed_truncated(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_truncate(LOG0, 3990), 0);
	r_damaged(f, 0, 4000,
		  "t/0/00000000000000000000.log: sealed segment damaged",
		  "index ends at offset 4000 but the .log ends at offset 3990");
	assert_true(th_logged("t/0/00000000000000000000: damaged segment",
			      "offsets 0..4000 read as EIO", NULL));
}

static void test_sealed_idx_cut(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_truncate(IDX0, 32 + 3 * 32 + 5), 0);
	r_damaged(f, 0, 4000, "00000000000000000000.idx", "133 bytes");
}

static void test_sealed_idx_missing(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 4000, ".idx")), 0);
	r_damaged(f, 4000, 8000, "00000000000000004000.idx",
		  "index of a sealed segment");
}

/* A flipped byte in a sealed record: that record reads as EIO. */
static void test_sealed_flip(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(LOG0, 1500, "#", 1), 0);
	r_damaged(f, 1000, 2000, "t/0/00000000000000000000.log: record at "
		  "offset 1000 (1000 bytes, file position 1000)",
		  "data CRC mismatch");
}

/* A flipped byte early in the active segment (recovery checks only its
 * tail): found at the first read. */
static void test_active_flip(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 8000, ".log"), 10, "#",
				  1),
			 0);
	r_damaged(f, 8000, 9000, "00000000000000008000.log: record at offset "
		  "8000", "data CRC mismatch");
}

/* A damaged index entry in the middle of a sealed segment: from its
 * record to the segment's end reads as EIO. */
static void test_sealed_entry_flip(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 4000, ".idx"),
				  32 + 32 + 3, "#", 1),
			 0);
	r_damaged(f, 5000, 6000, "00000000000000004000.idx: entry 1",
		  "an index entry fails its CRC: offsets 5000..6000 read as "
		  "EIO");
}

static void test_segment_gap(void **state)
{
	struct rfix *f = *state;

	r_fill(f, 10, 1000);
	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 4000, ".idx")), 0);
	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 4000, ".log")), 0);
	r_damaged(f, 4000, 8000, "t/0/00000000000000004000: damaged segment",
		  "no files for these offsets");
}

static void test_partition_gap(void **state)
{
	struct rfix *f = *state;
	char path[4200];

	r_fill(f, 1, 100);
	snprintf(path, sizeof(path), "%s/t/2", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	r_refused(f, -EUCLEAN, "t: partition 1 is missing", NULL);
}

static void test_idx_version(void **state)
{
	struct rfix *f = *state;
	unsigned char hdr[32];
	uint32_t crc;

	r_fill(f, 1, 100);
	seg_hdr_encode(hdr, 0, 0);
	hdr[8] = 2; /* version 2 with a valid CRC */
	crc = crc32c(0, hdr, 28);
	for (int i = 0; i < 4; i++)
		hdr[28 + i] = (unsigned char)(crc >> (8 * i));
	assert_int_equal(th_write(IDX0, 0, hdr, 32), 0);
	r_refused(f, -EPROTONOSUPPORT, "index format version 2 found",
		  "supports index version 1");
}

/* ---- a failed write leaves nothing behind ---------------------------- */

/* RLIMIT_FSIZE makes a write past the limit fail with EFBIG after a
 * partial write: the same path as ENOSPC. */
static void test_failed_write(void **state)
{
	struct rfix *f = *state;
	struct rlimit old, lim;
	unsigned char rec[300];
	ssize_t r;

	r_fill(f, 5, 100);
	assert_int_equal(r_open(f), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 650;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(rec, 'f', sizeof(rec));
	r = tfs_part_append(f->p, rec, 300, TFS_OFFSET_ANY, NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -EFBIG);
	assert_int_equal(tfs_part_end(f->p), 500);
	assert_int_equal(th_size(LOG0), 500);
	assert_int_equal(th_size(IDX0), 32 + 5 * 32);
	r_close(f);
	r_expect(f, 5, 100, NULL, NULL);
}

/* A read in segment 0 has the checker thread check segment 4000 ahead of
 * any read of it: its damage is logged with no read past offset 500,
 * then reads there fail with EIO and the rest reads. */
static void test_check_ahead(void **state)
{
	struct rfix *f = *state;
	unsigned char buf[500];
	int waited = 0;

	r_fill(f, 10, 1000);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 4000, ".log"), 1500,
				  "#", 1),
			 0);
	assert_int_equal(r_open(f), 0);
	assert_int_equal(tfs_part_pread(f->p, buf, sizeof(buf), 0),
			 sizeof(buf));
	/* an event, not a timing: the check takes microseconds; 60 s is
	 * only there so a broken checker fails instead of hanging */
	while (!th_logged("00000000000000004000.log: record at offset 5000",
			  "data CRC mismatch", NULL) &&
	       waited++ < 60000)
		usleep(1000);
	if (waited > 60000) {
		th_log_dump();
		fail_msg("segment 4000 was not checked ahead of its reads");
	}
	assert_int_equal(tfs_part_pread(f->p, buf, sizeof(buf), 5200), -EIO);
	assert_int_equal(tfs_part_pread(f->p, buf, sizeof(buf), 4000),
			 sizeof(buf));
	assert_int_equal(buf[0], r_byte(4000, 1000));
	r_close(f);
	/* a close while a check is queued or running drops it cleanly (the
	 * sanitizer build finds a leak or a use after free) */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(r_open(f), 0);
		assert_int_equal(tfs_part_pread(f->p, buf, 1, 0), 1);
		r_close(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, r_setup, r_teardown)
		T(test_clean_reopen),
		T(test_cut_mid_record),
		T(test_cut_mid_record_data_line),
		T(test_cut_mid_index_entry),
		T(test_record_without_entry),
		T(test_garbage_after_end),
		T(test_held_ahead),
		T(test_held_ahead_unsynced),
		T(test_zeroed_last_record),
		T(test_zeroed_two_records),
		T(test_zeroed_hole_unsynced),
		T(test_zeroed_synced_kept),
		T(test_zeroed_hole_sealed_unsynced),
		T(test_damage_below_rp_found),
		T(test_synced_entry_flip),
		T(test_synced_last_entry_flip),
		T(test_unsynced_entry_flip),
		T(test_synced_header_flip),
		T(test_synced_header_zeros),
		T(test_synced_idx_short),
		T(test_synced_idx_missing),
		T(test_synced_log_short),
		T(test_synced_damage_then_torn),
		T(test_rp_torn),
		T(test_rp_long),
		T(test_rp_past_end),
		T(test_rp_follows_syncs),
		T(test_entry_bad_crc),
		T(test_entry_not_contiguous),
		T(test_empty_files),
		T(test_short_header),
		T(test_missing_idx_empty_log),
		T(test_missing_idx_with_data),
		T(test_idx_header_only),
		T(test_bad_header_with_data),
		T(test_no_segments),
		T(test_torn_roll),
		T(test_syncer_marks_sealed),
		T(test_unsynced_sealed_whole),
		T(test_unsynced_sealed_torn),
		T(test_tail_after_sealed),
		T(test_leftovers),
		T(test_interrupted_part_delete),
		T(test_deleted_strangers),
		T(test_fifos),
		T(test_unsynced_sealed_then_gap),
		T(test_unsynced_sealed_sizes_lost),
		T(test_sealed_header_empty),
		T(test_sealed_header_zeros),
		T(test_sealed_header_torn_synced_after),
		T(test_unsynced_cut_synced_after),
		T(test_overlap_synced),
		T(test_overlap_unsynced),
		T(test_base_too_large),
		T(test_retention_keeps_damage),
		T(test_sealed_truncated),
		T(test_sealed_idx_cut),
		T(test_sealed_idx_missing),
		T(test_sealed_flip),
		T(test_active_flip),
		T(test_sealed_entry_flip),
		T(test_check_ahead),
		T(test_segment_gap),
		T(test_partition_gap),
		T(test_idx_version),
		T(test_failed_write),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
