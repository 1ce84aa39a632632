/*
 * fs/stream.c - stream mode (-o stream): the kernel's writeback cache
 * holds appends, and this file bounds how long they stay there.
 *
 * Under the writeback cache a write() is a copy into the kernel's page
 * cache; the bytes reach the daemon only when the kernel writes the pages
 * back (at close, fsync, memory pressure, or after ~30 s).  A flusher
 * thread forces that every writeback.ms for every partition open for
 * writing: it opens the partition through the mount and calls
 * sync_file_range() on it, which makes the kernel write the dirty pages
 * back in WRITEs of up to 1 MiB (and sends no FSYNC, so no disk sync).  Invalidating the cache would also force writeback, but the
 * kernel launders page by page: 4 KiB WRITEs, ten times slower.
 *
 * The same thread drops cached pages whose writeback the store refused (an
 * overwrite), so readers see the stored bytes again.  It holds no lock
 * while it notifies or syncs: a notify under a lock that a READ or WRITE
 * needs deadlocks (FUSE-NOTES section 1).  It opens and closes files on
 * the mount only from its own thread, never inside a request handler (a
 * close() there would wait for a FLUSH that the same thread must answer).
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tfs.h"

/* A partition open for writing, and how many writable opens it has. */
struct writer {
	struct tfs_part *p; /* one store reference while listed */
	unsigned opens;	    /* writable opens */
};

/* A byte range whose cached pages must go (its writeback was refused). */
struct inval {
	struct tfs_part *p; /* one store reference while listed */
	uint64_t off;
	uint64_t len;
};

static struct {
	pthread_mutex_t mu;	/* protects everything below */
	pthread_cond_t cond;	/* wakes the flusher to stop */
	struct writer *w;	/* partitions open for writing */
	size_t nw, capw;	/* used and allocated entries of w */
	struct inval *inv;	/* ranges to drop from the kernel's cache */
	size_t ninv, capinv;	/* used and allocated entries of inv */
	int stop;		/* tfs_stream_stop() was called */
	int started;		/* the thread runs */
	pthread_t thread;	/* the flusher */
	struct fuse_session *se; /* for the notifications */
	atomic_bool gone_logged; /* the mount point led elsewhere (logged) */
} stream = { .mu = PTHREAD_MUTEX_INITIALIZER,
	     .cond = PTHREAD_COND_INITIALIZER };

/* Grow *v (of *cap elements of size sz) to hold n + 1; 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
	void *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*v, (*cap ? 2 * *cap : 16) * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = *cap ? 2 * *cap : 16;
	return 0;
}

int tfs_stream_writer_add(struct tfs_part *p)
{
	int err = 0;
	size_t i;

	pthread_mutex_lock(&stream.mu);
	for (i = 0; i < stream.nw && stream.w[i].p != p; i++)
		;
	if (i == stream.nw) {
		err = grow((void **)&stream.w, &stream.capw, stream.nw,
			   sizeof(*stream.w));
		if (!err) {
			tfs_part_ref(p, 1);
			stream.w[stream.nw++] = (struct writer){ p, 0 };
		}
	}
	if (!err)
		stream.w[i].opens++;
	pthread_mutex_unlock(&stream.mu);
	return err;
}

unsigned tfs_stream_writers(struct tfs_part *p)
{
	unsigned n = 0;

	pthread_mutex_lock(&stream.mu);
	for (size_t i = 0; i < stream.nw; i++)
		if (stream.w[i].p == p)
			n = stream.w[i].opens;
	pthread_mutex_unlock(&stream.mu);
	return n;
}

void tfs_stream_writer_del(struct tfs_part *p)
{
	struct tfs_part *drop = NULL;

	pthread_mutex_lock(&stream.mu);
	for (size_t i = 0; i < stream.nw; i++) {
		if (stream.w[i].p != p)
			continue;
		if (--stream.w[i].opens == 0) {
			drop = p;
			stream.w[i] = stream.w[--stream.nw];
		}
		break;
	}
	pthread_mutex_unlock(&stream.mu);
	if (drop)
		tfs_part_put(drop, 1);
}

void tfs_stream_inval(struct tfs_part *p, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&stream.mu);
	if (grow((void **)&stream.inv, &stream.capinv, stream.ninv,
		 sizeof(*stream.inv)) == 0) {
		tfs_part_ref(p, 1);
		stream.inv[stream.ninv++] = (struct inval){ p, off, len };
	}
	pthread_mutex_unlock(&stream.mu);
}

/*
 * Make the kernel write p's dirty pages back: open it through the mount,
 * sync_file_range(), close.  The fd lives only this long, so the daemon
 * never holds its own mount busy (fusermount3 -u would fail, and a lazy
 * unmount would wait for the daemon forever).
 */
