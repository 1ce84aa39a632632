/*
 * tests/unit/test_check.c - tfs_check, the offline checker: data dirs built
 * with the store API, then damaged on disk one way at a time; each test
 * asserts the findings (kind, what, file, byte offset), the partition
 * summary and the return value, and that checking changed no file.
 */
#include "store_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h" /* seg_ent_encode(), to forge index entries */
#include "topicfs/check.h"
#include "zseg.h"

#define SEG    4096u /* segment size of every test */
#define RECLEN 300u  /* record size: 13 records per segment */
#define NREC   30u   /* records in t/0: segments 0, 3900, 7800 */
#define MAXREP 64    /* findings kept */

/* One finding, copied. */
struct rep {
	enum tfs_check_kind kind;
	enum tfs_check_what what;
	char file[512];
	int64_t pos;
	char msg[1024];
};

/* A test's data dir and the last check's findings. */
struct cfix {
	char *dir;			/* temp data dir */
	struct rep reps[MAXREP];	/* findings, in order */
	int nreps;			/* used entries of reps */
	struct tfs_check_part parts[4]; /* partition summaries */
	int nparts;			/* used entries of parts */
	struct tfs_check_summary sum;	/* counts */
};

static void c_collect(const struct tfs_check_report *r, void *arg)
{
	struct cfix *f = arg;
	struct rep *p;

	if (getenv("TFS_TEST_VERBOSE"))
		fprintf(stderr, "check[%d/%d]: %s @%lld: %s\n", r->kind,
			r->what, r->file, (long long)r->pos, r->msg);
	if (r->kind == TFS_CHECK_PART) {
		if (f->nparts < 4) {
			f->parts[f->nparts] = *r->part;
			f->parts[f->nparts++].bad_file = NULL;
		}
		return;
	}
	if (f->nreps >= MAXREP)
		return;
	p = &f->reps[f->nreps++];
	p->kind = r->kind;
	p->what = r->what;
	p->pos = r->pos;
	snprintf(p->file, sizeof(p->file), "%s", r->file);
	snprintf(p->msg, sizeof(p->msg), "%s", r->msg);
}

/* Sum of size and CRC32C of every file under dir: "changed nothing". */
static uint64_t c_fingerprint(const char *dir)
{
	char path[4096];
	struct dirent *de;
	uint64_t h = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		h += crc32c(0, de->d_name, strlen(de->d_name)) * 31u;
		if (S_ISDIR(sb.st_mode)) {
			h += c_fingerprint(path) * 7u;
		} else {
			static unsigned char buf[1 << 16];
			int fd = open(path, O_RDONLY);
			uint32_t crc = 0;
			ssize_t n;

			assert_true(fd >= 0);
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				crc = crc32c(crc, buf, (size_t)n);
			close(fd);
			h += (uint64_t)sb.st_size * 1000003u + crc;
		}
	}
	closedir(d);
	return h;
}

/* Run tfs_check; it must change nothing.  Returns its result. */
static int c_check(struct cfix *f)
{
	uint64_t before = c_fingerprint(f->dir);
	int err;

	f->nreps = 0;
	f->nparts = 0;
	err = tfs_check(f->dir, 0, c_collect, f, &f->sum);
	assert_int_equal(c_fingerprint(f->dir), before);
	return err;
}

static void c_dump(struct cfix *f)
{
	for (int i = 0; i < f->nreps; i++)
		fprintf(stderr, "  found: %d/%d %s @%lld: %s\n",
			f->reps[i].kind, f->reps[i].what, f->reps[i].file,
			(long long)f->reps[i].pos, f->reps[i].msg);
}

/* The finding of kind and what whose file ends in file (NULL: any) and
 * whose message holds msg (NULL: any); fails the test if there is none. */
static struct rep *c_find(struct cfix *f, enum tfs_check_kind kind,
			  enum tfs_check_what what, const char *file,
			  const char *msg)
{
	for (int i = 0; i < f->nreps; i++) {
		struct rep *r = &f->reps[i];
		size_t n = strlen(r->file), m = file ? strlen(file) : 0;

		if (r->kind == kind && r->what == what &&
		    (!file || (n >= m && !strcmp(r->file + n - m, file))) &&
		    (!msg || strstr(r->msg, msg)))
			return r;
	}
	c_dump(f);
	fail_msg("no finding %d/%d about %s saying \"%s\"", kind, what,
		 file ? file : "*", msg ? msg : "");
	return NULL;
}

static int c_count(struct cfix *f, enum tfs_check_kind kind)
{
	int n = 0;

	for (int i = 0; i < f->nreps; i++)
		n += f->reps[i].kind == kind;
	return n;
}

/* Topic "t": partition 0 with NREC records of RECLEN bytes (record i all
 * 'a'+i), partition 1 with one record "hello\n". */
