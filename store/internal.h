/*
 * store/internal.h - the store's private objects (store, topic, partition,
 * segment), who owns whom, which lock protects what, and the functions the
 * store's files share.
 *
 * Ownership: the store's topics array holds one reference on each topic; a
 * topic's parts array holds one reference on each partition; a partition's
 * segs array holds one reference on each segment, and every extent handed
 * out by tfs_part_read_map() pins one more.  Deleting a topic or partition
 * drops the array's reference; if others remain, the object is parked on
 * the store's graveyard until its last tfs_*_put (or tfs_store_close).
 *
 * Lock order (outermost first): store->clean_mu (a whole cleaner pass),
 * store->lock, topic->lock, topic->cfg_lock
 * or topic->grp_lock, part->append_lock, part->sync_lock, part->seg_lock,
 * store->sync_mu.  Readers take only seg_lock (shared).  cfg_lock and
 * grp_lock are leaves: each is taken with nothing inside it, and never
 * together (a topic delete takes one after the other).  Group calls take
 * topic->lock and part->seg_lock (tfs_part_open, tfs_part_info) before
 * grp_lock, never while they hold it.  store->vfy_mu is a leaf too, taken
 * inside part->seg_lock (shared) to queue a check ahead (vfy_ahead); the
 * checker thread holds nothing while it checks, and seg->vfy_lock only
 * around one segment's check.  store->hold_mu is a leaf, taken inside
 * part->append_lock to take or give back a hold buffer, and by the
 * cleaner with nothing held.
 */
#ifndef TOPICFS_STORE_INTERNAL_H
#define TOPICFS_STORE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "topicfs/store.h"

/* A damaged range of a segment: positions [lo, hi) read as EIO. */
struct seg_bad {
	uint64_t lo, hi;
};

/* Whether a segment's index times never go back (tfs_seg.times). */
enum { SEG_TIMES_UNKNOWN, SEG_TIMES_SORTED, SEG_TIMES_UNSORTED };

/* One segment: DIR/<base>.log (record bytes) and DIR/<base>.idx. */
struct tfs_seg {
	uint64_t base;		  /* partition offset of .log byte 0;
				     immutable */
	_Atomic uint64_t size;	  /* published data bytes; release-stored by
				     the appender after data and index */
	_Atomic uint64_t entries; /* index entries (records); stored by the
				     appender under part->append_lock */
	_Atomic int fd;		  /* .log fd, O_RDWR while active; -1 until a
				     sealed segment is first read (CAS) */
	int idx_fd;		  /* .idx fd while active (under
				     part->append_lock); closed at the roll,
				     and opened by seg_mark_synced only for
				     the sync (under part->sync_lock) */
	_Atomic bool synced;	  /* sealed and marked FMT_HDR_F_SYNCED on
				     disk; set under part->sync_lock */
	_Atomic int64_t sealed_ms; /* CLOCK_MONOTONIC ms when sealed; 0
				     while active; set under append_lock */
	_Atomic uint64_t refs;	  /* the segs array's + one per extent */
	_Atomic int64_t first_ms; /* time of the first record (ms since the
				     epoch); 0 while empty; for segment.ms */
	_Atomic int64_t last_ms;  /* time of the newest record; for
				     retention.ms */
	_Atomic int times;	  /* SEG_TIMES_*: SORTED from creation,
				     UNSORTED once an append's time goes
				     back (a clock step); one loaded from
				     disk is UNKNOWN until the first seek
				     by time reads its index (CAS) */
	struct zseg *z;		  /* the compressed form (<base>.zst, the
				     .log is gone), or NULL; set once by the
				     cleaner under part->seg_lock exclusive */
	uint64_t check_size;	  /* data bytes present at load, checked
				     against the index at the first read;
				     later appends are CRC'd as they come;
				     immutable */
	_Atomic bool checked;	  /* [0, check_size) is checked (or needs
				     no check); release-stored after bad */
	pthread_mutex_t vfy_lock; /* serialises the check */
	_Atomic bool vfy_queued;  /* handed to the checker (once) */
	struct seg_bad *bad;	  /* damaged ranges, ascending; written
				     only before checked is set */
	size_t nbad;		  /* entries of bad */
	_Atomic int vfy_idx_fd;	  /* a deleted partition's unchecked sealed
				     segment: its .idx, kept open for the
				     check at the first read (its name is
				     gone); -1 otherwise; set under both
				     locks by part_unlink, closed at free */
	bool hdr_pending;	  /* active, empty, and its .idx is empty:
				     recovery found no space for the header,
				     so the first append writes it; under
				     part->append_lock */
	unsigned char *imap;	  /* active: SEG_IMAP_BYTES of the .idx at
				     imap_off, mapped shared; seg_append
				     stores its entries there (no syscall);
				     NULL: none mapped; under append_lock */
	uint64_t imap_off;	  /* .idx offset of imap, window-aligned */
	bool imap_never;	  /* the .idx is never mapped: its file
				     system cannot allocate ahead, entries
				     are pwrite()n; under append_lock */
	bool iahead;		  /* the .idx may be longer than its entries
				     (windows extended it; seg_trim cuts it
				     back); under append_lock */
	uint64_t prealloc;	  /* active: seg_append allocated .log
				     blocks ahead up to here (past the
				     size), or tried to; 0 before the
				     first large record, SEG_PREALLOC_OFF
				     where the file system gains nothing;
				     under part->append_lock */
};

