/*
 * seek - lseek(2) with SEEK_DATA or SEEK_HOLE, and one read at an offset
 * (tests).
 *
 *   seek PATH data|hole OFFSET     print the offset lseek returns
 *   seek PATH read OFFSET          pread 1 byte: print "ok" or the errno
 *
 * Prints the result, or "lseek: ENAME" / "pread: ENAME"; exits 0 on
 * success, 1 on failure, 2 on bad usage.
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
	char c;
	off_t off, r;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: seek PATH data|hole|read OFFSET\n");
		return 2;
	}
	off = (off_t)strtoll(argv[3], NULL, 10);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return failed("open");
	if (!strcmp(argv[2], "read")) {
		if (pread(fd, &c, 1, off) < 0)
			return failed("pread");
		printf("ok\n");
		return 0;
	}
	r = lseek(fd, off, !strcmp(argv[2], "data") ? SEEK_DATA : SEEK_HOLE);
	if (r < 0)
		return failed("lseek");
	printf("%lld\n", (long long)r);
	return 0;
}