static int c_setup(void **state)
{
	struct tfs_store_opts o = th_opts(SEG);
	struct cfix *f = calloc(1, sizeof(*f));
	struct tfs_store *st;
	struct tfs_topic *t;
	struct tfs_part *p;
	unsigned char rec[RECLEN];

	f->dir = th_mkdtemp();
	assert_int_equal(tfs_store_open(f->dir, &o, &st), 0);
	assert_int_equal(tfs_topic_create(st, "t", &t), 0);
	assert_int_equal(tfs_part_create(t, 0, &p), 0);
	for (unsigned i = 0; i < NREC; i++) {
		memset(rec, 'a' + i % 26, RECLEN);
		assert_int_equal(tfs_part_append(p, rec, RECLEN,
						 TFS_OFFSET_ANY, NULL),
				 RECLEN);
	}
	tfs_part_put(p, 1);
	assert_int_equal(tfs_part_create(t, 1, &p), 0);
	assert_int_equal(tfs_part_append(p, "hello\n", 6, TFS_OFFSET_ANY, NULL),
			 6);
	tfs_part_put(p, 1);
	tfs_topic_put(t, 1);
	tfs_store_close(st);
	th_log_clear();
	*state = f;
	return 0;
}

static int c_teardown(void **state)
{
	struct cfix *f = *state;

	th_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Overwrite one byte of a file with its complement. */
static void c_flip(const char *path, long long pos)
{
	int fd = open(path, O_RDWR);
	unsigned char b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, pos), 1);
	b = (unsigned char)~b;
	assert_int_equal(pwrite(fd, &b, 1, pos), 1);
	close(fd);
}

/* tfs_store_open recovers the dir (or refuses it with the given error). */
static void c_recover(struct cfix *f, int want)
{
	struct tfs_store_opts o = th_opts(SEG);
	struct tfs_store *st = NULL;

	assert_int_equal(tfs_store_open(f->dir, &o, &st), want);
	if (st)
		tfs_store_close(st);
}

static void test_clean(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->nparts, 2);
	assert_int_equal(f->parts[0].status, TFS_CHECK_OK);
	assert_int_equal(f->parts[0].segments, 3);
	assert_int_equal(f->parts[0].records, NREC);
	assert_int_equal(f->parts[0].start, 0);
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	assert_int_equal(f->parts[0].bytes,
			 NREC * RECLEN + 3 * FMT_HDR_SIZE +
				 NREC * FMT_ENT_SIZE);
	assert_int_equal(f->parts[1].records, 1);
	assert_int_equal(f->parts[1].end, 6);
	assert_int_equal(f->sum.topics, 1);
	assert_int_equal(f->sum.partitions, 2);
	assert_int_equal(f->sum.segments, 4);
	assert_int_equal(f->sum.records, NREC + 1);
	assert_int_equal(f->sum.damage, 0);
	assert_true(f->sum.initialised);
	assert_string_equal(tfs_check_status_name(TFS_CHECK_DAMAGED),
			    "DAMAGED");
}

static void test_flipped_data_sealed(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	c_flip(th_seg(f->dir, "t", 0, 3900, ".log"), 2 * RECLEN + 17);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_DATA,
		   "t/0/00000000000000003900.log", "data CRC mismatch");
	assert_int_equal(r->pos, 2 * RECLEN);
	assert_non_null(strstr(r->msg, "record 4500..4800 (entry 2)"));
	assert_int_equal(f->parts[0].status, TFS_CHECK_DAMAGED);
	assert_int_equal(f->parts[0].bad_records, 1);
	assert_int_equal(f->parts[0].bad_pos, 2 * RECLEN);
	assert_int_equal(f->parts[1].status, TFS_CHECK_OK);
	assert_int_equal(f->sum.parts_damaged, 1);
	/* recovery does not read sealed data: a mount would serve it */
	c_recover(f, 0);
}

static void test_flipped_data_active_middle(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	c_flip(th_seg(f->dir, "t", 0, 7800, ".log"), 5);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_DATA,
		   "00000000000000007800.log", "recovery keeps it");
	assert_int_equal(r->pos, 0);
	assert_int_equal(f->parts[0].records, NREC);
}

/* Remove t/0's recovery point, as a power loss before its first write
 * leaves it: recovery checks every record of the active segment. */
static void c_no_rp(struct cfix *f)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/t/0/recovery-point", f->dir);
	assert_int_equal(unlink(path), 0);
}

/* Set t/0's recovery point. */
static void c_set_rp(struct cfix *f, uint64_t off)
{
	assert_int_equal(th_rp_io(f->dir, true, &off), 0);
}

static void test_flipped_data_active_last(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	/* recovery cuts a last record past the recovery point that fails
	 * its CRC; no zeroed sector, so it is not what a crash leaves */
	c_no_rp(f);
	c_flip(th_seg(f->dir, "t", 0, 7800, ".log"), 3 * RECLEN + 1);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_TAIL,
		   "00000000000000007800.log", "no zeroed sector");
	assert_int_equal(r->pos, 3 * RECLEN);
	assert_int_equal(f->parts[0].records, NREC - 1);
	assert_int_equal(f->parts[0].torn_log_bytes, RECLEN);
	assert_int_equal(f->parts[0].torn_idx_bytes, FMT_ENT_SIZE);
}

