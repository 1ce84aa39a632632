/*
 * topicfs/store.h - the segment store: topics, partitions, appends, reads.
 *
 * A library with no FUSE in it.  A store is a data directory holding topics;
 * a topic holds dense partitions 0..N-1; a partition is an append-only byte
 * log kept as a list of segment files (see docs/FORMAT.md).  Offsets are byte
 * offsets into the partition and never change once assigned.
 *
 * Conventions
 * - Functions return 0 or a count on success and a negative errno on failure;
 *   each function lists the errors it can return.  tfs_strerror() names them.
 * - Handles are opaque and reference counted.  Every function that hands out
 *   a handle (…_open, …_create) gives the caller one reference, which the
 *   caller drops with the matching …_put.  tfs_topic_ref/tfs_part_ref add
 *   references (the FUSE layer keeps one per kernel lookup).
 * - A deleted topic or partition stays usable through the handles that are
 *   still held, like an unlinked Unix file that is still open: its files are
 *   gone from the data directory, reads and appends on open handles keep
 *   working, and its memory is freed with the last reference (or at
 *   tfs_store_close).
 * - All functions are thread-safe.  Lock order (outermost first):
 *   store->lock, topic->lock, part->append_lock, part->seg_lock (the full
 *   order, with the leaf locks, is in store/internal.h).
 */
#ifndef TOPICFS_STORE_H
#define TOPICFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TFS_VERSION "0.1.0"

/* Topic names: 1..249 of [A-Za-z0-9._-], not "." or "..", and (topicfs's
 * own rule) not starting with '.', which is reserved for views and control
 * files such as .stats and .follow. */
#define TFS_TOPIC_NAME_MAX 249
/* Partitions per topic: numbers 0..TFS_MAX_PARTITIONS-1. */
#define TFS_MAX_PARTITIONS 100000u
/* Largest single append (one record).  The FUSE layer never sends more than
 * its 1 MiB request size; the store refuses more than this. */
#define TFS_MAX_RECORD_BYTES (16u << 20)
/* Default and smallest segment size. */
#define TFS_DEFAULT_SEGMENT_BYTES (64ull << 20)
#define TFS_MIN_SEGMENT_BYTES 4096ull
/* Most decompressed bytes one tfs_part_read_map() returns. */
#define TFS_MAP_MEM_MAX (1u << 20)
/* Offset meaning "wherever the end is" for tfs_part_append(). */
#define TFS_OFFSET_ANY UINT64_MAX

struct tfs_store;
struct tfs_topic;
struct tfs_part;
struct tfs_seg;

/* Log priorities: the syslog values (LOG_ERR 3, LOG_WARNING 4, LOG_NOTICE 5,
 * LOG_INFO 6, LOG_DEBUG 7). */
typedef void (*tfs_log_fn)(int prio, const char *msg);

/* ---- configuration --------------------------------------------------- */

/* A topic's configuration, Kafka's keys.  Mount options give the store's
 * defaults; a topic overrides any of them in DATADIR/TOPIC/.config (the
 * keys it sets are in set, bit TFS_CFG_BIT(key)).  Values as Kafka means
 * them; -1 in a retention key means "no limit". */
enum tfs_cfg_key {
	TFS_CFG_RETENTION_MS,	   /* retention.ms: delete sealed segments
				      whose newest record is older; -1 */
	TFS_CFG_RETENTION_BYTES,   /* retention.bytes: per partition; -1 */
	TFS_CFG_SEGMENT_BYTES,	   /* segment.bytes: roll at this size */
	TFS_CFG_SEGMENT_MS,	   /* segment.ms: roll a segment this old */
	TFS_CFG_COMPRESSION,	   /* compression: TFS_COMPRESSION_* */
	TFS_CFG_COMPRESSION_LEVEL, /* compression.level: zstd 1..19 */
	TFS_CFG_FLUSH_MESSAGES,	   /* flush.messages: 0 = never */
	TFS_CFG_FLUSH_MS,	   /* flush.ms: 0 = never */
	TFS_CFG_MAX_MESSAGE_BYTES, /* max.message.bytes: largest record */
	TFS_CFG_KEY_SEPARATOR,	   /* key.separator: TOPIC/.produce keys a
				      record by the bytes before it (a
				      string: key_sep, not v) */
	TFS_CFG_NKEYS
};
#define TFS_CFG_BIT(key) (1u << (key))
enum { TFS_COMPRESSION_NONE, TFS_COMPRESSION_ZSTD };

