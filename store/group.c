/*
 * store/group.c - consumer groups: per topic, named sets of offsets
 * committed per partition, kept in memory in the topic (topic->groups,
 * under topic->grp_lock) and in DATADIR/TOPIC/.groups/GROUP, which every
 * change replaces atomically (temp file, fsync, rename, fsync the dir).
 *
 * A group file is text, one "PARTITION OFFSET\n" line per partition the
 * group committed, by partition:
 *
 *   0 1200\n
 *   1 0\n
 *   3 987654\n
 */
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

/* Longest line: "99999 18446744073709551615\n" is 27 bytes. */
#define GROUP_LINE_MAX 32

/* The offset a group committed for one partition. */
struct group_off {
	uint32_t part; /* partition number */
	uint64_t off;  /* committed offset */
};

struct group {
	char *name;		/* group name, owned; immutable */
	uint64_t id;		/* unique in this process (a group deleted
				   and made again by the same name gets a
				   new one); immutable */
	struct group_off *offs; /* committed offsets by part, ascending,
				   owned; topic->grp_lock */
	size_t noffs;		/* used entries of offs; grp_lock */
	size_t offs_cap;	/* allocated entries of offs; grp_lock */
};

/* One change a write makes to a group's offsets. */
struct group_edit {
	uint32_t part; /* the partition */
	uint64_t off;  /* its new offset, unless drop */
	bool drop;     /* forget the partition instead */
};

static void group_free(struct group *g)
{
	if (!g)
		return;
	free(g->name);
	free(g->offs);
	free(g);
}

void group_free_all(struct tfs_topic *t)
{
	for (size_t i = 0; i < t->ngroups; i++)
		group_free(t->groups[i]);
	free(t->groups);
	t->groups = NULL;
	t->ngroups = t->groups_cap = 0;
}

/* DATADIR/TOPIC/.groups, then "/" pre name sfx if name is not NULL.
 * 0; -ENAMETOOLONG. */
static int group_path(char *buf, size_t size, const struct tfs_topic *t,
		      const char *pre, const char *name, const char *sfx)
{
	int n = name ? snprintf(buf, size, "%s/%s/%s%s%s", t->path,
				FMT_GROUPS_DIR, pre, name, sfx)
		     : snprintf(buf, size, "%s/%s", t->path, FMT_GROUPS_DIR);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Position of name in t->groups, or where it would go; grp_lock held. */
static size_t group_find(struct tfs_topic *t, const char *name, bool *found)
{
	return store_find_name((void *const *)t->groups, t->ngroups,
			       offsetof(struct group, name), name, found);
}

/* Position of part in g->offs, or where it would go. */
static size_t group_off_find(const struct group *g, uint32_t part, bool *found)
{
	size_t lo = 0, hi = g->noffs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->offs[mid].part < part)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < g->noffs && g->offs[lo].part == part;
	return lo;
}

/* Make room for one more offset in g (contents unchanged); -ENOMEM. */
static int group_off_reserve(struct group *g)
{
	struct group_off *v =
		store_grow(g->offs, &g->offs_cap, g->noffs, sizeof(*v));

	if (!v)
		return -ENOMEM;
	g->offs = v;
	return 0;
}

/* Apply ed to g's offsets in memory (room reserved for an insert). */
static void group_apply(struct group *g, const struct group_edit *ed)
{
	bool found;
	size_t i = group_off_find(g, ed->part, &found);

	if (ed->drop && found) {
		memmove(g->offs + i, g->offs + i + 1,
			(g->noffs - i - 1) * sizeof(*g->offs));
		g->noffs--;
	} else if (!ed->drop && found) {
		g->offs[i].off = ed->off;
	} else if (!ed->drop) {
		memmove(g->offs + i + 1, g->offs + i,
			(g->noffs - i) * sizeof(*g->offs));
		g->offs[i] = (struct group_off){ ed->part, ed->off };
		g->noffs++;
	}
}

/* g's file text with ed applied (ed may be NULL), malloc'ed; NULL when
 * out of memory. */
static char *group_format(const struct group *g, const struct group_edit *ed,
			  size_t *len)
{
	char *text = malloc((g->noffs + 1) * GROUP_LINE_MAX);
	bool done = !ed;
	size_t n = 0;

	if (!text)
		return NULL;
	for (size_t i = 0; i <= g->noffs; i++) {
		const struct group_off *o = i < g->noffs ? &g->offs[i] : NULL;

		if (!done && (!o || o->part >= ed->part)) {
			done = true;
			if (!ed->drop)
				n += (size_t)sprintf(
					text + n, "%u %llu\n", ed->part,
					(unsigned long long)ed->off);
			if (o && o->part == ed->part)
				continue;
		}
		if (o)
			n += (size_t)sprintf(text + n, "%u %llu\n", o->part,
					     (unsigned long long)o->off);
	}
	*len = n;
	return text;
}