static void test_zeroed_tail_is_torn(void **state)
{
	struct cfix *f = *state;
	static const unsigned char zeros[2 * RECLEN];
	struct rep *r;

	/* a power loss: the last two records' data never reached the disk */
	c_no_rp(f);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 7800, ".log"),
				  2 * RECLEN, zeros, sizeof(zeros)),
			 0);
	assert_int_equal(c_check(f), 0);
	r = c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL,
		   "00000000000000007800.log", "torn tail: 600 bytes / 64");
	assert_int_equal(r->pos, 2 * RECLEN);
	assert_int_equal(f->parts[0].status, TFS_CHECK_TORN_TAIL);
	assert_int_equal(f->parts[0].end, 7800 + 2 * RECLEN);
	c_recover(f, 0);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->parts[0].end, 7800 + 2 * RECLEN);
}

/* Below the recovery point a sync covered the record: recovery keeps
 * one that fails (reads of it fail), nothing is cut. */
static void test_flipped_data_active_synced(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	c_flip(th_seg(f->dir, "t", 0, 7800, ".log"), 3 * RECLEN + 1);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_DATA,
		   "00000000000000007800.log", "below the recovery point");
	assert_int_equal(r->pos, 3 * RECLEN);
	assert_int_equal(f->parts[0].records, NREC);
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	assert_int_equal(f->parts[0].torn_log_bytes, 0);
	assert_int_equal(c_count(f, TFS_CHECK_TORN), 0);
}

/* A power loss zeroed a sector in the middle of what no sync covered and
 * kept the records after it: a torn tail from that record on, as
 * recovery cuts it. */
static void test_zeroed_hole_is_torn(void **state)
{
	struct cfix *f = *state;
	static const unsigned char zeros[512];
	struct rep *r;

	/* t/0's active segment holds 7800..9000: records at 300-byte
	 * positions; the sector at .log position 512..1024 lies in records
	 * 1..3 and takes record 2 (600..900) whole */
	c_set_rp(f, 7800 + RECLEN);
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 7800, ".log"), 512,
				  zeros, sizeof(zeros)),
			 0);
	assert_int_equal(c_check(f), 0);
	r = c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL,
		   "00000000000000007800.log", "a zeroed sector");
	assert_int_equal(r->pos, RECLEN);
	assert_int_equal(f->parts[0].end, 7800 + RECLEN);
	assert_int_equal(f->parts[0].records, 27);
	c_recover(f, 0);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->parts[0].end, 7800 + RECLEN);
}

/* A recovery point past the end, or a torn one: notes, not damage. */
static void test_rp_notes(void **state)
{
	struct cfix *f = *state;
	char path[4096];

	c_set_rp(f, 100000);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, "t/0/recovery-point",
	       "recovery point 100000 is past the end 9000");
	snprintf(path, sizeof(path), "%s/t/0/recovery-point", f->dir);
	assert_int_equal(th_write(path, 3, "#", 1), 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, "t/0/recovery-point",
	       "torn or not a recovery point");
	assert_int_equal(f->parts[0].status, TFS_CHECK_OK);
}

static void test_flipped_index_entry(void **state)
{
	struct cfix *f = *state;
	struct rep *r;
	long long pos = FMT_HDR_SIZE + FMT_ENT_SIZE * 4 + 9;

	c_flip(th_seg(f->dir, "t", 0, 0, ".idx"), pos);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY,
		   "t/0/00000000000000000000.idx", "entry 4: entry CRC");
	assert_int_equal(r->pos, FMT_HDR_SIZE + FMT_ENT_SIZE * 4);
	/* the walk resynchronises: one bad record, no other finding */
	assert_int_equal(f->parts[0].bad_records, 1);
	assert_int_equal(c_count(f, TFS_CHECK_DAMAGE), 1);
}

static void test_flipped_index_header(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	c_flip(th_seg(f->dir, "t", 0, 3900, ".idx"), 17);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
		   "00000000000000003900.idx", "bad index header");
	assert_int_equal(r->pos, 0);
	c_recover(f, 0); /* mounts; the damaged range reads as EIO */
}

static void test_truncated_log(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 0, ".log"), 3800),
			 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY,
		   "00000000000000000000.idx",
		   "record 3600..3900 extends past the end of the .log");
	assert_int_equal(r->pos, FMT_HDR_SIZE + FMT_ENT_SIZE * 12);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_GAP, "00000000000000003900.log",
	       "previous segment ends at offset 3800");
	c_recover(f, 0); /* mounts; the damaged range reads as EIO */
}

static void test_missing_idx(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 3900, ".idx")), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
	       "00000000000000003900.idx", "index of a sealed segment");
	assert_int_equal(f->parts[0].status, TFS_CHECK_DAMAGED);
	c_recover(f, 0); /* mounts; the damaged range reads as EIO */
}

static void test_missing_idx_active(void **state)
{
	struct cfix *f = *state;

	char rp[4096];

	/* with data a sync covered: recovery keeps it (reads fail) */
	assert_int_equal(unlink(th_seg(f->dir, "t", 1, 0, ".idx")), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
	       "t/1/00000000000000000000.idx",
	       "recovery point 6 says its records were synced: recovery "
	       "creates it and keeps offsets 0..6");
	assert_int_equal(f->parts[1].end, 6);
	/* with data no sync covered: recovery would cut all of it */
	snprintf(rp, sizeof(rp), "%s/t/1/recovery-point", f->dir);
	assert_int_equal(unlink(rp), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
	       "t/1/00000000000000000000.idx", "cut all 6 bytes");
	/* empty: a crash between creating the .log and the .idx */
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 1, 0, ".log"), 0), 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_MISSING,
	       "t/1/00000000000000000000.idx", "recovery creates it");
}

