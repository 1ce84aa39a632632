/*
 * store/topic.c - topics and their dense partition arrays: name rules,
 * loading a topic directory, create/open/delete of topics and partitions,
 * and the store's sorted topics array.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "internal.h"

/* Largest DATADIR/TOPIC/.config (every key fits in a few hundred). */
#define TOPIC_CONFIG_MAX 4096

static int topic_config_load(struct tfs_topic *t);
static int topic_config_write(struct tfs_topic *t,
			      const struct tfs_config *own);

int tfs_topic_name_valid(const char *name)
{
	size_t n = strlen(name);

	/* also refuses "." and "..": no leading '.' at all */
	if (n == 0 || n > TFS_TOPIC_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

int tfs_part_name_parse(const char *name, uint32_t *n)
{
	uint32_t v = 0;

	if (!name[0] || (name[0] == '0' && name[1]))
		return -EINVAL;
	for (const char *c = name; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(*c - '0');
		if (v >= TFS_MAX_PARTITIONS)
			return -EINVAL;
	}
	*n = v;
	return 0;
}

/* Store the effective values of t->own over the store's defaults. */
static void topic_config_publish(struct tfs_topic *t)
{
	struct tfs_config eff;
	uint64_t sep = 0;

	tfs_config_merge(&eff, &t->st->opts.cfg, &t->own);
	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++)
		atomic_store_explicit(&t->eff[k], eff.v[k],
				      memory_order_relaxed);
	/* packed as topic_key_sep unpacks it: the bytes, then zeroes */
	memcpy(&sep, eff.key_sep, strnlen(eff.key_sep, TFS_KEY_SEP_MAX));
	atomic_store_explicit(&t->key_sep, sep, memory_order_relaxed);
}

static struct tfs_topic *topic_alloc(struct tfs_store *st, const char *name)
{
	struct tfs_topic *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->st = st;
	t->name = strdup(name);
	t->path = store_join(st->dir, name);
	if (!t->name || !t->path) {
		free(t->name);
		free(t->path);
		free(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->cfg_lock, NULL);
	pthread_mutex_init(&t->grp_lock, NULL);
	atomic_init(&t->parts_gen, 0);
	tfs_config_init(&t->own);
	topic_config_publish(t);
	return t;
}

void topic_free(struct tfs_topic *t)
{
	for (uint32_t i = 0; i < t->nparts; i++)
		part_free(t->parts[i]);
	free(t->parts);
	group_free_all(t);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->cfg_lock);
	pthread_mutex_destroy(&t->grp_lock);
	free(t->name);
	free(t->path);
	free(t);
}

/* Append p to t->parts; caller holds t->lock (or owns t alone). */
static int topic_push_part(struct tfs_topic *t, struct tfs_part *p)
{
	struct tfs_part **v =
		store_grow(t->parts, &t->parts_cap, t->nparts, sizeof(*v));

	if (!v)
		return -ENOMEM;
	t->parts = v;
	t->parts[t->nparts++] = p;
	return 0;
}

/* Whether entry name (len bytes, dl of them FMT_DEL_SUFFIX) in the topic
 * directory dfd is what a partition delete leaves: "<partition>.deleted",
 * a directory.  Anything else by that suffix is a stranger, ignored. */
static bool topic_scan_deleted(int dfd, const char *name, size_t len,
			       size_t dl)
{
	char num[16];
	struct stat sb;
	uint32_t n;

	if (len <= dl || strcmp(name + len - dl, FMT_DEL_SUFFIX) ||
	    len - dl >= sizeof(num))
		return false;
	memcpy(num, name, len - dl);
	num[len - dl] = '\0';
	return !tfs_part_name_parse(num, &n) &&
	       !fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) &&
	       S_ISDIR(sb.st_mode);
}

/* Collect the partition numbers in t->path (unsorted); finish deletes a
 * crash interrupted; warn about unknown entries. */
