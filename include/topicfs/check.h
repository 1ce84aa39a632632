/*
 * topicfs/check.h - the offline checker behind topicfs-fsck: walk a data
 * directory read-only, verify every file of format 1 (docs/FORMAT.md)
 * down to each record's data CRC, and report what is found through a
 * callback, one finding at a time, then one summary per partition.
 *
 * The checker never changes the data directory.  It tells apart what a
 * crash leaves behind (a torn tail of an active segment, which recovery at
 * the next tfs_store_open() cuts; leftovers it removes) from damage (which
 * no crash of topicfs produces: flipped bytes, missing or cut files, gaps).
 * Repairing is tfs_store_open()'s recovery; topicfs-fsck --repair calls it.
 */
#ifndef TOPICFS_CHECK_H
#define TOPICFS_CHECK_H

#include <stdint.h>

/* How serious a finding is. */
enum tfs_check_kind {
	TFS_CHECK_NOTE,	  /* nothing wrong with the data: a leftover that
			     recovery removes, a file topicfs ignores, a
			     part not checked (topic config) */
	TFS_CHECK_TORN,	  /* what a crash (or a power loss) leaves: a torn
			     tail that recovery cuts; not damage */
	TFS_CHECK_DAMAGE, /* damage: no crash of topicfs leaves this */
	TFS_CHECK_PART,	  /* one partition's summary; report->part is set */
};

/* What a finding is about, for programs (report->msg says it for people). */
enum tfs_check_what {
	TFS_CHECK_W_NONE,	/* a TFS_CHECK_PART summary */
	TFS_CHECK_W_FORMAT,	/* the format file DATADIR/.topicfs */
	TFS_CHECK_W_UNKNOWN,	/* a file topicfs ignores (bad name) */
	TFS_CHECK_W_LEFTOVER,	/* *.tmp, P.deleted, a .zst beside its .log
				   (interrupted compression), a format 1
				   dir: recovery removes (upgrades) it */
	TFS_CHECK_W_RETENTION,	/* <base>.log.deleted (.zst, .idx): a
				   retention delete recovery finishes */
	TFS_CHECK_W_UNCHECKED,	/* present but not checked (TOPIC/.config) */
	TFS_CHECK_W_PARTITIONS, /* partition numbers not dense, a partition
				   that is not a directory */
	TFS_CHECK_W_MISSING,	/* a segment's .log or .idx is missing, or a
				   partition has no segments */
	TFS_CHECK_W_GAP,	/* a segment does not start where the
				   previous one ends */
	TFS_CHECK_W_HEADER,	/* index header: size, magic, CRC, version,
				   base */
	TFS_CHECK_W_ENTRY,	/* an index entry: CRC, not contiguous, past
				   the .log, partial */
	TFS_CHECK_W_DATA,	/* a record's data fails its CRC32C (or its
				   compressed frame is damaged) */
	TFS_CHECK_W_ZST,	/* a compressed segment's (.zst) header,
				   frame table or trailer */
	TFS_CHECK_W_SIZE,	/* a sealed .log is longer or shorter than
				   its index says */
	TFS_CHECK_W_TAIL,	/* a torn tail recovery would cut (or drop:
				   segments after a cut unsynced one) */
	TFS_CHECK_W_IO,		/* a file could not be read */
};

/* Overall state of a partition (tfs_check_part.status). */
enum tfs_check_status {
	TFS_CHECK_OK,	   /* every file checks out */
	TFS_CHECK_TORN_TAIL, /* only torn tails (and notes) */
	TFS_CHECK_DAMAGED, /* at least one TFS_CHECK_DAMAGE finding */
};

/* One partition's summary line (valid during the callback only). */
struct tfs_check_part {
	const char *topic;	    /* topic name */
	uint32_t num;		    /* partition number */
	enum tfs_check_status status; /* worst finding in this partition */
	uint64_t segments;	    /* segments on disk (a .log or .zst) */
	uint64_t records;	    /* records recovery keeps */
	uint64_t start;		    /* first offset: the lowest base */
	uint64_t end;		    /* end offset once recovery has cut the
				       torn tail */
	uint64_t bytes;		    /* bytes of segment files on disk */
	uint64_t torn_log_bytes;    /* .log bytes recovery would cut */
	uint64_t torn_idx_bytes;    /* .idx bytes recovery would cut */
	uint64_t bad_records;	    /* records whose index entry or data is
				       damaged */
	const char *bad_file;	    /* the file of the first damage, relative
				       to the data dir; NULL when none */
	int64_t bad_pos;	    /* byte offset in bad_file of the first
				       damage; -1 when not about one byte */
};

