/*
 * store/check_seg.c - the offline checker's check of one segment: its
 * .idx header and entries, its records' CRC32C, and where recovery would
 * cut its tail (tfs_check, store/check.c, walks the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_int.h"
#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "zseg.h"

/* ---- one segment ----------------------------------------------------- */

/* A damaged record or entry: listed up to CHECK_DETAIL_MAX per segment. */
static void check_seg_damage(struct check_seg *s, enum tfs_check_what what,
			     bool in_idx, int64_t pos, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void check_seg_damage(struct check_seg *s, enum tfs_check_what what,
			     bool in_idx, int64_t pos, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (s->details++ >= CHECK_DETAIL_MAX) {
		s->hidden++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	check_emit(s->cp->c, s->cp, TFS_CHECK_DAMAGE, what,
		   in_idx ? s->irel : s->lrel, pos, msg);
}

/* Make c->data hold at least n bytes (n <= CHECK_DATA_CHUNK); small data
 * dirs never allocate the whole chunk.  -ENOMEM. */
static int check_data_room(struct check *c, size_t n)
{
	size_t cap = c->data_cap ? c->data_cap : 4096;
	unsigned char *v;

	if (n <= c->data_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	cap = cap < CHECK_DATA_CHUNK ? cap : CHECK_DATA_CHUNK;
	v = realloc(c->data, cap);
	if (!v)
		return -ENOMEM;
	c->data = v;
	c->data_cap = cap;
	return 0;
}

/* Read up to len data bytes at pos: all of them from the .log, or
 * decompressed from the .zst, where a damaged frame cuts the read short
 * before it (a read that starts in it: -EIO with s->zbad).  @return the
 * bytes read, or -errno. */
static ssize_t check_read(struct check_seg *s, void *buf, size_t len,
			  uint64_t pos)
{
	int err;

	if (s->z)
		return zseg_pread(s->z, buf, len, pos, &s->zbad);
	err = seg_pread_all(s->lfd, buf, len, pos);
	return err ? err : (ssize_t)len;
}

/* CRC32C of len .log bytes at position pos, read through c->data in large
 * chunks.  -errno. */
static int check_data_crc(struct check_seg *s, uint64_t pos, uint64_t len,
			  uint32_t *crc)
{
	struct check *c = s->cp->c;
	ssize_t got;
	int err;

	*crc = 0;
	while (len) {
		size_t off, n;

		if (pos < s->rd_pos || pos >= s->rd_pos + s->rd_len) {
			s->rd_len = pos >= s->log_size ? 0
				    : s->log_size - pos < CHECK_DATA_CHUNK
					    ? (size_t)(s->log_size - pos)
					    : CHECK_DATA_CHUNK;
			s->rd_pos = pos;
			err = s->rd_len ? check_data_room(c, s->rd_len)
					: -EIO; /* the .log shrank */
			got = err ? err : check_read(s, c->data, s->rd_len, pos);
			if (got <= 0) {
				s->rd_len = 0;
				return got < 0 ? (int)got : -EIO;
			}
			s->rd_len = (size_t)got;
		}
		off = (size_t)(pos - s->rd_pos);
		n = s->rd_len - off < len ? s->rd_len - off : (size_t)len;
		*crc = crc32c(*crc, c->data + off, n);
		pos += n;
		len -= n;
	}
	return 0;
}

/* Whether some sector of the .log holds only zeros where it overlaps the
 * record at pos, len: what a power loss leaves of bytes no sync covered
 * (whole sectors reach the disk or do not).  Read again, sector by
 * sector: only records that fail their CRC come here. */
static bool check_zero_sector(struct check_seg *s, uint64_t pos, uint64_t len)
{
	unsigned char buf[CHECK_SECTOR];
	uint64_t end = pos + len;

	while (pos < end) {
		uint64_t next = (pos / CHECK_SECTOR + 1) * CHECK_SECTOR;
		size_t n = (size_t)((next < end ? next : end) - pos), i = 0;

		if (check_read(s, buf, n, pos) != (ssize_t)n)
			return false;
		while (i < n && !buf[i])
			i++;
		if (i == n)
			return true;
		pos += n;
	}
	return false;
}

/* Why recovery keeps a tail's records that fail their data CRC. */
#define CHECK_KEPT_WHY                                                      \
	" (below the recovery point, so a sync covered it: recovery keeps "  \
	"it; reads of it fail with EIO)"

/* Records failing their data CRC that recovery keeps (below the recovery
 * point of a tail), or that a sealed segment holds: damage. */
static void check_run_damage(struct check_seg *s, const char *why)
{
	uint64_t n = s->run_n;

	s->cp->s.bad_records += n;
	s->run_n = 0;
	if (n == 1)
		check_seg_damage(s, TFS_CHECK_W_DATA,
				 false, (int64_t)(s->run_off - s->base),
				 "record %llu..%llu (entry %llu): data CRC "
				 "mismatch%s",
				 (unsigned long long)s->run_off,
				 (unsigned long long)s->run_end,
				 (unsigned long long)s->run_i, why);
	else
		check_seg_damage(s, TFS_CHECK_W_DATA, false,
				 (int64_t)(s->run_off - s->base),
				 "%llu records %llu..%llu (entries %llu..%llu): "
				 "data CRC mismatch%s",
				 (unsigned long long)n,
				 (unsigned long long)s->run_off,
				 (unsigned long long)s->run_end,
				 (unsigned long long)s->run_i,
				 (unsigned long long)(s->run_i + n - 1), why);
	s->details += n - 1;
}

/* Check record i's data against its entry e.  In a tail, a record at or
 * past the recovery point that fails ends the log (rec_check_data cuts
 * from it); one below it is damage that recovery keeps. */
static void check_record(struct check_seg *s, uint64_t i,
			 const struct seg_entry *e)
{
	uint64_t pos = e->off - s->base;
	uint32_t crc;
	int err;

	if (s->no_data)
		goto out_good;
	err = check_data_crc(s, pos, e->len, &crc);
	if (err && s->z && err == -EIO) {
		/* the record cannot be read: damaged; one line a frame */
		s->cp->s.bad_records++;
		if (s->zbad_said && s->zbad == s->zbad_last) {
			s->details++;
			return;
		}
		s->zbad_said = true;
		s->zbad_last = s->zbad;
		check_seg_damage(s, TFS_CHECK_W_DATA, false, -1,
				 "record %llu..%llu (entry %llu): in the damaged "
				 "compressed frame at raw offset %llu",
				 (unsigned long long)e->off,
				 (unsigned long long)(e->off + e->len),
				 (unsigned long long)i,
				 (unsigned long long)s->zbad);
		return;
	}
	if (err) {
		check_seg_damage(s, TFS_CHECK_W_IO, false, (int64_t)pos,
				 "reading record %llu..%llu: %s; data after it "
				 "not checked",
				 (unsigned long long)e->off,
				 (unsigned long long)(e->off + e->len),
				 strerror(-err));
		s->no_data = true;
		goto out_good;
	}
	if (crc == e->dcrc)
		goto out_good;
	if (s->tail && e->off >= s->cp->rp) {
		s->stopped = true;
		s->stop_i = i;
		s->stop_crash = check_zero_sector(s, pos, e->len);
		snprintf(s->stop_why, sizeof(s->stop_why),
			 "record %llu..%llu fails its data CRC past the "
			 "recovery point %llu%s",
			 (unsigned long long)e->off,
			 (unsigned long long)(e->off + e->len),
			 (unsigned long long)s->cp->rp,
			 s->stop_crash ? " (a zeroed sector, as a power loss "
					 "leaves it)"
				       : " (and has no zeroed sector)");
		return;
	}
	if (!s->run_n) {
		s->run_i = i;
		s->run_off = e->off;
	}
	s->run_n++;
	s->run_end = e->off + e->len;
	s->kept = i + 1; /* recovery keeps it: reads of it fail */
	s->kept_end = pos + e->len;
	return;

out_good:
	if (s->run_n)
		check_run_damage(s, s->tail ? CHECK_KEPT_WHY : "");
	s->kept = i + 1;
	s->kept_end = pos + e->len;
}

/* Why raw (decoded into e, err from seg_ent_decode) cannot be the entry
 * at s->want, written into why; NULL if it can.  *past: whole, but its
 * record is not inside the .log (whether or not it is in place). */
static const char *check_entry_bad(struct check_seg *s, int err,
				   const struct seg_entry *e, bool zero,
				   char *why, size_t size, bool *past)
{
	/* no overflow: off - base may be anything, len is 32 bits */
	*past = !err && (e->off < s->base ||
			 e->off - s->base > s->log_size ||
			 e->len > s->log_size - (e->off - s->base));
	if (err)
		return zero ? "entry is zeroed (CRC mismatch)"
			    : "entry CRC mismatch";
	if (s->want_known && e->off != s->want) {
		snprintf(why, size,
			 "record offset %llu does not follow the previous "
			 "record (expected %llu)",
			 (unsigned long long)e->off,
			 (unsigned long long)s->want);
		return why;
	}
	if (*past) {
		snprintf(why, size,
			 "record %llu..%llu extends past the end of the .log "
			 "(offset %llu)",
			 (unsigned long long)e->off,
			 (unsigned long long)(e->off + e->len),
			 (unsigned long long)(s->base + s->log_size));
		return why;
	}
	return NULL;
}

/* Report the run of damaged entries [skip_i, i) of a tail, below the
 * recovery point, whose records end at partition offset to. */
static void check_skip_damage(struct check_seg *s, uint64_t i, uint64_t to)
{
	char ents[64];

	s->cp->s.bad_records++;
	if (s->skip_i == i)
		check_seg_damage(s, TFS_CHECK_W_ENTRY, true,
				 (int64_t)(FMT_HDR_SIZE + FMT_ENT_SIZE * i),
				 "no index entries for offsets %llu..%llu, "
				 "below the recovery point %llu (the index "
				 "lost entries a sync covered): recovery keeps "
				 "the data, which reads as EIO",
				 (unsigned long long)s->skip_from,
				 (unsigned long long)to,
				 (unsigned long long)s->cp->rp);
	else /* the run ends at an entry, or at the end of the index */
		check_seg_damage(s, TFS_CHECK_W_ENTRY, true,
			 (int64_t)(FMT_HDR_SIZE + FMT_ENT_SIZE * s->skip_i),
			 "index %s damaged below the recovery point %llu%s "
			 "offsets %llu..%llu read as EIO",
			 seg_ents_str(ents, sizeof(ents), s->skip_i, i),
			 (unsigned long long)s->cp->rp,
			 i == (s->idx_size - s->ahead - FMT_HDR_SIZE) /
					 FMT_ENT_SIZE
				 ? ", and no entry follows: recovery cuts them "
				   "from the index and keeps their data (a "
				   "sync covered it);"
				 : ": recovery keeps them (a sync covered "
				   "them);",
			 (unsigned long long)s->skip_from,
			 (unsigned long long)to);
	s->skipping = false;
}

/* In a tail's damaged run (rec_take): whether entry i (err, e) resumes
 * the walk, starting past the run's start inside the .log, and if so
 * report the run. */
static bool check_skip(struct check_seg *s, uint64_t i, int err,
		       const struct seg_entry *e)
{
	uint32_t crc;

	if (err || e->off <= s->skip_from || e->off - s->base > s->log_size ||
	    e->len > s->log_size - (e->off - s->base))
		return false;
	/* rec_data_ok (without data, the guess is that it matches) */
	if (!s->no_data &&
	    (check_data_crc(s, e->off - s->base, e->len, &crc) ||
	     crc != e->dcrc))
		return false;
	check_skip_damage(s, i, e->off);
	s->want = e->off;
	s->want_known = true;
	s->kept = i; /* rec_resync: the run is kept */
	s->kept_end = e->off - s->base;
	return true;
}

/* One entry: contiguity, bounds, then its record's data.  Past the first
 * bad entry of a tail, only note whether recovery's cut looks torn. */
static void check_entry(struct check_seg *s, uint64_t i,
			const unsigned char *raw)
{
	static const unsigned char zeros[FMT_ENT_SIZE];
	bool zero = !memcmp(raw, zeros, FMT_ENT_SIZE), past;
	/* its CRC field still zeros: an entry whose store a kill -9 cut
	 * short (seg_imap_store writes the CRC last) */
	bool unfinished = !memcmp(raw + FMT_ENT_CRC, zeros,
				  FMT_ENT_SIZE - FMT_ENT_CRC);
	int64_t ipos = (int64_t)(FMT_HDR_SIZE + FMT_ENT_SIZE * i);
	struct seg_entry e;
	int err = seg_ent_decode(raw, &e);
	char buf[200];
	const char *why;

	if (!err && !s->stopped && e.off >= s->base &&
	    e.off - s->base <= UINT64_MAX - e.len &&
	    e.off - s->base + e.len > s->claim)
		s->claim = e.off - s->base + e.len;
	if (s->stopped) {
		s->stop_crash = s->stop_crash && (zero || !err);
		return;
	}
	if (s->skipping && !check_skip(s, i, err, &e))
		return;
	why = check_entry_bad(s, err, &e, zero, buf, sizeof(buf), &past);
	/* below the recovery point a sync covered it: damage, kept; a gap
	 * before an entry further on resumes at it */
	while (why && s->tail && s->want < s->cp->rp) {
		s->skipping = true;
		s->skip_from = s->want;
		s->skip_i = i;
		if (!check_skip(s, i, err, &e))
			return;
		why = check_entry_bad(s, err, &e, zero, buf, sizeof(buf),
				      &past);
	}
	if (why && s->tail) {
		s->stopped = true;
		s->stop_i = i;
		/* in place but past the .log: the index got to the disk and
		 * the data did not (a power loss) */
		s->stop_crash = zero || unfinished ||
				(past && e.off == s->want);
		snprintf(s->stop_why, sizeof(s->stop_why), "%s", why);
		return;
	}
	if (why) {
		s->cp->s.bad_records++;
		check_seg_damage(s, TFS_CHECK_W_ENTRY, true, ipos,
				 "index entry %llu: %s", (unsigned long long)i,
				 why);
		s->want_known = !err;
		s->want = e.off + e.len;
		if (err || past)
			return;
	}
	s->want_known = true;
	s->want = e.off + e.len;
	check_record(s, i, &e);
}

/* Walk the index's whole entries in batches. */
static void check_entries(struct check_seg *s, uint64_t n)
{
	unsigned char *buf = s->cp->c->ents;
	int err;

	for (uint64_t i = 0; i < n; i += CHECK_BATCH) {
		uint64_t k = n - i < CHECK_BATCH ? n - i : CHECK_BATCH;
		uint64_t pos = FMT_HDR_SIZE + FMT_ENT_SIZE * i;

		err = seg_pread_all(s->ifd, buf, k * FMT_ENT_SIZE, pos);
		if (err) {
			check_seg_damage(s, TFS_CHECK_W_IO, true, (int64_t)pos,
					 "reading index entries from entry "
					 "%llu: %s; the rest not checked",
					 (unsigned long long)i, strerror(-err));
			return;
		}
		for (uint64_t j = 0; j < k; j++)
			check_entry(s, i + j, buf + FMT_ENT_SIZE * j);
	}
}

/* The header: 0 valid (*flags set), 1 torn in a way recovery rewrites
 * (reported as torn), -1 damage (reported), -2 damage recovery cuts the
 * active segment's records for (reported). */
static int check_header(struct check_seg *s, bool last, uint32_t *flags)
{
	struct check_part *cp = s->cp;
	unsigned char hdr[FMT_HDR_SIZE] = { 0 };
	const char *why;
	uint32_t v = 0;
	int err = -EBADMSG;

	if (s->idx_size >= FMT_HDR_SIZE) {
		err = seg_pread_all(s->ifd, hdr, sizeof(hdr), 0);
		if (!err)
			err = seg_hdr_check(hdr, s->base);
	}
	if (!err) {
		*flags = seg_hdr_flags(hdr);
		return 0;
	}
	/* one under tail repair whose records a sync covered: the header
	 * was synced too, so this is damage; recovery writes it again and
	 * keeps the entries (rec_fix_header) */
	if ((last || !s->synced_after) && cp->rp > s->base &&
	    (s->idx_size < FMT_HDR_SIZE || err == -EBADMSG ||
	     seg_hdr_torn(hdr, s->idx_size))) {
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
			     s->irel, 0,
			     "%s, but the recovery point %llu says its "
			     "records were synced: recovery rewrites it and "
			     "keeps the index entries",
			     s->idx_size < FMT_HDR_SIZE
				     ? "index header incomplete"
			     : seg_hdr_torn(hdr, s->idx_size)
				     ? "index header is zeros"
				     : "bad index header (magic or CRC)",
			     (unsigned long long)cp->rp);
		*flags = 0;
		return 0;
	}
	/* a header that never reached the disk, in the active segment or a
	 * sealed one no later sync covered (part_open_seg): a power loss
	 * before it was synced, and recovery rewrites it and cuts the
	 * segment's records, which no index entry vouches for */
	if ((last || !s->synced_after) &&
	    seg_hdr_torn(hdr, s->idx_size)) {
		uint64_t icut = s->idx_size > FMT_HDR_SIZE
					? s->idx_size - FMT_HDR_SIZE
					: 0;

		cp->s.torn_log_bytes += s->log_size;
		cp->s.torn_idx_bytes += icut;
		check_report(cp->c, cp, TFS_CHECK_TORN, TFS_CHECK_W_HEADER,
			     s->irel, 0,
			     "torn tail: index header %s (%llu bytes): recovery "
			     "rewrites it and cuts %llu bytes / %llu index "
			     "bytes (offsets %llu..%llu)",
			     s->idx_size < FMT_HDR_SIZE ? "incomplete"
							: "is zeros",
			     (unsigned long long)s->idx_size,
			     (unsigned long long)s->log_size,
			     (unsigned long long)icut,
			     (unsigned long long)s->base,
			     (unsigned long long)(s->base + s->log_size));
		return 1;
	}
	for (int i = 3; i >= 0 && s->idx_size >= FMT_HDR_SIZE; i--)
		v = (v << 8) | hdr[FMT_HDR_VERSION + i];
	if (s->idx_size < FMT_HDR_SIZE)
		why = "index header incomplete";
	else if (err == -EBADMSG)
		why = "bad index header (magic or CRC)";
	else if (err == -EPROTONOSUPPORT)
		why = "index format version not supported";
	else if (err == -EUCLEAN)
		why = "index header belongs to another segment (base or "
		      "entry size)";
	else
		why = strerror(-err);
	if (err == -EPROTONOSUPPORT)
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
			     s->irel, FMT_HDR_VERSION,
			     "%s: version %u (this topicfs reads %u)", why, v,
			     FMT_IDX_VERSION);
	else
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
			     s->irel, 0, "%s (index %llu bytes, .log %llu bytes)%s",
			     why, (unsigned long long)s->idx_size,
			     (unsigned long long)s->log_size,
			     last && err == -EBADMSG
				     ? ": recovery rewrites it and cuts the "
				       "segment's records (no sync covered "
				       "them)"
				     : "");
	/* the active one: rec_header rewrites it, 0 entries, all cut */
	return last && err == -EBADMSG ? -2 : -1;
}

