/*
 * linecheck - check files written by tests/tools/producer.c (tests).
 *
 *   linecheck [-p PADMAX] verify PATH NPROD COUNT
 *       PATH holds exactly COUNT lines of each of producers 0..NPROD-1, each
 *       whole, each producer's lines in order, nothing else.
 *   linecheck [-p PADMAX] crash PATH ACKFILE...
 *       After a crash: every line of PATH is whole and valid, each
 *       producer's lines are 0,1,2... without gaps or repeats, PATH ends at a
 *       line end, and every line in producer i's ACKFILE (i = its position)
 *       is present.
 *   linecheck [-p PADMAX] [-f OFFSET:N0,N1,...] log PATH NPROD [ID:MIN...]
 *       A log that grows across crashes: every line of PATH is whole and
 *       valid, each producer's lines are 0,1,2... without gaps or repeats
 *       (a producer may have none), PATH ends at a line end, and producer
 *       ID has at least MIN lines (its acknowledged records).  Prints one
 *       line "LINES BYTES N0 N1 ... N<NPROD-1>", Ni being producer i's line
 *       count (its next seq), for scripts.  With -f, checking starts at
 *       byte OFFSET (a line start) with producer i's next seq Ni (an
 *       earlier run's output), and LINES counts only the lines from there;
 *       BYTES is still the end offset.
 *   linecheck [-p PADMAX] [-k] scan PATH NPROD COUNT STOPFILE
 *       Reader under concurrent appends: read PATH from the start to EOF
 *       again and again (with -k: open once and keep reading past EOF),
 *       checking every byte belongs to a valid line in producer order and
 *       that read() returns 0 only at a line end.  Once STOPFILE exists, one
 *       more pass must find all COUNT lines of every producer.
 *
 * PADMAX must be the producers' -p.  Prints one summary line; on the first
 * error prints what and where (byte offset) to stderr and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lines.h"

#define READ_BUF (1 << 20)

struct checker {
	long padmax;              /* producers' -p */
	long nprod;               /* producers 0..nprod-1 */
	long *next;               /* next expected seq, per producer */
	char line[LINE_MAX_BYTES];/* the line being assembled */
	size_t llen;              /* bytes in line */
	unsigned long long off;   /* bytes fed so far */
	unsigned long long lines; /* complete lines so far */
	const char *what;         /* file name, for messages */
};


static void dump(const char *p, size_t n)
{
	size_t i;

	fputc('"', stderr);
	for (i = 0; i < n && i < 80; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 32 && c < 127 && c != '"' && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "\"%s\n", n > 80 ? "..." : "");
}

static void die_line(struct checker *c, const char *why)
{
	fprintf(stderr, "linecheck: %s: %s: line %llu at offset %llu: ", c->what, why,
		c->lines + 1, c->off - c->llen);
	dump(c->line, c->llen);
	exit(1);
}

static void checker_init(struct checker *c, const char *what, long nprod, long padmax)
{
	memset(c, 0, sizeof(*c));
	c->what = what;
	c->nprod = nprod;
	c->padmax = padmax;
	c->next = calloc((size_t)nprod, sizeof(*c->next));
	if (!c->next) {
		perror("calloc");
		exit(1);
	}
}

static void checker_reset(struct checker *c)
{
	memset(c->next, 0, (size_t)c->nprod * sizeof(*c->next));
	c->llen = 0;
	c->off = 0;
	c->lines = 0;
}

static void check_line(struct checker *c)
{
	static char want[LINE_MAX_BYTES];
	char *end;
	long id, seq;
	size_t wlen;

	if (c->line[0] != 'p')
		die_line(c, "not a producer line");
	id = strtol(c->line + 1, &end, 10);
	if (*end != ' ' || id < 0 || id >= c->nprod)
		die_line(c, "bad producer id");
	seq = strtol(end + 1, NULL, 10);
	if (seq != c->next[id]) {
		fprintf(stderr, "linecheck: producer %ld: expected seq %ld\n", id, c->next[id]);
		die_line(c, "out of order, repeated or missing record");
	}
	wlen = make_line(want, id, seq, c->padmax);
	if (wlen != c->llen || memcmp(want, c->line, wlen))
		die_line(c, "damaged record");
	c->next[id]++;
	c->lines++;
	c->llen = 0;
}

