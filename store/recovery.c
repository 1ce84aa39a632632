/*
 * store/recovery.c - tail recovery of a partition's active segment at open.
 *
 * An append writes the record's bytes, then its index entry, and returns;
 * a crash can leave any prefix of that, and a power loss can zero any
 * block no sync covered.  Recovery keeps every record whose data and entry
 * are both whole and consistent, up to the first unsynced one that is not,
 * cuts the rest from the index and then the .log, and logs every cut with
 * file, count and offsets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"

#define REC_BATCH      256    /* index entries read at a time */
#define REC_DATA_CHUNK (1u << 20) /* .log bytes read at a time */

/* The state of one active segment's recovery. */
struct rec {
	struct tfs_part *p;  /* the partition, for names and the log */
	struct tfs_seg *seg; /* the segment; fd and idx_fd open */
	char lname[512];     /* "TOPIC/P/<base>.log" for messages */
	char iname[512];     /* "TOPIC/P/<base>.idx" for messages */
	uint64_t log_size;   /* current .log size */
	uint64_t idx_size;   /* current .idx size */
	uint64_t log_alloc;  /* bytes of blocks the .log holds */
	uint64_t valid;	     /* index entries kept so far */
	uint64_t end;	     /* segment-relative end of the kept records */
	uint64_t checked;    /* segment-relative start of the records whose
				data rec_check_data checked (from there to
				end); UINT64_MAX: none */
	uint64_t skip_from;  /* segment-relative start of a run of damaged
				entries below the recovery point being
				skipped (rec_walk); UINT64_MAX: none */
	uint64_t skip_i;     /* the first entry of that run */
	uint64_t resume_i;   /* the entry after the last damaged run: the
				kept entries from here on are contiguous */
	bool last;	     /* the partition's last segment: its end is
				the partition's */
	uint64_t claim;	     /* segment-relative end of the furthest
				record an entry that decodes describes */
	bool cut_entries;    /* some index entries were cut */
	bool changed;	     /* a file was modified: sync at the end */
};

static int rec_truncate(struct rec *r, int fd, uint64_t size)
{
	if (ftruncate(fd, (off_t)size))
		return -errno;
	r->changed = true;
	return 0;
}

/*
 * (Re)write the index header and cut the index to just it.  On a full disk
 * the header cannot be written, but the segment keeps no entries anyway:
 * cut the index to nothing (which needs no space) and leave the header to
 * the first append (seg_append), so that a full disk never stops a mount.
 */
static int rec_write_header(struct rec *r)
{
	unsigned char hdr[FMT_HDR_SIZE];
	int err;

	seg_hdr_encode(hdr, r->seg->base, 0);
	err = seg_pwrite_all(r->seg->idx_fd, hdr, sizeof(hdr), 0);
	if (err == -ENOSPC || err == -EDQUOT) {
		store_log(r->p->st, LOG_WARNING,
			  "recovery: %s: no space for the index header: the "
			  "first append writes it",
			  r->iname);
		r->seg->hdr_pending = true;
		err = rec_truncate(r, r->seg->idx_fd, 0);
	} else if (!err) {
		err = rec_truncate(r, r->seg->idx_fd, FMT_HDR_SIZE);
	}
	r->idx_size = FMT_HDR_SIZE; /* a header and 0 entries, from here on */
	return err;
}

/* Records of this segment are below the recovery point: a sync covered
 * them, and with them the index header. */
static bool rec_synced(const struct rec *r)
{
	return r->p->rp > r->seg->base;
}

/*
 * The header of an index whose records a sync covered is wrong: damage,
 * not a power loss.  Its bytes are known (base, version, entry size, and
 * no flags in a segment under tail repair), so write it again in place and
 * keep the entries, which carry their own CRCs: cutting them would drop
 * records that were on stable storage.
 */