/* seg->prealloc of a segment whose file system gains nothing from it. */
#define SEG_PREALLOC_OFF UINT64_MAX

/* Seconds of append history kept for tfs_part_rate. */
#define PART_RATE_SLOTS 60

struct tfs_part {
	struct tfs_store *st;	     /* owning store; immutable */
	struct tfs_topic *topic;     /* no reference while live; the deleted
					partition holds one (part_delete) */
	uint32_t num;		     /* partition number; immutable */
	char *path;		     /* DATADIR/TOPIC/P, owned; renamed away
					on delete (protected by append_lock) */
	char *name;		     /* "TOPIC/P" for messages, owned */
	_Atomic uint64_t refs;	     /* handles + the topic's parts array */
	pthread_mutex_t append_lock; /* serialises appends, roll, sync */
	pthread_mutex_t sync_lock;   /* serialises syncing sealed segments
					(the syncer and tfs_part_sync) */
	int dir_fd;		     /* O_DIRECTORY fd of the partition dir
					(valid across its rename on delete);
					immutable */
	_Atomic bool dir_unsynced;   /* a segment was created since the last
					fsync of dir_fd */
	_Atomic uint64_t sealed_pending; /* sealed segments not yet synced */
	_Atomic uint64_t sealed_fds; /* sealed segments whose .log fd is open;
					the syncer closes idle ones */
	pthread_rwlock_t seg_lock;   /* segs/nsegs: shared by readers,
					exclusive for roll and delete */
	struct tfs_seg **segs;	     /* by base, ascending; the last is the
					active one; protected by seg_lock,
					changed only with append_lock held */
	size_t nsegs;		     /* used entries of segs; as segs */
	size_t segs_cap;	     /* allocated entries of segs; as segs */
	uint64_t sealed_disk;	     /* disk bytes of segs[0..nsegs-2] (they
					no longer change); as segs */
	_Atomic uint64_t end;	     /* end offset; release-stored after the
					record is in data and index */
	struct part_early *early;    /* stream writes that start past the
					end, by offset; held until the bytes
					before them arrive; append_lock */
	struct part_early *early_tail; /* the last of early; append_lock */
	uint64_t early_bytes;	     /* buffer bytes held in early (their
					cap); append_lock */
	_Atomic uint64_t refused;    /* stream write-backs refused (over
					stored bytes that differ) */
	_Atomic bool early_stuck;    /* the first of early is at the end:
					storing it failed for lack of space;
					the syncer retries (part_early_retry);
					written under append_lock */
	_Atomic uint64_t records;    /* records between start and end */
	_Atomic uint64_t unsynced;   /* appends since the last fdatasync;
					written under append_lock */
	_Atomic int64_t rate_sec[PART_RATE_SLOTS]; /* second of each slot */
	_Atomic uint64_t rate_n[PART_RATE_SLOTS];  /* records appended in
					it; both written under append_lock,
					read without (tfs_part_rate) */
	_Atomic int64_t synced_ms;   /* CLOCK_MONOTONIC ms of the last
					tfs_part_sync (or the load) */
	_Atomic int64_t mtime_ms;    /* last append (or creation) time */
	_Atomic bool deleted;	     /* files unlinked; set under append_lock
					and seg_lock */
	uint64_t retain_blocked;     /* 1 + the base of the damaged segment
					retention last stopped at (logged
					once each), or 0; append_lock */
	uint64_t rp;		     /* the recovery point on disk: every
					record below it is durable (read at
					load, or 0; then written after syncs
					of the active segment, at most every
					PART_RP_MS, and at the close);
					append_lock */
	uint64_t durable;	     /* the end the last sync made durable
					(>= rp); append_lock */
	int64_t rp_ms;		     /* CLOCK_MONOTONIC ms of the last write
					of rp; append_lock */
	bool rp_failed;		     /* writing it failed (logged once);
					append_lock */
	struct tfs_part *dead_next;  /* graveyard link; st->lock */
};

