/*
 * store/zseg.c - compressed sealed segments (.zst): writing one from a
 * .log, opening and checking one, and reading raw bytes back through a
 * small cache of decoded frames.  The layout is drawn below, at the code
 * that writes it, and in docs/FORMAT.md; the constants are FMT_ZST_* in
 * format.h.
 *
 * Contexts: zseg_write makes one ZSTD_CCtx per call (a background job, once
 * per segment).  Reads borrow a ZSTD_DCtx and a compressed-frame buffer
 * from a process-wide pool (zseg_pool), so neither is allocated per read
 * and an open zseg holds no context of its own.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "le.h"
#include "zseg.h"

#define ZSEG_POOL_MAX 8 /* idle decompression contexts kept */
/* Compressed buffers up to this size go back to the pool with their
 * context; bigger ones (frames over ZSEG_FRAME_BYTES) are freed. */
#define ZSEG_IN_KEEP ZSTD_COMPRESSBOUND(ZSEG_FRAME_BYTES)
/* zstd frame header descriptor: the byte after the 4-byte magic
 * (RFC 8878 3.1.1.1.1); bit 2 is Content_Checksum_flag. */
#define ZSEG_FHD_POS	  4
#define ZSEG_FHD_CHECKSUM 0x04u

/* One frame as the table describes it, plus its raw offset. */
struct zseg_frame {
	uint64_t coff; /* file offset of the zstd frame */
	uint64_t roff; /* raw offset of its first byte (sum of rlen before) */
	uint32_t clen; /* compressed bytes */
	uint32_t rlen; /* raw bytes, 1 .. z->frame_bytes */
	uint32_t rcrc; /* CRC32C of the raw bytes */
};

/* One decoded frame of the cache. */
struct zseg_slot {
	int64_t frame;	    /* frame index held, -1 for none; z->lock */
	unsigned char *buf; /* z->frame_bytes bytes, owned, allocated on first
			       use; written only by its loader (loading set,
			       holding a reference), freed only at refs 0 */
	uint32_t refs;	    /* readers copying out of buf, plus the loader;
			       z->lock */
	bool loading;	    /* buf is being decoded; z->lock */
	uint64_t used;	    /* z->tick at the last use, for LRU; z->lock */
};

struct zseg {
	_Atomic int fd;		   /* the .zst file, owned; -1 while closed
				      (zseg_fd_take, zseg_fd_set) */
	uint64_t file_size;	   /* its size at open; immutable */
	uint64_t raw_size;	   /* raw bytes; immutable */
	uint32_t frame_bytes;	   /* most raw bytes in a frame; immutable */
	uint32_t nframes;	   /* entries of frames; immutable */
	struct zseg_frame *frames; /* by raw offset, owned; immutable */
	_Atomic uint64_t decoded;  /* frames decompressed by zseg_pread */
	_Atomic bool *reported;	   /* per frame: its damage was logged */
	_Atomic bool damaged;	   /* some frame failed (zseg_report_once) */
	pthread_mutex_t lock;	   /* protects tick and the slots' fields;
				      a leaf lock, held only briefly */
	pthread_cond_t loaded;	   /* a slot finished loading; with lock */
	uint64_t tick;		   /* LRU clock; lock */
	struct zseg_slot slots[ZSEG_CACHE_SLOTS]; /* the cache */
};

/* A decompression context and its input buffer, pooled. */
struct zseg_work {
	struct zseg_work *next; /* pool link; zseg_pool_lock */
	ZSTD_DCtx *dctx;	/* owned */
	unsigned char *in;	/* compressed frame bytes, owned */
	size_t cap;		/* bytes at in */
};

static pthread_mutex_t zseg_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zseg_work *zseg_pool; /* idle contexts; zseg_pool_lock */
static unsigned zseg_pool_idle;	    /* entries of zseg_pool; same lock */

/* ---- messages ------------------------------------------------------- */

