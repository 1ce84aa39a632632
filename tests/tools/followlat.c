/*
 * followlat - producer write() to follower wake-up latency (bench).
 *
 *   followlat write PATH N RATE   append N records of 32 bytes (O_APPEND),
 *                                 RATE per second, each stamped with
 *                                 CLOCK_MONOTONIC ns just before write()
 *   followlat read PATH|- N       read N records (PATH, or stdin: e.g. from
 *                                 `tail -f`), and print
 *                                 "n=N p50_us=.. p99_us=.. p999_us=.. max_us=.."
 *
 * A record is "%019llu %011u\n": the stamp, a sequence number, a newline.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REC 32

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a,
			   y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static int do_write(const char *path, unsigned n, unsigned rate)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	unsigned long long t0 = now_ns(), gap = 1000000000ull / rate;
	char rec[REC + 1];

	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned long long due = t0 + gap * i, t;

		while ((t = now_ns()) < due)
			if (due - t > 200000) {
				struct timespec d = { 0, (long)(due - t - 100000) };

				nanosleep(&d, NULL);
			}
		snprintf(rec, sizeof(rec), "%019llu %011u\n", now_ns(), i);
		if (write(fd, rec, REC) != REC) {
			perror("write");
			return 1;
		}
	}
	close(fd);
	return 0;
}

static int do_read(const char *path, unsigned n)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
	unsigned long long *lat = calloc(n, sizeof(*lat));
	char buf[REC * 256];
	size_t have = 0;
	unsigned got = 0;

	if (fd < 0 || !lat) {
		perror(path);
		return 1;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		unsigned long long t = now_ns();

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			fprintf(stderr, "followlat: read: %s after %u records\n",
				r ? strerror(errno) : "EOF", got);
			return 1;
		}
		have += (size_t)r;
		while (have >= REC && got < n) {
			lat[got++] = t - strtoull(buf, NULL, 10);
			memmove(buf, buf + REC, have - REC);
			have -= REC;
		}
	}
	qsort(lat, n, sizeof(*lat), cmp);
	printf("n=%u p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", n,
	       lat[n / 2] / 1e3, lat[(size_t)(n * 0.99)] / 1e3,
	       lat[(size_t)(n * 0.999)] / 1e3, lat[n - 1] / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], (unsigned)atoi(argv[3]),
				(unsigned)atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "read"))
		return do_read(argv[2], (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: followlat write PATH N RATE | read PATH|- N\n");
	return 2;
}
