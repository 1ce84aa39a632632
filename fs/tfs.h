/*
 * fs/tfs.h - the FUSE translation layer's shared state and helpers.
 *
 * Inode numbers are the store handles themselves, tagged in the low bits
 * (store objects are malloc'ed, so at least 8-byte aligned):
 *
 *   FUSE_ROOT_ID (1)      the mount root, listing topics
 *   (uintptr_t)topic | 1  a topic directory
 *   (uintptr_t)part  | 2  a partition file
 *   (uintptr_t)topic | 3  the topic's .config file
 *   (uintptr_t)vnode | 4  a view directory or file (fs/view.c)
 *
 * Each kernel lookup of a topic or partition holds one store reference,
 * dropped by FORGET, so a handle outlives every inode number the kernel
 * still knows.  An open partition file holds one more reference in fi->fh.
 */
#ifndef TFS_FS_H
#define TFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>

#include "topicfs/store.h"

#define TFS_TAG_TOPIC 1u
#define TFS_TAG_PART 2u
#define TFS_TAG_CONFIG 3u
#define TFS_TAG_VNODE 4u
/* The mayor's files at the root. */
#define TFS_STATS_NAME ".stats"
#define TFS_METRICS_NAME ".metrics"
#define TFS_PRODUCE_NAME ".produce"

struct tfs_vnode;
/* The name of a topic's config file. */
#define TFS_CONFIG_NAME ".config"
#define TFS_TAG_MASK 7u

/* Mount-wide state, set up in main() before the session starts and
 * read-only afterwards. */
struct tfs_fs {
	struct tfs_store *st; /* the store; owned, closed by main() */
	char *datadir;        /* absolute path of the data directory */
	char *mountpoint;     /* absolute path of the mount point */
	int splice;           /* answer reads with fd buffers libfuse can
				 splice; 0: copy through a per-thread buffer */
	unsigned read_pages;  /* pages one READ request may carry (fs/io.c);
				 also st_blksize */
	int foreground;       /* log to stderr (else syslog) */
	int stream;           /* -o stream: the kernel's writeback cache holds
				 appends; partition files are cached */
	unsigned writeback_ms; /* stream mode: push cached appends to the
				  store at least this often */
	uid_t uid;            /* owner shown for every file */
	gid_t gid;
	int64_t start_ms;     /* mount time: the directories' times */
};

extern struct tfs_fs tfs;

/* Pages of a READ request when reads splice and the kernel allows it
 * (fs/io.c): 4 MiB. */
#define TFS_READ_PAGES 1024u
/* Decide tfs.splice and tfs.read_pages (splice: 0 for -o nosplice),
 * raising fs.pipe-max-size and fs.fuse.max_pages_limit as root
 * (logged). */
void tfs_io_setup(int splice);
/* After fuse_session_mount: send replies through fs/io.c, which edits
 * INIT's reply (READ size, HANDLE_KILLPRIV_V2); 0 or -1. */
int tfs_io_attach(struct fuse_session *se);
/* Called by the init handler with the kernel's protocol minor version:
 * the thread's next reply is INIT's. */
void tfs_io_init_reply(unsigned proto_minor);
/* Whether fd is a file of our own mount (once INIT is answered; before,
 * true): a path under the mount point may lead elsewhere after a lazy
 * unmount. */
bool tfs_io_is_mount(int fd);
/* The kernel took HANDLE_KILLPRIV_V2 (known once INIT is answered): it no
 * longer asks for security.capability before each buffered write(). */
bool tfs_io_nosec(void);
extern const struct fuse_lowlevel_ops tfs_ops;
/* The multi-threaded request loop (fs/loop.c) until the session exits;
 * 0 or -errno. */
int tfs_loop_run(struct fuse_session *se);
/* In a request handler, before work that may wait (a sync, the disk): let
 * another thread read the next requests meanwhile.  A no-op outside
 * tfs_loop_run's reader. */
void tfs_loop_may_block(void);
/* At the end: free the state of partition files whose RELEASE never came
 * (an unmount with files open); after the session loop, before the store
 * closes. */
void tfs_files_free_all(void);

static inline fuse_ino_t tfs_ino_topic(struct tfs_topic *t)
{
	return (fuse_ino_t)(uintptr_t)t | TFS_TAG_TOPIC;
}

static inline fuse_ino_t tfs_ino_part(struct tfs_part *p)
{
	return (fuse_ino_t)(uintptr_t)p | TFS_TAG_PART;
}