/* Longest key.separator, in bytes. */
#define TFS_KEY_SEP_MAX 8

struct tfs_config {
	int64_t v[TFS_CFG_NKEYS]; /* value of each number key; 0 for
				     key.separator, which lives in key_sep */
	char key_sep[TFS_KEY_SEP_MAX + 1]; /* key.separator: 1 to 8 bytes,
				     none of them NUL, NUL-terminated; ""
				     when none (records have no key) */
	uint32_t set;		  /* keys given explicitly (TFS_CFG_BIT) */
};

/* The built-in defaults (set = 0): retention forever, segment.bytes 64M,
 * segment.ms 7 days, compression none, level 3, no flush policy,
 * max.message.bytes 1M, no key.separator.  Zeroes the whole struct
 * first, so two configs with the same values compare equal bytewise. */
void tfs_config_init(struct tfs_config *cfg);
/* Name of key k ("retention.ms"), or NULL past the last. */
const char *tfs_config_key_name(unsigned k);
/*
 * Apply "key=value" lines (text, len bytes: '\n'-separated; blank lines and
 * '#' comments, also after a value, are ignored; spaces around key and
 * value are trimmed) to cfg, all or nothing.  Each key set is marked in
 * cfg->set; "key=" (an empty value) clears the mark, and the caller's
 * defaults apply again (tfs_config_merge).  Sizes (retention.bytes,
 * segment.bytes, max.message.bytes) take K, M, G, T suffixes.
 *
 * key.separator is 1 to 8 bytes after these escapes: \t tab, \n newline,
 * \r carriage return, \\ backslash, \xHH the byte HH (two hex digits,
 * not 00); any other byte stands for itself.  A space (trimmed) or '#' (a
 * comment) must be written \x20 or \x23; a NUL byte cannot be one.
 * @param[out] err  a one-line reason on failure (may be NULL)
 * @return 0; -EINVAL unknown key, bad or out-of-range value, a line
 *   without '=', a NUL byte, a line over 4 KiB, or a key.separator over 8
 *   bytes or with a bad escape (a backslash before anything else, \x
 *   without two hex digits, \x00) (cfg unchanged).
 */
int tfs_config_parse(struct tfs_config *cfg, const char *text, size_t len,
		     char *err, size_t errlen);
/* Effective values: over's set keys, def's values for the rest; out->set
 * = over->set. */
void tfs_config_merge(struct tfs_config *out, const struct tfs_config *def,
		      const struct tfs_config *over);
/* The value of key k as config text ("none", "604800000"), in a form
 * tfs_config_parse takes back: key.separator escaped as it describes
 * ("\t", "\x20"; at most 32 characters), "" when none.
 * @return the length (like snprintf); -EINVAL k is not a key. */
int tfs_config_value(const struct tfs_config *cfg, unsigned k, char *buf,
		     size_t size);
/*
 * cfg as "key=value" lines, one per key, in key order; keys not in
 * cfg->set end with "  # default" when mark_defaults, or are left out
 * when not (that is the persisted form).
 * @return the length (like snprintf: may exceed size, then truncated).
 */
size_t tfs_config_format(const struct tfs_config *cfg, bool mark_defaults,
			 char *buf, size_t size);

/* Mount-wide options: the defaults of every topic's configuration, and
 * where messages go.  Fill with tfs_store_opts_init() first. */
struct tfs_store_opts {
	struct tfs_config cfg; /* topic defaults (cfg.set is ignored) */
	tfs_log_fn log;	       /* where recovery and errors are reported;
				  NULL = stderr */
	void (*grew)(struct tfs_part *p); /* called, with no store lock
				  held, when the store's own syncer moved
				  p's end (stream write-backs held for a
				  full disk, stored once there is space), so
				  that readers waiting at the end wake; NULL:
				  none */
	void (*refused)(struct tfs_part *p, uint64_t off, uint64_t len);
			       /* called, with p's append lock held, when a
				  stream write-back [off, off + len) is
				  refused (tfs_part_write_at, or a held one
				  stored late), so that the caller drops the
				  kernel's copy; it must not call into p;
				  NULL: none */
};

