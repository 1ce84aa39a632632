/*
 * fs/file.c - partition files: open, read, append, sync, close.
 *
 * Every partition open is FOPEN_DIRECT_IO|FOPEN_KEEP_CACHE (design B of
 * ../shared/FUSE-NOTES.md, argued in docs/DESIGN.md): each write() up to
 * 1 MiB reaches us as exactly one WRITE, which becomes one record, and
 * reads never touch a kernel page cache that could go stale.
 *
 * Stream mode (-o stream) is the exception: the kernel's writeback cache
 * owns appends and the size, opens are cached (KEEP_CACHE, no DIRECT_IO),
 * and every WRITE is the kernel writing pages back at an offset
 * (tfs_part_write_at).  Every byte still arrives through the kernel's
 * write path, so cached readers stay coherent (FUSE-NOTES section 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfs.h"

/* Extents a read maps without allocating (a 1 MiB read spans at most 17
 * segments of the default size, fewer than this). */
#define TFS_READ_EXTENTS 32
/* Below this, a reply is copied: splicing costs more than it saves. */
#define TFS_COPY_MAX (64 * 1024)
#define PAGE_MASK 4095ull

/* fi->fh is the partition, or, with its low bit set, a stream-mode
 * writer's struct swriter (the writer is listed in fs/stream.c). */
#define FH_WRITER 1u

/* A stream-mode writer's open file.  The kernel reports a refused
 * write-back only to the first close() that looks (and the flusher's
 * own close() may be that one), so the daemon tells each writer itself,
 * in FLUSH, about the refusals since its open or its last report. */
struct swriter {
	struct tfs_part *p;
	_Atomic uint64_t told; /* tfs_part_refused() when last told */
	struct swriter *prev, *next; /* in swriters; swriters_lock */
};

/* Every swriter, so that those whose RELEASE never comes (an unmount
 * with files open) are freed at the end (tfs_files_free_all). */
static pthread_mutex_t swriters_lock = PTHREAD_MUTEX_INITIALIZER;
static struct swriter *swriters;

static void swriter_link(struct swriter *w)
{
	pthread_mutex_lock(&swriters_lock);
	w->prev = NULL;
	w->next = swriters;
	if (swriters)
		swriters->prev = w;
	swriters = w;
	pthread_mutex_unlock(&swriters_lock);
}

static void swriter_unlink(struct swriter *w)
{
	pthread_mutex_lock(&swriters_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		swriters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&swriters_lock);
}

void tfs_files_free_all(void)
{
	pthread_mutex_lock(&swriters_lock);
	while (swriters) {
		struct swriter *w = swriters;

		swriters = w->next;
		free(w); /* its partition reference goes with the store */
	}
	pthread_mutex_unlock(&swriters_lock);
}

static struct swriter *fh_writer(struct fuse_file_info *fi)
{
	return fi->fh & FH_WRITER
		       ? (struct swriter *)(uintptr_t)(fi->fh & ~(uint64_t)
								 FH_WRITER)
		       : NULL;
}

/* Whether write-backs of w's partition were refused since w was last
 * told (or opened); it is told now. */
static bool writer_tell(struct swriter *w)
{
	uint64_t now = tfs_part_refused(w->p);

	return atomic_exchange(&w->told, now) != now;
}

static struct tfs_part *fh_part(struct fuse_file_info *fi)
{
	struct swriter *w = fh_writer(fi);

	return w ? w->p : (struct tfs_part *)(uintptr_t)fi->fh;
}

/* Give fi a reference on p and the open flags of every partition file.
 * @return 0; -EPERM O_TRUNC on a non-empty partition; -ENOMEM. */
int tfs_open_part(struct tfs_part *p, struct fuse_file_info *fi)
{
	struct swriter *w = NULL;

	/* in stream mode an open writer may hold appends the store has not
	 * seen yet, and the store may hold write-backs it cannot store yet:
	 * the partition is not known to be empty */
	if ((fi->flags & O_TRUNC) &&
	    (tfs_part_end(p) != 0 ||
	     (tfs.stream && (tfs_stream_writers(p) || tfs_part_held(p)))))
		return -EPERM;
	if (tfs.stream && (fi->flags & O_ACCMODE) != O_RDONLY) {
		if (!(w = malloc(sizeof(*w))))
			return -ENOMEM;
		if (tfs_stream_writer_add(p)) {
			free(w);
			return -ENOMEM;
		}
		w->p = p;
		atomic_init(&w->told, tfs_part_refused(p));
		swriter_link(w);
	}
	fi->direct_io = !tfs.stream;
	fi->keep_cache = 1;
	fi->fh = w ? (uint64_t)(uintptr_t)w | FH_WRITER : (uint64_t)(uintptr_t)p;
	tfs_part_ref(p, 1);
	return 0;
}

