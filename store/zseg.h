/*
 * store/zseg.h - compressed sealed segments (<base>.zst): a sealed .log cut
 * into independent zstd frames with a frame table, so a read at any offset
 * decompresses only the one or two frames that hold it.  The byte layout is
 * in store/format.h (FMT_ZST_*) and docs/FORMAT.md.  Internal to the store.
 *
 * Thread safety: zseg_write and zseg_open/zseg_close are plain functions;
 * an open struct zseg may be read (zseg_pread, zseg_verify, the getters)
 * from any number of threads at once, and closed once no read is running.
 */
#ifndef TOPICFS_STORE_ZSEG_H
#define TOPICFS_STORE_ZSEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZSEG_FRAME_BYTES (256u << 10) /* default raw bytes per frame */
#define ZSEG_CACHE_SLOTS 4	      /* decompressed frames kept per zseg */

struct zseg; /* an open compressed segment; thread-safe */

/*
 * Compress the first size bytes of src_fd (read with pread) into dst_fd,
 * which must be empty (written with pwrite from offset 0): the header, then
 * independent zstd frames of at most frame_bytes raw bytes each (zstd
 * content checksum on), then the frame table and the trailer.  No fsync:
 * the caller syncs dst_fd (and renames it into place) before it trusts it.
 * @param[in] level  zstd level, ZSTD_minCLevel() .. ZSTD_maxCLevel()
 * @param[in] frame_bytes  1 .. FMT_ZST_FRAME_MAX; ZSEG_FRAME_BYTES is usual
 * @return 0; -EINVAL bad fds, level or frame_bytes, or more than 2^32 - 1
 *	   frames; -ENOMEM; -EIO src ends before size bytes, or a
 *	   compression error; other -errno from pread/pwrite (-ENOSPC ...).
 */
int zseg_write(int src_fd, uint64_t size, int dst_fd, int level,
	       uint32_t frame_bytes);

/*
 * Open a .zst file: read its header, trailer and frame table (three preads)
 * and check magics, version, CRCs, and that the frames lie back to back
 * between the header and the table and tile raw bytes [0, raw size)
 * exactly.  Frame contents are not read (zseg_verify does that).
 * @param[in] fd  the file, readable; owned by the zseg on success
 *		  (zseg_close closes it), still the caller's on error
 * @param[out] out  the open zseg
 * @param[out] why  on -EUCLEAN or -EPROTONOSUPPORT, a one-line reason that
 *		    names the byte position ("... at byte N ..."); may be NULL
 * @return 0; -EUCLEAN damaged, torn or truncated file; -EPROTONOSUPPORT a
 *	   valid header of another version; -ENOMEM; -EIO or other -errno
 *	   from fstat/pread.
 */
int zseg_open(int fd, struct zseg **out, char *why, size_t whylen);

/* Raw (uncompressed, .log) bytes in the file. */
uint64_t zseg_raw_size(const struct zseg *z);
/* Bytes of the file on disk (its size when opened). */
uint64_t zseg_file_size(const struct zseg *z);
/* Frames in the file. */
uint32_t zseg_frames(const struct zseg *z);
/* Frames decompressed so far by zseg_pread (cache misses and whole-frame
 * reads), for tests and statistics. */
uint64_t zseg_decoded(struct zseg *z);

/*
 * Copy raw bytes [pos, pos + len) into buf, decompressing the frames that
 * cover them.  A read that covers a whole frame decompresses it straight
 * into buf; a partial one goes through a small per-zseg cache of
 * ZSEG_CACHE_SLOTS decoded frames, so 128 KiB sequential reads decode each
 * frame once.  Safe from many threads at once.  Bytes of buf past the
 * count returned (on a short read or an error) are unspecified: a whole
 * frame that fails its checks may have been partly decoded into them.
 * @param[out] bad  on -EIO, the raw position of the damaged frame's first
 *		    byte (may be NULL)
 * @return bytes copied: len, or fewer at the raw end (0 at or past it), or
 *	   fewer when a later frame of the range fails (the bytes before it;
 *	   the next call reports the error); -EIO the frame covering pos is
 *	   damaged (decompression error, zstd checksum, raw CRC or length
 *	   mismatch) or unreadable (file cut short, EIO); -ENOMEM; other
 *	   -errno from pread.
 */
ssize_t zseg_pread(struct zseg *z, void *buf, size_t len, uint64_t pos,
		   uint64_t *bad);

/*
 * Decompress every frame in order and check it, for fsck.
 * @param[out] bad  on -EIO, the raw start of the first damaged frame
 * @return 0; -EIO a damaged frame; -ENOMEM; other -errno from pread.
 */
int zseg_verify(struct zseg *z, uint64_t *bad);

/* Whether the damage of the frame holding raw offset pos is to be logged:
 * true the first time it is asked for that frame. */
bool zseg_report_once(struct zseg *z, uint64_t pos);
/* Whether zseg_report_once was called: a frame of z is damaged. */
bool zseg_damaged(struct zseg *z);

/* Free the cached frames of an idle zseg (the next read decodes again). */
void zseg_trim(struct zseg *z);

/*
 * The file's fd, which may be closed while the zseg is idle (a store of
 * many compressed segments must not hold an fd for each) and opened again
 * before the next read: zseg_fd() is the fd or -1; zseg_fd_set() installs
 * fd unless one is open already (then fd is closed) and returns the fd in
 * use; zseg_fd_take() takes it away (the caller closes it; no read may be
 * running) and returns it, or -1.  Reads need an fd.
 */
int zseg_fd(struct zseg *z);
int zseg_fd_set(struct zseg *z, int fd);
int zseg_fd_take(struct zseg *z);

/* Close the fd and free z; no read may be running.  NULL is a no-op. */
void zseg_close(struct zseg *z);

/* Free the idle decompression contexts of the process-wide pool (at store
 * close, and for leak checkers); contexts in use are kept.  The pool keeps
 * at most 8 idle contexts, each a ZSTD_DCtx (~96 KiB) and a buffer for
 * one compressed frame (~257 KiB at ZSEG_FRAME_BYTES). */
void zseg_pool_drain(void);

#endif /* TOPICFS_STORE_ZSEG_H */
