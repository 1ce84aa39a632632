/*
 * store/partition.c - one partition: its directory of segments, loading
 * and recovering it, appends (with roll), zero-copy read maps, sync, and
 * unlinking it while handles stay usable.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "internal.h"
#include "zseg.h"

#define PART_PREAD_EXTENTS 8 /* extents per read map in tfs_part_pread */
#define PART_CMP_CHUNK 8192  /* stored bytes compared per read (write_at) */


/* A growable array of segment bases found in a partition directory. */
struct part_bases {
	uint64_t *v; /* bases, malloc'ed */
	size_t n;    /* used */
	size_t cap;  /* allocated */
};

static int64_t part_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct tfs_seg *part_active(struct tfs_part *p)
{
	assert(p->nsegs > 0);
	return p->segs[p->nsegs - 1];
}

static struct tfs_part *part_alloc(struct tfs_topic *t, uint32_t num)
{
	struct tfs_part *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->st = t->st;
	p->topic = t;
	p->num = num;
	if (asprintf(&p->path, "%s/%u", t->path, num) < 0)
		p->path = NULL;
	if (asprintf(&p->name, "%s/%u", t->name, num) < 0)
		p->name = NULL;
	if (!p->path || !p->name) {
		free(p->path);
		free(p->name);
		free(p);
		return NULL;
	}
	atomic_init(&p->refs, 1);
	atomic_init(&p->end, 0);
	atomic_init(&p->records, 0);
	atomic_init(&p->unsynced, 0);
	atomic_init(&p->synced_ms, store_mono_ms());
	atomic_init(&p->mtime_ms, part_now_ms());
	pthread_mutex_init(&p->append_lock, NULL);
	pthread_mutex_init(&p->sync_lock, NULL);
	pthread_rwlock_init(&p->seg_lock, NULL);
	p->dir_fd = -1;
	return p;
}

void part_free(struct tfs_part *p)
{
	for (size_t i = 0; i < p->nsegs; i++)
		seg_put(p->segs[i]);
	free(p->segs);
	pthread_rwlock_destroy(&p->seg_lock);
	part_early_drop(p, "the partition was closed");
	pthread_mutex_destroy(&p->sync_lock);
	pthread_mutex_destroy(&p->append_lock);
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	free(p->path);
	free(p->name);
	free(p);
}

static int part_bases_add(struct part_bases *b, uint64_t base)
{
	uint64_t *v = store_grow(b->v, &b->cap, b->n, sizeof(*v));

	if (!v)
		return -ENOMEM;
	b->v = v;
	b->v[b->n++] = base;
	return 0;
}

static int part_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool part_name_has_suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), m = strlen(sfx);

	return n > m && !strcmp(name + n - m, sfx);
}

/* Sort one directory entry of a partition dir into logs or idxs; remove
 * *.tmp leftovers; warn about anything else. */
static int part_scan_entry(struct tfs_part *p, int dfd, const char *name,
			   struct part_bases *logs, struct part_bases *idxs,
			   struct part_bases *dels, struct part_bases *zsts)
{
	char seg[FMT_SEG_NAME_LEN + 1];
	size_t n = strlen(name), dl = strlen(FMT_DEL_SUFFIX);
	uint64_t base;
	bool is_log;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	/* segment files are regular files: not links (never followed),
	 * FIFOs or devices */
	if (!seg_parse_name(name, &base, &is_log))
		return store_want_kind(p->st, dfd, p->name, name, S_IFREG) ?:
			       part_bases_add(is_log ? logs : idxs, base);
	if (!seg_parse_zst(name, &base))
		return store_want_kind(p->st, dfd, p->name, name, S_IFREG) ?:
			       part_bases_add(zsts, base);
	/* a retention delete renames the .log (or .zst) first, then the
	 * rest: that one marks the delete, and goes last (part_finish_delete) */
	if (n == FMT_SEG_NAME_LEN + dl &&
	    part_name_has_suffix(name, FMT_DEL_SUFFIX)) {
		memcpy(seg, name, FMT_SEG_NAME_LEN);
		seg[FMT_SEG_NAME_LEN] = '\0';
		if (!seg_parse_name(seg, &base, &is_log) ||
		    !seg_parse_zst(seg, &base)) {
			if (!part_name_has_suffix(seg, FMT_IDX_SUFFIX))
				return part_bases_add(dels, base);
			return unlinkat(dfd, name, 0) ? -errno : 0;
		}
	}
	if (!strcmp(name, FMT_RP_FILE))
		return 0; /* read by part_load_rp */
	if (part_name_has_suffix(name, FMT_TMP_SUFFIX)) {
		store_log(p->st, LOG_NOTICE,
			  "recovery: %s/%s: removing a leftover temporary file",
			  p->name, name);
		if (unlinkat(dfd, name, 0))
			return -errno;
		return 0;
	}
	store_log(p->st, LOG_WARNING, "%s/%s: ignoring an unknown file",
		  p->name, name);
	return 0;
}

/* Drop base from b if it is there (order kept). */
static void part_bases_del(struct part_bases *b, uint64_t base)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i] != base)
			continue;
		memmove(b->v + i, b->v + i + 1, (b->n - i - 1) * sizeof(*b->v));
		b->n--;
		return;
	}
}

/* A crash interrupted the retention delete of segment base (its .log or
 * .zst was renamed to .deleted): remove what is left of it, the .deleted
 * marker last, so that a crash in between leaves the marker, never an
 * index whose data is gone.  -errno. */
static int part_finish_delete(struct tfs_part *p, uint64_t base,
			      struct part_bases *logs, struct part_bases *idxs)
{
	char name[FMT_SEG_NAME_LEN + 1], del[FMT_SEG_NAME_LEN + 16];

	store_log(p->st, LOG_NOTICE,
		  "recovery: %s/%020llu: finishing an interrupted retention "
		  "delete of this segment",
		  p->name, (unsigned long long)base);
	static const char *const exts[] = { FMT_LOG_SUFFIX, FMT_ZST_SUFFIX,
					    FMT_IDX_SUFFIX };

	part_bases_del(logs, base);
	part_bases_del(idxs, base);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		seg_name(name, sizeof(name), base, exts[i]);
		if (unlinkat(p->dir_fd, name, 0) && errno != ENOENT)
			return -errno;
	}
	for (size_t i = 0; i < 2; i++) { /* .log.deleted, .zst.deleted */
		seg_name(name, sizeof(name), base, exts[i]);
		snprintf(del, sizeof(del), "%s%s", name, FMT_DEL_SUFFIX);
		if (unlinkat(p->dir_fd, del, 0) && errno != ENOENT)
			return -errno;
	}
	return fsync(p->dir_fd) ? -errno : 0;
}

static bool part_bases_has(const struct part_bases *b, uint64_t base)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i] == base)
			return true;
	return false;
}

/* Compressed segments are segments too; one that still has its .log was
 * cut short by a crash before the .log went: the .log is the truth. */
static int part_scan_zsts(struct tfs_part *p, struct part_bases *logs,
			  struct part_bases *zsts)
{
	char name[FMT_SEG_NAME_LEN + 1];

	for (size_t i = 0; i < zsts->n;) {
		uint64_t base = zsts->v[i];
		int err;

		if (!part_bases_has(logs, base)) {
			err = part_bases_add(logs, base);
			if (err)
				return err;
			i++;
			continue;
		}
		store_log(p->st, LOG_NOTICE,
			  "recovery: %s/%020llu%s: removing a compressed copy "
			  "whose .log is still there (compression was "
			  "interrupted)",
			  p->name, (unsigned long long)base, FMT_ZST_SUFFIX);
		seg_name(name, sizeof(name), base, FMT_ZST_SUFFIX);
		if (unlinkat(p->dir_fd, name, 0))
			return -errno;
		part_bases_del(zsts, base);
	}
	return 0;
}

/* Collect the sorted bases of the segments (.log or .zst files) in
 * p->path; zsts gets the compressed ones. */
static int part_scan(struct tfs_part *p, struct part_bases *logs,
		     struct part_bases *zsts)
{
	struct part_bases idxs = { 0 }, dels = { 0 };
	struct dirent *de;
	DIR *d = opendir(p->path);
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (errno = 0, de = readdir(d)))
		err = part_scan_entry(p, dirfd(d), de->d_name, logs, &idxs,
				      &dels, zsts);
	if (!err && errno)
		err = -errno;
	closedir(d);
	for (size_t i = 0; !err && i < dels.n; i++) {
		part_bases_del(zsts, dels.v[i]);
		err = part_finish_delete(p, dels.v[i], logs, &idxs);
	}
	free(dels.v);
	if (!err)
		err = part_scan_zsts(p, logs, zsts);
	if (logs->n)
		qsort(logs->v, logs->n, sizeof(uint64_t), part_cmp_u64);
	for (size_t i = 0; !err && i < idxs.n; i++) {
		if (!logs->n || !bsearch(&idxs.v[i], logs->v, logs->n,
					 sizeof(uint64_t), part_cmp_u64))
			store_log(p->st, LOG_WARNING,
				  "%s/%020llu%s: ignoring an index without its "
				  ".log",
				  p->name, (unsigned long long)idxs.v[i],
				  FMT_IDX_SUFFIX);
	}
	free(idxs.v);
	return err;
}

/* Append seg to p->segs; the caller holds seg_lock for writing (or owns
 * p alone). */
