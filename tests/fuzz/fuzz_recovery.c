/*
 * tests/fuzz/fuzz_recovery.c - libFuzzer harness for recovery at
 * tfs_store_open and for tfs_check: the input becomes one partition's
 * active segment (.idx and .log bytes as given), optionally after a sealed
 * segment the harness builds; then tfs_check, tfs_store_open (recovery),
 * a read of the whole partition (damaged ranges read as EIO), one append,
 * close, and tfs_check again.
 *
 * Input layout (all optional past the end; missing bytes are 0):
 *
 *   0      4     5       6       7       8
 *   +------+-----+-------+-------+-------+------------------------------+
 *   |split | mode|sealed |sealed |sealed | body: sealed data, then the  |
 *   |u32 le|     |x16 B  |reclen | flip  | active .idx (split % rest+1  |
 *   |      |     |       |  - 1  |  pos  | bytes), then the active .log |
 *   +------+-----+-------+-------+-------+------------------------------+
 *
 * mode bits: FZ_SEALED a sealed segment first; FZ_SYNCED it is marked
 * SYNCED; FZ_FLIP flip one of its bytes; FZ_FIX_HDR write a valid active
 * header; FZ_FIX_ENT recompute each whole entry's CRC; FZ_FIX_DATA set each
 * in-bounds entry's data CRC to match (then its entry CRC); FZ_NO_IDX leave
 * the active .idx out; FZ_TMP add a leftover *.tmp.  The fix-ups let the
 * fuzzer reach past the CRCs, which it cannot solve.  The split takes
 * the low 24 bits; the top byte, r, sets the partition's recovery point:
 * none (0), the active base + 8 * (r - 1) (1..254), or a torn one (255).
 *
 * Oracles beyond the sanitizers: when tfs_check finds no damage, recovery
 * must open the dir and end exactly where the check said, with the records
 * it said; with damage, if recovery opens the dir, it ends where the check
 * said; and after recovery (and an append), a check finds no torn tail.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "topicfs/check.h"
#include "topicfs/store.h"

#define FZ_SEALED   0x01u
#define FZ_SYNCED   0x02u
#define FZ_FLIP	    0x04u
#define FZ_FIX_HDR  0x08u
#define FZ_FIX_ENT  0x10u
#define FZ_FIX_DATA 0x20u
#define FZ_NO_IDX   0x40u
#define FZ_TMP	    0x80u
#define FZ_HEAD	    8u /* bytes before the body */

static char fz_root[64];   /* per-process dir in /dev/shm (or /tmp) */
static char fz_dir[128];   /* the data dir of one input: fz_root/d */
static char fz_part[192];  /* fz_dir/t/0 */

static void fz_log(int prio, const char *msg)
{
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "log[%d]: %s\n", prio, msg);
}

static int fz_rm_cb(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static void fz_rm_root(void)
{
	nftw(fz_root, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";

	snprintf(fz_root, sizeof(fz_root), "%s/tfs-fuzz-XXXXXX", base);
	if (!mkdtemp(fz_root))
		abort();
	snprintf(fz_dir, sizeof(fz_dir), "%s/d", fz_root);
	snprintf(fz_part, sizeof(fz_part), "%s/t/0", fz_dir);
	atexit(fz_rm_root);
	return 0;
}

static void fz_write(const char *dir, const char *name, const void *buf,
		     size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len))
		abort();
	close(fd);
}

static void fz_seg_name(char *name, uint64_t base, const char *ext)
{
	snprintf(name, FMT_SEG_NAME_LEN + 1, "%020llu%s",
		 (unsigned long long)base, ext);
}