void tfs_release_part(struct fuse_file_info *fi)
{
	struct swriter *w = fh_writer(fi);
	struct tfs_part *p = fh_part(fi);

	if (w) {
		tfs_stream_writer_del(p);
		swriter_unlink(w);
	}
	tfs_part_put(p, 1);
	free(w);
}

void tfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tfs_part *p = tfs_ino_to_part(ino);
	int err;

	if (tfs_ino_to_config(ino)) {
		tfs_config_open(req, tfs_ino_to_config(ino), fi);
		return;
	}
	if (tfs_ino_to_vnode(ino)) {
		tfs_view_open(req, tfs_ino_to_vnode(ino), fi);
		return;
	}
	if (!p) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	err = tfs_open_part(p, fi);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (fuse_reply_open(req, fi) != 0)
		tfs_release_part(fi);
}

/* ---- reads ----------------------------------------------------------- */

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

struct thread_buf {
	size_t cap;
	char *data; /* page-aligned: pread() into it runs at full speed */
};

static void buf_free(void *v)
{
	struct thread_buf *b = v;

	if (b)
		free(b->data);
	free(b);
}

static void buf_key_make(void)
{
	pthread_key_create(&buf_key, buf_free);
}

/* A per-thread copy buffer of at least size bytes (freed at thread exit):
 * the copy path allocates nothing per request. */
static char *thread_buf(size_t size)
{
	struct thread_buf *b;
	void *data;

	pthread_once(&buf_once, buf_key_make);
	b = pthread_getspecific(buf_key);
	if (b && b->cap >= size)
		return b->data;
	if (!b && !(b = calloc(1, sizeof(*b))))
		return NULL;
	pthread_setspecific(buf_key, b);
	if (posix_memalign(&data, 4096, size))
		return NULL;
	free(b->data);
	b->data = data;
	b->cap = size;
	return b->data;
}

static ssize_t read_copy(fuse_req_t req, struct tfs_part *p, size_t size,
			 uint64_t off, const struct tfs_read_hook *hook)
{
	char small[TFS_COPY_MAX];
	char *buf = size <= sizeof(small) ? small : thread_buf(size);
	ssize_t n;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return -ENOMEM;
	}
	n = tfs_part_pread(p, buf, size, off);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return n;
	}
	if (hook)
		hook->fn(hook->arg, (size_t)n);
	fuse_reply_buf(req, buf, (size_t)n);
	return n;
}

/*
 * Map [off, off+size) onto segment files and hand libfuse fd buffers: it
 * splices them into /dev/fuse without copying through user space.
 */
static ssize_t read_splice(fuse_req_t req, struct tfs_part *p, size_t size,
			   uint64_t off, const struct tfs_read_hook *hook)
{
	struct tfs_extent stack[TFS_READ_EXTENTS], *ext = stack;
	size_t cap = TFS_READ_EXTENTS, n = 0, got = 0;
	/* a bufvec for TFS_READ_EXTENTS buffers without a malloc per read */
	union {
		struct fuse_bufvec bv;
		char room[sizeof(struct fuse_bufvec) +
			  TFS_READ_EXTENTS * sizeof(struct fuse_buf)];
	} small;
	struct fuse_bufvec *bv = &small.bv;
	ssize_t ret;

	for (;;) {
		size_t k = 0;
		ssize_t r = tfs_part_read_map(p, off + got, size - got,
					      ext + n, cap - n, &k);

		if (r < 0 && got)
			break; /* a short read now; the next one reports */
		if (r < 0) {
			tfs_part_read_unmap(ext, n);
			fuse_reply_err(req, (int)-r);
			ret = r;
			goto out_free;
		}
		n += k;
		got += (size_t)r;
		if (r == 0 || got == size)
			break;
		if (n == cap) { /* many tiny segments: grow and go on */
			struct tfs_extent *bigger =
				malloc(2 * cap * sizeof(*ext));

			if (!bigger)
				break; /* a short read is still correct */
			memcpy(bigger, ext, n * sizeof(*ext));
			if (ext != stack)
				free(ext);
			ext = bigger;
			cap *= 2;
		}
	}
	if (n > TFS_READ_EXTENTS)
		bv = malloc(sizeof(*bv) + n * sizeof(bv->buf[0]));
	if (!bv) {
		tfs_part_read_unmap(ext, n);
		fuse_reply_err(req, ENOMEM);
		ret = -ENOMEM;
		goto out_free;
	}
	memset(bv, 0, sizeof(*bv));
	bv->count = n;
	for (size_t i = 0; i < n; i++) {
		/* every field: the memset above clears buf[0] only, and a
		 * stale FUSE_BUF_IS_FD here made libfuse splice another
		 * file's bytes in place of decompressed ones */
		bv->buf[i] = (struct fuse_buf){ .size = ext[i].len };
		if (ext[i].mem) { /* decompressed: a copy is unavoidable */
			bv->buf[i].mem = ext[i].mem;
			continue;
		}
		bv->buf[i].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv->buf[i].fd = ext[i].fd;
		bv->buf[i].pos = (off_t)ext[i].pos;
	}
	if (hook)
		hook->fn(hook->arg, got);
	fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
	tfs_part_read_unmap(ext, n);
	if (bv != &small.bv)
		free(bv);
	ret = (ssize_t)got;
out_free:
	if (ext != stack)
		free(ext);
	return ret;
}

