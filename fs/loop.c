/*
 * fs/loop.c - the request loop: one thread reads /dev/fuse while requests
 * are quick.
 *
 * libfuse's multi-threaded loop keeps up to ten idle threads waiting in
 * read() on /dev/fuse, and the kernel wakes one of them for every request
 * that arrives while the others are busy.  With both vCPUs busy (four
 * producers on two), each of those wake-ups is an interrupt through the
 * host, and the daemon spent twice the CPU per append of one producer
 * (docs/benchmarks.md, "Four producers").  Here one thread, the reader,
 * waits on /dev/fuse.  A request known to be quick (loop_quick: an append
 * of up to 64 KiB to a partition, a lookup, getattr, a read of up to
 * 1 MiB that the page cache holds while nobody else waits, ...) is
 * answered by the reader itself, which then reads the next one: requests
 * that queued meanwhile cost no wake-up at all.  Before anything else
 * (a READ that may go to the disk or must check a segment first, fsync,
 * namespace changes, every view and .config request, large WRITEs), the
 * reader hands the reading to a spare (waking one, or starting one) and
 * goes on with the request; a handler does the same through
 * tfs_loop_may_block() (an append that will fsync).  After such a
 * request a thread reads again while fewer than two do, so a stream of
 * large requests always finds a thread already waiting in read(), one
 * wake-up a request as in libfuse's loop (with one reader, 4 MiB re-reads
 * lost a third); after a quick one it stays a reader only while it is
 * the only one.  So a slow request never holds up the others, and at
 * most LOOP_MAX_THREADS run at once, as before.
 *
 * Stopping is libfuse's: fuse_session_exit() (the stopper in fs/main.c),
 * then a signal to the thread in tfs_loop_run(), which cancels the
 * threads blocked in read() and joins them all; an unmount ends the read
 * with ENODEV, which exits the session too.
 */
#include <errno.h>
#include <poll.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tfs.h"

#define LOOP_READERS_BUSY 2   /* readers after a request that was not quick */
#define LOOP_MAX_THREADS 64   /* at most this many at once, as before */
#define LOOP_MAX_IDLE 10      /* spares beyond this end themselves */
#define LOOP_QUICK_WRITE 65536 /* appends up to this size are quick */
#define LOOP_QUICK_READ (1u << 20) /* cached reads up to this size */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t spare;	 /* a spare may become the reader; mu */
	sem_t done;		 /* posted when a thread sees the end */
	struct fuse_session *se;
	unsigned reading;	 /* threads that are readers; mu */
	bool stop;		 /* tfs_loop_run is ending; mu */
	unsigned idle;		 /* spares waiting on spare; mu */
	unsigned nthreads;	 /* threads running; mu */
	int error;		 /* a failed read of /dev/fuse; mu */
	bool spawn_failed;	 /* logged once; mu */
	struct {
		pthread_t id;
		bool used;
	} slot[LOOP_MAX_THREADS]; /* mu */
} loop = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.spare = PTHREAD_COND_INITIALIZER,
};

static __thread bool loop_reader; /* this thread reads /dev/fuse now */

static void *loop_worker(void *arg);

/* Start a thread (mu held); false when none can be started. */
static bool loop_spawn(void)
{
	sigset_t block, old;
	unsigned i;

	if (loop.nthreads >= LOOP_MAX_THREADS)
		return false;
	for (i = 0; i < LOOP_MAX_THREADS && loop.slot[i].used; i++)
		;
	/* the stop signals go to the stopper, never to a worker */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (pthread_create(&loop.slot[i].id, NULL, loop_worker,
			   (void *)(uintptr_t)i)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!loop.spawn_failed)
			tfs_log(LOG_WARNING,
				"cannot start a request thread: %s (requests "
				"wait for a running one)",
				strerror(errno));
		loop.spawn_failed = true;
		return false;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	loop.slot[i].used = true;
	loop.nthreads++;
	return true;
}

void tfs_loop_may_block(void)
{
	if (!loop_reader)
		return;
	loop_reader = false;
	pthread_mutex_lock(&loop.mu);
	/* someone must read meanwhile: a spare, or a new thread (else the
	 * next thread done with its request reads) */
	if (!--loop.reading) {
		if (loop.idle)
			pthread_cond_signal(&loop.spare);
		else
			loop_spawn();
	}
	pthread_mutex_unlock(&loop.mu);
}