static inline fuse_ino_t tfs_ino_config(struct tfs_topic *t)
{
	return (fuse_ino_t)(uintptr_t)t | TFS_TAG_CONFIG;
}

/* The topic whose .config file ino is, or NULL. */
static inline struct tfs_topic *tfs_ino_to_config(fuse_ino_t ino)
{
	if ((ino & TFS_TAG_MASK) != TFS_TAG_CONFIG)
		return NULL;
	return (struct tfs_topic *)(uintptr_t)(ino & ~(fuse_ino_t)TFS_TAG_MASK);
}

static inline fuse_ino_t tfs_ino_vnode(struct tfs_vnode *vn)
{
	return (fuse_ino_t)(uintptr_t)vn | TFS_TAG_VNODE;
}

static inline struct tfs_vnode *tfs_ino_to_vnode(fuse_ino_t ino)
{
	if ((ino & TFS_TAG_MASK) != TFS_TAG_VNODE)
		return NULL;
	return (struct tfs_vnode *)(uintptr_t)(ino & ~(fuse_ino_t)TFS_TAG_MASK);
}

static inline struct tfs_topic *tfs_ino_to_topic(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID || (ino & TFS_TAG_MASK) != TFS_TAG_TOPIC)
		return NULL;
	return (struct tfs_topic *)(uintptr_t)(ino & ~(fuse_ino_t)TFS_TAG_MASK);
}

static inline struct tfs_part *tfs_ino_to_part(fuse_ino_t ino)
{
	if ((ino & TFS_TAG_MASK) != TFS_TAG_PART)
		return NULL;
	return (struct tfs_part *)(uintptr_t)(ino & ~(fuse_ino_t)TFS_TAG_MASK);
}

/* Logging: stderr in the foreground, syslog otherwise.  Also the store's
 * log callback. */
void tfs_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tfs_log_msg(int prio, const char *msg);
void tfs_log_to_syslog(void);

/* Attributes of an inode; 0 or a positive errno. */
int tfs_fill_attr(fuse_ino_t ino, struct stat *s);

/* File operations (fs/file.c) used by the table in fs/ops.c. */
void tfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi);
void tfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	       off_t off, struct fuse_file_info *fi);
void tfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi);
void tfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct fuse_pollhandle *ph);
void tfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi);
int tfs_open_part(struct tfs_part *p, struct fuse_file_info *fi);
/* Undo tfs_open_part (for a reply that failed). */
void tfs_release_part(struct fuse_file_info *fi);

/* A topic's .config file (fs/config.c). */
/* Its text (effective values, defaults marked) into buf; the length. */
size_t tfs_config_text(struct tfs_topic *t, char *buf, size_t size);
void tfs_config_open(fuse_req_t req, struct tfs_topic *t,
		     struct fuse_file_info *fi);
void tfs_config_read(fuse_req_t req, struct tfs_topic *t, size_t size,
		     off_t off);
void tfs_config_write(fuse_req_t req, struct tfs_topic *t, const char *buf,
		      size_t size);
/* Every key back to its default (rm .config); 0 or -errno. */
int tfs_config_reset(struct tfs_topic *t);

/* Called with the byte count of a read reply just before it is sent:
 * once the reply is out, the reader may close its file (RELEASE frees
 * what arg points to) and FLUSH may look at what it read. */
struct tfs_read_hook {
	void (*fn)(void *arg, size_t n);
	void *arg;
};

/* READ requests on partitions and views (for .metrics). */
struct tfs_read_stats {
	_Atomic uint64_t requests; /* answered */
	_Atomic uint64_t bytes;	   /* returned */
	_Atomic uint64_t size_max; /* largest the kernel asked for */
};
extern struct tfs_read_stats tfs_reads;
/* Reply to a READ of p at partition offset off (splice or copy), calling
 * hook (may be NULL) first; the bytes replied, or -errno (replied as an
 * error).  Counted in tfs_reads. */
ssize_t tfs_reply_read(fuse_req_t req, struct tfs_part *p, size_t size,
		       uint64_t off, const struct tfs_read_hook *hook);

/* Views (fs/view.c). */
/* The child name of parent (root, topic or view dir) as a new vnode with
 * one reference; -ENOENT (a bad WHEN or N is logged); -ENOMEM. */
int tfs_view_lookup(fuse_ino_t parent, const char *name,
		    struct tfs_vnode **out);
