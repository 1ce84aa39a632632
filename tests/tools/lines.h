/*
 * tests/tools/lines.h - the test record format that producer writes and
 * linecheck regenerates: line SEQ of producer ID is "p<ID> <SEQ, 6
 * digits>", then (ID*11 + SEQ*37) % (PADMAX+1) pad bytes 'a'+SEQ%26, then
 * '\n'.
 */
#ifndef TOPICFS_TEST_LINES_H
#define TOPICFS_TEST_LINES_H

#include <stdio.h>
#include <string.h>

#define LINE_MAX_BYTES (64 * 1024)

/* Write the line into buf (LINE_MAX_BYTES); its length. */
static inline size_t make_line(char *buf, long id, long seq, long padmax)
{
	int n = snprintf(buf, 64, "p%ld %06ld", id, seq);
	long pad = (id * 11 + seq * 37) % (padmax + 1);

	memset(buf + n, 'a' + (int)(seq % 26), (size_t)pad);
	buf[n + pad] = '\n';
	return (size_t)(n + pad + 1);
}

#endif /* TOPICFS_TEST_LINES_H */
