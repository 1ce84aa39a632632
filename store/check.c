/*
 * store/check.c - the offline checker (tfs_check, include/topicfs/check.h):
 * walk a data dir read-only and report every finding through a callback.
 *
 * The dir walk (format file, topics, partitions, leftovers) is at the top;
 * one segment's check is in the middle; one partition's segment list, with
 * gaps and what recovery would drop, is at the bottom.  The rules follow
 * recovery (recovery.c, partition.c) so that "torn tail" here means what
 * the next tfs_store_open() cuts, and "damage" what it refuses or what it
 * would cut although no crash leaves it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "topicfs/check.h"
#include "zseg.h"

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
};

/* One partition being checked. */
struct check_part {
	struct check *c;	  /* the run */
	int fd;			  /* O_DIRECTORY fd of the partition dir */
	char rel[CHECK_PREL_MAX]; /* "TOPIC/P" */
	struct tfs_check_part s;  /* the summary being built */
	char bad_file[CHECK_REL_MAX]; /* s.bad_file points here */
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
	char lrel[CHECK_REL_MAX]; /* "TOPIC/P/<base>.log" (or .zst) */
	char irel[CHECK_REL_MAX]; /* "TOPIC/P/<base>.idx" */
	int lfd;		 /* .log fd (-1 for a .zst) */
	struct zseg *z;		 /* the open .zst of a compressed segment
				    (its data, read through zseg_pread), or
				    NULL */
	uint64_t zbad;		 /* raw offset of a damaged .zst frame */
	int ifd;		 /* .idx fd */
	uint64_t log_size;	 /* .log bytes */
	uint64_t idx_size;	 /* .idx bytes */
	uint64_t want;		 /* offset the next entry must have */
	bool want_known;	 /* want is known (not after a torn entry) */
	bool no_data;		 /* do not read record data (flag, error) */
	bool stopped;		 /* tail: recovery's walk stops at stop_i */
	bool stop_crash;	 /* tail: the entries it cuts look like an
				    interrupted append (zeroed, or whole
				    but past the .log) */
	uint64_t stop_i;	 /* tail: first entry recovery cuts */
	char stop_why[200];	 /* tail: why it stops there */
	uint64_t kept;		 /* entries recovery keeps */
	uint64_t kept_end;	 /* segment-relative end of those */
	uint64_t run_n;		 /* records failing their data CRC since the
				    last one that passed */
	uint64_t run_i;		 /* entry of the first of those */
	uint64_t run_off;	 /* its partition offset */
	uint64_t run_end;	 /* partition end of the last of those */
	bool run_crash;		 /* all of them end in zeroed sectors */
	uint64_t details;	 /* damaged records reported */
	uint64_t hidden;	 /* damaged records not listed (cap) */
	uint64_t rd_pos;	 /* .log position of c->data[0] */
	size_t rd_len;		 /* valid bytes in c->data */
};

/* ---- reporting ------------------------------------------------------- */

static void check_emit(struct check *c, struct check_part *cp,
		       enum tfs_check_kind kind, enum tfs_check_what what,
		       const char *file, int64_t pos, const char *msg)
{
	struct tfs_check_report r = { .kind = kind,
				      .what = what,
				      .file = file,
				      .pos = pos,
				      .msg = msg };

	if (kind == TFS_CHECK_NOTE)
		c->sum.notes++;
	else if (kind == TFS_CHECK_TORN)
		c->sum.torn++;
	else if (kind == TFS_CHECK_DAMAGE)
		c->sum.damage++;
	if (cp && kind == TFS_CHECK_TORN && cp->s.status == TFS_CHECK_OK)
		cp->s.status = TFS_CHECK_TORN_TAIL;
	if (cp && kind == TFS_CHECK_DAMAGE) {
		cp->s.status = TFS_CHECK_DAMAGED;
		if (!cp->s.bad_file) {
			snprintf(cp->bad_file, sizeof(cp->bad_file), "%s",
				 file);
			cp->s.bad_file = cp->bad_file;
			cp->s.bad_pos = pos;
		}
	}
	if (c->fn)
		c->fn(&r, c->arg);
}