/* What recovery would cut from a tail segment, after the walk: torn if
 * every piece looks like an interrupted append, else damage. */
static void check_tail_cut(struct check_seg *s, uint64_t whole)
{
	struct check_part *cp = s->cp;
	uint64_t icut, lcut, used;
	bool crash = !s->stopped || s->stop_crash;
	char why[400];

	if (s->run_n)
		check_run_damage(s, CHECK_KEPT_WHY);
	if (s->cp->rp > s->base && !s->stopped) { /* rec_skip_end */
		uint64_t to = s->cp->rp - s->base;

		/* only the last segment's end is the recovery point's, as
		 * far as its index says records went (rec_skip_end) */
		if (to > s->log_size) {
			uint64_t lim = s->last && s->claim > s->log_size
					       ? s->claim
					       : s->log_size;

			to = to > lim ? lim : to;
		}
		if (!s->skipping && s->kept_end < to) {
			s->skipping = true; /* the index lost entries */
			s->skip_from = s->base + s->kept_end;
			s->skip_i = whole;
		}
		if (s->skipping) {
			to = to < s->skip_from - s->base
				     ? s->skip_from - s->base
				     : to;
			check_skip_damage(s, whole, s->base + to);
			s->kept = s->skip_i; /* the entries go, the data stays */
			s->kept_end = to;
		}
		if (s->kept_end > s->log_size) {
			check_report(cp->c, cp, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_SIZE, s->lrel,
				     (int64_t)s->log_size,
				     "ends at offset %llu, below the recovery "
				     "point %llu (synced bytes are gone): "
				     "recovery extends it with zeros to it; "
				     "offsets %llu..%llu read as EIO",
				     (unsigned long long)(s->base + s->log_size),
				     (unsigned long long)cp->rp,
				     (unsigned long long)(s->base + s->log_size),
				     (unsigned long long)(s->base + s->kept_end));
		}
	}
	used = FMT_HDR_SIZE + FMT_ENT_SIZE * s->kept + s->ahead;
	/* a header recovery rewrites (the .idx shorter than one) */
	icut = s->idx_size > used ? s->idx_size - used : 0;
	lcut = s->log_size > s->kept_end ? s->log_size - s->kept_end : 0;
	if (!icut && !lcut)
		return;
	if (s->stopped)
		snprintf(why, sizeof(why), "index entry %llu: %s",
			 (unsigned long long)s->stop_i, s->stop_why);
	else if (lcut)
		snprintf(why, sizeof(why),
			 "a partial record with no index entry (an append "
			 "cut short)");
	else
		snprintf(why, sizeof(why), "a partial index entry");
	if (!crash)
		cp->s.bad_records += whole - s->kept;
	cp->s.torn_log_bytes += lcut;
	cp->s.torn_idx_bytes += icut;
	check_report(cp->c, cp, crash ? TFS_CHECK_TORN : TFS_CHECK_DAMAGE,
		     TFS_CHECK_W_TAIL, lcut ? s->lrel : s->irel,
		     (int64_t)(lcut ? s->kept_end
				    : FMT_HDR_SIZE + FMT_ENT_SIZE * s->kept),
		     "%s: %llu bytes / %llu index bytes would be cut by "
		     "recovery (offsets %llu..%llu): %s",
		     crash ? "torn tail" : "damaged tail, not only torn",
		     (unsigned long long)lcut, (unsigned long long)icut,
		     (unsigned long long)(s->base + s->kept_end),
		     (unsigned long long)(s->base + (lcut ? s->log_size
							   : s->kept_end)),
		     why);
}

