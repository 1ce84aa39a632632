/*
 * fs/view.c - views: windows onto partitions, and the mayor's files.
 *
 *   T/.follow/P            partition P from its start; reads at the end wait
 *   T/.since/WHEN/P        from the first record at or after WHEN
 *   T/.last/N/P            from N records before the end
 *   T/.groups/G/P          from group G's committed offset; close()
 *                          commits what was read contiguously from 0
 *   T/.since/WHEN/.follow/P, T/.last/N/.follow/P, T/.groups/G/.follow/P
 *                          the same, waiting
 *   T/.produce             write-only: each write() is a record, routed
 *                          to a partition by its key (murmur2, as Kafka)
 *   .stats, .metrics       at the root: every partition, as text and in
 *                          Prometheus text format
 *
 * A view file is a window onto one partition: offset 0 of the file is the
 * partition offset `base`, fixed when the file is opened (getfattr -n
 * user.topicfs.base), and st_size is end - base.  Views are read-only,
 * direct-I/O inodes of their own (FUSE-NOTES section 2: a cached open
 * never sends a READ at the kernel's i_size, so a waiting read needs
 * FOPEN_DIRECT_IO; views never touch the partition's cache).
 *
 * View directories are reachable by name but not listed in the topic, so
 * `rm -r` and `find` do not walk into them.  Each lookup makes a new vnode
 * (inode number = vnode pointer | TFS_TAG_VNODE) holding one topic
 * reference; FORGET drops it.
 *
 * A READ at or past the end of a following view is parked: its request is
 * kept on the waiter list and answered by tfs_view_wake() after the next
 * append to that partition, or with EOF when the partition or the daemon
 * goes away.  Interrupts (Ctrl-C) answer it with EINTR; O_NONBLOCK gets
 * EAGAIN at the end; poll() wakes on the next append.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tfs.h"

/* What a vnode is. */
enum vkind {
	VK_FOLLOW_DIR, /* .follow: partitions whose reads wait */
	VK_SINCE_DIR,  /* .since: holds WHEN directories */
	VK_LAST_DIR,   /* .last: holds N directories */
	VK_WINDOW_DIR, /* .since/WHEN, .last/N: partitions and .follow */
	VK_GROUPS_DIR, /* .groups: one directory per consumer group */
	VK_FILE,       /* a window onto partition part */
	VK_PRODUCE,    /* .produce: keyed appends */
	VK_STATS,      /* /.stats */
	VK_METRICS,    /* /.metrics */
};

/* Where a window's base comes from. */
enum vbase {
	VB_START, /* the partition's start */
	VB_TIME,  /* the first record at or after when_ms */
	VB_LAST,  /* n records before the end */
	VB_GROUP, /* the group's committed offset */
};

struct tfs_vnode {
	struct tfs_vnode *next, *prev; /* on vnodes.all, for the shutdown */
	_Atomic uint64_t refs;	/* kernel lookups and open files */
	enum vkind kind;	/* immutable, as every field below */
	struct tfs_topic *t;	/* one reference; NULL for root files */
	enum vbase base;	/* windows: where offset 0 is */
	bool follow;		/* windows: reads at the end wait */
	int64_t when_ms;	/* VB_TIME: the time, or the age (ms before
				   now, when age is set) */
	bool age;		/* VB_TIME: when_ms is an age (.since/-10m):
				   resolved at each open, not at lookup
				   (the kernel keeps the name an hour) */
	uint64_t n;		/* VB_LAST */
	uint32_t part;		/* VK_FILE: the partition number */
	char *group;		/* VB_GROUP: the group's name, owned */
};

/* An open view file (fi->fh). */
struct vfile {
	struct vfile *all_next, *all_prev; /* on vfiles.all, for the
					      shutdown */
	struct tfs_vnode *vn; /* one reference */
	struct tfs_part *p;   /* one reference */
	uint64_t base;	      /* partition offset of file offset 0 */
	_Atomic uint64_t next; /* file offset after the last read, or of
				  a read that waits or got EAGAIN: poll */
	_Atomic uint64_t pos; /* bytes read contiguously from offset 0: a
				 group commits base + pos at close */
	uint32_t sticky;      /* .produce: the partition of keyless
				 records (tfs_topic_route) */
	uint64_t gid;	      /* a group file: the group's id at open
				 (tfs_group_id): its close commits into that
				 group only, not one made again by its name */
	bool may_commit;      /* opened by the mounting user or root: a
				 group file's close commits */
	pid_t opener;	      /* a group file: the process (thread group)
				 that opened it, whose close commits; 0:
				 unknown, any close does */
	char *text;	      /* .stats/.metrics: the text as it was at
				 open, so reads in pieces never tear */
	size_t text_len;      /* its bytes */
	_Atomic unsigned refs; /* the open file's, and one per READ
				  replying from text: the reader may close
				  the file (RELEASE, another thread) as soon
				  as the reply is in, while the replying
				  thread is still returning from writev()
				  (ASan's writev checks the bytes then) */
	struct waiter *poll_w; /* its queued poll waiter, or NULL (one at
				 most: a new poll replaces its handle);
				 under its partition's bucket lock */
};

/* A parked READ, or a poll handle waiting for data. */
struct waiter {
	struct waiter *next, *prev; /* on its bucket's list while queued */
	struct vfile *vf;	    /* the open file (a parked READ keeps it
				       open; a poll waiter is dropped at its
				       release) */
	struct tfs_part *p;	    /* the partition it waits on (no ref:
				       the vfile holds one) */
	uint64_t off;		    /* partition offset it waits for */
	fuse_req_t req;		    /* the READ, or NULL for a poll */
	struct fuse_pollhandle *ph; /* the poll handle, or NULL */
	size_t size;		    /* the READ's size */
	enum { W_REG, W_QUEUED, W_DONE } state; /* under its bucket's lock */
	bool early_intr;	    /* interrupted while registering */
};

/*
 * Waiting reads and polls of every view, in buckets by partition, so an
 * append looks only at its own partition's bucket and appends to
 * different partitions take different locks.  A bucket's lock is a leaf
 * (never held while replying or calling the store).
 */
#define WAIT_BUCKETS 64

struct wbucket {
	pthread_mutex_t lock;
	struct waiter ws; /* list head; protected by lock */
};