static int part_push_seg(struct tfs_part *p, struct tfs_seg *seg)
{
	struct tfs_seg **v =
		store_grow(p->segs, &p->segs_cap, p->nsegs, sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->segs = v;
	if (p->nsegs) /* the active one is sealed now: its size is final */
		p->sealed_disk += seg_disk_bytes(p->segs[p->nsegs - 1]);
	p->segs[p->nsegs++] = seg;
	return 0;
}

/* A damaged stand-in for [base, base + size): its files are missing or
 * do not match its index; it reads as EIO. */
static int part_push_damaged(struct tfs_part *p, uint64_t base, uint64_t size,
			     const char *why)
{
	struct tfs_seg *seg = seg_alloc(base);
	int err;

	if (!seg)
		return -ENOMEM;
	atomic_store(&seg->size, size);
	atomic_store(&seg->synced, true);
	vfy_mark_all(p, seg, why);
	err = part_push_seg(p, seg);
	if (err)
		seg_put(seg);
	return err;
}

/* Segment i must start where segment i-1 ends; a gap (a segment's files
 * are gone) becomes a damaged stand-in, an overlap refuses the mount. */
static int part_check_gap(struct tfs_part *p, uint64_t base)
{
	struct tfs_seg *prev;
	uint64_t prev_end;

	if (!p->nsegs)
		return 0;
	prev = part_active(p);
	prev_end = prev->base + atomic_load(&prev->size);
	if (prev_end == base)
		return 0;
	if (prev_end < base)
		return part_push_damaged(p, prev_end, base - prev_end,
					 "no files for these offsets");
	store_log(p->st, LOG_ERR,
		  "%s/%020llu%s: segment starts at offset %llu but the "
		  "previous segment ends at offset %llu",
		  p->name, (unsigned long long)base, FMT_LOG_SUFFIX,
		  (unsigned long long)base, (unsigned long long)prev_end);
	return -EUCLEAN;
}

/* Create segment 0 of a partition that has none, and sync the dir. */
static int part_first_seg(struct tfs_part *p)
{
	struct tfs_seg *seg;
	int err = seg_create(p, 0, &seg);

	if (err)
		return err;
	err = part_push_seg(p, seg);
	if (err) {
		seg_put(seg);
		return err;
	}
	return store_fsync_path(p->path);
}

/* Unlink segments b->v[from..]: they follow a sealed segment that was
 * never synced and ends short of them after a power loss, so no fsync()
 * ever covered them and their offsets no longer line up.  The .idx goes
 * first: a crash in between leaves a .log, which the next recovery drops
 * the same way, never an index without its data. */
static int part_drop_from(struct tfs_part *p, const struct part_bases *b,
			  size_t from)
{
	char path[PATH_MAX];
	struct stat sb;

	for (size_t i = from; i < b->n; i++) {
		if (seg_path(path, sizeof(path), p->path, b->v[i],
			     FMT_IDX_SUFFIX))
			return -ENAMETOOLONG;
		unlink(path);
		if (seg_path(path, sizeof(path), p->path, b->v[i],
			     FMT_LOG_SUFFIX))
			return -ENAMETOOLONG;
		if (stat(path, &sb))
			sb.st_size = 0;
		store_log(p->st, LOG_ERR,
			  "recovery: %s/%020llu%s: dropped %lld bytes at "
			  "offsets %llu..%llu: the segment before it was never "
			  "synced and ends short of it",
			  p->name, (unsigned long long)b->v[i], FMT_LOG_SUFFIX,
			  (long long)sb.st_size, (unsigned long long)b->v[i],
			  (unsigned long long)(b->v[i] + (uint64_t)sb.st_size));
		unlink(path);
	}
	return fsync(p->dir_fd) ? -errno : 0;
}

/* Whether a segment after b->v[i] is marked synced; *which: its base. */
static bool part_synced_after(struct tfs_part *p, const struct part_bases *b,
			      size_t i, uint64_t *which)
{
	uint32_t flags;

	for (size_t j = i + 1; j < b->n; j++)
		if (seg_read_flags(p, b->v[j], &flags) == 0 &&
		    (flags & FMT_HDR_F_SYNCED)) {
			*which = b->v[j];
			return true;
		}
	return false;
}

/* Whether the unsynced sealed segment b->v[i] (seg) ends short of the
 * next one after recovery, with nothing after it ever synced: a power loss
 * before the syncer reached it (recovery cut its torn tail, or its sizes
 * never reached the disk), so the segments after it follow offsets that no
 * longer exist, and no sync ever covered them (every sync makes sealed
 * segments durable oldest first).  Keeping them would leave a hole that
 * reads as EIO in the middle of the log.  One that reaches past the next
 * base is an overlap: damage the next segment's check reports, never a
 * reason to delete anything. */
static bool part_ends_short(struct tfs_part *p, struct tfs_seg *seg,
			    const struct part_bases *b, size_t i)
{
	uint64_t later;

	if (seg->base + atomic_load(&seg->size) >= b->v[i + 1])
		return false;
	if (part_synced_after(p, b, i, &later)) {
		store_log(p->st, LOG_ERR,
			  "recovery: %s/%020llu%s: it ends short of the next segment, but a later segment (%020llu) is marked synced: keeping the later ones",
			  p->name, (unsigned long long)seg->base, FMT_LOG_SUFFIX,
			  (unsigned long long)later);
		return false;
	}
	return true;
}

/* Create an empty active segment at base after the loaded ones. */
static int part_new_active(struct tfs_part *p, uint64_t base)
{
	struct tfs_seg *seg;
	int err = seg_create(p, base, &seg);

	if (!err) {
		err = part_push_seg(p, seg);
		if (err)
			seg_put(seg);
	}
	if (!err)
		err = fsync(p->dir_fd) ? -errno : 0;
	return err;
}

/* Open segment b->v[i]: the active one, and a sealed one whose intact
 * header says it was never synced, get tail recovery.  So does a sealed
 * one whose index header never reached the disk (seg_hdr_torn: short or
 * all zeros) when no later segment is marked synced: a power loss before
 * it was ever synced, since a synced one's header is on the disk and every
 * sync makes sealed segments durable oldest first.  Any other sealed one
 * gets the cheap check, which reports damage (a missing index, or a
 * header with wrong bytes). */
static int part_open_seg(struct tfs_part *p, const struct part_bases *b,
			 size_t i, bool zst, struct tfs_seg **seg)
{
	uint64_t base = b->v[i], later;
	uint32_t flags = 0;
	int err;

	if (zst) /* only synced segments are ever compressed */
		return seg_open_zst(p, base, seg);
	if (i + 1 == b->n)
		return seg_open_active(p, base, true, seg);
	err = seg_read_flags(p, base, &flags);
	if (!err && !(flags & FMT_HDR_F_SYNCED))
		return seg_open_active(p, base, false, seg);
	if (err == -ENODATA && !part_synced_after(p, b, i, &later)) {
		store_log(p->st, LOG_WARNING,
			  "recovery: %s/%020llu%s: sealed segment with a torn "
			  "index header and no synced segment after it: it was "
			  "never synced, recovering its tail",
			  p->name, (unsigned long long)base, FMT_IDX_SUFFIX);
		return seg_open_active(p, base, false, seg);
	}
	return seg_open_sealed(p, base, seg);
}

/* Open the sealed segments with their checks, then the active one with
 * its recovery; set end, records and mtime. */
static int part_open_segs(struct tfs_part *p, const struct part_bases *b,
			  const struct part_bases *zsts)
{
	struct tfs_seg *seg;
	struct stat sb;
	uint64_t records = 0;
	int err;

	for (size_t i = 0; i < b->n; i++) {
		bool last = i + 1 == b->n;

		bool zst = part_bases_has(zsts, b->v[i]);

		err = part_check_gap(p, b->v[i]);
		if (err) /* an overlap: no consistent numbering */
			return err;
		err = part_open_seg(p, b, i, zst, &seg);
		if (err == -EUCLEAN && !last) {
			/* a sealed segment's damage is its own: the rest of
			 * the partition stays readable */
			err = part_push_damaged(p, b->v[i],
						b->v[i + 1] - b->v[i],
						"see the message before");
			continue;
		}
		if (err)
			return err;
		err = part_push_seg(p, seg);
		if (err) {
			seg_put(seg);
			return err;
		}
		records += atomic_load(&seg->entries);
		if (seg->base + atomic_load(&seg->size) > (uint64_t)INT64_MAX) {
			uint64_t end = seg->base + atomic_load(&seg->size);

			store_log(p->st, LOG_ERR,
				  "%s/%020llu: segment ends at offset %llu, "
				  "past the largest file offset (2^63-1)",
				  p->name, (unsigned long long)seg->base,
				  (unsigned long long)end);
			return -EUCLEAN;
		}
		if (last && zst) /* the cleaner never compresses the active
				    one; start a new one after it */
			err = part_new_active(p,
					      seg->base + atomic_load(&seg->size));
		if (err)
			return err;
		if (last || atomic_load(&seg->synced))
			continue;
		/* sealed, never marked synced: whole, or the new end */
		if (part_ends_short(p, seg, b, i)) {
			err = part_drop_from(p, b, i + 1);
			if (err)
				return err;
			break;
		}
		/* whole (a gap or an overlap after it is the next one's
		 * damage): make it durable now */
		err = seg_mark_synced(seg, p->dir_fd);
		if (err)
			return err;
		atomic_fetch_add(&p->sealed_fds, 1);
	}
	seg = part_active(p);
	atomic_store(&p->end, seg->base + atomic_load(&seg->size));
	atomic_store(&p->records, records);
	if (!fstat(atomic_load(&seg->fd), &sb))
		atomic_store(&p->mtime_ms,
			     (int64_t)sb.st_mtim.tv_sec * 1000 +
				     sb.st_mtim.tv_nsec / 1000000);
	return 0;
}

/* Read the recovery point; none (or a torn one) is 0: recovery then checks
 * every record of the segments it tail-recovers. */
static void part_load_rp(struct tfs_part *p)
{
	int err = rp_read(p->dir_fd, &p->rp);

	if (err)
		p->rp = 0;
	p->durable = p->rp;
	if (err && err != -ENOENT)
		store_log(p->st, LOG_WARNING,
			  "recovery: %s/%s: %s: checking every record of the "
			  "segments not marked synced",
			  p->name, FMT_RP_FILE,
			  err == -EBADMSG ? "torn or not a recovery point"
					  : strerror(-err));
}

/* A recovery point past the recovered end (the end went back: the .log
 * lost synced bytes) would let recovery skip the records that reuse those
 * offsets: set it to the end. */
static void part_fix_rp(struct tfs_part *p)
{
	if (p->rp <= atomic_load(&p->end))
		return;
	store_log(p->st, LOG_WARNING,
		  "recovery: %s/%s: recovery point %llu is past the end %llu: "
		  "set to the end",
		  p->name, FMT_RP_FILE, (unsigned long long)p->rp,
		  (unsigned long long)atomic_load(&p->end));
	/* the log lost synced bytes (nothing at or past the recovery point
	 * was cut: recovery cuts only there): what is left was synced, and
	 * damage recovery kept below it must stay kept at the next mount;
	 * appends at the lost offsets are past it, checked after a crash */
	p->rp = p->durable = atomic_load(&p->end);
	if (rp_write(p->dir_fd, p->rp))
		p->rp_failed = true;
}

/* Write the durable end as the recovery point if it moved.  Unsynced and
 * best effort: a lost or torn one only makes the next recovery check more
 * records.  append_lock held. */
static void part_write_rp(struct tfs_part *p)
{
	uint64_t off = p->durable;
	int err;

	if (off == p->rp || atomic_load(&p->deleted))
		return;
	err = rp_write(p->dir_fd, off);
	if (!err) {
		p->rp = off;
		p->rp_ms = store_mono_ms();
		return;
	}
	if (!p->rp_failed)
		store_log(p->st, LOG_WARNING,
			  "%s/%s: %s (the next recovery after a crash checks "
			  "more records)",
			  p->name, FMT_RP_FILE, strerror(-err));
	p->rp_failed = true;
}

/* A sync made everything below off durable.  The recovery point follows
 * at most every PART_RP_MS (each write dirties an inode: with
 * flush.messages=1 a write per append cost 10-15% of the appends), and at
 * the close (part_flush_rp).  append_lock held. */
static void part_note_rp(struct tfs_part *p, uint64_t off)
{
	p->durable = off;
	if (store_mono_ms() - p->rp_ms >= PART_RP_MS)
		part_write_rp(p);
}

void part_flush_rp(struct tfs_part *p)
{
	pthread_mutex_lock(&p->append_lock);
	part_write_rp(p);
	pthread_mutex_unlock(&p->append_lock);
}

int part_load(struct tfs_topic *t, uint32_t num, bool create,
	      struct tfs_part **out)
{
	struct part_bases logs = { 0 }, zsts = { 0 };
	struct tfs_part *p = part_alloc(t, num);
	int err;

	if (!p)
		return -ENOMEM;
	if (create && mkdir(p->path, 0755)) {
		err = -errno;
		goto out_free;
	}
	p->dir_fd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = p->dir_fd < 0 ? -errno : part_scan(p, &logs, &zsts);
	if (err)
		goto out_remove;
	if (!create)
		part_load_rp(p);
	if (logs.n) {
		err = part_open_segs(p, &logs, &zsts);
	} else {
		if (!create)
			store_log(t->st, LOG_NOTICE,
				  "recovery: %s: partition has no segments; "
				  "creating segment 0",
				  p->name);
		err = part_first_seg(p);
	}
	if (!err)
		part_fix_rp(p);
	if (!err && create)
		err = store_fsync_path(t->path);
	if (err)
		goto out_remove;
	free(logs.v);
	free(zsts.v);
	*out = p;
	return 0;

out_remove:
	if (create)
		part_remove_dir(t->st, p->path);
	free(logs.v);
	free(zsts.v);
out_free:
	part_free(p);
	return err;
}

int part_remove_dir(struct tfs_store *st, const char *path)
{
	int err = 0;

	/* the cleaner may unlink a segment (retention) or create one (a
	 * compression's .tmp) in it meanwhile: a name already gone is no
	 * error, and a directory not empty yet is scanned again */
	for (int round = 0; round < 5; round++) {
		struct dirent *de;
		DIR *d = opendir(path);

		if (!d)
			return errno == ENOENT ? 0 : -errno;
		err = 0;
		while ((errno = 0, de = readdir(d))) {
			if (strcmp(de->d_name, ".") &&
			    strcmp(de->d_name, "..") &&
			    unlinkat(dirfd(d), de->d_name, 0) &&
			    errno != ENOENT && !err)
				err = -errno;
		}
		if (!err && errno)
			err = -errno;
		closedir(d);
		if (!err && rmdir(path))
			err = -errno;
		if (err != -ENOTEMPTY && err != -EEXIST)
			break;
	}
	if (err)
		store_log(st, LOG_ERR, "removing %s: %s", path, strerror(-err));
	return err;
}

/* Open what a read of seg needs once its names are gone: the .log, and
 * the .idx too while the segment is not checked yet.  A damaged stand-in
 * has no files; a compressed one keeps its own. */
static int part_keep_files(struct tfs_part *p, struct tfs_seg *seg)
{
	char name[FMT_SEG_NAME_LEN + 1];
	int fd;

	if (seg->z) { /* the name goes: hold it open for reads */
		fd = seg_zst_fd(p, seg);
		return fd < 0 ? fd : 0;
	}
	if (atomic_load_explicit(&seg->checked, memory_order_acquire) &&
	    seg->nbad == 1 && seg->bad[0].lo == 0 &&
	    seg->bad[0].hi >= atomic_load(&seg->size))
		return 0; /* damaged whole: nothing in it can be read */
	/* its files were moved away (a damaged segment, see Damage): there
	 * is nothing to keep, and its reads fail already */
	seg_name(name, sizeof(name), seg->base, FMT_LOG_SUFFIX);
	if (atomic_load(&seg->fd) < 0 &&
	    faccessat(p->dir_fd, name, F_OK, 0) && errno == ENOENT)
		return 0;
	fd = seg_data_fd(p, seg);
	if (fd < 0)
		return fd;
	if (atomic_load_explicit(&seg->checked, memory_order_acquire) ||
	    seg->vfy_idx_fd >= 0)
		return 0;
	seg_name(name, sizeof(name), seg->base, FMT_IDX_SUFFIX);
	fd = openat(p->dir_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* moved away too */
	atomic_store(&seg->vfy_idx_fd, fd);
	return 0;
}

/* Most segments a delete keeps open for the handles still reading
 * (part_unlink): a quarter of the open-file limit. */
static size_t part_keep_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return 4096;
	return rl.rlim_cur / 4 > 64 ? (size_t)(rl.rlim_cur / 4) : 64;
}

int part_unlink(struct tfs_part *p)
{
	char *dead = NULL;
	int err = 0;

	pthread_mutex_lock(&p->append_lock);
	pthread_rwlock_wrlock(&p->seg_lock);
	/* open handles keep reading the unlinked files through these fds,
	 * the newest first; past a quarter of the open-file limit the
	 * delete goes on, and their reads of the older segments fail */
	for (size_t i = p->nsegs, kept = 0; i-- > 0 && !err; kept++) {
		err = kept < part_keep_max() ? part_keep_files(p, p->segs[i])
					     : -EMFILE;
		if (err == -EMFILE || err == -ENFILE) {
			store_log(p->st, LOG_WARNING,
				  "%s: deleting %zu segments, too many to keep "
				  "open: its open files can no longer read "
				  "below offset %llu",
				  p->name, p->nsegs,
				  (unsigned long long)(i + 1 < p->nsegs
							       ? p->segs[i + 1]
									 ->base
							       : atomic_load(
									 &p->end)));
			err = 0;
			break;
		}
	}
	if (!err && asprintf(&dead, "%s%s", p->path, FMT_DEL_SUFFIX) < 0)
		err = -ENOMEM;
	/* what an earlier delete of this number could not remove */
	if (!err && access(dead, F_OK) == 0)
		part_remove_dir(p->st, dead);
	if (!err && rename(p->path, dead))
		err = -errno;
	if (!err && (err = store_fsync_path(p->topic->path))) {
		/* not known to be durable: undo it, so that a failed delete
		 * leaves the partition as it was (appends roll into p->path),
		 * or, if the name cannot come back, finish it */
		if (!rename(dead, p->path)) {
			store_fsync_path(p->topic->path);
		} else {
			store_log(p->st, LOG_ERR,
				  "%s: delete: syncing the topic directory: "
				  "%s, and the partition cannot be renamed "
				  "back (%s): deleting it",
				  p->name, strerror(-err), strerror(errno));
			err = 0;
		}
	}
	if (!err) {
		p->deleted = true;
		/* a crash from here on is finished by the next open */
		part_remove_dir(p->st, dead);
		store_fsync_path(p->topic->path);
	}
	pthread_rwlock_unlock(&p->seg_lock);
	pthread_mutex_unlock(&p->append_lock);
	free(dead);
	return err;
}

uint64_t part_unsynced(struct tfs_part *p)
{
	return atomic_load(&p->unsynced);
}

/*
 * Seal the active segment and start a new one at end.  The old segment is
 * made durable in the background by the store's syncer (part_sync_sealed),
 * which then marks it FMT_HDR_F_SYNCED; until then recovery treats it like
 * an active segment.  Appends never wait for a disk flush here.
 */
static int part_roll(struct tfs_part *p, uint64_t end)
{
	struct tfs_seg *seg;
	int err;

	/* before the new segment exists: a crash never leaves a sealed
	 * segment with blocks past its end (recovery frees the active's) */
	seg_trim(p, part_active(p));
	err = seg_create(p, end, &seg);
	if (err)
		return err;
	pthread_rwlock_wrlock(&p->seg_lock);
	err = part_push_seg(p, seg);
	if (!err) {
		/* before the syncer can list it as sealed */
		struct tfs_seg *old = p->segs[p->nsegs - 2];

		atomic_store(&old->sealed_ms, store_mono_ms());
		seg_seal(old);
		atomic_fetch_add(&p->sealed_fds, 1);
	}
	pthread_rwlock_unlock(&p->seg_lock);
	if (err) {
		char path[PATH_MAX];

		if (!seg_path(path, sizeof(path), p->path, end, FMT_LOG_SUFFIX))
			unlink(path);
		if (!seg_path(path, sizeof(path), p->path, end, FMT_IDX_SUFFIX))
			unlink(path);
		seg_put(seg);
		return err;
	}
	atomic_store(&p->dir_unsynced, true);
	atomic_fetch_add(&p->sealed_pending, 1);
	return 0;
}

/* The sealed segments not yet synced, then the directory (a segment was
 * created); append_lock held. */
static int part_sync_behind(struct tfs_part *p)
{
	int err = part_sync_sealed(p, 0);

	if (!err && atomic_exchange(&p->dir_unsynced, false) &&
	    fsync(p->dir_fd)) {
		err = -errno;
		atomic_store(&p->dir_unsynced, true);
	}
	return err;
}

/* Count one append in second sec; append_lock held. */
static void part_rate_count(struct tfs_part *p, int64_t sec)
{
	/* a clock before 1970 gives a negative remainder */
	size_t i = (size_t)((sec % PART_RATE_SLOTS + PART_RATE_SLOTS) %
			    PART_RATE_SLOTS);

	if (atomic_load_explicit(&p->rate_sec[i], memory_order_relaxed) != sec) {
		atomic_store_explicit(&p->rate_n[i], 0, memory_order_relaxed);
		atomic_store_explicit(&p->rate_sec[i], sec,
				      memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&p->rate_n[i], 1, memory_order_relaxed);
}

double tfs_part_rate(struct tfs_part *p)
{
	int64_t now = part_now_ms() / 1000;
	uint64_t n = 0;

	for (size_t i = 0; i < PART_RATE_SLOTS; i++) {
		int64_t sec = atomic_load_explicit(&p->rate_sec[i],
						   memory_order_relaxed);

		if (sec > now - PART_RATE_SLOTS && sec <= now)
			n += atomic_load_explicit(&p->rate_n[i],
						  memory_order_relaxed);
	}
	return (double)n / PART_RATE_SLOTS;
}

/* The append proper, under append_lock, at the current end: roll, record
 * and index entry, flush policy, then publish the end and wake write_at
 * waiters.  Both tfs_part_append and tfs_part_write_at come here. */
static int part_append_locked(struct tfs_part *p, const void *buf, size_t len,
			      uint64_t end)
{
	uint64_t limit = (uint64_t)topic_cfg(p->topic, TFS_CFG_SEGMENT_BYTES);
	uint64_t flush = (uint64_t)topic_cfg(p->topic, TFS_CFG_FLUSH_MESSAGES);
	int64_t age = topic_cfg(p->topic, TFS_CFG_SEGMENT_MS);
	uint64_t unsynced = atomic_load(&p->unsynced);
	struct tfs_seg *seg = part_active(p);
	uint64_t size = atomic_load_explicit(&seg->size, memory_order_relaxed);
	int64_t now = part_now_ms();
	bool sync;
	int err;

	if (end > (uint64_t)INT64_MAX - len) /* offsets are off_t */
		return -EFBIG;
	/* a deleted partition's directory is gone: it grows in place; the
	 * first record's time comes from the index and may be anything, so
	 * no now - first_ms (age >= 0, now >= 0: now - age cannot overflow) */
	if (size > 0 && !p->deleted &&
	    (size + len > limit ||
	     (now >= 0 && atomic_load(&seg->first_ms) <= now - age))) {
		err = part_roll(p, end);
		if (err)
			return err;
		seg = part_active(p);
	}
	sync = flush && unsynced + 1 >= flush;
	/* flush.messages syncs as fsync() does: what came before first */
	err = sync ? part_sync_behind(p) : 0;
	if (!err)
		err = seg_append(p, seg, buf, len, now, sync);
	if (err)
		return err;
	if (sync)
		part_note_rp(p, end + len);
	atomic_store_explicit(&p->end, end + len, memory_order_release);
	atomic_fetch_add(&p->records, 1);
	part_rate_count(p, now / 1000);
	atomic_store(&p->mtime_ms, now);
	atomic_store(&p->unsynced, sync ? 0 : unsynced + 1);
	return 0;
}

bool tfs_part_may_sync(struct tfs_part *p)
{
	return topic_cfg(p->topic, TFS_CFG_FLUSH_MESSAGES) > 0;
}

ssize_t tfs_part_append(struct tfs_part *p, const void *buf, size_t len,
			uint64_t expect, uint64_t *off)
{
	uint64_t end;
	int err = 0;

	if (len > (uint64_t)topic_cfg(p->topic, TFS_CFG_MAX_MESSAGE_BYTES))
		return -EMSGSIZE;
	pthread_mutex_lock(&p->append_lock);
	end = atomic_load_explicit(&p->end, memory_order_relaxed);
	if (expect != TFS_OFFSET_ANY && expect != end)
		err = -ESPIPE;
	else if (len)
		err = part_append_locked(p, buf, len, end);
	pthread_mutex_unlock(&p->append_lock);
	if (err) {
		if (err != -ESPIPE)
			store_log(p->st, LOG_ERR,
				  "%s: append at offset %llu: %s", p->name,
				  (unsigned long long)end, tfs_strerror(err));
		return err;
	}
	if (off)
		*off = end;
	return (ssize_t)len;
}

/* Refusal of tfs_part_write_at's helpers, beside 0 and -errno. */
enum { PART_WA_DIFFERS = 1 };

/*
 * Most bytes held for out-of-order stream writes.  The kernel writes a
 * FUSE file back far out of order when its dirty pages are not held to
 * the bdi's strict limit (/sys/class/bdi/0:N/strict_limit 0): 1 MiB
 * writes of 512 MiB held up to 228 MiB behind one gap before it filled,
 * and with a 64 MiB limit refused writes cut gaps that never filled.
 * Holding costs memory only while a gap lasts; refusing loses data.  A
 * hold past PART_EARLY_WARN is logged.
 */
#define PART_EARLY_MAX (1024ull << 20)
#define PART_EARLY_WARN (64ull << 20)

/* Compare buf with the stored bytes at [off, off+len), all below the end;
 * append_lock held (readers take only seg_lock).  @return 0 equal;
 * PART_WA_DIFFERS and *at the first differing offset; -EIO the read
 * failed. */
static int part_cmp_stored(struct tfs_part *p, const unsigned char *buf,
			   size_t len, uint64_t off, uint64_t *at)
{
	unsigned char got[PART_CMP_CHUNK];

	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(got) ? len - done : sizeof(got);
		ssize_t r = tfs_part_pread(p, got, n, off + done);

		if (r != (ssize_t)n)
			return -EIO;
		for (size_t i = 0; i < n; i++) {
			if (got[i] != buf[done + i]) {
				*at = off + done + i;
				return PART_WA_DIFFERS;
			}
		}
		done += n;
	}
	return 0;
}

/* Store [off, off+len) with off <= end: compare the part below the end,
 * append the rest.  append_lock held.  @return 0; PART_WA_DIFFERS with *at
 * the first differing offset (the rest is appended all the same); -errno. */
static int part_write_here(struct tfs_part *p, const unsigned char *buf,
			   size_t len, uint64_t off, uint64_t *at)
{
	uint64_t end = atomic_load_explicit(&p->end, memory_order_relaxed);
	uint64_t start = p->segs[0]->base; /* append_lock: segs[0] stays */
	size_t same = end - off < len ? (size_t)(end - off) : len;
	size_t gone = 0;
	int err, aerr;

	/* the kernel writes whole pages back, and retention's start need
	 * not be on a page: bytes below it are gone, nothing to compare */
	if (off < start)
		gone = start - off < same ? (size_t)(start - off) : same;
	err = part_cmp_stored(p, buf + gone, same - gone, off + gone, at);
	if (err < 0 || same == len)
		return err;
	/* Past the end the bytes are the kernel's already: it took them
	 * into its cache and its size.  Store them even when the part below
	 * the end differs (an overwrite, refused; the caller reports it):
	 * refusing them too would leave the kernel's size past the end, and
	 * every later append behind a gap the kernel fills with zeros. */
	aerr = part_append_locked(p, buf + same, len - same, end);
	return aerr ? aerr : err;
}

static void part_write_at_log(struct tfs_part *p, int err, uint64_t off,
			      size_t len, uint64_t at)
{
	if (err == PART_WA_DIFFERS) {
		atomic_fetch_add(&p->refused, 1); /* tfs_part_refused */
		if (p->st->opts.refused)
			p->st->opts.refused(p, off, len);
	}
	if (err == PART_WA_DIFFERS)
		store_log(p->st, LOG_ERR,
			  "%s: stream write at offset %llu..%llu differs from stored bytes at %llu: refused (partitions are append-only; what it has past the end is stored)",
			  p->name, (unsigned long long)off,
			  (unsigned long long)(off + len),
			  (unsigned long long)at);
	else if (err)
		store_log(p->st, LOG_ERR,
			  "%s: stream write at offset %llu..%llu: %s", p->name,
			  (unsigned long long)off,
			  (unsigned long long)(off + len), tfs_strerror(err));
}

/* The buffer size a hold of len bytes takes: a cached PART_HOLD_BUF for
 * large ones, exactly len for the rest (a page written back alone must
 * not pin a megabyte). */
static size_t part_hold_cap(size_t len)
{
	return len > PART_HOLD_BUF / 4 && len <= PART_HOLD_BUF ? PART_HOLD_BUF
							       : len;
}

/* A hold buffer for len bytes (part_hold_cap); NULL when out of memory. */
static struct part_early *part_hold_get(struct tfs_store *st, size_t len)
{
	size_t cap = part_hold_cap(len);
	struct part_early *e = NULL;

	if (cap == PART_HOLD_BUF) {
		pthread_mutex_lock(&st->hold_mu);
		if ((e = st->hold_cache)) {
			st->hold_cache = e->next;
			st->hold_cached--;
		}
		st->hold_taken = true;
		pthread_mutex_unlock(&st->hold_mu);
	}
	if (!e && (e = malloc(sizeof(*e) + cap)))
		e->cap = cap;
	return e;
}

/* Give back a hold buffer: to the cache while it has room. */
static void part_hold_put(struct tfs_store *st, struct part_early *e)
{
	if (e->cap == PART_HOLD_BUF) {
		pthread_mutex_lock(&st->hold_mu);
		if (st->hold_cached < PART_HOLD_CACHE) {
			e->next = st->hold_cache;
			st->hold_cache = e;
			st->hold_cached++;
			e = NULL;
		}
		pthread_mutex_unlock(&st->hold_mu);
	}
	free(e);
}

void part_hold_trim(struct tfs_store *st, bool all)
{
	struct part_early *free_list = NULL;

	pthread_mutex_lock(&st->hold_mu);
	if (all || !st->hold_taken) {
		free_list = st->hold_cache;
		st->hold_cache = NULL;
		st->hold_cached = 0;
	}
	st->hold_taken = false;
	pthread_mutex_unlock(&st->hold_mu);
	while (free_list) {
		struct part_early *e = free_list;

		free_list = e->next;
		free(e);
	}
}

/* Hold a write that starts past the end; append_lock held.  -ENOMEM, or
 * -EIO when too much is held already (logged). */
static int part_early_hold(struct tfs_part *p, const void *buf, size_t len,
			   uint64_t off)
{
	size_t cap = part_hold_cap(len);
	struct part_early *e, **pp;

	if (p->early_bytes + cap > PART_EARLY_MAX) {
		store_log(p->st, LOG_ERR,
			  "%s: stream write at offset %llu..%llu: %llu bytes already wait for offset %llu: refused",
			  p->name, (unsigned long long)off,
			  (unsigned long long)(off + len),
			  (unsigned long long)p->early_bytes,
			  (unsigned long long)atomic_load(&p->end));
		return -EIO;
	}
	e = part_hold_get(p->st, len);
	if (!e)
		return -ENOMEM;
	if (p->early_bytes < PART_EARLY_WARN &&
	    p->early_bytes + cap >= PART_EARLY_WARN)
		store_log(p->st, LOG_WARNING,
			  "%s: %llu bytes of stream writes wait for offset %llu: the kernel writes back out of order",
			  p->name,
			  (unsigned long long)(p->early_bytes + cap),
			  (unsigned long long)atomic_load(&p->end));
	e->off = off;
	e->len = len;
	memcpy(e->data, buf, len);
	atomic_fetch_add_explicit(&p->st->held_writes, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->st->held_bytes, len, memory_order_relaxed);
	/* write-backs mostly come in ascending order: the tail first */
	if (p->early_tail && p->early_tail->off <= off) {
		pp = &p->early_tail->next;
	} else {
		for (pp = &p->early; *pp && (*pp)->off <= off;
		     pp = &(*pp)->next)
			;
	}
	e->next = *pp;
	*pp = e;
	if (!e->next)
		p->early_tail = e;
	p->early_bytes += e->cap;
	return 0;
}

static bool part_err_space(int err)
{
	return err == -ENOSPC || err == -EDQUOT;
}

static void part_stuck_log(struct tfs_part *p, uint64_t off, size_t len)
{
	store_log(p->st, LOG_WARNING,
		  "%s: no disk space for the stream write at offset %llu..%llu: "
		  "held in memory and retried every second (fsync() fails "
		  "until it is stored)",
		  p->name, (unsigned long long)off,
		  (unsigned long long)(off + len));
}

/* Store the held writes that the end has reached; append_lock held.  They
 * were acknowledged already: one that finds no disk space stays held (and
 * early_stuck set) for the syncer to retry; any other failure is logged,
 * counted as refused (the writers' close() fails) and the write dropped. */
static void part_early_drain(struct tfs_part *p)
{
	struct part_early *e;
	uint64_t at = 0;

	while ((e = p->early) &&
	       e->off <= atomic_load_explicit(&p->end, memory_order_relaxed)) {
		int err = part_write_here(p, e->data, e->len, e->off, &at);

		if (part_err_space(err)) { /* the next retry */
			if (!atomic_exchange(&p->early_stuck, true))
				part_stuck_log(p, e->off, e->len);
			return;
		}
		if (!err && atomic_exchange(&p->early_stuck, false))
			store_log(p->st, LOG_NOTICE,
				  "%s: the disk has space again: storing the "
				  "held stream writes from offset %llu",
				  p->name, (unsigned long long)e->off);
		part_write_at_log(p, err, e->off, e->len, at);
		if (err < 0) {
			/* lost: its writers hear of it at close(), as of a
			 * direct write-back that fails (tfs_part_write_at) */
			atomic_fetch_add(&p->refused, 1);
			if (p->st->opts.refused)
				p->st->opts.refused(p, e->off, e->len);
		}
		p->early = e->next;
		if (!p->early)
			p->early_tail = NULL;
		p->early_bytes -= e->cap;
		part_hold_put(p->st, e);
	}
}

void part_early_retry(struct tfs_part *p)
{
	uint64_t end;

	pthread_mutex_lock(&p->append_lock);
	end = atomic_load(&p->end);
	if (atomic_load(&p->early_stuck))
		part_early_drain(p);
	pthread_mutex_unlock(&p->append_lock);
	if (atomic_load(&p->end) != end && p->st->opts.grew)
		p->st->opts.grew(p);
}

void part_early_drop(struct tfs_part *p, const char *why)
{
	while (p->early) {
		struct part_early *e = p->early;

		store_log(p->st, LOG_ERR,
			  "%s: dropped %zu bytes of a stream write at offset %llu..%llu: the bytes before them never arrived (%s)",
			  p->name, e->len, (unsigned long long)e->off,
			  (unsigned long long)(e->off + e->len), why);
		p->early = e->next;
		part_hold_put(p->st, e);
	}
	p->early_tail = NULL;
	p->early_bytes = 0;
	atomic_store(&p->early_stuck, false);
}

uint64_t tfs_part_refused(struct tfs_part *p)
{
	return atomic_load(&p->refused);
}

uint64_t tfs_part_held_end(struct tfs_part *p)
{
	uint64_t end;

	pthread_mutex_lock(&p->append_lock);
	end = atomic_load_explicit(&p->end, memory_order_relaxed);
	for (struct part_early *e = p->early; e; e = e->next)
		if (e->off + e->len > end)
			end = e->off + e->len;
	pthread_mutex_unlock(&p->append_lock);
	return end;
}

/* Most zeros tfs_part_fill_holes stores for one hole. */
#define PART_HOLE_MAX (64ull << 20)

int tfs_part_fill_holes(struct tfs_part *p)
{
	static const unsigned char zeros[64 * 1024];
	uint64_t end, filled = 0, at = 0;
	int err = 0;

	pthread_mutex_lock(&p->append_lock);
	while (!err && p->early && !atomic_load(&p->early_stuck) &&
	       p->early->off > (end = atomic_load(&p->end))) {
		uint64_t hole = p->early->off - end;

		if (hole > PART_HOLE_MAX) {
			store_log(p->st, LOG_ERR,
				  "%s: a stream write at offset %llu waits "
				  "for a hole of %llu bytes at %llu that the "
				  "kernel never writes back (a pwrite() past "
				  "the end): too large to fill with zeros; "
				  "it stays held",
				  p->name, (unsigned long long)p->early->off,
				  (unsigned long long)hole,
				  (unsigned long long)end);
			err = -EIO;
			break;
		}
		if (!filled)
			at = end;
		while (!err && hole) {
			size_t n = hole < sizeof(zeros) ? (size_t)hole
						       : sizeof(zeros);

			err = part_append_locked(p, zeros, n, end);
			hole -= err ? 0 : n;
			end += err ? 0 : n;
			filled += err ? 0 : n;
		}
		if (!err)
			part_early_drain(p);
	}
	pthread_mutex_unlock(&p->append_lock);
	if (filled)
		store_log(p->st, LOG_NOTICE,
			  "%s: stored %llu zero bytes from offset %llu for a "
			  "hole the kernel does not write back (a pwrite() "
			  "past the end)",
			  p->name, (unsigned long long)filled,
			  (unsigned long long)at);
	if (filled && p->st->opts.grew)
		p->st->opts.grew(p);
	return err;
}

bool tfs_part_held(struct tfs_part *p)
{
	bool held;

	pthread_mutex_lock(&p->append_lock);
	held = p->early != NULL;
	pthread_mutex_unlock(&p->append_lock);
	return held;
}

ssize_t tfs_part_pread_held(struct tfs_part *p, void *buf, size_t len,
			    uint64_t off)
{
	unsigned char *dst = buf;
	size_t got = 0; /* bytes of buf filled, held or zeros */

	pthread_mutex_lock(&p->append_lock);
	if (off < atomic_load_explicit(&p->end, memory_order_relaxed)) {
		pthread_mutex_unlock(&p->append_lock);
		return -EAGAIN; /* stored meanwhile: read the store */
	}
	/* A READ covers only pages the kernel does not have, so a gap
	 * between held ranges inside it is a hole (a pwrite() past the
	 * end): zeros, as the kernel sees it.  Stopping there made the
	 * kernel zero-fill the held pages after it too. */
	for (struct part_early *e = p->early; e; e = e->next) {
		uint64_t lo = e->off > off ? e->off : off;
		uint64_t hi = e->off + e->len;

		if (e->off >= off + len)
			break;
		if (hi <= off)
			continue;
		if (hi > off + len)
			hi = off + len;
		if (lo - off > got)
			memset(dst + got, 0, (size_t)(lo - off) - got);
		memcpy(dst + (lo - off), e->data + (lo - e->off),
		       (size_t)(hi - lo));
		if (hi - off > got)
			got = (size_t)(hi - off);
	}
	pthread_mutex_unlock(&p->append_lock);
	return (ssize_t)got;
}

uint64_t tfs_part_start(struct tfs_part *p)
{
	uint64_t start;

	pthread_rwlock_rdlock(&p->seg_lock);
	start = p->segs[0]->base;
	pthread_rwlock_unlock(&p->seg_lock);
	return start;
}

void tfs_store_held(struct tfs_store *st, struct tfs_held_stats *out)
{
	out->held_writes = atomic_load(&st->held_writes);
	out->held_bytes = atomic_load(&st->held_bytes);
}

ssize_t tfs_part_write_at(struct tfs_part *p, const void *buf, size_t len,
			  uint64_t off)
{
	uint64_t at = 0, end;
	int err;

	if (len > TFS_MAX_RECORD_BYTES)
		return -EMSGSIZE;
	if (off > UINT64_MAX - len)
		return -EINVAL;
	if (!len)
		return 0;
	pthread_mutex_lock(&p->append_lock);
	if (off > (end = atomic_load_explicit(&p->end,
					      memory_order_relaxed))) {
		err = part_early_hold(p, buf, len, off);
	} else {
		err = part_write_here(p, buf, len, off, &at);
		/* the kernel has taken these bytes already: without space,
		 * hold them and retry (part_early_retry), rather than lose
		 * them and leave every later write-back waiting for them */
		if (part_err_space(err) && !part_early_hold(p, buf, len, off)) {
			if (!atomic_exchange(&p->early_stuck, true))
				part_stuck_log(p, off, len);
			err = 0;
		} else {
			part_write_at_log(p, err, off, len, at);
			if (err == 0 || err == PART_WA_DIFFERS)
				part_early_drain(p);
		}
	}
	if (err < 0) {
		/* lost (too much held, no memory, a failed read): the
		 * writers hear of it at close(), like a refusal */
		atomic_fetch_add(&p->refused, 1);
		if (p->st->opts.refused)
			p->st->opts.refused(p, off, len);
	}
	pthread_mutex_unlock(&p->append_lock);
	if (err > 0)
		return -EIO;
	return err ? err : (ssize_t)len;
}

/* Index of the segment holding off (the last with base <= off); the
 * caller holds seg_lock and has checked off >= segs[0]->base. */
static size_t part_find_seg(struct tfs_part *p, uint64_t off)
{
	size_t lo = 0, hi = p->nsegs;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->segs[mid]->base <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* cachestat(2), Linux 6.5: how much of a file range is in the page
 * cache.  glibc has no wrapper, and older kernel headers no number (424
 * on are the same on every architecture). */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct part_cachestat_range {
	uint64_t off, len;
};
struct part_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
		nr_recently_evicted;
};

bool tfs_part_read_cached(struct tfs_part *p, uint64_t off, size_t len)
{
	static _Atomic bool nosys; /* the kernel has no cachestat */
	uint64_t end = tfs_part_end(p), ps = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned segs = 0;
	bool ok = true;

	if (atomic_load_explicit(&nosys, memory_order_relaxed))
		return false;
	if (off >= end || !len)
		return true; /* the end: nothing to read */
	if (len > end - off)
		len = (size_t)(end - off);
	pthread_rwlock_rdlock(&p->seg_lock);
	if (!p->nsegs || off < p->segs[0]->base)
		goto out; /* below the start: an error, at once */
	for (size_t i = part_find_seg(p, off); ok && len && i < p->nsegs;
	     i++) {
		struct tfs_seg *seg = p->segs[i];
		uint64_t seg_end = seg->base + atomic_load_explicit(
						       &seg->size,
						       memory_order_acquire);
		struct part_cachestat_range r;
		struct part_cachestat cs;
		uint64_t take;
		int fd;

		if (off >= seg_end)
			continue;
		take = seg_end - off < len ? seg_end - off : len;
		/* seg_lock shared: a sealed segment's fd stays open */
		fd = atomic_load(&seg->fd);
		if (++segs > 2 || fd < 0 || seg->z ||
		    !atomic_load_explicit(&seg->checked,
					  memory_order_acquire) ||
		    seg->nbad) {
			ok = false; /* to be checked, opened, decompressed */
			break;
		}
		r = (struct part_cachestat_range){ off - seg->base, take };
		if (syscall(__NR_cachestat, fd, &r, &cs, 0)) {
			if (errno == ENOSYS)
				atomic_store(&nosys, true);
			ok = false;
			break;
		}
		if (cs.nr_cache < (r.off + take - 1) / ps - r.off / ps + 1)
			ok = false;
		off += take;
		len -= (size_t)take;
	}
out:
	pthread_rwlock_unlock(&p->seg_lock);
	return ok;
}

/* Fill extents from segment i on; seg_lock held shared.  Extents of
 * compressed segments get fd -1 and no mem yet (part_map_fill). */
static ssize_t part_map_locked(struct tfs_part *p, uint64_t off, size_t len,
			       struct tfs_extent *ext, size_t max, size_t *n)
{
	size_t got = 0;
	bool mem = false;

	for (size_t i = part_find_seg(p, off);
	     got < len && *n < max && i < p->nsegs; i++) {
		struct tfs_seg *seg = p->segs[i];
		uint64_t seg_end =
			seg->base +
			atomic_load_explicit(&seg->size, memory_order_acquire);
		size_t take;
		int fd;

		ssize_t clip;

		if (off >= seg_end)
			continue;
		if (!atomic_load_explicit(&seg->checked, memory_order_acquire))
			break; /* checked at the next read (tfs_part_read_map) */
		take = seg_end - off < len - got ? (size_t)(seg_end - off)
						 : len - got;
		clip = seg->nbad ? vfy_clip(seg, off - seg->base, take)
				 : (ssize_t)take;
		if (clip < 0 && !got) {
			tfs_part_read_unmap(ext, *n);
			*n = 0;
			return clip;
		}
		if (clip <= 0)
			break; /* a short read; the next one reports it */
		take = (size_t)clip;
		if (seg->z) {
			if (mem)
				break; /* one decompressed extent per call */
			if (take > TFS_MAP_MEM_MAX)
				take = TFS_MAP_MEM_MAX;
			/* opened here, under seg_lock: part_close_idle_fds
			 * closes only unpinned ones, with seg_lock exclusive */
			fd = seg_zst_fd(p, seg);
			if (fd < 0 && got)
				break; /* a short read; the next one reports */
			if (fd < 0) {
				tfs_part_read_unmap(ext, *n);
				*n = 0;
				return fd;
			}
			mem = true;
			seg_pin(seg);
			ext[(*n)++] = (struct tfs_extent){ .fd = -1,
							   .pos = off - seg->base,
							   .len = take,
							   .seg = seg };
			got += take;
			off += take;
			if (off < seg_end)
				break; /* clipped to TFS_MAP_MEM_MAX: the rest
					  of it is the next call's */
			continue;
		}
		fd = seg_data_fd(p, seg);
		if (fd < 0) {
			tfs_part_read_unmap(ext, *n);
			*n = 0;
			return fd;
		}
		seg_pin(seg);
		ext[*n] = (struct tfs_extent){ .fd = fd,
					       .pos = off - seg->base,
					       .len = take,
					       .seg = seg };
		(*n)++;
		got += take;
		off += take;
		if (take < seg_end - (off - take) && got < len)
			break; /* clipped before a damaged range */
	}
	return (ssize_t)got;
}

/* Decompress the memory extents part_map_locked left empty; cut the map
 * short before a damaged frame.  @return bytes mapped, or -EIO/-ENOMEM
 * when the first extent cannot be filled. */
static ssize_t part_map_fill(struct tfs_part *p, struct tfs_extent *ext,
			     size_t *n, ssize_t got)
{
	for (size_t i = 0; i < *n; i++) {
		struct tfs_extent *e = &ext[i];
		uint64_t bad = 0;
		ssize_t r;

		if (e->fd >= 0)
			continue;
		e->mem = malloc(e->len);
		r = e->mem ? zseg_pread(e->seg->z, e->mem, e->len, e->pos,
					&bad)
			   : -ENOMEM;
		if (r == (ssize_t)e->len)
			continue;
		if (r < 0 && r != -ENOMEM && zseg_report_once(e->seg->z, bad))
			store_log(p->st, LOG_ERR,
				  "%s/%020llu%s: damaged compressed frame at "
				  "byte %llu of the segment (partition offset "
				  "%llu): reads there fail with EIO",
				  p->name, (unsigned long long)e->seg->base,
				  FMT_ZST_SUFFIX, (unsigned long long)bad,
				  (unsigned long long)(e->seg->base + bad));
		/* keep what came before; the next read reports the rest */
		got = 0;
		for (size_t j = 0; j < i; j++)
			got += (ssize_t)ext[j].len;
		if (r > 0) {
			e->len = (size_t)r;
			got += r;
			i++;
		}
		tfs_part_read_unmap(ext + i, *n - i);
		*n = i;
		if (!got)
			return r < 0 ? (r == -ENOMEM ? r : -EIO) : 0;
		break;
	}
	return got;
}

ssize_t tfs_part_read_map(struct tfs_part *p, uint64_t off, size_t len,
			  struct tfs_extent *ext, size_t max, size_t *n)
{
	ssize_t ret = 0;
	uint64_t end;

	*n = 0;
again:
	pthread_rwlock_rdlock(&p->seg_lock);
	end = atomic_load_explicit(&p->end, memory_order_acquire);
	if (off >= p->segs[0]->base && off < end) {
		size_t i = part_find_seg(p, off);
		struct tfs_seg *seg = p->segs[i];

		vfy_ahead(p, i);
		if (!atomic_load_explicit(&seg->checked,
					  memory_order_acquire)) {
			/* first read of it: check its records, unlocked */
			seg_pin(seg);
			pthread_rwlock_unlock(&p->seg_lock);
			vfy_segment(p, seg, false);
			ret = atomic_load(&seg->checked) ? 0 : -EIO;
			seg_put(seg);
			if (ret) {
				/* retention may have deleted it meanwhile:
				 * then the read is below the start */
				pthread_rwlock_rdlock(&p->seg_lock);
				if (off < p->segs[0]->base)
					ret = 0;
				pthread_rwlock_unlock(&p->seg_lock);
			}
			if (ret)
				return ret;
			goto again;
		}
	}
	if (off < p->segs[0]->base)
		ret = -ERANGE;
	else if (off < end && max > 0 && len > 0) {
		if (len > end - off)
			len = (size_t)(end - off);
		if (len > SSIZE_MAX)
			len = SSIZE_MAX;
		ret = part_map_locked(p, off, len, ext, max, n);
	}
	pthread_rwlock_unlock(&p->seg_lock);
	return ret > 0 ? part_map_fill(p, ext, n, ret) : ret;
}

void tfs_part_read_unmap(struct tfs_extent *ext, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		seg_put(ext[i].seg);
		free(ext[i].mem);
		ext[i].mem = NULL;
		ext[i].seg = NULL;
		ext[i].fd = -1;
	}
}