/* After the walk of a sealed segment: damaged records not yet reported,
 * and an index that does not end where the .log does. */
static void check_sealed_end(struct check_seg *s, uint64_t whole)
{
	struct check_part *cp = s->cp;
	uint64_t iend = s->want - s->base;

	if (s->run_n)
		check_run_damage(s, "");
	s->kept = whole;
	s->kept_end = s->log_size;
	if (!s->want_known || iend >= s->log_size)
		return;
	check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_SIZE, s->lrel,
		     (int64_t)iend,
		     "sealed segment: its index ends at offset %llu but the "
		     ".log ends at offset %llu (%llu bytes no entry covers)",
		     (unsigned long long)s->want,
		     (unsigned long long)(s->base + s->log_size),
		     (unsigned long long)(s->log_size - iend));
}

/* Check one segment whose .log and .idx are open: header, partial entry,
 * entries and data, then the tail cut or the sealed end. */
static void check_seg_open(struct check_seg *s, bool last)
{
	struct check_part *cp = s->cp;
	uint64_t whole, rem;
	uint32_t flags = 0;
	int hdr;

	s->last = last;
	/* as part_open_seg: a sealed segment whose header says it was never
	 * synced gets tail recovery (a torn header too, when no later one is
	 * synced; another bad header: the sealed check) */
	s->tail = true;
	hdr = check_header(s, last, &flags);
	if (hdr == 1 || hdr == -2)
		return; /* kept 0, kept_end 0: all of it is cut */
	s->tail = last || (hdr == 0 && !(flags & FMT_HDR_F_SYNCED));
	if (hdr < 0)
		s->tail = false; /* recovery refuses it or cuts it all */
	whole = s->idx_size < FMT_HDR_SIZE
			? 0
			: (s->idx_size - FMT_HDR_SIZE) / FMT_ENT_SIZE;
	rem = s->idx_size < FMT_HDR_SIZE
		      ? 0
		      : (s->idx_size - FMT_HDR_SIZE) % FMT_ENT_SIZE;
	if (rem && !s->tail)
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_ENTRY,
			     s->irel, (int64_t)(s->idx_size - rem),
			     "sealed segment index has %llu bytes, not a "
			     "header and whole entries (%llu bytes of a "
			     "partial entry)",
			     (unsigned long long)s->idx_size,
			     (unsigned long long)rem);
	if (s->tail && whole) {
		uint64_t z = seg_zero_tail(s->ifd,
					   FMT_HDR_SIZE + FMT_ENT_SIZE * whole);

		if (z) {
			whole -= z;
			s->ahead = FMT_ENT_SIZE * z;
			check_report(cp->c, cp, TFS_CHECK_NOTE,
				     TFS_CHECK_W_LEFTOVER, s->irel,
				     (int64_t)(FMT_HDR_SIZE +
					       FMT_ENT_SIZE * whole),
				     "%llu bytes of zeros after the last index "
				     "entry: space held ahead of appends (by a "
				     "daemon that was killed, or is running), "
				     "which recovery frees",
				     (unsigned long long)s->ahead);
		}
	}
	check_entries(s, whole);
	if (s->hidden)
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_DATA,
			     s->lrel, -1,
			     "%llu more damaged records or entries not listed",
			     (unsigned long long)s->hidden);
	if (s->tail)
		check_tail_cut(s, whole);
	else
		check_sealed_end(s, whole);
}