static void feed(struct checker *c, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		c->line[c->llen++] = p[i];
		c->off++;
		if (p[i] == '\n')
			check_line(c);
		else if (p[i] == '\0')
			die_line(c, "NUL byte");
		else if (c->llen == sizeof(c->line))
			die_line(c, "line too long");
	}
}

/* Feed the file from c->off to its end. */
static void feed_file(struct checker *c, const char *path)
{
	static char buf[READ_BUF];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "linecheck: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (c->off && lseek(fd, (off_t)c->off, SEEK_SET) < 0) {
		fprintf(stderr, "linecheck: seek %s to %llu: %s\n", path, c->off, strerror(errno));
		exit(1);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		feed(c, buf, (size_t)n);
	if (n < 0) {
		fprintf(stderr, "linecheck: read %s at %llu: %s\n", path, c->off, strerror(errno));
		exit(1);
	}
	close(fd);
}

static void check_counts(struct checker *c, long count)
{
	long i;

	if (c->llen)
		die_line(c, "file ends inside a record");
	for (i = 0; i < c->nprod; i++) {
		if (c->next[i] != count) {
			fprintf(stderr, "linecheck: %s: producer %ld has %ld lines, expected %ld\n",
				c->what, i, c->next[i], count);
			exit(1);
		}
	}
}

static int do_verify(const char *path, long nprod, long count, long padmax)
{
	static struct checker c;

	checker_init(&c, path, nprod, padmax);
	feed_file(&c, path);
	check_counts(&c, count);
	printf("verify: %s: %llu lines, %llu bytes, ok\n", path, c.lines, c.off);
	return 0;
}

static int do_crash(const char *path, int nack, char **acks, long padmax)
{
	static struct checker c, a;
	long i, unacked = 0;

	checker_init(&c, path, nack, padmax);
	feed_file(&c, path);
	if (c.llen)
		die_line(&c, "torn record at the end");
	for (i = 0; i < nack; i++) {
		/* ack file i holds lines of producer i only: check it as a
		 * one-producer file after shifting the id */
		checker_init(&a, acks[i], i + 1, padmax);
		feed_file(&a, acks[i]);
		if (a.llen)
			die_line(&a, "ack file ends inside a line");
		if (a.lines != (unsigned long long)a.next[i]) {
			fprintf(stderr, "linecheck: %s: lines of another producer\n", acks[i]);
			return 1;
		}
		if (c.next[i] < a.next[i]) {
			fprintf(stderr, "linecheck: LOST: producer %ld: %ld records acknowledged, only %ld in %s\n",
				i, a.next[i], c.next[i], path);
			return 1;
		}
		unacked += c.next[i] - a.next[i];
		printf("crash: producer %ld: acknowledged %ld, present %ld\n", i, a.next[i], c.next[i]);
		free(a.next);
	}
	printf("crash: %s: %llu lines, %llu bytes, all acknowledged present, %ld unacknowledged present, ok\n",
	       path, c.lines, c.off, unacked);
	return 0;
}

/* Start checker c at "OFFSET:N0,N1,..." (see -f); 0 or -1 if malformed. */
static int checker_from(struct checker *c, const char *from)
{
	char *end;
	long i;

	c->off = strtoull(from, &end, 10);
	for (i = 0; i < c->nprod; i++) {
		if (*end != (i ? ',' : ':'))
			return -1;
		c->next[i] = strtol(end + 1, &end, 10);
		if (c->next[i] < 0)
			return -1;
	}
	return *end ? -1 : 0;
}