static struct {
	struct wbucket b[WAIT_BUCKETS];
	pthread_once_t once;
	_Atomic bool closing; /* the daemon is stopping: no new waits; set
				 before the buckets are emptied */
} views = { .once = PTHREAD_ONCE_INIT };

static void buckets_init(void)
{
	for (int i = 0; i < WAIT_BUCKETS; i++) {
		pthread_mutex_init(&views.b[i].lock, NULL);
		views.b[i].ws.next = views.b[i].ws.prev = &views.b[i].ws;
	}
}

/* The bucket of partition p's waiters. */
static struct wbucket *bucket(const struct tfs_part *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;

	pthread_once(&views.once, buckets_init);
	return &views.b[h >> 58]; /* 64 buckets: the top 6 bits */
}

/* Queue w at the tail of its bucket (b->lock held). */
static void bucket_add(struct wbucket *b, struct waiter *w)
{
	w->state = W_QUEUED;
	w->next = &b->ws;
	w->prev = b->ws.prev;
	b->ws.prev->next = w;
	b->ws.prev = w;
}

static void bucket_del(struct waiter *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
}

/* Open view files, so a stopping daemon can wait for followers to close. */
static _Atomic int views_open;

int tfs_view_open_count(void)
{
	return atomic_load(&views_open);
}

/* ---- vnodes ------------------------------------------------------------ */

/* Every live vnode: the kernel forgets no inode at unmount, so the
 * daemon frees what is left (tfs_view_free_all). */
static struct {
	pthread_mutex_t lock; /* a leaf */
	struct tfs_vnode *all;
} vnodes = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Every open view file: one whose RELEASE never comes (the daemon stopped
 * with it open) is freed at the end (tfs_view_free_all). */
static struct {
	pthread_mutex_t lock; /* a leaf */
	struct vfile *all;
} vfiles = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void vnode_free(struct tfs_vnode *vn)
{
	if (vn->t)
		tfs_topic_put(vn->t, 1);
	free(vn->group);
	free(vn);
}

void tfs_view_free_all(void)
{
	struct tfs_vnode *vn;
	struct vfile *vf;

	/* their partition references go with the store */
	pthread_mutex_lock(&vfiles.lock);
	while ((vf = vfiles.all)) {
		vfiles.all = vf->all_next;
		free(vf->text);
		free(vf);
	}
	pthread_mutex_unlock(&vfiles.lock);
	pthread_mutex_lock(&vnodes.lock);
	while ((vn = vnodes.all)) {
		vnodes.all = vn->next;
		vnode_free(vn);
	}
	pthread_mutex_unlock(&vnodes.lock);
}

static struct tfs_vnode *vnode_new(enum vkind kind, struct tfs_topic *t)
{
	struct tfs_vnode *vn = calloc(1, sizeof(*vn));

	if (!vn)
		return NULL;
	atomic_init(&vn->refs, 1);
	vn->kind = kind;
	vn->t = t;
	if (t)
		tfs_topic_ref(t, 1);
	pthread_mutex_lock(&vnodes.lock);
	vn->next = vnodes.all;
	if (vn->next)
		vn->next->prev = vn;
	vnodes.all = vn;
	pthread_mutex_unlock(&vnodes.lock);
	return vn;
}

void tfs_vnode_put(struct tfs_vnode *vn, uint64_t n)
{
	if (atomic_fetch_sub(&vn->refs, n) != n)
		return;
	pthread_mutex_lock(&vnodes.lock);
	if (vn->prev)
		vn->prev->next = vn->next;
	else
		vnodes.all = vn->next;
	if (vn->next)
		vn->next->prev = vn->prev;
	pthread_mutex_unlock(&vnodes.lock);
	vnode_free(vn);
}

/* A child vnode like parent (its base and follow), of another kind. */
static struct tfs_vnode *vnode_derive(const struct tfs_vnode *parent,
				      enum vkind kind)
{
	struct tfs_vnode *vn = vnode_new(kind, parent->t);

	if (vn) {
		vn->base = parent->base;
		vn->follow = parent->follow;
		vn->when_ms = parent->when_ms;
		vn->age = parent->age;
		vn->n = parent->n;
		if (parent->group) {
			vn->group = strdup(parent->group);
			if (!vn->group) {
				tfs_vnode_put(vn, 1);
				return NULL;
			}
		}
	}
	return vn;
}

/* n decimal digits at s (exactly), into *v; false if any is not one. */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* YYYY-MM-DDTHH:MM[:SS[.fraction]]Z, every field its full width, a date
 * that exists (no 31 February); 0 and *ms, or -EINVAL. */
static int parse_iso(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec = 0;
	long frac = 0, scale = 1000;
	struct tm tm = { 0 }, back;
	time_t t;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi))
		return -EINVAL;
	s += 16;
	if (*s == ':') {
		if (!digits(s + 1, 2, &sec))
			return -EINVAL;
		s += 3;
		if (*s == '.') {
			if (!isdigit((unsigned char)s[1]))
				return -EINVAL;
			for (s++; isdigit((unsigned char)*s); s++)
				if (scale > 1)
					frac += (*s - '0') * (scale /= 10);
		}
	}
	if (strcmp(s, "Z") || mo < 1 || mo > 12 || d < 1 || h > 23 ||
	    mi > 59 || sec > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (!gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -EINVAL; /* normalised: the day does not exist */
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

/* Parse WHEN: an ISO-8601 UTC time (2026-11-25T10:00:00Z, seconds and the
 * fraction optional), a date (2026-11-25: its midnight, UTC), epoch
 * milliseconds, or an age (-10m, -2h, -1d, -30s).
 * @return 0 and *ms; -EINVAL. */
int tfs_view_parse_when(const char *s, int64_t now_ms, int64_t *ms)
{
	char *end;
	long long v;

	if (s[0] == '-') {
		static const struct { char unit; int64_t ms; } units[] = {
			{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 },
			{ 'd', 86400000 }, { 'w', 604800000 }
		};

		if (!isdigit((unsigned char)s[1])) /* no sign, no space */
			return -EINVAL;
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno || !end[0] || end[1])
			return -EINVAL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end[0] == units[i].unit &&
			    v <= INT64_MAX / units[i].ms) {
				*ms = now_ms - v * units[i].ms;
				return 0;
			}
		return -EINVAL;
	}
	if (strchr(s, 'T'))
		return parse_iso(s, ms);
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		char day[sizeof("YYYY-MM-DDT00:00Z")];

		snprintf(day, sizeof(day), "%sT00:00Z", s);
		return parse_iso(day, ms);
	}
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ms = v;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child `name` of view directory (or topic, or root) parent:
 * a new vnode with one reference, or -errno. */
