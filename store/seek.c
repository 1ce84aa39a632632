/*
 * store/seek.c - finding offsets in a partition without reading records:
 * by append time (tfs_part_seek_time) and by record count back from the
 * end (tfs_part_seek_last), and the record holding an offset
 * (tfs_part_seek_record), from the segments' counts and times in memory
 * and a few reads of one segment's index.
 *
 * The segments array is looked at under seg_lock held shared; the chosen
 * segment is pinned and its .idx read by name through p->dir_fd with no
 * lock held.  Retention may take the segment away meanwhile (its .idx is
 * renamed, then unlinked): the search then starts over.
 *
 * Inside a segment whose index times are sorted (tfs_seg.times) a search
 * is binary; one whose times go back (a clock step) is scanned forward.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "internal.h"

/* Searches started over after retention took the chosen segment; each
 * time the partition lost a segment, so more means something is wrong. */
#define SEEK_RETRIES 64
/* Entries one read of the forward scan takes. */
#define SEEK_SCAN_BATCH 128

/* Records of seg that a search may use: 0 while it has no published
 * bytes (an empty active segment, a damaged stand-in).  The acquire load
 * of size makes first_ms and last_ms of those records visible. */
static uint64_t seek_entries(struct tfs_seg *seg)
{
	if (!atomic_load_explicit(&seg->size, memory_order_acquire))
		return 0;
	return atomic_load(&seg->entries);
}

/* The pinned segment's .idx is gone (ENOENT): -EAGAIN retention took it
 * (search again), -ENOENT the partition was deleted, else -EIO (logged). */
static int seek_gone(struct tfs_part *p, struct tfs_seg *seg)
{
	bool taken, deleted;

	pthread_rwlock_rdlock(&p->seg_lock);
	taken = p->segs[0]->base > seg->base; /* retention cuts the front */
	pthread_rwlock_unlock(&p->seg_lock);
	if (taken)
		return -EAGAIN;
	pthread_mutex_lock(&p->append_lock);
	deleted = p->deleted;
	pthread_mutex_unlock(&p->append_lock);
	if (deleted)
		return -ENOENT;
	store_log(p->st, LOG_ERR, "%s/%020llu%s: seek: the index is missing",
		  p->name, (unsigned long long)seg->base, FMT_IDX_SUFFIX);
	return -EIO;
}

/* Open the pinned segment's .idx read-only.  @return the fd; -EAGAIN,
 * -ENOENT as seek_gone; -EIO (logged). */