/* A whole sealed segment at base 0: records of reclen bytes of data. */
static uint64_t fz_sealed(unsigned mode, const uint8_t *data, size_t len,
			  unsigned reclen, unsigned flip)
{
	size_t n = (len + reclen - 1) / reclen;
	unsigned char *idx = calloc(1, FMT_HDR_SIZE + FMT_ENT_SIZE * n);
	unsigned char *log = malloc(len ? len : 1);
	char name[FMT_SEG_NAME_LEN + 1];

	if (!idx || !log)
		abort();
	memcpy(log, data, len);
	seg_hdr_encode(idx, 0, mode & FZ_SYNCED ? FMT_HDR_F_SYNCED : 0);
	for (size_t i = 0; i < n; i++) {
		size_t off = i * reclen;
		struct seg_entry e = {
			.off = off,
			.len = (uint32_t)(len - off < reclen ? len - off
							     : reclen),
		};

		e.dcrc = crc32c(0, log + off, e.len);
		seg_ent_encode(idx + FMT_HDR_SIZE + FMT_ENT_SIZE * i, &e);
	}
	if ((mode & FZ_FLIP) && len)
		log[flip % len] ^= 0x20;
	fz_seg_name(name, 0, FMT_LOG_SUFFIX);
	fz_write(fz_part, name, log, len);
	fz_seg_name(name, 0, FMT_IDX_SUFFIX);
	fz_write(fz_part, name, idx, FMT_HDR_SIZE + FMT_ENT_SIZE * n);
	free(idx);
	free(log);
	return len;
}

/* Fix up the active index in place as the mode bits say. */
static void fz_fix(unsigned mode, unsigned char *idx, size_t ilen,
		   const unsigned char *log, size_t llen, uint64_t base)
{
	if ((mode & FZ_FIX_HDR) && ilen >= FMT_HDR_SIZE)
		seg_hdr_encode(idx, base, 0);
	if (!(mode & (FZ_FIX_ENT | FZ_FIX_DATA)))
		return;
	for (size_t p = FMT_HDR_SIZE; p + FMT_ENT_SIZE <= ilen;
	     p += FMT_ENT_SIZE) {
		unsigned char *raw = idx + p;
		struct seg_entry e;
		uint32_t c;

		c = crc32c(0, raw, FMT_ENT_CRC);
		for (int i = 0; i < 4; i++)
			raw[FMT_ENT_CRC + i] = (unsigned char)(c >> (8 * i));
		if (seg_ent_decode(raw, &e))
			abort();
		if ((mode & FZ_FIX_DATA) && e.off >= base &&
		    e.off - base <= llen && e.len <= llen - (e.off - base)) {
			e.dcrc = crc32c(0, log + (e.off - base), e.len);
			seg_ent_encode(raw, &e);
		}
	}
}

/* What tfs_check said about t/0. */
struct fz_seen {
	int found;		  /* a summary for t/0 came */
	struct tfs_check_part p;  /* it */
};

static void fz_report(const struct tfs_check_report *r, void *arg)
{
	struct fz_seen *s = arg;

	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "check[%d/%d] %s @%lld: %s\n", r->kind,
			r->what, r->file, (long long)r->pos, r->msg);
	if (r->kind == TFS_CHECK_PART && !strcmp(r->part->topic, "t") &&
	    r->part->num == 0) {
		s->found = 1;
		s->p = *r->part;
		s->p.bad_file = NULL;
	}
}

/* Open (recover), read everything, append, close; the end and records
 * recovery arrived at, or -errno. */