int tfs_view_lookup(fuse_ino_t parent, const char *name,
		    struct tfs_vnode **out)
{
	struct tfs_topic *t = tfs_ino_to_topic(parent);
	struct tfs_vnode *pv = tfs_ino_to_vnode(parent), *vn = NULL;
	uint32_t n;
	int64_t when;

	if (parent == FUSE_ROOT_ID) {
		if (!strcmp(name, TFS_STATS_NAME))
			vn = vnode_new(VK_STATS, NULL);
		else if (!strcmp(name, TFS_METRICS_NAME))
			vn = vnode_new(VK_METRICS, NULL);
		else
			return -ENOENT;
	} else if (t) {
		if (!strcmp(name, ".follow")) {
			vn = vnode_new(VK_FOLLOW_DIR, t);
			if (vn)
				vn->follow = true;
		} else if (!strcmp(name, ".since")) {
			vn = vnode_new(VK_SINCE_DIR, t);
		} else if (!strcmp(name, ".last")) {
			vn = vnode_new(VK_LAST_DIR, t);
		} else if (!strcmp(name, ".groups")) {
			vn = vnode_new(VK_GROUPS_DIR, t);
		} else if (!strcmp(name, TFS_PRODUCE_NAME)) {
			vn = vnode_new(VK_PRODUCE, t);
		} else {
			return -ENOENT;
		}
	} else if (!pv) {
		return -ENOENT;
	} else if (pv->kind == VK_SINCE_DIR) {
		if (tfs_view_parse_when(name, now_ms(), &when)) {
			tfs_log(LOG_NOTICE,
				"%s/.since/%s: not a time (2026-11-25T10:00:00Z, epoch ms, or -10m, -2h, -1d)",
				tfs_topic_name(pv->t), name);
			return -ENOENT;
		}
		vn = vnode_derive(pv, VK_WINDOW_DIR);
		if (vn) {
			vn->base = VB_TIME;
			vn->age = name[0] == '-';
			/* an age: parsed against now 0, it is -when */
			if (vn->age)
				tfs_view_parse_when(name, 0, &when);
			vn->when_ms = vn->age ? -when : when;
		}
	} else if (pv->kind == VK_LAST_DIR) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(name, &end, 10);
		if (name[0] < '0' || name[0] > '9' || *end || errno) {
			tfs_log(LOG_NOTICE,
				"%s/.last/%s: not a record count",
				tfs_topic_name(pv->t), name);
			return -ENOENT;
		}
		vn = vnode_derive(pv, VK_WINDOW_DIR);
		if (vn) {
			vn->base = VB_LAST;
			vn->n = v;
		}
	} else if (pv->kind == VK_GROUPS_DIR) {
		if (!tfs_group_exists(pv->t, name))
			return -ENOENT;
		vn = vnode_derive(pv, VK_WINDOW_DIR);
		if (vn) {
			vn->base = VB_GROUP;
			vn->group = strdup(name);
			if (!vn->group) {
				tfs_vnode_put(vn, 1);
				vn = NULL;
			}
		}
	} else if (pv->kind == VK_WINDOW_DIR && !strcmp(name, ".follow")) {
		vn = vnode_derive(pv, VK_FOLLOW_DIR);
		if (vn)
			vn->follow = true;
	} else if ((pv->kind == VK_WINDOW_DIR || pv->kind == VK_FOLLOW_DIR) &&
		   !tfs_part_name_parse(name, &n) &&
		   n < tfs_topic_partitions(pv->t)) {
		vn = vnode_derive(pv, VK_FILE);
		if (vn)
			vn->part = n;
	} else {
		return -ENOENT;
	}
	if (!vn)
		return -ENOMEM;
	*out = vn;
	return 0;
}

/* The partition offset where a window of vn on p starts now: 0 and *base,
 * or -errno (an index that cannot be read: -EIO, logged by the store). */
static int view_base(const struct tfs_vnode *vn, struct tfs_part *p,
		     uint64_t *base)
{
	struct tfs_part_info info;
	uint64_t off = 0;
	int err = 0;

	tfs_part_info(p, &info);
	switch (vn->base) {
	case VB_TIME:
		err = tfs_part_seek_time(p,
					 vn->age ? now_ms() - vn->when_ms
						 : vn->when_ms,
					 &off);
		break;
	case VB_LAST:
		err = tfs_part_seek_last(p, vn->n, &off);
		break;
	case VB_START:
		off = info.start;
		break;
	case VB_GROUP:
		if (tfs_group_offset(vn->t, vn->group, vn->part, &off,
				     &(bool){ false }))
			off = info.start;
		break;
	}
	if (err)
		return err;
	/* a group that fell behind keeps its offset: reads fail (ERANGE);
	 * one past the end (the records behind it were lost in a crash)
	 * reads from the end */
	if (off < info.start && vn->base != VB_GROUP)
		off = info.start;
	*base = off > tfs_part_end(p) ? tfs_part_end(p) : off;
	return 0;
}

/* ---- attributes and listings -------------------------------------------- */

static size_t view_text(const struct tfs_vnode *vn, char **text);

int tfs_view_attr(struct tfs_vnode *vn, struct stat *s)
{
	struct tfs_part *p;
	uint64_t base, end;
	char *text;
	int err;

	if (vn->kind == VK_PRODUCE) {
		s->st_mode = S_IFREG | 0200; /* the owner appends */
		s->st_nlink = 1;
		return 0;
	}
	if (vn->kind == VK_STATS || vn->kind == VK_METRICS) {
		s->st_mode = S_IFREG | 0444;
		s->st_nlink = 1;
		s->st_size = (off_t)view_text(vn, &text);
		free(text);
		return 0;
	}
	if (vn->kind != VK_FILE) {
		/* the owner makes and removes groups in .groups */
		s->st_mode = S_IFDIR | (vn->kind == VK_GROUPS_DIR ? 0755 : 0555);
		s->st_nlink = 2;
		return 0;
	}
	if (tfs_part_open(vn->t, vn->part, &p))
		return ENOENT;
	err = view_base(vn, p, &base);
	end = tfs_part_end(p); /* after the base: an append may come between */
	tfs_part_put(p, 1);
	if (err)
		return -err;
	/* a group file's owner sets its offset (setfattr); write() is
	 * refused all the same */
	s->st_mode = S_IFREG | (vn->base == VB_GROUP ? 0644 : 0444);
	s->st_nlink = 1;
	s->st_size = (off_t)(end > base ? end - base : 0);
	return 0;
}

