/*
 * store/store.c - the store: the data directory and its format file,
 * loading topics at open, the topic list, the graveyard of deleted but
 * referenced objects, the background syncer, logging and error text.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "internal.h"
#include "zseg.h"

void store_log(struct tfs_store *st, int prio, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st && st->opts.log)
		st->opts.log(prio, msg);
	else
		fprintf(stderr, "topicfs: %s\n", msg);
}

const char *tfs_strerror(int err)
{
	switch (err) {
	case -EUCLEAN:
		return "damaged data in the data directory";
	case -EPROTONOSUPPORT:
		return "unknown data directory format version";
	case -ESPIPE:
		return "conditional append: offset is not the end of the "
		       "partition";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

int store_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

char *store_join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

void store_bury_part(struct tfs_store *st, struct tfs_part *p)
{
	pthread_mutex_lock(&st->lock);
	p->dead_next = st->dead_parts;
	st->dead_parts = p;
	pthread_mutex_unlock(&st->lock);
	tfs_part_put(p, 1); /* the topic array's reference */
}

void store_bury_topic(struct tfs_store *st, struct tfs_topic *t)
{
	pthread_mutex_lock(&st->lock);
	t->dead_next = st->dead_topics;
	st->dead_topics = t;
	pthread_mutex_unlock(&st->lock);
	tfs_topic_put(t, 1); /* the store array's reference */
}

/*
 * The format file, replaced atomically (temp, fsync, rename, fsync dir):
 *
 *   "topicfs-format 1\n"
 */
static int store_write_format(struct tfs_store *st)
{
	char text[FMT_FILE_MAX];
	int fd, n, err = 0;

	n = snprintf(text, sizeof(text), "%s%u\n", FMT_FILE_PREFIX,
		     FMT_VERSION);
	fd = openat(st->dir_fd, FMT_FILE_TMP,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return -errno;
	err = seg_pwrite_all(fd, text, (size_t)n, 0);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && renameat(st->dir_fd, FMT_FILE_TMP, st->dir_fd, FMT_FILE))
		err = -errno;
	if (!err && fsync(st->dir_fd))
		err = -errno;
	if (err) {
		unlinkat(st->dir_fd, FMT_FILE_TMP, 0);
		store_log(st, LOG_ERR, "%s/%s: %s", st->dir, FMT_FILE,
			  strerror(-err));
	}
	return err;
}

/* 1 if dir has nothing but a leftover format temp file, 0 if it has
 * something else, or -errno. */
static int store_dir_empty(struct tfs_store *st)
{
	DIR *d = opendir(st->dir);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return -errno;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			!strcmp(de->d_name, FMT_FILE_TMP);
	closedir(d);
	return empty;
}

/* A dir without a format file: initialise it if empty, else refuse. */
static int store_init_format(struct tfs_store *st)
{
	int empty = store_dir_empty(st);

	if (empty < 0)
		return empty;
	if (!empty) {
		store_log(
			st, LOG_ERR,
			"%s: not a topicfs data dir (no %s file) and not empty",
			st->dir, FMT_FILE);
		return -EINVAL;
	}
	store_log(st, LOG_NOTICE, "%s: initialising a new data dir (format %u)",
		  st->dir, FMT_VERSION);
	return store_write_format(st);
}