/*
 * Stream mode: the kernel caches the file and fills its cache from READs
 * of whole pages.  Copy (rather than splice) a read that reaches the end,
 * adding the held write-backs past it (acknowledged, so they must read
 * back, not as the zeros a short read becomes), or that starts below
 * retention's start inside the start's page (zeros there, as SEEK_HOLE
 * says, then the bytes from the start).  @return false when the plain
 * path answers it.
 */
static bool stream_read(fuse_req_t req, struct tfs_part *p, size_t size,
			uint64_t off)
{
	uint64_t end = tfs_part_end(p), start = tfs_part_start(p);
	char small[TFS_COPY_MAX];
	char *buf;
	size_t got = 0;
	ssize_t n;

	if ((off + size <= end && off >= start) ||
	    off < (start & ~PAGE_MASK))
		return false;
	buf = size <= sizeof(small) ? small : thread_buf(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	if (off < start) {
		got = start - off < size ? (size_t)(start - off) : size;
		memset(buf, 0, got);
	}
	while (got < size) {
		if (off + got < tfs_part_end(p))
			n = tfs_part_pread(p, buf + got, size - got, off + got);
		else if ((n = tfs_part_pread_held(p, buf + got, size - got,
						  off + got)) == -EAGAIN)
			continue; /* stored meanwhile */
		if (n < 0 && !got) {
			fuse_reply_err(req, (int)-n);
			return true;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	atomic_fetch_add_explicit(&tfs_reads.requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&tfs_reads.bytes, got, memory_order_relaxed);
	fuse_reply_buf(req, buf, got);
	return true;
}

void tfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	struct tfs_part *p = fh_part(fi);

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (tfs_ino_to_config(ino)) {
		tfs_config_read(req, tfs_ino_to_config(ino), size, off);
		return;
	}
	if (tfs_ino_to_vnode(ino)) {
		tfs_view_read(req, tfs_ino_to_vnode(ino), size, off, fi);
		return;
	}
	if (tfs.stream && stream_read(req, p, size, (uint64_t)off))
		return;
	tfs_reply_read(req, p, size, (uint64_t)off, NULL);
}

struct tfs_read_stats tfs_reads;

ssize_t tfs_reply_read(fuse_req_t req, struct tfs_part *p, size_t size,
		       uint64_t off, const struct tfs_read_hook *hook)
{
	uint64_t max = atomic_load_explicit(&tfs_reads.size_max,
					    memory_order_relaxed);
	ssize_t n;

	while (size > max && !atomic_compare_exchange_weak(&tfs_reads.size_max,
							   &max, size))
		;
	if (tfs.splice && size > TFS_COPY_MAX)
		n = read_splice(req, p, size, off, hook);
	else
		n = read_copy(req, p, size, off, hook);
	atomic_fetch_add_explicit(&tfs_reads.requests, 1, memory_order_relaxed);
	if (n > 0)
		atomic_fetch_add_explicit(&tfs_reads.bytes, (uint64_t)n,
					  memory_order_relaxed);
	return n;
}

/*
 * SEEK_DATA and SEEK_HOLE (SEEK_SET/CUR/END never come here): the bytes
 * retention deleted below the start are a hole, [start, end) is data, so
 * `lseek(fd, 0, SEEK_DATA)` finds the first readable offset.
 */
void tfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi)
{
	struct tfs_part_info info = { 0 };
	char text[2048];

	if (tfs_ino_to_config(ino))
		info.end = tfs_config_text(tfs_ino_to_config(ino), text,
					   sizeof(text));
	else if (tfs_ino_to_vnode(ino))
		tfs_view_data(tfs_ino_to_vnode(ino), fi, &info.start,
			      &info.end);
	else
		tfs_part_info(fh_part(fi), &info);
	if (off < 0 || (uint64_t)off >= info.end) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	if (whence == SEEK_DATA)
		fuse_reply_lseek(req, (uint64_t)off < info.start
					      ? (off_t)info.start
					      : off);
	else if (whence == SEEK_HOLE)
		fuse_reply_lseek(req, (uint64_t)off < info.start
					      ? off
					      : (off_t)info.end);
	else
		fuse_reply_err(req, EINVAL);
}

/* ---- appends --------------------------------------------------------- */

/*
 * With O_APPEND the record goes at the end, wherever that is now.  Without
 * it, the write is a conditional append: it lands only if its offset is the
 * end (else ESPIPE, nothing written).
 */
void tfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	       off_t off, struct fuse_file_info *fi)
{
	uint64_t expect = (fi->flags & O_APPEND) ? TFS_OFFSET_ANY
						 : (uint64_t)off;
	struct tfs_part *p = fh_part(fi);
	ssize_t n;

	if (tfs_ino_to_config(ino)) {
		tfs_config_write(req, tfs_ino_to_config(ino), buf, size);
		return;
	}
	if (tfs_ino_to_vnode(ino)) {
		tfs_view_write(req, tfs_ino_to_vnode(ino), buf, size, fi);
		return;
	}
	/* flush.messages: this append may fsync (fs/loop.c) */
	if (tfs_part_may_sync(p))
		tfs_loop_may_block();
	if (tfs.stream) {
		/* a refusal drops the kernel's copy (the store's refused
		 * callback, fs/main.c), also for held writes stored late */
		n = tfs_part_write_at(p, buf, size, (uint64_t)off);
	} else {
		n = tfs_part_append(p, buf, size, expect, NULL);
	}

	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	/* the writer may close (RELEASE drops its reference) as soon as it
	 * has the reply, and an rm -r may drop the topic's: hold one */
	tfs_part_ref(p, 1);
	fuse_reply_write(req, (size_t)n);
	tfs_view_wake(p); /* followers waiting at the end */
	tfs_part_put(p, 1);
}

void tfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct fuse_pollhandle *ph)
{
	if (tfs_ino_to_vnode(ino)) {
		tfs_view_poll(req, tfs_ino_to_vnode(ino), fi, ph);
		return;
	}
	/* a partition or .config never blocks a read */
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

void tfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct swriter *w;

	/* a group file commits at close() (FLUSH is synchronous with it),
	 * not when the kernel closes the files of a crashed consumer */
	if (tfs_ino_to_vnode(ino)) {
		fuse_reply_err(req,
			       -tfs_view_commit(fi, fuse_req_ctx(req)->pid));
		return;
	}
	/* the kernel has written this file's pages back before FLUSH */
	w = tfs_ino_to_part(ino) ? fh_writer(fi) : NULL;
	if (w) {
		tfs_part_fill_holes(w->p);
		if (writer_tell(w)) {
			fuse_reply_err(req, EIO);
			return;
		}
	}
	fuse_reply_err(req, 0);
}

void tfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (tfs_ino_to_vnode(ino))
		tfs_view_release(fi);
	else if (!tfs_ino_to_config(ino))
		tfs_release_part(fi);
	fuse_reply_err(req, 0);
}

void tfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi)
{
	struct swriter *w;
	int err;

	/* .config is durable once a write returns; a group file commits */
	if (tfs_ino_to_vnode(ino)) {
		fuse_reply_err(req, -tfs_view_fsync(fi));
		return;
	}
	if (tfs_ino_to_config(ino)) {
		fuse_reply_err(req, 0);
		return;
	}
	w = fh_writer(fi);
	/* stream mode: the kernel wrote every dirty page back before FSYNC,
	 * so what still waits for the bytes in front of it waits for a hole */
	if (tfs.stream)
		tfs_part_fill_holes(fh_part(fi));
	err = tfs_part_sync(fh_part(fi));
	if (!err && w && writer_tell(w))
		err = -EIO;
	fuse_reply_err(req, -err);
}
