/*
 * fs/ops.c - the namespace: the root lists topics, a topic lists its
 * partitions.  Each operation resolves its inode, calls the store and
 * replies; every refusal has one errno, documented in README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "tfs.h"

/* Entries never change behind the kernel's back (every create and delete
 * comes through this mount), so names may be cached; sizes may not, so a
 * stat() always asks for the current end offset.  In stream mode the
 * kernel owns the size, and a zero timeout would cost a GETATTR round trip
 * on every O_APPEND write(). */
#define TFS_ENTRY_TIMEOUT 3600.0
#define TFS_ATTR_TIMEOUT(ino)                                                  \
	(tfs.stream && tfs_ino_to_part(ino) ? 3600.0 : 0.0) /* views: 0 */
/* Reported block size: cat, cp and friends read this much at a time, one
 * READ request's worth (1 or 4 MiB, fs/io.c). */
#define TFS_BLKSIZE ((blksize_t)tfs.read_pages * 4096)

static void fill_time(struct stat *s, int64_t ms)
{
	s->st_mtim.tv_sec = ms / 1000;
	s->st_mtim.tv_nsec = (ms % 1000) * 1000000;
	s->st_atim = s->st_mtim;
	s->st_ctim = s->st_mtim;
}

int tfs_fill_attr(fuse_ino_t ino, struct stat *s)
{
	struct tfs_part_info info;
	struct tfs_part *p;

	memset(s, 0, sizeof(*s));
	s->st_ino = ino;
	s->st_uid = tfs.uid;
	s->st_gid = tfs.gid;
	s->st_blksize = TFS_BLKSIZE;
	if (ino == FUSE_ROOT_ID || tfs_ino_to_topic(ino)) {
		s->st_mode = S_IFDIR | 0755;
		s->st_nlink = 2;
		fill_time(s, tfs.start_ms);
		return 0;
	}
	if (tfs_ino_to_vnode(ino)) {
		fill_time(s, tfs.start_ms);
		return tfs_view_attr(tfs_ino_to_vnode(ino), s);
	}
	if (tfs_ino_to_config(ino)) {
		char text[2048];

		s->st_mode = S_IFREG | 0644;
		s->st_nlink = 1;
		s->st_size = (off_t)tfs_config_text(tfs_ino_to_config(ino),
						    text, sizeof(text));
		fill_time(s, tfs.start_ms);
		return 0;
	}
	p = tfs_ino_to_part(ino);
	if (!p)
		return ENOENT;
	tfs_part_info(p, &info);
	s->st_mode = S_IFREG | 0644;
	s->st_nlink = 1;
	/* stream mode: write-backs held past the end are acknowledged; a
	 * kernel that dropped the inode (its pages were clean) asks again */
	s->st_size = (off_t)(tfs.stream ? tfs_part_held_end(p) : info.end);
	s->st_blocks = (blkcnt_t)((info.disk_bytes + 511) / 512);
	fill_time(s, info.mtime_ms);
	return 0;
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup);

/* Reply with an entry for ino; the caller's store reference becomes the
 * kernel's lookup reference, or is dropped on failure. */
static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.attr_timeout = TFS_ATTR_TIMEOUT(e.ino);
	e.entry_timeout = TFS_ENTRY_TIMEOUT;
	tfs_fill_attr(ino, &e.attr);
	if (fuse_reply_entry(req, &e) != 0) {
		/* the kernel never saw it: drop the reference it would own */
		forget_one(ino, 1);
	}
}

static void tfs_init(void *userdata, struct fuse_conn_info *conn)
{
	unsigned splice = FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;

	/* libfuse sends INIT's reply next (fs/io.c) */
	tfs_io_init_reply(conn->proto_minor);

	/* Partition files are DIRECT_IO (docs/DESIGN.md): one WRITE per
	 * write(), no page cache to keep coherent.  Never let libfuse drop
	 * caches on mtime changes, never take the writeback cache (the
	 * daemon owns the end offset), and let O_TRUNC reach open(). */
	conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_WRITEBACK_CACHE |
			FUSE_CAP_SPLICE_READ);
	if (tfs.stream) /* the one exception: fs/stream.c */
		conn->want |= conn->capable & FUSE_CAP_WRITEBACK_CACHE;
	conn->want |= conn->capable & (FUSE_CAP_EXPLICIT_INVAL_DATA |
				       FUSE_CAP_ATOMIC_O_TRUNC);
	if (tfs.splice)
		conn->want |= conn->capable & splice;
	else
		conn->want &= ~splice;
}

