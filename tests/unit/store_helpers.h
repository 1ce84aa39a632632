/*
 * tests/unit/store_helpers.h - shared helpers of the store's unit tests:
 * temp data dirs, a log callback that captures messages, and file surgery
 * for corrupting segments on disk.  Header-only: each test is one binary.
 */
#ifndef TOPICFS_TEST_STORE_HELPERS_H
#define TOPICFS_TEST_STORE_HELPERS_H

#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "topicfs/store.h"

#define TH_LOG_MAX 512 /* captured messages kept */

static char th_log_lines[TH_LOG_MAX][1024]; /* captured; th_log_mutex */
static int th_log_count;		    /* used lines; th_log_mutex */
static pthread_mutex_t th_log_mutex = PTHREAD_MUTEX_INITIALIZER;

static inline void th_log(int prio, const char *msg)
{
	pthread_mutex_lock(&th_log_mutex);
	if (th_log_count < TH_LOG_MAX)
		snprintf(th_log_lines[th_log_count++], sizeof(th_log_lines[0]),
			 "%s", msg);
	pthread_mutex_unlock(&th_log_mutex);
	if (getenv("TFS_TEST_VERBOSE"))
		fprintf(stderr, "log[%d]: %s\n", prio, msg);
}

static inline void th_log_clear(void)
{
	pthread_mutex_lock(&th_log_mutex);
	th_log_count = 0;
	pthread_mutex_unlock(&th_log_mutex);
}

/* 1 if a captured message contains every one of the (up to 3) strings. */
static inline int th_logged(const char *a, const char *b, const char *c)
{
	int hit = 0;

	pthread_mutex_lock(&th_log_mutex);
	for (int i = 0; i < th_log_count && !hit; i++) {
		const char *m = th_log_lines[i];

		hit = strstr(m, a) && (!b || strstr(m, b)) &&
		      (!c || strstr(m, c));
	}
	pthread_mutex_unlock(&th_log_mutex);
	return hit;
}

static inline void th_log_dump(void)
{
	for (int i = 0; i < th_log_count; i++)
		fprintf(stderr, "  logged: %s\n", th_log_lines[i]);
}

static inline char *th_mkdtemp(void)
{
	char *d = strdup("/tmp/tfs-unit-XXXXXX");

	if (!d || !mkdtemp(d))
		abort();
	return d;
}

static inline int th_rm_cb(const char *path, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	return remove(path);
}

static inline void th_rm_rf(char *dir)
{
	nftw(dir, th_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static inline struct tfs_store_opts th_opts(uint64_t segment_bytes)
{
	struct tfs_store_opts o;

	tfs_store_opts_init(&o);
	o.log = th_log;
	if (segment_bytes)
		o.cfg.v[TFS_CFG_SEGMENT_BYTES] = (int64_t)segment_bytes;
	return o;
}

/* "DIR/TOPIC/P/<base 20 digits><ext>" in a static buffer per call slot. */
static inline const char *th_seg(const char *dir, const char *topic, unsigned p,
				 unsigned long long base, const char *ext)
{
	static char buf[4][4096];
	static int slot;
	char *b = buf[slot++ & 3];

	snprintf(b, sizeof(buf[0]), "%s/%s/%u/%020llu%s", dir, topic, p, base,
		 ext);
	return b;
}

/* This process's open fds on segment files ending in ext (".log",
 * ".zst"), or -1. */
static inline int th_seg_fds(const char *ext)
{
	char cmd[160];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd),
		 "ls -l /proc/%d/fd/ 2>/dev/null | grep -c '/[0-9]\\{20\\}\\%s$'",
		 (int)getpid(), ext);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

/* The SYNCED flag of the index header of segment base of TOPIC "t",
 * partition 0, in data dir dir: 1, 0, or -1 (unreadable). */
static inline int th_synced(const char *dir, unsigned long long base)
{
	unsigned char hdr[32];
	int fd = open(th_seg(dir, "t", 0, base, ".idx"), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, hdr, sizeof(hdr), 0);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)sizeof(hdr) ? hdr[24] & 1 : -1;
}

/* store/rpoint.c (internal.h declares them too). */
int rp_read(int dir_fd, uint64_t *off);
int rp_write(int dir_fd, uint64_t off);

/* Write off as the recovery point of TOPIC "t", partition 0, in data dir
 * dir; or read it into *off (-1 when there is none or it is torn). */
static inline int th_rp_io(const char *dir, bool set, uint64_t *off)
{
	char path[4096];
	int fd, err;

	snprintf(path, sizeof(path), "%s/t/0", dir);
	fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	err = set ? rp_write(fd, *off) : rp_read(fd, off);
	close(fd);
	return err ? -1 : 0;
}

static inline long long th_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : (long long)sb.st_size;
}

/* The size of an index file without the zero entries after its last one
 * (the space an active segment's window holds ahead), or -1. */
static inline long long th_idx_used(const char *path)
{
	static const unsigned char zeros[32];
	unsigned char e[32];
	long long size = th_size(path);
	int fd = open(path, O_RDONLY);

	if (fd < 0 || size < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (size >= 64 && (size - 32) % 32 == 0 &&
	       pread(fd, e, 32, size - 32) == 32 && !memcmp(e, zeros, 32))
		size -= 32;
	close(fd);
	return size;
}

/* Whether the file system of dir has the 1 GiB free the store wants before
 * it holds index space ahead of appends (SEG_PREALLOC_FREE). */
static inline bool th_room_ahead(const char *dir)
{
	struct statvfs sv;

	return !statvfs(dir, &sv) &&
	       (unsigned long long)sv.f_bavail * sv.f_frsize >= (1ull << 30);
}

static inline int th_truncate(const char *path, long long size)
{
	return truncate(path, size);
}

/* Write len bytes at pos (pos < 0: append). */
static inline int th_write(const char *path, long long pos, const void *buf,
			   size_t len)
{
	int fd = open(path, O_WRONLY | (pos < 0 ? O_APPEND : 0));
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pos < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, pos);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static inline int th_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

#endif /* TOPICFS_TEST_STORE_HELPERS_H */