/* Parse the format file's text; refuse other versions. */
static int store_parse_format(struct tfs_store *st, const char *text)
{
	size_t pl = strlen(FMT_FILE_PREFIX);
	unsigned long v;
	char *end;

	if (strncmp(text, FMT_FILE_PREFIX, pl) || text[pl] < '0' ||
	    text[pl] > '9')
		goto out_bad;
	errno = 0;
	v = strtoul(text + pl, &end, 10);
	if (errno || (*end == '\n' ? end[1] != '\0' : *end != '\0'))
		goto out_bad; /* one line, nothing after it */
	if (v < FMT_VERSION_OLDEST || v > FMT_VERSION) {
		store_log(st, LOG_ERR,
			  "%s: data dir format version %lu found; this topicfs "
			  "supports format versions %u to %u",
			  st->dir, v, FMT_VERSION_OLDEST, FMT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (v < FMT_VERSION) {
		/* every version-1 or -2 dir is a valid version-3 dir; the
		 * new number keeps older topicfs from misreading what the
		 * later versions add */
		store_log(st, LOG_NOTICE,
			  "%s: upgrading the data dir from format %lu to %u",
			  st->dir, v, FMT_VERSION);
		return store_write_format(st);
	}
	return 0;

out_bad:
	store_log(st, LOG_ERR, "%s/%s: not a topicfs format file", st->dir,
		  FMT_FILE);
	return -EINVAL;
}

static int store_check_format(struct tfs_store *st)
{
	char text[FMT_FILE_MAX + 1];
	ssize_t n;
	int fd = openat(st->dir_fd, FMT_FILE,
			O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return store_init_format(st);
	n = fd < 0 ? -1 : read(fd, text, FMT_FILE_MAX);
	if (n < 0) {
		int err = -errno;

		store_log(st, LOG_ERR, "%s/%s: %s", st->dir, FMT_FILE,
			  strerror(-err));
		if (fd >= 0)
			close(fd);
		return err == -EISDIR ? -EINVAL : err;
	}
	close(fd);
	text[n] = '\0';
	return store_parse_format(st, text);
}

const char *store_kind_str(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFLNK: return "a symbolic link";
	case S_IFDIR: return "a directory";
	case S_IFREG: return "a regular file";
	case S_IFIFO: return "a FIFO";
	}
	return "a device or socket";
}

int store_want_kind(struct tfs_store *st, int dfd, const char *dir,
		    const char *name, mode_t kind)
{
	struct stat sb;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW)) {
		int err = -errno;

		store_log(st, LOG_ERR, "%s/%s: %s", dir, name, strerror(-err));
		return err;
	}
	if ((sb.st_mode & S_IFMT) == kind)
		return 0;
	store_log(st, LOG_ERR,
		  "%s/%s: %s%s, not a %s: refusing to use it (move it out of "
		  "the data dir)",
		  dir, name, store_kind_str(sb.st_mode),
		  S_ISLNK(sb.st_mode)
			  ? " (topicfs does not follow links in the data dir)"
			  : "",
		  kind == S_IFDIR ? "directory" : "regular file");
	return -EUCLEAN;
}