static int topic_scan(struct tfs_topic *t, uint32_t **nums, uint32_t *count)
{
	struct dirent *de;
	DIR *d = opendir(t->path);
	size_t cap = 0;
	uint32_t n;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name), dl = strlen(FMT_DEL_SUFFIX);

		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    !strcmp(name, FMT_TOPIC_CONFIG) ||
		    !strcmp(name, FMT_GROUPS_DIR)) /* group_load's */
			continue;
		if (!strcmp(name, FMT_TOPIC_CONFIG_TMP)) {
			store_log(t->st, LOG_NOTICE,
				  "recovery: %s/%s: removing an unfinished "
				  "config write",
				  t->name, name);
			if (unlinkat(dirfd(d), name, 0))
				err = -errno;
			continue;
		}
		if (!tfs_part_name_parse(name, &n)) {
			uint32_t *v;

			/* a partition is a directory of its own: a link
			 * is not followed (a delete would empty its
			 * target, two partitions could share files) */
			err = store_want_kind(t->st, dirfd(d), t->name, name,
					      S_IFDIR);
			if (err)
				break;
			v = store_grow(*nums, &cap, *count, sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				break;
			}
			*nums = v;
			(*nums)[(*count)++] = n;
		} else if (topic_scan_deleted(dirfd(d), name, len, dl)) {
			char *path = store_join(t->path, name);

			store_log(t->st, LOG_NOTICE,
				  "recovery: %s/%s: finishing an interrupted "
				  "partition delete",
				  t->name, name);
			err = path ? part_remove_dir(t->st, path) : -ENOMEM;
			free(path);
		} else {
			store_log(t->st, LOG_WARNING,
				  "%s/%s: ignoring an unknown file", t->name,
				  name);
		}
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	return err;
}

static int topic_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int topic_load(struct tfs_store *st, const char *name, struct tfs_topic **out)
{
	struct tfs_topic *t = topic_alloc(st, name);
	uint32_t *nums = NULL, count = 0;
	struct tfs_part *p;
	int err;

	if (!t)
		return -ENOMEM;
	err = topic_scan(t, &nums, &count);
	if (!err)
		err = topic_config_load(t);
	if (!err && count)
		qsort(nums, count, sizeof(*nums), topic_cmp_u32);
	for (uint32_t i = 0; !err && i < count; i++) {
		if (nums[i] != i) {
			store_log(st, LOG_ERR,
				  "%s: partition %u is missing (partitions "
				  "must be dense, found %u)",
				  name, i, nums[i]);
			err = -EUCLEAN;
			break;
		}
		err = part_load(t, i, false, &p);
		if (!err) {
			err = topic_push_part(t, p);
			if (err)
				part_free(p);
		}
	}
	free(nums);
	if (!err) /* after the partitions: it drops offsets of missing ones */
		err = group_load(t);
	if (err) {
		topic_free(t);
		return err;
	}
	*out = t;
	return 0;
}

/* Position of name in st->topics, or where it would go (*found = 0);
 * caller holds st->lock. */
static size_t topic_find(struct tfs_store *st, const char *name, int *found)
{
	bool f;
	size_t i = store_find_name((void *const *)st->topics, st->ntopics,
				   offsetof(struct tfs_topic, name), name, &f);

	*found = f;
	return i;
}

int topic_insert(struct tfs_store *st, struct tfs_topic *t)
{
	int found;
	size_t i = topic_find(st, t->name, &found);

	assert(!found);
	struct tfs_topic **v =
		store_grow(st->topics, &st->topics_cap, st->ntopics, sizeof(*v));

	if (!v)
		return -ENOMEM;
	st->topics = v;
	memmove(st->topics + i + 1, st->topics + i,
		(st->ntopics - i) * sizeof(*st->topics));
	st->topics[i] = t;
	st->ntopics++;
	return 0;
}

int tfs_topic_open(struct tfs_store *st, const char *name,
		   struct tfs_topic **out)
{
	int found, err = tfs_topic_name_valid(name);
	size_t i;

	if (err)
		return err;
	pthread_mutex_lock(&st->lock);
	i = topic_find(st, name, &found);
	if (found) {
		*out = st->topics[i];
		tfs_topic_ref(*out, 1);
	}
	pthread_mutex_unlock(&st->lock);
	return found ? 0 : -ENOENT;
}