/* Report a finding about file (relative to the data dir); cp NULL for
 * findings outside a partition. */
static void check_report(struct check *c, struct check_part *cp,
			 enum tfs_check_kind kind, enum tfs_check_what what,
			 const char *file, int64_t pos, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void check_report(struct check *c, struct check_part *cp,
			 enum tfs_check_kind kind, enum tfs_check_what what,
			 const char *file, int64_t pos, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	check_emit(c, cp, kind, what, file, pos, msg);
}

const char *tfs_check_status_name(enum tfs_check_status status)
{
	switch (status) {
	case TFS_CHECK_OK:
		return "ok";
	case TFS_CHECK_TORN_TAIL:
		return "torn tail";
	case TFS_CHECK_DAMAGED:
		return "DAMAGED";
	}
	return "?";
}

static bool check_has_suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), m = strlen(sfx);

	return n > m && !strcmp(name + n - m, sfx);
}

/* Parse "<20 digits><sfx>"; 0 and *base, or -EINVAL. */
static int check_parse_base(const char *name, const char *sfx,
			    uint64_t *base)
{
	const char *rest;

	if (seg_parse_base(name, base, &rest) || strcmp(rest, sfx))
		return -EINVAL;
	return 0;
}

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

/* Read len data bytes at pos: from the .log, or decompressed from the
 * .zst (a damaged frame: -EIO with s->zbad).  -errno. */
static int check_read(struct check_seg *s, void *buf, size_t len,
		      uint64_t pos)
{
	ssize_t n;

	if (!s->z)
		return seg_pread_all(s->lfd, buf, len, pos);
	n = zseg_pread(s->z, buf, len, pos, &s->zbad);
	if (n >= 0 && (size_t)n != len) {
		n = zseg_pread(s->z, (char *)buf + n, len - (size_t)n,
			       pos + (uint64_t)n, &s->zbad);
		n = n < 0 ? n : -EIO;
	}
	return n < 0 ? (int)n : 0;
}

/* CRC32C of len .log bytes at position pos, read through c->data in large
 * chunks; *zs is where the zero bytes at its end start (pos + len if the
 * last byte is not zero, pos if all are zero).  -errno. */
static int check_data_crc(struct check_seg *s, uint64_t pos, uint64_t len,
			  uint32_t *crc, uint64_t *zs)
{
	struct check *c = s->cp->c;
	unsigned char *buf;
	int err;

	*crc = 0;
	*zs = pos;
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
			if (!err)
				err = check_read(s, c->data, s->rd_len, pos);
			if (err) {
				s->rd_len = 0;
				return err;
			}
		}
		buf = c->data;
		off = (size_t)(pos - s->rd_pos);
		n = s->rd_len - off < len ? s->rd_len - off : (size_t)len;
		*crc = crc32c(*crc, buf + off, n);
		for (size_t i = n; i > 0; i--) {
			if (buf[off + i - 1]) {
				*zs = pos + i;
				break;
			}
		}
		pos += n;
		len -= n;
	}
	return 0;
}

/* Records failing their data CRC that recovery keeps (a record after them
 * passed), or that a sealed segment holds: damage. */
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