struct tfs_topic {
	struct tfs_store *st;	     /* owning store; immutable */
	char *name;		     /* topic name, owned; immutable */
	char *path;		     /* DATADIR/TOPIC, owned; immutable */
	_Atomic uint64_t refs;	     /* handles + the store's topics array */
	pthread_mutex_t lock;	     /* protects parts, nparts, deleted */
	struct tfs_part **parts;     /* partitions 0..nparts-1, each holding
					one reference; protected by lock */
	uint32_t nparts;	     /* partition count; protected by lock */
	size_t parts_cap;	     /* allocated entries; protected by lock */
	bool deleted;		     /* dir removed; protected by lock */
	struct tfs_topic *dead_next; /* graveyard link; st->lock */
	pthread_mutex_t cfg_lock;    /* serialises config writes and the
					topic's rmdir; inside lock, and
					nothing is taken inside it */
	bool cfg_gone;		     /* the directory was removed (a new
					topic may have its name): config
					writes fail; cfg_lock */
	struct tfs_config own;	     /* the topic's own keys (own.set);
					protected by cfg_lock */
	_Atomic int64_t eff[TFS_CFG_NKEYS]; /* effective values, read
					without a lock by appends, the
					syncer and the cleaner; stored under
					cfg_lock */
	_Atomic uint64_t parts_gen;  /* partition deletes so far; bumped
					under lock; a group commit that
					raced one starts over */
	pthread_mutex_t grp_lock;    /* protects the group fields below and
					serialises writes in .groups; a
					leaf (see the lock order) */
	struct group **groups;	     /* consumer groups, sorted by name,
					owned; grp_lock */
	size_t ngroups;		     /* used entries of groups; grp_lock */
	size_t groups_cap;	     /* allocated entries; grp_lock */
	bool groups_dir;	     /* DATADIR/TOPIC/.groups is known to
					exist; grp_lock */
	bool groups_closed;	     /* the topic delete removed .groups:
					group calls give -ENOENT; grp_lock */
	_Atomic uint64_t key_sep;    /* effective key.separator, its bytes
					packed (topic_key_sep), 0 = none;
					read without a lock by
					tfs_topic_route; stored under
					cfg_lock */
};

/* Effective value of config key k of topic t. */
static inline int64_t topic_cfg(struct tfs_topic *t, enum tfs_cfg_key k)
{
	return atomic_load_explicit(&t->eff[k], memory_order_relaxed);
}

/* A key.separator (1..TFS_KEY_SEP_MAX bytes, no NUL) fits in one atomic
 * word, so routing reads it without a lock: its bytes are copied to the
 * start of the word and the rest are 0, so its length is the count of
 * leading non-zero bytes. */