static int rec_fix_header(struct rec *r, const char *what)
{
	unsigned char hdr[FMT_HDR_SIZE];
	int err;

	store_log(r->p->st, LOG_ERR,
		  "recovery: %s: %s, but the recovery point %llu says its "
		  "records were synced: damage; rewrote the header and kept "
		  "the %llu bytes of index entries",
		  r->iname, what, (unsigned long long)r->p->rp,
		  (unsigned long long)(r->idx_size > FMT_HDR_SIZE
					       ? r->idx_size - FMT_HDR_SIZE
					       : 0));
	seg_hdr_encode(hdr, r->seg->base, 0);
	err = seg_pwrite_all(r->seg->idx_fd, hdr, sizeof(hdr), 0);
	if (err)
		return err;
	r->changed = true;
	if (r->idx_size < FMT_HDR_SIZE)
		r->idx_size = FMT_HDR_SIZE;
	return 0;
}

/* An index shorter than its header, or with a torn header. */
static int rec_header(struct rec *r)
{
	unsigned char hdr[FMT_HDR_SIZE];
	uint32_t version = 0;
	bool torn;
	int err;

	if (r->idx_size < FMT_HDR_SIZE && rec_synced(r))
		return rec_fix_header(r, "index header incomplete");
	if (r->idx_size < FMT_HDR_SIZE) {
		store_log(r->p->st, LOG_WARNING,
			  "recovery: %s: index header incomplete (%llu of %u "
			  "bytes), .log has %llu bytes: rewrote the header, 0 "
			  "valid entries",
			  r->iname, (unsigned long long)r->idx_size,
			  FMT_HDR_SIZE, (unsigned long long)r->log_size);
		return rec_write_header(r);
	}
	err = seg_pread_all(r->seg->idx_fd, hdr, sizeof(hdr), 0);
	/* zeros: the size reached the disk, the data did not (power loss) */
	torn = !err && seg_hdr_torn(hdr, r->idx_size);
	if (!err && !torn)
		err = seg_hdr_check(hdr, r->seg->base);
	if ((torn || err == -EBADMSG) && rec_synced(r))
		return rec_fix_header(r, torn ? "index header is zeros"
					      : "bad index header (magic or "
						"CRC)");
	if (torn || err == -EBADMSG) {
		store_log(r->p->st,
			  torn || !r->log_size ? LOG_WARNING : LOG_ERR,
			  "recovery: %s: %s, .log has %llu bytes: rewrote the "
			  "header, cut %llu bytes of index entries, 0 valid "
			  "entries",
			  r->iname,
			  torn ? "index header is zeros (its data never reached "
				 "the disk)"
			       : "bad index header (magic or CRC)",
			  (unsigned long long)r->log_size,
			  (unsigned long long)(r->idx_size - FMT_HDR_SIZE));
		return rec_write_header(r);
	}
	for (int i = 3; i >= 0; i--)
		version = (version << 8) | hdr[FMT_HDR_VERSION + i];
	if (err == -EPROTONOSUPPORT)
		store_log(r->p->st, LOG_ERR,
			  "%s: index format version %u found; this topicfs "
			  "supports index version %u only",
			  r->iname, version, FMT_IDX_VERSION);
	else if (err)
		store_log(r->p->st, LOG_ERR,
			  "%s: index header belongs to another segment (base "
			  "or entry size)",
			  r->iname);
	return err;
}

/* An index cut in the middle of an entry. */
static int rec_partial_entry(struct rec *r)
{
	uint64_t rem = (r->idx_size - FMT_HDR_SIZE) % FMT_ENT_SIZE;

	if (!rem)
		return 0;
	store_log(r->p->st, LOG_WARNING,
		  "recovery: %s: cut %llu bytes of a partial index entry at "
		  "index offset %llu..%llu",
		  r->iname, (unsigned long long)rem,
		  (unsigned long long)(r->idx_size - rem),
		  (unsigned long long)r->idx_size);
	r->idx_size -= rem;
	return rec_truncate(r, r->seg->idx_fd, r->idx_size);
}

/*
 * Zero entries after the last one: index space an append's window held
 * ahead (seg_append), which a crash leaves behind.  They are no records:
 * freed with an info line only.  Should a power loss have zeroed entries
 * that were really written there, the walk then sees an index that ends
 * early, as it would have seen those zeros: their data is cut (and
 * logged) past the recovery point, kept as EIO below it (rec_skip_end).
 */