static void tfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tfs_topic *t = tfs_ino_to_topic(parent);
	struct tfs_topic *nt;
	struct tfs_part *p;
	uint32_t n;
	int err;

	if ((parent == FUSE_ROOT_ID && name[0] == '.') ||
	    tfs_ino_to_vnode(parent) ||
	    (t && (!strcmp(name, ".follow") || !strcmp(name, ".since") ||
		   !strcmp(name, ".last") || !strcmp(name, ".groups") ||
		   !strcmp(name, TFS_PRODUCE_NAME)))) {
		struct tfs_vnode *vn;

		err = tfs_view_lookup(parent, name, &vn);
		if (err)
			goto out_err;
		reply_entry(req, tfs_ino_vnode(vn));
		return;
	}
	if (parent == FUSE_ROOT_ID) {
		err = tfs_topic_open(tfs.st, name, &nt);
		if (err)
			goto out_err;
		reply_entry(req, tfs_ino_topic(nt));
		return;
	}
	if (!t) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (!strcmp(name, TFS_CONFIG_NAME)) {
		tfs_topic_ref(t, 1);
		reply_entry(req, tfs_ino_config(t));
		return;
	}
	err = tfs_part_name_parse(name, &n);
	if (err == 0)
		err = tfs_part_open(t, n, &p);
	if (err)
		goto out_err;
	reply_entry(req, tfs_ino_part(p));
	return;
out_err:
	/* a name that could never exist simply does not exist */
	fuse_reply_err(req, err == -EINVAL ? ENOENT : -err);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	if (tfs_ino_to_topic(ino))
		tfs_topic_put(tfs_ino_to_topic(ino), nlookup);
	else if (tfs_ino_to_config(ino))
		tfs_topic_put(tfs_ino_to_config(ino), nlookup);
	else if (tfs_ino_to_vnode(ino))
		tfs_vnode_put(tfs_ino_to_vnode(ino), nlookup);
	else if (tfs_ino_to_part(ino))
		tfs_part_put(tfs_ino_to_part(ino), nlookup);
}

static void tfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void tfs_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void tfs_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct stat s;
	int err = tfs_fill_attr(ino, &s);

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &s, TFS_ATTR_TIMEOUT(ino));
}

/*
 * Sizes are end offsets: truncating to the current end is a no-op (and an
 * empty partition may be "truncated" to 0); anything else would lose or
 * invent data.  Modes and owners are fixed.  Times are the last append's
 * and setting them is accepted and ignored, so touch works.
 */
static void tfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	struct tfs_part *p = tfs_ino_to_part(ino);

	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		      FUSE_SET_ATTR_GID) ||
	    (tfs_ino_to_vnode(ino) && (to_set & FUSE_SET_ATTR_SIZE) &&
	     (attr->st_size != 0 ||
	      !tfs_view_is_produce(tfs_ino_to_vnode(ino))))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) &&
	    (tfs_ino_to_config(ino) || tfs_ino_to_vnode(ino)))
		to_set &= ~FUSE_SET_ATTR_SIZE; /* > .config, > .produce */
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!p) {
			fuse_reply_err(req, EISDIR);
			return;
		}
		/* stream mode: while a writer is open (the caller too: the
		 * kernel writes nothing back before a truncate) the kernel's
		 * size may be ahead of the end, so no size is known to be
		 * safe */
		if ((uint64_t)attr->st_size != tfs_part_end(p) ||
		    (tfs.stream &&
		     (tfs_stream_writers(p) || tfs_part_held(p)))) {
			fuse_reply_err(req, EPERM);
			return;
		}
	}
	tfs_getattr(req, ino, fi);
}

static void tfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	struct tfs_topic *t;
	int err;

	if (tfs_ino_to_vnode(parent) &&
	    tfs_view_groups_of(tfs_ino_to_vnode(parent))) {
		struct tfs_vnode *vn;

		t = tfs_view_groups_of(tfs_ino_to_vnode(parent));
		err = tfs_group_create(t, name);
		if (!err)
			err = tfs_view_lookup(parent, name, &vn);
		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
		tfs_log(LOG_INFO, "created group %s of topic %s", name,
			tfs_topic_name(t));
		reply_entry(req, tfs_ino_vnode(vn));
		return;
	}
	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, EPERM); /* topics hold only partitions */
		return;
	}
	err = tfs_topic_create(tfs.st, name, &t);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	tfs_log(LOG_INFO, "created topic %s", name);
	reply_entry(req, tfs_ino_topic(t));
}