static void writeback(struct tfs_part *p)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/%u", tfs.mountpoint,
		     tfs_topic_name(tfs_part_topic(p)),
		     tfs_part_number(p)) >= (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* deleted meanwhile: its writers' close() writes back */
	if (!tfs_io_is_mount(fd)) {
		/* lazily unmounted (fusermount3 -u -z): the path leads to
		 * whatever is under it now; the kernel writes back on its
		 * own (vm.dirty_expire_centisecs) and at each close() */
		if (!atomic_exchange(&stream.gone_logged, true))
			tfs_log(LOG_NOTICE,
				"stream mode: %s no longer leads to this "
				"mount (a lazy unmount?): cached appends are "
				"written back by the kernel, within about "
				"30 s, and at close()",
				tfs.mountpoint);
		close(fd);
		return;
	}
	sync_file_range(fd, 0, 0,
			SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
	close(fd);
}

/* One round: copy the work out under the lock, act without it. */
static void stream_round(void)
{
	struct inval *inv;
	struct tfs_part **w;
	size_t nw, ninv;

	pthread_mutex_lock(&stream.mu);
	nw = stream.nw;
	w = malloc((nw ? nw : 1) * sizeof(*w));
	for (size_t i = 0; w && i < nw; i++) {
		w[i] = stream.w[i].p;
		tfs_part_ref(w[i], 1);
	}
	if (!w)
		nw = 0;
	inv = stream.inv;
	ninv = stream.ninv;
	stream.inv = NULL;
	stream.ninv = stream.capinv = 0;
	pthread_mutex_unlock(&stream.mu);

	for (size_t i = 0; i < nw; i++) {
		writeback(w[i]);
		tfs_part_put(w[i], 1);
	}
	for (size_t i = 0; i < ninv; i++) {
		fuse_lowlevel_notify_inval_inode(stream.se,
						 tfs_ino_part(inv[i].p),
						 (off_t)inv[i].off,
						 (off_t)inv[i].len);
		tfs_part_put(inv[i].p, 1);
	}
	free(w);
	free(inv);
}

static void *stream_flusher(void *arg)
{
	unsigned ms = tfs.writeback_ms;
	struct timespec ts;

	pthread_mutex_lock(&stream.mu);
	while (!stream.stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!stream.stop &&
		       pthread_cond_timedwait(&stream.cond, &stream.mu, &ts) !=
			       ETIMEDOUT)
			;
		if (stream.stop)
			break;
		pthread_mutex_unlock(&stream.mu);
		stream_round();
		pthread_mutex_lock(&stream.mu);
	}
	pthread_mutex_unlock(&stream.mu);
	return NULL;
}

int tfs_stream_start(struct fuse_session *se)
{
	int err;

	stream.se = se;
	err = pthread_create(&stream.thread, NULL, stream_flusher, NULL);
	stream.started = err == 0;
	return -err;
}

bool tfs_stream_running(void)
{
	return stream.started;
}

void tfs_stream_halt(bool flush)
{
	if (stream.started) {
		pthread_mutex_lock(&stream.mu);
		stream.stop = 1;
		pthread_cond_signal(&stream.cond);
		pthread_mutex_unlock(&stream.mu);
		pthread_join(stream.thread, NULL);
		stream.started = 0;
		if (flush) /* what open writers have cached, to the store */
			stream_round();
	}
}

/* Stop the flusher and drop what it still holds.  Call after the request
 * loop ended (no more opens or releases). */
void tfs_stream_stop(void)
{
	tfs_stream_halt(false);
	for (size_t i = 0; i < stream.nw; i++)
		tfs_part_put(stream.w[i].p, 1);
	for (size_t i = 0; i < stream.ninv; i++)
		tfs_part_put(stream.inv[i].p, 1);
	free(stream.w);
	free(stream.inv);
	stream.w = NULL;
	stream.inv = NULL;
	stream.nw = stream.capw = stream.ninv = stream.capinv = 0;
}