/* Built-in defaults, log = NULL, grew = NULL. */
void tfs_store_opts_init(struct tfs_store_opts *opts);

/* What getfattr shows (user.topicfs.*) and stat needs. */
struct tfs_part_info {
	uint64_t start;      /* first readable offset */
	uint64_t end;        /* end offset: every byte ever appended */
	uint64_t records;    /* records between start and end */
	uint64_t segments;   /* segment count */
	uint64_t disk_bytes; /* bytes of segment data and index files */
	int64_t mtime_ms;    /* time of the last append (ms since the epoch);
				creation time if none */
};

/* A piece of a read: len bytes at file position pos of fd, or, for a
 * compressed segment, len bytes at mem (a decompressed copy; fd is -1).
 * seg is pinned (the fd stays open) and mem allocated until
 * tfs_part_read_unmap(). */
struct tfs_extent {
	int fd;
	uint64_t pos;
	size_t len;
	struct tfs_seg *seg;
	void *mem;
};

/* ---- errors ---------------------------------------------------------- */

/* Message for a negative errno from this API, with the store's own
 * meanings (-EUCLEAN: damaged data, -EPROTONOSUPPORT: unknown format
 * version, -ESPIPE: conditional append at the wrong offset). */
const char *tfs_strerror(int err);

/* How long tfs_dir_lock waits for a holder to let go. */
#define TFS_LOCK_WAIT_MS 5000

/*
 * Lock the data dir open at dfd for one user at a time (flock LOCK_EX),
 * waiting up to TFS_LOCK_WAIT_MS for a holder to let go: a daemon that
 * fusermount3 -u just unmounted is still syncing and exiting.
 * tfs_store_open takes it; topicfs-fsck --repair too.
 * @return 0; -EBUSY still held by another; -errno.
 */
int tfs_dir_lock(int dfd);

/* ---- the store ------------------------------------------------------- */

/*
 * Open (and, when empty, initialise) the data directory dir, recovering the
 * tail of every partition's active segment (each cut is logged).
 * @param[in] dir   an existing directory
 * @param[in] opts  NULL for defaults; copied
 * @param[out] out  the store
 * @return 0; -ENOENT/-ENOTDIR/-EACCES dir unusable; -EPROTONOSUPPORT data
 *   dir of an unknown format version; -EINVAL dir is not empty and not a
 *   topicfs data dir, or bad opts (segment_bytes below the minimum);
 *   -EUCLEAN damage that recovery may not repair (a sealed segment
 *   inconsistent with its index, a gap between segments): the message
 *   names the file and offset; -EBUSY another process has dir open (a
 *   mount, or topicfs-fsck --repair: the store holds an flock on dir until
 *   tfs_store_close); -ENOMEM; -EIO.
 */
int tfs_store_open(const char *dir, const struct tfs_store_opts *opts,
		   struct tfs_store **out);
/* Sync everything, stop the flusher, free every object (held handles
 * become invalid). */
void tfs_store_close(struct tfs_store *st);
/* Run retention once now, as a background thread does every second:
 * delete the sealed segments at the front of each partition that its
 * topic's retention.ms or retention.bytes let go (only segments already
 * synced; sealed segments are synced about 5 s after they roll). */
void tfs_store_clean(struct tfs_store *st);
/* Effective options. */
const struct tfs_store_opts *tfs_store_opts(const struct tfs_store *st);
/* Sorted names of all topics, malloc'ed; free with tfs_names_free().
 * @return the count, or -ENOMEM. */
ssize_t tfs_store_list(struct tfs_store *st, char ***names);
void tfs_names_free(char **names, size_t n);

/* ---- topics ---------------------------------------------------------- */

/* @return 0 if name is a valid topic name, else -EINVAL. */
int tfs_topic_name_valid(const char *name);
/* @return 0; -EINVAL bad name; -ENOENT no such topic. */
int tfs_topic_open(struct tfs_store *st, const char *name,
		   struct tfs_topic **out);
/* Create a topic with no partitions (directory made and synced).
 * @return 0; -EINVAL bad name; -EEXIST; -ENOSPC; -EIO. */
int tfs_topic_create(struct tfs_store *st, const char *name,
		     struct tfs_topic **out);
/* Delete a topic that has no partitions, with its consumer groups and
 * its configuration.
 * @return 0; -EINVAL bad name; -ENOENT; -ENOTEMPTY it has partitions (or
 *   its directory holds files topicfs does not know); -EIO. */