void tfs_vnode_put(struct tfs_vnode *vn, uint64_t n);
/* Free every vnode and open view file left at shutdown (before the store
 * closes). */
void tfs_view_free_all(void);
/* Attributes of a view (mode, size); 0 or a positive errno. */
int tfs_view_attr(struct tfs_vnode *vn, struct stat *s);
bool tfs_view_is_dir(const struct tfs_vnode *vn);
/* What a view directory lists: parts partitions, and .follow if *follow;
 * -ENOTDIR for a file. */
int tfs_view_dir(struct tfs_vnode *vn, uint32_t *parts, int *follow);
/* The partition offset a view file starts at if opened now, or -ENOENT. */
int tfs_view_base(struct tfs_vnode *vn, uint64_t *base);
void tfs_view_open(fuse_req_t req, struct tfs_vnode *vn,
		   struct fuse_file_info *fi);
void tfs_view_read(fuse_req_t req, struct tfs_vnode *vn, size_t size,
		   off_t off, struct fuse_file_info *fi);
void tfs_view_release(struct fuse_file_info *fi);
void tfs_view_poll(fuse_req_t req, struct tfs_vnode *vn,
		   struct fuse_file_info *fi, struct fuse_pollhandle *ph);
/* After an append to p: answer the parked reads and polls it satisfies. */
void tfs_view_wake(struct tfs_part *p);
void tfs_view_write(fuse_req_t req, struct tfs_vnode *vn, const char *buf,
		    size_t size, struct fuse_file_info *fi);
/* Whether vn is a topic's .produce (write-only; > truncates nothing). */
bool tfs_view_is_produce(const struct tfs_vnode *vn);
/* The topic whose .groups directory vn is, or NULL. */
struct tfs_topic *tfs_view_groups_of(const struct tfs_vnode *vn);
/* A group file's close (closer: the task whose FLUSH it is) or fsync
 * (closer 0): commit what it read contiguously from its start, unless
 * closer is dying of SIGKILL or a core-dumping signal; 0 or -errno
 * (logged). */
int tfs_view_commit(struct fuse_file_info *fi, pid_t closer);
/* The data of an open view file, in file offsets: [*start, *end), for
 * SEEK_DATA and SEEK_HOLE (.produce has none). */
void tfs_view_data(struct tfs_vnode *vn, struct fuse_file_info *fi,
		   uint64_t *start, uint64_t *end);
/* fsync() of a view file: a group file commits, .produce syncs its
 * topic's partitions; 0 or -errno. */
int tfs_view_fsync(struct fuse_file_info *fi);

/* Get (or, with set, commit) the committed offset of a group file's
 * partition; -ENODATA not a group file; as tfs_group_offset/_commit. */
int tfs_view_group_offset(struct tfs_vnode *vn, uint64_t *off, bool set);
/* View files open now. */
int tfs_view_open_count(void);
/* p is going away (NULL: the daemon is): parked reads get EOF. */
void tfs_view_end(struct tfs_part *p);
/* Parse a .since WHEN; 0 and *ms, or -EINVAL (exported for tests). */
int tfs_view_parse_when(const char *s, int64_t now_ms, int64_t *ms);

/* Stream mode (fs/stream.c). */
int tfs_stream_start(struct fuse_session *se);
void tfs_stream_stop(void);
/* Stop the flusher thread and wait for it, while the request loop still
 * runs: it may be inside a request to the mount (tfs_stream_stop then
 * only frees); with flush, then push what open writers have cached to
 * the store once more.  Whether it runs. */
void tfs_stream_halt(bool flush);
bool tfs_stream_running(void);
/* A partition opened (closed) for writing: its cached appends are pushed
 * to the store every writeback_ms while it is open.  0 or -ENOMEM. */
int tfs_stream_writer_add(struct tfs_part *p);
void tfs_stream_writer_del(struct tfs_part *p);
/* Writable opens of p now (its cached appends may not be in the store
 * yet, so the kernel's size may be ahead of the end). */
unsigned tfs_stream_writers(struct tfs_part *p);
/* Drop [off, off+len) of p from the kernel's cache soon (its writeback was
 * refused); called from request handlers, which must not notify. */
void tfs_stream_inval(struct tfs_part *p, uint64_t off, uint64_t len);

/* Extended attributes (fs/xattr.c). */
void tfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void tfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void tfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void tfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif /* TFS_FS_H */