/* Write the reason into why (if not NULL); @return err. */
static int zseg_why(int err, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int zseg_why(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* ---- writing --------------------------------------------------------- */

/*
 * The file, all integers little-endian:
 *
 *   0        32                                T          T+24n     T+24n+32
 *   +--------+-------+-------+-----+---------+-----------+---------+
 *   | header |frame 0|frame 1| ... |frame n-1|frame table| trailer |
 *   +--------+-------+-------+-----+---------+-----------+---------+
 *
 * Header, 32 bytes:
 *
 *   0        8        12       16                24       28       32
 *   +--------+--------+--------+-----------------+--------+--------+
 *   | magic  |version | frame  | raw size        | level  | CRC32C |
 *   |TFSZST01|   1    | bytes  | u64             | s32    | of 0..27
 *   +--------+--------+--------+-----------------+--------+--------+
 */
static void zseg_hdr_encode(unsigned char *h, uint32_t frame_bytes,
			    uint64_t raw_size, int level)
{
	memset(h, 0, FMT_ZST_HDR_SIZE);
	memcpy(h + FMT_ZST_HDR_MAGIC, FMT_ZST_MAGIC, FMT_ZST_MAGIC_LEN);
	le_put32(h + FMT_ZST_HDR_VERSION, FMT_ZST_VERSION);
	le_put32(h + FMT_ZST_HDR_FRAME, frame_bytes);
	le_put64(h + FMT_ZST_HDR_RAWSIZE, raw_size);
	le_put32(h + FMT_ZST_HDR_LEVEL, (uint32_t)level);
	le_put32(h + FMT_ZST_HDR_CRC, crc32c(0, h, FMT_ZST_HDR_CRC));
}

/* The state of one zseg_write. */
struct zseg_wr {
	ZSTD_CCtx *cctx;      /* owned */
	unsigned char *raw;   /* frame_bytes of input, owned */
	unsigned char *out;   /* out_cap bytes of output, owned */
	size_t out_cap;	      /* ZSTD_compressBound(frame_bytes) */
	unsigned char *table; /* FMT_ZST_ENT_SIZE per frame, owned */
	uint64_t coff;	      /* file offset of the next frame */
};

/* Allocate w for frames of frame_bytes; -ENOMEM, -EINVAL (level). */
static int zseg_wr_init(struct zseg_wr *w, uint64_t nframes, int level,
			uint32_t frame_bytes)
{
	w->out_cap = ZSTD_compressBound(frame_bytes);
	w->cctx = ZSTD_createCCtx();
	w->raw = seg_buf_alloc(frame_bytes);
	w->out = malloc(w->out_cap);
	w->table = malloc(nframes ? nframes * FMT_ZST_ENT_SIZE : 1);
	w->coff = FMT_ZST_HDR_SIZE;
	if (!w->cctx || !w->raw || !w->out || !w->table)
		return -ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(
		    w->cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(
		    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(
		    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1)))
		return -EINVAL;
	return 0;
}

static void zseg_wr_free(struct zseg_wr *w)
{
	ZSTD_freeCCtx(w->cctx);
	free(w->raw);
	free(w->out);
	free(w->table);
}

/*
 * Compress raw bytes [rpos, rpos + rlen) of src into frame i at w->coff,
 * and fill its table entry (24 bytes):
 *
 *   0                 8        12       16       20       24
 *   +-----------------+--------+--------+--------+--------+
 *   | file offset     | comp.  | raw    | CRC32C |reserved|
 *   | of the frame    | length | length | of raw | 0      |
 *   +-----------------+--------+--------+--------+--------+
 *
 * ZSTD_compress2, not ZSTD_compressCCtx: the latter ignores the advanced
 * parameters (the checksum flag).  -EIO short src or zstd error; -ENOMEM;
 * -errno from pread/pwrite.
 */
static int zseg_wr_frame(struct zseg_wr *w, int src_fd, int dst_fd, uint64_t i,
			 uint64_t rpos, uint32_t rlen)
{
	unsigned char *e = w->table + i * FMT_ZST_ENT_SIZE;
	size_t n;
	int err;

	err = seg_pread_all(src_fd, w->raw, rlen, rpos);
	if (err)
		return err;
	n = ZSTD_compress2(w->cctx, w->out, w->out_cap, w->raw, rlen);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation
			       ? -ENOMEM
			       : -EIO;
	err = seg_pwrite_all(dst_fd, w->out, n, w->coff);
	if (err)
		return err;
	memset(e, 0, FMT_ZST_ENT_SIZE);
	le_put64(e + FMT_ZST_ENT_COFF, w->coff);
	le_put32(e + FMT_ZST_ENT_CLEN, (uint32_t)n);
	le_put32(e + FMT_ZST_ENT_RLEN, rlen);
	le_put32(e + FMT_ZST_ENT_RCRC, crc32c(0, w->raw, rlen));
	w->coff += n;
	return 0;
}

/*
 * Write the frame table at w->coff, then the trailer (32 bytes):
 *
 *   0        8                 16       20       24       28       32
 *   +--------+-----------------+--------+--------+--------+--------+
 *   | magic  | table offset    | frames | header | entry  | CRC32C |
 *   |TFSZEND1| u64             | u32    | CRC    | size 24| table +|
 *   |        |                 |        | again  |        | 0..27  |
 *   +--------+-----------------+--------+--------+--------+--------+
 *
 * -errno from pwrite.
 */
static int zseg_wr_tail(struct zseg_wr *w, int dst_fd, uint32_t nframes,
			const unsigned char *hdr)
{
	size_t tlen = (size_t)nframes * FMT_ZST_ENT_SIZE;
	unsigned char t[FMT_ZST_TRL_SIZE] = { 0 };
	uint32_t crc;
	int err;

	memcpy(t + FMT_ZST_TRL_MAGIC, FMT_ZST_END_MAGIC, FMT_ZST_MAGIC_LEN);
	le_put64(t + FMT_ZST_TRL_TABLE, w->coff);
	le_put32(t + FMT_ZST_TRL_FRAMES, nframes);
	memcpy(t + FMT_ZST_TRL_HDRCRC, hdr + FMT_ZST_HDR_CRC, 4);
	le_put32(t + FMT_ZST_TRL_ENTSIZE, FMT_ZST_ENT_SIZE);
	crc = crc32c(crc32c(0, w->table, tlen), t, FMT_ZST_TRL_CRC);
	le_put32(t + FMT_ZST_TRL_CRC, crc);
	err = seg_pwrite_all(dst_fd, w->table, tlen, w->coff);
	if (!err)
		err = seg_pwrite_all(dst_fd, t, sizeof(t), w->coff + tlen);
	return err;
}

int zseg_write(int src_fd, uint64_t size, int dst_fd, int level,
	       uint32_t frame_bytes)
{
	unsigned char hdr[FMT_ZST_HDR_SIZE];
	struct zseg_wr w = { 0 };
	uint64_t nframes, i;
	int err;

	if (src_fd < 0 || dst_fd < 0 || level < ZSTD_minCLevel() ||
	    level > ZSTD_maxCLevel() || frame_bytes == 0 ||
	    frame_bytes > FMT_ZST_FRAME_MAX)
		return -EINVAL;
	nframes = size / frame_bytes + (size % frame_bytes != 0);
	if (nframes > UINT32_MAX || nframes > SIZE_MAX / FMT_ZST_ENT_SIZE)
		return -EINVAL;
	zseg_hdr_encode(hdr, frame_bytes, size, level);
	err = zseg_wr_init(&w, nframes, level, frame_bytes);
	if (!err)
		err = seg_pwrite_all(dst_fd, hdr, sizeof(hdr), 0);
	for (i = 0; !err && i < nframes; i++) {
		uint64_t rpos = i * frame_bytes;
		uint64_t rlen =
			size - rpos < frame_bytes ? size - rpos : frame_bytes;

		err = zseg_wr_frame(&w, src_fd, dst_fd, i, rpos,
				    (uint32_t)rlen);
	}
	if (!err)
		err = zseg_wr_tail(&w, dst_fd, (uint32_t)nframes, hdr);
	zseg_wr_free(&w);
	return err;
}

/* ---- opening --------------------------------------------------------- */

/* Check the header; -EUCLEAN, -EPROTONOSUPPORT with why. */
static int zseg_hdr_check(const unsigned char *h, char *why, size_t whylen)
{
	uint32_t v = le_get32(h + FMT_ZST_HDR_VERSION);
	uint32_t fb = le_get32(h + FMT_ZST_HDR_FRAME);

	if (memcmp(h + FMT_ZST_HDR_MAGIC, FMT_ZST_MAGIC, FMT_ZST_MAGIC_LEN))
		return zseg_why(-EUCLEAN, why, whylen,
				"no " FMT_ZST_MAGIC " header magic at byte 0");
	if (le_get32(h + FMT_ZST_HDR_CRC) != crc32c(0, h, FMT_ZST_HDR_CRC))
		return zseg_why(-EUCLEAN, why, whylen,
				"header CRC mismatch at byte %u",
				FMT_ZST_HDR_CRC);
	if (v != FMT_ZST_VERSION)
		return zseg_why(-EPROTONOSUPPORT, why, whylen,
				"version %u at byte %u; this topicfs reads "
				".zst version %u only",
				v, FMT_ZST_HDR_VERSION, FMT_ZST_VERSION);
	if (fb == 0 || fb > FMT_ZST_FRAME_MAX)
		return zseg_why(-EUCLEAN, why, whylen,
				"frame size %u at byte %u is outside 1..%u", fb,
				FMT_ZST_HDR_FRAME, FMT_ZST_FRAME_MAX);
	return 0;
}

/* Check the trailer t, read at file offset tpos, against the file size
 * (its CRC is checked with the table); sets *table and *nframes.  -EUCLEAN
 * with why. */
static int zseg_trl_check(const unsigned char *t, uint64_t tpos,
			  uint64_t *table, uint32_t *nframes, char *why,
			  size_t whylen)
{
	*table = le_get64(t + FMT_ZST_TRL_TABLE);
	*nframes = le_get32(t + FMT_ZST_TRL_FRAMES);
	if (memcmp(t + FMT_ZST_TRL_MAGIC, FMT_ZST_END_MAGIC, FMT_ZST_MAGIC_LEN))
		return zseg_why(
			-EUCLEAN, why, whylen,
			"no " FMT_ZST_END_MAGIC
			" trailer magic at byte %llu (torn or truncated file)",
			(unsigned long long)tpos);
	if (*table < FMT_ZST_HDR_SIZE || *table > tpos ||
	    tpos - *table != (uint64_t)*nframes * FMT_ZST_ENT_SIZE)
		return zseg_why(-EUCLEAN, why, whylen,
				"trailer at byte %llu: a table of %u frames at "
				"byte %llu does not end at the trailer",
				(unsigned long long)tpos, *nframes,
				(unsigned long long)*table);
	return 0;
}

/* After the CRC of table and trailer t (at tpos) held: the fields it
 * covers.  -EUCLEAN with why. */
static int zseg_trl_fields(const unsigned char *t, uint64_t tpos,
			   const unsigned char *h, char *why, size_t whylen)
{
	if (le_get32(t + FMT_ZST_TRL_ENTSIZE) != FMT_ZST_ENT_SIZE)
		return zseg_why(
			-EUCLEAN, why, whylen,
			"trailer at byte %llu: entry size %u, expected %u",
			(unsigned long long)tpos,
			le_get32(t + FMT_ZST_TRL_ENTSIZE),
			FMT_ZST_ENT_SIZE);
	if (memcmp(t + FMT_ZST_TRL_HDRCRC, h + FMT_ZST_HDR_CRC, 4))
		return zseg_why(-EUCLEAN, why, whylen,
				"trailer at byte %llu belongs to another "
				"header (header CRC %08x, trailer says %08x)",
				(unsigned long long)tpos,
				le_get32(h + FMT_ZST_HDR_CRC),
				le_get32(t + FMT_ZST_TRL_HDRCRC));
	return 0;
}

/* Decode table entry i (at file offset tpos) into z->frames[i], expecting
 * the frame at file offset coff and raw offset roff.  -EUCLEAN with why. */
static int zseg_ent_decode(struct zseg *z, const unsigned char *e, uint32_t i,
			   uint64_t tpos, uint64_t coff, uint64_t roff,
			   char *why, size_t whylen)
{
	struct zseg_frame *f = &z->frames[i];

	f->coff = le_get64(e + FMT_ZST_ENT_COFF);
	f->clen = le_get32(e + FMT_ZST_ENT_CLEN);
	f->rlen = le_get32(e + FMT_ZST_ENT_RLEN);
	f->rcrc = le_get32(e + FMT_ZST_ENT_RCRC);
	f->roff = roff;
	if (f->coff != coff)
		return zseg_why(-EUCLEAN, why, whylen,
				"frame %u (table byte %llu) starts at byte "
				"%llu, expected byte %llu",
				i, (unsigned long long)tpos,
				(unsigned long long)f->coff,
				(unsigned long long)coff);
	if (f->rlen == 0 || f->rlen > z->frame_bytes)
		return zseg_why(-EUCLEAN, why, whylen,
				"frame %u (table byte %llu): raw length %u is "
				"outside 1..%u",
				i, (unsigned long long)tpos, f->rlen,
				z->frame_bytes);
	if (f->clen == 0 || f->clen > ZSTD_compressBound(f->rlen))
		return zseg_why(-EUCLEAN, why, whylen,
				"frame %u (table byte %llu): %u compressed "
				"bytes cannot hold %u raw bytes",
				i, (unsigned long long)tpos, f->clen, f->rlen);
	return 0;
}

/* Read the table (n frames at file offset table) and the trailer t (at
 * tpos) into z->frames, checking CRC and tiling.  -EUCLEAN with why;
 * -ENOMEM; -errno from pread. */
static int zseg_table_load(struct zseg *z, uint64_t table, uint64_t tpos,
			   const unsigned char *t, const unsigned char *h,
			   char *why, size_t whylen)
{
	size_t tlen = (size_t)z->nframes * FMT_ZST_ENT_SIZE;
	unsigned char *raw = malloc(tlen ? tlen : 1);
	uint64_t coff = FMT_ZST_HDR_SIZE, roff = 0;
	int err;

	if (!raw)
		return -ENOMEM;
	err = seg_pread_all(atomic_load(&z->fd), raw, tlen, table);
	if (!err && le_get32(t + FMT_ZST_TRL_CRC) !=
			    crc32c(crc32c(0, raw, tlen), t, FMT_ZST_TRL_CRC))
		err = zseg_why(-EUCLEAN, why, whylen,
			       "frame table or trailer CRC mismatch (table at "
			       "byte %llu, trailer at byte %llu)",
			       (unsigned long long)table,
			       (unsigned long long)tpos);
	if (!err)
		err = zseg_trl_fields(t, tpos, h, why, whylen);
	for (uint32_t i = 0; !err && i < z->nframes; i++) {
		uint64_t epos = table + (uint64_t)i * FMT_ZST_ENT_SIZE;

		err = zseg_ent_decode(z, raw + (size_t)i * FMT_ZST_ENT_SIZE, i,
				      epos, coff, roff, why, whylen);
		coff += z->frames[i].clen;
		roff += z->frames[i].rlen;
	}
	free(raw);
	if (!err && coff != table)
		err = zseg_why(-EUCLEAN, why, whylen,
			       "frames end at byte %llu but the table starts "
			       "at byte %llu",
			       (unsigned long long)coff,
			       (unsigned long long)table);
	if (!err && roff != z->raw_size)
		err = zseg_why(-EUCLEAN, why, whylen,
			       "frames hold %llu raw bytes; the header says "
			       "%llu at byte %u",
			       (unsigned long long)roff,
			       (unsigned long long)z->raw_size,
			       FMT_ZST_HDR_RAWSIZE);
	return err;
}

/* A zseg with no frames loaded yet; NULL when out of memory. */
static struct zseg *zseg_alloc(int fd, uint64_t file_size,
			       const unsigned char *h, uint32_t nframes)
{
	struct zseg *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->frames = calloc(nframes ? nframes : 1, sizeof(*z->frames));
	z->reported = calloc(nframes ? nframes : 1, sizeof(*z->reported));
	if (!z->frames || !z->reported) {
		free(z->frames);
		free(z->reported);
		free(z);
		return NULL;
	}
	atomic_init(&z->fd, fd);
	z->file_size = file_size;
	z->raw_size = le_get64(h + FMT_ZST_HDR_RAWSIZE);
	z->frame_bytes = le_get32(h + FMT_ZST_HDR_FRAME);
	z->nframes = nframes;
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->loaded, NULL);
	for (int s = 0; s < ZSEG_CACHE_SLOTS; s++)
		z->slots[s].frame = -1;
	return z;
}

int zseg_open(int fd, struct zseg **out, char *why, size_t whylen)
{
	unsigned char h[FMT_ZST_HDR_SIZE], t[FMT_ZST_TRL_SIZE];
	uint64_t size, table, tpos;
	uint32_t nframes;
	struct stat sb;
	struct zseg *z;
	int err;

	if (fstat(fd, &sb))
		return -errno;
	size = (uint64_t)sb.st_size;
	if (size < FMT_ZST_HDR_SIZE + FMT_ZST_TRL_SIZE)
		return zseg_why(-EUCLEAN, why, whylen,
				"file ends at byte %llu, before a header and "
				"trailer (%u bytes)",
				(unsigned long long)size,
				FMT_ZST_HDR_SIZE + FMT_ZST_TRL_SIZE);
	tpos = size - FMT_ZST_TRL_SIZE;
	err = seg_pread_all(fd, h, sizeof(h), 0);
	if (!err)
		err = zseg_hdr_check(h, why, whylen);
	if (!err)
		err = seg_pread_all(fd, t, sizeof(t), tpos);
	if (!err)
		err = zseg_trl_check(t, tpos, &table, &nframes, why, whylen);
	if (err)
		return err;
	z = zseg_alloc(fd, size, h, nframes);
	if (!z)
		return -ENOMEM;
	err = zseg_table_load(z, table, tpos, t, h, why, whylen);
	if (err) {
		atomic_store(&z->fd, -1); /* still the caller's */
		zseg_close(z);
		return err;
	}
	*out = z;
	return 0;
}

uint64_t zseg_raw_size(const struct zseg *z)
{
	return z->raw_size;
}

uint64_t zseg_file_size(const struct zseg *z)
{
	return z->file_size;
}

uint32_t zseg_frames(const struct zseg *z)
{
	return z->nframes;
}

uint64_t zseg_decoded(struct zseg *z)
{
	return atomic_load(&z->decoded);
}

/* ---- decoding -------------------------------------------------------- */

/* A pooled context with room for need compressed bytes; NULL: ENOMEM. */
static struct zseg_work *zseg_work_get(size_t need)
{
	struct zseg_work *w;

	pthread_mutex_lock(&zseg_pool_lock);
	w = zseg_pool;
	if (w) {
		zseg_pool = w->next;
		zseg_pool_idle--;
	}
	pthread_mutex_unlock(&zseg_pool_lock);
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (w && !(w->dctx = ZSTD_createDCtx())) {
			free(w);
			w = NULL;
		}
	}
	if (w && w->cap < need) {
		free(w->in);
		w->in = seg_buf_alloc(need);
		w->cap = w->in ? need : 0;
		if (!w->in) {
			ZSTD_freeDCtx(w->dctx);
			free(w);
			w = NULL;
		}
	}
	return w;
}