int tfs_topic_delete(struct tfs_store *st, const char *name);
void tfs_topic_ref(struct tfs_topic *t, uint64_t n);
void tfs_topic_put(struct tfs_topic *t, uint64_t n);
const char *tfs_topic_name(const struct tfs_topic *t);
/* Number of partitions (0 once deleted). */
uint32_t tfs_topic_partitions(struct tfs_topic *t);
int tfs_topic_deleted(struct tfs_topic *t);
/* The topic's effective configuration: the store's defaults with the
 * topic's own keys over them (out->set says which are its own). */
void tfs_topic_config(struct tfs_topic *t, struct tfs_config *out);
/*
 * Apply config lines (as tfs_config_parse) to the topic's own keys, persist
 * them atomically (DATADIR/TOPIC/.config: write a temp file, fsync, rename,
 * fsync the directory) and make them effective at once.
 * @return 0; -EINVAL bad lines (err says why; nothing changed); -ENOENT
 *   topic deleted; -ENOSPC/-EDQUOT/-EIO (logged; nothing changed).
 */
int tfs_topic_config_set(struct tfs_topic *t, const char *text, size_t len,
			 char *err, size_t errlen);

/* ---- keyed produce (store/partitioner.c) ------------------------------ */

/*
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2: seed
 * 0x9747b28c, m 0x5bd1e995, r 24, with its exact tail handling), as a
 * signed 32-bit value like Java's int.  Never fails.
 * @param[in] key  len bytes (NULL allowed when len is 0)
 */
int32_t tfs_murmur2(const void *key, size_t len);
/*
 * The partition Kafka's default partitioner picks for a non-null key:
 * toPositive(murmur2(key)) % n, where toPositive(x) = x & 0x7fffffff.
 * @param[in] n  the partition count, > 0 (asserted: callers check first)
 * @return a partition number below n; never fails.
 */
uint32_t tfs_kafka_partition(const void *key, size_t len, uint32_t n);

/* A *sticky that has not chosen a partition yet (tfs_topic_route). */
#define TFS_STICKY_NONE UINT32_MAX

/*
 * Choose the partition for a record of topic t written to TOPIC/.produce.
 * With the topic's effective key.separator set and found in buf, the key
 * is the bytes before its first occurrence (may be empty: an empty key is
 * a key) and the partition is tfs_kafka_partition(key, partitions).
 * Without a separator in the config or in the record, the record has no
 * key: the partition is *sticky, a per-open-file state the caller keeps
 * (initially TFS_STICKY_NONE), which is set to a random partition on
 * first use and kept, as Kafka's sticky partitioner keeps one per batch;
 * a sticky partition that no longer exists (partitions were deleted) is
 * chosen again.  The whole record (key, separator and value) is what the
 * caller appends (tfs_part_open, tfs_part_append); the partition can be
 * deleted in between, and tfs_part_open then says -ENOENT.
 * @param[in] buf         the record, len bytes (binary: NULs are bytes)
 * @param[in,out] sticky  the open file's sticky partition; read and
 *   updated atomically, so writes on one open file from several threads
 *   agree on one partition
 * @return the partition number; -ENOENT the topic has no partitions (or
 *   is deleted).
 */
int64_t tfs_topic_route(struct tfs_topic *t, const void *buf, size_t len,
			uint32_t *sticky);

/* ---- partitions ------------------------------------------------------ */

/* Parse a partition file name: decimal, no sign, no leading zeros, below
 * TFS_MAX_PARTITIONS.  @return 0 and *n; -EINVAL otherwise. */
int tfs_part_name_parse(const char *name, uint32_t *n);
/* @return 0; -ENOENT no partition n (or topic deleted). */
int tfs_part_open(struct tfs_topic *t, uint32_t n, struct tfs_part **out);
/* Create partition n, which must be the next one (n == count).
 * @return 0; -EEXIST n < count; -EINVAL n > count (partitions are dense)
 *   or n >= TFS_MAX_PARTITIONS; -ENOENT topic deleted; -ENOSPC; -EIO. */
int tfs_part_create(struct tfs_topic *t, uint32_t n, struct tfs_part **out);
/* Delete partition n with its data; only the highest one may go.  Every
 * consumer group forgets its offset for n (each such group's file is
 * rewritten).
 * @return 0; -ENOENT; -EBUSY n is not the highest partition; -EIO. */