static int rec_held_ahead(struct rec *r)
{
	uint64_t k = seg_zero_tail(r->seg->idx_fd, r->idx_size);

	if (!k)
		return 0;
	store_log(r->p->st, LOG_INFO,
		  "recovery: %s: freed %llu bytes of index space held ahead "
		  "(zeros after entry %llu)",
		  r->iname, (unsigned long long)(FMT_ENT_SIZE * k),
		  (unsigned long long)((r->idx_size - FMT_HDR_SIZE) /
					       FMT_ENT_SIZE -
				       k));
	r->idx_size -= FMT_ENT_SIZE * k;
	/* no sync for it (r->changed): a crash before the cut is on the
	 * disk leaves zeros this frees again, and a mount after a kill -9
	 * then syncs nothing it did not cut */
	if (ftruncate(r->seg->idx_fd, (off_t)r->idx_size))
		return -errno;
	return 0;
}

/* Decode raw into e; why it is not acceptable as the entry at partition
 * offset want, or NULL.  Reasons with numbers are written into why. */
static const char *rec_entry_bad(struct rec *r, const unsigned char *raw,
				 struct seg_entry *e, uint64_t want, char *why,
				 size_t size)
{
	uint64_t base = r->seg->base;

	if (seg_ent_decode(raw, e))
		return "entry CRC mismatch";
	if (e->off != want) {
		snprintf(why, size,
			 "record offset %llu does not follow the previous "
			 "record (expected %llu)",
			 (unsigned long long)e->off, (unsigned long long)want);
		return why;
	}
	if (e->off - base + e->len > r->log_size) {
		snprintf(why, size,
			 "record %llu..%llu extends past the end of the .log "
			 "(offset %llu)",
			 (unsigned long long)e->off,
			 (unsigned long long)(e->off + e->len),
			 (unsigned long long)(base + r->log_size));
		return why;
	}
	return NULL;
}

static void rec_log_cut(struct rec *r, uint64_t from, uint64_t n,
			const char *why)
{
	store_log(r->p->st, LOG_WARNING,
		  "recovery: %s: cut %llu index entries from entry %llu (index "
		  "offset %llu, record offset %llu): %s",
		  r->iname, (unsigned long long)n, (unsigned long long)from,
		  (unsigned long long)(FMT_HDR_SIZE + FMT_ENT_SIZE * from),
		  (unsigned long long)(r->seg->base + r->end), why);
	r->cut_entries = true;
}

/* Log the damaged run of entries [skip_i, i) below the recovery point,
 * whose records are [skip_from, to) (segment-relative). */
static void rec_log_skip(struct rec *r, uint64_t i, uint64_t to)
{
	uint64_t base = r->seg->base;
	char ents[64];

	if (r->skip_i == i)
		store_log(r->p->st, LOG_ERR,
			  "recovery: %s: no index entries for offsets "
			  "%llu..%llu, below the recovery point %llu (the "
			  "index lost entries a sync covered): the data is "
			  "kept and reads as EIO",
			  r->iname, (unsigned long long)(base + r->skip_from),
			  (unsigned long long)(base + to),
			  (unsigned long long)r->p->rp);
	else /* the run ends at an entry, or at the end of the index */
		store_log(r->p->st, LOG_ERR,
			  "recovery: %s: index %s damaged below the recovery "
			  "point %llu%s offsets %llu..%llu read as EIO",
			  r->iname,
			  seg_ents_str(ents, sizeof(ents), r->skip_i, i),
			  (unsigned long long)r->p->rp,
			  i == (r->idx_size - FMT_HDR_SIZE) / FMT_ENT_SIZE
				  ? ", and no entry follows: cut from the "
				    "index; their data is kept, not cut (a "
				    "sync covered it):"
				  : ": kept, not cut (a sync covered them);",
			  (unsigned long long)(base + r->skip_from),
			  (unsigned long long)(base + to));
	r->skip_from = UINT64_MAX;
}

/* Whether record e's data (inside the .log) matches its CRC: an entry
 * that ends a damaged run must vouch for its bytes, or junk that happens
 * to decode could take its place, differently as the .log grows. */