/* Check record i's data against its entry e. */
static void check_record(struct check_seg *s, uint64_t i,
			 const struct seg_entry *e)
{
	uint64_t pos = e->off - s->base, zs;
	uint32_t crc;
	int err;

	if (s->no_data)
		goto out_good;
	err = check_data_crc(s, pos, e->len, &crc, &zs);
	if (err && s->z && err == -EIO) {
		check_seg_damage(s, TFS_CHECK_W_DATA, false, -1,
				 "reading record %llu..%llu: the compressed "
				 "frame at raw offset %llu is damaged; data "
				 "after it not checked",
				 (unsigned long long)e->off,
				 (unsigned long long)(e->off + e->len),
				 (unsigned long long)s->zbad);
		s->no_data = true;
		goto out_good;
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
	if (!s->run_n) {
		s->run_i = i;
		s->run_off = e->off;
		s->run_crash = true;
	}
	s->run_n++;
	s->run_end = e->off + e->len;
	/* a power loss zeroes whole sectors: from one, or the whole record */
	s->run_crash = s->run_crash &&
		       (zs == pos || (zs + CHECK_SECTOR - 1) / CHECK_SECTOR *
						     CHECK_SECTOR <
					     pos + e->len);
	return;

out_good:
	if (s->run_n)
		check_run_damage(s, s->tail ? " (recovery keeps it, it checks "
					      "only the records at the tail; "
					      "reads of it fail with EIO)"
					    : "");
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

/* One entry: contiguity, bounds, then its record's data.  Past the first
 * bad entry of a tail, only note whether recovery's cut looks torn. */
static void check_entry(struct check_seg *s, uint64_t i,
			const unsigned char *raw)
{
	static const unsigned char zeros[FMT_ENT_SIZE];
	bool zero = !memcmp(raw, zeros, FMT_ENT_SIZE), past;
	int64_t ipos = (int64_t)(FMT_HDR_SIZE + FMT_ENT_SIZE * i);
	struct seg_entry e;
	int err = seg_ent_decode(raw, &e);
	char buf[200];
	const char *why;

	if (s->stopped) {
		s->stop_crash = s->stop_crash && (zero || !err);
		return;
	}
	why = check_entry_bad(s, err, &e, zero, buf, sizeof(buf), &past);
	if (why && s->tail) {
		s->stopped = true;
		s->stop_i = i;
		/* in place but past the .log: the index got to the disk and
		 * the data did not (a power loss) */
		s->stop_crash = zero || (past && e.off == s->want);
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
 * (reported as torn), -1 damage (reported). */
static int check_header(struct check_seg *s, uint32_t *flags)
{
	struct check_part *cp = s->cp;
	unsigned char hdr[FMT_HDR_SIZE];
	bool torn = s->tail && s->log_size == 0 && s->idx_size <= FMT_HDR_SIZE;
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
	if (torn) {
		check_report(cp->c, cp, TFS_CHECK_TORN, TFS_CHECK_W_HEADER,
			     s->irel, 0,
			     "torn tail: %s (%llu of %u bytes) in an empty "
			     "segment: recovery rewrites it",
			     why, (unsigned long long)s->idx_size,
			     FMT_HDR_SIZE);
		return 1;
	}
	if (err == -EPROTONOSUPPORT)
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
			     s->irel, FMT_HDR_VERSION,
			     "%s: version %u (this topicfs reads %u)", why, v,
			     FMT_IDX_VERSION);
	else
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_HEADER,
			     s->irel, 0, "%s (index %llu bytes, .log %llu bytes)",
			     why, (unsigned long long)s->idx_size,
			     (unsigned long long)s->log_size);
	return -1;
}

/* What recovery would cut from a tail segment, after the walk: torn if
 * every piece looks like an interrupted append, else damage. */
static void check_tail_cut(struct check_seg *s, uint64_t whole)
{
	struct check_part *cp = s->cp;
	uint64_t icut = s->idx_size - (FMT_HDR_SIZE + FMT_ENT_SIZE * s->kept);
	uint64_t lcut = s->log_size - s->kept_end;
	bool crash = (!s->run_n || s->run_crash) &&
		     (!s->stopped || s->stop_crash);
	char why[400];

	if (!icut && !lcut)
		return;
	if (s->run_n)
		snprintf(why, sizeof(why),
			 "%llu records %llu..%llu (from entry %llu) fail their "
			 "data CRC%s",
			 (unsigned long long)s->run_n,
			 (unsigned long long)s->run_off,
			 (unsigned long long)s->run_end,
			 (unsigned long long)s->run_i,
			 s->run_crash ? " (zeroed, as a power loss leaves "
					"them)"
				      : " (and are not zeroed)");
	else if (s->stopped)
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
		     (unsigned long long)(s->base + s->log_size), why);
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

	/* as part_open_seg: a sealed segment whose header says it was never
	 * synced gets tail recovery (a bad header: the sealed check) */
	s->tail = true;
	hdr = check_header(s, &flags);
	if (hdr == 1)
		return;
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

/* What check_seg found for the partition's segment list. */
struct check_seg_res {
	uint64_t end;	 /* partition end of the segment after recovery */
	bool end_known;	 /* end is known */
	bool tail;	 /* recovery repairs its tail */
	bool cut;	 /* recovery cuts something from it */
	bool crash;	 /* what it cuts is a torn tail, not damage */
	uint64_t kept;	 /* records recovery keeps */
};

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
	snprintf(name, sizeof(name), "%020llu%s", (unsigned long long)f->base,
		 ext);
	fd = openat(cp->fd, name, O_RDONLY | O_CLOEXEC);
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
static void check_seg(struct check_part *cp, const struct check_segf *f,
		      bool last, struct check_seg_res *res)
{
	struct check_seg s = { .cp = cp,
			       .base = f->base,
			       .lfd = -1,
			       .ifd = -1,
			       .want = f->base,
			       .want_known = true,
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
	snprintf(name, sizeof(name), "%020llu%s", (unsigned long long)f->base,
		 FMT_IDX_SUFFIX);
	s.ifd = openat(cp->fd, name, O_RDONLY | O_CLOEXEC);
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
			      s.idx_size > FMT_HDR_SIZE + FMT_ENT_SIZE * s.kept);
	res->crash = cp->s.status != TFS_CHECK_DAMAGED;
out_close:
	if (s.lfd >= 0)
		close(s.lfd);
	zseg_close(s.z);
	if (s.ifd >= 0)
		close(s.ifd);
}

/* ---- one partition --------------------------------------------------- */

/* Record that base has the file of kind ('l' .log, 'i' .idx, 'z' .zst,
 * 'd' a .log.deleted or .zst.deleted). */
static int check_segf_add(struct check_part *cp, uint64_t base, char kind)
{
	struct check_segf *v;
	size_t i;

	for (i = cp->nsegs; i > 0 && cp->segs[i - 1].base != base; i--)
		;
	if (!i) {
		v = store_grow(cp->segs, &cp->segs_cap, cp->nsegs, sizeof(*v));
		if (!v)
			return -ENOMEM;
		cp->segs = v;
		memset(&v[cp->nsegs], 0, sizeof(*v));
		v[cp->nsegs].base = base;
		i = ++cp->nsegs;
	}
	v = &cp->segs[i - 1];
	v->log = v->log || kind == 'l';
	v->idx = v->idx || kind == 'i';
	v->zst = v->zst || kind == 'z';
	v->del = v->del || kind == 'd';
	return 0;
}

/* Sort one entry of a partition dir: a segment file, a leftover, or a
 * stranger. */
static int check_part_entry(struct check_part *cp, const char *name)
{
	char rel[CHECK_REL_MAX];
	uint64_t base;
	bool is_log;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (!seg_parse_name(name, &base, &is_log))
		return check_segf_add(cp, base, is_log ? 'l' : 'i');
	if (!check_parse_base(name, FMT_ZST_SUFFIX, &base))
		return check_segf_add(cp, base, 'z');
	snprintf(rel, sizeof(rel), "%s/%s", cp->rel, name);
	/* a retention delete renames the .log (or .zst) first */
	if (!check_parse_base(name, FMT_LOG_SUFFIX FMT_DEL_SUFFIX, &base) ||
	    !check_parse_base(name, FMT_ZST_SUFFIX FMT_DEL_SUFFIX, &base))
		return check_segf_add(cp, base, 'd');
	if (!check_parse_base(name, FMT_IDX_SUFFIX FMT_DEL_SUFFIX, &base))
		check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_RETENTION,
			     rel, -1,
			     "retention delete in progress; recovery removes "
			     "it");
	else if (check_has_suffix(name, FMT_TMP_SUFFIX))
		check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
			     rel, -1,
			     "leftover temporary file; recovery removes it");
	else
		check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN,
			     rel, -1, "unknown file; topicfs ignores it");
	return 0;
}