/* Names listed in view directory vn: partitions (and .follow); 0 or
 * -errno.  *names is NULL-free for partitions: *count partitions, then
 * *extra extra names. */
int tfs_view_dir(struct tfs_vnode *vn, uint32_t *parts, int *follow)
{
	*parts = 0;
	*follow = 0;
	switch (vn->kind) {
	case VK_FOLLOW_DIR:
		*parts = tfs_topic_partitions(vn->t);
		return 0;
	case VK_WINDOW_DIR:
		*parts = tfs_topic_partitions(vn->t);
		*follow = 1;
		return 0;
	case VK_SINCE_DIR:
	case VK_LAST_DIR:
	case VK_GROUPS_DIR:
		return 0;
	default:
		return -ENOTDIR;
	}
}

bool tfs_view_is_dir(const struct tfs_vnode *vn)
{
	return vn->kind != VK_FILE && vn->kind != VK_STATS &&
	       vn->kind != VK_METRICS && vn->kind != VK_PRODUCE;
}

bool tfs_view_is_produce(const struct tfs_vnode *vn)
{
	return vn->kind == VK_PRODUCE;
}

struct tfs_topic *tfs_view_groups_of(const struct tfs_vnode *vn)
{
	return vn->kind == VK_GROUPS_DIR ? vn->t : NULL;
}

/* ---- consumer groups ------------------------------------------------------ */

/* The thread group (process) of thread pid, from /proc; 0 if unknown.
 * FUSE requests carry the calling thread's id. */
static pid_t view_tgid(pid_t pid)
{
	char path[64], buf[512], *s;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	s = strstr(buf, "\nTgid:");
	return s ? (pid_t)strtol(s + 6, NULL, 10) : 0;
}

static bool view_crashed(pid_t pid)
{
	char path[64], buf[1024], *s, *tok, *save = NULL;
	unsigned long flags = 0;
	long code = 0;
	ssize_t n;
	int fd, field = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	s = strrchr(buf, ')'); /* the command name may hold anything */
	if (!s)
		return false;
	/* strtok_r: FLUSHes of two group readers run on two threads */
	for (tok = strtok_r(s + 1, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 9)
			flags = strtoul(tok, NULL, 10);
		else if (field == 52)
			code = strtol(tok, NULL, 10);
	}
	if (!(flags & 0x4)) /* PF_EXITING: not dying, a close() */
		return false;
	/* killed, or a signal that dumps core: a crash; SIGINT, SIGTERM,
	 * SIGHUP and SIGPIPE end consumers in the ordinary way */
	switch (code & 0x7f) {
	case SIGKILL: case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT:
	case SIGBUS: case SIGFPE: case SIGSEGV: case SIGXCPU: case SIGXFSZ:
	case SIGSYS:
		return true;
	default:
		return false;
	}
}

/* Commit what vf read contiguously from its offset 0 (FLUSH is
 * synchronous with close(); several FLUSHes of one open are harmless),
 * unless closer, the task whose FLUSH this is (0: an fsync), crashed. */
int tfs_view_commit(struct fuse_file_info *fi, pid_t closer)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	uint64_t pos = atomic_load(&vf->pos), at, rec;
	int err;

	/* other users (-o allow_other) read a group file but move nothing:
	 * as for setfattr, committing is the owner's */
	if (vf->vn->base != VB_GROUP || vf->vn->kind != VK_FILE || !pos ||
	    !vf->may_commit)
		return 0;
	/* a child that inherited the descriptor (every command of a shell
	 * loop reading from the file, a fork) closing it commits nothing:
	 * only the opener's close does, or a consumer killed after a child
	 * exited would lose the records it had not processed */
	if (closer && vf->opener && view_tgid(closer) != vf->opener)
		return 0;
	if (closer && view_crashed(closer)) {
		tfs_log(LOG_NOTICE,
			"%s/.groups/%s/%u: not committed: the consumer crashed (at-least-once: it reads from %llu again)",
			tfs_topic_name(vf->vn->t), vf->vn->group, vf->vn->part,
			(unsigned long long)vf->base);
		return 0;
	}
	/* the partition read is gone (a new one may have its number) */
	if (tfs_part_deleted(vf->p))
		return 0;
	/* a read that stopped inside a record (head -c, dd count=) commits
	 * up to that record's start, so the next reader gets it whole; never
	 * below the offset the file started at.  If the index cannot say
	 * (damage, logged), the byte offset stands. */
	at = vf->base + pos;
	if (!tfs_part_seek_record(vf->p, at, &rec))
		at = rec > vf->base ? rec : vf->base;
	if (at == vf->base)
		return 0;
	/* into the group and partition read, not ones made again by their
	 * name and number meanwhile */
	err = tfs_group_commit_as(vf->vn->t, vf->vn->group, vf->vn->part, at,
				  vf->p, vf->gid ? vf->gid : UINT64_MAX);
	if (err == -ENOENT) { /* removed meanwhile */
		tfs_log(LOG_NOTICE, "%s/.groups/%s/%u: not committed: %s",
			tfs_topic_name(vf->vn->t), vf->vn->group, vf->vn->part,
			"the group or the partition is gone");
		return 0;
	}
	if (err)
		tfs_log(LOG_ERR, "%s/.groups/%s/%u: commit at %llu: %s",
			tfs_topic_name(vf->vn->t), vf->vn->group, vf->vn->part,
			(unsigned long long)at, tfs_strerror(err));
	return err;
}

int tfs_view_fsync(struct fuse_file_info *fi)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	uint32_t n;
	int err = 0;

	if (vf->vn->kind != VK_PRODUCE)
		return tfs_view_commit(fi, 0);
	/* what this file appended may be on any partition of the topic */
	n = tfs_topic_partitions(vf->vn->t);
	for (uint32_t i = 0; i < n; i++) {
		struct tfs_part *p;

		if (tfs_part_open(vf->vn->t, i, &p))
			continue;
		if (tfs_part_sync(p) && !err)
			err = -EIO;
		tfs_part_put(p, 1);
	}
	return err;
}

