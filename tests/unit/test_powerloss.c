/*
 * tests/unit/test_powerloss.c - power-loss torture of the store.
 *
 * t_torture kills the daemon, but the kernel keeps every byte the daemon
 * wrote: it never loses what was not synced.  A power loss does.  This test
 * links the store with its sync, write and name calls wrapped (-Wl,--wrap,
 * see the Makefile) and keeps a model of what a disk would hold after a power
 * loss at any moment, as a journaling file system (ext4, XFS) leaves it:
 *   - metadata reaches the disk in the order it was made: names (create,
 *     mkdir, rename, unlink, rmdir) and file sizes (after each pwrite()
 *     and ftruncate()).  What came before the last fsync() of a directory
 *     is there; of what came after, a prefix, any length;
 *   - a file's bytes: after an fsync() or fdatasync() of it, what it held
 *     then, at least.  Beyond that, its size is the one the metadata
 *     prefix gives; sectors (512 bytes) below its synced size are each old
 *     or new; past it, the new bytes, maybe ending in zero sectors (a size
 *     that reached the disk before its data, as with data=writeback).
 *     test_powerloss_holes (and TFS_PL_HOLES=1 for the first test):
 *     appended sectors are each new or zero, in any order, as ext4 can
 *     leave them when it converts unwritten extents after each write-back
 *     completes; recovery then cuts at the first record past the
 *     recovery point that fails its CRC.
 * A workload of appends (records of 1..2500 bytes, 4 KiB segments, so
 * rolls all the time), stream write-backs out of order (the later one held
 * in memory until the one before it comes), partition syncs, consumer-group
 * commits, cleaner passes (retention.bytes and zstd compression on topic
 * t, flush.messages and flush.ms on topic u), partitions, a group and a
 * topic made and deleted, and rewrites of a topic's .config, runs against
 * a live store; the background syncer and cleaner run too.  Crash images
 * are taken between calls and
 * inside them (at a random wrapped call, so also between the steps of a
 * roll, a sync, a compression, a retention delete and recovery itself).
 * Every image must open, and then, for every partition:
 *   - the end is a record boundary of what was appended, at least the end
 *     the last returned tfs_part_sync() covered; the start is a record
 *     boundary; every byte in between reads back as written (no EIO), and
 *     the record count matches;
 *   - a group commit that returned is there (or one still in flight).
 * Every few images the workload goes on from one of them (a second copy
 * that was never opened), so recovery runs under the model too, and the
 * next images test a crash during or after recovery: what recovery kept
 * must survive the next power loss.
 *
 * make test runs seed 1 (TFS_PL_SEED: another, or "random"; a failure
 * prints the seed that repeats it); TFS_PL_ACTIONS sets the length (2000;
 * make test's sanitizer build runs 1000).
 * make torture runs TORTURE_PL_RUNS random seeds.
 */
#include "store_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "topicfs/check.h"

/* ---- the wrapped calls ------------------------------------------------- */

/* Each wrapped call: __real_NAME (the libc one) and __wrap_NAME (ours,
 * which the linker puts in its place; PL_WRAP in the Makefile). */
#define WRAPPED(ret, name, args)                                               \
	ret __real_##name args;                                                \
	ret __wrap_##name args
WRAPPED(int, fsync, (int fd));
WRAPPED(int, fdatasync, (int fd));
WRAPPED(int, open, (const char *path, int flags, ...));
WRAPPED(int, openat, (int dfd, const char *path, int flags, ...));
WRAPPED(int, mkdir, (const char *path, mode_t mode));
WRAPPED(int, unlink, (const char *path));
WRAPPED(int, unlinkat, (int dfd, const char *path, int flags));
WRAPPED(int, rename, (const char *a, const char *b));
WRAPPED(int, renameat, (int da, const char *a, int db, const char *b));
WRAPPED(int, rmdir, (const char *path));
WRAPPED(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off));
WRAPPED(int, ftruncate, (int fd, off_t len));
WRAPPED(int, fallocate, (int fd, int mode, off_t off, off_t len));

/* ---- the model --------------------------------------------------------- */

#define SECTOR 512

struct buf {
	unsigned char *p;
	size_t n;
};

/* A file or directory that lived under the live dir. */
struct inode {
	dev_t dev;
	ino_t ino;
	bool dir;
	bool alive;	 /* still has a name in the live dir */
	char *rel;	 /* that name, relative to the live dir */
	struct buf dur;	 /* content at its last fsync (empty if none) */
	struct buf gone; /* content when it lost its name */
	int sync_op;	 /* ops made before its last fsync; -1: none */
};

enum { OP_CREATE, OP_MKDIR, OP_UNLINK, OP_RMDIR, OP_RENAME, OP_SIZE };

/* A metadata change, in the order made. */
struct op {
	int kind;
	char *a, *b;   /* relative names (b: rename's target); NULL: size */
	int id;	       /* the inode created (OP_CREATE, OP_MKDIR), or sized */
	uint64_t size; /* OP_SIZE: its new size */
};

#define NP	4      /* partitions: t/0, t/1, t/2, u/0 */
#define MAX_REC 200000 /* records per partition over a run */

/* What a crash image must show; copied into each image when it is taken. */
struct expect {
	size_t nrec[NP];     /* records appended (returned) */
	int inflight[NP];    /* records from nrec on being appended */
	uint64_t synced[NP]; /* end the last returned sync covered */
	bool committed[NP];  /* group g committed an offset that returned */
	uint64_t commit[NP];
	bool commit_busy[NP]; /* a commit of commit_next is in flight */
	uint64_t commit_next[NP];
	/* names: partitions of topic v, group h of v, topic w; each may
	 * have a change in flight (busy: +1 or -1 partitions, a toggle) */
	int vparts, vparts_busy;
	bool hgroup, hgroup_busy;
	bool wtopic, wtopic_busy;
	/* topic v's own retention.ms (-1: not set); a rewrite of its
	 * .config may be in flight (to vret_next) */
	int64_t vret, vret_next;
	bool vret_busy;
};

struct image {
	char *a, *b; /* two copies: a is checked, b may become the live dir */
	struct expect e;
	int action; /* the workload step it was taken in */
	const char *where;
	int m, nops, durable; /* name changes replayed, made, durable */
};

#define MAX_QUEUE 8

static struct {
	pthread_mutex_t mu;
	bool on;	 /* record calls on paths under live */
	char live[1024]; /* the live data dir */
	char root[1024]; /* the test's temp dir (images go here) */
	struct inode *in;
	int nin, capin;
	struct op *ops;
	int nops, capops;
	int durable_ops; /* ops made before the last directory fsync */
	unsigned rs;	 /* rand_r state, under mu */
	int wrap_odds;	 /* 1 in wrap_odds wrapped calls takes an image */
	bool holes;	 /* appended sectors reach the disk in any order */
	bool min_prefix; /* the next image keeps only durable metadata */
	int nimg;	 /* images made (names) */
	struct image queue[MAX_QUEUE];
	int nqueue;
	struct expect e; /* the current expectations */
	int action;
	/* per partition: record offsets, lengths and content seeds */
	uint64_t *off[NP];
	uint32_t *len[NP];
	uint32_t *seed[NP];
	uint64_t wrapped_images; /* stats */
	uint64_t images, switches;
	int names;	/* name changes made */
	int writebacks; /* out-of-order stream write pairs */
} M = { .mu = PTHREAD_MUTEX_INITIALIZER };