/* mkdir the topic and sync the data dir; st->lock held. */
static int topic_create_locked(struct tfs_store *st, const char *name,
			       struct tfs_topic **out)
{
	struct tfs_topic *t;
	int found, err;

	topic_find(st, name, &found);
	if (found)
		return -EEXIST;
	t = topic_alloc(st, name);
	if (!t)
		return -ENOMEM;
	if (mkdir(t->path, 0755)) {
		err = -errno;
		goto out_free;
	}
	err = fsync(st->dir_fd) ? -errno : 0;
	if (!err)
		err = topic_insert(st, t);
	if (err)
		goto out_rmdir;
	tfs_topic_ref(t, 1);
	*out = t;
	return 0;

out_rmdir:
	rmdir(t->path);
out_free:
	topic_free(t);
	return err;
}

int tfs_topic_create(struct tfs_store *st, const char *name,
		     struct tfs_topic **out)
{
	int err = tfs_topic_name_valid(name);

	if (err)
		return err;
	pthread_mutex_lock(&st->lock);
	err = topic_create_locked(st, name, out);
	pthread_mutex_unlock(&st->lock);
	if (err && err != -EEXIST)
		store_log(st, LOG_ERR, "creating topic %s: %s", name,
			  tfs_strerror(err));
	if (err == -ENOSPC || err == -EDQUOT || err == -EEXIST ||
	    err == -ENOMEM || !err)
		return err;
	return -EIO;
}

/* Remove an empty topic's files (its groups, then its config) and its
 * directory, and sync the data dir; t->lock held.  -errno. */
static int topic_remove_dir(struct tfs_topic *t)
{
	int err = group_unlink_all(t); /* grp_lock, released: a leaf */

	if (err)
		return err;
	pthread_mutex_lock(&t->cfg_lock);
	topic_config_unlink(t);
	if (rmdir(t->path)) {
		err = -errno;
	} else {
		t->cfg_gone = true; /* its name may be a new topic's now */
		if (fsync(t->st->dir_fd))
			err = -errno;
	}
	/* the topic stays: so do its config and groups (a topic without
	 * its .config would run on the mount's defaults after a restart,
	 * retention included) */
	if (err && access(t->path, F_OK) == 0) {
		int werr = topic_config_write(t, &t->own);

		if (werr)
			store_log(t->st, LOG_ERR,
				  "%s/%s: writing it again after a failed "
				  "delete: %s; the topic runs on the defaults "
				  "after a restart",
				  t->name, FMT_TOPIC_CONFIG, strerror(-werr));
	}
	pthread_mutex_unlock(&t->cfg_lock);
	if (err && access(t->path, F_OK) == 0)
		group_reopen(t);
	return err;
}

/* rmdir an empty topic and take it out of the array; st->lock held. */
static int topic_delete_locked(struct tfs_store *st, const char *name,
			       struct tfs_topic **out)
{
	struct tfs_topic *t;
	int found, err = 0;
	size_t i = topic_find(st, name, &found);

	if (!found)
		return -ENOENT;
	t = st->topics[i];
	pthread_mutex_lock(&t->lock);
	err = t->nparts ? -ENOTEMPTY : topic_remove_dir(t);
	if (!err)
		t->deleted = true;
	pthread_mutex_unlock(&t->lock);
	if (err && err != -ENOTEMPTY)
		store_log(st, LOG_ERR, "deleting topic %s: %s", name,
			  strerror(-err));
	if (err)
		return err == -ENOTEMPTY || err == -EEXIST ? -ENOTEMPTY : -EIO;
	memmove(st->topics + i, st->topics + i + 1,
		(st->ntopics - i - 1) * sizeof(*st->topics));
	st->ntopics--;
	*out = t;
	return 0;
}

int tfs_topic_delete(struct tfs_store *st, const char *name)
{
	struct tfs_topic *t;
	int err = tfs_topic_name_valid(name);

	if (err)
		return err;
	pthread_mutex_lock(&st->lock);
	err = topic_delete_locked(st, name, &t);
	pthread_mutex_unlock(&st->lock);
	if (!err)
		store_bury_topic(st, t);
	return err;
}