static void tfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err;

	if (tfs_ino_to_vnode(parent) &&
	    tfs_view_groups_of(tfs_ino_to_vnode(parent))) {
		struct tfs_topic *t = tfs_view_groups_of(tfs_ino_to_vnode(parent));

		err = tfs_group_delete(t, name);
		if (err == 0)
			tfs_log(LOG_INFO, "deleted group %s of topic %s", name,
				tfs_topic_name(t));
		fuse_reply_err(req, -err);
		return;
	}
	if (parent != FUSE_ROOT_ID) {
		/* .follow, .groups ... are the daemon's; partitions are files */
		fuse_reply_err(req, tfs_ino_to_vnode(parent) || name[0] == '.'
					    ? EPERM
					    : ENOTDIR);
		return;
	}
	err = tfs_topic_delete(tfs.st, name);
	if (err == 0)
		tfs_log(LOG_INFO, "deleted topic %s", name);
	fuse_reply_err(req, -err);
}

static void tfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tfs_topic *t = tfs_ino_to_topic(parent);
	struct tfs_part *p;
	uint32_t n;
	int err;

	if (!t) {
		/* at the root: a topic (a directory), or .stats/.metrics */
		fuse_reply_err(req, parent == FUSE_ROOT_ID && name[0] != '.'
					    ? EISDIR
				    : parent == FUSE_ROOT_ID || tfs_ino_to_vnode(parent)
					    ? EPERM
					    : ENOTDIR);
		return;
	}
	if (!strcmp(name, TFS_CONFIG_NAME)) {
		err = tfs_config_reset(t);
		if (err == 0)
			tfs_log(LOG_INFO, "%s/.config: reset to the defaults",
				tfs_topic_name(t));
		fuse_reply_err(req, -err);
		return;
	}
	if (name[0] == '.') { /* .produce and the view directories */
		fuse_reply_err(req, EPERM);
		return;
	}
	err = tfs_part_name_parse(name, &n);
	if (err == 0)
		err = tfs_part_open(t, n, &p);
	if (err == 0) {
		err = tfs_part_delete(t, n);
		if (err == 0) /* followers waiting on it get EOF */
			tfs_view_end(p);
		tfs_part_put(p, 1);
	}
	if (err == -EINVAL)
		err = -ENOENT;
	if (err == 0)
		tfs_log(LOG_INFO, "deleted partition %s/%u", tfs_topic_name(t),
			n);
	fuse_reply_err(req, -err);
}

/* Create partition `name` in topic parent; 0 or -errno, *p referenced. */
static int make_part(fuse_ino_t parent, const char *name, mode_t mode,
		     int excl, struct tfs_part **p)
{
	struct tfs_topic *t = tfs_ino_to_topic(parent);
	uint32_t n;
	int err;

	if (!t || !S_ISREG(mode))
		return -EPERM; /* only partition files, only in topics */
	err = tfs_part_name_parse(name, &n);
	if (err)
		return err;
	err = tfs_part_create(t, n, p);
	if (err == -EEXIST && !excl) /* raced with another creator */
		err = tfs_part_open(t, n, p);
	if (err == 0)
		tfs_log(LOG_INFO, "created partition %s/%u", tfs_topic_name(t),
			n);
	return err;
}

static void tfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	struct tfs_part *p;
	int err = make_part(parent, name, mode, 1, &p);

	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, tfs_ino_part(p));
}

static void tfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct tfs_part *p;
	int err = make_part(parent, name, mode, fi->flags & O_EXCL, &p);

	if (err == 0) {
		err = tfs_open_part(p, fi);
		if (err)
			tfs_part_put(p, 1);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = tfs_ino_part(p);
	e.attr_timeout = TFS_ATTR_TIMEOUT(e.ino);
	e.entry_timeout = TFS_ENTRY_TIMEOUT;
	tfs_fill_attr(e.ino, &e.attr);
	if (fuse_reply_create(req, &e, fi) != 0) {
		tfs_release_part(fi);
		tfs_part_put(p, 1); /* the lookup reference */
	}
}

/* Names and files are the log's identity: no renames, links or symlinks. */
static void tfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	fuse_reply_err(req, EPERM);
}

static void tfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	fuse_reply_err(req, EPERM);
}

static void tfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	fuse_reply_err(req, EPERM);
}

/* A directory listing is a snapshot taken at opendir, so offsets stay
 * stable while topics or partitions come and go. */
