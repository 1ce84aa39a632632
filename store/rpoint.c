/*
 * store/rpoint.c - a partition's recovery point (DATADIR/TOPIC/P/
 * recovery-point, docs/FORMAT.md): the offset below which every record was
 * on stable storage when the file was written.
 *
 * The file is rewritten in place after syncs of the active segment (at
 * most once a second, partition.c) and at a clean close, and never synced
 * itself: whatever version of it survives a crash names an
 * offset that was durable, or fails its CRC (and counts as absent).  It
 * tells recovery where the records it must check start: a power loss can
 * leave any unsynced record zeroed, not only the last ones, and only a
 * check of every record past the recovery point finds the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "le.h"

static void rp_encode(unsigned char *buf, uint64_t off)
{
	memset(buf, 0, FMT_RP_SIZE);
	memcpy(buf + FMT_RP_MAGIC_OFF, FMT_RP_MAGIC, 8);
	le_put32(buf + FMT_RP_VER, FMT_RP_VERSION);
	le_put64(buf + FMT_RP_OFFSET, off);
	le_put32(buf + FMT_RP_CRC, crc32c(0, buf, FMT_RP_CRC));
}

/* 0 and *off; -ENOENT none (or an empty file); -EBADMSG torn or
 * foreign; -errno. */
int rp_read(int dir_fd, uint64_t *off)
{
	unsigned char buf[FMT_RP_SIZE + 1];
	/* not a FIFO or a link someone put there: never block or wander */
	int fd = openat(dir_fd, FMT_RP_FILE,
			O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf), 0); /* one more: a longer file */
	close(fd);
	if (n < 0)
		return -errno;
	if (n == 0) /* created, never written: a crash or a full disk */
		return -ENOENT;
	if (n != FMT_RP_SIZE || memcmp(buf + FMT_RP_MAGIC_OFF, FMT_RP_MAGIC, 8) ||
	    le_get32(buf + FMT_RP_CRC) != crc32c(0, buf, FMT_RP_CRC) ||
	    le_get32(buf + FMT_RP_VER) != FMT_RP_VERSION)
		return -EBADMSG;
	*off = le_get64(buf + FMT_RP_OFFSET);
	return 0;
}

int rp_write(int dir_fd, uint64_t off)
{
	unsigned char buf[FMT_RP_SIZE];
	int fd = openat(dir_fd, FMT_RP_FILE,
			O_WRONLY | O_CREAT | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC,
			0644);
	int err;

	if (fd < 0)
		return -errno;
	rp_encode(buf, off);
	err = seg_pwrite_all(fd, buf, sizeof(buf), 0);
	/* a longer file is not a recovery point (rp_read): cut it, which
	 * a file of the right size never needs */
	if (!err && lseek(fd, 0, SEEK_END) > (off_t)FMT_RP_SIZE &&
	    ftruncate(fd, FMT_RP_SIZE))
		err = -errno;
	close(fd);
	return err;
}