/* Index damage of the active segment (7800: records 7800..9000) below
 * the recovery point 9000: the checker predicts what recovery keeps, and
 * says the same after recovery. */
#define IDX7800 th_seg(f->dir, "t", 0, 7800, ".idx")

static void test_synced_entry_damage(void **state)
{
	struct cfix *f = *state;

	c_flip(IDX7800, FMT_HDR_SIZE + FMT_ENT_SIZE + 3); /* entry 1 */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(c_check(f), -EUCLEAN);
		c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY, "7800.idx",
		       "index entry 1 damaged below the recovery "
		       "point 9000: recovery keeps them (a sync covered "
		       "them); offsets 8100..8400 read as EIO");
		assert_int_equal(f->parts[0].end, NREC * RECLEN);
		assert_int_equal(c_count(f, TFS_CHECK_TORN), 0);
		c_recover(f, 0);
	}
}

static void test_synced_last_entry_damage(void **state)
{
	struct cfix *f = *state;

	c_flip(IDX7800, FMT_HDR_SIZE + 3 * FMT_ENT_SIZE + 3); /* the last */
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY, "7800.idx",
	       "index entry 3 damaged below the recovery point "
	       "9000");
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	c_recover(f, 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
}

/* The same with the zeros a killed daemon's index window leaves after
 * it: still "no entry follows" (they are not entries). */
static void test_synced_last_entry_damage_ahead(void **state)
{
	struct cfix *f = *state;
	static const unsigned char zeros[16384 - 160];

	c_flip(IDX7800, FMT_HDR_SIZE + 3 * FMT_ENT_SIZE + 3);
	assert_int_equal(th_write(IDX7800, -1, zeros, sizeof(zeros)), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY, "7800.idx",
	       "index entry 3 damaged below the recovery point 9000, and no "
	       "entry follows");
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, "7800.idx",
	       "space held ahead");
}

/* An entry whose store a kill -9 cut short: the store writes the CRC
 * last, so its CRC field is still zeros.  Past the recovery point that
 * is a torn tail, not damage. */
static void test_unfinished_entry_is_torn(void **state)
{
	struct cfix *f = *state;
	static const unsigned char zeros[4];

	c_no_rp(f);
	assert_int_equal(th_write(IDX7800,
				  FMT_HDR_SIZE + 3 * FMT_ENT_SIZE +
					  FMT_ENT_CRC,
				  zeros, sizeof(zeros)),
			 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL, "7800.log",
	       "torn tail: 300 bytes / 32 index bytes");
	assert_int_equal(c_count(f, TFS_CHECK_DAMAGE), 0);
	assert_int_equal(f->parts[0].status, TFS_CHECK_TORN_TAIL);
	c_recover(f, 0);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->parts[0].end, NREC * RECLEN - RECLEN);
}

/* An active .idx shorter than a header below the recovery point: the
 * header is rewritten (damage); the bytes cut are not a wrapped count. */
static void test_synced_idx_tiny(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(th_truncate(IDX7800, 10), 0);
	c_check(f);
	assert_true(f->parts[0].torn_idx_bytes < 16384);
	assert_true(c_count(f, TFS_CHECK_DAMAGE) > 0);
}

static void test_synced_header_damage(void **state)
{
	struct cfix *f = *state;

	c_flip(IDX7800, 3);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER, "7800.idx",
	       "bad index header (magic or CRC), but the recovery point 9000 "
	       "says its records were synced: recovery rewrites it and keeps "
	       "the index entries");
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	assert_int_equal(f->parts[0].records, NREC);
	c_recover(f, 0);
	assert_int_equal(c_check(f), 0); /* the header was all it lost */
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->parts[0].records, NREC);
}

static void test_synced_idx_short(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(th_truncate(IDX7800, FMT_HDR_SIZE + 2 * FMT_ENT_SIZE),
			 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(c_check(f), -EUCLEAN);
		c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY, "7800.idx",
		       "no index entries for offsets 8400..9000, below the "
		       "recovery point 9000");
		assert_int_equal(f->parts[0].end, NREC * RECLEN);
		c_recover(f, 0);
	}
}

/* The active .log lost synced bytes: recovery keeps the end at the
 * recovery point (zeros that read as EIO), never hands those offsets out
 * again; fsck says so, and agrees with the result. */
static void test_synced_log_short(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 7800, ".log"), 450),
			 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_SIZE, "7800.log",
	       "ends at offset 8250, below the recovery point 9000 (synced "
	       "bytes are gone): recovery extends it with zeros to it; "
	       "offsets 8250..9000 read as EIO");
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	c_recover(f, 0);
	assert_int_equal(th_size(th_seg(f->dir, "t", 0, 7800, ".log")), 1200);
	assert_int_equal(c_check(f), -EUCLEAN);
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
}