struct dir_snap {
	char **names;  /* topic names (root), or NULL */
	size_t count;  /* topics, or partitions */
	int is_root;
	int is_view;   /* a view directory: partitions ascending */
	int vfollow;   /* a view directory that lists .follow */
};

static void tfs_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct tfs_topic *t = tfs_ino_to_topic(ino);
	struct tfs_vnode *vn = tfs_ino_to_vnode(ino);
	struct dir_snap *d;
	uint32_t vparts = 0;
	ssize_t n;

	if (ino != FUSE_ROOT_ID && !t &&
	    !(vn && tfs_view_dir(vn, &vparts, &(int){ 0 }) == 0)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->is_root = ino == FUSE_ROOT_ID;
	if (vn && tfs_view_groups_of(vn)) { /* names, like the root */
		n = tfs_group_list(tfs_view_groups_of(vn), &d->names);
		if (n < 0) {
			free(d);
			fuse_reply_err(req, (int)-n);
			return;
		}
		d->is_root = 1;
		d->count = (size_t)n;
	} else if (vn) {
		d->is_view = 1;
		tfs_view_dir(vn, &vparts, &d->vfollow);
		d->count = vparts;
	} else if (d->is_root) {
		n = tfs_store_list(tfs.st, &d->names);
		if (n < 0) {
			free(d);
			fuse_reply_err(req, (int)-n);
			return;
		}
		d->count = (size_t)n;
	} else {
		d->count = tfs_topic_partitions(t);
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0) {
		tfs_names_free(d->names, d->is_root ? d->count : 0);
		free(d);
	}
}

/*
 * Entry i (the readdir offset) is ".", "..", then topics by name, or
 * ".config" and the partitions from the highest down: rm -r unlinks in
 * this order, and only the highest partition may be removed.
 */
static void tfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	struct dir_snap *d = (struct dir_snap *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	char num[16];
	size_t len = 0;
	struct stat s;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&s, 0, sizeof(s));
	for (size_t i = (size_t)off;
	     i < d->count + 2 + (d->is_view ? d->vfollow : !d->is_root); i++) {
		const char *name;
		size_t ent;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			s.st_mode = S_IFDIR;
		} else if (d->is_view) {
			if (d->vfollow && i == 2) {
				name = ".follow";
				s.st_mode = S_IFDIR;
			} else {
				snprintf(num, sizeof(num), "%zu",
					 i - 2 - (size_t)d->vfollow);
				name = num;
				s.st_mode = S_IFREG;
			}
		} else if (d->is_root) {
			name = d->names[i - 2];
			s.st_mode = S_IFDIR;
		} else if (i == 2) {
			name = TFS_CONFIG_NAME;
			s.st_mode = S_IFREG;
		} else {
			snprintf(num, sizeof(num), "%zu", d->count - (i - 2));
			name = num;
			s.st_mode = S_IFREG;
		}
		s.st_ino = i + 1; /* readdir inode numbers are only hints */
		ent = fuse_add_direntry(req, buf + len, size - len, name, &s,
					(off_t)i + 1);
		if (ent > size - len)
			break;
		len += ent;
	}
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void tfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	struct dir_snap *d = (struct dir_snap *)(uintptr_t)fi->fh;

	if (d->is_root)
		tfs_names_free(d->names, d->count);
	free(d);
	fuse_reply_err(req, 0);
}

static void tfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (statvfs(tfs.datadir, &sv) != 0)
		memset(&sv, 0, sizeof(sv));
	sv.f_namemax = TFS_TOPIC_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops tfs_ops = {
	.init = tfs_init,
	.lookup = tfs_lookup,
	.forget = tfs_forget,
	.forget_multi = tfs_forget_multi,
	.getattr = tfs_getattr,
	.setattr = tfs_setattr,
	.mknod = tfs_mknod,
	.mkdir = tfs_mkdir,
	.unlink = tfs_unlink,
	.rmdir = tfs_rmdir,
	.symlink = tfs_symlink,
	.rename = tfs_rename,
	.link = tfs_link,
	.open = tfs_open,
	.read = tfs_read,
	.write = tfs_write,
	.flush = tfs_flush,
	.release = tfs_release,
	.fsync = tfs_fsync,
	.opendir = tfs_opendir,
	.readdir = tfs_readdir,
	.releasedir = tfs_releasedir,
	.statfs = tfs_statfs,
	.setxattr = tfs_setxattr,
	.getxattr = tfs_getxattr,
	.listxattr = tfs_listxattr,
	.removexattr = tfs_removexattr,
	.create = tfs_create,
	.lseek = tfs_lseek,
	.poll = tfs_poll,
};
