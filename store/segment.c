/*
 * store/segment.c - one segment: its two files, the index encoding, the
 * check of a sealed segment against its index, and writing one record.
 * Tail recovery of the active segment is in recovery.c.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "le.h"
#include "zseg.h"

/*
 * Index header, written when the segment is created (flags 0) and once
 * more when the sealed segment is on stable storage (FMT_HDR_F_SYNCED):
 *
 *   0        8        12       16                24       28       32
 *   +--------+--------+--------+-----------------+--------+--------+
 *   | magic  |version | entsize| base offset     | flags  | CRC32C |
 *   |TFSIDX01|   1    |   32   | u64             | SYNCED | of 0..27
 *   +--------+--------+--------+-----------------+--------+--------+
 */
void seg_hdr_encode(unsigned char *hdr, uint64_t base, uint32_t flags)
{
	memset(hdr, 0, FMT_HDR_SIZE);
	memcpy(hdr + FMT_HDR_MAGIC, FMT_IDX_MAGIC, FMT_IDX_MAGIC_LEN);
	le_put32(hdr + FMT_HDR_VERSION, FMT_IDX_VERSION);
	le_put32(hdr + FMT_HDR_ENTSIZE, FMT_ENT_SIZE);
	le_put64(hdr + FMT_HDR_BASE, base);
	le_put32(hdr + FMT_HDR_FLAGS, flags);
	le_put32(hdr + FMT_HDR_CRC, crc32c(0, hdr, FMT_HDR_CRC));
}

/* -EBADMSG torn or foreign (magic, CRC); -EPROTONOSUPPORT another
 * version; -EUCLEAN intact but not this segment's (base, entry size). */
int seg_hdr_check(const unsigned char *hdr, uint64_t base)
{
	if (memcmp(hdr + FMT_HDR_MAGIC, FMT_IDX_MAGIC, FMT_IDX_MAGIC_LEN) ||
	    le_get32(hdr + FMT_HDR_CRC) != crc32c(0, hdr, FMT_HDR_CRC))
		return -EBADMSG;
	if (le_get32(hdr + FMT_HDR_VERSION) != FMT_IDX_VERSION)
		return -EPROTONOSUPPORT;
	if (le_get32(hdr + FMT_HDR_ENTSIZE) != FMT_ENT_SIZE ||
	    le_get64(hdr + FMT_HDR_BASE) != base)
		return -EUCLEAN;
	return 0;
}

uint32_t seg_hdr_flags(const unsigned char *hdr)
{
	return le_get32(hdr + FMT_HDR_FLAGS);
}

/*
 * Index entry i, at 32 + 32 * i, written after the record's bytes:
 *
 *   0                 8        12       16                24       28   32
 *   +-----------------+--------+--------+-----------------+--------+-----+
 *   | offset          | length |data CRC| timestamp ms    |reserved| CRC |
 *   | u64 (partition) | u32    | u32    | s64             |   0    |0..27|
 *   +-----------------+--------+--------+-----------------+--------+-----+
 */
void seg_ent_encode(unsigned char *raw, const struct seg_entry *e)
{
	memset(raw, 0, FMT_ENT_SIZE);
	le_put64(raw + FMT_ENT_OFFSET, e->off);
	le_put32(raw + FMT_ENT_LENGTH, e->len);
	le_put32(raw + FMT_ENT_DATACRC, e->dcrc);
	le_put64(raw + FMT_ENT_TIME, (uint64_t)e->time_ms);
	le_put32(raw + FMT_ENT_CRC, crc32c(0, raw, FMT_ENT_CRC));
}

int seg_ent_decode(const unsigned char *raw, struct seg_entry *e)
{
	if (le_get32(raw + FMT_ENT_CRC) != crc32c(0, raw, FMT_ENT_CRC))
		return -EUCLEAN;
	e->off = le_get64(raw + FMT_ENT_OFFSET);
	e->len = le_get32(raw + FMT_ENT_LENGTH);
	e->dcrc = le_get32(raw + FMT_ENT_DATACRC);
	e->time_ms = (int64_t)le_get64(raw + FMT_ENT_TIME);
	return 0;
}

