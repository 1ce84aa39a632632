/*
 * producer - append numbered lines to a file, one write() per line (tests).
 *
 *   producer [-p PADMAX] [-a ACKFILE] [-l SEQFILE] [-s START] [-y EVERY] [-c]
 *            PATH ID COUNT
 *
 * Line SEQ (START..START+COUNT-1; START is 0 unless -s) of producer ID is
 * "p<ID> <SEQ, 6 digits>", then (ID*11 + SEQ*37) % (PADMAX+1) pad bytes
 * 'a'+SEQ%26, then '\n' (see tests/tools/lines.h; linecheck regenerates
 * it).  PATH is opened O_WRONLY | O_APPEND (-c adds O_CREAT, for plain
 * files).  With -a, each line is written to ACKFILE after the write() to
 * PATH returned: the acknowledged records.  With -l, SEQFILE always holds
 * one line "ACKED SYNCED" (two 20-digit numbers, rewritten in place with
 * one pwrite()): ACKED is the seq after the last line whose write()
 * returned, SYNCED the seq after the last line an fsync() that returned
 * covered (both START at first), so a crash of the writer or of the file
 * system leaves the last values behind.  -y EVERY fsync()s PATH after every
 * EVERY lines and at the end.  Exit 0 when all COUNT lines were written, 1
 * on the first error (message says which line and errno).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"

#define SEQ_LINE_LEN 42 /* "%020ld %020ld\n" */

static void usage(void)
{
	fprintf(stderr, "usage: producer [-p PADMAX] [-a ACKFILE] [-l SEQFILE] [-s START] [-y EVERY] [-c] PATH ID COUNT\n");
	exit(2);
}

/* Rewrite SEQFILE's "ACKED SYNCED" line; 0 or -1 (message printed). */
static int put_seqs(int fd, long id, long acked, long synced)
{
	char line[SEQ_LINE_LEN + 1];

	snprintf(line, sizeof(line), "%020ld %020ld\n", acked, synced);
	if (pwrite(fd, line, SEQ_LINE_LEN, 0) != SEQ_LINE_LEN) {
		fprintf(stderr, "producer %ld: seq file write: %s\n", id, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *ack = NULL, *seqpath = NULL;
	long padmax = 0, every = 0, start = 0, id, count, seq, synced;
	int opt, fd, ackfd = -1, seqfd = -1, flags = O_WRONLY | O_APPEND;
	static char buf[LINE_MAX_BYTES]; /* static: no leak report on error exits */

	while ((opt = getopt(argc, argv, "p:a:l:s:y:c")) != -1) {
		switch (opt) {
		case 'p': padmax = atol(optarg); break;
		case 'a': ack = optarg; break;
		case 'l': seqpath = optarg; break;
		case 's': start = atol(optarg); break;
		case 'y': every = atol(optarg); break;
		case 'c': flags |= O_CREAT; break;
		default: usage();
		}
	}
	if (argc - optind != 3 || padmax < 0 || padmax > LINE_MAX_BYTES - 64 ||
	    start < 0)
		usage();
	id = atol(argv[optind + 1]);
	count = atol(argv[optind + 2]);
	synced = start;
	/* the seq file first: it exists even if PATH cannot be opened */
	if (seqpath) {
		seqfd = open(seqpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (seqfd < 0) {
			fprintf(stderr, "producer %ld: open %s: %s\n", id, seqpath, strerror(errno));
			return 1;
		}
		if (put_seqs(seqfd, id, start, start))
			return 1;
	}
	fd = open(argv[optind], flags, 0644);
	if (fd < 0) {
		fprintf(stderr, "producer %ld: open %s: %s\n", id, argv[optind], strerror(errno));
		return 1;
	}
	if (ack) {
		ackfd = open(ack, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		if (ackfd < 0) {
			fprintf(stderr, "producer %ld: open %s: %s\n", id, ack, strerror(errno));
			return 1;
		}
	}
	for (seq = start; seq < start + count; seq++) {
		size_t len = make_line(buf, id, seq, padmax);
		ssize_t n = write(fd, buf, len);

		if (n != (ssize_t)len) {
			fprintf(stderr, "producer %ld: write of line %ld returned %zd: %s\n",
				id, seq, n, n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		if (ackfd >= 0 && write(ackfd, buf, len) != (ssize_t)len) {
			fprintf(stderr, "producer %ld: ack write: %s\n", id, strerror(errno));
			return 1;
		}
		if (seqfd >= 0 && put_seqs(seqfd, id, seq + 1, synced))
			return 1;
		if (every && (seq + 1 - start) % every == 0) {
			if (fsync(fd)) {
				fprintf(stderr, "producer %ld: fsync after line %ld: %s\n", id, seq, strerror(errno));
				return 1;
			}
			synced = seq + 1;
			if (seqfd >= 0 && put_seqs(seqfd, id, seq + 1, synced))
				return 1;
		}
	}
	if (every && fsync(fd)) {
		fprintf(stderr, "producer %ld: final fsync: %s\n", id, strerror(errno));
		return 1;
	}
	if (every && seqfd >= 0 && put_seqs(seqfd, id, start + count, start + count))
		return 1;
	if (close(fd)) {
		fprintf(stderr, "producer %ld: close: %s\n", id, strerror(errno));
		return 1;
	}
	return 0;
}