ssize_t tfs_part_pread(struct tfs_part *p, void *buf, size_t len, uint64_t off)
{
	struct tfs_extent ext[PART_PREAD_EXTENTS];
	char *dst = buf;
	size_t done = 0, n;
	int err = 0;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (done < len && !err) {
		ssize_t got = tfs_part_read_map(p, off + done, len - done, ext,
						PART_PREAD_EXTENTS, &n);

		if (got <= 0) {
			err = (int)got;
			break;
		}
		for (size_t i = 0; i < n && !err; i++) {
			if (ext[i].mem)
				memcpy(dst + done, ext[i].mem, ext[i].len);
			else
				err = seg_pread_all(ext[i].fd, dst + done,
						    ext[i].len, ext[i].pos);
			done += err ? 0 : ext[i].len;
		}
		tfs_part_read_unmap(ext, n);
	}
	/* damage was logged once when it was found */
	if (err && err != -ERANGE && err != -EIO)
		store_log(p->st, LOG_ERR, "%s: read at offset %llu: %s",
			  p->name, (unsigned long long)(off + done),
			  tfs_strerror(err));
	return err ? (err == -ERANGE ? -ERANGE : -EIO) : (ssize_t)done;
}

/* Sealed segments not yet synced, oldest first, pinned; seg_lock shared.
 * @return how many; -ENOMEM (none is synced then: a sync that went on
 * without them would move the recovery point past bytes not durable). */