static void test_missing_log(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(unlink(th_seg(f->dir, "t", 0, 3900, ".log")), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
	       "00000000000000003900.idx", "no .log");
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_GAP, "00000000000000007800.log",
	       "segment starts at offset 7800 but the previous segment ends "
	       "at offset 3900");
	assert_int_equal(f->parts[0].segments, 2);
}

/* Append a forged, CRC-valid entry to an index. */
static void c_forge(const char *idx, uint64_t off, uint32_t len)
{
	struct seg_entry e = { .off = off, .len = len, .time_ms = 1 };
	unsigned char raw[FMT_ENT_SIZE];

	seg_ent_encode(raw, &e);
	assert_int_equal(th_write(idx, -1, raw, sizeof(raw)), 0);
}

static void test_index_past_data(void **state)
{
	struct cfix *f = *state;
	struct rep *r;

	/* sealed: damage */
	c_forge(th_seg(f->dir, "t", 0, 0, ".idx"), 3900, 100);
	assert_int_equal(c_check(f), -EUCLEAN);
	r = c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY,
		   "00000000000000000000.idx",
		   "entry 13: record 3900..4000 extends past the end");
	assert_int_equal(r->pos, FMT_HDR_SIZE + FMT_ENT_SIZE * 13);
}

static void test_index_out_of_place_and_past(void **state)
{
	struct cfix *f = *state;

	/* not contiguous and past the .log (found by fuzz_recovery: the
	 * checker read the record anyway and spun at the end of the file) */
	c_forge(th_seg(f->dir, "t", 0, 0, ".idx"), 5, 3900);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY,
	       "00000000000000000000.idx",
	       "entry 13: record offset 5 does not follow");
	/* an offset near 2^64: off - base + len wraps around */
	c_forge(th_seg(f->dir, "t", 0, 3900, ".idx"), UINT64_MAX - 9, 20);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY,
	       "00000000000000003900.idx", "entry 13: record offset");
}

static void test_index_past_data_active(void **state)
{
	struct cfix *f = *state;

	/* active: an entry whose data never reached the disk is torn */
	c_forge(th_seg(f->dir, "t", 1, 0, ".idx"), 6, 100);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL,
	       "t/1/00000000000000000000.idx",
	       "0 bytes / 32 index bytes would be cut");
}

static void test_gap_between_segments(void **state)
{
	struct cfix *f = *state;
	char to[4096];

	snprintf(to, sizeof(to), "%s", th_seg(f->dir, "t", 0, 3901, ".log"));
	assert_int_equal(rename(th_seg(f->dir, "t", 0, 3900, ".log"), to), 0);
	snprintf(to, sizeof(to), "%s", th_seg(f->dir, "t", 0, 3901, ".idx"));
	assert_int_equal(rename(th_seg(f->dir, "t", 0, 3900, ".idx"), to), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_GAP, "00000000000000003901.log",
	       "segment starts at offset 3901 but the previous segment ends "
	       "at offset 3900");
	/* its header names base 3900 */
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
	       "00000000000000003901.idx", "another segment");
	c_recover(f, 0); /* mounts; the damaged range reads as EIO */
}

static void test_torn_tail(void **state)
{
	struct cfix *f = *state;
	const char *log = th_seg(f->dir, "t", 0, 7800, ".log");
	const char *idx = th_seg(f->dir, "t", 0, 7800, ".idx");
	struct rep *r;

	/* kill -9 mid-append: record bytes without an entry, and half an
	 * entry in another partition */
	assert_int_equal(th_write(log, -1, "partial", 7), 0);
	assert_int_equal(th_write(th_seg(f->dir, "t", 1, 0, ".idx"), -1,
				  "0123456789", 10),
			 0);
	assert_int_equal(c_check(f), 0);
	r = c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL,
		   "00000000000000007800.log",
		   "torn tail: 7 bytes / 0 index bytes would be cut by "
		   "recovery (offsets 9000..9007)");
	assert_int_equal(r->pos, 1200);
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL,
	       "t/1/00000000000000000000.idx", "a partial index entry");
	assert_int_equal(f->parts[0].status, TFS_CHECK_TORN_TAIL);
	assert_int_equal(f->parts[0].torn_log_bytes, 7);
	assert_int_equal(f->parts[1].torn_idx_bytes, 10);
	assert_int_equal(f->sum.parts_torn, 2);
	assert_int_equal(c_count(f, TFS_CHECK_DAMAGE), 0);
	/* what recovery cuts is exactly that */
	c_recover(f, 0);
	assert_int_equal(th_size(log), 1200);
	assert_int_equal(th_size(idx), FMT_HDR_SIZE + 4 * FMT_ENT_SIZE);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
}

/* A power loss before segment 3900 was synced: the recovery point on the
 * disk is at most its base. */
static void c_rp_3900(struct cfix *f)
{
	uint64_t off = 3900;

	assert_int_equal(th_rp_io(f->dir, true, &off), 0);
}