static unsigned rnd(void)
{
	return (unsigned)rand_r(&M.rs);
}

static void die(const char *what)
{
	fprintf(stderr, "powerloss: %s: %s\n", what, strerror(errno));
	abort();
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("strdup");
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die("realloc");
	return q;
}

static bool read_path(const char *path, struct buf *out)
{
	int fd = __real_open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	size_t got = 0;

	out->p = NULL;
	out->n = 0;
	if (fd < 0)
		return false;
	if (fstat(fd, &sb))
		die("fstat");
	out->p = xrealloc(NULL, (size_t)sb.st_size);
	while (got < (size_t)sb.st_size) {
		ssize_t r = pread(fd, out->p + got, (size_t)sb.st_size - got,
				  (off_t)got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out->n = got;
	close(fd);
	return true;
}

static void write_path(const char *path, const unsigned char *p, size_t n)
{
	int fd = __real_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     0644);

	if (fd < 0 || (n && __real_pwrite(fd, p, n, 0) != (ssize_t)n))
		die(path);
	close(fd);
}

/* The absolute form of (dfd, path), or false. */
static bool abs_path(int dfd, const char *path, char *out)
{
	char base[PATH_MAX];

	if (path[0] == '/') {
		snprintf(out, PATH_MAX, "%s", path);
		return true;
	}
	if (dfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return false;
	} else {
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
		n = readlink(link, base, sizeof(base) - 1);
		if (n < 0)
			return false;
		base[n] = 0;
	}
	return snprintf(out, PATH_MAX, "%s/%s", base, path) < PATH_MAX;
}

/* The name of abs relative to the live dir ("" for the dir itself), or
 * NULL if it is not under it.  mu held. */
static const char *live_rel(const char *abs)
{
	size_t n = strlen(M.live);

	if (!M.on || !M.live[0] || strncmp(abs, M.live, n))
		return NULL;
	if (abs[n] == 0)
		return abs + n;
	return abs[n] == '/' ? abs + n + 1 : NULL;
}

static int inode_find(dev_t dev, ino_t ino)
{
	for (int i = 0; i < M.nin; i++)
		if (M.in[i].alive && M.in[i].dev == dev && M.in[i].ino == ino)
			return i;
	return -1;
}

static int inode_by_rel(const char *rel)
{
	for (int i = 0; i < M.nin; i++)
		if (M.in[i].alive && !strcmp(M.in[i].rel, rel))
			return i;
	return -1;
}

static int inode_new(const struct stat *sb, const char *rel)
{
	struct inode *in;

	if (M.nin == M.capin) {
		M.capin = M.capin ? 2 * M.capin : 256;
		M.in = xrealloc(M.in, (size_t)M.capin * sizeof(*M.in));
	}
	in = &M.in[M.nin];
	memset(in, 0, sizeof(*in));
	in->dev = sb->st_dev;
	in->ino = sb->st_ino;
	in->dir = S_ISDIR(sb->st_mode);
	in->alive = true;
	in->rel = xstrdup(rel);
	in->sync_op = -1;
	return M.nin++;
}

static void op_add(int kind, const char *a, const char *b, int id)
{
	if (M.nops == M.capops) {
		M.capops = M.capops ? 2 * M.capops : 1024;
		M.ops = xrealloc(M.ops, (size_t)M.capops * sizeof(*M.ops));
	}
	M.ops[M.nops++] = (struct op){ kind, a ? xstrdup(a) : NULL,
				       b ? xstrdup(b) : NULL, id, 0 };
}

/* The inode named rel loses its name: keep what it holds now. */
static void inode_drop(int id)
{
	struct inode *in = &M.in[id];
	char path[PATH_MAX];

	if (!in->dir) {
		snprintf(path, sizeof(path), "%s/%s", M.live, in->rel);
		read_path(path, &in->gone);
	}
	in->alive = false;
}

static void model_reset(void)
{
	for (int i = 0; i < M.nin; i++) {
		free(M.in[i].rel);
		free(M.in[i].dur.p);
		free(M.in[i].gone.p);
	}
	for (int i = 0; i < M.nops; i++) {
		free(M.ops[i].a);
		free(M.ops[i].b);
	}
	M.nin = M.nops = M.durable_ops = 0;
}

/* ---- crash images ------------------------------------------------------ */

struct entry {
	char *rel;
	int id;
};

static int entry_cmp(const void *x, const void *y)
{
	return strcmp(((const struct entry *)x)->rel,
		      ((const struct entry *)y)->rel);
}

static bool under(const char *rel, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(rel, dir, n) && (rel[n] == 0 || rel[n] == '/');
}

/* The tree after the first m metadata changes; size[id]: each inode's
 * size then (-1: none in them). */
static struct entry *replay(int m, int *count, int64_t *size)
{
	struct entry *t = NULL;
	int n = 0, cap = 0;

	for (int i = 0; i < M.nin; i++)
		size[i] = -1;
	for (int i = 0; i < m; i++) {
		const struct op *o = &M.ops[i];

		switch (o->kind) {
		case OP_SIZE:
			size[o->id] = (int64_t)o->size;
			break;
		case OP_CREATE:
		case OP_MKDIR:
			for (int j = 0; j < n; j++)
				if (!strcmp(t[j].rel, o->a)) { /* re-created */
					free(t[j].rel);
					t[j--] = t[--n];
				}
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				t = xrealloc(t, (size_t)cap * sizeof(*t));
			}
			t[n++] = (struct entry){ xstrdup(o->a), o->id };
			break;
		case OP_UNLINK:
		case OP_RMDIR:
			for (int j = 0; j < n; j++)
				if (!strcmp(t[j].rel, o->a)) {
					free(t[j].rel);
					t[j--] = t[--n];
				}
			break;
		case OP_RENAME:
			for (int j = 0; j < n; j++) /* the replaced target */
				if (!strcmp(t[j].rel, o->b)) {
					free(t[j].rel);
					t[j--] = t[--n];
				}
			for (int j = 0; j < n; j++)
				if (under(t[j].rel, o->a)) {
					char *r;

					if (asprintf(&r, "%s%s", o->b,
						     t[j].rel + strlen(o->a)) <
					    0)
						die("asprintf");
					free(t[j].rel);
					t[j].rel = r;
				}
			break;
		}
	}
	qsort(t, (size_t)n, sizeof(*t), entry_cmp);
	*count = n;
	return t;
}

/* What the disk holds of inode id after a power loss now, with the
 * first m metadata changes on it, which gave it size (-1: none). */