static int check_cmp_segf(const void *a, const void *b)
{
	uint64_t x = ((const struct check_segf *)a)->base;
	uint64_t y = ((const struct check_segf *)b)->base;

	return x < y ? -1 : x > y;
}

static int check_part_scan(struct check_part *cp)
{
	int fd = dup(cp->fd);
	struct dirent *de;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int err = 0;

	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (errno = 0, de = readdir(d)))
		err = check_part_entry(cp, de->d_name);
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (cp->nsegs)
		qsort(cp->segs, cp->nsegs, sizeof(*cp->segs), check_cmp_segf);
	return err;
}

/* Segment f will not be checked: recovery deletes it, because the
 * segment before it (sealed, never synced) ends elsewhere. */
static void check_seg_dropped(struct check_part *cp,
			      const struct check_segf *f, bool crash)
{
	char rel[CHECK_REL_MAX];
	struct stat sb;
	uint64_t n = 0;

	snprintf(rel, sizeof(rel), "%s/%020llu%s", cp->rel,
		 (unsigned long long)f->base, FMT_LOG_SUFFIX);
	if (!fstatat(cp->fd, rel + strlen(cp->rel) + 1, &sb, 0))
		n = (uint64_t)sb.st_size;
	cp->s.bytes += n;
	cp->s.torn_log_bytes += n;
	check_report(cp->c, cp, crash ? TFS_CHECK_TORN : TFS_CHECK_DAMAGE,
		     TFS_CHECK_W_TAIL, rel, -1,
		     "recovery would drop this segment (%llu bytes, offsets "
		     "%llu..%llu): the segment before it was never synced and "
		     "does not end where this one starts",
		     (unsigned long long)n, (unsigned long long)f->base,
		     (unsigned long long)(f->base + n));
}