static void test_unsynced_sealed_torn(void **state)
{
	struct cfix *f = *state;
	const char *idx = th_seg(f->dir, "t", 0, 3900, ".idx");
	unsigned char hdr[FMT_HDR_SIZE];

	c_rp_3900(f);

	/* a power loss before the syncer marked segment 3900: its last
	 * record and entry are gone; recovery cuts it and drops 7800 */
	seg_hdr_encode(hdr, 3900, 0);
	assert_int_equal(th_write(idx, 0, hdr, sizeof(hdr)), 0);
	assert_int_equal(th_truncate(idx, FMT_HDR_SIZE + 12 * FMT_ENT_SIZE), 0);
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 3900, ".log"),
				     3900 - 100),
			 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL, "00000000000000003900.log",
	       "a partial record");
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL, "00000000000000007800.log",
	       "recovery would drop this segment (1200 bytes");
	assert_int_equal(f->parts[0].end, 3900 + 12 * RECLEN);
	c_recover(f, 0);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->parts[0].segments, 2);
}

/* A power loss before segment 3900 was ever synced, on a file system that
 * kept its names but not its index's data: the header is zeros (or the
 * .idx is empty).  Torn, not damage: recovery recovers its tail (all of
 * it, since no entry vouches for a record) and drops 7800. */
static void c_torn_header(struct cfix *f, bool zeros)
{
	const char *idx = th_seg(f->dir, "t", 0, 3900, ".idx");
	unsigned char z[FMT_HDR_SIZE + 2 * FMT_ENT_SIZE] = { 0 };

	c_rp_3900(f);
	if (zeros) {
		assert_int_equal(th_truncate(idx, 0), 0);
		assert_int_equal(th_write(idx, 0, z, sizeof(z)), 0);
	} else {
		assert_int_equal(th_truncate(idx, 0), 0);
	}
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_HEADER, "00000000000000003900.idx",
	       zeros ? "index header is zeros" : "index header incomplete");
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL, "00000000000000007800.log",
	       "recovery would drop this segment (1200 bytes");
	assert_int_equal(f->parts[0].end, 3900);
	assert_int_equal(f->parts[0].records, 13);
	c_recover(f, 0);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->parts[0].end, 3900);
}

static void test_unsynced_header_empty(void **state)
{
	c_torn_header(*state, false);
}

static void test_unsynced_header_zeros(void **state)
{
	c_torn_header(*state, true);
}

/* An empty index of segment 0, with 3900 after it marked synced (a sync
 * covered 0 first): damage, and nothing is dropped. */
static void test_torn_header_synced_after(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 0, ".idx"), 0), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
	       "00000000000000000000.idx", "index header incomplete");
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	c_recover(f, 0);
}

/* A crash while an index window was mapped leaves zero entries after the
 * active segment's last one: space held ahead, a note, not a torn tail;
 * recovery frees it.  With a partial record after the data too, that is
 * the torn tail, and the zeros are still not counted as cut entries. */
static void test_held_ahead_is_note(void **state)
{
	struct cfix *f = *state;
	static const unsigned char zeros[16384 - 160];
	const char *idx = th_seg(f->dir, "t", 0, 7800, ".idx");
	struct rep *r;

	assert_int_equal(th_size(idx), 160); /* 4 entries */
	assert_int_equal(th_write(idx, -1, zeros, sizeof(zeros)), 0);
	assert_int_equal(c_check(f), 0);
	r = c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
		   "t/0/00000000000000007800.idx",
		   "16224 bytes of zeros after the last index entry: space "
		   "held ahead");
	assert_int_equal(r->pos, 160);
	assert_int_equal(c_count(f, TFS_CHECK_TORN), 0);
	assert_int_equal(f->parts[0].status, TFS_CHECK_OK);
	assert_int_equal(f->parts[0].records, NREC);
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	assert_int_equal(f->parts[0].torn_idx_bytes, 0);

	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 7800, ".log"), -1,
				  "partial", 7),
			 0);
	c_no_rp(f);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
	       "t/0/00000000000000007800.idx", "space held ahead");
	c_find(f, TFS_CHECK_TORN, TFS_CHECK_W_TAIL,
	       "t/0/00000000000000007800.log",
	       "torn tail: 7 bytes / 0 index bytes");
	assert_int_equal(f->parts[0].status, TFS_CHECK_TORN_TAIL);
	assert_int_equal(f->parts[0].torn_idx_bytes, 0);

	c_recover(f, 0);
	assert_int_equal(th_size(idx), 160);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->nreps, 0);
	assert_int_equal(f->parts[0].records, NREC);
}

