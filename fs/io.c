/*
 * fs/io.c - how reads reach the kernel: splicing, and how much one READ
 * request carries.
 *
 * A read() of a direct-I/O file becomes one READ request per max_pages
 * pages, sent one after another, each waiting for its reply: the round
 * trip per request, not the copy, is what holds sequential reads below
 * the plain file.  libfuse 3.14 always offers max_pages 256 (1 MiB), the
 * size of its receive buffer for WRITEs; kernels from 6.13 accept up to
 * fs.fuse.max_pages_limit.  When reads splice, topicfs offers
 * TFS_READ_PAGES instead, by rewriting max_pages in libfuse's INIT reply
 * on its way to the kernel (a custom writev, below).  max_write stays at
 * 1 MiB, so every request the kernel sends still fits libfuse's buffer;
 * only READ replies, which come from the segment files, grow.
 *
 * Measured (re-read of 2 GiB, 4 MiB read() calls, this 2-vCPU VM):
 * 4.3-4.9 GB/s with 1 MiB requests, 5.6-6.0 GB/s with 4 MiB; 8 and 16 MiB
 * were no faster.  st_blksize follows, so cat and cp ask for a whole
 * request per read().
 *
 * The same hook asks for FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14 does
 * not know: the daemon clears set-user-ID bits and security.capability
 * on a write itself (topicfs files never have either: modes are fixed,
 * and only user.topicfs.* attributes exist), so the kernel marks the
 * mount SB_NOSEC and stops asking for security.capability before every
 * buffered write() (file_remove_privs).  Stream mode needs that: without
 * it each write() costs a getxattr round trip, unless getxattr answers
 * ENOSYS (what it does when the kernel is too old for the flag).
 * Measured in stream mode: the check was 9-10% of a 100 B append's time
 * even when answered ENOSYS in the kernel.
 *
 * libfuse splices a reply only when its pipe holds the data plus a page
 * of header, rounded up to a power of two (2 MiB for 1 MiB requests,
 * 8 MiB for 4 MiB); fs.pipe-max-size is 1 MiB by default, and without
 * CAP_SYS_RESOURCE libfuse then silently copies through a buffer it
 * allocates per reply.  As root we raise both limits (logged); otherwise
 * reads are copied through our own buffer, 1 MiB per request.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "tfs.h"

#define PIPE_MAX_PATH "/proc/sys/fs/pipe-max-size"
#define PAGES_MAX_PATH "/proc/sys/fs/fuse/max_pages_limit"
#define LIBFUSE_PAGES 256u /* what libfuse 3.14 offers */
#define PAGE 4096u

/* The value of a numeric sysctl file; 0 when it is missing. */
static unsigned long sysctl_get(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (f && fscanf(f, "%lu", &v) != 1)
		v = 0;
	if (f)
		fclose(f);
	return v;
}

/* Raise sysctl path (named name) from cur to want, as root, logged with
 * why; true when it now holds want. */
static bool sysctl_raise(const char *path, const char *name,
			 unsigned long cur, unsigned long want, const char *why)
{
	FILE *f = geteuid() == 0 ? fopen(path, "w") : NULL;

	if (!f)
		return false;
	if (fprintf(f, "%lu\n", want) < 0) {
		fclose(f);
		return false;
	}
	if (fclose(f) != 0)
		return false;
	tfs_log(LOG_NOTICE, "raised %s from %lu to %lu %s (-o nosplice leaves it)",
		name, cur, want, why);
	return true;
}

/* The pipe size libfuse asks for to splice a reply of pages pages. */
static unsigned long pipe_need(unsigned pages)
{
	unsigned long need = PAGE;

	while (need < (unsigned long)(pages + 1) * PAGE)
		need *= 2;
	return need;
}

/* A pipe of at least need bytes is allowed (raising the limit if we
 * may). */
static bool pipe_allow(unsigned long need, const char *why)
{
	unsigned long cur = sysctl_get(PIPE_MAX_PATH);

	return cur >= need ||
	       sysctl_raise(PIPE_MAX_PATH, "fs.pipe-max-size", cur, need, why);
}

/* Whether sysctl path is at least want, or we may raise it (0: the
 * kernel lacks it). */