static int do_log(const char *path, long nprod, int nmin, char **mins, long padmax,
		  const char *from)
{
	static struct checker c;
	long i, id, min;
	char *end;

	checker_init(&c, path, nprod, padmax);
	if (from && checker_from(&c, from)) {
		fprintf(stderr, "linecheck: bad -f '%s' for %ld producers\n", from, nprod);
		return 2;
	}
	feed_file(&c, path);
	if (c.llen)
		die_line(&c, "torn record at the end");
	for (i = 0; i < nmin; i++) {
		id = strtol(mins[i], &end, 10);
		min = *end == ':' ? strtol(end + 1, &end, 10) : -1;
		if (*end || id < 0 || id >= nprod || min < 0) {
			fprintf(stderr, "linecheck: bad ID:MIN '%s'\n", mins[i]);
			return 2;
		}
		if (c.next[id] < min) {
			fprintf(stderr, "linecheck: LOST: %s: producer %ld: %ld records acknowledged, only %ld present\n",
				path, id, min, c.next[id]);
			return 1;
		}
	}
	printf("%llu %llu", c.lines, c.off);
	for (i = 0; i < nprod; i++)
		printf(" %ld", c.next[i]);
	printf("\n");
	return 0;
}

static int stopped(const char *stopfile)
{
	return access(stopfile, F_OK) == 0;
}

static int do_scan(const char *path, long nprod, long count, const char *stopfile,
		   long padmax, int keep)
{
	static const size_t sizes[] = { 4096, 1000, 65536 + 3, READ_BUF, 100 };
	static struct checker c;
	static char buf[READ_BUF];
	unsigned long long passes = 0, reads = 0;
	int fd = -1, final;
	ssize_t n;

	checker_init(&c, path, nprod, padmax);
	for (;;) {
		final = stopped(stopfile);
		if (fd < 0 || !keep) {
			if (fd >= 0)
				close(fd);
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				fprintf(stderr, "linecheck: open %s: %s\n", path, strerror(errno));
				return 1;
			}
			checker_reset(&c);
		}
		while ((n = read(fd, buf, sizes[reads++ % 5])) > 0)
			feed(&c, buf, (size_t)n);
		if (n < 0) {
			fprintf(stderr, "linecheck: read %s at %llu: %s\n", path, c.off, strerror(errno));
			return 1;
		}
		if (c.llen)
			die_line(&c, "read() returned 0 inside a record (a partly visible append)");
		passes++;
		if (final)
			break;
		if (keep) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	check_counts(&c, count);
	close(fd);
	printf("scan%s: %s: %llu passes, %llu reads, %llu lines at the end, ok\n",
	       keep ? " (held open)" : "", path, passes, reads, c.lines);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: linecheck [-p PADMAX] verify PATH NPROD COUNT\n"
			"       linecheck [-p PADMAX] crash PATH ACKFILE...\n"
			"       linecheck [-p PADMAX] [-f OFFSET:N0,N1,...] log PATH NPROD [ID:MIN...]\n"
			"       linecheck [-p PADMAX] [-k] scan PATH NPROD COUNT STOPFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *from = NULL;
	long padmax = 0;
	int opt, keep = 0, nargs;
	char **args;

	while ((opt = getopt(argc, argv, "+p:kf:")) != -1) {
		switch (opt) {
		case 'p': padmax = atol(optarg); break;
		case 'f': from = optarg; break;
		case 'k': keep = 1; break;
		default: usage();
		}
	}
	if (padmax < 0 || padmax > LINE_MAX_BYTES - 64 || argc - optind < 2)
		usage();
	args = argv + optind;
	nargs = argc - optind;
	if (!strcmp(args[0], "verify") && nargs == 4)
		return do_verify(args[1], atol(args[2]), atol(args[3]), padmax);
	if (!strcmp(args[0], "crash") && nargs >= 3)
		return do_crash(args[1], nargs - 2, args + 2, padmax);
	if (!strcmp(args[0], "log") && nargs >= 3 && atol(args[2]) > 0)
		return do_log(args[1], atol(args[2]), nargs - 3, args + 3, padmax, from);
	if (!strcmp(args[0], "scan") && nargs == 5)
		return do_scan(args[1], atol(args[2]), atol(args[3]), args[4], padmax, keep);
	usage();
	return 2;
}