int tfs_dir_lock(int dfd)
{
	struct timespec nap = { 0, 50 * 1000000L };

	for (int waited = 0;; waited += 50) {
		if (!flock(dfd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (waited >= TFS_LOCK_WAIT_MS)
			return -EBUSY;
		nanosleep(&nap, NULL);
	}
}

/* Load one entry of the data dir: a topic, a leftover, or a stranger. */
static int store_load_entry(struct tfs_store *st, const char *name)
{
	struct tfs_topic *t;
	struct stat sb;
	int err;

	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, FMT_FILE))
		return 0;
	if (!strcmp(name, FMT_FILE_TMP)) {
		store_log(st, LOG_NOTICE,
			  "recovery: %s/%s: removing a leftover", st->dir,
			  name);
		return unlinkat(st->dir_fd, name, 0) ? -errno : 0;
	}
	/* a link is not followed: a topic linked to another one would share
	 * its files, and a delete would empty the directory it points to */
	if (!tfs_topic_name_valid(name) &&
	    !fstatat(st->dir_fd, name, &sb, AT_SYMLINK_NOFOLLOW) &&
	    S_ISLNK(sb.st_mode)) {
		store_log(st, LOG_WARNING,
			  "%s/%s: ignoring a symbolic link (topicfs does not "
			  "follow links in the data dir)",
			  st->dir, name);
		return 0;
	}
	if (tfs_topic_name_valid(name) ||
	    fstatat(st->dir_fd, name, &sb, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISDIR(sb.st_mode)) {
		store_log(st, LOG_WARNING, "%s/%s: ignoring an unknown file",
			  st->dir, name);
		return 0;
	}
	err = topic_load(st, name, &t);
	if (!err) {
		err = topic_insert(st, t);
		if (err)
			topic_free(t);
	}
	/* damage (-EUCLEAN) was logged where found, with its file */
	if (err && err != -EUCLEAN && err != -ENOMEM)
		store_log(st, LOG_ERR, "%s/%s: loading the topic: %s", st->dir,
			  name, strerror(-err));
	return err;
}

static int store_load_topics(struct tfs_store *st)
{
	DIR *d = opendir(st->dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (errno = 0, de = readdir(d)))
		err = store_load_entry(st, de->d_name);
	if (!err && errno)
		err = -errno;
	closedir(d);
	return err;
}

/* Does p have work for the syncer at mono time now: sealed segments to
 * sync, idle fds to close, stream writes held for lack of disk space, or
 * unsynced appends older than its topic's flush.ms? */
static bool store_part_due(struct tfs_part *p, int64_t now)
{
	int64_t ms = topic_cfg(p->topic, TFS_CFG_FLUSH_MS);

	return atomic_load(&p->sealed_pending) ||
	       atomic_load(&p->sealed_fds) || atomic_load(&p->early_stuck) ||
	       (ms > 0 && part_unsynced(p) &&
		now - atomic_load(&p->synced_ms) >= ms);
}

/* Take a reference on every partition with work for the syncer; *nap
 * becomes the smallest flush.ms of any topic, if below it. */
static size_t store_collect(struct tfs_store *st, int64_t now, int64_t *nap,
			    struct tfs_part ***out)
{
	struct tfs_part **v = NULL, **nv;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < st->ntopics; i++) {
		struct tfs_topic *t = st->topics[i];
		int64_t ms = topic_cfg(t, TFS_CFG_FLUSH_MS);

		if (ms > 0 && ms < *nap)
			*nap = ms;
		pthread_mutex_lock(&t->lock);
		for (uint32_t j = 0; j < t->nparts; j++) {
			struct tfs_part *p = t->parts[j];

			if (!store_part_due(p, now))
				continue;
			nv = store_grow(v, &cap, n, sizeof(*v));
			if (!nv)
				break;
			v = nv;
			tfs_part_ref(p, 1);
			v[n++] = p;
		}
		pthread_mutex_unlock(&t->lock);
	}
	*out = v;
	return n;
}

/* One round of the syncer; returns the ms to sleep before the next. */
static int64_t store_sync_once(struct tfs_store *st)
{
	int64_t now = store_mono_ms(), nap = 1000;
	struct tfs_part **v;
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = store_collect(st, now, &nap, &v);
	pthread_mutex_unlock(&st->lock);
	/* no store lock while syncing: appends and lookups go on */
	for (size_t i = 0; i < n; i++) {
		struct tfs_part *p = v[i];
		int64_t ms = topic_cfg(p->topic, TFS_CFG_FLUSH_MS);

		part_early_retry(p);
		if (ms > 0 && part_unsynced(p) &&
		    now - atomic_load(&p->synced_ms) >= ms &&
		    !atomic_load(&p->early_stuck)) /* it would only fail */
			tfs_part_sync(p);
		else
			part_sync_sealed(p, STORE_SEAL_SYNC_MS);
		part_close_idle_fds(p);
		tfs_part_put(p, 1);
	}
	free(v);
	return nap;
}

int store_replace_file(const char *dir, const char *path, const char *tmp,
		       const void *buf, size_t len)
{
	int fd = open(tmp,
		      O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC,
		      0644);
	int err;

	if (fd < 0)
		return -errno;
	err = seg_pwrite_all(fd, buf, len, 0);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return store_fsync_path(dir);
}

size_t store_find_name(void *const *v, size_t n, size_t name_off,
		       const char *name, bool *found)
{
	size_t lo = 0, hi = n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *at = *(char *const *)((const char *)v[mid] +
						   name_off);
		int c = strcmp(at, name);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *store_grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? 2 * *cap : 16;
	nv = realloc(v, ncap * size);
	if (nv)
		*cap = ncap;
	return nv;
}

int64_t store_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void store_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Sleep ms, or until tfs_store_close wakes the background threads.
 * @return false once the store is stopping. */