static ssize_t part_unsynced_sealed(struct tfs_part *p, struct tfs_seg ***out)
{
	size_t n = 0, first;

	*out = NULL;
	pthread_rwlock_rdlock(&p->seg_lock);
	first = p->nsegs - 1;
	while (first > 0 && !atomic_load(&p->segs[first - 1]->synced))
		first--;
	n = p->nsegs - 1 - first;
	if (n)
		*out = malloc(n * sizeof(**out));
	for (size_t i = 0; *out && i < n; i++) {
		(*out)[i] = p->segs[first + i];
		seg_pin((*out)[i]);
	}
	pthread_rwlock_unlock(&p->seg_lock);
	return *out ? (ssize_t)n : n ? -ENOMEM : 0;
}

int part_sync_sealed(struct tfs_part *p, int64_t min_age_ms)
{
	int64_t due = store_mono_ms() - min_age_ms;
	struct tfs_seg **v;
	ssize_t n;
	int err = 0;

	if (p->deleted) /* its files are gone: nothing to keep */
		return 0;
	pthread_mutex_lock(&p->sync_lock);
	n = part_unsynced_sealed(p, &v);
	if (n < 0)
		err = (int)n;
	for (ssize_t i = 0; i < n; i++) {
		/* sealed in order: once one is too young, so are the rest */
		if (atomic_load(&v[i]->sealed_ms) > due)
			err = err ? err : 1;
		if (!err && !atomic_load(&v[i]->synced)) {
			/* its fd may have been closed while it waited
			 * (part_close_idle_fds): reopened by name */
			int fd = seg_data_fd(p, v[i]);

			err = fd < 0 ? fd : seg_mark_synced(v[i], p->dir_fd);
			if (!err)
				atomic_fetch_sub(&p->sealed_pending, 1);
			else if (!atomic_load(&p->deleted)) /* deleted meanwhile:
							       nothing to keep */
				store_log(p->st, LOG_ERR,
					  "%s: syncing sealed segment %020llu: %s",
					  p->name,
					  (unsigned long long)v[i]->base,
					  strerror(-err));
		}
		seg_put(v[i]);
	}
	pthread_mutex_unlock(&p->sync_lock);
	free(v);
	return err > 0 ? 0 : err;
}