static bool can_have(const char *path, unsigned long want)
{
	unsigned long cur = sysctl_get(path);

	return cur && (cur >= want || access(path, W_OK) == 0);
}

/* The kernel takes READ requests of TFS_READ_PAGES (raising its limit if
 * we may). */
static bool pages_allow(void)
{
	unsigned long cur = sysctl_get(PAGES_MAX_PATH);

	if (!cur) /* before 6.13: 256, fixed */
		return false;
	return cur >= TFS_READ_PAGES ||
	       sysctl_raise(PAGES_MAX_PATH, "fs.fuse.max_pages_limit", cur,
			    TFS_READ_PAGES,
			    "so a read request carries 4 MiB");
}

#define CPUIDLE_PATH "/sys/devices/system/cpu/cpuidle/current_driver"
#define HALTPOLL_PATH "/sys/module/haltpoll/parameters/guest_halt_poll_ns"

/* On a VM whose idle vCPUs halt at once (the haltpoll cpuidle driver with
 * polling off, as this project's VM boots), every round trip waits for
 * the host to wake a halted vCPU: say so once, since the fix is the
 * machine's to make (docs/benchmarks.md, "Wake-ups"). */
static void haltpoll_hint(void)
{
	char drv[32] = "";
	FILE *f = fopen(CPUIDLE_PATH, "r");

	if (f) {
		if (!fgets(drv, sizeof(drv), f))
			drv[0] = 0;
		fclose(f);
	}
	if (strcmp(drv, "haltpoll\n") || access(HALTPOLL_PATH, R_OK) ||
	    sysctl_get(HALTPOLL_PATH) != 0)
		return;
	tfs_log(LOG_INFO,
		"guest halt polling is off (%s is 0): each record-mode append waits for the host to wake an idle vCPU (README, Limits)",
		HALTPOLL_PATH);
}

void tfs_io_setup(int splice)
{
	haltpoll_hint();
	tfs.splice = 0;
	tfs.read_pages = LIBFUSE_PAGES;
	if (!splice)
		return;
	/* raise neither limit unless both can be had */
	if (can_have(PAGES_MAX_PATH, TFS_READ_PAGES) &&
	    can_have(PIPE_MAX_PATH, pipe_need(TFS_READ_PAGES)) &&
	    pages_allow() &&
	    pipe_allow(pipe_need(TFS_READ_PAGES),
		       "so 4 MiB reads can splice")) {
		tfs.splice = 1;
		tfs.read_pages = TFS_READ_PAGES;
		return;
	}
	if (pipe_allow(pipe_need(LIBFUSE_PAGES), "so reads can splice")) {
		tfs.splice = 1;
		return;
	}
	tfs_log(LOG_NOTICE,
		"fs.pipe-max-size is %lu (< %lu) and cannot be raised: reads are copied, not spliced",
		sysctl_get(PIPE_MAX_PATH), pipe_need(LIBFUSE_PAGES));
}

/* ---- the INIT reply ------------------------------------------------------ */

/* Set by tfs_io_init_reply() in the thread that is about to send INIT's
 * reply (libfuse calls our init, then sends the reply, in one thread). */
static __thread bool init_reply_next;
/* The kernel's protocol minor version (from its INIT request). */
static unsigned kernel_minor;
/* The kernel took FUSE_HANDLE_KILLPRIV_V2 (set once, in INIT's reply). */
static _Atomic bool nosec;

bool tfs_io_nosec(void)
{
	return atomic_load(&nosec);
}

void tfs_io_init_reply(unsigned proto_minor)
{
	kernel_minor = proto_minor;
	init_reply_next = true;
}

/* INIT's reply with max_pages = tfs.read_pages, when the kernel offered
 * FUSE_MAX_PAGES, and FUSE_HANDLE_KILLPRIV_V2 when its protocol has it
 * (7.33); anything else goes out as it is. */
