/*
 * fs/loop.c - the multi-threaded request loop.
 *
 * libfuse's own loop (fuse_session_loop_mt) keeps up to max_idle_threads
 * threads blocked in read() on /dev/fuse.  The kernel wakes its waiting
 * readers in FIFO order, so every request goes to the thread that has
 * slept longest: with ten idle threads each request wakes a cold thread,
 * and on this VM a wake-up and its context switch cost more than the
 * request's work (perf: most daemon CPU in finish_task_switch).  Lowering
 * max_idle_threads makes libfuse create and destroy a thread per request.
 *
 * This loop keeps at most `readers` threads in read() (the number of
 * CPUs, at least 2), so a steady stream of small requests rotates over a
 * few warm threads.  Threads beyond that are spares: they wait on a
 * condition variable instead of in read().  A request that may block its
 * thread for long (an fsync, a read from disk, a group commit, a mkdir)
 * and leaves no thread in read() calls a spare, or starts a thread (up to
 * max_threads), before it runs, so it never holds up the others.  Appends
 * and cached-metadata requests do not: calling a spare costs a wake-up,
 * and when two of them overlap, the first is back in read() soon.
 *
 * Stopping works as in libfuse: a signal sets the session's exit flag and
 * interrupts the caller's wait; the caller cancels the threads blocked in
 * read() (cancellation is enabled only there) and joins them all.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfs.h"

struct worker {
	pthread_t th;
	struct worker *next;
	struct tfs_loop *loop;
};

struct tfs_loop {
	struct fuse_session *se;
	pthread_mutex_t mu;	/* protects everything below */
	pthread_cond_t spare;	/* spares wait here */
	sem_t finish;		/* a thread saw the session end */
	struct worker *workers; /* every thread started */
	unsigned nthreads;	/* started */
	unsigned reading;	/* in read(), or told to go there */
	unsigned spares;	/* waiting on spare */
	unsigned calls;		/* spares called and not yet gone */
	unsigned readers;	/* most threads in read() at once */
	unsigned max_threads;	/* most threads */
	int stop;		/* the loop is ending */
	int err;		/* first error of a read() */
};

static int start_worker(struct tfs_loop *l);

/* Whether the request in b may block its thread for long: anything but
 * an append to a partition (a copy into the page cache) and requests
 * answered from memory. */
static bool may_block(const struct fuse_buf *b)
{
	const struct fuse_in_header *in = b->mem;

	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof(*in))
		return true; /* a spliced WRITE: unknown */
	switch (in->opcode) {
	case FUSE_WRITE: /* .config and group files sync */
	case FUSE_FLUSH:
		return !tfs_ino_to_part(in->nodeid);
	case FUSE_LOOKUP:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_GETATTR:
	case FUSE_OPEN:
	case FUSE_RELEASE:
	case FUSE_OPENDIR:
	case FUSE_RELEASEDIR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_INTERRUPT:
	case FUSE_POLL:
	case FUSE_LSEEK:
	case FUSE_STATFS:
	case FUSE_ACCESS:
		return false;
	default:
		return true;
	}
}

static void free_buf(void *arg)
{
	struct fuse_buf *b = arg;

	free(b->mem);
	b->mem = NULL;
}

/* After a request: read again if fewer than `readers` do, else wait as a
 * spare until called.  Returns 0 to read on, or -1 to end. */
static int after_request(struct tfs_loop *l)
{
	int ret = 0;

	pthread_mutex_lock(&l->mu);
	if (!l->stop && l->reading < l->readers) {
		l->reading++;
	} else {
		l->spares++;
		while (!l->stop && !l->calls)
			pthread_cond_wait(&l->spare, &l->mu);
		l->spares--;
		if (l->calls)
			l->calls--; /* reading was counted by the caller */
		else
			ret = -1;
	}
	if (l->stop)
		ret = -1;
	pthread_mutex_unlock(&l->mu);
	return ret;
}

/* A request arrived: if it may block and no thread is left in read(),
 * call a spare or start a thread, so the next request does not wait for
 * this one. */
static int got_request(struct tfs_loop *l, bool slow)
{
	int ret = 0;

	pthread_mutex_lock(&l->mu);
	if (l->stop) {
		ret = -1;
	} else if (--l->reading == 0 && slow) {
		if (l->spares > l->calls) {
			l->calls++;
			l->reading++;
			pthread_cond_signal(&l->spare);
		} else if (l->nthreads < l->max_threads &&
			   start_worker(l) == 0) {
			l->reading++;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tfs_loop *l = w->loop;
	struct fuse_buf buf;
	int res;

	memset(&buf, 0, sizeof(buf));
	pthread_cleanup_push(free_buf, &buf);
	while (!fuse_session_exited(l->se)) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		res = fuse_session_receive_buf(l->se, &buf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (res == -EINTR)
			continue;
		if (res <= 0) {
			if (res < 0) {
				pthread_mutex_lock(&l->mu);
				if (!l->err)
					l->err = res;
				pthread_mutex_unlock(&l->mu);
				fuse_session_exit(l->se);
			}
			break;
		}
		if (got_request(l, may_block(&buf)))
			break;
		fuse_session_process_buf(l->se, &buf);
		if (after_request(l))
			break;
	}
	pthread_cleanup_pop(1);
	sem_post(&l->finish);
	return NULL;
}

/* Start one more thread (l->mu held, or before any thread runs). */
static int start_worker(struct tfs_loop *l)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int err;

	if (!w)
		return -ENOMEM;
	w->loop = l;
	/* signals go to the thread that waits for them (libfuse's handlers
	 * end the loop by interrupting its sem_wait) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&w->th, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(w);
		return -err;
	}
	w->next = l->workers;
	l->workers = w;
	l->nthreads++;
	return 0;
}

int tfs_loop_run(struct fuse_session *se, unsigned max_threads)
{
	struct tfs_loop l;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct worker *w;
	int err = 0;

	memset(&l, 0, sizeof(l));
	l.se = se;
	l.readers = ncpu > 2 ? (unsigned)ncpu : 2;
	l.max_threads = max_threads > l.readers ? max_threads : l.readers;
	pthread_mutex_init(&l.mu, NULL);
	pthread_cond_init(&l.spare, NULL);
	sem_init(&l.finish, 0, 0);

	pthread_mutex_lock(&l.mu);
	for (unsigned i = 0; i < l.readers && !err; i++) {
		err = start_worker(&l);
		if (!err)
			l.reading++;
	}
	pthread_mutex_unlock(&l.mu);

	while (!err && !fuse_session_exited(se))
		sem_wait(&l.finish);

	pthread_mutex_lock(&l.mu);
	l.stop = 1;
	pthread_cond_broadcast(&l.spare);
	pthread_mutex_unlock(&l.mu);
	/* no thread starts now; the list is ours */
	for (w = l.workers; w; w = w->next)
		pthread_cancel(w->th);
	while ((w = l.workers)) {
		l.workers = w->next;
		pthread_join(w->th, NULL);
		free(w);
	}
	if (!err)
		err = l.err;
	sem_destroy(&l.finish);
	pthread_cond_destroy(&l.spare);
	pthread_mutex_destroy(&l.mu);
	fuse_session_reset(se);
	return err;
}