void part_trim(struct tfs_part *p)
{
	pthread_mutex_lock(&p->append_lock);
	if (p->nsegs)
		seg_trim(p, part_active(p));
	pthread_mutex_unlock(&p->append_lock);
}

void part_close_idle_fds(struct tfs_part *p)
{
	/* exclusive: no reader is between loading an fd and pinning it */
	pthread_rwlock_wrlock(&p->seg_lock);
	/* a deleted partition's files have no names to reopen them by */
	for (size_t i = 0; !p->deleted && i + 1 < p->nsegs; i++) {
		struct tfs_seg *seg = p->segs[i];
		int fd = atomic_load(&seg->fd);

		if (seg->z && atomic_load(&seg->refs) == 1) {
			int zfd = zseg_fd_take(seg->z);

			zseg_trim(seg->z); /* its cached frames */
			if (zfd >= 0) {
				close(zfd);
				atomic_fetch_sub(&p->sealed_fds, 1);
			}
		}
		/* synced or not: the syncer reopens it to sync it, so a
		 * producer rolling thousands of segments before the syncer
		 * catches up does not run the daemon out of fds */
		if (fd < 0 || atomic_load(&seg->refs) != 1)
			continue;
		atomic_store(&seg->fd, -1);
		close(fd);
		atomic_fetch_sub(&p->sealed_fds, 1);
	}
	pthread_rwlock_unlock(&p->seg_lock);
}