/* Make DATADIR/TOPIC/.groups if it is not known to exist, and sync the
 * topic dir; grp_lock held.  -errno. */
static int group_mkdir(struct tfs_topic *t, const char *dir)
{
	if (t->groups_dir)
		return 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	if (store_fsync_path(t->path))
		return -EIO;
	t->groups_dir = true;
	return 0;
}

/* Replace DATADIR/TOPIC/.groups/NAME by len bytes of text: .NAME.tmp,
 * fsync, rename, fsync the dir; grp_lock held.  -errno (temp removed). */
static int group_write_text(struct tfs_topic *t, const char *name,
			    const char *text, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	int err;

	if (group_path(dir, sizeof(dir), t, "", NULL, "") ||
	    group_path(path, sizeof(path), t, "", name, "") ||
	    group_path(tmp, sizeof(tmp), t, FMT_GROUP_TMP_PREFIX, name,
		       FMT_TMP_SUFFIX))
		return -ENAMETOOLONG;
	err = group_mkdir(t, dir);
	if (err)
		return err;
	return store_replace_file(dir, path, tmp, text, len);
}

/* Write g's file with ed applied (NULL: as it is); grp_lock held.
 * @return 0; -ENOMEM; -ENOSPC/-EDQUOT/-EIO (logged). */
static int group_write(struct tfs_topic *t, const struct group *g,
		       const struct group_edit *ed)
{
	size_t len;
	char *text = group_format(g, ed, &len);
	int err = text ? group_write_text(t, g->name, text, len) : -ENOMEM;

	free(text);
	if (!err || err == -ENOMEM)
		return err;
	store_log(t->st, LOG_ERR, "%s/%s/%s: writing the group: %s", t->name,
		  FMT_GROUPS_DIR, g->name, strerror(-err));
	return err == -ENOSPC || err == -EDQUOT ? err : -EIO;
}

static struct group *group_alloc(const char *name)
{
	static _Atomic uint64_t last_id;
	struct group *g = calloc(1, sizeof(*g));

	if (g) {
		g->name = strdup(name);
		g->id = atomic_fetch_add(&last_id, 1) + 1;
	}
	if (g && !g->name) {
		free(g);
		g = NULL;
	}
	return g;
}

/* Insert g at position i of t->groups (room reserved); grp_lock held. */
static void group_insert(struct tfs_topic *t, struct group *g, size_t i)
{
	memmove(t->groups + i + 1, t->groups + i,
		(t->ngroups - i) * sizeof(*t->groups));
	t->groups[i] = g;
	t->ngroups++;
}