/* Give w back to the pool, or free it when the pool is full. */
static void zseg_work_put(struct zseg_work *w)
{
	if (w->cap > ZSEG_IN_KEEP) {
		free(w->in);
		w->in = NULL;
		w->cap = 0;
	}
	pthread_mutex_lock(&zseg_pool_lock);
	if (zseg_pool_idle < ZSEG_POOL_MAX) {
		w->next = zseg_pool;
		zseg_pool = w;
		zseg_pool_idle++;
		w = NULL;
	}
	pthread_mutex_unlock(&zseg_pool_lock);
	if (w) {
		ZSTD_freeDCtx(w->dctx);
		free(w->in);
		free(w);
	}
}

void zseg_pool_drain(void)
{
	struct zseg_work *w, *next;

	pthread_mutex_lock(&zseg_pool_lock);
	w = zseg_pool;
	zseg_pool = NULL;
	zseg_pool_idle = 0;
	pthread_mutex_unlock(&zseg_pool_lock);
	for (; w; w = next) {
		next = w->next;
		ZSTD_freeDCtx(w->dctx);
		free(w->in);
		free(w);
	}
}

/* Decompress the zstd frame at src (f->clen bytes) into dst (f->rlen) and
 * check it: one frame exactly, content checksum present and matching,
 * content size, raw CRC.  -EIO damaged; -ENOMEM. */