/* Make everything appended durable, in order: the sealed segments not
 * yet synced, the directory, then the active segment.  append_lock held.
 * Recovery relies on the order: nothing after a segment is ever synced
 * before it. */
static int part_sync_locked(struct tfs_part *p)
{
	int err = part_sync_behind(p);

	if (!err)
		err = seg_sync(part_active(p));
	if (!err) {
		atomic_store(&p->unsynced, 0);
		atomic_store(&p->synced_ms, store_mono_ms());
		part_note_rp(p, atomic_load(&p->end));
	}
	if (err)
		store_log(p->st, LOG_ERR, "%s: sync: %s", p->name,
			  strerror(-err));
	return err;
}

int tfs_part_sync(struct tfs_part *p)
{
	int err;

	pthread_mutex_lock(&p->append_lock);
	if (p->early && atomic_load(&p->early_stuck))
		part_early_drain(p); /* the disk may have space again */
	if (p->early) {
		if (atomic_load(&p->early_stuck))
			store_log(p->st, LOG_ERR,
				  "%s: fsync: no disk space yet for the stream writes held from offset %llu",
				  p->name, (unsigned long long)p->early->off);
		else
			store_log(p->st, LOG_ERR,
				  "%s: fsync: stream writes from offset %llu wait for the bytes before them (end %llu)",
				  p->name, (unsigned long long)p->early->off,
				  (unsigned long long)atomic_load(&p->end));
		pthread_mutex_unlock(&p->append_lock);
		return -EIO;
	}
	err = part_sync_locked(p);
	pthread_mutex_unlock(&p->append_lock);
	return err ? -EIO : 0;
}