/* Whether another request waits on /dev/fuse now. */
static bool loop_pending(void)
{
	struct pollfd pfd = { .fd = fuse_session_fd(loop.se), .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

/* Whether the request in b is answered at once, from memory: the reader
 * answers it itself.  Views and .config may seek or sync; READ may go to
 * the disk; FLUSH in stream mode waits for write-backs. */
static bool loop_quick(const struct fuse_buf *b)
{
	const struct fuse_in_header *in = b->mem;
	unsigned tag;

	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof(*in))
		return false;
	tag = (unsigned)(in->nodeid & TFS_TAG_MASK);
	if (in->nodeid != FUSE_ROOT_ID &&
	    (tag == TFS_TAG_VNODE || tag == TFS_TAG_CONFIG))
		return false;
	switch (in->opcode) {
	case FUSE_WRITE: {
		const struct fuse_write_in *w = (const void *)(in + 1);

		return b->size >= sizeof(*in) + sizeof(*w) &&
		       w->size <= LOOP_QUICK_WRITE;
	}
	case FUSE_READ: {
		const struct fuse_read_in *r = (const void *)(in + 1);

		/* from the page cache and nobody waiting (else readers
		 * copy on both CPUs); never what may wait for the disk */
		return !tfs.stream && tag == TFS_TAG_PART &&
		       b->size >= sizeof(*in) + sizeof(*r) &&
		       r->size <= LOOP_QUICK_READ && !loop_pending() &&
		       tfs_part_read_cached(tfs_ino_to_part(in->nodeid),
					    r->offset, r->size);
	}
	case FUSE_FLUSH:
		return !tfs.stream;
	case FUSE_INIT:
	case FUSE_LOOKUP:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_GETATTR:
	case FUSE_OPEN:
	case FUSE_RELEASE:
	case FUSE_OPENDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_STATFS:
	case FUSE_INTERRUPT:
	case FUSE_LSEEK:
	case FUSE_POLL:
	case FUSE_ACCESS:
		return true;
	default:
		return false;
	}
}

static void loop_free_buf(void *arg)
{
	free(((struct fuse_buf *)arg)->mem);
}

/* Read the next request into buf: the end (a cancel) comes only here. */
static int loop_receive(struct fuse_buf *buf)
{
	int res;

	pthread_cleanup_push(loop_free_buf, buf);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	res = fuse_session_receive_buf(loop.se, buf);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_pop(0);
	return res;
}

/*
 * The thread in slot arg.  It reads when nobody does; after a request that
 * was not quick it reads again if fewer than LOOP_READERS_BUSY do, so that
 * a stream of large requests finds a thread waiting in read() while the
 * last one finishes (one wake-up a request, as in libfuse's loop); after a
 * quick one it stays the reader only while it is the only one, so a
 * stream of small requests is read by one thread again.  Else it waits as
 * a spare.
 */
static void *loop_worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	struct fuse_buf buf = { .mem = NULL };
	bool busy = false; /* it just answered a request that was not quick */
	int res = 0;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&loop.mu);
	for (;;) {
		while (!loop.stop && loop.reading &&
		       !(busy && loop.reading < LOOP_READERS_BUSY)) {
			busy = false;
			if (loop.idle >= LOOP_MAX_IDLE)
				goto retire;
			loop.idle++;
			pthread_cond_wait(&loop.spare, &loop.mu);
			loop.idle--;
		}
		if (loop.stop)
			break;
		loop.reading++;
		pthread_mutex_unlock(&loop.mu);
		loop_reader = true;
		busy = false;
		for (;;) {
			bool quick, stepdown;

			res = loop_receive(&buf);
			if (res == -EINTR)
				continue;
			if (res <= 0)
				break;
			quick = loop_quick(&buf);
			if (!quick)
				tfs_loop_may_block();
			fuse_session_process_buf(loop.se, &buf);
			if (fuse_session_exited(loop.se))
				break;
			if (!loop_reader) {
				busy = true;
				break;
			}
			pthread_mutex_lock(&loop.mu);
			stepdown = loop.reading > 1; /* another one reads */
			if (stepdown) {
				loop.reading--;
				loop_reader = false;
			}
			pthread_mutex_unlock(&loop.mu);
			if (stepdown)
				break;
		}
		pthread_mutex_lock(&loop.mu);
		if (res <= 0 || fuse_session_exited(loop.se)) {
			/* unmounted (ENODEV, 0), aborted, or told to exit */
			if (res < 0 && !loop.error)
				loop.error = res;
			fuse_session_exit(loop.se);
			if (loop_reader)
				loop.reading--;
			loop_reader = false;
			sem_post(&loop.done);
			break;
		}
	}
	/* the end: tfs_loop_run joins this thread */
	pthread_mutex_unlock(&loop.mu);
	free(buf.mem);
	return NULL;
retire:
	/* a spare too many: end, and let nobody join it */
	loop.slot[me].used = false;
	loop.nthreads--;
	pthread_detach(pthread_self());
	pthread_mutex_unlock(&loop.mu);
	free(buf.mem);
	return NULL;
}

int tfs_loop_run(struct fuse_session *se)
{
	pthread_t ids[LOOP_MAX_THREADS];
	unsigned n = 0;
	int err;

	loop.se = se;
	loop.stop = false;
	loop.reading = 0;
	loop.error = 0;
	if (sem_init(&loop.done, 0, 0))
		return -errno;
	pthread_mutex_lock(&loop.mu);
	if (!loop_spawn()) {
		pthread_mutex_unlock(&loop.mu);
		sem_destroy(&loop.done);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&loop.mu);
	/* the stopper's signal ends the wait (EINTR) to look again */
	while (!fuse_session_exited(se))
		sem_wait(&loop.done);
	pthread_mutex_lock(&loop.mu);
	loop.stop = true;
	pthread_cond_broadcast(&loop.spare);
	for (unsigned i = 0; i < LOOP_MAX_THREADS; i++) {
		if (!loop.slot[i].used)
			continue;
		ids[n++] = loop.slot[i].id;
		loop.slot[i].used = false;
		pthread_cancel(loop.slot[i].id); /* only a read takes it */
	}
	loop.nthreads = 0;
	err = loop.error;
	pthread_mutex_unlock(&loop.mu);
	for (unsigned i = 0; i < n; i++)
		pthread_join(ids[i], NULL);
	sem_destroy(&loop.done);
	return err;
}