static int seek_open(struct tfs_part *p, struct tfs_seg *seg)
{
	char name[FMT_SEG_NAME_LEN + 1];
	int fd;

	seg_name(name, sizeof(name), seg->base, FMT_IDX_SUFFIX);
	fd = openat(p->dir_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return seek_gone(p, seg);
	store_log(p->st, LOG_ERR, "%s/%s: seek: opening the index: %s", p->name,
		  name, strerror(errno));
	return -EIO;
}

/* Read and decode n entries from entry i of the index at fd into e.
 * @return 0; -EIO (logged: a short index, or an entry failing its CRC). */
static int seek_read(struct tfs_part *p, struct tfs_seg *seg, int fd,
		     uint64_t i, struct seg_entry *e, size_t n)
{
	unsigned char raw[SEEK_SCAN_BATCH * FMT_ENT_SIZE];
	uint64_t pos = FMT_HDR_SIZE + FMT_ENT_SIZE * i;
	int err = n <= SEEK_SCAN_BATCH
			  ? seg_pread_all(fd, raw, n * FMT_ENT_SIZE, pos)
			  : -EINVAL;

	for (size_t j = 0; !err && j < n; j++)
		if (seg_ent_decode(raw + FMT_ENT_SIZE * j, e + j) ||
		    e[j].off < seg->base)
			err = -EUCLEAN;
	if (err)
		store_log(
			p->st, LOG_ERR,
			"%s/%020llu%s: seek: index entries %llu..%llu at index offset %llu: %s",
			p->name, (unsigned long long)seg->base, FMT_IDX_SUFFIX,
			(unsigned long long)i, (unsigned long long)(i + n - 1),
			(unsigned long long)pos,
			err == -EUCLEAN ? "damaged entry" : strerror(-err));
	return err ? -EIO : 0;
}

/* The first of the k entries of seg's index at fd whose time is >= ms, by
 * a forward scan (times went back, or may have); the segment's end if
 * none.  With learn, every entry is read, and whether their times are
 * sorted is noted in seg->times.  0 or -EIO. */
static int seek_scan(struct tfs_part *p, struct tfs_seg *seg, int fd,
		     uint64_t k, int64_t ms, bool learn, uint64_t *off)
{
	struct seg_entry e[SEEK_SCAN_BATCH];
	int64_t prev = INT64_MIN;
	bool hit = false, sorted = true;
	int expect = SEG_TIMES_UNKNOWN;

	for (uint64_t i = 0; i < k && (learn || !hit); i += SEEK_SCAN_BATCH) {
		size_t n = k - i < SEEK_SCAN_BATCH ? (size_t)(k - i)
						   : SEEK_SCAN_BATCH;
		int err = seek_read(p, seg, fd, i, e, n);

		if (err)
			return err;
		for (size_t j = 0; j < n; j++) {
			sorted = sorted && e[j].time_ms >= prev;
			prev = e[j].time_ms;
			if (!hit && e[j].time_ms >= ms) {
				*off = e[j].off;
				hit = true;
			}
		}
		if (!hit)
			*off = e[n - 1].off + e[n - 1].len;
	}
	if (learn)
		atomic_compare_exchange_strong(&seg->times, &expect,
					       sorted ? SEG_TIMES_SORTED
						      : SEG_TIMES_UNSORTED);
	return 0;
}

/*
 * The first of the k entries of seg's index at fd whose time is >= ms;
 * entry 0 is older than ms.  Sorted times: a binary search over entries
 * 1..k-1 (if none is, a record appended after k was read may be: the
 * offset after entry k-1).  Otherwise a forward scan.  0 or -EIO.
 */
static int seek_time_in(struct tfs_part *p, struct tfs_seg *seg, int fd,
			uint64_t k, int64_t ms, uint64_t *off)
{
	int times = atomic_load(&seg->times);
	uint64_t lo = 1, hi = k, hit = 0;
	struct seg_entry e;
	int err;

	if (times != SEG_TIMES_SORTED)
		return seek_scan(p, seg, fd, k, ms, times == SEG_TIMES_UNKNOWN,
				 off);
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		err = seek_read(p, seg, fd, mid, &e, 1);
		if (err)
			return err;
		if (e.time_ms >= ms) {
			hi = mid;
			hit = e.off;
		} else {
			lo = mid + 1;
		}
	}
	if (lo < k) {
		*off = hit;
		return 0;
	}
	err = seek_read(p, seg, fd, k - 1, &e, 1);
	if (!err)
		*off = e.off + e.len;
	return err;
}

/* Does segment i, or when it holds no records the next one that does,
 * have a record at or after ms?  seg_lock held. */
static bool seek_reaches(struct tfs_part *p, size_t i, int64_t ms)
{
	for (; i < p->nsegs; i++)
		if (seek_entries(p->segs[i]))
			return atomic_load(&p->segs[i]->last_ms) >= ms;
	return false;
}

/* The first segment with records whose newest record is at or after ms
 * (binary search), or nsegs.  seg_lock held. */
static size_t seek_time_seg(struct tfs_part *p, int64_t ms)
{
	size_t lo = 0, hi = p->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (seek_reaches(p, mid, ms))
			hi = mid;
		else
			lo = mid + 1;
	}
	while (lo < p->nsegs && !seek_entries(p->segs[lo]))
		lo++;
	return lo;
}

/* One try of tfs_part_seek_time.  0, -EAGAIN (try again), or -errno. */
static int seek_time_once(struct tfs_part *p, int64_t ms, uint64_t *off)
{
	struct tfs_seg *seg;
	uint64_t k = 0;
	size_t i;
	int fd, err;

	pthread_rwlock_rdlock(&p->seg_lock);
	/* before the times: a record past this end is newer than them */
	*off = atomic_load_explicit(&p->end, memory_order_acquire);
	i = seek_time_seg(p, ms);
	seg = i < p->nsegs ? p->segs[i] : NULL;
	if (seg) {
		k = seek_entries(seg);
		if (atomic_load(&seg->first_ms) >= ms) {
			*off = seg->base;
			seg = NULL;
		} else {
			seg_pin(seg);
		}
	}
	pthread_rwlock_unlock(&p->seg_lock);
	if (!seg)
		return 0;
	fd = seek_open(p, seg);
	err = fd < 0 ? fd : seek_time_in(p, seg, fd, k, ms, off);
	if (fd >= 0)
		close(fd);
	seg_put(seg);
	return err;
}