int tfs_part_delete(struct tfs_topic *t, uint32_t n);
void tfs_part_ref(struct tfs_part *p, uint64_t n);
void tfs_part_put(struct tfs_part *p, uint64_t n);
uint32_t tfs_part_number(const struct tfs_part *p);
struct tfs_topic *tfs_part_topic(const struct tfs_part *p); /* no ref */

/* Records appended per second over the last minute (for .stats). */
double tfs_part_rate(struct tfs_part *p);
/* End offset (acquire load; every append that returned is below it). */
uint64_t tfs_part_end(struct tfs_part *p);
/* Whether p was deleted (its handles still read and append). */
bool tfs_part_deleted(struct tfs_part *p);
void tfs_part_info(struct tfs_part *p, struct tfs_part_info *info);
/* Whether an append to p may fsync before it returns (its topic's
 * flush.messages is set). */
bool tfs_part_may_sync(struct tfs_part *p);
/* Whether a read of [off, off+len) would be served from memory now:
 * every segment it touches is checked, undamaged, not compressed, open,
 * and its bytes are in the page cache (cachestat(2); false where the
 * kernel lacks it). */
bool tfs_part_read_cached(struct tfs_part *p, uint64_t off, size_t len);

/*
 * Append len bytes as one record, atomically: they land contiguously at the
 * end, are in the segment file and the index when this returns (so they
 * survive a crash of the process), and become visible to readers at once.
 * @param[in] expect  TFS_OFFSET_ANY, or the offset the caller believes is
 *   the end: the append happens only if it is (compare-and-append)
 * @param[out] off    if not NULL, the offset the record was stored at
 * @return len; 0 for len 0 (nothing stored); -ESPIPE expect != end;
 *   -EMSGSIZE len > TFS_MAX_RECORD_BYTES; -ENOSPC/-EDQUOT disk full
 *   (nothing is left half-written); -EIO.
 */
ssize_t tfs_part_append(struct tfs_part *p, const void *buf, size_t len,
			uint64_t expect, uint64_t *off);
/*
 * Stream mode: store bytes [off, off+len) that the kernel's writeback cache
 * sends.  Bytes below the end were stored before and must be equal; they are
 * compared and skipped.  The rest is appended as one record.  The kernel
 * writes pages back out of order (a partly written page still under
 * writeback is written again after later pages), so a write that starts
 * past the end is held in memory, neither visible nor durable, until the
 * bytes before it arrive; tfs_part_sync fails while any is held.
 * @return len (stored or held); -EIO bytes below the end differ from the
 *   stored ones (an overwrite: logged, nothing stored), or too much is held
 *   already (logged); -EINVAL off + len overflows 64 bits; -EMSGSIZE;
 *   -ENOMEM; -ENOSPC/-EDQUOT (nothing half-written); other -errno as
 *   tfs_part_append.
 */
ssize_t tfs_part_write_at(struct tfs_part *p, const void *buf, size_t len,
			  uint64_t off);
/* Stream write-backs refused or lost so far (bytes over stored ones that
 * differ: logged, and the rest of the write-back stored; or a write-back
 * that failed), for telling writers. */
uint64_t tfs_part_refused(struct tfs_part *p);
/* The end counting held stream writes (past the end, acknowledged): the
 * size to show a kernel that forgot its own. */
uint64_t tfs_part_held_end(struct tfs_part *p);
/*
 * Stream mode, once the kernel has written back every dirty page (before
 * it sends FSYNC or FLUSH): a held write that still waits for the bytes
 * in front of it waits for a hole, which the kernel never writes back (a
 * pwrite() past the end).  Store zeros for such holes of up to 64 MiB,
 * then what was held.  @return 0; -EIO a larger hole (logged; its held
 * bytes stay held); -ENOSPC and other -errno as tfs_part_append.
 */
int tfs_part_fill_holes(struct tfs_part *p);
/* Whether stream writes are held (tfs_part_write_at): acknowledged bytes
 * the store does not have yet, so the partition is not known to be
 * empty. */