static void crash_content(int id, int m, int64_t size, struct buf *out)
{
	struct inode *in = &M.in[id];
	struct buf cur;
	const struct buf *d = &in->dur;
	size_t len;

	if (in->alive) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", M.live, in->rel);
		if (!read_path(path, &cur))
			cur.p = NULL, cur.n = 0;
	} else {
		cur.n = in->gone.n;
		cur.p = xrealloc(NULL, cur.n);
		if (cur.n)
			memcpy(cur.p, in->gone.p, cur.n);
	}
	/* synced after the prefix: its size then; else the prefix's */
	len = in->sync_op > m || size < 0 ? d->n : (size_t)size;
	out->n = len;
	out->p = calloc(1, len ? len : 1);
	if (!out->p)
		die("calloc");
	/* below the synced size: old or new, sector by sector */
	for (size_t s = 0; s < len && s < d->n; s += SECTOR) {
		const struct buf *src = rnd() % 2 ? d : &cur;

		for (size_t i = s; i < s + SECTOR && i < len; i++)
			out->p[i] = i < src->n ? src->p[i] : 0;
	}
	if (len > d->n && !M.holes) {
		/* appended since: the new bytes, maybe zeros from a sector
		 * boundary on */
		size_t k = len;

		if (rnd() % 4 == 0) {
			k = (d->n + SECTOR - 1) / SECTOR * SECTOR +
			    SECTOR * (rnd() % ((len - d->n) / SECTOR + 1));
			k = k < len ? k : len;
		}
		for (size_t i = d->n; i < k && i < cur.n; i++)
			out->p[i] = cur.p[i];
	} else if (len > d->n) {
		/* TFS_PL_HOLES: any sector new or zero (the one that holds
		 * the synced end keeps the bytes below it) */
		for (size_t s = d->n, e; s < len; s = e) {
			e = (s / SECTOR + 1) * SECTOR;
			if (rnd() % 2)
				continue;
			for (size_t i = s; i < e && i < len && i < cur.n; i++)
				out->p[i] = cur.p[i];
		}
	}
	free(cur.p);
}

/* Make a crash image of the live dir as two identical copies and queue
 * them with the expectations of now.  mu held. */
static void take_image(const char *where)
{
	struct image *im;
	struct entry *t;
	int64_t *size;
	int n, m;
	char *a, *b;

	if (M.nqueue == MAX_QUEUE)
		return;
	m = M.durable_ops;
	if (M.min_prefix)
		;
	else if (rnd() % 2)
		m += (int)(rnd() % (unsigned)(M.nops - M.durable_ops + 1));
	else
		m = M.nops;
	size = xrealloc(NULL, (size_t)M.nin * sizeof(*size));
	t = replay(m, &n, size);
	if (asprintf(&a, "%s/img%d.a", M.root, M.nimg) < 0 ||
	    asprintf(&b, "%s/img%d.b", M.root, M.nimg) < 0)
		die("asprintf");
	M.nimg++;
	if (__real_mkdir(a, 0755) || __real_mkdir(b, 0755))
		die("mkdir image");
	for (int i = 0; i < n; i++) {
		char pa[PATH_MAX], pb[PATH_MAX];

		if (!t[i].rel[0]) /* the live dir itself */
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, t[i].rel);
		snprintf(pb, sizeof(pb), "%s/%s", b, t[i].rel);
		if (M.in[t[i].id].dir) {
			/* a parent missing from the image: its child goes */
			if (__real_mkdir(pa, 0755) && errno != ENOENT)
				die(pa);
			if (__real_mkdir(pb, 0755) && errno != ENOENT)
				die(pb);
		} else {
			struct buf c;
			char dir[PATH_MAX], *slash;
			struct stat sb;

			snprintf(dir, sizeof(dir), "%s", pa);
			slash = strrchr(dir, '/');
			*slash = 0;
			if (stat(dir, &sb))
				continue;
			crash_content(t[i].id, m, size[t[i].id], &c);
			write_path(pa, c.p, c.n);
			write_path(pb, c.p, c.n);
			free(c.p);
		}
	}
	for (int i = 0; i < n; i++)
		free(t[i].rel);
	free(t);
	free(size);
	im = &M.queue[M.nqueue++];
	im->a = a;
	im->b = b;
	im->e = M.e;
	im->action = M.action;
	im->where = where;
	im->m = m;
	im->nops = M.nops;
	im->durable = M.durable_ops;
	M.images++;
}

/* Inside a wrapped call on a live path: now and then, crash here. mu held. */
static void maybe_image(const char *where)
{
	if (M.wrap_odds && rnd() % (unsigned)M.wrap_odds == 0) {
		take_image(where);
		M.wrapped_images++;
	}
}

/* ---- wrappers ---------------------------------------------------------- */

static int sync_common(int fd, bool data_only)
{
	char link[64], path[PATH_MAX];
	const char *rel;
	ssize_t n;
	int r;

	pthread_mutex_lock(&M.mu);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = 0;
		rel = live_rel(path);
	} else {
		rel = NULL;
	}
	/* the model is the disk: files of this test skip the real flush,
	 * which only costs time here (seconds per run) */
	if (n > 0 && M.root[0] && !strncmp(path, M.root, strlen(M.root)))
		r = 0;
	else
		r = data_only ? __real_fdatasync(fd) : __real_fsync(fd);
	if (rel) {
		struct stat sb;
		int id;

		maybe_image(data_only ? "fdatasync" : "fsync");
		if (!r && !fstat(fd, &sb) &&
		    (id = inode_find(sb.st_dev, sb.st_ino)) >= 0) {
			if (M.in[id].dir) {
				M.durable_ops = M.nops;
			} else {
				free(M.in[id].dur.p);
				read_path(link, &M.in[id].dur);
				M.in[id].sync_op = M.nops;
			}
		}
	}
	pthread_mutex_unlock(&M.mu);
	return r;
}

int __wrap_fsync(int fd)
{
	return sync_common(fd, false);
}

int __wrap_fdatasync(int fd)
{
	return sync_common(fd, true);
}

static int open_common(int dfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	const char *rel;
	struct stat sb;
	bool existed;
	int fd;

	if (!(flags & O_CREAT))
		return __real_openat(dfd, path, flags, mode);
	pthread_mutex_lock(&M.mu);
	rel = abs_path(dfd, path, abs) ? live_rel(abs) : NULL;
	if (!rel) {
		fd = __real_openat(dfd, path, flags, mode);
		pthread_mutex_unlock(&M.mu);
		return fd;
	}
	existed = !lstat(abs, &sb);
	if (!existed)
		maybe_image("create");
	fd = __real_openat(dfd, path, flags, mode);
	if (fd >= 0 && !existed && !fstat(fd, &sb))
		op_add(OP_CREATE, rel, NULL, inode_new(&sb, rel));
	pthread_mutex_unlock(&M.mu);
	return fd;
}

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_common(AT_FDCWD, path, flags, mode);
}

int __wrap_openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_common(dfd, path, flags, mode);
}