static bool rec_data_ok(struct rec *r, const struct seg_entry *e)
{
	unsigned char buf[4096];
	uint64_t pos = e->off - r->seg->base, left = e->len;
	uint32_t crc = 0;

	if (pos > r->log_size || left > r->log_size - pos)
		return false;
	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		if (seg_pread_all(atomic_load(&r->seg->fd), buf, n, pos))
			return false;
		crc = crc32c(crc, buf, n);
		pos += n;
		left -= n;
	}
	return crc == e->dcrc;
}

/* End the damaged run at entry i, whose record e starts further on: the
 * walk resumes at i (the entries before it are kept). */
static void rec_resync(struct rec *r, uint64_t i, const struct seg_entry *e)
{
	rec_log_skip(r, i, e->off - r->seg->base);
	r->resume_i = i;
	r->valid = i;
	r->end = e->off - r->seg->base;
}

/*
 * Entry i (raw) is skipped in a damaged run: write zeros over it, unless
 * it is zeros already.  A damaged entry that still decodes could end the
 * run at a later walk once the .log has grown under it (its data CRC
 * matching bytes appended since), and that walk would take the records
 * differently; zeros never decode, so every later walk skips the same
 * entries and resumes at the same one.  -errno.
 */
static int rec_zero(struct rec *r, uint64_t i, const unsigned char *raw)
{
	static const unsigned char zeros[FMT_ENT_SIZE];
	int err;

	if (!memcmp(raw, zeros, FMT_ENT_SIZE))
		return 0;
	err = seg_pwrite_all(r->seg->idx_fd, zeros, FMT_ENT_SIZE,
			     FMT_HDR_SIZE + FMT_ENT_SIZE * i);
	if (!err)
		r->changed = true;
	return err;
}

/*
 * Take entry i (raw) of n.  An entry that fails rec_entry_bad at or past
 * the recovery point ends the walk (no sync covered it: torn); one below
 * it is damage, since a sync covered it.  Damaged entries are skipped,
 * and kept, until one decodes, starts past the run's start, and its whole
 * record is inside the .log and matches its data CRC: the walk resumes
 * there, and the run's records read as EIO at the first read
 * (store/verify.c skips the same way).  @return 1 go on; 0 the walk ends,
 * cutting from i; -errno.
 */
static int rec_take(struct rec *r, uint64_t i, const unsigned char *raw,
		    uint64_t n)
{
	uint64_t base = r->seg->base;
	bool dec;
	struct seg_entry e;
	const char *bad;
	char why[160];

	dec = !seg_ent_decode(raw, &e);
	if (dec && e.off >= base && e.off - base <= UINT64_MAX - e.len &&
	    e.off - base + e.len > r->claim)
		r->claim = e.off - base + e.len;
	if (r->skip_from != UINT64_MAX) {
		if (!dec || e.off <= base + r->skip_from ||
		    e.off - base > r->log_size || !rec_data_ok(r, &e))
			return rec_zero(r, i, raw) ?: 1;
		rec_resync(r, i, &e);
	}
	for (;;) {
		bad = rec_entry_bad(r, raw, &e, base + r->end, why,
				    sizeof(why));
		if (!bad) {
			r->valid = i + 1;
			r->end += e.len;
			return 1;
		}
		if (base + r->end >= r->p->rp) {
			rec_log_cut(r, i, n - i, bad);
			return 0;
		}
		r->skip_from = r->end;
		r->skip_i = i;
		/* a gap before an entry further on: resume at it */
		if (!dec || e.off <= base + r->end ||
		    e.off - base > r->log_size || !rec_data_ok(r, &e))
			return rec_zero(r, i, raw) ?: 1;
		rec_resync(r, i, &e);
	}
}