/* Run a seek's one try until retention leaves its segment alone
 * (-EAGAIN: it took the segment searched); what names it in the log. */
static int seek_retry(struct tfs_part *p, const char *what,
		      int (*once)(struct tfs_part *, uint64_t, uint64_t *),
		      uint64_t arg, uint64_t *out)
{
	for (int try = 0; try < SEEK_RETRIES; try++) {
		int err = once(p, arg, out);

		if (err != -EAGAIN)
			return err;
	}
	store_log(p->st, LOG_ERR,
		  "%s: %s: retention took the segment searched %d times in a "
		  "row",
		  p->name, what, SEEK_RETRIES);
	return -EIO;
}

/* seek_time_once with the time as seek_retry passes it. */
static int seek_time_try(struct tfs_part *p, uint64_t ms, uint64_t *off)
{
	return seek_time_once(p, (int64_t)ms, off);
}

int tfs_part_seek_time(struct tfs_part *p, int64_t ms, uint64_t *off)
{
	return seek_retry(p, "seek by time", seek_time_try, (uint64_t)ms, off);
}

/* One try of tfs_part_seek_last.  0, -EAGAIN (try again), or -errno. */
static int seek_last_once(struct tfs_part *p, uint64_t n, uint64_t *off)
{
	struct tfs_seg *seg = NULL;
	struct seg_entry e;
	uint64_t k = 0;
	int fd, err;

	pthread_rwlock_rdlock(&p->seg_lock);
	*off = atomic_load_explicit(&p->end, memory_order_acquire);
	for (size_t i = p->nsegs; n && i-- > 0;) {
		k = seek_entries(p->segs[i]);
		if (n <= k) {
			seg = p->segs[i];
			break;
		}
		n -= k;
	}
	if (n && !seg)
		*off = p->segs[0]->base; /* fewer records than n */
	else if (seg && n == k)
		*off = seg->base; /* its first record */
	else if (seg)
		seg_pin(seg);
	pthread_rwlock_unlock(&p->seg_lock);
	if (!seg || n == k)
		return 0;
	fd = seek_open(p, seg);
	err = fd < 0 ? fd : seek_read(p, seg, fd, k - n, &e, 1);
	if (!err)
		*off = e.off;
	if (fd >= 0)
		close(fd);
	seg_put(seg);
	return err;
}

/* One try of tfs_part_seek_record.  0, -EAGAIN (try again), or -errno. */
static int seek_record_once(struct tfs_part *p, uint64_t off, uint64_t *start)
{
	struct tfs_seg *seg = NULL;
	struct seg_entry e;
	uint64_t k = 0, lo, hi;
	size_t a, b;
	int fd, err = 0;

	*start = off;
	pthread_rwlock_rdlock(&p->seg_lock);
	/* the last segment whose base is at or below off */
	for (a = 0, b = p->nsegs; b - a > 1;) {
		size_t m = a + (b - a) / 2;

		if (p->segs[m]->base <= off)
			a = m;
		else
			b = m;
	}
	if (p->nsegs && p->segs[a]->base < off) {
		k = seek_entries(p->segs[a]);
		if (k && off < p->segs[a]->base +
				       atomic_load(&p->segs[a]->size)) {
			seg = p->segs[a];
			if (k == 1) /* its one record holds off */
				*start = seg->base;
			else
				seg_pin(seg);
		}
	}
	pthread_rwlock_unlock(&p->seg_lock);
	if (!seg || k == 1) /* a segment's first byte, the end, one record */
		return 0;
	fd = seek_open(p, seg);
	if (fd < 0) {
		seg_put(seg);
		return fd;
	}
	/* the last entry whose record starts at or below off */
	for (lo = 0, hi = k - 1; !err && lo < hi;) {
		uint64_t mid = lo + (hi - lo + 1) / 2;

		err = seek_read(p, seg, fd, mid, &e, 1);
		if (!err && e.off <= off)
			lo = mid;
		else if (!err)
			hi = mid - 1;
	}
	if (!err && lo)
		err = seek_read(p, seg, fd, lo, &e, 1);
	if (!err)
		*start = lo ? e.off : seg->base;
	close(fd);
	seg_put(seg);
	return err;
}

int tfs_part_seek_record(struct tfs_part *p, uint64_t off, uint64_t *start)
{
	return seek_retry(p, "seek to a record", seek_record_once, off, start);
}

int tfs_part_seek_last(struct tfs_part *p, uint64_t n, uint64_t *off)
{
	return seek_retry(p, "seek from the end", seek_last_once, n, off);
}
