/*
 * tfsbench - the timed loops of contrib/bench.sh.
 *
 *   tfsbench append PATH COUNT SIZE [--fsync]
 *       COUNT write()s of SIZE bytes, O_APPEND (O_CREAT too); times first
 *       write..close (--fsync: fsync() before the close, inside the timing)
 *   tfsbench read PATH [BUFSIZE]
 *       sequential read() to EOF, 1 MiB buffer by default; times open..close
 *   tfsbench par-append COUNT SIZE PATH...
 *       one process per PATH, each as `append PATH COUNT SIZE`, started
 *       together once all have opened their file; times release..last close
 *   tfsbench par-read N PATH [BUFSIZE]
 *       N processes each reading PATH to EOF, started together once all
 *       have opened it; times release..last close
 *
 * Prints key=value pairs on one line (bytes, secs, ops_per_s, MB_per_s; the
 * par- modes add procs and min_max, the slowest process's rate over the
 * fastest's, each process timed on its own from release to its close).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

struct result {
	double secs;
	long long bytes;
	long long ops;
};

static int open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd < 0)
		fprintf(stderr, "tfsbench: open %s: %s\n", path, strerror(errno));
	return fd;
}

/* the timed part of an append run on an open fd: writes, [fsync], close */
static int append_loop(int fd, long count, size_t size, int do_fsync, struct result *res)
{
	char *buf = buffer(size);
	double t0;
	long i;

	for (i = 0; i < (long)size; i++)
		buf[i] = (char)('a' + i % 26);
	if (size)
		buf[size - 1] = '\n';
	t0 = now();
	for (i = 0; i < count; i++) {
		ssize_t n = write(fd, buf, size);

		if (n != (ssize_t)size) {
			fprintf(stderr, "tfsbench: write #%ld returned %zd: %s\n", i, n,
				n < 0 ? strerror(errno) : "short");
			return 1;
		}
	}
	if (do_fsync && fsync(fd)) {
		fprintf(stderr, "tfsbench: fsync: %s\n", strerror(errno));
		return 1;
	}
	if (close(fd)) {
		fprintf(stderr, "tfsbench: close: %s\n", strerror(errno));
		return 1;
	}
	res->secs = now() - t0;
	res->bytes = (long long)count * (long long)size;
	res->ops = count;
	free(buf);
	return 0;
}

/* the timed part of a read run on an open fd: read to EOF, close */
static int read_loop(int fd, size_t bs, struct result *res)
{
	char *buf = buffer(bs);
	long long total = 0, calls = 0;
	double t0 = now();
	ssize_t n;

	while ((n = read(fd, buf, bs)) > 0) {
		total += n;
		calls++;
	}
	if (n < 0) {
		fprintf(stderr, "tfsbench: read at %lld: %s\n", total, strerror(errno));
		return 1;
	}
	close(fd);
	res->secs = now() - t0;
	res->bytes = total;
	res->ops = calls;
	free(buf);
	return 0;
}

static void print_result(const struct result *r)
{
	printf("bytes=%lld secs=%.3f ops_per_s=%.0f MB_per_s=%.1f", r->bytes, r->secs,
	       (double)r->ops / r->secs, (double)r->bytes / r->secs / 1e6);
}

static int do_append(const char *path, long count, size_t size, int do_fsync)
{
	struct result r;
	int fd = open_append(path);

	if (fd < 0 || append_loop(fd, count, size, do_fsync, &r))
		return 1;
	print_result(&r);
	printf("\n");
	return 0;
}

static int do_read(const char *path, size_t bs)
{
	struct result r;
	double t0 = now();
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "tfsbench: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (read_loop(fd, bs, &r))
		return 1;
	r.secs = now() - t0; /* open..close, as before */
	print_result(&r);
	printf("\n");
	return 0;
}

struct job {
	int append; /* else read */
	long count;
	size_t size;
};

/*
 * Run one child per path; each opens its file, reports ready, waits for the
 * release (EOF on a pipe), runs its loop and sends its result back.
 */
static int run_parallel(const struct job *job, char **paths, int n)
{
	int ready[2], go[2], out[2], i, got = 0, failed = 0, status;
	struct result total = { 0, 0, 0 }, r;
	double t0, fastest = 0, slowest = 0;
	char c;

	if (n < 1 || pipe(ready) || pipe(go) || pipe(out)) {
		fprintf(stderr, "tfsbench: pipe: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "tfsbench: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			int fd, rc;

			close(ready[0]);
			close(go[1]);
			close(out[0]);
			fd = job->append ? open_append(paths[i]) : open(paths[i], O_RDONLY);
			if (fd < 0) {
				if (!job->append)
					fprintf(stderr, "tfsbench: open %s: %s\n", paths[i],
						strerror(errno));
				_exit(1);
			}
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 0)
				_exit(1);
			rc = job->append ? append_loop(fd, job->count, job->size, 0, &r)
					 : read_loop(fd, job->size, &r);
			if (rc || write(out[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
				_exit(1);
			_exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	close(out[1]);
	for (i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			break; /* a child died before its open: its status says so */
	t0 = now();
	close(go[1]);
	while (read(out[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
		double rate = (double)r.bytes / r.secs;

		if (!got || rate > fastest)
			fastest = rate;
		if (!got || rate < slowest)
			slowest = rate;
		total.bytes += r.bytes;
		total.ops += r.ops;
		got++;
	}
	for (i = 0; i < n; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	total.secs = now() - t0;
	if (failed || got != n) {
		fprintf(stderr, "tfsbench: %d of %d processes failed\n", failed ? failed : n - got,
			n);
		return 1;
	}
	print_result(&total);
	printf(" procs=%d min_max=%.3f\n", n, fastest > 0 ? slowest / fastest : 0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tfsbench append PATH COUNT SIZE [--fsync]\n"
			"       tfsbench read PATH [BUFSIZE]\n"
			"       tfsbench par-append COUNT SIZE PATH...\n"
			"       tfsbench par-read N PATH [BUFSIZE]\n");
}

int main(int argc, char **argv)
{
	if ((argc == 5 || (argc == 6 && !strcmp(argv[5], "--fsync"))) &&
	    !strcmp(argv[1], "append"))
		return do_append(argv[2], atol(argv[3]), strtoul(argv[4], NULL, 0), argc == 6);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "read"))
		return do_read(argv[2], argc == 4 ? strtoul(argv[3], NULL, 0) : 1u << 20);
	if (argc >= 5 && !strcmp(argv[1], "par-append")) {
		struct job j = { 1, atol(argv[2]), strtoul(argv[3], NULL, 0) };

		return run_parallel(&j, argv + 4, argc - 4);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "par-read")) {
		struct job j = { 0, 0, argc == 5 ? strtoul(argv[4], NULL, 0) : 1u << 20 };
		int i, n = atoi(argv[2]);
		char **paths;

		if (n < 1 || n > 1024) {
			usage();
			return 2;
		}
		paths = calloc((size_t)n, sizeof(*paths));
		if (!paths)
			return 1;
		for (i = 0; i < n; i++)
			paths[i] = argv[3];
		return run_parallel(&j, paths, n);
	}
	usage();
	return 2;
}