/* Walk the entries forward (rec_take). */
static int rec_walk(struct rec *r)
{
	unsigned char buf[REC_BATCH * FMT_ENT_SIZE];
	uint64_t n = (r->idx_size - FMT_HDR_SIZE) / FMT_ENT_SIZE;
	int err;

	for (uint64_t i = 0; i < n; i += REC_BATCH) {
		uint64_t k = n - i < REC_BATCH ? n - i : REC_BATCH;

		err = seg_pread_all(r->seg->idx_fd, buf, k * FMT_ENT_SIZE,
				    FMT_HDR_SIZE + FMT_ENT_SIZE * i);
		if (err)
			return err;
		for (uint64_t j = 0; j < k; j++) {
			err = rec_take(r, i + j, buf + FMT_ENT_SIZE * j, n);
			if (err <= 0)
				return err;
		}
	}
	return 0;
}

/*
 * The damaged run reaches the end of the index, or the index ends before
 * the synced bytes do: no entry says where those records end.  The
 * recovery point does (every record below it was synced); past it,
 * nothing vouches for the bytes, and they are cut as any unsynced tail
 * whose entries fail.  The run's entries are cut from the index, and its
 * data is kept: it reads as EIO ("the index ends before the data").
 */
static int rec_skip_end(struct rec *r)
{
	uint64_t n = (r->idx_size - FMT_HDR_SIZE) / FMT_ENT_SIZE, to;
	int err;

	if (!rec_synced(r))
		return 0;
	to = r->p->rp - r->seg->base;
	/* a sealed segment ends where its .log does (the next one starts
	 * there); the last one's synced bytes reach the recovery point, as
	 * far as its index says records went (a recovery point past every
	 * entry is reset to the end: part_fix_rp) */
	if (to > r->log_size) {
		uint64_t lim = r->last && r->claim > r->log_size ? r->claim
								 : r->log_size;

		if (to > lim)
			to = lim;
	}
	/* the entries end before the synced bytes do: the index lost them */
	if (r->skip_from == UINT64_MAX && r->end < to) {
		r->skip_from = r->end;
		r->skip_i = n;
	}
	if (r->skip_from == UINT64_MAX)
		return 0;
	if (to < r->skip_from)
		to = r->skip_from;
	rec_log_skip(r, n, to);
	/* no entry after them says they are whole: they go from the index
	 * (a later walk would take the first one that decodes for a record,
	 * and cut the appends after it); the data stays */
	r->resume_i = r->skip_i;
	r->valid = r->skip_i;
	r->end = to;
	if (to <= r->log_size)
		return 0;
	/* The .log lost synced bytes (the disk, or a hand, shortened it):
	 * the end stays at the recovery point, so that no offset a reader or
	 * a group has seen is handed out again; the missing bytes come back
	 * as zeros, which read as EIO (no index entry vouches for them). */
	store_log(r->p->st, LOG_ERR,
		  "recovery: %s: ends at offset %llu, below the recovery point "
		  "%llu (synced bytes are gone): extended with zeros to it; "
		  "offsets %llu..%llu read as EIO",
		  r->lname, (unsigned long long)(r->seg->base + r->log_size),
		  (unsigned long long)r->p->rp,
		  (unsigned long long)(r->seg->base + r->log_size),
		  (unsigned long long)r->p->rp);
	err = rec_truncate(r, atomic_load(&r->seg->fd), to);
	if (!err)
		r->log_size = to;
	return err;
}

/* Sequential reads of the .log for the data check. */
struct rec_rd {
	unsigned char *buf; /* REC_DATA_CHUNK bytes, page-aligned */
	uint64_t pos;	    /* segment position of buf[0] */
	size_t len;	    /* valid bytes in buf */
};

/* CRC32C of len record bytes at segment position pos (inside the .log:
 * the walk made sure), reading ahead in chunks. */
static int rec_data_crc(struct rec *r, struct rec_rd *d, uint64_t pos,
			uint64_t len, uint32_t *crc)
{
	*crc = 0;
	while (len) {
		size_t off, n;

		if (pos < d->pos || pos >= d->pos + d->len) {
			uint64_t left = r->log_size - pos;
			size_t want = left < REC_DATA_CHUNK ? (size_t)left
							    : REC_DATA_CHUNK;
			int err = seg_pread_all(atomic_load(&r->seg->fd),
						d->buf, want, pos);

			if (err)
				return err;
			d->pos = pos;
			d->len = want;
		}
		off = (size_t)(pos - d->pos);
		n = d->len - off < len ? d->len - off : (size_t)len;
		*crc = crc32c(*crc, d->buf + off, n);
		pos += n;
		len -= n;
	}
	return 0;
}