/* A segment whose .log exists but whose .idx does not. */
static void check_seg_noidx(struct check_seg *s, bool last,
			    struct check_seg_res *res)
{
	struct check_part *cp = s->cp;
	uint64_t b = s->base, n = s->log_size;

	if (!last) {
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
			     s->irel, -1,
			     "index of a sealed segment is missing (.log has "
			     "%llu bytes, offsets %llu..%llu)",
			     (unsigned long long)n, (unsigned long long)b,
			     (unsigned long long)(b + n));
		res->end = b + n;
		return;
	}
	if (cp->rp > b && n) { /* a sync covered some: rec_fix_header */
		uint64_t to = cp->rp - b < n ? cp->rp - b : n;

		cp->s.bad_records++;
		cp->s.torn_log_bytes += n - to;
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
			     s->irel, -1,
			     "index of the active segment is missing, but the "
			     "recovery point %llu says its records were "
			     "synced: recovery creates it and keeps offsets "
			     "%llu..%llu, which read as EIO, and cuts %llu "
			     "bytes after them",
			     (unsigned long long)cp->rp, (unsigned long long)b,
			     (unsigned long long)(b + to),
			     (unsigned long long)(n - to));
		res->end = b + to;
		res->cut = n > to;
		return;
	}
	cp->s.torn_log_bytes += n;
	if (n == 0)
		check_report(cp->c, cp, TFS_CHECK_TORN, TFS_CHECK_W_MISSING,
			     s->irel, -1,
			     "torn tail: index of the empty active segment is "
			     "missing; recovery creates it");
	else
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
			     s->irel, -1,
			     "index of the active segment is missing: recovery "
			     "would create an empty one and cut all %llu bytes "
			     "(offsets %llu..%llu)",
			     (unsigned long long)n, (unsigned long long)b,
			     (unsigned long long)(b + n));
	res->end = b;
	res->cut = n > 0;
	res->crash = n == 0;
}

