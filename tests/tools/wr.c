/*
 * wr - one write() with exact errno reporting (tests).
 *
 *   wr [-a] [-c] [-t] [-o OFFSET] [-s] [-d] PATH STRING
 *   wr -f PATH
 *
 * Opens PATH O_WRONLY (-a O_APPEND, -c O_CREAT, -t O_TRUNC), writes STRING
 * with one write() (or one pwrite() at OFFSET with -o), then fsync()s (-s)
 * or fdatasync()s (-d).  Prints "ok" or "STEP: ENAME" (e.g. "write: ESPIPE")
 * on stdout; exits 0 on success, 1 on failure, 2 on bad usage.  -f only
 * opens PATH O_RDONLY and fsync()s it (a file or a directory).
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

int main(int argc, char **argv)
{
	int opt, fd, flags = O_WRONLY, sync = 0, dsync = 0, only_sync = 0;
	long long off = -1;
	size_t len;
	ssize_t n;

	while ((opt = getopt(argc, argv, "acto:sdf")) != -1) {
		switch (opt) {
		case 'f': only_sync = 1; break;
		case 'a': flags |= O_APPEND; break;
		case 'c': flags |= O_CREAT; break;
		case 't': flags |= O_TRUNC; break;
		case 'o': off = atoll(optarg); break;
		case 's': sync = 1; break;
		case 'd': dsync = 1; break;
		default:
			fprintf(stderr, "usage: wr [-a] [-c] [-t] [-o OFFSET] [-s] [-d] PATH STRING | wr -f PATH\n");
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
		fprintf(stderr, "usage: wr [-a] [-c] [-t] [-o OFFSET] [-s] [-d] PATH STRING | wr -f PATH\n");
		return 2;
	}
	fd = open(argv[optind], flags, 0644);
	if (fd < 0)
		return failed("open");
	len = strlen(argv[optind + 1]);
	if (off >= 0)
		n = pwrite(fd, argv[optind + 1], len, (off_t)off);
	else
		n = write(fd, argv[optind + 1], len);
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
