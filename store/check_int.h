/*
 * store/check_int.h - what the offline checker's two files share: the
 * state of a run, a partition and a segment, and the reporting helper.
 * check.c walks the data dir and each partition's segment list;
 * check_seg.c checks one segment.
 */
#ifndef TOPICFS_CHECK_INT_H
#define TOPICFS_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topicfs/check.h"

struct zseg;

#define CHECK_DATA_CHUNK (1u << 20) /* .log bytes read at a time */
#define CHECK_BATCH	 1024u	    /* index entries read at a time */
#define CHECK_DETAIL_MAX 10u	    /* damaged records listed per segment */
#define CHECK_SECTOR	 512u	    /* a power loss loses whole sectors */
#define CHECK_PREL_MAX	 272	    /* "TOPIC/P" fits */
#define CHECK_REL_MAX	 (CHECK_PREL_MAX + 256) /* "TOPIC/P/NAME" fits */

/* One run of tfs_check. */
struct check {
	const char *dir;	    /* the data dir, as given */
	int dir_fd;		    /* O_DIRECTORY fd of dir */
	unsigned flags;		    /* TFS_CHECK_* flags */
	tfs_check_report_fn fn;	    /* the caller's callback, or NULL */
	void *arg;		    /* passed to fn */
	struct tfs_check_summary sum; /* counts so far */
	unsigned char *data;	    /* .log reads; grown to at most
				       CHECK_DATA_CHUNK bytes as needed */
	size_t data_cap;	    /* allocated bytes of data */
	unsigned char *ents;	    /* CHECK_BATCH index entries */
};

/* The files of one segment base found in a partition dir. */
struct check_segf {
	uint64_t base; /* the segment's base offset */
	bool log;      /* <base>.log exists */
	bool idx;      /* <base>.idx exists */
	bool zst;      /* <base>.zst (compressed segment) exists */
	bool del;      /* <base>.log.deleted or .zst.deleted exists: a
			  retention delete recovery finishes */
	bool del_zst;  /* that file is the .zst.deleted */
	bool synced_after; /* a later segment's index is marked synced */
};

/* One partition being checked. */
struct check_part {
	struct check *c;	  /* the run */
	int fd;			  /* O_DIRECTORY fd of the partition dir */
	char rel[CHECK_PREL_MAX]; /* "TOPIC/P" */
	struct tfs_check_part s;  /* the summary being built */
	char bad_file[CHECK_REL_MAX]; /* s.bad_file points here */
	uint64_t rp;		  /* the recovery point (0 if none): a tail's
				     records from it on are checked and cut
				     at the first that fails */
	struct check_segf *segs;  /* by base, ascending; owned */
	size_t nsegs;		  /* used entries of segs */
	size_t segs_cap;	  /* allocated entries of segs */
};

/* One segment being checked (its .log and .idx open). */
struct check_seg {
	struct check_part *cp;	 /* the partition */
	uint64_t base;		 /* segment base offset */
	bool tail;		 /* recovery repairs its tail: the active
				    segment, or a sealed one never synced */
	bool synced_after;	 /* a later segment is marked synced */
	bool last;		 /* the partition's last segment */
	uint64_t claim;		 /* segment-relative end of the furthest
				    record an entry that decodes describes
				    (recovery's rec_take) */
	char lrel[CHECK_REL_MAX]; /* "TOPIC/P/<base>.log" (or .zst) */
	char irel[CHECK_REL_MAX]; /* "TOPIC/P/<base>.idx" */
	int lfd;		 /* .log fd (-1 for a .zst) */
	struct zseg *z;		 /* the open .zst of a compressed segment
				    (its data, read through zseg_pread), or
				    NULL */
	uint64_t zbad;		 /* raw offset of a damaged .zst frame */
	uint64_t zbad_last;	 /* the damaged frame reported last */
	bool zbad_said;		 /* zbad_last is set */
	int ifd;		 /* .idx fd */
	uint64_t log_size;	 /* .log bytes */
	uint64_t idx_size;	 /* .idx bytes */
	uint64_t ahead;		 /* tail: .idx bytes of zero entries after
				    the last one (space held ahead, which
				    recovery frees: seg_zero_tail) */
	uint64_t want;		 /* offset the next entry must have */
	bool want_known;	 /* want is known (not after a torn entry) */
	bool no_data;		 /* do not read record data (flag, error) */
	bool stopped;		 /* tail: recovery's walk stops at stop_i */
	bool stop_crash;	 /* tail: what it cuts looks like an
				    interrupted append (zeroed entries,
				    whole ones past the .log, a record with
				    a zeroed sector) */
	uint64_t stop_i;	 /* tail: first entry recovery cuts */
	char stop_why[200];	 /* tail: why it stops there */
	bool skipping;		 /* tail: in a run of damaged entries
				    below the recovery point, which
				    recovery keeps and skips (rec_take) */
	uint64_t skip_from;	 /* partition offset where that run's
				    records start */
	uint64_t skip_i;	 /* its first entry */
	uint64_t kept;		 /* entries recovery keeps */
	uint64_t kept_end;	 /* segment-relative end of those */
	uint64_t run_n;		 /* records failing their data CRC since the
				    last one that passed (kept: damage) */
	uint64_t run_i;		 /* entry of the first of those */
	uint64_t run_off;	 /* its partition offset */
	uint64_t run_end;	 /* partition end of the last of those */
	uint64_t details;	 /* damaged records reported */
	uint64_t hidden;	 /* damaged records not listed (cap) */
	uint64_t rd_pos;	 /* .log position of c->data[0] */
	size_t rd_len;		 /* valid bytes in c->data */
};

/* What check_seg found for the partition's segment list. */
struct check_seg_res {
	uint64_t end;	 /* partition end of the segment after recovery */
	bool end_known;	 /* end is known */
	bool tail;	 /* recovery repairs its tail */
	bool cut;	 /* recovery cuts something from it */
	bool crash;	 /* what it cuts is a torn tail, not damage */
	uint64_t kept;	 /* records recovery keeps */
};

/* Count a finding, mark cp's status, and pass it to the callback. */
void check_emit(struct check *c, struct check_part *cp,
		enum tfs_check_kind kind, enum tfs_check_what what,
		const char *file, int64_t pos, const char *msg);

/* Report a finding about file (relative to the data dir); cp NULL for
 * findings outside a partition. */
void check_report(struct check *c, struct check_part *cp,
		  enum tfs_check_kind kind, enum tfs_check_what what,
		  const char *file, int64_t pos, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Check segment f (a .log, or a .zst) of cp's partition; last: the
 * active one.  What it found for the segment list goes to *res. */
void check_seg(struct check_part *cp, const struct check_segf *f, bool last,
	       struct check_seg_res *res);

#endif