static void test_leftovers(void **state)
{
	struct cfix *f = *state;
	char path[4096], to[4200];

	snprintf(path, sizeof(path), "%s/t/0/x.tmp", f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	snprintf(path, sizeof(path), "%s/.topicfs.tmp", f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	snprintf(path, sizeof(path), "%s/t/2.deleted", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/.config", f->dir);
	assert_int_equal(th_write_text(path, "retention.ms=1\n"), 0);
	snprintf(path, sizeof(path), "%s/t/0/00000000000000000000.log", f->dir);
	snprintf(to, sizeof(to), "%s.deleted", path);
	assert_int_equal(rename(path, to), 0);
	snprintf(path, sizeof(path), "%s/t/1/00000000000000000000.zst", f->dir);
	assert_int_equal(th_write_text(path, "x"), 0);
	snprintf(path, sizeof(path), "%s/bad name", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, "t/0/x.tmp", NULL);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, ".topicfs.tmp", NULL);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, "t/2.deleted",
	       "interrupted partition delete");
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_UNCHECKED, "t/.config",
	       "topic config");
	/* the whole segment goes: its .idx is no lone index */
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_RETENTION,
	       "t/0/00000000000000000000.log.deleted", "recovery finishes it");
	assert_int_equal(f->parts[0].start, 3900);
	assert_int_equal(f->parts[0].records, NREC - 13);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
	       "t/1/00000000000000000000.log", "compression was interrupted");
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN, "bad name",
	       "not a valid topic name");
	assert_int_equal(f->parts[0].status, TFS_CHECK_OK);
	assert_int_equal(f->sum.torn + f->sum.damage, 0);
}

/* An interrupted retention delete of a compressed segment is named by its
 * own file (it was once reported as the .log.deleted). */
static void test_leftover_zst_deleted(void **state)
{
	struct cfix *f = *state;
	char path[4096], to[4200];

	snprintf(path, sizeof(path), "%s/t/0/00000000000000000000.log", f->dir);
	snprintf(to, sizeof(to), "%s/t/0/00000000000000000000.zst.deleted",
		 f->dir);
	assert_int_equal(rename(path, to), 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_RETENTION,
	       "t/0/00000000000000000000.zst.deleted", "recovery finishes it");
	assert_int_equal(f->parts[0].status, TFS_CHECK_OK);
}

/* Compress sealed segment base of t/0 into its .zst (as the cleaner does)
 * and remove the .log. */
static void c_compress(struct cfix *f, uint64_t base)
{
	char zst[4096];
	int src = open(th_seg(f->dir, "t", 0, base, ".log"), O_RDONLY);
	int dst;

	snprintf(zst, sizeof(zst), "%s", th_seg(f->dir, "t", 0, base, ".zst"));
	dst = open(zst, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(src >= 0 && dst >= 0);
	assert_int_equal(zseg_write(src, th_size(th_seg(f->dir, "t", 0, base,
							  ".log")),
				    dst, 3, 1024),
			 0);
	close(src);
	close(dst);
	assert_int_equal(unlink(th_seg(f->dir, "t", 0, base, ".log")), 0);
}

static void test_compressed(void **state)
{
	struct cfix *f = *state;
	long long zsize;

	c_compress(f, 0);
	c_compress(f, 3900);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(c_count(f, TFS_CHECK_NOTE), 0);
	assert_int_equal(f->parts[0].segments, 3);
	assert_int_equal(f->parts[0].records, NREC);
	assert_int_equal(f->parts[0].end, NREC * RECLEN);
	/* a flipped byte in the middle of the frames: damaged records */
	zsize = th_size(th_seg(f->dir, "t", 0, 3900, ".zst"));
	c_flip(th_seg(f->dir, "t", 0, 3900, ".zst"), zsize / 2);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_DATA,
	       "t/0/00000000000000003900.zst", "in the damaged compressed frame");
	/* its records are counted, named once per frame */
	assert_true(f->parts[0].bad_records > 0);
	assert_int_equal(c_count(f, TFS_CHECK_DAMAGE), 1);
	/* a cut trailer: the file is refused whole */
	assert_int_equal(th_truncate(th_seg(f->dir, "t", 0, 0, ".zst"),
				     th_size(th_seg(f->dir, "t", 0, 0, ".zst")) -
					     5),
			 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_ZST,
	       "t/0/00000000000000000000.zst", "compressed segment: ");
}

static void test_partition_gap(void **state)
{
	struct cfix *f = *state;
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/t/1", f->dir);
	snprintf(to, sizeof(to), "%s/t/2", f->dir);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_PARTITIONS, "t",
	       "partition 1 is missing");
	assert_int_equal(f->nparts, 2); /* both still checked */
	c_recover(f, -EUCLEAN);
}

static void test_bad_format_file(void **state)
{
	struct cfix *f = *state;
	char path[4096];

	snprintf(path, sizeof(path), "%s/.topicfs", f->dir);
	assert_int_equal(th_write_text(path, "topicfs-frmat 1\n"), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT, ".topicfs",
	       "not a topicfs format file");
	assert_int_equal(f->nparts, 2); /* the rest is still checked */
	assert_int_equal(th_write_text(path, "topicfs-format 2\nmore\n"), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT, ".topicfs",
	       "not a topicfs format file");
	assert_int_equal(th_write_text(path, "topicfs-format 1\n"), 0);
	assert_int_equal(c_check(f), 0);
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_FORMAT, ".topicfs",
	       "a mount upgrades it");
	assert_int_equal(th_write_text(path, "topicfs-format 4\n"), 0);
	assert_int_equal(c_check(f), -EPROTONOSUPPORT);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT, ".topicfs",
	       "format version 4 found");
	assert_int_equal(f->nparts, 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(c_check(f), -EINVAL);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT, "",
	       "not a topicfs data dir");
}