_Static_assert(TFS_KEY_SEP_MAX == sizeof(uint64_t),
	       "key.separator must pack into a uint64_t");

/* Unpack t's key.separator into sep (TFS_KEY_SEP_MAX bytes, not
 * terminated); returns its length, 0 when there is none. */
static inline size_t topic_key_sep(struct tfs_topic *t,
				   char sep[TFS_KEY_SEP_MAX])
{
	uint64_t w = atomic_load_explicit(&t->key_sep, memory_order_relaxed);

	memcpy(sep, &w, TFS_KEY_SEP_MAX);
	return strnlen(sep, TFS_KEY_SEP_MAX);
}

/* Segment checks queued ahead of readers at most (more are left to the
 * first read itself). */
#define VFY_AHEAD_MAX 16

struct tfs_store {
	char *dir;		       /* data directory path, owned */
	int dir_fd;		       /* O_DIRECTORY fd of dir, for fsync */
	struct tfs_store_opts opts;    /* effective options; immutable */
	pthread_mutex_t lock;	       /* protects everything below */
	struct tfs_topic **topics;     /* sorted by name, one ref each */
	size_t ntopics;		       /* used entries of topics */
	size_t topics_cap;	       /* allocated entries of topics */
	struct tfs_topic *dead_topics; /* deleted, still referenced */
	struct tfs_part *dead_parts;   /* deleted, still referenced */
	pthread_mutex_t sync_mu;       /* a leaf lock for the two below */
	pthread_cond_t sync_cond;      /* wakes the syncer to stop */
	_Atomic bool stopping;	       /* tfs_store_close is running (set
					  under sync_mu; the cleaner polls
					  it between segments) */
	bool syncer_started;	       /* syncer is valid and joinable */
	pthread_t syncer;	       /* syncs sealed segments in the
					  background, and every flush_ms */
	bool cleaner_started;	       /* cleaner is valid and joinable */
	pthread_t cleaner;	       /* retention, every STORE_CLEAN_MS */
	pthread_mutex_t vfy_mu;	       /* a leaf lock for the five below */
	pthread_cond_t vfy_cond;       /* wakes the checker */
	struct vfy_job {	       /* a segment to check ahead of its */
		struct tfs_part *p;    /* first read: a partition reference */
		struct tfs_seg *seg;   /* and a pin, dropped when done */
	} vfy_q[VFY_AHEAD_MAX];	       /* ring of queued checks */
	size_t vfy_head, vfy_n;	       /* first and count in vfy_q */
	bool vfy_stop;		       /* the checker is stopping */
	bool checker_started;	       /* checker is valid and joinable */
	pthread_t checker;	       /* checks segments ahead of readers */
	_Atomic uint64_t held_writes;  /* stream writes held in memory ahead */
	_Atomic uint64_t held_bytes;   /* of the end, and their bytes
					  (tfs_store_held) */
	pthread_mutex_t clean_mu;      /* one retention and compression pass
					  at a time (tfs_store_clean); taken
					  before any other lock */
	pthread_mutex_t hold_mu;       /* a leaf lock for the three below */
	struct part_early *hold_cache; /* free PART_HOLD_BUF buffers */
	unsigned hold_cached;	       /* buffers in hold_cache */
	bool hold_taken;	       /* one was taken since the last trim */
};

/* ---- config.c -------------------------------------------------------- */

/* Every value of cfg within its key's range. */
bool config_valid(const struct tfs_config *cfg);

/* ---- store.c --------------------------------------------------------- */