int tfs_view_group_offset(struct tfs_vnode *vn, uint64_t *off, bool set)
{
	bool committed;

	if (vn->kind != VK_FILE || vn->base != VB_GROUP)
		return -ENODATA;
	if (set) {
		struct tfs_part *p;
		uint64_t rec = *off;

		/* a record's start (or the end, or below the start): an
		 * offset inside a record would give the next reader half of
		 * it; if the index cannot say (damage, logged), it stands */
		if (tfs_part_open(vn->t, vn->part, &p))
			return -ENOENT;
		if (tfs_part_seek_record(p, *off, &rec))
			rec = *off;
		tfs_part_put(p, 1);
		if (rec != *off) {
			tfs_log(LOG_NOTICE,
				"%s/.groups/%s/%u: offset %llu refused: it is "
				"inside the record at %llu",
				tfs_topic_name(vn->t), vn->group, vn->part,
				(unsigned long long)*off,
				(unsigned long long)rec);
			return -EINVAL;
		}
		return tfs_group_commit(vn->t, vn->group, vn->part, *off);
	}
	return tfs_group_offset(vn->t, vn->group, vn->part, off, &committed);
}

/* ---- the mayor's files -------------------------------------------------- */

/* Append printf output to a growing buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0 || b->oom)
			return;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* One partition's line of .stats. */
static void stats_part(struct sbuf *b, const char *topic, struct tfs_part *p)
{
	struct tfs_part_info i;
	double rate = tfs_part_rate(p);
	uint32_t n = tfs_part_number(p);

	tfs_part_info(p, &i);
	sb_printf(b, "%-24s %5u %14" PRIu64 " %14" PRIu64 " %12" PRIu64
		  " %8" PRIu64 " %14" PRIu64 " %10.1f\n",
		  topic, n, i.start, i.end, i.records, i.segments,
		  i.disk_bytes, rate);
}

/* A group's committed offset and lag in partition j of topic t, which
 * has the group; false when either is gone. */
static bool group_lag(struct tfs_topic *t, const char *group, uint32_t j,
		      uint64_t *off, uint64_t *lag)
{
	struct tfs_part *p;
	bool committed;
	uint64_t end;

	if (tfs_part_open(t, j, &p))
		return false;
	if (tfs_group_offset(t, group, j, off, &committed)) {
		tfs_part_put(p, 1);
		return false;
	}
	end = tfs_part_end(p);
	*lag = end > *off ? end - *off : 0;
	tfs_part_put(p, 1);
	return true;
}

/* Every group's committed offset and lag per partition of topic t, as
 * lines of .stats. */
static void stats_groups(struct sbuf *b, struct tfs_topic *t, uint32_t np)
{
	const char *topic = tfs_topic_name(t);
	char **groups = NULL;
	ssize_t ng = tfs_group_list(t, &groups);

	for (ssize_t g = 0; g < ng; g++) {
		for (uint32_t j = 0; j < np; j++) {
			uint64_t off, lag;

			if (group_lag(t, groups[g], j, &off, &lag))
				sb_printf(b,
					  "group %s of %s, partition %u: offset %" PRIu64 ", lag %" PRIu64 " bytes\n",
					  groups[g], topic, j, off, lag);
		}
	}
	tfs_names_free(groups, ng > 0 ? (size_t)ng : 0);
}

/*
 * .metrics, in Prometheus's text format: each metric family is one group
 * (its HELP and TYPE lines, then all its samples), as the format requires
 * and strict parsers (OpenMetrics, promtool) check.  So every partition's
 * figures are taken once, into rows, and written family by family.
 */
struct prom_row {
	const char *topic; /* names[] of view_text: lives as long */
	char *group;	   /* lag rows: the group (owned); NULL otherwise */
	uint32_t part;
	struct tfs_part_info i;
	double rate;
	uint64_t lag;
};

struct prom_rows {
	struct prom_row *v;
	size_t n, cap;
	bool oom;
};

static struct prom_row *prom_add(struct prom_rows *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct prom_row *v = realloc(r->v, cap * sizeof(*v));

		if (!v) {
			r->oom = true;
			return NULL;
		}
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	return &r->v[r->n++];
}

/* Partition rows of topic t (named topic), then its groups' lag rows. */
static void prom_collect(struct prom_rows *r, const char *topic,
			 struct tfs_topic *t)
{
	uint32_t np = tfs_topic_partitions(t);
	char **groups = NULL;
	ssize_t ng;

	for (uint32_t j = 0; j < np; j++) {
		struct tfs_part *p;
		struct prom_row *row;

		if (tfs_part_open(t, j, &p))
			continue;
		row = prom_add(r);
		if (row) {
			row->topic = topic;
			row->part = j;
			tfs_part_info(p, &row->i);
			row->rate = tfs_part_rate(p);
		}
		tfs_part_put(p, 1);
	}
	ng = tfs_group_list(t, &groups);
	for (ssize_t g = 0; g < ng; g++) {
		for (uint32_t j = 0; j < np; j++) {
			uint64_t off, lag;
			struct prom_row *row;

			if (!group_lag(t, groups[g], j, &off, &lag))
				continue;
			row = prom_add(r);
			if (!row)
				break;
			row->group = strdup(groups[g]);
			if (!row->group) {
				r->oom = true;
				r->n--;
				break;
			}
			row->topic = topic;
			row->part = j;
			row->lag = lag;
		}
	}
	tfs_names_free(groups, ng > 0 ? (size_t)ng : 0);
}

/* One family: HELP and TYPE, then field f (PF_*) of every partition row. */
enum { PF_START, PF_END, PF_RECORDS, PF_SEGMENTS, PF_DISK, PF_RATE };

static void prom_family(struct sbuf *b, const struct prom_rows *r,
			const char *name, const char *type, const char *help,
			int f)
{
	sb_printf(b, "# HELP topicfs_%s %s\n# TYPE topicfs_%s %s\n", name, help,
		  name, type);
	for (size_t k = 0; k < r->n; k++) {
		const struct prom_row *row = &r->v[k];
		uint64_t v = 0;

		if (row->group)
			continue;
		sb_printf(b, "topicfs_%s{topic=\"%s\",partition=\"%u\"} ", name,
			  row->topic, row->part);
		switch (f) {
		case PF_RATE:
			sb_printf(b, "%.3f\n", row->rate);
			continue;
		case PF_START: v = row->i.start; break;
		case PF_END: v = row->i.end; break;
		case PF_RECORDS: v = row->i.records; break;
		case PF_SEGMENTS: v = row->i.segments; break;
		case PF_DISK: v = row->i.disk_bytes; break;
		}
		sb_printf(b, "%" PRIu64 "\n", v);
	}
}