static int zseg_unzstd(ZSTD_DCtx *d, const unsigned char *src,
		       const struct zseg_frame *f, unsigned char *dst)
{
	size_t n;

	if (f->clen <= ZSEG_FHD_POS || le_get32(src) != ZSTD_MAGICNUMBER ||
	    !(src[ZSEG_FHD_POS] & ZSEG_FHD_CHECKSUM) ||
	    ZSTD_findFrameCompressedSize(src, f->clen) != f->clen ||
	    ZSTD_getFrameContentSize(src, f->clen) != f->rlen)
		return -EIO;
	n = ZSTD_decompressDCtx(d, dst, f->rlen, src, f->clen);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation
			       ? -ENOMEM
			       : -EIO;
	if (n != f->rlen || crc32c(0, dst, n) != f->rcrc)
		return -EIO;
	return 0;
}

/* Read and decompress frame i into dst (its rlen bytes).  -EIO damaged or
 * cut short; -ENOMEM; -errno from pread. */
static int zseg_decode(struct zseg *z, uint32_t i, unsigned char *dst)
{
	const struct zseg_frame *f = &z->frames[i];
	struct zseg_work *w = zseg_work_get(f->clen);
	int err;

	if (!w)
		return -ENOMEM;
	err = seg_pread_all(atomic_load(&z->fd), w->in, f->clen, f->coff);
	if (!err)
		err = zseg_unzstd(w->dctx, w->in, f, dst);
	zseg_work_put(w);
	return err;
}