/* Report through opts.log (or stderr), prio a syslog priority. */
void store_log(struct tfs_store *st, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* fsync a directory by path; -errno. */
int store_fsync_path(const char *path);
/* Make room for element n of array v (of *cap elements of size bytes),
 * doubling it when full.  @return v, moved if it grew (and *cap updated),
 * or NULL when out of memory (v still valid, unchanged). */
void *store_grow(void *v, size_t *cap, size_t n, size_t size);
/* Replace path with len bytes of buf atomically: write tmp, fsync it,
 * rename it to path, fsync dir (tmp is removed on failure).  -errno. */
int store_replace_file(const char *dir, const char *path, const char *tmp,
		       const void *buf, size_t len);
/* Binary search of a name-sorted array v of n pointers to objects whose
 * `char *name` is at byte name_off: the position of name, or where it
 * would go (*found false). */
size_t store_find_name(void *const *v, size_t n, size_t name_off,
		       const char *name, bool *found);
/* Join a and b with '/', malloc'ed; NULL when out of memory. */
char *store_join(const char *a, const char *b);
/* CLOCK_MONOTONIC in ms. */
int64_t store_mono_ms(void);
/* Park a deleted object; free it now if it is unreferenced. */
void store_bury_part(struct tfs_store *st, struct tfs_part *p);
void store_bury_topic(struct tfs_store *st, struct tfs_topic *t);

/* ---- topic.c --------------------------------------------------------- */

/* Load the topic directory st->dir/name and its partitions (recovering
 * them); the topic comes with the one reference the store's array holds. */
int topic_load(struct tfs_store *st, const char *name, struct tfs_topic **out);
/* Insert t into st->topics (sorted); caller holds st->lock. */
int topic_insert(struct tfs_store *st, struct tfs_topic *t);
/* Free a topic and every partition still in its array (no refcounts). */
void topic_free(struct tfs_topic *t);
/* Remove the topic's config files (before its directory goes). */
void topic_config_unlink(struct tfs_topic *t);

/* ---- group.c --------------------------------------------------------- */

struct group; /* one consumer group, private to group.c */

/* Load DATADIR/TOPIC/.groups (after the partitions: offsets of partitions
 * the topic lacks are dropped, logged); remove leftover temp files
 * ("recovery:"), log and skip damaged lines.  -ENOMEM; -errno when the
 * directory or a group file cannot be read. */
int group_load(struct tfs_topic *t);
/* Free the topic's groups (topic_free). */
void group_free_all(struct tfs_topic *t);
/* For a topic delete, under topic->lock: close the groups (later group
 * calls give -ENOENT) and remove .groups.  -errno (logged; groups open
 * again). */
int group_unlink_all(struct tfs_topic *t);
/* The topic delete failed after group_unlink_all: open the groups again
 * and write each one's file anew (failures logged). */
void group_reopen(struct tfs_topic *t);
/* Partition part was deleted (topic->lock held, parts_gen bumped): drop
 * its committed offsets from every group, on disk and in memory (a write
 * that fails is logged; the offset is dropped from memory anyway, and
 * group_load drops it at the next open). */
void group_forget_part(struct tfs_topic *t, uint32_t part);

/* ---- partition.c ----------------------------------------------------- */

/* Load (recover) or create partition dir t->path/num; one reference. */
int part_load(struct tfs_topic *t, uint32_t num, bool create,
	      struct tfs_part **out);
/* Remove directory path and the files in it (logged on failure). */
int part_remove_dir(struct tfs_store *st, const char *path);
/* Unlink the partition's files and directory; the object stays usable
 * through the fds it keeps.  Caller holds topic->lock. */
int part_unlink(struct tfs_part *p);
/* Close the .log fds of synced sealed segments that no read has pinned
 * (a later read reopens them), so fds stay bounded by what is in use. */
void part_close_idle_fds(struct tfs_part *p);
/* "a symbolic link", "a FIFO", ...: the kind of file mode is. */
const char *store_kind_str(mode_t mode);
/* 0 when entry name of directory dfd (dir, for messages) is of kind
 * (S_IFDIR, S_IFREG), links not followed; else logged, -EUCLEAN (or the
 * fstatat error). */
int store_want_kind(struct tfs_store *st, int dfd, const char *dir,
		    const char *name, mode_t kind);
/* Free the blocks the active segment allocated past its end (seg_trim). */
void part_trim(struct tfs_part *p);
/* Log and free the held stream writes (close, or fsync found a gap);
 * append_lock held or p unshared. */
void part_early_drop(struct tfs_part *p, const char *why);
/* Store the held stream writes that wait only for disk space, if there is
 * some now (the syncer, once a second). */
void part_early_retry(struct tfs_part *p);
/* Free a partition and its segments (no refcounts). */
void part_free(struct tfs_part *p);
/* Unsynced appends (for the flusher). */
uint64_t part_unsynced(struct tfs_part *p);
/* A stream write that arrived before the bytes in front of it (the
 * kernel writes pages back out of order: a partly written page that is
 * still under writeback is written again after later pages). */
struct part_early {
	struct part_early *next; /* next by offset (or in the store's cache) */
	uint64_t off;		 /* partition offset of data[0] */
	size_t len;		 /* bytes in data */
	size_t cap;		 /* bytes data can hold */
	unsigned char data[];	 /* the bytes, owned */
};
/* Held write-backs up to this size use buffers of exactly this size, kept
 * for reuse in the store's cache (at most PART_HOLD_CACHE of them, freed
 * after a cleaner pass that saw none taken): a write-back is one WRITE,
 * at most max_write (1 MiB), and a freshly allocated megabyte costs page
 * faults and zeroing on every hold. */
#define PART_HOLD_BUF (1u << 20)
#define PART_HOLD_CACHE 32
/* Free the cached hold buffers if none was taken since the last call
 * (the cleaner calls it every pass); all of them when st closes. */
void part_hold_trim(struct tfs_store *st, bool all);
/* Sealed segments wait this long before the syncer makes them durable,
 * so a burst of appends never competes with its own writeback (the
 * kernel writes dirty pages back after 30 s anyway); fsync() waits for no
 * one. */
#define STORE_SEAL_SYNC_MS 5000
/* The cleaner runs retention this often. */
#define STORE_CLEAN_MS 1000
/* Delete the sealed, synced segments at the front that the topic's
 * retention.ms (newest record older than now_ms - retention.ms) or
 * retention.bytes (the rest still hold that many bytes) let go; the start
 * offset moves up, logged.  @return segments deleted, or -ENOMEM. */
int part_retain(struct tfs_part *p, int64_t now_ms);
/* With compression=zstd, rewrite p's sealed, synced segments as
 * <base>.zst (checked frame by frame before the .log goes), oldest first,
 * until none is left or *stop.  @return segments compressed. */
int part_compress(struct tfs_part *p, const _Atomic bool *stop);
/* Sync the sealed segments not yet synced that were sealed at least
 * min_age_ms ago, and mark them; the syncer's work (tfs_part_sync passes
 * 0).  -errno of the first failure (logged). */
int part_sync_sealed(struct tfs_part *p, int64_t min_age_ms);

/* ---- segment.c ------------------------------------------------------- */

/* Path of segment base's file with suffix ext in dir; -ENAMETOOLONG. */
/* "<base 20 digits><ext>" into buf (a file name in a partition dir,
 * for openat(dir_fd, ...)). */
void seg_name(char *buf, size_t size, uint64_t base, const char *ext);
int seg_path(char *buf, size_t size, const char *dir, uint64_t base,
	     const char *ext);
/* Parse a segment file name; 0 with *base and *is_log (.log, else .idx),
 * or -EINVAL. */
int seg_parse_name(const char *name, uint64_t *base, bool *is_log);
/* The base of a segment file name "<20 digits><suffix>" and where its
 * suffix starts; -EINVAL. */
int seg_parse_base(const char *name, uint64_t *base, const char **sfx);
/* Parse a compressed segment's name "<base>.zst"; 0 with *base, or
 * -EINVAL. */
int seg_parse_zst(const char *name, uint64_t *base);
/* Create empty segment files (the index with its header) in p->path. */
int seg_create(struct tfs_part *p, uint64_t base, struct tfs_seg **out);
/* Open a sealed segment after checking it against its index; -EUCLEAN. */
int seg_open_sealed(struct tfs_part *p, uint64_t base, struct tfs_seg **out);
/* Open a compressed sealed segment (<base>.zst, no .log) after checking
 * its layout and its index; -EUCLEAN. */
int seg_open_zst(struct tfs_part *p, uint64_t base, struct tfs_seg **out);
/* Open the active segment, recovering its torn tail (recovery.c). */
int seg_open_active(struct tfs_part *p, uint64_t base, bool last,
		    struct tfs_seg **out);
/* Allocate a segment object with no files. */
struct tfs_seg *seg_alloc(uint64_t base);
/* The .log fd, opened read-only on first use for a sealed segment. */
int seg_data_fd(struct tfs_part *p, struct tfs_seg *seg);
/* The same for a compressed segment's .zst (its zseg's fd), opened again
 * after part_close_idle_fds closed it. */
int seg_zst_fd(struct tfs_part *p, struct tfs_seg *seg);
/* Write one record at the segment's end, then its index entry stamped
 * now_ms, then fdatasync both if sync; on error nothing is left behind.
 * Publishes seg->size, not the partition's end.  Under append_lock. */
int seg_append(struct tfs_part *p, struct tfs_seg *seg, const void *buf,
	       size_t len, int64_t now_ms, bool sync);
/* fdatasync data and index; -errno. */
int seg_sync(struct tfs_seg *seg);
/* Set first_ms and last_ms from the first and last of the segment's
 * entries entries in the index open at ifd (left 0 if unreadable). */
void seg_load_times(struct tfs_seg *seg, int ifd);
/* Close the index fd of a synced or dying segment. */
void seg_seal(struct tfs_seg *seg);
/* Free the .log blocks seg_append allocated past the end of the active
 * segment seg, unmap its index window and cut the .idx back to its
 * entries (before it is sealed, and at unmount).  Under
 * part->append_lock, or with the partition otherwise quiet. */
void seg_trim(struct tfs_part *p, struct tfs_seg *seg);
/* Entries of zeros at the end of the index open at ifd, whose entries
 * span idx_size - FMT_HDR_SIZE bytes (whole entries): what the index
 * windows of seg_append extend the .idx by, which a crash leaves behind.
 * 0 when unreadable. */
uint64_t seg_zero_tail(int ifd, uint64_t idx_size);
/* Make a sealed segment durable (data, index, then directory dir_fd), then
 * write FMT_HDR_F_SYNCED into its header, sync that, and close the index
 * fd (opening it by name in dir_fd if it is closed).  Caller holds
 * part->sync_lock.  -errno. */
int seg_mark_synced(struct tfs_seg *seg, int dir_fd);
/* Whether an index header (the first 32 bytes of an index of size bytes)
 * is torn as only a crash leaves it: the file is shorter than a header,
 * or the header is all zeros (its size reached the disk, its data did
 * not).  Other bad headers are damage. */
bool seg_hdr_torn(const unsigned char *hdr, uint64_t size);
/* The header flags of segment base's index; -ENODATA a torn header
 * (seg_hdr_torn); -errno, or a header error as seg_hdr_check gives. */
int seg_read_flags(struct tfs_part *p, uint64_t base, uint32_t *flags);
void seg_pin(struct tfs_seg *seg);
/* Drop a reference; the last one closes the fds and frees. */
void seg_put(struct tfs_seg *seg);
/* Bytes of the segment's files on disk. */
uint64_t seg_disk_bytes(struct tfs_seg *seg);

/* Index encoding (segment.c). */
void seg_hdr_encode(unsigned char *hdr, uint64_t base, uint32_t flags);

/* "entry F" or "entries F..L" for the index entries [from, to), to >
 * from, into buf (for messages); @return buf. */
static inline const char *seg_ents_str(char *buf, size_t size, uint64_t from,
				       uint64_t to)
{
	if (to - from == 1)
		snprintf(buf, size, "entry %llu", (unsigned long long)from);
	else
		snprintf(buf, size, "entries %llu..%llu",
			 (unsigned long long)from,
			 (unsigned long long)(to - 1));
	return buf;
}
uint32_t seg_hdr_flags(const unsigned char *hdr);
/* 0 valid for base; -EBADMSG bad magic or CRC (torn); -EPROTONOSUPPORT
 * another version; -EUCLEAN intact but wrong base or entry size. */
int seg_hdr_check(const unsigned char *hdr, uint64_t base);
/* An index entry as decoded. */
struct seg_entry {
	uint64_t off;	 /* partition offset of the record */
	uint32_t len;	 /* record length */
	uint32_t dcrc;	 /* CRC32C of the record's bytes */
	int64_t time_ms; /* append time */
};
void seg_ent_encode(unsigned char *raw, const struct seg_entry *e);
/* 0, or -EUCLEAN when the entry's own CRC does not match. */
int seg_ent_decode(const unsigned char *raw, struct seg_entry *e);
/* Full pread/pwrite loops; -errno, or -EIO on a premature end of file. */
int seg_pread_all(int fd, void *buf, size_t len, uint64_t pos);
/* A page-aligned buffer of len bytes (free() it), NULL without memory:
 * for every buffer that pread() fills.  The kernel's copy into user memory
 * runs several times slower when the destination is not 64-byte aligned
 * (measured 5x on this AMD EPYC VM), and malloc() returns 16-byte
 * aligned memory. */
void *seg_buf_alloc(size_t len);
int seg_pwrite_all(int fd, const void *buf, size_t len, uint64_t pos);

/* ---- verify.c -------------------------------------------------------- */

/* Check seg's records in [0, check_size) against their index CRCs, once;
 * damaged records become damaged ranges (logged with file and offset).
 * Sets checked, unless the files cannot be opened (then the next read
 * tries again). */
void vfy_segment(struct tfs_part *p, struct tfs_seg *seg, bool background);
/* A read is at segment i of p (seg_lock held shared): queue the check of
 * segment i + 1 for the checker thread if it still needs one, so a
 * sequential reader finds it checked (the check overlaps the reads of
 * segment i, and pulls a cold segment into the page cache ahead of
 * them). */
void vfy_ahead(struct tfs_part *p, size_t i);
/* The checker thread (arg: the store); stops at vfy_stop. */
void *vfy_checker(void *arg);
/* Drop the queued checks, without vfy_mu (the checker has stopped and
 * vfy_stop keeps the queue as it is). */
void vfy_drain(struct tfs_store *st);
/* Damage the whole segment (its files are missing or do not match its
 * index; why says how), logged; sets checked. */
void vfy_mark_all(struct tfs_part *p, struct tfs_seg *seg, const char *why);
/* How much of [pos, pos + len) of a checked segment reads before a
 * damaged range: len, fewer, or -EIO when pos is in one. */
ssize_t vfy_clip(const struct tfs_seg *seg, uint64_t pos, size_t len);

/* ---- recovery.c ------------------------------------------------------ */

/* Recover the active segment whose files are open at seg->fd and
 * seg->idx_fd: fix the index header, cut torn index entries, check the
 * data of every record at or past p->rp and cut from the first that
 * fails, log each cut; sets seg->size, seg->entries and seg->check_size
 * (the records before those it checked). */
int rec_active(struct tfs_part *p, struct tfs_seg *seg, bool last);

/* ---- rpoint.c: TOPIC/P/recovery-point ---------------------------------- */

/* The recovery point in dir_fd: 0 and *off; -ENOENT none; -EBADMSG torn
 * or foreign (treat as none); -errno. */
int rp_read(int dir_fd, uint64_t *off);
/* Write off as dir_fd's recovery point, in place, unsynced.  -errno. */
int rp_write(int dir_fd, uint64_t off);
/* Least ms between two writes of a partition's recovery point. */
#define PART_RP_MS 1000
/* Write the partition's durable end as its recovery point if it moved
 * (partition.c; the store's close, after its last sync). */
void part_flush_rp(struct tfs_part *p);

#endif /* TOPICFS_STORE_INTERNAL_H */