int __wrap_mkdir(const char *path, mode_t mode)
{
	char abs[PATH_MAX];
	const char *rel;
	struct stat sb;
	int r;

	pthread_mutex_lock(&M.mu);
	rel = abs_path(AT_FDCWD, path, abs) ? live_rel(abs) : NULL;
	if (rel)
		maybe_image("mkdir");
	r = __real_mkdir(path, mode);
	if (rel && !r && !stat(abs, &sb))
		op_add(OP_MKDIR, rel, NULL, inode_new(&sb, rel));
	pthread_mutex_unlock(&M.mu);
	return r;
}

static int unlink_common(int dfd, const char *path, int flags)
{
	char abs[PATH_MAX];
	const char *rel;
	int r, id = -1;

	pthread_mutex_lock(&M.mu);
	rel = abs_path(dfd, path, abs) ? live_rel(abs) : NULL;
	if (rel) {
		maybe_image(flags & AT_REMOVEDIR ? "rmdir" : "unlink");
		id = inode_by_rel(rel);
		if (id >= 0)
			inode_drop(id); /* keeps the bytes it had */
	}
	r = __real_unlinkat(dfd, path, flags);
	if (rel && id >= 0) {
		if (r)
			M.in[id].alive = true; /* still there */
		else
			op_add(flags & AT_REMOVEDIR ? OP_RMDIR : OP_UNLINK, rel,
			       NULL, id);
	}
	pthread_mutex_unlock(&M.mu);
	return r;
}

int __wrap_unlink(const char *path)
{
	return unlink_common(AT_FDCWD, path, 0);
}

int __wrap_unlinkat(int dfd, const char *path, int flags)
{
	return unlink_common(dfd, path, flags);
}

int __wrap_rmdir(const char *path)
{
	return unlink_common(AT_FDCWD, path, AT_REMOVEDIR);
}

int __wrap_renameat(int da, const char *a, int db, const char *b)
{
	char abs_a[PATH_MAX], abs_b[PATH_MAX];
	const char *ra, *rb;
	int r;

	pthread_mutex_lock(&M.mu);
	ra = abs_path(da, a, abs_a) ? live_rel(abs_a) : NULL;
	rb = abs_path(db, b, abs_b) ? live_rel(abs_b) : NULL;
	if (ra && rb) {
		int target = inode_by_rel(rb);
		char *ca = xstrdup(ra), *cb = xstrdup(rb);

		maybe_image("rename");
		if (target >= 0)
			inode_drop(target);
		r = __real_renameat(da, a, db, b);
		if (r) {
			if (target >= 0)
				M.in[target].alive = true;
		} else {
			for (int i = 0; i < M.nin; i++) {
				char *n;

				if (!M.in[i].alive || !under(M.in[i].rel, ca))
					continue;
				if (asprintf(&n, "%s%s", cb,
					     M.in[i].rel + strlen(ca)) < 0)
					die("asprintf");
				free(M.in[i].rel);
				M.in[i].rel = n;
			}
			op_add(OP_RENAME, ca, cb, -1);
		}
		free(ca);
		free(cb);
	} else {
		r = __real_renameat(da, a, db, b);
	}
	pthread_mutex_unlock(&M.mu);
	return r;
}

int __wrap_rename(const char *a, const char *b)
{
	return __wrap_renameat(AT_FDCWD, a, AT_FDCWD, b);
}

/* The size of fd's file after a write or truncate on a live file. */
static void size_after(int fd)
{
	char link[64], path[PATH_MAX];
	struct stat sb;
	ssize_t n;
	int id;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return;
	path[n] = 0;
	if (live_rel(path) && !fstat(fd, &sb) &&
	    (id = inode_find(sb.st_dev, sb.st_ino)) >= 0) {
		op_add(OP_SIZE, NULL, NULL, id);
		M.ops[M.nops - 1].size = (uint64_t)sb.st_size;
	}
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t r;

	pthread_mutex_lock(&M.mu);
	r = __real_pwrite(fd, buf, n, off);
	if (r > 0)
		size_after(fd);
	pthread_mutex_unlock(&M.mu);
	return r;
}

int __wrap_ftruncate(int fd, off_t len)
{
	int r;

	pthread_mutex_lock(&M.mu);
	r = __real_ftruncate(fd, len);
	if (!r)
		size_after(fd);
	pthread_mutex_unlock(&M.mu);
	return r;
}

/* The store extends an active segment's .idx with fallocate() before it
 * maps a window of it (seg_append); its entries are stored in the mapping,
 * so the model reads them from the file as it reads pwrite()n bytes. */
int __wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
	int r;

	pthread_mutex_lock(&M.mu);
	r = __real_fallocate(fd, mode, off, len);
	if (!r)
		size_after(fd);
	pthread_mutex_unlock(&M.mu);
	return r;
}

/* The live dir is now dir, all of it on the disk: a fresh model. */
static int walk_cb(const char *path, const struct stat *sb, int flag,
		   struct FTW *ftw)
{
	const char *rel = live_rel(path);
	int id;

	if (!rel)
		return 0;
	id = inode_new(sb, rel);
	if (flag == FTW_F) {
		read_path(path, &M.in[id].dur);
		op_add(OP_CREATE, rel, NULL, id);
	} else {
		op_add(OP_MKDIR, rel, NULL, id);
	}
	return 0;
}

static void model_start(const char *dir)
{
	pthread_mutex_lock(&M.mu);
	model_reset();
	snprintf(M.live, sizeof(M.live), "%s", dir);
	M.on = true;
	if (nftw(dir, walk_cb, 16, FTW_PHYS))
		die("nftw");
	M.durable_ops = M.nops;
	pthread_mutex_unlock(&M.mu);
}

/* ---- the workload ------------------------------------------------------ */

static const char *const TOPIC[NP] = { "t", "t", "t", "u" };
static const uint32_t PART[NP] = { 0, 1, 2, 0 };

struct live {
	struct tfs_store *st;
	struct tfs_topic *t, *u, *v;
	struct tfs_part *p[NP];
};

static struct tfs_topic *topic_of(struct live *l, int i)
{
	return i < 3 ? l->t : l->u;
}

/* Record r of partition i: a header naming it, then a pattern. */
static void rec_bytes(int i, size_t r, unsigned char *out)
{
	uint32_t len = M.len[i][r];
	char head[64];
	int n = snprintf(head, sizeof(head), "<%d:%zu:%08x>", i, r,
			 M.seed[i][r]);

	for (uint32_t k = 0; k < len; k++)
		out[k] = (unsigned char)(M.seed[i][r] * 131u + k * 7u +
					 (k >> 8));
	memcpy(out, head, (size_t)n < len ? (size_t)n : len);
}

static void live_open(struct live *l, const char *dir)
{
	struct tfs_store_opts o = th_opts(TFS_MIN_SEGMENT_BYTES);
	int err = tfs_store_open(dir, &o, &l->st);

	if (err) {
		th_log_dump();
		fail_msg("open of the live dir %s: %s", dir, tfs_strerror(err));
	}
	assert_int_equal(tfs_topic_open(l->st, "t", &l->t), 0);
	assert_int_equal(tfs_topic_open(l->st, "u", &l->u), 0);
	assert_int_equal(tfs_topic_open(l->st, "v", &l->v), 0);
	for (int i = 0; i < NP; i++)
		assert_int_equal(
			tfs_part_open(topic_of(l, i), PART[i], &l->p[i]), 0);
}