static bool store_nap(struct tfs_store *st, int64_t ms)
{
	struct timespec ts;
	bool go;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	store_add_ms(&ts, (uint64_t)ms);
	pthread_mutex_lock(&st->sync_mu);
	while (!st->stopping &&
	       pthread_cond_timedwait(&st->sync_cond, &st->sync_mu, &ts) !=
		       ETIMEDOUT)
		;
	go = !st->stopping;
	pthread_mutex_unlock(&st->sync_mu);
	return go;
}

/*
 * The syncer: makes sealed segments durable STORE_SEAL_SYNC_MS after they
 * were sealed (appends never wait for a disk flush at a roll), fdatasyncs
 * partitions whose unsynced appends are older than their topic's flush.ms,
 * and closes idle fds.  It looks at least once a second, and every
 * flush.ms when a topic's is shorter.
 */
static void *store_syncer(void *arg)
{
	struct tfs_store *st = arg;
	int64_t nap = 1000;

	while (store_nap(st, nap))
		nap = store_sync_once(st);
	return NULL;
}

/* Take a reference on every partition of the store. */
static size_t store_all_parts(struct tfs_store *st, struct tfs_part ***out)
{
	struct tfs_part **v = NULL, **nv;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->ntopics; i++) {
		struct tfs_topic *t = st->topics[i];

		pthread_mutex_lock(&t->lock);
		for (uint32_t j = 0; j < t->nparts; j++) {
			nv = store_grow(v, &cap, n, sizeof(*v));
			if (!nv)
				break;
			v = nv;
			tfs_part_ref(t->parts[j], 1);
			v[n++] = t->parts[j];
		}
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&st->lock);
	*out = v;
	return n;
}

void tfs_store_clean(struct tfs_store *st)
{
	struct tfs_part **v;
	size_t n;
	struct timespec ts;
	int64_t now;

	/* two passes at once would compress one segment twice */
	pthread_mutex_lock(&st->clean_mu);
	n = store_all_parts(st, &v);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (size_t i = 0; i < n; i++) {
		part_retain(v[i], now);
		part_compress(v[i], &st->stopping);
		tfs_part_put(v[i], 1);
	}
	free(v);
	pthread_mutex_unlock(&st->clean_mu);
}

/*
 * The cleaner: once a second, retention deletes what the topics' configs
 * let go, and sealed segments of compression=zstd topics are compressed.
 * Its own thread, so slow work never delays the syncer.
 */
static void *store_cleaner(void *arg)
{
	struct tfs_store *st = arg;
	while (store_nap(st, STORE_CLEAN_MS)) {
		tfs_store_clean(st);
		part_hold_trim(st, false);
	}
	return NULL;
}

static struct tfs_store *store_alloc(const char *dir,
				     const struct tfs_store_opts *opts)
{
	struct tfs_store *st = calloc(1, sizeof(*st));
	pthread_condattr_t ca;

	if (!st)
		return NULL;
	st->dir = strdup(dir);
	if (!st->dir) {
		free(st);
		return NULL;
	}
	if (opts)
		st->opts = *opts;
	else
		tfs_store_opts_init(&st->opts);
	st->opts.cfg.set = 0;
	st->dir_fd = -1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->hold_mu, NULL);
	pthread_mutex_init(&st->clean_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&st->sync_mu, NULL);
	pthread_cond_init(&st->sync_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&st->vfy_mu, NULL);
	pthread_cond_init(&st->vfy_cond, NULL);
	return st;
}

/* Stop and join the syncer, the cleaner and the checker; drop the checks
 * still queued. */
static void store_stop_threads(struct tfs_store *st)
{
	pthread_mutex_lock(&st->sync_mu);
	st->stopping = true;
	pthread_cond_broadcast(&st->sync_cond);
	pthread_mutex_unlock(&st->sync_mu);
	pthread_mutex_lock(&st->vfy_mu);
	st->vfy_stop = true;
	pthread_cond_broadcast(&st->vfy_cond);
	pthread_mutex_unlock(&st->vfy_mu);
	if (st->syncer_started)
		pthread_join(st->syncer, NULL);
	if (st->cleaner_started)
		pthread_join(st->cleaner, NULL);
	if (st->checker_started)
		pthread_join(st->checker, NULL);
	st->syncer_started = st->cleaner_started = false;
	pthread_mutex_lock(&st->vfy_mu);
	st->checker_started = false;
	pthread_mutex_unlock(&st->vfy_mu);
	vfy_drain(st); /* vfy_stop: nothing is queued any more */
}