/* A group file the mount cannot read refuses the mount: damage. */
static void test_bad_group_file(void **state)
{
	struct cfix *f = *state;
	char path[4096];

	snprintf(path, sizeof(path), "%s/t/.groups", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/.groups/good", f->dir);
	assert_int_equal(th_write_text(path, "0 1\n"), 0);
	snprintf(path, sizeof(path), "%s/t/.groups/billing", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO, "t/.groups/billing",
	       "not a readable regular file");
	c_find(f, TFS_CHECK_NOTE, TFS_CHECK_W_UNCHECKED, "t/.groups",
	       "consumer groups");
	assert_int_equal(f->sum.damage, 1);
	assert_int_equal(f->sum.damage_other, 1); /* no partition has it */
	assert_int_equal(f->sum.parts_damaged, 0);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(c_check(f), 0);
	assert_int_equal(f->sum.damage_other, 0);
}

static void test_empty_and_missing_dir(void **state)
{
	struct cfix *f = *state;
	char *empty = th_mkdtemp();
	char path[4096];

	assert_int_equal(tfs_check(empty, 0, NULL, NULL, &f->sum), 0);
	assert_false(f->sum.initialised);
	snprintf(path, sizeof(path), "%s/nonexistent", empty);
	assert_int_equal(tfs_check(path, 0, NULL, NULL, NULL), -ENOENT);
	snprintf(path, sizeof(path), "%s/.topicfs", f->dir);
	assert_int_equal(tfs_check(path, 0, NULL, NULL, NULL), -ENOTDIR);
	th_rm_rf(empty);
}

static void test_many_bad_records_capped(void **state)
{
	struct cfix *f = *state;
	static unsigned char junk[13 * RECLEN];

	/* every record of segment 0 damaged: 10 listed, then one line */
	memset(junk, 'Q', sizeof(junk));
	assert_int_equal(th_write(th_seg(f->dir, "t", 0, 0, ".log"), 0, junk,
				  sizeof(junk)),
			 0);
	assert_int_equal(c_check(f), -EUCLEAN);
	c_find(f, TFS_CHECK_DAMAGE, TFS_CHECK_W_DATA, "00000000000000000000.log",
	       "13 records 0..3900 (entries 0..12): data CRC mismatch");
	assert_int_equal(f->parts[0].bad_records, 13);
	assert_int_equal(c_count(f, TFS_CHECK_DAMAGE), 1);
}

static void test_no_data_flag(void **state)
{
	struct cfix *f = *state;

	c_flip(th_seg(f->dir, "t", 0, 3900, ".log"), 17);
	assert_int_equal(tfs_check(f->dir, TFS_CHECK_NO_DATA, NULL, NULL,
				   &f->sum),
			 0);
	assert_int_equal(tfs_check(f->dir, 0, NULL, NULL, &f->sum), -EUCLEAN);
	assert_int_equal(f->sum.damage, 1);
}

static void test_store_open_locks(void **state)
{
	struct cfix *f = *state;
	struct tfs_store_opts o = th_opts(SEG);
	struct tfs_store *st, *st2 = NULL;

	assert_int_equal(tfs_store_open(f->dir, &o, &st), 0);
	assert_int_equal(tfs_store_open(f->dir, &o, &st2), -EBUSY);
	assert_true(th_logged("data dir is in use", NULL, NULL));
	tfs_store_close(st);
	assert_int_equal(tfs_store_open(f->dir, &o, &st2), 0);
	tfs_store_close(st2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, c_setup, c_teardown)
		T(test_clean),
		T(test_flipped_data_sealed),
		T(test_flipped_data_active_middle),
		T(test_flipped_data_active_last),
		T(test_zeroed_tail_is_torn),
		T(test_flipped_data_active_synced),
		T(test_zeroed_hole_is_torn),
		T(test_rp_notes),
		T(test_flipped_index_entry),
		T(test_flipped_index_header),
		T(test_truncated_log),
		T(test_missing_idx),
		T(test_missing_idx_active),
		T(test_synced_entry_damage),
		T(test_synced_last_entry_damage),
		T(test_synced_header_damage),
		T(test_synced_idx_short),
		T(test_synced_log_short),
		T(test_missing_log),
		T(test_index_past_data),
		T(test_index_out_of_place_and_past),
		T(test_index_past_data_active),
		T(test_gap_between_segments),
		T(test_torn_tail),
		T(test_unsynced_sealed_torn),
		T(test_unsynced_header_empty),
		T(test_unsynced_header_zeros),
		T(test_torn_header_synced_after),
		T(test_leftovers),
		T(test_held_ahead_is_note),
		T(test_synced_last_entry_damage_ahead),
		T(test_unfinished_entry_is_torn),
		T(test_synced_idx_tiny),
		T(test_leftover_zst_deleted),
		T(test_compressed),
		T(test_partition_gap),
		T(test_bad_format_file),
		T(test_bad_group_file),
		T(test_empty_and_missing_dir),
		T(test_many_bad_records_capped),
		T(test_no_data_flag),
		T(test_store_open_locks),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