/* One finding, or (kind TFS_CHECK_PART) one partition's summary.  Every
 * string is valid during the callback only. */
struct tfs_check_report {
	enum tfs_check_kind kind; /* how serious */
	enum tfs_check_what what; /* what it is about */
	const char *file;	  /* the file or directory it is about,
				     relative to the data dir ("" for the
				     data dir itself), e.g.
				     "orders/0/00000000000000004096.log" */
	int64_t pos;		  /* byte offset in file of the problem, or
				     -1 when it is not about one byte */
	const char *msg;	  /* what was found, one line, no newline;
				     offsets in it are partition offsets
				     unless it says otherwise */
	const struct tfs_check_part *part; /* TFS_CHECK_PART: the summary;
					      else NULL */
};

/* Counts over the whole data dir. */
struct tfs_check_summary {
	uint64_t topics;	/* topic directories checked */
	uint64_t partitions;	/* partition directories checked */
	uint64_t segments;	/* segments on disk */
	uint64_t records;	/* records recovery keeps */
	uint64_t bytes;		/* bytes of segment files on disk */
	uint64_t notes;		/* TFS_CHECK_NOTE findings */
	uint64_t torn;		/* TFS_CHECK_TORN findings */
	uint64_t damage;	/* TFS_CHECK_DAMAGE findings */
	uint64_t damage_other;	/* of those, not in a partition: the format
				   file, names, consumer group files */
	uint64_t parts_torn;	/* partitions with status TORN_TAIL */
	uint64_t parts_damaged; /* partitions with status DAMAGED */
	int initialised;	/* 1 if the dir has a format file; 0 if it is
				   empty (tfs_store_open would initialise it) */
};

/* Called for every finding and every partition's summary, in order:
 * findings of a partition come before its summary. */
typedef void (*tfs_check_report_fn)(const struct tfs_check_report *r,
				    void *arg);

/* tfs_check flags. */
#define TFS_CHECK_NO_DATA 0x1u /* skip the records' data CRCs (reads only
				  the indexes; sizes are still checked) */

/*
 * Check the data directory dir, read-only: the format file and version
 * (1 or 2);
 * topic and partition names and dense partition numbers; that every
 * segment has its .log and .idx and starts where the previous one ends;
 * every index header and entry CRC, that entries are contiguous from the
 * base, and that a sealed segment's index ends exactly at its .log's end;
 * every record's data CRC32C; and what recovery would cut from the tail of
 * an active segment (a torn tail) or of a sealed one never synced.
 * A compressed segment (.zst) is checked the same way, its records read
 * through its frames (header, frame table and trailer first).  Leftovers
 * (*.tmp, P.deleted, <base>.log.deleted, a .zst beside its .log) are
 * reported as notes.
 * A data dir in use by a running topicfs can be checked, but appends in
 * flight may then show as torn tails.
 *
 * @param[in] dir    the data directory
 * @param[in] flags  0 or TFS_CHECK_NO_DATA
 * @param[in] fn     called with every finding; NULL to only count
 * @param[in] arg    passed to fn
 * @param[out] sum   if not NULL, the counts (filled in also on -EUCLEAN
 *   and -EPROTONOSUPPORT)
 * @return 0 no damage (torn tails and notes allowed); -EUCLEAN damage was
 *   found (each finding reported); -EPROTONOSUPPORT the format file names
 *   another version (reported; nothing else checked); -EINVAL dir is not
 *   empty and has no format file (reported); -ENOENT/-ENOTDIR/-EACCES dir
 *   cannot be opened; -ENOMEM; -EIO the data dir itself cannot be read.
 *   A segment file that cannot be read is a TFS_CHECK_DAMAGE finding
 *   (TFS_CHECK_W_IO), not an error return.
 */
int tfs_check(const char *dir, unsigned flags, tfs_check_report_fn fn,
	      void *arg, struct tfs_check_summary *sum);

/* "ok", "torn tail" or "DAMAGED". */
const char *tfs_check_status_name(enum tfs_check_status status);

#endif /* TOPICFS_CHECK_H */
