/*
 * tests/tools/zsegbench.c - compression ratio and read speed of the .zst
 * segment layout (store/zseg.c) on generated JSON lines: compress a
 * memfd at each level given, then read it back sequentially in 128 KiB and
 * 1 MiB reads and at random in 4 KiB reads, single-threaded, timing each.
 * Links the store library (see the Makefile rule).
 *
 *   zsegbench [MiB [frame KiB [level...]]]     defaults: 64 256 1 3
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zseg.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* JSON lines of a click stream, n bytes (the last line cut). */
static void gen_json(unsigned char *buf, size_t n)
{
	static const char *ev[] = { "click", "view",   "purchase",
				    "login", "logout", "search" };
	static const char *path[] = { "/", "/cart", "/item/",
				      "/search?q=", "/account" };
	uint64_t x = 88172645463325252ull;
	char line[512];
	size_t done = 0;

	for (uint64_t i = 0; done < n; i++) {
		int len;
		size_t k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = snprintf(
			line, sizeof(line),
			"{\"seq\":%llu,\"ts\":%llu,\"user\":\"u%06llu\","
			"\"session\":\"%016llx\",\"event\":\"%s\","
			"\"path\":\"%s%llu\",\"amount\":%llu.%02llu,"
			"\"ok\":%s}\n",
			(unsigned long long)i,
			(unsigned long long)(1700000000000ull + i * 3 + x % 5),
			(unsigned long long)(x % 200000),
			(unsigned long long)(x * 2654435761u), ev[x % 6],
			path[(x >> 8) % 5],
			(unsigned long long)((x >> 16) % 9999),
			(unsigned long long)((x >> 24) % 1000),
			(unsigned long long)((x >> 40) % 100),
			(x >> 50) % 10 ? "true" : "false");
		k = (size_t)len < n - done ? (size_t)len : n - done;
		memcpy(buf + done, line, k);
		done += k;
	}
}

/* Read all of z in reads of chunk bytes; MB/s, or -1 on a mismatch. */
static double seq_read(struct zseg *z, const unsigned char *data, size_t n,
		       size_t chunk)
{
	unsigned char *buf = malloc(chunk);
	double t0 = now_s(), t;

	for (uint64_t pos = 0; pos < n; pos += chunk) {
		size_t want = n - pos < chunk ? n - pos : chunk;

		if (zseg_pread(z, buf, chunk, pos, NULL) != (ssize_t)want ||
		    memcmp(buf, data + pos, want)) {
			free(buf);
			return -1;
		}
	}
	t = now_s() - t0;
	free(buf);
	return (double)n / 1e6 / t;
}

/* reads random 4 KiB reads; reads per second. */
static double rand_read(struct zseg *z, size_t n, int reads)
{
	unsigned char buf[4096];
	unsigned seed = 1;
	double t0 = now_s();

	for (int i = 0; i < reads; i++)
		if (zseg_pread(z, buf, sizeof(buf), (uint64_t)rand_r(&seed) % n,
			       NULL) < 0)
			return -1;
	return reads / (now_s() - t0);
}

static int bench_level(const unsigned char *data, size_t n, int src,
		       uint32_t frame, int level)
{
	int dst = memfd_create("zsegbench.zst", 0);
	struct zseg *z;
	char why[256];
	double t0 = now_s(), tc;
	int err;

	err = zseg_write(src, n, dst, level, frame);
	tc = now_s() - t0;
	if (err || (err = zseg_open(dst, &z, why, sizeof(why)))) {
		fprintf(stderr, "zsegbench: level %d: %s %s\n", level,
			strerror(-err), why);
		return 1;
	}
	printf("level %2d: %zu -> %llu bytes, ratio %.2f, compress %.0f MB/s\n",
	       level, n, (unsigned long long)zseg_file_size(z),
	       (double)n / (double)zseg_file_size(z), (double)n / 1e6 / tc);
	printf("          read 128 KiB seq %.0f MB/s, 1 MiB seq %.0f MB/s, "
	       "4 KiB random %.0f reads/s\n",
	       seq_read(z, data, n, 128u << 10), seq_read(z, data, n, 1u << 20),
	       rand_read(z, n, 2000));
	zseg_close(z);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
	uint32_t frame = (uint32_t)(argc > 2 ? atol(argv[2]) : 256) << 10;
	unsigned char *data = malloc(n ? n : 1);
	int src = memfd_create("zsegbench.log", 0), rc = 0;

	if (!data || src < 0 || n == 0) {
		fprintf(stderr,
			"usage: zsegbench [MiB [frame KiB [level...]]]\n");
		return 2;
	}
	gen_json(data, n);
	if (pwrite(src, data, n, 0) != (ssize_t)n) {
		perror("zsegbench: pwrite");
		return 1;
	}
	printf("%zu MiB of JSON lines, frames of %u KiB\n", n >> 20,
	       frame >> 10);
	if (argc <= 3) {
		rc |= bench_level(data, n, src, frame, 1);
		rc |= bench_level(data, n, src, frame, 3);
	}
	for (int i = 3; i < argc; i++)
		rc |= bench_level(data, n, src, frame, atoi(argv[i]));
	zseg_pool_drain();
	free(data);
	close(src);
	return rc;
}