/* Make room for one more group in t (contents unchanged); -ENOMEM. */
static int group_reserve(struct tfs_topic *t)
{
	struct group **v =
		store_grow(t->groups, &t->groups_cap, t->ngroups, sizeof(*v));

	if (!v)
		return -ENOMEM;
	t->groups = v;
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

/* Parse one line "PARTITION OFFSET" (no '\n'); 0 or -EINVAL. */
static int group_parse_line(const char *s, size_t len, uint32_t *part,
			    uint64_t *off)
{
	char buf[GROUP_LINE_MAX];
	const char *sp = memchr(s, ' ', len);
	uint64_t v = 0;

	if (!sp || len >= sizeof(buf) || sp == s || sp + 1 == s + len)
		return -EINVAL;
	memcpy(buf, s, (size_t)(sp - s));
	buf[sp - s] = '\0';
	if (tfs_part_name_parse(buf, part))
		return -EINVAL;
	for (const char *c = sp + 1; c < s + len; c++) {
		unsigned d = (unsigned)(*c - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10 ||
		    (c == sp + 1 && d == 0 && c + 1 < s + len))
			return -EINVAL;
		v = v * 10 + d;
	}
	*off = v;
	return 0;
}

/* Take the offset of one parsed line into g (lines are sorted in files
 * topicfs writes; others are sorted in).  @return 1 taken; 0 skipped (a
 * repeated partition, or one the topic lacks); -ENOMEM. */
static int group_load_off(struct tfs_topic *t, struct group *g, uint32_t part,
			  uint64_t off)
{
	struct group_edit ed = { .part = part, .off = off };
	bool found;

	if (part >= t->nparts)
		return 0;
	group_off_find(g, part, &found);
	if (found)
		return 0;
	if (group_off_reserve(g))
		return -ENOMEM;
	group_apply(g, &ed);
	return 1;
}

/* Parse a group file's len bytes of text into g; lines that do not parse,
 * repeat a partition, or name one the topic lacks are logged (one line,
 * with the first of them) and skipped.  -ENOMEM. */
static int group_parse(struct tfs_topic *t, struct group *g, const char *text,
		       size_t len)
{
	size_t bad = 0, first = 0, line = 0, flen = 0;
	const char *fbad = NULL;

	for (size_t pos = 0; pos < len; line++) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		uint32_t part;
		uint64_t off;
		int r = group_parse_line(s, n, &part, &off)
				? 0
				: group_load_off(t, g, part, off);

		if (r < 0)
			return r;
		if (!r && !bad++) {
			first = line + 1;
			fbad = s;
			flen = n < 40 ? n : 40;
		}
		pos += n + 1;
	}
	if (bad)
		store_log(
			t->st, LOG_ERR,
			"%s/%s/%s: ignoring %zu damaged line(s) (bad syntax, a repeated partition, or a partition the topic lacks), the first is line %zu: \"%.*s\"",
			t->name, FMT_GROUPS_DIR, g->name, bad, first, (int)flen,
			fbad);
	return 0;
}

/* Read group file name (in the dir at dfd) into a new group.  @return 0;
 * -ENOMEM; -EIO (logged) unreadable or over FMT_GROUP_FILE_MAX. */
static int group_load_file(struct tfs_topic *t, int dfd, const char *name,
			   struct group **out)
{
	struct group *g = group_alloc(name);
	char *text = NULL;
	struct stat sb;
	int fd, err = g ? 0 : -ENOMEM;

	fd = err ? -1 : openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (!err && fd < 0)
		err = -errno;
	if (!err && fstat(fd, &sb))
		err = -errno;
	if (!err && (!S_ISREG(sb.st_mode) || sb.st_size > FMT_GROUP_FILE_MAX))
		err = -EFBIG;
	if (!err && !(text = malloc((size_t)sb.st_size + 1)))
		err = -ENOMEM;
	if (!err)
		err = seg_pread_all(fd, text, (size_t)sb.st_size, 0);
	if (!err)
		err = group_parse(t, g, text, (size_t)sb.st_size);
	if (fd >= 0)
		close(fd);
	free(text);
	if (err && err != -ENOMEM)
		store_log(t->st, LOG_ERR, "%s/%s/%s: reading the group: %s",
			  t->name, FMT_GROUPS_DIR, name,
			  err == -EFBIG ? "not a regular file of at most 8 MiB"
					: strerror(-err));
	if (err) {
		group_free(g);
		return err == -ENOMEM ? err : -EIO;
	}
	*out = g;
	return 0;
}

/* One entry of .groups: a group, a leftover temp file (removed), or a
 * stranger (logged).  -errno. */
static int group_load_entry(struct tfs_topic *t, int dfd, const char *name)
{
	size_t n = strlen(name), sl = strlen(FMT_TMP_SUFFIX);
	struct group *g;
	bool found;
	int err;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (n > sl && !strcmp(name + n - sl, FMT_TMP_SUFFIX) &&
	    !strncmp(name, FMT_GROUP_TMP_PREFIX,
		     strlen(FMT_GROUP_TMP_PREFIX))) {
		store_log(
			t->st, LOG_NOTICE,
			"recovery: %s/%s/%s: removing an unfinished group write",
			t->name, FMT_GROUPS_DIR, name);
		return unlinkat(dfd, name, 0) ? -errno : 0;
	}
	if (tfs_topic_name_valid(name)) {
		store_log(t->st, LOG_WARNING,
			  "%s/%s/%s: ignoring an unknown file", t->name,
			  FMT_GROUPS_DIR, name);
		return 0;
	}
	err = group_load_file(t, dfd, name, &g);
	if (err)
		return err;
	if (group_reserve(t)) {
		group_free(g);
		return -ENOMEM;
	}
	group_insert(t, g, group_find(t, name, &found));
	return 0;
}