bool tfs_part_deleted(struct tfs_part *p)
{
	return atomic_load(&p->deleted);
}

uint64_t tfs_part_end(struct tfs_part *p)
{
	return atomic_load_explicit(&p->end, memory_order_acquire);
}

void tfs_part_info(struct tfs_part *p, struct tfs_part_info *info)
{
	memset(info, 0, sizeof(*info));
	pthread_rwlock_rdlock(&p->seg_lock);
	info->end = atomic_load_explicit(&p->end, memory_order_acquire);
	info->start = p->segs[0]->base;
	info->segments = p->nsegs;
	/* O(1): every stat() comes here (attributes are never cached) */
	info->disk_bytes = p->sealed_disk + seg_disk_bytes(part_active(p));
	pthread_rwlock_unlock(&p->seg_lock);
	info->records = atomic_load(&p->records);
	info->mtime_ms = atomic_load(&p->mtime_ms);
}

void tfs_part_ref(struct tfs_part *p, uint64_t n)
{
	atomic_fetch_add(&p->refs, n);
}

void tfs_part_put(struct tfs_part *p, uint64_t n)
{
	/* read before the drop: once it is done, another put may free p */
	struct tfs_topic *t = p->topic;
	struct tfs_store *st = p->st;
	uint64_t old = atomic_fetch_sub(&p->refs, n);
	struct tfs_part **pp;

	assert(old >= n);
	if (old != n)
		return;
	/* only a deleted partition (on the graveyard) loses its last ref */
	assert(p->deleted);
	pthread_mutex_lock(&st->lock);
	for (pp = &st->dead_parts; *pp && *pp != p; pp = &(*pp)->dead_next)
		;
	if (*pp)
		*pp = p->dead_next;
	pthread_mutex_unlock(&st->lock);
	part_free(p);
	tfs_topic_put(t, 1);
}

uint32_t tfs_part_number(const struct tfs_part *p)
{
	return p->num;
}

struct tfs_topic *tfs_part_topic(const struct tfs_part *p)
{
	return p->topic;
}

/* ---- retention --------------------------------------------------------- */

/* Remove a segment retention let go: rename its .log to .log.deleted
 * first (recovery finishes a delete that has begun so, see part_scan),
 * then unlink everything.  Names are relative to dir_fd, which stays valid
 * across a partition delete's rename. */
static void part_unlink_seg(struct tfs_part *p, struct tfs_seg *seg)
{
	/* the data file (.log or .zst) first: it marks the delete */
	static const char *const exts[] = { FMT_LOG_SUFFIX, FMT_ZST_SUFFIX,
					    FMT_IDX_SUFFIX };
	char name[FMT_SEG_NAME_LEN + 16], del[FMT_SEG_NAME_LEN + 32];
	size_t n = sizeof(exts) / sizeof(exts[0]);
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		seg_name(name, sizeof(name), seg->base, exts[i]);
		snprintf(del, sizeof(del), "%s%s", name, FMT_DEL_SUFFIX);
		if (renameat(p->dir_fd, name, p->dir_fd, del) &&
		    errno != ENOENT)
			err = -errno;
		if (!err && i == 1 && fsync(p->dir_fd))
			err = -errno;
	}
	for (size_t i = 0; i < n && !err; i++) {
		snprintf(del, sizeof(del), "%020llu%s%s",
			 (unsigned long long)seg->base, exts[i],
			 FMT_DEL_SUFFIX);
		if (unlinkat(p->dir_fd, del, 0) && errno != ENOENT)
			err = -errno;
	}
	if (err)
		store_log(p->st, LOG_ERR,
			  "%s/%020llu: retention delete: %s (the next mount "
			  "finishes it)",
			  p->name, (unsigned long long)seg->base,
			  strerror(-err));
}

/* Whether seg's .log (or .zst) is on disk. */
static bool part_seg_has_files(struct tfs_part *p, struct tfs_seg *seg)
{
	const char *sfx[] = { FMT_LOG_SUFFIX, FMT_ZST_SUFFIX };
	char name[FMT_SEG_NAME_LEN + 1];

	for (size_t i = 0; i < 2; i++) {
		seg_name(name, sizeof(name), seg->base, sfx[i]);
		if (faccessat(p->dir_fd, name, F_OK, 0) == 0)
			return true;
	}
	return false;
}