/* ---- the cache of decoded frames -------------------------------------- */

/* The least recently used unreferenced slot, or NULL; z->lock held. */
static struct zseg_slot *zseg_victim(struct zseg *z)
{
	struct zseg_slot *v = NULL;

	for (int s = 0; s < ZSEG_CACHE_SLOTS; s++) {
		struct zseg_slot *c = &z->slots[s];

		if (!c->refs && (!v || c->used < v->used))
			v = c;
	}
	return v;
}

/* Frame i decoded in a cache slot, with a reference the caller drops with
 * zseg_slot_put.  A thread that finds i loading waits for it rather than
 * decode it twice.  -EAGAIN every slot is in use (decode privately); -EIO,
 * -ENOMEM, -errno as zseg_decode. */
static int zseg_slot_get(struct zseg *z, uint32_t i, struct zseg_slot **out)
{
	struct zseg_slot *s;
	int err = 0;

	pthread_mutex_lock(&z->lock);
again:
	for (int k = 0; k < ZSEG_CACHE_SLOTS; k++) {
		s = &z->slots[k];
		if (s->frame != (int64_t)i)
			continue;
		if (s->loading) {
			pthread_cond_wait(&z->loaded, &z->lock);
			goto again;
		}
		s->refs++;
		s->used = ++z->tick;
		pthread_mutex_unlock(&z->lock);
		*out = s;
		return 0;
	}
	s = zseg_victim(z);
	if (!s) {
		pthread_mutex_unlock(&z->lock);
		return -EAGAIN;
	}
	s->frame = i;
	s->loading = true;
	s->refs = 1;
	s->used = ++z->tick;
	pthread_mutex_unlock(&z->lock);

	if (!s->buf)
		s->buf = seg_buf_alloc(z->frame_bytes);
	err = s->buf ? zseg_decode(z, i, s->buf) : -ENOMEM;
	atomic_fetch_add(&z->decoded, 1);

	pthread_mutex_lock(&z->lock);
	s->loading = false;
	if (err) {
		s->frame = -1;
		s->refs = 0;
	}
	pthread_cond_broadcast(&z->loaded);
	pthread_mutex_unlock(&z->lock);
	*out = s;
	return err;
}