static void live_close(struct live *l)
{
	for (int i = 0; i < NP; i++)
		tfs_part_put(l->p[i], 1);
	tfs_topic_put(l->t, 1);
	tfs_topic_put(l->u, 1);
	tfs_topic_put(l->v, 1);
	tfs_store_close(l->st);
	memset(l, 0, sizeof(*l));
}

/* The record index whose end (or, start) is off, or -1; -2 if off is the
 * end of nothing (0 records and off 0). */
static long rec_at(int i, size_t nrec, uint64_t off, bool end)
{
	size_t lo = 0, hi = nrec;

	if (end && off == 0)
		return -2;
	while (lo < hi) { /* first record with off[r] >= off (or end >= off) */
		size_t mid = (lo + hi) / 2;
		uint64_t v = M.off[i][mid] + (end ? M.len[i][mid] : 0);

		if (v < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nrec)
		return -1;
	return (end ? M.off[i][lo] + M.len[i][lo] : M.off[i][lo]) == off
		       ? (long)lo
		       : -1;
}

/* The results of a checked image, per partition. */
struct seen {
	uint64_t start[NP], end[NP];
	size_t nrec[NP]; /* records up to end */
	bool committed[NP];
	uint64_t commit[NP];
	int vparts;
	bool hgroup, wtopic;
	int64_t vret;
};

#define FAILIMG(im, ...)                                                       \
	do {                                                                   \
		th_log_dump();                                                 \
		dump_ops(im);                                                  \
		fprintf(stderr,                                                \
			"image %s (action %d, at %s, seed %u): ", (im)->a,     \
			(im)->action, (im)->where, run_seed);                  \
		fail_msg(__VA_ARGS__);                                         \
	} while (0)

static unsigned run_seed;

/* With TFS_PL_DEBUG set: the name changes behind a failed image. */
static void dump_ops(const struct image *im)
{
	static const char *const kind[] = { "create", "mkdir",	"unlink",
					    "rmdir",  "rename", "size" };

	if (!getenv("TFS_PL_DEBUG"))
		return;
	for (int i = 0; i < im->nops && i < M.nops; i++)
		fprintf(stderr, "  op %d%s%s: %s %s%s%s %" PRIu64 "\n", i,
			i < im->durable ? " durable" : "",
			i < im->m ? " replayed" : "", kind[M.ops[i].kind],
			M.ops[i].a ? M.ops[i].a : M.in[M.ops[i].id].rel,
			M.ops[i].b ? " -> " : "", M.ops[i].b ? M.ops[i].b : "",
			M.ops[i].size);
}

/* What topicfs-fsck's checker says recovery will keep, per partition. */
struct predict {
	bool seen[NP];
	uint64_t start[NP], end[NP], records[NP];
	char damage[512]; /* the first damage finding */
};

static void predict_cb(const struct tfs_check_report *r, void *arg)
{
	struct predict *pr = arg;

	if (r->kind == TFS_CHECK_DAMAGE && !pr->damage[0])
		snprintf(pr->damage, sizeof(pr->damage), "%s: %s", r->file,
			 r->msg);
	if (r->kind != TFS_CHECK_PART)
		return;
	for (int i = 0; i < NP; i++)
		if (!strcmp(r->part->topic, TOPIC[i]) &&
		    r->part->num == PART[i]) {
			pr->seen[i] = true;
			pr->start[i] = r->part->start;
			pr->end[i] = r->part->end;
			pr->records[i] = r->part->records;
		}
}

static void check_image(const struct image *im, struct seen *s)
{
	struct live l;
	struct tfs_store_opts o = th_opts(TFS_MIN_SEGMENT_BYTES);
	const struct expect *e = &im->e;
	unsigned char *want = NULL, *got = NULL;
	struct predict pr;
	size_t cap = 0;
	int err;

	/* a power loss is never damage, and the checker foresees recovery */
	memset(&pr, 0, sizeof(pr));
	err = tfs_check(im->a, 0, predict_cb, &pr, NULL);
	if (err)
		FAILIMG(im, "checker: %s (%s)", tfs_strerror(err), pr.damage);
	th_log_clear();
	err = tfs_store_open(im->a, &o, &l.st);
	if (err)
		FAILIMG(im, "open: %s", tfs_strerror(err));
	if (tfs_topic_open(l.st, "t", &l.t) ||
	    tfs_topic_open(l.st, "u", &l.u) || tfs_topic_open(l.st, "v", &l.v))
		FAILIMG(im, "a topic is missing");
	for (int i = 0; i < NP; i++)
		if ((err = tfs_part_open(topic_of(&l, i), PART[i], &l.p[i])))
			FAILIMG(im, "partition %s/%u: %s", TOPIC[i], PART[i],
				tfs_strerror(err));
	for (int i = 0; i < NP; i++) {
		struct tfs_part_info info;
		size_t nmax = e->nrec[i] + (size_t)e->inflight[i];
		long first, last;
		size_t n;

		tfs_part_info(l.p[i], &info);
		if (info.end < e->synced[i])
			FAILIMG(im,
				"%s/%u: end %" PRIu64
				" below the synced %" PRIu64,
				TOPIC[i], PART[i], info.end, e->synced[i]);
		last = rec_at(i, nmax, info.end, true);
		if (last == -1)
			FAILIMG(im,
				"%s/%u: end %" PRIu64 " is not a record end",
				TOPIC[i], PART[i], info.end);
		n = last == -2 ? 0 : (size_t)last + 1;
		first = info.start == info.end
				? (long)n
				: rec_at(i, n, info.start, false);
		if (first < 0)
			FAILIMG(im,
				"%s/%u: start %" PRIu64
				" is not a record start",
				TOPIC[i], PART[i], info.start);
		if (i == 3 && info.start != 0)
			FAILIMG(im,
				"u/0 has no retention, but starts at %" PRIu64,
				info.start);
		if (info.records != n - (size_t)first)
			FAILIMG(im, "%s/%u: %" PRIu64 " records, expected %zu",
				TOPIC[i], PART[i], info.records,
				n - (size_t)first);
		for (size_t r = (size_t)first; r < n; r++) {
			uint32_t len = M.len[i][r];
			ssize_t k;

			if (len > cap) {
				cap = len;
				want = xrealloc(want, cap);
				got = xrealloc(got, cap);
			}
			rec_bytes(i, r, want);
			k = tfs_part_pread(l.p[i], got, len, M.off[i][r]);
			if (k != (ssize_t)len)
				FAILIMG(im,
					"%s/%u: record %zu at %" PRIu64
					": read %zd (%s)",
					TOPIC[i], PART[i], r, M.off[i][r], k,
					k < 0 ? tfs_strerror((int)k) : "short");
			if (memcmp(want, got, len))
				FAILIMG(im,
					"%s/%u: record %zu at %" PRIu64
					" differs",
					TOPIC[i], PART[i], r, M.off[i][r]);
		}
		if (!pr.seen[i] || pr.start[i] != info.start ||
		    pr.end[i] != info.end || pr.records[i] != info.records)
			FAILIMG(im,
				"%s/%u: recovered %" PRIu64 "..%" PRIu64
				" (%" PRIu64
				" records), the checker foresaw %" PRIu64
				"..%" PRIu64 " (%" PRIu64 ")",
				TOPIC[i], PART[i], info.start, info.end,
				info.records, pr.start[i], pr.end[i],
				pr.records[i]);
		s->start[i] = info.start;
		s->end[i] = info.end;
		s->nrec[i] = n;
		err = tfs_group_offset(topic_of(&l, i), "g", PART[i],
				       &s->commit[i], &s->committed[i]);
		if (err)
			FAILIMG(im, "group g: %s", tfs_strerror(err));
		/* a commit that returned is there; one in flight may be */
		if (s->committed[i] ? !((e->committed[i] &&
					 s->commit[i] == e->commit[i]) ||
					(e->commit_busy[i] &&
					 s->commit[i] == e->commit_next[i]))
				    : e->committed[i])
			FAILIMG(im, "%s/%u: group offset %" PRIu64 " (%s)",
				TOPIC[i], PART[i], s->commit[i],
				s->committed[i] ? "committed" : "none");
	}
	/* names: as they were, or with the change in flight made */
	s->vparts = (int)tfs_topic_partitions(l.v);
	if (s->vparts != e->vparts && s->vparts != e->vparts + e->vparts_busy)
		FAILIMG(im, "topic v has %d partitions, not %d (change %+d)",
			s->vparts, e->vparts, e->vparts_busy);
	s->hgroup = tfs_group_exists(l.v, "h");
	if (s->hgroup != e->hgroup && !e->hgroup_busy)
		FAILIMG(im, "group v/h %s", s->hgroup ? "is back" : "is gone");
	{
		struct tfs_topic *w;

		err = tfs_topic_open(l.st, "w", &w);
		if (err && err != -ENOENT)
			FAILIMG(im, "topic w: %s", tfs_strerror(err));
		if (!err)
			tfs_topic_put(w, 1);
		s->wtopic = !err;
		if (s->wtopic != e->wtopic && !e->wtopic_busy)
			FAILIMG(im, "topic w %s",
				s->wtopic ? "is back" : "is gone");
	}
	/* topic v's config: as it was, or with the rewrite in flight made */
	{
		struct tfs_config c;

		tfs_topic_config(l.v, &c);
		s->vret = c.set & TFS_CFG_BIT(TFS_CFG_RETENTION_MS)
				  ? c.v[TFS_CFG_RETENTION_MS]
				  : -1;
		if (s->vret != e->vret &&
		    !(e->vret_busy && s->vret == e->vret_next))
			FAILIMG(im,
				"topic v: retention.ms %" PRId64 ", not %" PRId64
				" (rewrite to %" PRId64 " %s)",
				s->vret, e->vret, e->vret_next,
				e->vret_busy ? "in flight" : "done");
	}
	free(want);
	free(got);
	live_close(&l);
}

static void rm_tree(const char *dir)
{
	th_rm_rf(xstrdup(dir));
}

static void rec_set(int i, size_t r, uint64_t off, uint32_t len)
{
	assert_true(r < MAX_REC);
	M.off[i][r] = off;
	M.len[i][r] = len;
	M.seed[i][r] = (uint32_t)rnd();
}

/* Check the queued images; go on from one of them if asked (and there
 * is one).  The live store is closed and reopened around a switch. */
static void drain(struct live *l, bool want_switch)
{
	struct image q[MAX_QUEUE];
	int n, pick = -1;
	struct seen s[MAX_QUEUE];

	pthread_mutex_lock(&M.mu);
	n = M.nqueue;
	memcpy(q, M.queue, sizeof(q));
	M.nqueue = 0;
	pthread_mutex_unlock(&M.mu);
	for (int k = 0; k < n; k++)
		check_image(&q[k], &s[k]);
	if (want_switch && n)
		pick = (int)(rnd() % (unsigned)n);
	if (pick >= 0) {
		struct image *im = &q[pick];
		struct tfs_part_info info[NP];

		pthread_mutex_lock(&M.mu);
		M.on = false; /* the old live dir is gone for good */
		pthread_mutex_unlock(&M.mu);
		live_close(l);
		rm_tree(M.live);
		/* while recovery runs, the image's own expectations hold */
		pthread_mutex_lock(&M.mu);
		M.e = im->e;
		pthread_mutex_unlock(&M.mu);
		model_start(im->b);
		live_open(l, im->b);
		for (int i = 0; i < NP; i++) {
			tfs_part_info(l->p[i], &info[i]);
			if (info[i].end != s[pick].end[i] ||
			    info[i].start != s[pick].start[i])
				fail_msg("image %s recovered to %" PRIu64
					 "..%" PRIu64 ", its copy to %" PRIu64
					 "..%" PRIu64,
					 im->b, info[i].start, info[i].end,
					 s[pick].start[i], s[pick].end[i]);
		}
		/* images taken during that recovery expect what the image
		 * did: check them before appends reuse the record slots */
		drain(l, false);
		/* what recovery kept was on the disk: all of it is durable */
		pthread_mutex_lock(&M.mu);
		for (int i = 0; i < NP; i++) {
			M.e.nrec[i] = s[pick].nrec[i];
			M.e.inflight[i] = 0;
			M.e.synced[i] = info[i].end;
			M.e.committed[i] = s[pick].committed[i];
			M.e.commit[i] = s[pick].commit[i];
			M.e.commit_busy[i] = false;
		}
		M.e.vparts = s[pick].vparts;
		M.e.hgroup = s[pick].hgroup;
		M.e.wtopic = s[pick].wtopic;
		M.e.vparts_busy = 0;
		M.e.hgroup_busy = M.e.wtopic_busy = false;
		M.e.vret = s[pick].vret;
		M.e.vret_busy = false;
		M.switches++;
		pthread_mutex_unlock(&M.mu);
	}
	for (int k = 0; k < n; k++) {
		rm_tree(q[k].a);
		if (k != pick)
			rm_tree(q[k].b);
		free(q[k].a);
		free(q[k].b);
	}
}

/* Rewrite topic v's .config: set retention.ms, or clear it (the file
 * then holds no keys). */
static void config_action(struct live *l)
{
	int64_t next = rnd() % 3 == 0 ? -1 : 1000 + (int64_t)(rnd() % 1000000);
	char text[64], why[200];
	int n = next < 0 ? snprintf(text, sizeof(text), "retention.ms=\n")
			 : snprintf(text, sizeof(text),
				    "retention.ms=%" PRId64 "\n", next);

	pthread_mutex_lock(&M.mu);
	M.e.vret_busy = true;
	M.e.vret_next = next;
	pthread_mutex_unlock(&M.mu);
	assert_int_equal(
		tfs_topic_config_set(l->v, text, (size_t)n, why, sizeof(why)),
		0);
	pthread_mutex_lock(&M.mu);
	M.e.vret = next;
	M.e.vret_busy = false;
	M.names++;
	pthread_mutex_unlock(&M.mu);
}

/* Create or delete a partition of v (the highest), group v/h, or topic w. */
static void names_action(struct live *l)
{
	unsigned which = rnd() % 3;
	int n = M.e.vparts;

	pthread_mutex_lock(&M.mu);
	if (which == 0)
		M.e.vparts_busy = n < 3 && (n == 0 || rnd() % 2) ? 1 : -1;
	else if (which == 1)
		M.e.hgroup_busy = true;
	else
		M.e.wtopic_busy = true;
	pthread_mutex_unlock(&M.mu);
	if (which == 0 && M.e.vparts_busy > 0) {
		struct tfs_part *p;

		assert_int_equal(tfs_part_create(l->v, (uint32_t)n, &p), 0);
		tfs_part_put(p, 1);
	} else if (which == 0) {
		assert_int_equal(tfs_part_delete(l->v, (uint32_t)n - 1), 0);
	} else if (which == 1 && M.e.hgroup) {
		assert_int_equal(tfs_group_delete(l->v, "h"), 0);
	} else if (which == 1) {
		assert_int_equal(tfs_group_create(l->v, "h"), 0);
	} else if (M.e.wtopic) {
		assert_int_equal(tfs_topic_delete(l->st, "w"), 0);
	} else {
		struct tfs_topic *w;

		assert_int_equal(tfs_topic_create(l->st, "w", &w), 0);
		tfs_topic_put(w, 1);
	}
	pthread_mutex_lock(&M.mu);
	M.names++;
	if (which == 0) {
		M.e.vparts += M.e.vparts_busy;
		M.e.vparts_busy = 0;
	} else if (which == 1) {
		M.e.hgroup = !M.e.hgroup;
		M.e.hgroup_busy = false;
	} else {
		M.e.wtopic = !M.e.wtopic;
		M.e.wtopic_busy = false;
	}
	pthread_mutex_unlock(&M.mu);
}

static void one_action(struct live *l)
{
	unsigned what = rnd() % 100;
	int i = (int)(rnd() % NP);

	if (what < 60) { /* append */
		unsigned char rec[2600];
		uint32_t len = 1 + rnd() % 2500;
		uint64_t off, end = tfs_part_end(l->p[i]);
		ssize_t r;

		/* never call the store with mu held: its threads wait for mu */
		pthread_mutex_lock(&M.mu);
		rec_set(i, M.e.nrec[i], end, len);
		M.e.inflight[i] = 1;
		pthread_mutex_unlock(&M.mu);
		rec_bytes(i, M.e.nrec[i], rec);
		r = tfs_part_append(l->p[i], rec, len, TFS_OFFSET_ANY, &off);
		assert_int_equal(r, (ssize_t)len);
		assert_true(off == M.off[i][M.e.nrec[i]]);
		pthread_mutex_lock(&M.mu);
		M.e.nrec[i]++;
		M.e.inflight[i] = 0;
		pthread_mutex_unlock(&M.mu);
	} else if (what < 64) { /* stream write-backs, the later one first */
		unsigned char a[2600], b[2600];
		uint32_t la = 1 + rnd() % 2500, lb = 1 + rnd() % 2500;
		uint64_t end = tfs_part_end(l->p[i]);
		size_t r = M.e.nrec[i];

		pthread_mutex_lock(&M.mu);
		rec_set(i, r, end, la);
		rec_set(i, r + 1, end + la, lb);
		M.e.inflight[i] = 2;
		pthread_mutex_unlock(&M.mu);
		rec_bytes(i, r, a);
		rec_bytes(i, r + 1, b);
		/* held in memory until the bytes before it come */
		assert_int_equal(tfs_part_write_at(l->p[i], b, lb, end + la),
				 lb);
		assert_int_equal(tfs_part_end(l->p[i]), end);
		assert_int_equal(tfs_part_write_at(l->p[i], a, la, end), la);
		assert_int_equal(tfs_part_end(l->p[i]), end + la + lb);
		pthread_mutex_lock(&M.mu);
		M.e.nrec[i] += 2;
		M.e.inflight[i] = 0;
		M.writebacks++;
		pthread_mutex_unlock(&M.mu);
	} else if (what < 75) { /* fsync() */
		uint64_t end = tfs_part_end(l->p[i]);

		assert_int_equal(tfs_part_sync(l->p[i]), 0);
		pthread_mutex_lock(&M.mu);
		if (end > M.e.synced[i])
			M.e.synced[i] = end;
		pthread_mutex_unlock(&M.mu);
	} else if (what < 85) { /* a group commit at a record boundary */
		size_t n = M.e.nrec[i];
		uint64_t off = n ? M.off[i][rnd() % n] : 0;
		struct tfs_part_info info;

		tfs_part_info(l->p[i], &info);
		if (off < info.start)
			off = info.start;
		pthread_mutex_lock(&M.mu);
		M.e.commit_busy[i] = true;
		M.e.commit_next[i] = off;
		pthread_mutex_unlock(&M.mu);
		assert_int_equal(
			tfs_group_commit(topic_of(l, i), "g", PART[i], off), 0);
		pthread_mutex_lock(&M.mu);
		M.e.committed[i] = true;
		M.e.commit[i] = off;
		M.e.commit_busy[i] = false;
		pthread_mutex_unlock(&M.mu);
	} else if (what < 87) { /* a cleaner pass: retention, compression */
		tfs_store_clean(l->st);
	} else if (what < 90) { /* names: a partition, a group, a topic */
		names_action(l);
	} else if (what < 91) { /* topic v's config rewritten */
		config_action(l);
	} else { /* a crash between calls */
		pthread_mutex_lock(&M.mu);
		take_image("between calls");
		pthread_mutex_unlock(&M.mu);
	}
}

/* The test's dir: in memory (/dev/shm) where there is one.  Hundreds of
 * images create and delete tens of thousands of files, and ext4's inode
 * allocator slows down on that churn (24 s a run instead of 3). */
static char *pl_mkdtemp(void)
{
	char *d = strdup("/dev/shm/tfs-powerloss-XXXXXX");

	if (d && mkdtemp(d))
		return d;
	free(d);
	return th_mkdtemp();
}

/* The test's state: seed, record arrays, the temp dir (returned). */
static char *pl_init(void)
{
	const char *env = getenv("TFS_PL_SEED");
	char *root = pl_mkdtemp();

	run_seed = !env ? 1
		   : !strcmp(env, "random")
			   ? (unsigned)time(NULL) ^ (unsigned)getpid()
			   : (unsigned)strtoul(env, NULL, 10);
	M.rs = run_seed;
	M.holes = getenv("TFS_PL_HOLES") != NULL;
	M.images = M.wrapped_images = M.switches = 0;
	M.names = M.writebacks = M.nimg = M.action = 0;
	M.wrap_odds = 0; /* no images inside calls unless a test asks */
	memset(&M.e, 0, sizeof(M.e));
	M.e.vret = -1; /* pl_make_live sets no config on v */
	snprintf(M.root, sizeof(M.root), "%s", root);
	for (int i = 0; i < NP; i++) {
		M.off[i] = xrealloc(NULL, MAX_REC * sizeof(uint64_t));
		M.len[i] = xrealloc(NULL, MAX_REC * sizeof(uint32_t));
		M.seed[i] = xrealloc(NULL, MAX_REC * sizeof(uint32_t));
	}
	return root;
}

static void pl_fini(char *root)
{
	pthread_mutex_lock(&M.mu);
	M.on = false;
	pthread_mutex_unlock(&M.mu);
	rm_tree(M.live);
	model_reset();
	for (int i = 0; i < NP; i++) {
		free(M.off[i]);
		free(M.len[i]);
		free(M.seed[i]);
	}
	free(M.ops);
	free(M.in);
	M.ops = NULL;
	M.in = NULL;
	M.capops = M.capin = 0;
	M.live[0] = 0;
	th_rm_rf(root);
}

/* The starting point, in root/live: topics t (3 partitions, retention
 * and compression) and u (1 partition, flush.messages) with a group g
 * each, and v (names only).  Returns the live dir (static). */
static const char *pl_make_live(const char *root)
{
	static char live[PATH_MAX];
	struct tfs_store_opts o = th_opts(TFS_MIN_SEGMENT_BYTES);
	static const char tcfg[] = "retention.bytes=40000\ncompression=zstd\n";
	static const char ucfg[] = "flush.messages=3\nflush.ms=20\n";
	struct tfs_store *st;
	struct tfs_topic *t;
	struct tfs_part *pp;
	char err[256];

	snprintf(live, sizeof(live), "%s/live", root);
	assert_int_equal(__real_mkdir(live, 0755), 0);
	assert_int_equal(tfs_store_open(live, &o, &st), 0);
	assert_int_equal(tfs_topic_create(st, "t", &t), 0);
	assert_int_equal(tfs_topic_config_set(t, tcfg, sizeof(tcfg) - 1, err,
					      sizeof(err)),
			 0);
	for (uint32_t p = 0; p < 3; p++) {
		assert_int_equal(tfs_part_create(t, p, &pp), 0);
		tfs_part_put(pp, 1);
	}
	assert_int_equal(tfs_group_create(t, "g"), 0);
	tfs_topic_put(t, 1);
	assert_int_equal(tfs_topic_create(st, "u", &t), 0);
	assert_int_equal(tfs_topic_config_set(t, ucfg, sizeof(ucfg) - 1, err,
					      sizeof(err)),
			 0);
	assert_int_equal(tfs_part_create(t, 0, &pp), 0);
	tfs_part_put(pp, 1);
	assert_int_equal(tfs_group_create(t, "g"), 0);
	tfs_topic_put(t, 1);
	assert_int_equal(tfs_topic_create(st, "v", &t), 0); /* names only */
	tfs_topic_put(t, 1);
	tfs_store_close(st);
	/* a format 2 dir (no recovery points yet: nothing was synced): the
	 * first open under the model upgrades it, images inside included */
	{
		char fmt[PATH_MAX + 16];

		snprintf(fmt, sizeof(fmt), "%s/.topicfs", live);
		assert_int_equal(th_write_text(fmt, "topicfs-format 2\n"), 0);
	}
	return live;
}

/* The workload with crash images; holes: appended sectors in any order. */
static void pl_run(bool holes)
{
	struct live l;
	const char *acts = getenv("TFS_PL_ACTIONS");
	int actions = acts ? atoi(acts) : 2000;
	char *root = pl_init();
	const char *live = pl_make_live(root);

	M.holes = M.holes || holes;
	fprintf(stderr,
		"powerloss: seed %u (TFS_PL_SEED=%u%s repeats it), %d "
		"actions\n",
		run_seed, run_seed, M.holes ? " TFS_PL_HOLES=1" : "", actions);
	model_start(live);
	M.wrap_odds = 40;
	live_open(&l, live);
	for (int a = 0; a < actions; a++) {
		M.action = a;
		one_action(&l);
		drain(&l, rnd() % 4 == 0);
	}
	pthread_mutex_lock(&M.mu);
	M.on = false;
	pthread_mutex_unlock(&M.mu);
	drain(&l, false);
	for (int i = 0; i < NP; i++) {
		struct tfs_part_info info;

		tfs_part_info(l.p[i], &info);
		fprintf(stderr,
			"powerloss: %s/%u: offsets %" PRIu64 "..%" PRIu64
			", %" PRIu64 " records, %" PRIu64 " segments\n",
			TOPIC[i], PART[i], info.start, info.end, info.records,
			info.segments);
	}
	live_close(&l);
	fprintf(stderr,
		"powerloss: %" PRIu64 " crash images checked (%" PRIu64
		" inside a call), went on from %" PRIu64
		" of them; %d name changes, %d stream write pairs\n",
		M.images, M.wrapped_images, M.switches, M.names, M.writebacks);
	assert_true(M.images > 0 && M.switches > 0);
	pl_fini(root);
}

static void test_powerloss(void **state)
{
	pl_run(false);
}

static void test_powerloss_holes(void **state)
{
	pl_run(true);
}

/* Recovery recreates a missing index of t/0's active segment; a record is
 * appended and synced; then a power loss keeps only the metadata that a
 * directory sync covered.  The record must be there: recovery has to make
 * the index's name durable (it did not, and the record was cut). */
static void test_recreated_index(void **state)
{
	struct live l;
	char *root = pl_init();
	const char *live = pl_make_live(root);
	char idx[PATH_MAX];
	unsigned char rec[100];

	snprintf(idx, sizeof(idx), "%s/t/0/%020d.idx", live, 0);
	assert_int_equal(__real_unlink(idx), 0);
	th_log_clear();
	model_start(live);
	live_open(&l, live);
	assert_true(th_logged("index missing; creating it", NULL, NULL));
	pthread_mutex_lock(&M.mu);
	rec_set(0, 0, 0, sizeof(rec));
	M.e.nrec[0] = 1; /* before the append: images inside it see it */
	pthread_mutex_unlock(&M.mu);
	rec_bytes(0, 0, rec);
	assert_int_equal(
		tfs_part_append(l.p[0], rec, sizeof(rec), TFS_OFFSET_ANY, NULL),
		sizeof(rec));
	assert_int_equal(tfs_part_sync(l.p[0]), 0);
	pthread_mutex_lock(&M.mu);
	M.e.synced[0] = sizeof(rec);
	M.min_prefix = true; /* only what a directory sync covered */
	take_image("after fsync");
	M.min_prefix = false;
	pthread_mutex_unlock(&M.mu);
	drain(&l, false);
	live_close(&l);
	pl_fini(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_powerloss),
		cmocka_unit_test(test_powerloss_holes),
		cmocka_unit_test(test_recreated_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