/* A .idx without its .log (and no .zst): topicfs ignores it. */
static void check_lone_idx(struct check_part *cp, const struct check_segf *f)
{
	char rel[CHECK_REL_MAX];
	struct stat sb;

	snprintf(rel, sizeof(rel), "%s/%020llu%s", cp->rel,
		 (unsigned long long)f->base, FMT_IDX_SUFFIX);
	if (!fstatat(cp->fd, rel + strlen(cp->rel) + 1, &sb, 0))
		cp->s.bytes += (uint64_t)sb.st_size;
	check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING, rel, -1,
		     "segment %llu has an index but no .log: its data is "
		     "missing (topicfs ignores this index)",
		     (unsigned long long)f->base);
}

/* Walk the sorted segments: gaps, each segment, and what recovery drops
 * after a sealed segment it cuts. */
static void check_part_segs(struct check_part *cp)
{
	struct check_seg_res res = { 0 };
	size_t last = cp->nsegs;
	bool known = false, drop = false, crash = true, started = false;
	uint64_t end = 0;

	for (size_t i = 0; i < cp->nsegs; i++)
		if (cp->segs[i].log && !cp->segs[i].del)
			last = i;
	for (size_t i = 0; i < cp->nsegs; i++) {
		const struct check_segf *f = &cp->segs[i];
		char rel[CHECK_REL_MAX];

		if (f->del) {
			snprintf(rel, sizeof(rel), "%s/%020llu%s%s", cp->rel,
				 (unsigned long long)f->base,
				 f->zst ? FMT_ZST_SUFFIX : FMT_LOG_SUFFIX,
				 FMT_DEL_SUFFIX);
			check_report(cp->c, cp, TFS_CHECK_NOTE,
				     TFS_CHECK_W_RETENTION, rel, -1,
				     "retention delete of segment %llu in "
				     "progress; recovery finishes it (removes "
				     "what is left of the segment)",
				     (unsigned long long)f->base);
			continue;
		}
		if (!f->log && !f->zst) {
			check_lone_idx(cp, f);
			continue;
		}
		cp->s.segments++;
		if (drop) {
			check_seg_dropped(cp, f, crash);
			continue;
		}
		if (!started)
			cp->s.start = f->base;
		started = true;
		snprintf(rel, sizeof(rel), "%s/%020llu%s", cp->rel,
			 (unsigned long long)f->base,
			 f->log ? FMT_LOG_SUFFIX : FMT_ZST_SUFFIX);
		if (known && f->base != end)
			check_report(cp->c, cp, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_GAP, rel, -1,
				     "segment starts at offset %llu but the "
				     "previous segment ends at offset %llu",
				     (unsigned long long)f->base,
				     (unsigned long long)end);
		if (f->zst && f->log)
			check_report(cp->c, cp, TFS_CHECK_NOTE,
				     TFS_CHECK_W_LEFTOVER, rel, -1,
				     "a compressed copy (.zst) is beside this "
				     ".log: compression was interrupted; "
				     "recovery removes the copy");
		check_seg(cp, f, f->log && i == last, &res);
		known = res.end_known;
		end = res.end;
		cp->s.records += res.kept;
		/* part_open_segs: an unsynced sealed segment that recovery
		 * cut, or that ends short, takes the later ones with it */
		if (i < last && res.tail &&
		    (res.cut || res.end != cp->segs[i + 1].base)) {
			drop = true;
			crash = res.crash;
		}
	}
	cp->s.end = known ? end : cp->s.start;
}