static int fz_store(uint64_t *end, uint64_t *records)
{
	struct tfs_store_opts o;
	static unsigned char buf[8192];
	struct tfs_part_info info;
	struct tfs_store *st;
	struct tfs_topic *t;
	struct tfs_part *p;
	int err;

	tfs_store_opts_init(&o);
	o.cfg.v[TFS_CFG_SEGMENT_BYTES] = TFS_MIN_SEGMENT_BYTES;
	o.log = fz_log;
	err = tfs_store_open(fz_dir, &o, &st);
	if (err)
		return err;
	if (tfs_topic_open(st, "t", &t) || tfs_part_open(t, 0, &p))
		abort();
	tfs_part_info(p, &info);
	*end = info.end;
	*records = info.records;
	/* everything reads back, except damaged ranges, which read as EIO
	 * (a byte at a time past them: inputs are small) */
	for (uint64_t off = info.start; off < info.end;) {
		ssize_t n = tfs_part_pread(p, buf, sizeof(buf), off);

		if (n == -EIO) { /* a damaged sealed range: step over it */
			off++;
			continue;
		}
		if (n <= 0)
			abort(); /* everything else must read back */
		off += (uint64_t)n;
	}
	if (tfs_part_append(p, "x\n", 2, TFS_OFFSET_ANY, NULL) != 2)
		abort();
	tfs_part_put(p, 1);
	tfs_topic_put(t, 1);
	tfs_store_close(st);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t head[FZ_HEAD] = { 0 };
	const uint8_t *body = data + (size < FZ_HEAD ? size : FZ_HEAD);
	size_t blen = size - (size_t)(body - data), slen = 0, ilen;
	unsigned mode;
	unsigned char *idx;
	char name[FMT_SEG_NAME_LEN + 1], topic[160];
	struct tfs_check_summary sum;
	struct fz_seen seen = { 0 };
	uint64_t base = 0, end = 0, records = 0;
	char fmt[FMT_FILE_MAX];
	uint32_t split;
	int cerr, err, n;

	memcpy(head, data, size < FZ_HEAD ? size : FZ_HEAD);
	memcpy(&split, head, 4);
	mode = head[4];
	snprintf(topic, sizeof(topic), "%s/t", fz_dir);
	if (mkdir(fz_dir, 0755) || mkdir(topic, 0755) || mkdir(fz_part, 0755))
		abort();
	n = snprintf(fmt, sizeof(fmt), "%s%u\n", FMT_FILE_PREFIX, FMT_VERSION);
	fz_write(fz_dir, FMT_FILE, fmt, (size_t)n);
	if (mode & FZ_SEALED) {
		slen = (size_t)head[5] * 16 < blen ? (size_t)head[5] * 16 : blen;
		base = fz_sealed(mode, body, slen, head[6] % 64u + 1, head[7]);
		body += slen;
		blen -= slen;
	}
	ilen = (split & 0xffffffu) % (blen + 1);
	idx = malloc(ilen ? ilen : 1);
	if (!idx)
		abort();
	memcpy(idx, body, ilen);
	fz_fix(mode, idx, ilen, body + ilen, blen - ilen, base);
	fz_seg_name(name, base, FMT_LOG_SUFFIX);
	fz_write(fz_part, name, body + ilen, blen - ilen);
	fz_seg_name(name, base, FMT_IDX_SUFFIX);
	if (!(mode & FZ_NO_IDX))
		fz_write(fz_part, name, idx, ilen);
	free(idx);
	if (mode & FZ_TMP)
		fz_write(fz_part, "x.tmp", "x", 1);
	if (split >> 24 == 255) {
		fz_write(fz_part, FMT_RP_FILE, "TFSRCP01 torn", 13);
	} else if (split >> 24) {
		int dfd = open(fz_part, O_RDONLY | O_DIRECTORY);

		if (dfd < 0 || rp_write(dfd, base + 8 * ((split >> 24) - 1)))
			abort();
		close(dfd);
	}

	cerr = tfs_check(fz_dir, 0, fz_report, &seen, &sum);
	if (cerr && cerr != -EUCLEAN)
		abort();
	err = fz_store(&end, &records);
	if (!cerr) {
		/* no damage: recovery agrees with the check, to the byte */
		if (err || !seen.found || end != seen.p.end ||
		    records != seen.p.records) {
			fprintf(stderr,
				"check/recovery disagree: open %d, check end "
				"%llu records %llu, recovery end %llu records "
				"%llu\n",
				err, (unsigned long long)seen.p.end,
				(unsigned long long)seen.p.records,
				(unsigned long long)end,
				(unsigned long long)records);
			abort();
		}
	}
	if (cerr && !err && seen.found && end != seen.p.end) {
		fprintf(stderr, "damage: check end %llu, recovery end %llu\n",
			(unsigned long long)seen.p.end,
			(unsigned long long)end);
		abort();
	}
	if (!err) {
		struct fz_seen again = { 0 };

		cerr = tfs_check(fz_dir, 0, fz_report, &again, &sum);
		if ((cerr && cerr != -EUCLEAN) || sum.torn) {
			fprintf(stderr, "after recovery: check %d, %llu torn\n",
				cerr, (unsigned long long)sum.torn);
			abort();
		}
	}
	nftw(fz_dir, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