/* The whole of .metrics for the topics names[0..nt). */
static void prom_text(struct sbuf *b, char **names, ssize_t nt)
{
	struct prom_rows r = { 0 };
	struct tfs_held_stats h;

	for (ssize_t i = 0; i < nt && !r.oom; i++) {
		struct tfs_topic *t;

		if (tfs_topic_open(tfs.st, names[i], &t))
			continue;
		prom_collect(&r, names[i], t);
		tfs_topic_put(t, 1);
	}
	tfs_store_held(tfs.st, &h);
	sb_printf(b,
		  "# HELP topicfs_read_requests_total READ requests on partitions and views.\n"
		  "# TYPE topicfs_read_requests_total counter\n"
		  "topicfs_read_requests_total %" PRIu64 "\n"
		  "# HELP topicfs_read_bytes_total Bytes those READ requests returned.\n"
		  "# TYPE topicfs_read_bytes_total counter\n"
		  "topicfs_read_bytes_total %" PRIu64 "\n"
		  "# HELP topicfs_read_request_max_bytes Largest READ request the kernel sent.\n"
		  "# TYPE topicfs_read_request_max_bytes gauge\n"
		  "topicfs_read_request_max_bytes %" PRIu64 "\n"
		  "# HELP topicfs_stream_held_writes_total Stream write-backs held in memory: they came before the bytes in front of them.\n"
		  "# TYPE topicfs_stream_held_writes_total counter\n"
		  "topicfs_stream_held_writes_total %" PRIu64 "\n"
		  "# HELP topicfs_stream_held_bytes_total Bytes of those write-backs.\n"
		  "# TYPE topicfs_stream_held_bytes_total counter\n"
		  "topicfs_stream_held_bytes_total %" PRIu64 "\n",
		  atomic_load(&tfs_reads.requests), atomic_load(&tfs_reads.bytes),
		  atomic_load(&tfs_reads.size_max), h.held_writes,
		  h.held_bytes);
	prom_family(b, &r, "partition_start_offset", "gauge",
		    "First readable byte offset.", PF_START);
	prom_family(b, &r, "partition_end_offset", "counter",
		    "Bytes ever appended (end offset).", PF_END);
	prom_family(b, &r, "partition_records", "gauge", "Records kept.",
		    PF_RECORDS);
	prom_family(b, &r, "partition_segments", "gauge", "Segments kept.",
		    PF_SEGMENTS);
	prom_family(b, &r, "partition_disk_bytes", "gauge",
		    "Bytes of segment files on disk.", PF_DISK);
	prom_family(b, &r, "partition_append_rate", "gauge",
		    "Records appended per second, last minute.", PF_RATE);
	sb_printf(b,
		  "# HELP topicfs_group_lag_bytes Bytes a consumer group has not committed.\n"
		  "# TYPE topicfs_group_lag_bytes gauge\n");
	for (size_t k = 0; k < r.n; k++) {
		if (!r.v[k].group)
			continue;
		sb_printf(b,
			  "topicfs_group_lag_bytes{topic=\"%s\",group=\"%s\",partition=\"%u\"} %" PRIu64 "\n",
			  r.v[k].topic, r.v[k].group, r.v[k].part, r.v[k].lag);
		free(r.v[k].group);
	}
	if (r.oom)
		b->oom = true;
	free(r.v);
}

/* The text of .stats or .metrics, malloc'ed into *text; its length. */
static size_t view_text(const struct tfs_vnode *vn, char **text)
{
	struct sbuf b = { 0 };
	char **names = NULL;
	ssize_t nt = tfs_store_list(tfs.st, &names);

	if (vn->kind == VK_METRICS) {
		prom_text(&b, names, nt);
		goto out;
	}
	sb_printf(&b, "%-24s %5s %14s %14s %12s %8s %14s %10s\n", "topic",
		  "part", "start", "end", "records", "segments", "disk_bytes",
		  "rec/s_1m");
	for (ssize_t i = 0; i < nt; i++) {
		struct tfs_topic *t;
		uint32_t np;

		if (tfs_topic_open(tfs.st, names[i], &t))
			continue;
		np = tfs_topic_partitions(t);
		for (uint32_t j = 0; j < np; j++) {
			struct tfs_part *p;

			if (tfs_part_open(t, j, &p))
				continue;
			stats_part(&b, names[i], p);
			tfs_part_put(p, 1);
		}
		stats_groups(&b, t, np);
		tfs_topic_put(t, 1);
	}
out:
	tfs_names_free(names, nt > 0 ? (size_t)nt : 0);
	*text = b.s;
	return b.oom ? 0 : b.len;
}

/* ---- open, read, poll ---------------------------------------------------- */

void tfs_view_open(fuse_req_t req, struct tfs_vnode *vn,
		   struct fuse_file_info *fi)
{
	struct vfile *vf;