int group_load(struct tfs_topic *t)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (group_path(dir, sizeof(dir), t, "", NULL, ""))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d && errno == ENOENT)
		return 0;
	if (!d) {
		err = -errno;
		store_log(t->st, LOG_ERR, "%s/%s: %s", t->name, FMT_GROUPS_DIR,
			  strerror(-err));
		return err == -ENOMEM ? err : -EIO; /* not a directory, ... */
	}
	t->groups_dir = true;
	while (!err && (errno = 0, de = readdir(d)))
		err = group_load_entry(t, dirfd(d), de->d_name);
	if (!err && errno)
		err = -errno;
	closedir(d);
	return err;
}

/* ---- the topic's lifecycle --------------------------------------------- */

int group_unlink_all(struct tfs_topic *t)
{
	char dir[PATH_MAX];
	int err = 0;

	if (group_path(dir, sizeof(dir), t, "", NULL, ""))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&t->grp_lock);
	t->groups_closed = true;
	if (access(dir, F_OK) == 0 || errno != ENOENT)
		err = part_remove_dir(t->st, dir); /* logs */
	if (err)
		t->groups_closed = false;
	else
		t->groups_dir = false;
	pthread_mutex_unlock(&t->grp_lock);
	return err;
}

void group_reopen(struct tfs_topic *t)
{
	pthread_mutex_lock(&t->grp_lock);
	t->groups_closed = false;
	store_log(
		t->st, LOG_WARNING,
		"%s/%s: the topic delete failed after its groups were removed; writing %zu group(s) again",
		t->name, FMT_GROUPS_DIR, t->ngroups);
	for (size_t i = 0; i < t->ngroups; i++)
		group_write(t, t->groups[i], NULL); /* logs */
	pthread_mutex_unlock(&t->grp_lock);
}

void group_forget_part(struct tfs_topic *t, uint32_t part)
{
	struct group_edit ed = { .part = part, .drop = true };

	pthread_mutex_lock(&t->grp_lock);
	for (size_t i = 0; !t->groups_closed && i < t->ngroups; i++) {
		struct group *g = t->groups[i];
		bool found;

		group_off_find(g, part, &found);
		if (!found)
			continue;
		group_write(t, g, &ed); /* logs; group_load drops it later */
		group_apply(g, &ed);
	}
	pthread_mutex_unlock(&t->grp_lock);
}

/* ---- the API ------------------------------------------------------------ */

int tfs_group_create(struct tfs_topic *t, const char *name)
{
	struct group *g;
	bool found;
	size_t i;
	int err = tfs_topic_name_valid(name);

	if (err)
		return err;
	g = group_alloc(name);
	if (!g)
		return -ENOMEM;
	pthread_mutex_lock(&t->grp_lock);
	i = group_find(t, name, &found);
	if (t->groups_closed)
		err = -ENOENT;
	else if (found)
		err = -EEXIST;
	else
		err = group_reserve(t);
	if (!err)
		err = group_write(t, g, NULL);
	if (!err)
		group_insert(t, g, i);
	pthread_mutex_unlock(&t->grp_lock);
	if (err)
		group_free(g);
	return err;
}

/* Unlink group g's file and sync the dir; grp_lock held.  0; -EIO
 * (logged) with *gone saying whether the file is gone from the dir. */
static int group_unlink(struct tfs_topic *t, const struct group *g, bool *gone)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int err = 0;

	if (group_path(dir, sizeof(dir), t, "", NULL, "") ||
	    group_path(path, sizeof(path), t, "", g->name, "")) {
		errno = ENAMETOOLONG;
		*gone = false;
	} else {
		*gone = !unlink(path) || errno == ENOENT;
	}
	if (!*gone)
		err = -errno;
	else
		err = store_fsync_path(dir);
	if (!err)
		return 0;
	store_log(t->st, LOG_ERR, "%s/%s/%s: deleting the group: %s", t->name,
		  FMT_GROUPS_DIR, g->name, strerror(-err));
	return -EIO;
}

int tfs_group_delete(struct tfs_topic *t, const char *name)
{
	bool found, gone = false;
	size_t i;
	int err = tfs_topic_name_valid(name);

	if (err)
		return err;
	pthread_mutex_lock(&t->grp_lock);
	i = group_find(t, name, &found);
	if (t->groups_closed || !found) {
		err = -ENOENT;
	} else {
		err = group_unlink(t, t->groups[i], &gone);
		if (gone) {
			group_free(t->groups[i]);
			memmove(t->groups + i, t->groups + i + 1,
				(t->ngroups - i - 1) * sizeof(*t->groups));
			t->ngroups--;
		}
	}
	pthread_mutex_unlock(&t->grp_lock);
	return err;
}