static void check_part(struct check *c, const char *topic, int tfd,
		       uint32_t num)
{
	struct check_part cp = { .c = c, .s = { .topic = topic, .num = num,
						.bad_pos = -1 } };
	struct tfs_check_report r = { .kind = TFS_CHECK_PART,
				      .file = cp.rel,
				      .pos = -1,
				      .msg = "",
				      .part = &cp.s };
	char name[16];
	int err;

	snprintf(name, sizeof(name), "%u", num);
	snprintf(cp.rel, sizeof(cp.rel), "%s/%u", topic, num);
	cp.fd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = cp.fd < 0 ? -errno : check_part_scan(&cp);
	if (err) {
		check_report(c, &cp, TFS_CHECK_DAMAGE,
			     err == -ENOTDIR ? TFS_CHECK_W_PARTITIONS
					     : TFS_CHECK_W_IO,
			     cp.rel, -1, "cannot read the partition: %s",
			     strerror(-err));
	} else if (!cp.nsegs) {
		check_report(c, &cp, TFS_CHECK_NOTE, TFS_CHECK_W_MISSING,
			     cp.rel, -1,
			     "partition has no segments; recovery creates "
			     "segment 0");
	} else {
		check_part_segs(&cp);
	}
	c->sum.partitions++;
	c->sum.segments += cp.s.segments;
	c->sum.records += cp.s.records;
	c->sum.bytes += cp.s.bytes;
	c->sum.parts_torn += cp.s.status == TFS_CHECK_TORN_TAIL;
	c->sum.parts_damaged += cp.s.status == TFS_CHECK_DAMAGED;
	if (c->fn)
		c->fn(&r, c->arg);
	free(cp.segs);
	if (cp.fd >= 0)
		close(cp.fd);
}

/* ---- topics and the data dir ----------------------------------------- */