	if (tfs_view_is_dir(vn)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (vn->kind == VK_PRODUCE) {
		if ((fi->flags & O_ACCMODE) == O_RDONLY) {
			fuse_reply_err(req, EACCES); /* write-only */
			return;
		}
		if (tfs.stream) { /* the kernel owns partition sizes there */
			fuse_reply_err(req, EPERM);
			return;
		}
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY ||
		   (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EACCES); /* views are read-only */
		return;
	}
	vf = calloc(1, sizeof(*vf));
	if (!vf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	atomic_init(&vf->refs, 1);
	if (vn->kind == VK_FILE) {
		int err = tfs_part_open(vn->t, vn->part, &vf->p);

		if (!err) {
			err = view_base(vn, vf->p, &vf->base);
			if (err)
				tfs_part_put(vf->p, 1);
		}
		if (!err && vn->base == VB_GROUP)
			tfs_group_id(vn->t, vn->group, &vf->gid);
		if (err) {
			free(vf);
			fuse_reply_err(req, err == -EIO ? EIO : ENOENT);
			return;
		}
	}
	if (vn->kind == VK_STATS || vn->kind == VK_METRICS) {
		vf->text_len = view_text(vn, &vf->text);
		if (!vf->text) /* no topics (or no memory): empty */
			vf->text_len = 0;
	}
	if (vn->kind == VK_FILE && vn->base == VB_GROUP)
		vf->opener = view_tgid(fuse_req_ctx(req)->pid);
	vf->may_commit = fuse_req_ctx(req)->uid == tfs.uid ||
			 fuse_req_ctx(req)->uid == 0;
	atomic_fetch_add(&vn->refs, 1);
	atomic_fetch_add(&views_open, 1);
	vf->vn = vn;
	vf->sticky = TFS_STICKY_NONE;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->fh = (uint64_t)(uintptr_t)vf;
	pthread_mutex_lock(&vfiles.lock);
	vf->all_next = vfiles.all;
	if (vf->all_next)
		vf->all_next->all_prev = vf;
	vfiles.all = vf;
	pthread_mutex_unlock(&vfiles.lock);
	if (fuse_reply_open(req, fi) != 0)
		tfs_view_release(fi);
}

void tfs_view_data(struct tfs_vnode *vn, struct fuse_file_info *fi,
		   uint64_t *start, uint64_t *end)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	struct tfs_part_info info;

	*start = *end = 0;
	if (vn->kind == VK_STATS || vn->kind == VK_METRICS) {
		*end = vf->text_len;
	} else if (vn->kind == VK_FILE) {
		tfs_part_info(vf->p, &info);
		*start = info.start > vf->base ? info.start - vf->base : 0;
		*end = info.end > vf->base ? info.end - vf->base : 0;
	}
}

static void vfile_put(struct vfile *vf)
{
	if (atomic_fetch_sub(&vf->refs, 1) != 1)
		return;
	free(vf->text);
	free(vf);
}

void tfs_view_release(struct fuse_file_info *fi)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	struct waiter *w, *next, *gone = NULL;
	struct wbucket *b = vf->p ? bucket(vf->p) : NULL;

	/* its poll waiters go with it (parked READs cannot be here: a READ
	 * in flight keeps the file open); only a partition's files wait */
	if (b) {
		pthread_mutex_lock(&b->lock);
		for (w = b->ws.next; w != &b->ws; w = next) {
			next = w->next;
			if (w->vf != vf)
				continue;
			bucket_del(w);
			w->next = gone;
			gone = w;
		}
		pthread_mutex_unlock(&b->lock);
	}
	while (gone) {
		w = gone;
		gone = w->next;
		if (w->ph)
			fuse_pollhandle_destroy(w->ph);
		free(w);
	}
	pthread_mutex_lock(&vfiles.lock);
	if (vf->all_prev)
		vf->all_prev->all_next = vf->all_next;
	else
		vfiles.all = vf->all_next;
	if (vf->all_next)
		vf->all_next->all_prev = vf->all_prev;
	pthread_mutex_unlock(&vfiles.lock);
	if (vf->p)
		tfs_part_put(vf->p, 1);
	tfs_vnode_put(vf->vn, 1);
	vfile_put(vf);
	atomic_fetch_sub(&views_open, 1);
}

/* A read of a view file at file offset at is about to be answered with n
 * bytes: move its next offset, and what a group may commit. */
struct view_read {
	struct vfile *vf;
	uint64_t at;
};

static void view_advance(void *arg, size_t n)
{
	struct view_read *r = arg;
	uint64_t at = r->at;

	if (!n)
		return;
	atomic_store(&r->vf->next, r->at + n);
	/* contiguous from 0: what a group may commit */
	atomic_compare_exchange_strong(&r->vf->pos, &at, r->at + n);
}

/* Reply to a READ of vf at file offset off (the data is there).  vf is
 * updated before the reply goes out: after it, the reader may close the
 * file, and its FLUSH commits what it read. */
static void view_serve(fuse_req_t req, struct vfile *vf, size_t size,
		       uint64_t off)
{
	struct view_read r = { vf, off };
	struct tfs_read_hook hook = { view_advance, &r };

	tfs_reply_read(req, vf->p, size, vf->base + off, &hook);
}

/* Interrupt of a parked READ (libfuse holds the request's lock; we may
 * be called from inside fuse_req_interrupt_func while registering). */
static void view_intr(fuse_req_t req, void *data)
{
	struct waiter *w = data;
	struct wbucket *b = bucket(w->p);

	pthread_mutex_lock(&b->lock);
	if (w->state == W_REG) {
		w->early_intr = true;
		pthread_mutex_unlock(&b->lock);
		return;
	}
	if (w->state != W_QUEUED) { /* a waker owns it */
		pthread_mutex_unlock(&b->lock);
		return;
	}
	bucket_del(w);
	w->state = W_DONE;
	pthread_mutex_unlock(&b->lock);
	fuse_reply_err(req, EINTR);
	free(w);
}

/* Park a READ at the end of a following view; it is answered later. */
static void view_park(fuse_req_t req, struct vfile *vf, size_t size,
		      uint64_t off)
{
	struct waiter *w = calloc(1, sizeof(*w));
	struct wbucket *b = bucket(vf->p);

	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->vf = vf;
	w->p = vf->p;
	w->off = vf->base + off;
	w->req = req;
	w->size = size;
	w->state = W_REG;
	fuse_req_interrupt_func(req, view_intr, w); /* no lock held */
	pthread_mutex_lock(&b->lock);
	/* a partition's delete sets deleted before it answers the waiters
	 * (tfs_view_end takes this lock): one or the other ends this read */
	if (w->early_intr || atomic_load(&views.closing) ||
	    tfs_part_deleted(vf->p) || w->off < tfs_part_end(vf->p)) {
		bool intr = w->early_intr,
		     closing = atomic_load(&views.closing) ||
			       (tfs_part_deleted(vf->p) &&
				w->off >= tfs_part_end(vf->p));

		pthread_mutex_unlock(&b->lock);
		fuse_req_interrupt_func(req, NULL, NULL);
		free(w);
		if (intr)
			fuse_reply_err(req, EINTR);
		else if (closing)
			fuse_reply_buf(req, NULL, 0);
		else /* data arrived while we registered */
			view_serve(req, vf, size, off);
		return;
	}
	bucket_add(b, w);
	pthread_mutex_unlock(&b->lock);
}