int seg_path(char *buf, size_t size, const char *dir, uint64_t base,
	     const char *ext)
{
	int n = snprintf(buf, size, "%s/%020llu%s", dir,
			 (unsigned long long)base, ext);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void seg_name(char *buf, size_t size, uint64_t base, const char *ext)
{
	snprintf(buf, size, "%020llu%s", (unsigned long long)base, ext);
}

int seg_parse_base(const char *name, uint64_t *base, const char **sfx)
{
	uint64_t v = 0;

	for (int i = 0; i < FMT_SEG_DIGITS; i++) {
		unsigned d = (unsigned)(name[i] - '0'); /* stops at '\0' */

		/* offsets are off_t: at most INT64_MAX */
		if (d > 9 || v > ((uint64_t)INT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*base = v;
	*sfx = name + FMT_SEG_DIGITS;
	return 0;
}

int seg_parse_zst(const char *name, uint64_t *base)
{
	const char *sfx;

	if (seg_parse_base(name, base, &sfx) || strcmp(sfx, FMT_ZST_SUFFIX))
		return -EINVAL;
	return 0;
}

int seg_parse_name(const char *name, uint64_t *base, bool *is_log)
{
	uint64_t v = 0;
	const char *sfx;

	if (seg_parse_base(name, &v, &sfx))
		return -EINVAL;
	if (!strcmp(sfx, FMT_LOG_SUFFIX))
		*is_log = true;
	else if (!strcmp(sfx, FMT_IDX_SUFFIX))
		*is_log = false;
	else
		return -EINVAL;
	*base = v;
	return 0;
}

void *seg_buf_alloc(size_t len)
{
	void *p;

	return posix_memalign(&p, 4096, len ? len : 1) ? NULL : p;
}

int seg_pread_all(int fd, void *buf, size_t len, uint64_t pos)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int seg_pwrite_all(int fd, const void *buf, size_t len, uint64_t pos)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

struct tfs_seg *seg_alloc(uint64_t base)
{
	struct tfs_seg *seg = calloc(1, sizeof(*seg));

	if (!seg)
		return NULL;
	seg->base = base;
	atomic_init(&seg->size, 0);
	atomic_init(&seg->entries, 0);
	atomic_init(&seg->fd, -1);
	seg->idx_fd = -1;
	seg->vfy_idx_fd = -1;
	atomic_init(&seg->refs, 1);
	atomic_init(&seg->checked, true);
	atomic_init(&seg->times, SEG_TIMES_UNKNOWN);
	pthread_mutex_init(&seg->vfy_lock, NULL);
	return seg;
}

int seg_create(struct tfs_part *p, uint64_t base, struct tfs_seg **out)
{
	char lpath[PATH_MAX], ipath[PATH_MAX];
	unsigned char hdr[FMT_HDR_SIZE];
	struct tfs_seg *seg;
	int fd, err;

	err = seg_path(lpath, sizeof(lpath), p->path, base, FMT_LOG_SUFFIX);
	if (!err)
		err = seg_path(ipath, sizeof(ipath), p->path, base,
			       FMT_IDX_SUFFIX);
	if (err)
		return err;
	seg = seg_alloc(base);
	if (!seg)
		return -ENOMEM;
	fd = open(lpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out_free;
	}
	seg->idx_fd = open(ipath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (seg->idx_fd < 0) {
		err = -errno;
		goto out_unlink_log;
	}
	seg_hdr_encode(hdr, base, 0);
	err = seg_pwrite_all(seg->idx_fd, hdr, sizeof(hdr), 0);
	if (err)
		goto out_unlink_idx;
	atomic_store(&seg->fd, fd);
	atomic_store(&seg->times, SEG_TIMES_SORTED); /* no times yet */
	*out = seg;
	return 0;

out_unlink_idx:
	close(seg->idx_fd);
	unlink(ipath);
out_unlink_log:
	close(fd);
	unlink(lpath);
out_free:
	free(seg);
	store_log(p->st, LOG_ERR, "%s: creating segment %020llu: %s", p->name,
		  (unsigned long long)base, tfs_strerror(err));
	return err;
}

/* Read a sealed index's header and entry i (i < k); -EUCLEAN/-EIO. */
static int seg_sealed_entry(struct tfs_part *p, int ifd, const char *iname,
			    uint64_t i, struct seg_entry *e)
{
	unsigned char raw[FMT_ENT_SIZE];
	uint64_t pos = FMT_HDR_SIZE + FMT_ENT_SIZE * i;
	int err = seg_pread_all(ifd, raw, sizeof(raw), pos);

	if (err)
		return err;
	if (seg_ent_decode(raw, e)) {
		store_log(p->st, LOG_ERR,
			  "%s/%s: sealed segment index entry %llu at index "
			  "offset %llu: CRC mismatch",
			  p->name, iname, (unsigned long long)i,
			  (unsigned long long)pos);
		return -EUCLEAN;
	}
	return 0;
}

/* The cheap consistency check of a sealed segment's index (fd ifd) with
 * its .log of log_size bytes; sets seg->entries.  -EUCLEAN/-EIO. */
static int seg_check_sealed(struct tfs_part *p, struct tfs_seg *seg, int ifd,
			    uint64_t idx_size, uint64_t log_size)
{
	unsigned char hdr[FMT_HDR_SIZE];
	struct seg_entry first, last;
	char iname[FMT_SEG_NAME_LEN + 1];
	uint64_t k, base = seg->base;
	int err;

	seg_name(iname, sizeof(iname), base, FMT_IDX_SUFFIX);
	if (idx_size < FMT_HDR_SIZE ||
	    (idx_size - FMT_HDR_SIZE) % FMT_ENT_SIZE) {
		store_log(p->st, LOG_ERR,
			  "%s/%s: sealed segment index has %llu bytes, not a "
			  "header and whole entries",
			  p->name, iname, (unsigned long long)idx_size);
		return -EUCLEAN;
	}
	err = seg_pread_all(ifd, hdr, sizeof(hdr), 0);
	if (!err)
		err = seg_hdr_check(hdr, base);
	if (err) {
		store_log(p->st, LOG_ERR, "%s/%s: bad sealed index header: %s",
			  p->name, iname,
			  err == -EBADMSG ? "bad magic or CRC"
					  : tfs_strerror(err));
		return err == -EPROTONOSUPPORT ? err : -EUCLEAN;
	}
	k = (idx_size - FMT_HDR_SIZE) / FMT_ENT_SIZE;
	atomic_store(&seg->entries, k);
	if (k == 0 && log_size) {
		store_log(
			p->st, LOG_ERR,
			"%s/%020llu%s: sealed segment damaged: its index is "
			"empty but the .log has data from offset %llu to %llu",
			p->name, (unsigned long long)base, FMT_LOG_SUFFIX,
			(unsigned long long)base,
			(unsigned long long)(base + log_size));
		return -EUCLEAN;
	}
	if (k == 0)
		return 0;
	err = seg_sealed_entry(p, ifd, iname, 0, &first);
	if (!err)
		err = seg_sealed_entry(p, ifd, iname, k - 1, &last);
	if (err)
		return err;
	atomic_store(&seg->first_ms, first.time_ms);
	atomic_store(&seg->last_ms, last.time_ms);
	/* no wrap-around: a forged entry near 2^64 must not pass */
	if (first.off != base || last.off < base ||
	    last.off - base > log_size ||
	    last.len != log_size - (last.off - base)) {
		store_log(
			p->st, LOG_ERR,
			"%s/%020llu%s: sealed segment damaged: its index ends "
			"at offset %llu but the .log ends at offset %llu",
			p->name, (unsigned long long)base, FMT_LOG_SUFFIX,
			(unsigned long long)(last.off + last.len),
			(unsigned long long)(base + log_size));
		return -EUCLEAN;
	}
	return 0;
}

/* Open sealed segment base's index and check it against data_size bytes
 * of data; a new segment object, marked synced.  -EUCLEAN/-EIO/-ENOMEM. */
static int seg_open_index(struct tfs_part *p, uint64_t base,
			  uint64_t data_size, struct tfs_seg **out)
{
	char ipath[PATH_MAX];
	struct stat ist;
	struct tfs_seg *seg;
	int ifd, err;

	err = seg_path(ipath, sizeof(ipath), p->path, base, FMT_IDX_SUFFIX);
	if (err)
		return err;
	ifd = open(ipath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (ifd < 0) {
		err = -errno;
		store_log(p->st, LOG_ERR,
			  "%s/%020llu%s: index of a sealed segment: %s",
			  p->name, (unsigned long long)base, FMT_IDX_SUFFIX,
			  strerror(-err));
		return err == -ENOENT ? -EUCLEAN : err;
	}
	seg = seg_alloc(base);
	if (!seg) {
		err = -ENOMEM;
		goto out_close;
	}
	err = fstat(ifd, &ist) ? -errno : 0;
	if (!err)
		err = seg_check_sealed(p, seg, ifd, (uint64_t)ist.st_size,
				       data_size);
	if (err) {
		free(seg);
		goto out_close;
	}
	atomic_store(&seg->size, data_size);
	atomic_store(&seg->synced, true);
	*out = seg;
out_close:
	close(ifd);
	return err;
}

int seg_open_sealed(struct tfs_part *p, uint64_t base, struct tfs_seg **out)
{
	char lpath[PATH_MAX];
	struct stat lst;
	int err;

	err = seg_path(lpath, sizeof(lpath), p->path, base, FMT_LOG_SUFFIX);
	if (err)
		return err;
	if (stat(lpath, &lst)) {
		err = -errno;
		store_log(p->st, LOG_ERR, "%s/%020llu%s: %s", p->name,
			  (unsigned long long)base, FMT_LOG_SUFFIX,
			  strerror(-err));
		return err == -ENOENT ? -EUCLEAN : err;
	}
	err = seg_open_index(p, base, (uint64_t)lst.st_size, out);
	if (!err) { /* its records are checked at the first read */
		(*out)->check_size = (uint64_t)lst.st_size;
		atomic_store(&(*out)->checked, (*out)->check_size == 0);
	}
	return err;
}

int seg_open_zst(struct tfs_part *p, uint64_t base, struct tfs_seg **out)
{
	char zpath[PATH_MAX], why[256] = "";
	struct zseg *z;
	int fd, err;

	err = seg_path(zpath, sizeof(zpath), p->path, base, FMT_ZST_SUFFIX);
	if (err)
		return err;
	fd = open(zpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = zseg_open(fd, &z, why, sizeof(why));
	if (err) {
		close(fd);
		store_log(p->st, LOG_ERR, "%s/%020llu%s: %s", p->name,
			  (unsigned long long)base, FMT_ZST_SUFFIX,
			  why[0] ? why : strerror(-err));
		return err == -ENOMEM ? err : -EUCLEAN;
	}
	err = seg_open_index(p, base, zseg_raw_size(z), out);
	if (err) {
		zseg_close(z);
		return err;
	}
	/* its table is in memory; the fd opens again at the first read
	 * (seg_zst_fd): a store of many compressed segments holds no fd for
	 * each */
	close(zseg_fd_take(z));
	(*out)->z = z;
	return 0;
}

int seg_zst_fd(struct tfs_part *p, struct tfs_seg *seg)
{
	char name[FMT_SEG_NAME_LEN + 1];
	int fd = zseg_fd(seg->z), got;

	if (fd >= 0)
		return fd;
	seg_name(name, sizeof(name), seg->base, FMT_ZST_SUFFIX);
	fd = openat(p->dir_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		store_log(p->st, LOG_ERR, "%s: opening %s/%s: %s", p->name,
			  p->path, name, strerror(-err));
		return err == -EMFILE || err == -ENFILE ? -EMFILE : -EIO;
	}
	got = zseg_fd_set(seg->z, fd);
	if (got == fd)
		atomic_fetch_add(&p->sealed_fds, 1);
	return got;
}

/* Open the active segment's .idx, creating it (logged) when missing, and
 * then syncing the directory: nothing else would make the new name durable
 * (the store syncs the directory only after segments it rolled), and a
 * later fsync() of the partition must not leave synced records behind an
 * index that a power loss takes away. */
static int seg_open_idx(struct tfs_part *p, uint64_t base, const char *ipath)
{
	int fd = open(ipath, O_RDWR | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	store_log(p->st, LOG_WARNING,
		  "recovery: %s/%020llu%s: index missing; creating it", p->name,
		  (unsigned long long)base, FMT_IDX_SUFFIX);
	fd = open(ipath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (fsync(p->dir_fd)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int seg_open_active(struct tfs_part *p, uint64_t base, bool last,
		    struct tfs_seg **out)
{
	char lpath[PATH_MAX], ipath[PATH_MAX];
	struct tfs_seg *seg;
	int fd, err;

	err = seg_path(lpath, sizeof(lpath), p->path, base, FMT_LOG_SUFFIX);
	if (!err)
		err = seg_path(ipath, sizeof(ipath), p->path, base,
			       FMT_IDX_SUFFIX);
	if (err)
		return err;
	seg = seg_alloc(base);
	if (!seg)
		return -ENOMEM;
	fd = open(lpath, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_free;
	}
	atomic_store(&seg->fd, fd);
	seg->idx_fd = seg_open_idx(p, base, ipath);
	if (seg->idx_fd < 0) {
		err = seg->idx_fd;
		goto out_free;
	}
	err = rec_active(p, seg, last);
	if (err)
		goto out_free;
	seg_load_times(seg, seg->idx_fd);
	/* recovery checked the records past the recovery point and set
	 * check_size before them: the first read checks those */
	atomic_store(&seg->checked, seg->check_size == 0);
	*out = seg;
	return 0;

out_free:
	seg_put(seg);
	return err;
}

int seg_data_fd(struct tfs_part *p, struct tfs_seg *seg)
{
	char name[FMT_SEG_NAME_LEN + 1];
	int fd = atomic_load(&seg->fd), expected = -1, err;

	if (fd >= 0)
		return fd;
	/* through dir_fd, never p->path: a deleted partition's directory is
	 * renamed away, and a new partition may have its old name */
	seg_name(name, sizeof(name), seg->base, FMT_LOG_SUFFIX);
	fd = openat(p->dir_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		store_log(p->st, LOG_ERR, "%s: opening %s/%s: %s", p->name,
			  p->path, name, strerror(-err));
		return err == -EMFILE || err == -ENFILE ? -EMFILE : -EIO;
	}
	if (!atomic_compare_exchange_strong(&seg->fd, &expected, fd)) {
		close(fd);
		return expected;
	}
	atomic_fetch_add(&p->sealed_fds, 1); /* only sealed ones open late */
	return fd;
}

/* Write the index header that recovery had no space for (rec_write_header)
 * before the segment's first record; on failure the .idx stays empty. */
static int seg_write_pending_hdr(struct tfs_seg *seg)
{
	unsigned char hdr[FMT_HDR_SIZE];
	int err;

	seg_hdr_encode(hdr, seg->base, 0);
	err = seg_pwrite_all(seg->idx_fd, hdr, sizeof(hdr), 0);
	if (err) {
		/* no partial header left (recovery would rewrite one) */
		int rc = ftruncate(seg->idx_fd, 0);

		(void)rc;
		return err;
	}
	seg->hdr_pending = false;
	return 0;
}

/*
 * The active segment's index is written through a window of it mapped
 * shared: an append stores its 32-byte entry with two stores instead of a
 * pwrite(), which cost about 1.4 us of the daemon's 16 us per 100-byte
 * append (docs/DESIGN.md, "The index entry").  The page is the page
 * cache's, so the entry survives a kill -9 of the daemon as a pwrite()n
 * one does, and fdatasync() of the .idx writes it back; Kafka maps its
 * index files the same way.  A window is seg_imap_size bytes of the file,
 * allocated with fallocate() before it is mapped, so that a store finds
 * blocks (a store into a hole of a shared mapping on a full disk, or past
 * the end of the file, is a SIGBUS).  So the .idx is longer than its
 * entries while a window is mapped (iahead): seg_trim cuts it back at the
 * roll and at unmount, and what a crash leaves (zero entries after the
 * last one) recovery and topicfs-fsck read as space held ahead
 * (seg_zero_tail, docs/FORMAT.md).
 *
 * What can still fault is guarded (seg_imap_store): a page written back
 * and evicted is read in again at the store, and a read error there is a
 * SIGBUS, which the store turns into a pwrite() of the entry (and its
 * error).  Windows are used only on file systems whose blocks, once
 * fallocate()d, need nothing more at a fault (ext4, XFS, tmpfs; a
 * copy-on-write one such as btrfs reserves space at the fault), with
 * 1 GiB free (SEG_PREALLOC_FREE, as for the .log's blocks), and at most
 * a quarter of vm.max_map_count of them at once; elsewhere, and after
 * any failure in a segment, its entries are pwrite()n.  A window is small
 * so that a thousand partitions' mapped pages stay a few MiB of RSS.
 */
#define SEG_IMAP_MIN (16u << 10) /* 512 entries; 4 pages of 4 KiB */
#define SEG_PREALLOC_FREE (1ull << 30) /* disk space it needs to be free */

_Static_assert(SEG_IMAP_MIN % FMT_ENT_SIZE == 0 &&
		       FMT_HDR_SIZE < SEG_IMAP_MIN,
	       "an entry never straddles two windows");

static size_t seg_imap_size;	    /* window bytes: SEG_IMAP_MIN or a page */
static long seg_imap_max;	    /* windows mapped at once, at most */
static _Atomic long seg_imap_live;  /* windows mapped now */
static bool seg_imap_on;	    /* windows can be mapped (page size) */
static struct sigaction seg_bus_prev; /* SIGBUS's action before it */
static __thread sigjmp_buf *volatile seg_bus_env; /* a store under way */
static pthread_once_t seg_imap_once = PTHREAD_ONCE_INIT;

static __thread volatile sig_atomic_t seg_bus_chaining; /* in seg_bus_prev */

/* SIGBUS: a store into a window that faulted jumps back to it; any other
 * SIGBUS gets the action there was before (a crash, as without us).  An
 * action put back by signal() (no SA_SIGINFO) still gets a siginfo
 * pointer on x86-64, not its contents: si_code is read only to tell a
 * sent SIGBUS from a fault. */
static void seg_bus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *env = seg_bus_env;
	const struct sigaction *prev = &seg_bus_prev;

	if (env) {
		seg_bus_env = NULL;
		siglongjmp(*env, 1);
	}
	/* handed back to us by the handler we chained to (it replaced us
	 * and chains to what it replaced), or a fault inside it: end as
	 * with no handler at all, never in a loop */
	if (seg_bus_chaining || prev->sa_sigaction == seg_bus) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		sigaction(SIGBUS, &dfl, NULL);
		return;
	}
	if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
		if (si->si_code <= 0) { /* sent (kill, sigqueue), no fault */
			if (prev->sa_handler == SIG_DFL) {
				sigaction(SIGBUS, prev, NULL);
				raise(sig);
			}
			return;
		}
		/* the faulting access runs again, now under the old action */
		sigaction(SIGBUS, prev, NULL);
		return;
	}
	seg_bus_chaining = 1;
	if (prev->sa_flags & SA_SIGINFO)
		prev->sa_sigaction(sig, si, uc);
	else
		prev->sa_handler(sig);
	seg_bus_chaining = 0;
}

/* Whether SIGBUS comes to seg_bus, installing it if not: at the first
 * window, and again if someone set another action since (which seg_bus
 * then hands every SIGBUS not its own). */
static bool seg_bus_guard(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct sigaction sa, cur;
	bool ok;

	if (sigaction(SIGBUS, NULL, &cur))
		return false;
	if (cur.sa_sigaction == seg_bus &&
	    (cur.sa_flags & (SA_SIGINFO | SA_NODEFER)) ==
		    (SA_SIGINFO | SA_NODEFER))
		return true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seg_bus;
	/* not blocked in the handler: it leaves by siglongjmp, which
	 * restores no mask */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	pthread_mutex_lock(&lock);
	ok = !sigaction(SIGBUS, NULL, &cur);
	/* seg_bus with other flags (signal() put it back) is no previous */
	if (ok && cur.sa_sigaction != seg_bus)
		seg_bus_prev = cur;
	if (ok)
		ok = !sigaction(SIGBUS, &sa, NULL);
	pthread_mutex_unlock(&lock);
	return ok;
}

static void seg_imap_init(void)
{
	long page = sysconf(_SC_PAGESIZE), maps = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%ld", &maps) != 1)
			maps = 65530;
		fclose(f);
	}
	seg_imap_size = page > (long)SEG_IMAP_MIN ? (size_t)page : SEG_IMAP_MIN;
	seg_imap_max = maps / 4;
	seg_imap_on = page > 0 && page % FMT_ENT_SIZE == 0;
}

static void seg_imap_drop(struct tfs_seg *seg)
{
	if (!seg->imap)
		return;
	munmap(seg->imap, seg_imap_size);
	atomic_fetch_sub(&seg_imap_live, 1);
	seg->imap = NULL;
}

/* Whether bytes [pos, end) of fd can be read: the pages of a window that
 * hold entries already are read in here, where an I/O error is an error
 * (a later one is caught by seg_imap_store). */
static bool seg_readable(int fd, uint64_t pos, uint64_t end)
{
	unsigned char buf[4096];

	while (pos < end) {
		size_t n = end - pos < sizeof(buf) ? (size_t)(end - pos)
						   : sizeof(buf);

		if (seg_pread_all(fd, buf, n, pos))
			return false;
		pos += n;
	}
	return true;
}

/* Whether the index of a segment on the file system of fd may be mapped:
 * fallocate()d blocks need nothing more at a fault there. */
static bool seg_imap_fs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return false;
	if (sf.f_type != EXT4_SUPER_MAGIC && sf.f_type != XFS_SUPER_MAGIC &&
	    sf.f_type != TMPFS_MAGIC)
		return false;
	/* the space held ahead must never be what another partition's
	 * append finds missing (as seg_prealloc) */
	return (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize >=
	       SEG_PREALLOC_FREE;
}

/* Where entry n of the active segment goes in its mapped window, mapping
 * the window it falls in first; NULL: pwrite() it. */
static unsigned char *seg_imap_slot(struct tfs_seg *seg, uint64_t n)
{
	uint64_t at = FMT_HDR_SIZE + FMT_ENT_SIZE * n, off;
	void *m;

	/* at below imap_off wraps to a huge difference: not in the window
	 * (a window exists only after seg_imap_init) */
	if (seg->imap && at - seg->imap_off < seg_imap_size)
		return seg->imap + (at - seg->imap_off);
	seg_imap_drop(seg);
	pthread_once(&seg_imap_once, seg_imap_init);
	if (seg->imap_never || !seg_imap_on || !seg_imap_fs(seg->idx_fd) ||
	    !seg_bus_guard())
		return NULL;
	if (atomic_load(&seg_imap_live) >= seg_imap_max)
		return NULL;
	off = at / seg_imap_size * seg_imap_size;
	if (!seg_readable(seg->idx_fd, off, at))
		return NULL;
	/* a failure may still have extended the file part of the way */
	seg->iahead = true;
	if (fallocate(seg->idx_fd, 0, (off_t)off, (off_t)seg_imap_size)) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			seg->imap_never = true;
		return NULL;
	}
	m = mmap(NULL, seg_imap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 seg->idx_fd, (off_t)off);
	if (m == MAP_FAILED) {
		seg->imap_never = true; /* no retry at every append */
		return NULL;
	}
	atomic_fetch_add(&seg_imap_live, 1);
	seg->imap = m;
	seg->imap_off = off;
	return seg->imap + (at - off);
}

/*
 * Store entry raw at slot: its first 28 bytes, then its CRC, so that an
 * entry a kill -9 cut short has a CRC field of zeros (topicfs-fsck reads
 * that as torn, not damaged).  false: the store faulted (SIGBUS: the page
 * could not be read in, or had no space); the window is dropped, this
 * segment's entries are pwrite()n from now on, and nothing of the entry
 * was written (an entry never straddles a page).
 */
static bool seg_imap_store(struct tfs_seg *seg, unsigned char *slot,
			   const unsigned char *raw)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 0)) {
		sigset_t bus;

		/* blocked if the handler ran as an action without SA_NODEFER
		 * (seg_bus as signal() put it back) */
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		seg_imap_drop(seg);
		seg->imap_never = true;
		return false;
	}
	seg_bus_chaining = 0; /* a handler we chained to left by longjmp */
	seg_bus_env = &env;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(slot, raw, FMT_ENT_CRC);
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(slot + FMT_ENT_CRC, raw + FMT_ENT_CRC,
	       FMT_ENT_SIZE - FMT_ENT_CRC);
	atomic_signal_fence(memory_order_seq_cst);
	seg_bus_env = NULL;
	return true;
}

uint64_t seg_zero_tail(int ifd, uint64_t idx_size)
{
	static const unsigned char zeros[FMT_ENT_SIZE];
	unsigned char buf[4096];
	uint64_t n, k = 0;

	if (idx_size < FMT_HDR_SIZE)
		return 0;
	n = (idx_size - FMT_HDR_SIZE) / FMT_ENT_SIZE;
	while (k < n) {
		uint64_t m = n - k < sizeof(buf) / FMT_ENT_SIZE
				     ? n - k
				     : sizeof(buf) / FMT_ENT_SIZE;

		if (seg_pread_all(ifd, buf, m * FMT_ENT_SIZE,
				  FMT_HDR_SIZE + FMT_ENT_SIZE * (n - k - m)))
			return k;
		for (uint64_t j = m; j-- > 0; k++)
			if (memcmp(buf + FMT_ENT_SIZE * j, zeros, FMT_ENT_SIZE))
				return k;
	}
	return k;
}

/* Cut the .log back to pos and the .idx back to n entries after a failed
 * append, so nothing partial stays behind. */
static void seg_unappend(struct tfs_part *p, struct tfs_seg *seg, uint64_t pos,
			 uint64_t n)
{
	int fd = atomic_load(&seg->fd);

	/* no window may reach past the cut end of the .idx */
	seg_imap_drop(seg);

	/* the truncate frees the blocks seg_prealloc allocated past pos */
	if (seg->prealloc != SEG_PREALLOC_OFF && seg->prealloc > pos)
		seg->prealloc = pos;
	if (ftruncate(seg->idx_fd, (off_t)(FMT_HDR_SIZE + FMT_ENT_SIZE * n)) ||
	    ftruncate(fd, (off_t)pos))
		store_log(p->st, LOG_ERR,
			  "%s: undoing a failed append at offset %llu: %s",
			  p->name, (unsigned long long)(seg->base + pos),
			  strerror(errno));
	else
		seg->iahead = false;
}

/*
 * A buffered write into blocks a file does not have yet costs ext4 a
 * delayed allocation per 4 KiB block (ext4_da_get_block_prep and the
 * extent status tree: about 30% of the daemon's time for 1 MiB appends);
 * into blocks allocated ahead with fallocate(FALLOC_FL_KEEP_SIZE) it only
 * maps them.  So an active segment on ext4 that takes a record of
 * SEG_PREALLOC_MIN or more allocates its blocks to the end of the
 * SEG_PREALLOC_CHUNK-aligned chunk after the record (never past
 * segment.bytes), and seg_trim frees the rest when the segment is sealed
 * or the store closes; recovery frees what a crash left.  With less than
 * SEG_PREALLOC_FREE available on the file system nothing is allocated
 * ahead, so that one partition's blocks never starve another's appends
 * on a nearly full disk (t_enospc_ext4).  Partitions of
 * small records, which gain nothing measurable (a block per 40 records of
 * 100 bytes), hold no disk past their end.  The size does not change, so
 * readers, recovery and fsck see nothing of it.
 */
#define SEG_PREALLOC_MIN (64u << 10)
#define SEG_PREALLOC_CHUNK (4u << 20)

static void seg_prealloc(struct tfs_part *p, struct tfs_seg *seg, int fd,
			 uint64_t pos, size_t len)
{
	uint64_t limit = (uint64_t)topic_cfg(p->topic, TFS_CFG_SEGMENT_BYTES);
	uint64_t end = pos + len, to;
	struct statfs sf;

	if (seg->prealloc == SEG_PREALLOC_OFF || end <= seg->prealloc ||
	    len < SEG_PREALLOC_MIN || pos >= limit) /* grown past it */
		return;
	if (fstatfs(fd, &sf) || sf.f_type != EXT4_SUPER_MAGIC) {
		seg->prealloc = SEG_PREALLOC_OFF;
		return;
	}
	/* blocks held ahead must never be what another partition's append
	 * finds missing: none while the disk is short of space (checked
	 * again at the next large record) */
	if ((uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize < SEG_PREALLOC_FREE)
		return;
	to = (end / SEG_PREALLOC_CHUNK + 1) * SEG_PREALLOC_CHUNK;
	if (to > limit)
		to = limit;
	if (to <= end)
		return;
	if (pos < seg->prealloc)
		pos = seg->prealloc;
	/* A failure (a full disk) is not this append's: its pwrite decides.
	 * The range counts as tried, so a full disk costs one fallocate per
	 * chunk, not per append, and seg_trim frees what it did allocate. */
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)(to - pos)) &&
	    (errno == EOPNOTSUPP || errno == ENOSYS))
		seg->prealloc = SEG_PREALLOC_OFF;
	else
		seg->prealloc = to;
}

/* Unmap the index window and cut the .idx back to its entries. */
static void seg_trim_index(struct tfs_part *p, struct tfs_seg *seg)
{
	uint64_t n = atomic_load_explicit(&seg->entries, memory_order_relaxed);

	seg_imap_drop(seg);
	if (!seg->iahead || seg->idx_fd < 0)
		return;
	if (ftruncate(seg->idx_fd, (off_t)(FMT_HDR_SIZE + FMT_ENT_SIZE * n)))
		store_log(p->st, LOG_WARNING,
			  "%s: cutting the index of segment %020llu back to "
			  "its %llu entries: %s",
			  p->name, (unsigned long long)seg->base,
			  (unsigned long long)n, strerror(errno));
	else
		seg->iahead = false;
}

void seg_trim(struct tfs_part *p, struct tfs_seg *seg)
{
	uint64_t size = atomic_load_explicit(&seg->size, memory_order_relaxed);
	int fd = atomic_load(&seg->fd);

	seg_trim_index(p, seg);
	if (seg->prealloc == SEG_PREALLOC_OFF || seg->prealloc <= size ||
	    fd < 0)
		return;
	/* ext4 frees the blocks past the end even at the same size */
	if (ftruncate(fd, (off_t)size))
		store_log(p->st, LOG_WARNING,
			  "%s: freeing the blocks allocated past the end of "
			  "segment %020llu: %s",
			  p->name, (unsigned long long)seg->base,
			  strerror(errno));
	seg->prealloc = size;
}

int seg_append(struct tfs_part *p, struct tfs_seg *seg, const void *buf,
	       size_t len, int64_t now_ms, bool sync)
{
	uint64_t pos = atomic_load_explicit(&seg->size, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&seg->entries, memory_order_relaxed);
	struct seg_entry e = { .off = seg->base + pos,
			       .len = (uint32_t)len,
			       .dcrc = crc32c(0, buf, len),
			       .time_ms = now_ms };
	unsigned char raw[FMT_ENT_SIZE], *slot;
	int err;

	assert(len <= TFS_MAX_RECORD_BYTES && seg->idx_fd >= 0);
	if (seg->hdr_pending && (err = seg_write_pending_hdr(seg)))
		return err;
	seg_prealloc(p, seg, atomic_load(&seg->fd), pos, len);
	err = seg_pwrite_all(atomic_load(&seg->fd), buf, len, pos);
	if (err)
		goto out_undo;
	seg_ent_encode(raw, &e);
	slot = seg_imap_slot(seg, n);
	if (!slot || !seg_imap_store(seg, slot, raw))
		err = seg_pwrite_all(seg->idx_fd, raw, sizeof(raw),
				     FMT_HDR_SIZE + FMT_ENT_SIZE * n);
	if (!err && sync)
		err = seg_sync(seg);
	if (err)
		goto out_undo;
	if (n == 0)
		atomic_store_explicit(&seg->first_ms, now_ms,
				      memory_order_relaxed);
	else if (now_ms < atomic_load_explicit(&seg->last_ms,
					       memory_order_relaxed))
		atomic_store(&seg->times, SEG_TIMES_UNSORTED); /* seek.c */
	/* the newest record's time, for retention.ms, even after the clock
	 * stepped back */
	if (n == 0 || now_ms > atomic_load_explicit(&seg->last_ms,
						    memory_order_relaxed))
		atomic_store_explicit(&seg->last_ms, now_ms,
				      memory_order_relaxed);
	atomic_store_explicit(&seg->entries, n + 1, memory_order_relaxed);
	atomic_store_explicit(&seg->size, pos + len, memory_order_release);
	return 0;

out_undo:
	seg_unappend(p, seg, pos, n);
	return err;
}

void seg_load_times(struct tfs_seg *seg, int ifd)
{
	unsigned char raw[FMT_ENT_SIZE];
	uint64_t k = atomic_load(&seg->entries);
	struct seg_entry e;

	if (!k)
		return;
	if (!seg_pread_all(ifd, raw, sizeof(raw), FMT_HDR_SIZE) &&
	    !seg_ent_decode(raw, &e))
		atomic_store(&seg->first_ms, e.time_ms);
	if (!seg_pread_all(ifd, raw, sizeof(raw),
			   FMT_HDR_SIZE + FMT_ENT_SIZE * (k - 1)) &&
	    !seg_ent_decode(raw, &e))
		atomic_store(&seg->last_ms, e.time_ms);
}

int seg_sync(struct tfs_seg *seg)
{
	if (fdatasync(atomic_load(&seg->fd)))
		return -errno;
	if (seg->idx_fd >= 0 && fdatasync(seg->idx_fd))
		return -errno;
	return 0;
}

/* Cut a sealed segment's .idx back to its entries if it is longer. */
static int seg_index_exact(struct tfs_seg *seg)
{
	uint64_t want = FMT_HDR_SIZE + FMT_ENT_SIZE * atomic_load(&seg->entries);
	struct stat sb;

	if (fstat(seg->idx_fd, &sb))
		return -errno;
	if ((uint64_t)sb.st_size > want && ftruncate(seg->idx_fd, (off_t)want))
		return -errno;
	return 0;
}

int seg_mark_synced(struct tfs_seg *seg, int dir_fd)
{
	char name[FMT_SEG_NAME_LEN + 1];
	unsigned char hdr[FMT_HDR_SIZE];
	int err;

	/* sealed at a roll: the index was closed then (fds are scarce with
	 * thousands of segments); dir_fd survives a rename of the dir */
	if (seg->idx_fd < 0) {
		seg_name(name, sizeof(name), seg->base, FMT_IDX_SUFFIX);
		seg->idx_fd = openat(dir_fd, name, O_RDWR | O_CLOEXEC);
		if (seg->idx_fd < 0)
			return -errno;
	}
	/* a SYNCED index is exactly its entries (seg_check_sealed): cut
	 * what the windows held ahead, had seg_trim failed at the roll */
	err = seg_index_exact(seg);
	if (!err)
		err = seg_sync(seg);
	if (!err && fsync(dir_fd))
		err = -errno;
	if (!err) {
		seg_hdr_encode(hdr, seg->base, FMT_HDR_F_SYNCED);
		err = seg_pwrite_all(seg->idx_fd, hdr, sizeof(hdr), 0);
	}
	if (!err && fdatasync(seg->idx_fd))
		err = -errno;
	seg_seal(seg);
	if (!err)
		atomic_store(&seg->synced, true);
	return err;
}

bool seg_hdr_torn(const unsigned char *hdr, uint64_t size)
{
	if (size < FMT_HDR_SIZE)
		return true;
	for (size_t i = 0; i < FMT_HDR_SIZE; i++)
		if (hdr[i])
			return false;
	return true;
}

int seg_read_flags(struct tfs_part *p, uint64_t base, uint32_t *flags)
{
	unsigned char hdr[FMT_HDR_SIZE] = { 0 };
	char ipath[PATH_MAX];
	struct stat sb;
	int fd, err;

	err = seg_path(ipath, sizeof(ipath), p->path, base, FMT_IDX_SUFFIX);
	if (err)
		return err;
	fd = open(ipath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &sb) ? -errno : 0;
	if (!err && (uint64_t)sb.st_size >= FMT_HDR_SIZE)
		err = seg_pread_all(fd, hdr, sizeof(hdr), 0);
	if (!err && seg_hdr_torn(hdr, (uint64_t)sb.st_size))
		err = -ENODATA;
	if (!err)
		err = seg_hdr_check(hdr, base);
	if (!err)
		*flags = seg_hdr_flags(hdr);
	close(fd);
	return err;
}

void seg_seal(struct tfs_seg *seg)
{
	seg_imap_drop(seg);
	if (seg->idx_fd >= 0)
		close(seg->idx_fd);
	seg->idx_fd = -1;
}

void seg_pin(struct tfs_seg *seg)
{
	atomic_fetch_add(&seg->refs, 1);
}

void seg_put(struct tfs_seg *seg)
{
	uint64_t old = atomic_fetch_sub(&seg->refs, 1);
	int fd;

	assert(old > 0);
	if (old != 1)
		return;
	fd = atomic_load(&seg->fd);
	if (fd >= 0)
		close(fd);
	if (seg->z)
		zseg_close(seg->z);
	if (seg->vfy_idx_fd >= 0)
		close(seg->vfy_idx_fd);
	seg_seal(seg);
	pthread_mutex_destroy(&seg->vfy_lock);
	free(seg->bad);
	free(seg);
}

uint64_t seg_disk_bytes(struct tfs_seg *seg)
{
	return (seg->z ? zseg_file_size(seg->z) : atomic_load(&seg->size)) +
	       FMT_HDR_SIZE +
	       FMT_ENT_SIZE * atomic_load(&seg->entries);
}