static void zseg_slot_put(struct zseg *z, struct zseg_slot *s)
{
	pthread_mutex_lock(&z->lock);
	s->refs--;
	pthread_mutex_unlock(&z->lock);
}

void zseg_trim(struct zseg *z)
{
	pthread_mutex_lock(&z->lock);
	for (int k = 0; k < ZSEG_CACHE_SLOTS; k++) {
		struct zseg_slot *s = &z->slots[k];

		if (!s->refs) {
			free(s->buf);
			s->buf = NULL;
			s->frame = -1;
		}
	}
	pthread_mutex_unlock(&z->lock);
}

/* ---- reading --------------------------------------------------------- */

/* The frame holding raw offset pos < z->raw_size (binary search). */
static uint32_t zseg_find(const struct zseg *z, uint64_t pos)
{
	uint32_t lo = 0, hi = z->nframes - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (z->frames[mid].roff <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Copy n raw bytes from offset off of frame i into dst.  A whole frame is
 * decoded straight into dst; a part goes through the cache, or a private
 * buffer when every slot is busy.  -EIO, -ENOMEM, -errno. */
static int zseg_copy(struct zseg *z, uint32_t i, unsigned char *dst,
		     uint32_t off, uint32_t n)
{
	const struct zseg_frame *f = &z->frames[i];
	struct zseg_slot *s;
	unsigned char *tmp;
	int err;

	if (off == 0 && n == f->rlen) {
		atomic_fetch_add(&z->decoded, 1);
		return zseg_decode(z, i, dst);
	}
	err = zseg_slot_get(z, i, &s);
	if (!err) {
		memcpy(dst, s->buf + off, n);
		zseg_slot_put(z, s);
		return 0;
	}
	if (err != -EAGAIN)
		return err;
	tmp = seg_buf_alloc(f->rlen);
	if (!tmp)
		return -ENOMEM;
	atomic_fetch_add(&z->decoded, 1);
	err = zseg_decode(z, i, tmp);
	if (!err)
		memcpy(dst, tmp + off, n);
	free(tmp);
	return err;
}

ssize_t zseg_pread(struct zseg *z, void *buf, size_t len, uint64_t pos,
		   uint64_t *bad)
{
	unsigned char *dst = buf;
	size_t done = 0;
	uint32_t i;

	if (pos >= z->raw_size || len == 0)
		return 0;
	if (len > z->raw_size - pos)
		len = (size_t)(z->raw_size - pos);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (i = zseg_find(z, pos); done < len; i++) {
		const struct zseg_frame *f = &z->frames[i];
		uint64_t off = pos + done - f->roff;
		uint64_t n = f->rlen - off;
		int err;

		if (n > len - done)
			n = len - done;
		err = zseg_copy(z, i, dst + done, (uint32_t)off, (uint32_t)n);
		if (err && done)
			break; /* short; the next call reports it */
		if (err) {
			if (err == -EIO && bad)
				*bad = f->roff;
			return err;
		}
		done += n;
	}
	return (ssize_t)done;
}

int zseg_verify(struct zseg *z, uint64_t *bad)
{
	unsigned char *tmp = seg_buf_alloc(z->frame_bytes);
	int err = tmp ? 0 : -ENOMEM;

	for (uint32_t i = 0; !err && i < z->nframes; i++) {
		err = zseg_decode(z, i, tmp);
		if (err == -EIO && bad)
			*bad = z->frames[i].roff;
	}
	free(tmp);
	return err;
}

bool zseg_report_once(struct zseg *z, uint64_t pos)
{
	atomic_store(&z->damaged, true);
	/* by the table: frames may hold fewer than frame_bytes */
	if (pos >= z->raw_size)
		return true;
	return !atomic_exchange(&z->reported[zseg_find(z, pos)], true);
}

bool zseg_damaged(struct zseg *z)
{
	return atomic_load(&z->damaged);
}

int zseg_fd(struct zseg *z)
{
	return atomic_load(&z->fd);
}

int zseg_fd_set(struct zseg *z, int fd)
{
	int expected = -1;

	if (atomic_compare_exchange_strong(&z->fd, &expected, fd))
		return fd;
	close(fd); /* another thread opened it first */
	return expected;
}

int zseg_fd_take(struct zseg *z)
{
	return atomic_exchange(&z->fd, -1);
}

void zseg_close(struct zseg *z)
{
	int fd;

	if (!z)
		return;
	if ((fd = atomic_load(&z->fd)) >= 0)
		close(fd);
	for (int k = 0; k < ZSEG_CACHE_SLOTS; k++)
		free(z->slots[k].buf);
	pthread_cond_destroy(&z->loaded);
	pthread_mutex_destroy(&z->lock);
	free(z->frames);
	free(z->reported);
	free(z);
}