void tfs_topic_ref(struct tfs_topic *t, uint64_t n)
{
	atomic_fetch_add(&t->refs, n);
}

void tfs_topic_put(struct tfs_topic *t, uint64_t n)
{
	/* read before the drop: once it is done, another put may free t */
	struct tfs_store *st = t->st;
	uint64_t old = atomic_fetch_sub(&t->refs, n);
	struct tfs_topic **tp;

	assert(old >= n);
	if (old != n)
		return;
	/* only a deleted topic (on the graveyard) loses its last ref */
	assert(t->deleted);
	pthread_mutex_lock(&st->lock);
	for (tp = &st->dead_topics; *tp && *tp != t; tp = &(*tp)->dead_next)
		;
	if (*tp)
		*tp = t->dead_next;
	pthread_mutex_unlock(&st->lock);
	topic_free(t);
}

const char *tfs_topic_name(const struct tfs_topic *t)
{
	return t->name;
}

uint32_t tfs_topic_partitions(struct tfs_topic *t)
{
	uint32_t n;

	pthread_mutex_lock(&t->lock);
	n = t->nparts;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int tfs_topic_deleted(struct tfs_topic *t)
{
	int d;

	pthread_mutex_lock(&t->lock);
	d = t->deleted;
	pthread_mutex_unlock(&t->lock);
	return d;
}

int tfs_part_open(struct tfs_topic *t, uint32_t n, struct tfs_part **out)
{
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	if (!t->deleted && n < t->nparts) {
		*out = t->parts[n];
		tfs_part_ref(*out, 1);
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* The checks and the work of tfs_part_create; t->lock held. */
static int part_create_locked(struct tfs_topic *t, uint32_t n,
			      struct tfs_part **out)
{
	struct tfs_part *p;
	int err;

	if (t->deleted)
		return -ENOENT;
	if (n >= TFS_MAX_PARTITIONS || n > t->nparts)
		return -EINVAL;
	if (n < t->nparts)
		return -EEXIST;
	err = part_load(t, n, true, &p);
	if (err)
		return err;
	err = topic_push_part(t, p);
	if (err) {
		part_remove_dir(t->st, p->path);
		part_free(p);
		return err;
	}
	tfs_part_ref(p, 1);
	*out = p;
	return 0;
}

int tfs_part_create(struct tfs_topic *t, uint32_t n, struct tfs_part **out)
{
	int err;

	pthread_mutex_lock(&t->lock);
	err = part_create_locked(t, n, out);
	pthread_mutex_unlock(&t->lock);
	switch (err) {
	case 0:
	case -ENOENT:
	case -EINVAL:
	case -EEXIST:
	case -ENOSPC:
	case -EDQUOT:
	case -ENOMEM:
		return err;
	}
	store_log(t->st, LOG_ERR, "creating partition %s/%u: %s", t->name, n,
		  tfs_strerror(err));
	return -EIO;
}

int tfs_part_delete(struct tfs_topic *t, uint32_t n)
{
	struct tfs_part *p = NULL;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	if (t->deleted || n >= t->nparts)
		err = -ENOENT;
	else if (n != t->nparts - 1)
		err = -EBUSY;
	else
		err = part_unlink(t->parts[n]);
	if (!err) {
		p = t->parts[--t->nparts];
		tfs_topic_ref(t, 1); /* held by the dead partition */
		atomic_fetch_add(&t->parts_gen, 1);
		group_forget_part(t, n); /* grp_lock, released: a leaf */
	}
	pthread_mutex_unlock(&t->lock);
	if (p)
		store_bury_part(t->st, p);
	if (err && err != -ENOENT && err != -EBUSY) {
		store_log(t->st, LOG_ERR, "deleting partition %s/%u: %s",
			  t->name, n, tfs_strerror(err));
		return -EIO;
	}
	return err;
}

/* ---- configuration ---------------------------------------------------- */

/* Read DATADIR/TOPIC/.config into t->own (a missing file is no keys).  A
 * file that does not parse is logged and ignored: the topic runs on the
 * defaults rather than not at all. */
static int topic_config_load(struct tfs_topic *t)
{
	char path[PATH_MAX], why[256], *text;
	struct stat sb;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", t->path, FMT_TOPIC_CONFIG);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) ||
	    sb.st_size > TOPIC_CONFIG_MAX) {
		store_log(t->st, LOG_ERR,
			  "%s/%s: not a readable regular file of at most %d "
			  "bytes; using the defaults",
			  t->name, FMT_TOPIC_CONFIG, TOPIC_CONFIG_MAX);
		close(fd);
		return 0;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text)
		err = -ENOMEM;
	else
		err = seg_pread_all(fd, text, (size_t)sb.st_size, 0);
	close(fd);
	if (err && err != -ENOMEM)
		store_log(t->st, LOG_ERR, "%s/%s: reading: %s; using the "
			  "defaults", t->name, FMT_TOPIC_CONFIG,
			  tfs_strerror(err));
	if (!err && tfs_config_parse(&t->own, text, (size_t)sb.st_size, why,
				     sizeof(why)))
		store_log(t->st, LOG_ERR, "%s/%s: %s; using the defaults",
			  t->name, FMT_TOPIC_CONFIG, why);
	free(text);
	if (!err)
		topic_config_publish(t);
	return err == -ENOMEM ? err : 0;
}

void topic_config_unlink(struct tfs_topic *t)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t->path, FMT_TOPIC_CONFIG);
	unlink(path);
}