static int check_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd (dup'ed), sorted, minus "." and "..". */
static int check_list(int fd, char ***out, size_t *n)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cap = 0;
	DIR *d;
	int err = 0;

	*n = 0;
	fd = dup(fd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		nv = store_grow(v, &cap, *n, sizeof(*v));
		if (nv)
			v = nv;
		if (!nv || !(v[*n] = strdup(de->d_name)))
			err = -ENOMEM;
		else
			(*n)++;
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (err) {
		tfs_names_free(v, *n);
		return err;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), check_cmp_name);
	*out = v;
	return 0;
}

static int check_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort one entry of a topic dir into nums (partitions), or report it. */
static int check_topic_entry(struct check *c, const char *topic, int tfd,
			     const char *name, uint32_t *nums, uint32_t *n)
{
	size_t len = strlen(name), dl = strlen(FMT_DEL_SUFFIX);
	char rel[CHECK_REL_MAX], num[16];
	struct stat sb;
	uint32_t p;

	snprintf(rel, sizeof(rel), "%s/%s", topic, name);
	if (!tfs_part_name_parse(name, &p)) {
		if (fstatat(tfd, name, &sb, 0) || !S_ISDIR(sb.st_mode)) {
			check_report(c, NULL, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_PARTITIONS, rel, -1,
				     "partition %u is not a directory", p);
			return 0;
		}
		nums[(*n)++] = p;
		return 0;
	}
	if (len > dl && len - dl < sizeof(num) &&
	    !strcmp(name + len - dl, FMT_DEL_SUFFIX)) {
		memcpy(num, name, len - dl);
		num[len - dl] = '\0';
		if (!tfs_part_name_parse(num, &p)) {
			check_report(c, NULL, TFS_CHECK_NOTE,
				     TFS_CHECK_W_LEFTOVER, rel, -1,
				     "interrupted partition delete; recovery "
				     "finishes it");
			return 0;
		}
	}
	if (!strcmp(name, FMT_TOPIC_CONFIG))
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNCHECKED,
			     rel, -1, "topic config, not checked");
	else if (!strcmp(name, FMT_GROUPS_DIR))
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNCHECKED,
			     rel, -1, "consumer groups, not checked");
	else if (!strcmp(name, FMT_TOPIC_CONFIG_TMP))
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
			     rel, -1,
			     "leftover temporary topic config; recovery "
			     "removes it");
	else
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN, rel,
			     -1, "unknown file; topicfs ignores it");
	return 0;
}