/* Entry i of the kept ones, decoded. */
static int rec_entry(struct rec *r, uint64_t i, struct seg_entry *e)
{
	unsigned char raw[FMT_ENT_SIZE];
	int err = seg_pread_all(r->seg->idx_fd, raw, sizeof(raw),
				FMT_HDR_SIZE + FMT_ENT_SIZE * i);

	return err ? err : seg_ent_decode(raw, e);
}

/* The first kept entry whose record starts at or past off (r->valid if
 * none), off at or past the recovery point: the walk made the kept
 * entries from r->resume_i on contiguous, so offsets ascend, and those
 * before it are below the recovery point. */
static int rec_first_at(struct rec *r, uint64_t off, uint64_t *first)
{
	uint64_t lo = r->resume_i, hi = r->valid;
	struct seg_entry e;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int err = rec_entry(r, mid, &e);

		if (err)
			return err;
		if (e.off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	return 0;
}

/*
 * Check the data CRC of every kept record at or past the recovery point,
 * in order, and cut from the first that fails.  No sync covered those
 * records, and a power loss can leave any of them zeroed, not only the
 * last (a file system may write appended blocks back in any order), so
 * the first one that fails ends the log: the records after it were not
 * covered by a sync either.  Records below the recovery point were on
 * stable storage; one of them that fails is damage that the first read
 * reports (store/verify.c), never a reason to cut what a sync covered.
 */
static int rec_check_data(struct rec *r)
{
	unsigned char buf[REC_BATCH * FMT_ENT_SIZE];
	uint64_t base = r->seg->base, kept = r->valid, old_end = r->end;
	uint64_t first, checked = 0, bytes = 0;
	struct rec_rd d = { .len = 0 };
	struct seg_entry e;
	char why[200];
	int err;

	if (base + r->end <= r->p->rp || !r->valid)
		return 0;
	err = rec_first_at(r, r->p->rp, &first);
	if (err || first == r->valid)
		return err;
	d.buf = seg_buf_alloc(REC_DATA_CHUNK);
	if (!d.buf)
		return -ENOMEM;
	for (uint64_t i = first; i < kept && !err; i += REC_BATCH) {
		uint64_t k = kept - i < REC_BATCH ? kept - i : REC_BATCH;

		err = seg_pread_all(r->seg->idx_fd, buf, k * FMT_ENT_SIZE,
				    FMT_HDR_SIZE + FMT_ENT_SIZE * i);
		for (uint64_t j = 0; j < k && !err; j++) {
			uint32_t crc;

			err = seg_ent_decode(buf + FMT_ENT_SIZE * j, &e);
			if (!err && i == first && j == 0)
				r->checked = e.off - base;
			if (!err)
				err = rec_data_crc(r, &d, e.off - base, e.len,
						   &crc);
			if (err)
				break;
			if (crc != e.dcrc) {
				r->valid = i + j;
				r->end = e.off - base;
				goto out_cut;
			}
			checked++;
			bytes += e.len;
		}
	}
	free(d.buf);
	if (err)
		return err;
	store_log(r->p->st, LOG_INFO,
		  "recovery: %s: checked %llu records (%llu bytes, offsets "
		  "%llu..%llu) past the recovery point",
		  r->lname, (unsigned long long)checked,
		  (unsigned long long)bytes,
		  (unsigned long long)(base + old_end - bytes),
		  (unsigned long long)(base + old_end));
	return 0;

out_cut:
	free(d.buf);
	snprintf(why, sizeof(why),
		 "record %llu..%llu fails its data CRC (records %llu..%llu "
		 "were never synced: the recovery point is %llu)",
		 (unsigned long long)e.off,
		 (unsigned long long)(e.off + e.len),
		 (unsigned long long)(base + r->end),
		 (unsigned long long)(base + old_end),
		 (unsigned long long)r->p->rp);
	rec_log_cut(r, r->valid, kept - r->valid, why);
	return 0;
}

/* Cut the index after the kept entries and the .log after their data. */
static int rec_cut(struct rec *r)
{
	uint64_t isize = FMT_HDR_SIZE + FMT_ENT_SIZE * r->valid;
	uint64_t base = r->seg->base;
	int err;

	if (r->idx_size > isize) {
		err = rec_truncate(r, r->seg->idx_fd, isize);
		if (err)
			return err;
		r->idx_size = isize;
	}
	if (r->log_size <= r->end)
		return 0;
	if (r->cut_entries)
		store_log(r->p->st, LOG_WARNING,
			  "recovery: %s: cut %llu bytes at offset %llu..%llu "
			  "(data of the cut index entries and anything after)",
			  r->lname, (unsigned long long)(r->log_size - r->end),
			  (unsigned long long)(base + r->end),
			  (unsigned long long)(base + r->log_size));
	else
		store_log(r->p->st, LOG_WARNING,
			  "recovery: %s: cut %llu bytes of a partial record at "
			  "offset %llu..%llu (no index entry)",
			  r->lname, (unsigned long long)(r->log_size - r->end),
			  (unsigned long long)(base + r->end),
			  (unsigned long long)(base + r->log_size));
	err = rec_truncate(r, atomic_load(&r->seg->fd), r->end);
	r->log_size = r->end;
	return err;
}

static int rec_stat(struct rec *r)
{
	struct stat lst, ist;

	if (fstat(atomic_load(&r->seg->fd), &lst) ||
	    fstat(r->seg->idx_fd, &ist))
		return -errno;
	r->log_size = (uint64_t)lst.st_size;
	r->idx_size = (uint64_t)ist.st_size;
	r->log_alloc = (uint64_t)lst.st_blocks * 512;
	return 0;
}

/* Free the blocks a crash left allocated past the end of the .log (an
 * append allocates ahead, seg_prealloc; a clean close frees them).  The
 * bytes are past the end: nothing is cut, nothing is logged. */
static void rec_free_ahead(struct rec *r)
{
	uint64_t need = (r->end + 4095) / 4096 * 4096;

	if (r->log_alloc > need &&
	    ftruncate(atomic_load(&r->seg->fd), (off_t)r->end))
		store_log(r->p->st, LOG_WARNING,
			  "recovery: %s: freeing the blocks past the end: %s",
			  r->lname, strerror(errno));
}

int rec_active(struct tfs_part *p, struct tfs_seg *seg, bool last)
{
	struct rec r = { .p = p,
			 .seg = seg,
			 .last = last,
			 .checked = UINT64_MAX,
			 .skip_from = UINT64_MAX };
	int err;

	snprintf(r.lname, sizeof(r.lname), "%s/%020llu%s", p->name,
		 (unsigned long long)seg->base, FMT_LOG_SUFFIX);
	snprintf(r.iname, sizeof(r.iname), "%s/%020llu%s", p->name,
		 (unsigned long long)seg->base, FMT_IDX_SUFFIX);
	err = rec_stat(&r);
	if (!err)
		err = rec_header(&r);
	if (!err)
		err = rec_partial_entry(&r);
	if (!err)
		err = rec_held_ahead(&r);
	if (!err)
		err = rec_walk(&r);
	if (!err)
		err = rec_skip_end(&r);
	if (!err)
		err = rec_check_data(&r);
	if (!err)
		err = rec_cut(&r);
	if (!err)
		rec_free_ahead(&r);
	if (!err && r.changed)
		err = seg_sync(seg);
	if (err) {
		if (err != -EPROTONOSUPPORT && err != -EUCLEAN)
			store_log(p->st, LOG_ERR, "recovery: %s: %s", r.lname,
				  tfs_strerror(err));
		return err == -EPROTONOSUPPORT || err == -ENOMEM ||
				       err == -EUCLEAN
			       ? err
			       : -EIO;
	}
	atomic_store(&seg->entries, r.valid);
	atomic_store(&seg->size, r.end);
	/* the first read checks the records before those checked here */
	seg->check_size = r.checked < r.end ? r.checked : r.end;
	return 0;
}