/* Write own's keys to DATADIR/TOPIC/.config atomically: temp file,
 * fsync, rename, fsync the directory; with no keys, remove the file (a
 * missing file is no keys), so that a reset, and so rm -r of a topic, never
 * needs disk space.  -errno. */
static int topic_config_write(struct tfs_topic *t, const struct tfs_config *own)
{
	char path[PATH_MAX], tmp[PATH_MAX], buf[TOPIC_CONFIG_MAX];
	size_t n = strlen(FMT_TOPIC_CONFIG_HEAD);

	snprintf(path, sizeof(path), "%s/%s", t->path, FMT_TOPIC_CONFIG);
	if (!own->set) {
		if (unlink(path) && errno != ENOENT)
			return -errno;
		return store_fsync_path(t->path);
	}
	memcpy(buf, FMT_TOPIC_CONFIG_HEAD, n);
	n += tfs_config_format(own, false, buf + n, sizeof(buf) - n);
	snprintf(tmp, sizeof(tmp), "%s/%s", t->path, FMT_TOPIC_CONFIG_TMP);
	return store_replace_file(t->path, path, tmp, buf, n);
}

void tfs_topic_config(struct tfs_topic *t, struct tfs_config *out)
{
	pthread_mutex_lock(&t->cfg_lock);
	tfs_config_merge(out, &t->st->opts.cfg, &t->own);
	pthread_mutex_unlock(&t->cfg_lock);
}

int tfs_topic_config_set(struct tfs_topic *t, const char *text, size_t len,
			 char *err, size_t errlen)
{
	struct tfs_config own;
	int rc;

	pthread_mutex_lock(&t->cfg_lock);
	own = t->own;
	rc = tfs_config_parse(&own, text, len, err, errlen);
	if (!rc) {
		/* a deleted topic's directory is gone (the delete holds
		 * cfg_lock while it removes the files), and its path may be a
		 * new topic's: never write there */
		rc = t->cfg_gone ? -ENOENT : topic_config_write(t, &own);
		if (rc == -ENOENT) {
			if (err && errlen)
				snprintf(err, errlen, "the topic is deleted");
		} else if (rc) {
			store_log(t->st, LOG_ERR, "%s/%s: writing: %s",
				  t->name, FMT_TOPIC_CONFIG, strerror(-rc));
			if (err && errlen)
				snprintf(err, errlen, "writing %s: %s",
					 FMT_TOPIC_CONFIG, strerror(-rc));
			if (rc != -ENOSPC && rc != -EDQUOT)
				rc = -EIO;
		}
	}
	if (!rc) {
		t->own = own;
		topic_config_publish(t);
	}
	pthread_mutex_unlock(&t->cfg_lock);
	return rc;
}