bool tfs_part_held(struct tfs_part *p);
/*
 * Copy the held stream writes within [off, off + len) into buf, zeros
 * between them (a hole the kernel never writes back): a held write-back
 * is acknowledged, so a read of its range must return it, not the zeros
 * a short read becomes.
 * @return bytes filled, up to the last held byte in the range (0: none);
 *   -EAGAIN off is below the end now (the store has it: read it).
 */
ssize_t tfs_part_pread_held(struct tfs_part *p, void *buf, size_t len,
			    uint64_t off);
/* The first readable offset (retention's start). */
uint64_t tfs_part_start(struct tfs_part *p);
/* Stream writes (tfs_part_write_at) since the store was opened, into
 * *out: how many were held in memory because they arrived ahead of the
 * end, and their bytes. */
struct tfs_held_stats {
	uint64_t held_writes, held_bytes;
};
void tfs_store_held(struct tfs_store *st, struct tfs_held_stats *out);
/*
 * Map up to len bytes from offset off onto at most max extents (pinned
 * segment files), for a zero-copy reply; bytes of compressed segments are
 * decompressed into memory extents (at most TFS_MAP_MEM_MAX per call).
 * Fewer bytes than asked are mapped at the end of the partition, when max
 * extents run out, after TFS_MAP_MEM_MAX decompressed bytes, and before a
 * damaged range (the next call fails with -EIO).
 * @return bytes mapped (0 at or past the end), *n extents filled;
 *   -ERANGE off is below the start; -EIO off is in a damaged range
 *   (logged with the file and offset), or a segment could not be opened;
 *   -EMFILE; -ENOMEM.
 */
ssize_t tfs_part_read_map(struct tfs_part *p, uint64_t off, size_t len,
			  struct tfs_extent *ext, size_t max, size_t *n);
void tfs_part_read_unmap(struct tfs_extent *ext, size_t n);
/* Copying read: like pread(2), never short before the end.
 * @return bytes read; -ERANGE; -EIO. */
ssize_t tfs_part_pread(struct tfs_part *p, void *buf, size_t len,
		       uint64_t off);
/* Make every append so far durable: data and index of every segment not
 * yet synced, and the directory entries of new segments.
 * @return 0; -EIO (also while stream writes are held past the end). */
int tfs_part_sync(struct tfs_part *p);

/* ---- seeking ----------------------------------------------------------- */

/*
 * The offset of the first record whose append time (its index entry's
 * timestamp, ms since the epoch, CLOCK_REALTIME at the append) is >= ms;
 * the end offset if there is none; the start offset if ms is at or before
 * every record.  A binary search over the segments by their first and
 * last record times (in memory), then over the index entries of one
 * segment: about log2(records in it) reads of 32 bytes, none when the
 * answer is a segment's first record.  Times are sorted in practice
 * (appends are serialised), but a clock step can make them go back: a
 * segment whose times do is scanned forward instead, and its first entry
 * >= ms wins.  Appends note that for the segments they write; the first
 * seek by time into a segment loaded from disk reads its whole index once
 * (32 bytes per record) to learn it.  Compressed segments are searched the
 * same way (their .idx is unchanged).  Safe against concurrent appends,
 * rolls, retention and compression: the answer is right for some moment
 * during the call (a record appended meanwhile may be the answer; "none"
 * gives the end as it was when the call began).
 * Damaged stand-ins for missing segments hold no records and are skipped.
 * @param[in] ms    the time, ms since the epoch
 * @param[out] off  the offset
 * @return 0; -ENOENT the partition is deleted (its index files are gone);
 *   -EIO an index is unreadable or an entry fails its CRC (logged with the
 *   file and entry).
 */
int tfs_part_seek_time(struct tfs_part *p, int64_t ms, uint64_t *off);
/*
 * The offset of the record n records before the end: n = 0 gives the end,
 * n >= the records kept gives the start.  Walks the per-segment record
 * counts back from the end (in memory), then reads one index entry (none
 * when the record is a segment's first).  Concurrency as for
 * tfs_part_seek_time (a record appended meanwhile may count as the last).
 * @param[in] n     records back from the end
 * @param[out] off  the offset
 * @return 0; -ENOENT the partition is deleted; -EIO the index is
 *   unreadable or the entry fails its CRC (logged).
 */