/*
 * Open segment f's data: its .log, or (compressed, sealed) its .zst, whose
 * header, frame table and trailer zseg_open checks; the records are then
 * read through zseg_pread, so a damaged frame shows as damaged records.
 * Sets s->lrel, s->lfd or s->z, and s->log_size (raw bytes).  -1 when it
 * cannot be read (reported).
 */
static int check_seg_data(struct check_seg *s, const struct check_segf *f)
{
	struct check_part *cp = s->cp;
	const char *ext = f->log ? FMT_LOG_SUFFIX : FMT_ZST_SUFFIX;
	char name[FMT_SEG_NAME_LEN + 1], why[256] = "";
	struct stat sb;
	int fd, err;

	snprintf(s->lrel, sizeof(s->lrel), "%s/%020llu%s", cp->rel,
		 (unsigned long long)f->base, ext);
	seg_name(name, sizeof(name), f->base, ext);
	fd = openat(cp->fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || (f->log && fstat(fd, &sb))) {
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO,
			     s->lrel, -1, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (f->log) {
		s->lfd = fd;
		s->log_size = (uint64_t)sb.st_size;
		return 0;
	}
	err = zseg_open(fd, &s->z, why, sizeof(why));
	if (err) {
		close(fd);
		check_report(cp->c, cp, TFS_CHECK_DAMAGE,
			     err == -EUCLEAN || err == -EPROTONOSUPPORT
				     ? TFS_CHECK_W_ZST
				     : TFS_CHECK_W_IO,
			     s->lrel, -1, "compressed segment: %s",
			     *why ? why : tfs_strerror(err));
		return -1;
	}
	s->log_size = zseg_raw_size(s->z);
	return 0;
}

/* Check segment f (a .log, or a .zst) of the partition; last: the active
 * one. */
void check_seg(struct check_part *cp, const struct check_segf *f, bool last,
	       struct check_seg_res *res)
{
	struct check_seg s = { .cp = cp,
			       .base = f->base,
			       .lfd = -1,
			       .ifd = -1,
			       .want = f->base,
			       .want_known = true,
			       .synced_after = f->synced_after,
			       .no_data = cp->c->flags & TFS_CHECK_NO_DATA };
	char name[FMT_SEG_NAME_LEN + 1];
	struct stat sb;

	memset(res, 0, sizeof(*res));
	res->end_known = true;
	snprintf(s.irel, sizeof(s.irel), "%s/%020llu%s", cp->rel,
		 (unsigned long long)f->base, FMT_IDX_SUFFIX);
	if (check_seg_data(&s, f)) {
		res->end_known = false;
		goto out_close;
	}
	cp->s.bytes += s.z ? zseg_file_size(s.z) : s.log_size;
	if (!f->idx) {
		check_seg_noidx(&s, last, res);
		goto out_close;
	}
	seg_name(name, sizeof(name), f->base, FMT_IDX_SUFFIX);
	s.ifd = openat(cp->fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s.ifd < 0 || fstat(s.ifd, &sb)) {
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO,
			     s.irel, -1, "cannot read: %s", strerror(errno));
		res->end = f->base + s.log_size;
		goto out_close;
	}
	s.idx_size = (uint64_t)sb.st_size;
	cp->s.bytes += s.idx_size;
	check_seg_open(&s, last);
	res->tail = s.tail;
	res->kept = s.kept;
	res->end = f->base + s.kept_end;
	res->cut = s.tail && (s.kept_end < s.log_size ||
			      s.idx_size - s.ahead >
				      FMT_HDR_SIZE + FMT_ENT_SIZE * s.kept);
	res->crash = cp->s.status != TFS_CHECK_DAMAGED;
out_close:
	if (s.lfd >= 0)
		close(s.lfd);
	zseg_close(s.z);
	if (s.ifd >= 0)
		close(s.ifd);
}