ssize_t tfs_group_list(struct tfs_topic *t, char ***names)
{
	size_t n;
	char **v;

	pthread_mutex_lock(&t->grp_lock);
	n = t->groups_closed ? 0 : t->ngroups;
	v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		v[i] = strdup(t->groups[i]->name);
		if (!v[i]) {
			tfs_names_free(v, i);
			v = NULL;
		}
	}
	pthread_mutex_unlock(&t->grp_lock);
	if (!v)
		return -ENOMEM;
	*names = v;
	return (ssize_t)n;
}

int tfs_group_exists(struct tfs_topic *t, const char *name)
{
	bool found;

	pthread_mutex_lock(&t->grp_lock);
	group_find(t, name, &found);
	found = found && !t->groups_closed;
	pthread_mutex_unlock(&t->grp_lock);
	return found;
}

int tfs_group_offset(struct tfs_topic *t, const char *name, uint32_t part,
		     uint64_t *off, bool *committed)
{
	struct tfs_part_info info;
	struct tfs_part *p;
	bool found, have = false;
	uint64_t v = 0;
	size_t i;

	if (tfs_part_open(t, part, &p))
		return -ENOENT;
	tfs_part_info(p, &info);
	tfs_part_put(p, 1);
	pthread_mutex_lock(&t->grp_lock);
	i = group_find(t, name, &found);
	found = found && !t->groups_closed;
	if (found) {
		struct group *g = t->groups[i];

		i = group_off_find(g, part, &have);
		v = have ? g->offs[i].off : 0;
	}
	pthread_mutex_unlock(&t->grp_lock);
	if (!found)
		return -ENOENT;
	/* never committed: Kafka's auto.offset.reset=earliest; an offset
	 * retention has passed stays as it is, so the group's reads fail
	 * with ERANGE ("fell behind") until someone sets a new one */
	*off = have ? v : info.start;
	*committed = have;
	return 0;
}

/* The end of partition part, and the partition-delete count read before
 * it.  0; -ENOENT. */
/* Partition part's end, and the partition generation it was read at;
 * -ENOENT none, or not the partition want (when want is not NULL). */
static int group_part_end(struct tfs_topic *t, uint32_t part,
			  const struct tfs_part *want, uint64_t *end,
			  uint64_t *gen)
{
	struct tfs_part *p;
	bool same;

	*gen = atomic_load(&t->parts_gen);
	if (tfs_part_open(t, part, &p))
		return -ENOENT;
	*end = tfs_part_end(p);
	same = !want || p == want;
	tfs_part_put(p, 1);
	return same ? 0 : -ENOENT;
}

int tfs_group_id(struct tfs_topic *t, const char *name, uint64_t *id)
{
	bool found;
	size_t i;

	pthread_mutex_lock(&t->grp_lock);
	i = group_find(t, name, &found);
	*id = found && !t->groups_closed ? t->groups[i]->id : 0;
	pthread_mutex_unlock(&t->grp_lock);
	return *id ? 0 : -ENOENT;
}

int tfs_group_commit(struct tfs_topic *t, const char *name, uint32_t part,
		     uint64_t off)
{
	return tfs_group_commit_as(t, name, part, off, NULL, 0);
}

int tfs_group_commit_as(struct tfs_topic *t, const char *name, uint32_t part,
			uint64_t off, const struct tfs_part *p, uint64_t id)
{
	struct group_edit ed = { .part = part, .off = off };
	uint64_t end, gen;
	struct group *g;
	bool found;
	size_t i;
	int err;

again:
	err = group_part_end(t, part, p, &end, &gen);
	if (err)
		return err;
	if (off > end)
		return -EINVAL;
	pthread_mutex_lock(&t->grp_lock);
	i = group_find(t, name, &found);
	if (t->groups_closed || !found || (id && t->groups[i]->id != id)) {
		pthread_mutex_unlock(&t->grp_lock);
		return -ENOENT;
	}
	if (atomic_load(&t->parts_gen) != gen) {
		/* a partition delete came between: is part still there? */
		pthread_mutex_unlock(&t->grp_lock);
		goto again;
	}
	g = t->groups[i];
	err = group_off_reserve(g);
	if (!err)
		err = group_write(t, g, &ed);
	if (!err)
		group_apply(g, &ed);
	pthread_mutex_unlock(&t->grp_lock);
	return err;
}