/* How many sealed, synced segments from the front retention lets go;
 * append_lock held. */
static size_t part_expired(struct tfs_part *p, int64_t now_ms, bool *by_time)
{
	int64_t rms = topic_cfg(p->topic, TFS_CFG_RETENTION_MS);
	int64_t rbytes = topic_cfg(p->topic, TFS_CFG_RETENTION_BYTES);
	uint64_t kept = atomic_load(&p->end) - p->segs[0]->base;
	size_t k = 0;

	*by_time = false;
	for (; k + 1 < p->nsegs; k++) {
		struct tfs_seg *seg = p->segs[k];
		uint64_t size = atomic_load(&seg->size);
		/* a clock before 1970 and a huge rms: nothing is older */
		bool t = rms >= 0 && now_ms >= INT64_MIN + rms &&
			 atomic_load(&seg->last_ms) < now_ms - rms;
		bool b = rbytes >= 0 && kept - size >= (uint64_t)rbytes;

		/* a sealed segment is synced within seconds; wait for it */
		if (!atomic_load(&seg->synced) || (!t && !b))
			break;
		/* damage is kept for a human (topicfs-fsck): a damaged
		 * segment's time is not known, and its files may be all
		 * that is left of its records (a .zst's damage is found a
		 * frame at a time, by reads) */
		if (((atomic_load_explicit(&seg->checked,
					   memory_order_acquire) &&
		      seg->nbad) ||
		     (seg->z && zseg_damaged(seg->z))) &&
		    part_seg_has_files(p, seg)) {
			if (p->retain_blocked != seg->base + 1)
				store_log(p->st, LOG_WARNING,
					  "retention: %s: stops at the damaged segment %020llu until its files are moved away (see topicfs-fsck)",
					  p->name,
					  (unsigned long long)seg->base);
			p->retain_blocked = seg->base + 1;
			break;
		}
		*by_time |= t;
		kept -= size;
	}
	return k;
}

int part_retain(struct tfs_part *p, int64_t now_ms)
{
	struct tfs_seg **v = NULL;
	uint64_t records = 0, disk = 0, start = 0, to = 0;
	bool by_time;
	size_t k;

	if (topic_cfg(p->topic, TFS_CFG_RETENTION_MS) < 0 &&
	    topic_cfg(p->topic, TFS_CFG_RETENTION_BYTES) < 0)
		return 0;
	pthread_mutex_lock(&p->append_lock);
	k = p->deleted ? 0 : part_expired(p, now_ms, &by_time);
	if (k)
		v = malloc(k * sizeof(*v));
	if (v) {
		pthread_rwlock_wrlock(&p->seg_lock);
		memcpy(v, p->segs, k * sizeof(*v));
		memmove(p->segs, p->segs + k, (p->nsegs - k) * sizeof(*v));
		p->nsegs -= k;
		for (size_t i = 0; i < k; i++) {
			records += atomic_load(&v[i]->entries);
			disk += seg_disk_bytes(v[i]);
			if (atomic_load(&v[i]->fd) >= 0)
				atomic_fetch_sub(&p->sealed_fds, 1);
			if (v[i]->z && zseg_fd(v[i]->z) >= 0)
				atomic_fetch_sub(&p->sealed_fds, 1);
		}
		p->sealed_disk -= disk;
		atomic_fetch_sub(&p->records, records);
		start = v[0]->base;
		to = p->segs[0]->base;
		pthread_rwlock_unlock(&p->seg_lock);
	}
	pthread_mutex_unlock(&p->append_lock);
	if (!v)
		return k ? -ENOMEM : 0;
	/* outside the locks: readers with pinned extents keep their fds */
	for (size_t i = 0; i < k; i++) {
		part_unlink_seg(p, v[i]);
		seg_put(v[i]);
	}
	free(v);
	store_log(p->st, LOG_INFO,
		  "retention: %s: deleted %zu segment%s, offsets %llu..%llu "
		  "(%llu records, %llu bytes on disk), by %s; the partition "
		  "starts at %llu",
		  p->name, k, k == 1 ? "" : "s", (unsigned long long)start,
		  (unsigned long long)to, (unsigned long long)records,
		  (unsigned long long)disk,
		  by_time ? "retention.ms" : "retention.bytes",
		  (unsigned long long)to);
	return (int)k;
}

/* ---- compression ------------------------------------------------------- */

/* The oldest sealed, synced, uncompressed segment, pinned, or NULL. */
static struct tfs_seg *part_next_raw(struct tfs_part *p)
{
	struct tfs_seg *seg = NULL;

	pthread_rwlock_rdlock(&p->seg_lock);
	for (size_t i = 0; i + 1 < p->nsegs && !seg; i++) {
		struct tfs_seg *s = p->segs[i];

		if (!s->z && atomic_load(&s->synced) &&
		    atomic_load(&s->size) &&
		    !(atomic_load(&s->checked) && s->nbad))
			seg = s;
	}
	if (seg)
		seg_pin(seg);
	pthread_rwlock_unlock(&p->seg_lock);
	return seg;
}

/* Write <base>.zst for seg: compress into <base>.zst.tmp, fsync, check it
 * by decompressing every frame, rename into place, fsync the directory.
 * @return 0 and the open *z; -errno (the temp file is gone). */
static int part_write_zst(struct tfs_part *p, struct tfs_seg *seg,
			  struct zseg **z)
{
	char name[FMT_SEG_NAME_LEN + 1], tmp[FMT_SEG_NAME_LEN + 8];
	int level = (int)topic_cfg(p->topic, TFS_CFG_COMPRESSION_LEVEL);
	int src = seg_data_fd(p, seg), fd, err;
	uint64_t bad;

	if (src < 0)
		return src;
	seg_name(name, sizeof(name), seg->base, FMT_ZST_SUFFIX);
	snprintf(tmp, sizeof(tmp), "%s%s", name, FMT_TMP_SUFFIX);
	fd = openat(p->dir_fd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return -errno;
	err = zseg_write(src, atomic_load(&seg->size), fd, level,
			 ZSEG_FRAME_BYTES);
	if (!err && fdatasync(fd))
		err = -errno;
	if (!err)
		err = zseg_open(fd, z, NULL, 0); /* owns fd from here */
	if (err) {
		close(fd);
		goto out_unlink;
	}
	err = zseg_verify(*z, &bad);
	if (!err && zseg_raw_size(*z) != atomic_load(&seg->size))
		err = -EIO;
	if (!err && renameat(p->dir_fd, tmp, p->dir_fd, name))
		err = -errno;
	if (!err && fsync(p->dir_fd))
		err = -errno;
	if (!err)
		return 0;
	zseg_close(*z);
	*z = NULL;
	unlinkat(p->dir_fd, name, 0);
out_unlink:
	unlinkat(p->dir_fd, tmp, 0);
	return err;
}

/* Compress one sealed segment of p; 1 if one was, 0 if none is left,
 * -errno (logged). */
static int part_compress_one(struct tfs_part *p)
{
	struct tfs_seg *seg = part_next_raw(p);
	char name[FMT_SEG_NAME_LEN + 1];
	uint64_t raw, before, after;
	int64_t t0 = store_mono_ms();
	struct zseg *z = NULL;
	int err;

	if (!seg)
		return 0;
	/* never launder damage into a fresh, valid .zst */
	vfy_segment(p, seg, false);
	if (!atomic_load(&seg->checked) || seg->nbad) {
		err = atomic_load(&seg->checked) ? 1 : -EIO;
		seg_put(seg);
		return err; /* damaged ones stay raw; go on to the next */
	}
	raw = atomic_load(&seg->size);
	err = part_write_zst(p, seg, &z);
	if (err) {
		if (!atomic_load(&p->deleted)) /* else its files went */
			store_log(p->st, LOG_ERR,
				  "compression: %s/%020llu%s: %s; the segment "
				  "stays uncompressed",
				  p->name, (unsigned long long)seg->base,
				  FMT_LOG_SUFFIX, strerror(-err));
		seg_put(seg);
		return atomic_load(&p->deleted) ? 0 : err;
	}
	/* swap: new reads decompress; pinned extents keep the raw fd */
	pthread_mutex_lock(&p->append_lock);
	if (p->deleted) {
		/* deleted meanwhile: its readers keep the raw fds (the .zst
		 * has no name to be opened by), and the files go */
		pthread_mutex_unlock(&p->append_lock);
		zseg_close(z);
		seg_name(name, sizeof(name), seg->base, FMT_ZST_SUFFIX);
		unlinkat(p->dir_fd, name, 0);
		seg_put(seg);
		return 0;
	}
	pthread_rwlock_wrlock(&p->seg_lock);
	before = seg_disk_bytes(seg);
	seg->z = z; /* with the fd compression wrote it through */
	atomic_fetch_add(&p->sealed_fds, 1);
	after = seg_disk_bytes(seg);
	if (!p->deleted)
		p->sealed_disk = p->sealed_disk - before + after;
	pthread_rwlock_unlock(&p->seg_lock);
	pthread_mutex_unlock(&p->append_lock);
	seg_name(name, sizeof(name), seg->base, FMT_LOG_SUFFIX);
	if (unlinkat(p->dir_fd, name, 0) || fsync(p->dir_fd))
		store_log(p->st, LOG_ERR,
			  "compression: %s/%s: removing it: %s (the next "
			  "mount does)",
			  p->name, name, strerror(errno));
	store_log(p->st, LOG_INFO,
		  "compression: %s/%020llu: %llu bytes to %llu (%.1fx) in "
		  "%lld ms",
		  p->name, (unsigned long long)seg->base,
		  (unsigned long long)raw,
		  (unsigned long long)zseg_file_size(z),
		  zseg_file_size(z) ? (double)raw / (double)zseg_file_size(z)
				    : 0.0,
		  (long long)(store_mono_ms() - t0));
	seg_put(seg);
	return 1;
}

int part_compress(struct tfs_part *p, const _Atomic bool *stop)
{
	int n = 0, r;

	if (topic_cfg(p->topic, TFS_CFG_COMPRESSION) != TFS_COMPRESSION_ZSTD ||
	    atomic_load(&p->deleted))
		return 0;
	while (!*stop && (r = part_compress_one(p)) > 0)
		n++;
	return n;
}