/* Free every object without syncing. */
static void store_free(struct tfs_store *st)
{
	while (st->dead_parts) {
		struct tfs_part *p = st->dead_parts;

		st->dead_parts = p->dead_next;
		part_free(p);
	}
	for (size_t i = 0; i < st->ntopics; i++)
		topic_free(st->topics[i]);
	while (st->dead_topics) {
		struct tfs_topic *t = st->dead_topics;

		st->dead_topics = t->dead_next;
		topic_free(t);
	}
	free(st->topics);
	if (st->dir_fd >= 0)
		close(st->dir_fd);
	part_hold_trim(st, true);
	pthread_mutex_destroy(&st->hold_mu);
	pthread_mutex_destroy(&st->clean_mu);
	pthread_cond_destroy(&st->sync_cond);
	pthread_mutex_destroy(&st->sync_mu);
	pthread_cond_destroy(&st->vfy_cond);
	pthread_mutex_destroy(&st->vfy_mu);
	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st);
}

int tfs_store_open(const char *dir, const struct tfs_store_opts *opts,
		   struct tfs_store **out)
{
	struct tfs_store *st;
	int err;

	if (opts && !config_valid(&opts->cfg))
		return -EINVAL;
	st = store_alloc(dir, opts);
	if (!st)
		return -ENOMEM;
	st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0) {
		err = -errno;
		store_log(st, LOG_ERR, "%s: %s", dir, strerror(-err));
		goto out_free;
	}
	/* one user at a time: a second mount, or topicfs-fsck --repair while
	 * mounted; the lock goes with dir_fd (kept open until close) */
	err = tfs_dir_lock(st->dir_fd);
	if (err) {
		store_log(st, LOG_ERR,
			  "%s: data dir is in use (locked by another topicfs or topicfs-fsck --repair)",
			  dir);
		goto out_free;
	}
	err = store_check_format(st);
	if (!err)
		err = store_load_topics(st);
	if (!err) {
		err = -pthread_create(&st->syncer, NULL, store_syncer, st);
		st->syncer_started = !err;
	}
	if (!err) {
		err = -pthread_create(&st->cleaner, NULL, store_cleaner, st);
		st->cleaner_started = !err;
	}
	if (!err) {
		pthread_mutex_lock(&st->vfy_mu);
		err = -pthread_create(&st->checker, NULL, vfy_checker, st);
		st->checker_started = !err;
		pthread_mutex_unlock(&st->vfy_mu);
	}
	if (err)
		goto out_free;
	*out = st;
	return 0;

out_free:
	store_stop_threads(st);
	store_free(st);
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -EACCES:
	case -EPROTONOSUPPORT:
	case -EINVAL:
	case -EUCLEAN:
	case -ENOMEM:
	case -EBUSY:
		return err;
	}
	return -EIO;
}

void tfs_store_close(struct tfs_store *st)
{
	store_stop_threads(st);
	for (size_t i = 0; i < st->ntopics; i++) {
		struct tfs_topic *t = st->topics[i];

		for (uint32_t j = 0; j < t->nparts; j++) {
			struct tfs_part *p = t->parts[j];

			if (!tfs_part_sync(p))
				part_flush_rp(p);
			part_trim(p);
		}
	}
	store_free(st);
	zseg_pool_drain(); /* idle decompression contexts */
}

const struct tfs_store_opts *tfs_store_opts(const struct tfs_store *st)
{
	return &st->opts;
}

ssize_t tfs_store_list(struct tfs_store *st, char ***names)
{
	char **v;
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = st->ntopics;
	v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		v[i] = strdup(st->topics[i]->name);
		if (!v[i]) {
			tfs_names_free(v, i);
			v = NULL;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (!v)
		return -ENOMEM;
	*names = v;
	return (ssize_t)n;
}

void tfs_names_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
