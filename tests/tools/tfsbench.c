/*
 * tfsbench - the timed loops of contrib/bench.sh.
 *
 *   tfsbench append PATH COUNT SIZE   COUNT write()s of SIZE bytes, O_APPEND
 *                                     (O_CREAT too); times first write..close
 *   tfsbench read PATH [BUFSIZE]      sequential read() to EOF, 1 MiB buffer
 *                                     by default; times open..close
 *
 * Prints key=value pairs on one line (bytes, secs, ops_per_s, MB_per_s).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *buffer(size_t size)
{
	void *p;

	if (posix_memalign(&p, 4096, size ? size : 1)) {
		fprintf(stderr, "tfsbench: out of memory\n");
		exit(1);
	}
	return p;
}

static int do_append(const char *path, long count, size_t size)
{
	char *buf = buffer(size);
	double t0, dt;
	long i;
	int fd;

	for (i = 0; i < (long)size; i++)
		buf[i] = (char)('a' + i % 26);
	if (size)
		buf[size - 1] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "tfsbench: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	t0 = now();
	for (i = 0; i < count; i++) {
		ssize_t n = write(fd, buf, size);

		if (n != (ssize_t)size) {
			fprintf(stderr, "tfsbench: write #%ld returned %zd: %s\n", i, n,
				n < 0 ? strerror(errno) : "short");
			return 1;
		}
	}
	if (close(fd)) {
		fprintf(stderr, "tfsbench: close: %s\n", strerror(errno));
		return 1;
	}
	dt = now() - t0;
	printf("bytes=%.0f secs=%.3f ops_per_s=%.0f MB_per_s=%.1f\n", (double)count * (double)size,
	       dt, (double)count / dt, (double)count * (double)size / dt / 1e6);
	free(buf);
	return 0;
}

static int do_read(const char *path, size_t bs)
{
	char *buf = buffer(bs);
	long long total = 0, calls = 0;
	double t0, dt;
	ssize_t n;
	int fd;

	t0 = now();
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "tfsbench: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, bs)) > 0) {
		total += n;
		calls++;
	}
	if (n < 0) {
		fprintf(stderr, "tfsbench: read at %lld: %s\n", total, strerror(errno));
		return 1;
	}
	close(fd);
	dt = now() - t0;
	printf("bytes=%lld secs=%.3f ops_per_s=%.0f MB_per_s=%.1f\n", total, dt, (double)calls / dt,
	       (double)total / dt / 1e6);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "append"))
		return do_append(argv[2], atol(argv[3]), strtoul(argv[4], NULL, 0));
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "read"))
		return do_read(argv[2], argc == 4 ? strtoul(argv[3], NULL, 0) : 1u << 20);
	fprintf(stderr, "usage: tfsbench append PATH COUNT SIZE | tfsbench read PATH [BUFSIZE]\n");
	return 2;
}