/* One topic: its partition numbers must be dense; check each. */
static int check_topic(struct check *c, const char *topic)
{
	int tfd = openat(c->dir_fd, topic, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t *nums = NULL, n = 0;
	char **names = NULL;
	size_t count = 0;
	int err;

	err = tfd < 0 ? -errno : check_list(tfd, &names, &count);
	if (err == -ENOMEM)
		goto out;
	if (err) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO, topic,
			     -1, "cannot read the topic: %s", strerror(-err));
		err = 0;
		goto out;
	}
	c->sum.topics++;
	nums = malloc((count ? count : 1) * sizeof(*nums));
	if (!nums) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		check_topic_entry(c, topic, tfd, names[i], nums, &n);
	if (n)
		qsort(nums, n, sizeof(*nums), check_cmp_u32);
	for (uint32_t i = 0; i < n; i++) {
		if (nums[i] != i) {
			check_report(c, NULL, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_PARTITIONS, topic, -1,
				     "partition %u is missing (partitions "
				     "must be dense, found %u); the topic "
				     "cannot be mounted",
				     i, nums[i]);
			break;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		check_part(c, topic, tfd, nums[i]);
out:
	free(nums);
	tfs_names_free(names, count);
	if (tfd >= 0)
		close(tfd);
	return err;
}

/* The format file: 0 checked (damage reported), 1 the dir is empty (not
 * initialised), or -EPROTONOSUPPORT/-EINVAL (reported), -errno. */
static int check_format(struct check *c, char **names, size_t n)
{
	char text[FMT_FILE_MAX + 1];
	size_t pl = strlen(FMT_FILE_PREFIX), others = 0;
	unsigned long v;
	char *end;
	ssize_t len;
	int fd;

	for (size_t i = 0; i < n; i++)
		others += strcmp(names[i], FMT_FILE) &&
			  strcmp(names[i], FMT_FILE_TMP);
	fd = openat(c->dir_fd, FMT_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !others) {
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_FORMAT, "",
			     -1,
			     "empty data dir, not initialised yet (a mount "
			     "initialises it)");
		return 1;
	}
	if (fd < 0 && errno == ENOENT) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT, "",
			     -1,
			     "not a topicfs data dir (no %s file) and not empty",
			     FMT_FILE);
		return -EINVAL;
	}
	len = fd < 0 ? -1 : read(fd, text, FMT_FILE_MAX);
	if (len < 0) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO,
			     FMT_FILE, -1, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	text[len] = '\0';
	/* as store_parse_format */
	errno = 0;
	if (strncmp(text, FMT_FILE_PREFIX, pl) || text[pl] < '0' ||
	    text[pl] > '9' || (v = strtoul(text + pl, &end, 10), errno) ||
	    (*end != '\n' && *end != '\0')) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT,
			     FMT_FILE, 0,
			     "not a topicfs format file (expected \"%s%u\")",
			     FMT_FILE_PREFIX, FMT_VERSION);
		return 0;
	}
	if (v < FMT_VERSION_OLDEST || v > FMT_VERSION) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT,
			     FMT_FILE, (int64_t)pl,
			     "data dir format version %lu found; this "
			     "topicfs-fsck checks format versions %u to %u",
			     v, FMT_VERSION_OLDEST, FMT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (v < FMT_VERSION)
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_FORMAT,
			     FMT_FILE, (int64_t)pl,
			     "data dir format version %lu; a mount upgrades it "
			     "to version %u in place",
			     v, FMT_VERSION);
	return 0;
}

/* One entry of the data dir: a topic, a leftover, or a stranger. */
static int check_dir_entry(struct check *c, const char *name)
{
	struct stat sb;

	if (!strcmp(name, FMT_FILE))
		return 0;
	if (!strcmp(name, FMT_FILE_TMP)) {
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
			     name, -1,
			     "leftover temporary format file; recovery "
			     "removes it");
		return 0;
	}
	if (tfs_topic_name_valid(name) || fstatat(c->dir_fd, name, &sb, 0) ||
	    !S_ISDIR(sb.st_mode)) {
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN, name,
			     -1, "%s; topicfs ignores it",
			     tfs_topic_name_valid(name)
				     ? "not a valid topic name"
				     : "not a directory");
		return 0;
	}
	return check_topic(c, name);
}

int tfs_check(const char *dir, unsigned flags, tfs_check_report_fn fn,
	      void *arg, struct tfs_check_summary *sum)
{
	struct check c = { .dir = dir, .flags = flags, .fn = fn, .arg = arg };
	char **names = NULL;
	size_t n = 0;
	int err;

	c.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dir_fd < 0) {
		err = -errno;
		return err == -ENOENT || err == -ENOTDIR || err == -EACCES ||
				       err == -ENOMEM
			       ? err
			       : -EIO;
	}
	c.ents = malloc(CHECK_BATCH * FMT_ENT_SIZE);
	err = c.ents ? check_list(c.dir_fd, &names, &n) : -ENOMEM;
	if (!err)
		err = check_format(&c, names, n);
	c.sum.initialised = err != 1;
	for (size_t i = 0; !err && i < n; i++)
		err = check_dir_entry(&c, names[i]);
	if (err == 1)
		err = 0;
	if (!err && c.sum.damage)
		err = -EUCLEAN;
	if (sum)
		*sum = c.sum;
	tfs_names_free(names, n);
	free(c.data);
	free(c.ents);
	close(c.dir_fd);
	if (err == -EACCES || err == -ENOENT || err == -ENOTDIR)
		err = -EIO; /* the dir opened: a listing failed */
	return err;
}