int tfs_part_seek_last(struct tfs_part *p, uint64_t n, uint64_t *off);
/*
 * The start of the record that holds offset off: off itself when a record
 * starts there, at the end, or outside the kept records (below the start,
 * past the end, or in a damaged segment's range).  A binary search of one
 * segment's index (a few 32-byte reads).  Concurrency as for
 * tfs_part_seek_time.
 * @param[in] off     a partition offset
 * @param[out] start  the offset of that record's first byte
 * @return 0; -ENOENT the partition is deleted; -EIO the index is
 *   unreadable or an entry fails its CRC (logged).
 */
int tfs_part_seek_record(struct tfs_part *p, uint64_t off, uint64_t *start);

/* ---- consumer groups --------------------------------------------------- */

/*
 * A consumer group belongs to a topic and holds one committed offset per
 * partition (only for partitions committed so far).  Groups live in memory
 * and in DATADIR/TOPIC/.groups/GROUP (see docs/FORMAT.md), which every
 * change replaces atomically and durably before the call returns.  All
 * group calls of one topic serialise on one lock, which a commit, create
 * or delete holds across its writes and fsyncs (about two fsyncs each);
 * tfs_group_offset, _list and _exists take it briefly, but wait for a
 * write in progress.  Group names follow the topic name rule
 * (tfs_topic_name_valid).  Deleting the topic removes its groups;
 * deleting a partition drops its offsets from every group.
 */

/* Create group name, with no offsets committed.
 * @return 0; -EINVAL bad name; -EEXIST; -ENOENT topic deleted; -ENOMEM;
 *   -ENOSPC/-EDQUOT/-EIO (logged; nothing created). */
int tfs_group_create(struct tfs_topic *t, const char *name);
/* Delete group name and its offsets.
 * @return 0; -EINVAL bad name; -ENOENT no such group (or topic deleted);
 *   -EIO (logged): the file could not be removed (the group stays), or
 *   the directory sync failed (the group is gone, but a crash may bring
 *   it back). */
int tfs_group_delete(struct tfs_topic *t, const char *name);
/* Sorted names of the topic's groups, malloc'ed; free with
 * tfs_names_free().  A deleted topic has none.
 * @return the count; -ENOMEM. */
ssize_t tfs_group_list(struct tfs_topic *t, char ***names);
/* @return 1 if group name exists, else 0 (also for a bad name or a
 * deleted topic). */
int tfs_group_exists(struct tfs_topic *t, const char *name);
/*
 * The offset group name reads partition part from.  A partition the group
 * never committed starts at the partition's start offset (Kafka's
 * auto.offset.reset=earliest): *off = start, *committed = false.  A
 * committed offset that retention has passed is returned as it is (below
 * the start: the group fell behind, and reads there fail with -ERANGE
 * until a new offset is committed).  O(log) in memory, plus
 * tfs_part_info() for the start.
 * @param[out] off        the offset
 * @param[out] committed  whether the group committed one for part
 * @return 0; -ENOENT no such group or partition (or topic deleted).
 */
int tfs_group_offset(struct tfs_topic *t, const char *name, uint32_t part,
		     uint64_t *off, bool *committed);
/*
 * Commit off for partition part, durably: the group's file is written,
 * fsynced and renamed, and the directory fsynced, before this returns.
 * Any off up to the end is taken, also one lower than before (a rewind)
 * or one below the start, and it need not be a record boundary.
 * @return 0; -EINVAL off > the partition's end; -ENOENT no such group or
 *   partition (or topic deleted); -ENOMEM; -ENOSPC/-EDQUOT/-EIO (logged;
 *   nothing changed, in memory or on disk).
 */
int tfs_group_commit(struct tfs_topic *t, const char *name, uint32_t part,
		     uint64_t off);
/*
 * tfs_group_commit, but only into the group as it was when id was taken
 * (tfs_group_id; a group deleted and made again by the same name is
 * another), and only for partition p (not a partition made again under
 * its number after a delete).  p NULL, id 0: any.
 * @return as tfs_group_commit; -ENOENT also when the group or the
 *   partition is not that one.
 */
int tfs_group_commit_as(struct tfs_topic *t, const char *name, uint32_t part,
			uint64_t off, const struct tfs_part *p, uint64_t id);
/* The id of group name now (for tfs_group_commit_as).  @return 0;
 * -ENOENT no such group. */
int tfs_group_id(struct tfs_topic *t, const char *name, uint64_t *id);

#endif /* TOPICFS_STORE_H */