void tfs_view_write(fuse_req_t req, struct tfs_vnode *vn, const char *buf,
		    size_t size, struct fuse_file_info *fi)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	int64_t n = -EBADF;
	struct tfs_part *p = NULL;
	ssize_t r;

	/* the chosen partition may be deleted before it is opened (only
	 * the highest can be): choose again while the topic has others */
	for (int tries = 0; vn->kind == VK_PRODUCE && tries < 8; tries++) {
		n = tfs_topic_route(vn->t, buf, size, &vf->sticky);
		if (n < 0 || !tfs_part_open(vn->t, (uint32_t)n, &p))
			break;
		n = -ENOENT;
	}
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	r = tfs_part_append(p, buf, size, TFS_OFFSET_ANY, NULL);
	if (r < 0) {
		fuse_reply_err(req, (int)-r);
	} else {
		fuse_reply_write(req, (size_t)r);
		tfs_view_wake(p);
	}
	tfs_part_put(p, 1);
}

void tfs_view_read(fuse_req_t req, struct tfs_vnode *vn, size_t size,
		   off_t off, struct fuse_file_info *fi)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	char *text;
	size_t len;

	if (vn->kind == VK_PRODUCE) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (vn->kind == VK_STATS || vn->kind == VK_METRICS) {
		text = vf->text;
		len = vf->text_len;
		atomic_fetch_add(&vf->refs, 1);
		if ((uint64_t)off >= len)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_buf(req, text + off,
				       len - (size_t)off < size ? len - (size_t)off
								: size);
		vfile_put(vf);
		return;
	}
	if (vf->base + (uint64_t)off < tfs_part_end(vf->p) || !vn->follow ||
	    tfs_part_deleted(vf->p)) { /* a deleted one ends: EOF */
		view_serve(req, vf, size, (uint64_t)off);
		return;
	}
	/* where the reader is, for poll(): after an lseek() it is not
	 * where the last read ended */
	atomic_store(&vf->next, (uint64_t)off);
	if (fi->flags & O_NONBLOCK) { /* the file's flags now (fcntl) */
		fuse_reply_err(req, EAGAIN);
		return;
	}
	view_park(req, vf, size, (uint64_t)off);
}

void tfs_view_poll(fuse_req_t req, struct tfs_vnode *vn,
		   struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)fi->fh;
	struct fuse_pollhandle *old = NULL;
	struct waiter *w;
	struct wbucket *b;
	uint64_t want;

	if (vn->kind != VK_FILE || !vn->follow) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM);
		return;
	}
	want = vf->base + atomic_load(&vf->next);
	if (tfs_part_deleted(vf->p) || atomic_load(&views.closing)) {
		/* no more data (a deleted partition, a stopping daemon) */
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLHUP);
		return;
	}
	if (want < tfs_part_end(vf->p) || !ph) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, want < tfs_part_end(vf->p)
					     ? POLLIN | POLLRDNORM
					     : 0);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_pollhandle_destroy(ph);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	b = bucket(vf->p);
	pthread_mutex_lock(&b->lock);
	if (vf->poll_w) { /* one waiter per file: the newest handle */
		old = vf->poll_w->ph;
		vf->poll_w->ph = ph;
		vf->poll_w->off = want;
	} else {
		w->vf = vf;
		w->p = vf->p;
		w->off = want;
		w->ph = ph;
		bucket_add(b, w);
		vf->poll_w = w;
		w = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	free(w);
	if (old)
		fuse_pollhandle_destroy(old);
	/* an append, a delete of the partition or the daemon's stop between
	 * the checks and the queueing woke nobody (tfs_view_end may have
	 * emptied the bucket before the waiter went in) */
	if (tfs_part_deleted(vf->p) || atomic_load(&views.closing))
		fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLHUP);
	else
		fuse_reply_poll(req, want < tfs_part_end(vf->p)
					     ? POLLIN | POLLRDNORM
					     : 0);
}

/* Take the waiters of p in bucket b (every waiter of b if p is NULL)
 * whose offset is below end (any offset if eof) off its list, onto ready. */
static struct waiter *take_bucket(struct wbucket *b, struct tfs_part *p,
				  uint64_t end, bool eof, struct waiter *ready)
{
	struct waiter *w, *next;

	pthread_mutex_lock(&b->lock);
	for (w = b->ws.next; w != &b->ws; w = next) {
		next = w->next;
		if ((p && w->p != p) || (!eof && w->off >= end))
			continue;
		bucket_del(w);
		w->state = W_DONE;
		if (w->ph)
			w->vf->poll_w = NULL;
		w->next = ready;
		ready = w;
	}
	pthread_mutex_unlock(&b->lock);
	return ready;
}

/* Take the waiters of p (every waiter if p is NULL) whose offset is below
 * end (any offset if eof) off the lists. */
static struct waiter *view_take(struct tfs_part *p, uint64_t end, bool eof)
{
	struct waiter *ready = NULL;

	if (p)
		return take_bucket(bucket(p), p, end, eof, NULL);
	bucket(NULL); /* initialised */
	for (int i = 0; i < WAIT_BUCKETS; i++)
		ready = take_bucket(&views.b[i], NULL, end, eof, ready);
	return ready;
}

/* Answer taken waiters: with data, or with EOF. */
static void view_answer(struct waiter *ready, bool eof)
{
	while (ready) {
		struct waiter *w = ready;

		ready = w->next;
		if (w->ph) {
			fuse_lowlevel_notify_poll(w->ph);
			fuse_pollhandle_destroy(w->ph);
		} else {
			fuse_req_interrupt_func(w->req, NULL, NULL);
			if (eof)
				fuse_reply_buf(w->req, NULL, 0);
			else
				view_serve(w->req, w->vf, w->size,
					   w->off - w->vf->base);
		}
		free(w);
	}
}

void tfs_view_wake(struct tfs_part *p)
{
	view_answer(view_take(p, tfs_part_end(p), false), false);
}

void tfs_view_end(struct tfs_part *p)
{
	if (!p) /* before the buckets are emptied: see view_park() */
		atomic_store(&views.closing, true);
	view_answer(view_take(p, 0, true), true);
}

int tfs_view_base(struct tfs_vnode *vn, uint64_t *base)
{
	struct tfs_part *p;

	int err;

	if (vn->kind != VK_FILE || tfs_part_open(vn->t, vn->part, &p))
		return -ENOENT;
	err = view_base(vn, p, base);
	tfs_part_put(p, 1);
	return err;
}