static ssize_t init_writev(int fd, struct iovec *iov, int count)
{
	const struct fuse_out_header *h = iov[0].iov_base;
	struct fuse_init_out out;
	struct iovec v[2];

	if (count != 2 || iov[0].iov_len != sizeof(*h) || h->error ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, max_pages) +
				     sizeof(out.max_pages) ||
	    iov[1].iov_len > sizeof(out))
		return writev(fd, iov, count);
	memcpy(&out, iov[1].iov_base, iov[1].iov_len);
	if ((out.flags & FUSE_MAX_PAGES) && tfs.read_pages > LIBFUSE_PAGES) {
		out.max_pages = (uint16_t)tfs.read_pages;
		tfs_log(LOG_INFO, "reads: up to %u KiB per request",
			tfs.read_pages * PAGE / 1024);
	}
	if (kernel_minor >= 33) {
		out.flags |= FUSE_HANDLE_KILLPRIV_V2;
		atomic_store(&nosec, true);
	}
	v[0] = iov[0];
	v[1] = (struct iovec){ &out, iov[1].iov_len };
	return writev(fd, v, 2);
}

/* ---- readahead of cached opens (stream mode) ---------------------------- */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				    (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = 0;
}

/* The device ("0:NN", the name of its backing device in /sys/class/bdi)
 * of the last mount at tfs.mountpoint, from /proc/self/mountinfo (a
 * stat() of the mount point would be a request to ourselves). */
static bool mount_dev(char *dev, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char *line = NULL, *save, *mnt, *d;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save) ||
		    !(d = strtok_r(NULL, " ", &save)) ||
		    !strtok_r(NULL, " ", &save) ||
		    !(mnt = strtok_r(NULL, " ", &save)))
			continue;
		unescape(mnt);
		if (strcmp(mnt, tfs.mountpoint) == 0 && strlen(d) < n) {
			strcpy(dev, d);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* In stream mode readers are cached, and the kernel fills their cache by
 * readahead: 128 KiB READ requests by default, and INIT cannot offer
 * more (the kernel takes the smaller of its default and the reply).  As
 * root, raise the mount's own read_ahead_kb to one request (4 MiB): the
 * first read of 2 GiB after a mount went from 0.7-1.1 GB/s to 1.2-2.0
 * GB/s.  Called once INIT's reply has been taken. */
static void stream_readahead(const char *dev)
{
	unsigned want = tfs.read_pages * (PAGE / 1024);
	char path[128];
	unsigned long cur;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	cur = sysctl_get(path);
	if (cur >= want)
		return;
	f = geteuid() == 0 ? fopen(path, "w") : NULL;
	if (f) {
		bool ok = fprintf(f, "%u\n", want) > 0;

		if (fclose(f) == 0 && ok) {
			tfs_log(LOG_INFO,
				"stream mode: readahead %u KiB (was %lu)",
				want, cur);
			return;
		}
	}
	tfs_log(LOG_INFO, "stream mode: readahead stays %lu KiB (%s not writable)",
		cur, path);
}

/* Our mount's device number (st_dev of its files), once INIT is
 * answered; 0 unknown. */
static _Atomic unsigned long long mount_devno;

bool tfs_io_is_mount(int fd)
{
	unsigned long long want = atomic_load(&mount_devno);
	struct stat sb;

	return !want || (fstat(fd, &sb) == 0 && (unsigned long long)sb.st_dev ==
							 want);
}

/* Once INIT's reply is taken: note the mount's device, and in stream
 * mode raise its readahead. */
static void mount_ready(void)
{
	unsigned maj, min;
	char dev[64];

	if (!mount_dev(dev, sizeof(dev)))
		return;
	if (sscanf(dev, "%u:%u", &maj, &min) == 2)
		atomic_store(&mount_devno,
			     (unsigned long long)makedev(maj, min));
	if (tfs.stream)
		stream_readahead(dev);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *data)
{
	if (init_reply_next) {
		ssize_t n;

		init_reply_next = false;
		n = init_writev(fd, iov, count);
		if (n >= 0)
			mount_ready();
		return n;
	}
	return writev(fd, iov, count);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *data)
{
	return read(fd, buf, len);
}

static ssize_t io_splice(int in, off_t *in_off, int out, off_t *out_off,
			 size_t len, unsigned int flags, void *data)
{
	return splice(in, in_off, out, out_off, len, flags);
}

int tfs_io_attach(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.writev = io_writev,
		.read = io_read,
		.splice_send = io_splice, /* without it libfuse never splices */
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
