/*
 * wr - one write() with exact errno reporting (tests).
 *
 *   wr [-a] [-c] [-t] [-o OFFSET] [-s] [-d] [-n LEN [-u]] PATH STRING
 *   wr -f PATH
 *
 * Opens PATH O_WRONLY (-a O_APPEND, -c O_CREAT, -t O_TRUNC), writes STRING
 * with one write() (or one pwrite() at OFFSET with -o), then fsync()s (-s)
 * or fdatasync()s (-d).  With -n, the buffer is LEN bytes of STRING
 * repeated (so a record can be bigger than an argument may be), starting on
 * a page boundary, or one byte past it with -u (the kernel may split an
 * unaligned 1 MiB write() into two FUSE writes).  Prints "ok", "STEP:
 * ENAME" (e.g. "write: ESPIPE") or "write: short N" on stdout; exits 0 on
 * success, 1 on failure, 2 on bad usage.  -f only opens PATH O_RDONLY and
 * fsync()s it (a file or a directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed(const char *step)
{
	const char *name = strerrorname_np(errno);

	printf("%s: %s\n", step, name ? name : "?");
	return 1;
}

/* LEN bytes of str repeated, at a page boundary (+1 if unaligned); static,
 * never freed. */
static char *repeat(const char *str, size_t len, int unaligned)
{
	static char *page;
	size_t slen = strlen(str);

	if (!slen || posix_memalign((void **)&page, 4096, len + 1))
		return NULL;
	for (size_t i = 0; i < len; i++)
		page[unaligned + i] = str[i % slen];
	return page + unaligned;
}

int main(int argc, char **argv)
{
	int opt, fd, flags = O_WRONLY, sync = 0, dsync = 0, only_sync = 0;
	int unaligned = 0;
	long long off = -1, rlen = -1;
	const char *buf;
	size_t len;
	ssize_t n;

	while ((opt = getopt(argc, argv, "acto:sdfn:u")) != -1) {
		switch (opt) {
		case 'n': rlen = atoll(optarg); break;
		case 'u': unaligned = 1; break;
		case 'f': only_sync = 1; break;
		case 'a': flags |= O_APPEND; break;
		case 'c': flags |= O_CREAT; break;
		case 't': flags |= O_TRUNC; break;
		case 'o': off = atoll(optarg); break;
		case 's': sync = 1; break;
		case 'd': dsync = 1; break;
		default:
			fprintf(stderr, "usage: wr [-a] [-c] [-t] [-o OFFSET] [-s] [-d] [-n LEN [-u]] PATH STRING | wr -f PATH\n");
			return 2;
		}
	}
	if (only_sync && argc - optind == 1) {
		fd = open(argv[optind], O_RDONLY);
		if (fd < 0)
			return failed("open");
		if (fsync(fd))
			return failed("fsync");
		close(fd);
		printf("ok\n");
		return 0;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: wr [-a] [-c] [-t] [-o OFFSET] [-s] [-d] [-n LEN [-u]] PATH STRING | wr -f PATH\n");
		return 2;
	}
	buf = argv[optind + 1];
	len = strlen(buf);
	if (rlen >= 0) {
		len = (size_t)rlen;
		buf = repeat(buf, len, unaligned);
		if (!buf) {
			fprintf(stderr, "wr: -n %lld: no memory or empty STRING\n", rlen);
			return 2;
		}
	}
	fd = open(argv[optind], flags, 0644);
	if (fd < 0)
		return failed("open");
	if (off >= 0)
		n = pwrite(fd, buf, len, (off_t)off);
	else
		n = write(fd, buf, len);
	if (n < 0)
		return failed("write");
	if (n != (ssize_t)len) {
		printf("write: short %zd\n", n);
		return 1;
	}
	if (sync && fsync(fd))
		return failed("fsync");
	if (dsync && fdatasync(fd))
		return failed("fdatasync");
	if (close(fd))
		return failed("close");
	printf("ok\n");
	return 0;
}
