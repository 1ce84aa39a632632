/*
 * store/verify.c - damage in sealed data: every segment's records are
 * checked against their index CRCs once, at the first read that touches
 * the segment, and the ranges that fail become damaged ranges that read
 * as EIO (the rest of the partition stays readable).  Segments whose files
 * are missing or do not match their index at mount are damaged whole.
 * Each damage is logged once with the file and the partition offsets.
 *
 * A read at segment i also queues segment i + 1 for the checker thread,
 * so a sequential reader rarely waits for a check: it runs on the other
 * CPU while segment i is served, and pulls a cold segment into the page
 * cache ahead of the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"

#define VFY_CHUNK (1u << 20) /* data read per pread */
#define VFY_BATCH 256	     /* index entries read per pread */
#define VFY_LOG_MAX 8	     /* damaged records logged one by one */

/* A sequential reader of a segment's data with a CRC per range. */
struct vfy_data {
	int fd;
	unsigned char *buf; /* VFY_CHUNK bytes */
	uint64_t pos;	    /* file position of buf[0] */
	size_t have;	    /* valid bytes in buf */
};

/* Add [lo, hi) to seg's damaged ranges (merged with the last one when
 * they touch); ranges come in ascending order.  -ENOMEM. */
static int vfy_add(struct tfs_seg *seg, uint64_t lo, uint64_t hi)
{
	struct seg_bad *v;

	if (seg->nbad && seg->bad[seg->nbad - 1].hi >= lo) {
		if (hi > seg->bad[seg->nbad - 1].hi)
			seg->bad[seg->nbad - 1].hi = hi;
		return 0;
	}
	v = realloc(seg->bad, (seg->nbad + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	seg->bad = v;
	seg->bad[seg->nbad++] = (struct seg_bad){ lo, hi };
	return 0;
}

void vfy_mark_all(struct tfs_part *p, struct tfs_seg *seg, const char *why)
{
	uint64_t size = atomic_load(&seg->size);

	if (size)
		vfy_add(seg, 0, size);
	atomic_store_explicit(&seg->checked, true, memory_order_release);
	store_log(p->st, LOG_ERR,
		  "%s/%020llu: damaged segment (%s): offsets %llu..%llu read "
		  "as EIO",
		  p->name, (unsigned long long)seg->base, why,
		  (unsigned long long)seg->base,
		  (unsigned long long)(seg->base + size));
}

/* CRC32C of data bytes [pos, pos + len); -EIO past the end of the file. */
static int vfy_crc(struct vfy_data *d, uint64_t pos, uint64_t len,
		   uint32_t *crc)
{
	*crc = 0;
	while (len) {
		size_t at, n;

		if (pos < d->pos || pos >= d->pos + d->have) {
			ssize_t r = pread(d->fd, d->buf, VFY_CHUNK, (off_t)pos);

			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			d->pos = pos;
			d->have = (size_t)r;
		}
		at = (size_t)(pos - d->pos);
		n = d->have - at < len ? d->have - at : (size_t)len;
		*crc = crc32c(*crc, d->buf + at, n);
		pos += n;
		len -= n;
	}
	return 0;
}

/* Log the damaged run of index entries [from_i, i) whose records are
 * [lo, hi) (segment-relative), and add it to seg's damaged ranges. */
static int vfy_run(struct tfs_part *p, struct tfs_seg *seg, uint64_t from_i,
		   uint64_t i, const char *why, uint64_t lo, uint64_t hi)
{
	char ents[64] = "no entry";

	if (i > from_i)
		seg_ents_str(ents, sizeof(ents), from_i, i);
	if (lo == hi) {
		store_log(p->st, LOG_ERR,
			  "%s/%020llu%s: %s: %s: they cover no bytes (the "
			  "next entry follows)",
			  p->name, (unsigned long long)seg->base,
			  FMT_IDX_SUFFIX, ents, why);
		return 0;
	}
	store_log(p->st, LOG_ERR,
		  "%s/%020llu%s: %s: %s: offsets %llu..%llu read as EIO",
		  p->name, (unsigned long long)seg->base, FMT_IDX_SUFFIX,
		  ents, why,
		  (unsigned long long)(seg->base + lo),
		  (unsigned long long)(seg->base + hi));
	return vfy_add(seg, lo, hi);
}

/*
 * Walk the index entries of [0, check_size) in ifd and check every
 * record's data; damaged ranges go to seg.  An entry that fails its CRC or
 * does not follow the one before starts a damaged run: entries are skipped
 * until one decodes, starts past the run's start, lies inside the range
 * and matches its data, and the walk resumes there (the run's records read
 * as EIO).  -ENOMEM.
 */
static int vfy_walk(struct tfs_part *p, struct tfs_seg *seg, int ifd,
		    struct vfy_data *d)
{
	unsigned char raw[VFY_BATCH * FMT_ENT_SIZE];
	uint64_t pos = 0, limit = seg->check_size, i = 0, nbad = 0;
	uint64_t have = 0, run_i = 0; /* entries in raw from i - i%BATCH */
	const char *run = NULL;	      /* why the current run began */
	struct seg_entry e;

	while (pos < limit) {
		size_t k = i % VFY_BATCH;
		uint32_t crc;
		const char *why = NULL;
		int err, bad;

		if (k == 0) {
			ssize_t r = pread(ifd, raw, sizeof(raw),
					  (off_t)(FMT_HDR_SIZE +
						  FMT_ENT_SIZE * i));

			have = r > 0 ? (uint64_t)r / FMT_ENT_SIZE : 0;
		}
		if (k >= have)
			break; /* the index ends before the data */
		bad = seg_ent_decode(raw + FMT_ENT_SIZE * k, &e);
		if (bad)
			why = "an index entry fails its CRC";
		else if (e.off != seg->base + pos || e.len > limit - pos)
			why = "an index entry points elsewhere";
		if (!why && run) { /* the run covered no bytes */
			vfy_run(p, seg, run_i, i, run, pos, pos);
			run = NULL;
		}
		/* an entry further on whose data matches: resume there */
		if (why && !bad && e.off > seg->base + pos &&
		    e.off - seg->base < limit &&
		    e.len <= limit - (e.off - seg->base) &&
		    !vfy_crc(d, e.off - seg->base, e.len, &crc) &&
		    crc == e.dcrc) {
			if (vfy_run(p, seg, run ? run_i : i, i,
				    run ? run : "no index entry covers them",
				    pos, e.off - seg->base))
				return -ENOMEM;
			pos = e.off - seg->base;
			run = NULL;
			why = NULL;
		}
		if (why) {
			if (!run) {
				run = why;
				run_i = i;
			}
			i++;
			continue;
		}
		err = vfy_crc(d, pos, e.len, &crc);
		if (err || crc != e.dcrc) {
			if (nbad++ < VFY_LOG_MAX)
				store_log(p->st, LOG_ERR,
					  "%s/%020llu%s: record at offset %llu "
					  "(%u bytes, file position %llu): %s: "
					  "it reads as EIO",
					  p->name,
					  (unsigned long long)seg->base,
					  FMT_LOG_SUFFIX,
					  (unsigned long long)e.off, e.len,
					  (unsigned long long)pos,
					  err ? "the file ends before it"
					      : "data CRC mismatch");
			if (vfy_add(seg, pos, pos + e.len))
				return -ENOMEM;
		}
		pos += e.len;
		i++;
	}
	if (pos < limit &&
	    vfy_run(p, seg, run ? run_i : i, i,
		    run ? run : "the index ends before the data", pos, limit))
		return -ENOMEM;
	if (nbad > VFY_LOG_MAX)
		store_log(p->st, LOG_ERR,
			  "%s/%020llu%s: %llu damaged records in all", p->name,
			  (unsigned long long)seg->base, FMT_LOG_SUFFIX,
			  (unsigned long long)nbad);
	return 0;
}

void vfy_segment(struct tfs_part *p, struct tfs_seg *seg, bool background)
{
	char name[FMT_SEG_NAME_LEN + 1];
	struct vfy_data d = { .fd = -1 };
	int ifd = -1;

	pthread_mutex_lock(&seg->vfy_lock);
	if (atomic_load(&seg->checked))
		goto out_unlock;
	/* under seg_lock: retention may have taken it since it was queued
	 * (its files are gone; an fd opened now would never be counted
	 * off), and cannot take it while the fd is opened */
	pthread_rwlock_rdlock(&p->seg_lock);
	if (seg->base < p->segs[0]->base) {
		pthread_rwlock_unlock(&p->seg_lock);
		goto out_unlock;
	}
	d.fd = seg_data_fd(p, seg);
	pthread_rwlock_unlock(&p->seg_lock);
	seg_name(name, sizeof(name), seg->base, FMT_IDX_SUFFIX);
	/* a deleted partition kept it open (part_unlink) */
	ifd = atomic_load(&seg->vfy_idx_fd);
	ifd = ifd >= 0 ? dup(ifd)
		       : openat(p->dir_fd, name,
				O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	d.buf = seg_buf_alloc(VFY_CHUNK);
	if (d.fd < 0 || ifd < 0 || !d.buf) {
		/* not damage we can name: try again at the next read, which
		 * says why (the checker may be looking at a partition being
		 * deleted) */
		if (!background)
			store_log(p->st, LOG_ERR,
				  "%s/%020llu: cannot check it: %s", p->name,
				  (unsigned long long)seg->base,
				  d.buf ? strerror(errno) : "out of memory");
		goto out_free;
	}
	if (vfy_walk(p, seg, ifd, &d) == 0)
		atomic_store_explicit(&seg->checked, true,
				      memory_order_release);
out_free:
	free(d.buf);
	if (ifd >= 0)
		close(ifd);
out_unlock:
	pthread_mutex_unlock(&seg->vfy_lock);
}

void vfy_ahead(struct tfs_part *p, size_t i)
{
	struct tfs_store *st = p->st;
	struct tfs_seg *seg;
	bool queued = false;

	if (i + 1 >= p->nsegs)
		return;
	seg = p->segs[i + 1];
	if (atomic_load_explicit(&seg->checked, memory_order_acquire) ||
	    atomic_exchange(&seg->vfy_queued, true))
		return;
	pthread_mutex_lock(&st->vfy_mu);
	if (st->checker_started && !st->vfy_stop &&
	    st->vfy_n < VFY_AHEAD_MAX) {
		seg_pin(seg);
		tfs_part_ref(p, 1);
		st->vfy_q[(st->vfy_head + st->vfy_n++) % VFY_AHEAD_MAX] =
			(struct vfy_job){ p, seg };
		pthread_cond_signal(&st->vfy_cond);
		queued = true;
	}
	pthread_mutex_unlock(&st->vfy_mu);
	if (!queued) /* the first read checks it; a later one may queue it */
		atomic_store(&seg->vfy_queued, false);
}

/* Take the next job, waiting for one; false when stopping. */
static bool vfy_next(struct tfs_store *st, struct vfy_job *job)
{
	bool ok;

	pthread_mutex_lock(&st->vfy_mu);
	while (!st->vfy_stop && !st->vfy_n)
		pthread_cond_wait(&st->vfy_cond, &st->vfy_mu);
	ok = !st->vfy_stop;
	if (ok) {
		*job = st->vfy_q[st->vfy_head];
		st->vfy_head = (st->vfy_head + 1) % VFY_AHEAD_MAX;
		st->vfy_n--;
	}
	pthread_mutex_unlock(&st->vfy_mu);
	return ok;
}

void *vfy_checker(void *arg)
{
	struct tfs_store *st = arg;
	struct vfy_job job;

	while (vfy_next(st, &job)) {
		vfy_segment(job.p, job.seg, true);
		seg_put(job.seg);
		tfs_part_put(job.p, 1);
	}
	return NULL;
}

void vfy_drain(struct tfs_store *st)
{
	while (st->vfy_n) {
		struct vfy_job *job = &st->vfy_q[st->vfy_head];

		st->vfy_head = (st->vfy_head + 1) % VFY_AHEAD_MAX;
		st->vfy_n--;
		seg_put(job->seg);
		tfs_part_put(job->p, 1);
	}
}

ssize_t vfy_clip(const struct tfs_seg *seg, uint64_t pos, size_t len)
{
	for (size_t i = 0; i < seg->nbad; i++) {
		const struct seg_bad *b = &seg->bad[i];

		if (pos >= b->lo && pos < b->hi)
			return -EIO;
		if (b->lo > pos && b->lo - pos < len)
			return (ssize_t)(b->lo - pos);
	}
	return (ssize_t)len;
}
