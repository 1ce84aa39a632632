/*
 * tests/unit/test_zseg.c - compressed segments (store/zseg.c): round trips
 * at frame-edge sizes, reads at and across frame boundaries and past the
 * end, the frame cache, concurrent readers, and damage (flipped bytes
 * anywhere, truncation at every length, resealed but inconsistent tables,
 * another version), and bad arguments.  Files are memfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "crc32c.h"
#include "format.h"
#include "zseg.h"

#define F	ZSEG_FRAME_BYTES /* the default frame, for the big cases */
#define SMALL_F 512u		 /* frame of the byte-by-byte damage cases */
#define SMALL_N 1800u		 /* 3.5 small frames */

/* ---- helpers --------------------------------------------------------- */

/* Random-looking (incompressible) bytes from seed. */
static void gen_random(unsigned char *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 32);
	}
}

/* JSON lines like an event stream, cut at n bytes. */
static void gen_json(unsigned char *buf, size_t n, uint64_t seed)
{
	static const char *ev[] = { "click", "view", "purchase", "login" };
	char line[256];
	size_t done = 0;

	for (uint64_t i = seed; done < n; i++) {
		int len = snprintf(
			line, sizeof(line),
			"{\"seq\":%llu,\"ts\":%llu,\"user\":\"u%05llu\","
			"\"event\":\"%s\",\"amount\":%llu.%02llu,\"ok\":%s}\n",
			(unsigned long long)i,
			(unsigned long long)(1700000000000ull + i * 37),
			(unsigned long long)((i * 7919) % 50000),
			ev[(i * 31) % 4], (unsigned long long)((i * 13) % 500),
			(unsigned long long)(i % 100),
			i % 3 ? "true" : "false");
		size_t k = (size_t)len < n - done ? (size_t)len : n - done;

		memcpy(buf + done, line, k);
		done += k;
	}
}

/* A memfd holding n bytes of data. */
static int mem_file(const void *data, size_t n)
{
	int fd = memfd_create("zseg-test", 0);

	assert_true(fd >= 0);
	if (n)
		assert_int_equal(pwrite(fd, data, n, 0), (ssize_t)n);
	return fd;
}

static uint64_t file_size(int fd)
{
	struct stat sb;

	assert_int_equal(fstat(fd, &sb), 0);
	return (uint64_t)sb.st_size;
}

/* Compress data into a new memfd with frames of fb. */
static int make_zst(const unsigned char *data, size_t n, uint32_t fb)
{
	int src = mem_file(data, n), dst = mem_file(NULL, 0);

	assert_int_equal(zseg_write(src, n, dst, 3, fb), 0);
	close(src);
	return dst;
}

/* zseg_open on a dup of fd (the test keeps fd); the error, or 0. */
static int open_dup(int fd, struct zseg **z, char *why, size_t whylen)
{
	int d = dup(fd), err;

	assert_true(d >= 0);
	why[0] = '\0';
	err = zseg_open(d, z, why, whylen);
	if (err)
		close(d);
	return err;
}

static struct zseg *must_open(int fd)
{
	struct zseg *z = NULL;
	char why[256];

	assert_int_equal(open_dup(fd, &z, why, sizeof(why)), 0);
	return z;
}

/* Read [pos, pos + len) and compare with data (n bytes in all). */
static void check_read(struct zseg *z, const unsigned char *data, size_t n,
		       uint64_t pos, size_t len)
{
	size_t want = pos >= n ? 0 : (len < n - pos ? len : n - pos);
	unsigned char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	assert_int_equal(zseg_pread(z, buf, len, pos, NULL), (ssize_t)want);
	if (want)
		assert_memory_equal(buf, data + pos, want);
	free(buf);
}

static void xor_byte(int fd, uint64_t pos, unsigned char mask)
{
	unsigned char c;

	assert_int_equal(pread(fd, &c, 1, (off_t)pos), 1);
	c ^= mask;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)pos), 1);
}

static uint32_t get_le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Recompute every CRC of a .zst memfd after an edit: the header's, its
 * copy in the trailer, and the trailer's over table and trailer. */
static void reseal(int fd)
{
	uint64_t size = file_size(fd), tpos = size - FMT_ZST_TRL_SIZE;
	unsigned char h[FMT_ZST_HDR_SIZE], t[FMT_ZST_TRL_SIZE], *tab;
	uint64_t table;
	size_t tlen;

	assert_int_equal(pread(fd, h, sizeof(h), 0), sizeof(h));
	assert_int_equal(pread(fd, t, sizeof(t), (off_t)tpos), sizeof(t));
	put_le32(h + FMT_ZST_HDR_CRC, crc32c(0, h, FMT_ZST_HDR_CRC));
	memcpy(t + FMT_ZST_TRL_HDRCRC, h + FMT_ZST_HDR_CRC, 4);
	table = (uint64_t)get_le32(t + FMT_ZST_TRL_TABLE + 4) << 32 |
		get_le32(t + FMT_ZST_TRL_TABLE);
	tlen = (size_t)(tpos - table);
	tab = malloc(tlen + 1);
	assert_int_equal(pread(fd, tab, tlen, (off_t)table), (ssize_t)tlen);
	put_le32(t + FMT_ZST_TRL_CRC,
		 crc32c(crc32c(0, tab, tlen), t, FMT_ZST_TRL_CRC));
	free(tab);
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), sizeof(h));
	assert_int_equal(pwrite(fd, t, sizeof(t), (off_t)tpos), sizeof(t));
}

/* File offset of frame i's table entry. */
static uint64_t ent_pos(int fd, uint32_t i)
{
	unsigned char t[FMT_ZST_TRL_SIZE];
	uint64_t tpos = file_size(fd) - FMT_ZST_TRL_SIZE;

	assert_int_equal(pread(fd, t, sizeof(t), (off_t)tpos), sizeof(t));
	return ((uint64_t)get_le32(t + FMT_ZST_TRL_TABLE + 4) << 32 |
		get_le32(t + FMT_ZST_TRL_TABLE)) +
	       (uint64_t)i * FMT_ZST_ENT_SIZE;
}

/* Field at off (u32) of frame i's table entry. */
static uint32_t ent_get(int fd, uint32_t i, uint32_t off)
{
	unsigned char b[4];

	assert_int_equal(pread(fd, b, 4, (off_t)(ent_pos(fd, i) + off)), 4);
	return get_le32(b);
}

static void ent_set(int fd, uint32_t i, uint32_t off, uint32_t v)
{
	unsigned char b[4];

	put_le32(b, v);
	assert_int_equal(pwrite(fd, b, 4, (off_t)(ent_pos(fd, i) + off)), 4);
}

/* Open must fail with err and a reason containing what. */
static void expect_bad(int fd, int err, const char *what)
{
	struct zseg *z = NULL;
	char why[256];

	assert_int_equal(open_dup(fd, &z, why, sizeof(why)), err);
	if (!strstr(why, what))
		fail_msg("reason \"%s\" lacks \"%s\"", why, what);
}

/* ---- round trips ----------------------------------------------------- */

static void roundtrip(const unsigned char *data, size_t n, bool json)
{
	int fd = make_zst(data, n, F);
	struct zseg *z = must_open(fd);
	uint64_t bad = 7;

	assert_int_equal(zseg_raw_size(z), n);
	assert_int_equal(zseg_file_size(z), file_size(fd));
	assert_int_equal(zseg_frames(z), (n + F - 1) / F);
	check_read(z, data, n, 0, n + 100);
	assert_int_equal(zseg_verify(z, &bad), 0);
	assert_int_equal(bad, 7);
	if (json && n >= F) /* JSON lines compress well */
		assert_true(zseg_file_size(z) * 4 < n);
	if (n == 0)
		assert_int_equal(zseg_file_size(z),
				 FMT_ZST_HDR_SIZE + FMT_ZST_TRL_SIZE);
	zseg_close(z);
	close(fd);
}

static void test_roundtrip(void **state)
{
	const size_t sizes[] = { 0, 1, F - 1, F, F + 1, 3 * F + F / 2 };
	size_t max = 3 * F + F / 2;
	unsigned char *data = malloc(max);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		gen_random(data, sizes[i], i);
		roundtrip(data, sizes[i], false);
		gen_json(data, sizes[i], i);
		roundtrip(data, sizes[i], true);
	}
	free(data);
}

/* ---- reads at boundaries, at the end, through the cache -------------- */

struct big {
	unsigned char *data; /* 3.5 frames of JSON */
	size_t n;	     /* its bytes */
	int fd;		     /* its .zst memfd */
};

static int big_setup(void **state)
{
	struct big *b = calloc(1, sizeof(*b));

	b->n = 3 * F + F / 2;
	b->data = malloc(b->n);
	gen_json(b->data, b->n, 42);
	b->fd = make_zst(b->data, b->n, F);
	*state = b;
	return 0;
}

static int big_teardown(void **state)
{
	struct big *b = *state;

	close(b->fd);
	free(b->data);
	free(b);
	return 0;
}

static void test_boundaries(void **state)
{
	struct big *b = *state;
	struct zseg *z = must_open(b->fd);

	for (uint64_t k = 0; k <= 3; k++) {
		uint64_t e = k * F;

		if (k)
			check_read(z, b->data, b->n, e - 1, 2); /* across */
		check_read(z, b->data, b->n, e, 1);
		check_read(z, b->data, b->n, e, F); /* one whole frame */
		if (e + F < b->n) {
			check_read(z, b->data, b->n, e + F - 1, 1);
			check_read(z, b->data, b->n, e + 5, F); /* two */
		}
		if (k)
			check_read(z, b->data, b->n, e - 7, F + 14);
	}
	check_read(z, b->data, b->n, 1, b->n - 2);  /* all four */
	check_read(z, b->data, b->n, 3 * F - 3, F); /* into the half */
	zseg_close(z);
}

static void test_end(void **state)
{
	struct big *b = *state;
	struct zseg *z = must_open(b->fd);
	unsigned char buf[100];

	assert_int_equal(zseg_pread(z, buf, 100, b->n, NULL), 0);
	assert_int_equal(zseg_pread(z, buf, 100, b->n + 1000, NULL), 0);
	assert_int_equal(zseg_pread(z, buf, 100, UINT64_MAX, NULL), 0);
	assert_int_equal(zseg_pread(z, buf, 0, 10, NULL), 0);
	assert_int_equal(zseg_pread(z, buf, 100, b->n - 5, NULL), 5);
	assert_memory_equal(buf, b->data + b->n - 5, 5);
	assert_int_equal(zseg_pread(z, buf, SIZE_MAX, b->n - 1, NULL), 1);
	assert_int_equal(buf[0], b->data[b->n - 1]);
	zseg_close(z);
}

/* 128 KiB sequential reads decode each frame once (the last, half frame
 * is read whole, straight into the buffer); after a trim they decode
 * again. */
static void test_cache(void **state)
{
	struct big *b = *state;
	struct zseg *z = must_open(b->fd);
	size_t chunk = 128u << 10;

	for (uint64_t pos = 0; pos < b->n; pos += chunk)
		check_read(z, b->data, b->n, pos, chunk);
	assert_int_equal(zseg_decoded(z), 4);
	check_read(z, b->data, b->n, F + 10, 100); /* cached */
	assert_int_equal(zseg_decoded(z), 4);
	zseg_trim(z);
	check_read(z, b->data, b->n, F + 10, 100);
	assert_int_equal(zseg_decoded(z), 5);
	/* all four frames fit the four slots, and stay */
	for (uint64_t k = 0; k < 4; k++)
		check_read(z, b->data, b->n, k * F + 1, 10);
	assert_int_equal(zseg_decoded(z), 8); /* frames 0, 2, 3 were new */
	for (uint64_t k = 0; k < 4; k++)
		check_read(z, b->data, b->n, k * F + 2, 10);
	assert_int_equal(zseg_decoded(z), 8);
	zseg_close(z);
}

/* ---- concurrent readers ---------------------------------------------- */

struct reader {
	struct big *b;	/* the data */
	struct zseg *z; /* shared */
	unsigned seed;	/* for this thread's positions */
	int reads;	/* reads to do */
	int bad;	/* wrong results seen (out) */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	size_t cap = F + F / 4;
	unsigned char *buf = malloc(cap);

	for (int i = 0; i < r->reads && buf; i++) {
		uint64_t pos = (uint64_t)rand_r(&r->seed) % (r->b->n + 10);
		size_t len = (size_t)rand_r(&r->seed) % cap;
		size_t want = pos >= r->b->n	    ? 0
			      : len < r->b->n - pos ? len
						    : r->b->n - pos;
		ssize_t got = zseg_pread(r->z, buf, len, pos, NULL);

		if (got != (ssize_t)want ||
		    (want && memcmp(buf, r->b->data + pos, want)))
			r->bad++;
		if (r->seed % 17 == 0)
			zseg_trim(r->z);
	}
	if (!buf)
		r->bad++;
	free(buf);
	return NULL;
}

static void test_threads(void **state)
{
	struct big *b = *state;
	struct zseg *z = must_open(b->fd);
	struct reader r[8];
	pthread_t th[8];

	for (int i = 0; i < 8; i++) {
		r[i] = (struct reader){
			.b = b, .z = z, .seed = 1000u + i, .reads = 150
		};
		assert_int_equal(
			pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].bad, 0);
	}
	zseg_close(z);
}

/* ---- damage ---------------------------------------------------------- */

/* A flipped byte in the middle of frame 1: that frame fails with its raw
 * start in *bad, the others still read; a read across it stops short. */
static void test_damaged_frame(void **state)
{
	struct big *b = *state;
	uint32_t coff = ent_get(b->fd, 1, FMT_ZST_ENT_COFF);
	uint32_t clen = ent_get(b->fd, 1, FMT_ZST_ENT_CLEN);
	unsigned char *buf = malloc(b->n);
	uint64_t bad = 0;
	struct zseg *z;

	xor_byte(b->fd, coff + clen / 2, 0x10);
	z = must_open(b->fd); /* frames are not read at open */
	check_read(z, b->data, b->n, 0, 100);
	check_read(z, b->data, b->n, 2 * F, F + F / 2);
	assert_int_equal(zseg_pread(z, buf, 100, F + 50, &bad), -EIO);
	assert_int_equal(bad, F);
	bad = 0;
	assert_int_equal(zseg_pread(z, buf, F, F, &bad), -EIO); /* whole */
	assert_int_equal(bad, F);
	assert_int_equal(zseg_pread(z, buf, b->n, 0, NULL), F); /* short */
	assert_memory_equal(buf, b->data, F);
	assert_int_equal(zseg_pread(z, buf, 20, F - 10, NULL), 10);
	bad = 0;
	assert_int_equal(zseg_verify(z, &bad), -EIO);
	assert_int_equal(bad, F);
	zseg_close(z);
	xor_byte(b->fd, coff + clen / 2, 0x10); /* the fixture is shared */
	free(buf);
}

/* A small file with 4 frames of SMALL_F; its data is in *data. */
static int small_zst(unsigned char *data, bool json)
{
	if (json)
		gen_json(data, SMALL_N, 7);
	else
		gen_random(data, SMALL_N, 7);
	return make_zst(data, SMALL_N, SMALL_F);
}

/* Flip one bit of every byte in turn.  Header, table and trailer flips
 * fail at open; frame flips fail reads and verify (at the right frame),
 * or, for bits zstd ignores, still give the right bytes, never others. */
static void flip_every_byte(bool json)
{
	unsigned char data[SMALL_N], buf[SMALL_N];
	int fd = small_zst(data, json);
	uint64_t size = file_size(fd), table = ent_pos(fd, 0);
	unsigned harmless = 0, caught = 0;

	for (uint64_t p = 0; p < size; p++) {
		unsigned char mask = (unsigned char)(1u << (p % 8));
		struct zseg *z = NULL;
		uint64_t bad = UINT64_MAX;
		char why[256];
		ssize_t got;

		xor_byte(fd, p, mask);
		if (p < FMT_ZST_HDR_SIZE || p >= table) {
			assert_int_equal(open_dup(fd, &z, why, sizeof(why)),
					 -EUCLEAN);
			assert_non_null(strstr(why, "byte"));
			xor_byte(fd, p, mask);
			continue;
		}
		assert_int_equal(open_dup(fd, &z, why, sizeof(why)), 0);
		got = zseg_pread(z, buf, SMALL_N, 0, NULL);
		if (got == -EIO)
			got = 0; /* frame 0 itself */
		assert_true(got >= 0);
		if (got)
			assert_memory_equal(buf, data, (size_t)got);
		if (got == SMALL_N) {
			assert_int_equal(zseg_verify(z, NULL), 0);
			harmless++;
		} else {
			assert_int_equal(got % SMALL_F, 0);
			assert_int_equal(
				zseg_pread(z, buf, 1, (uint64_t)got, &bad),
				-EIO);
			assert_int_equal(bad, (uint64_t)got);
			assert_int_equal(zseg_verify(z, &bad), -EIO);
			assert_int_equal(bad, (uint64_t)got);
			caught++;
		}
		zseg_close(z);
		xor_byte(fd, p, mask);
	}
	print_message("%s: %u frame flips caught, %u harmless\n",
		      json ? "json" : "random", caught, harmless);
	assert_true(harmless * 20 < caught);
	close(fd);
}

static void test_flip_every_byte(void **state)
{
	flip_every_byte(true);
	flip_every_byte(false);
}

/* A torn copy: every shorter length, and one byte more, fail at open. */
static void test_truncated(void **state)
{
	unsigned char data[SMALL_N], *whole;
	int fd = small_zst(data, true);
	uint64_t size = file_size(fd);
	struct zseg *z;

	whole = malloc(size);
	assert_int_equal(pread(fd, whole, size, 0), (ssize_t)size);
	for (uint64_t len = 0; len < size; len++) {
		assert_int_equal(ftruncate(fd, (off_t)len), 0);
		expect_bad(fd, -EUCLEAN, "byte");
		assert_int_equal(pwrite(fd, whole, size, 0), (ssize_t)size);
	}
	assert_int_equal(pwrite(fd, "", 1, (off_t)size), 1);
	expect_bad(fd, -EUCLEAN, "trailer magic");
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	z = must_open(fd);
	check_read(z, data, SMALL_N, 0, SMALL_N);
	zseg_close(z);
	free(whole);
	close(fd);
}

/* Edits with every CRC made right again: the structure checks. */
static void test_resealed(void **state)
{
	unsigned char data[SMALL_N], h[FMT_ZST_HDR_SIZE];
	int fd = small_zst(data, true);
	uint32_t v;

	/* a frame moved by one byte */
	v = ent_get(fd, 1, FMT_ZST_ENT_COFF);
	ent_set(fd, 1, FMT_ZST_ENT_COFF, v + 1);
	reseal(fd);
	expect_bad(fd, -EUCLEAN, "frame 1 (table byte");
	ent_set(fd, 1, FMT_ZST_ENT_COFF, v);
	/* raw lengths that do not tile the raw size */
	v = ent_get(fd, 3, FMT_ZST_ENT_RLEN);
	ent_set(fd, 3, FMT_ZST_ENT_RLEN, v - 1);
	reseal(fd);
	expect_bad(fd, -EUCLEAN, "the header says 1800 at byte 16");
	ent_set(fd, 0, FMT_ZST_ENT_RLEN, SMALL_F + 1);
	ent_set(fd, 3, FMT_ZST_ENT_RLEN, v);
	reseal(fd);
	expect_bad(fd, -EUCLEAN, "raw length 513 is outside 1..512");
	ent_set(fd, 0, FMT_ZST_ENT_RLEN, SMALL_F);
	/* a compressed length the next frame's offset disagrees with */
	v = ent_get(fd, 2, FMT_ZST_ENT_CLEN);
	ent_set(fd, 2, FMT_ZST_ENT_CLEN, v + 1);
	reseal(fd);
	expect_bad(fd, -EUCLEAN, "frame 3 (table byte");
	ent_set(fd, 2, FMT_ZST_ENT_CLEN, v);
	/* the header's raw size */
	assert_int_equal(pread(fd, h, sizeof(h), 0), sizeof(h));
	h[FMT_ZST_HDR_RAWSIZE]++;
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), sizeof(h));
	reseal(fd);
	expect_bad(fd, -EUCLEAN, "frames hold 1800 raw bytes");
	/* another version, with a good CRC */
	h[FMT_ZST_HDR_RAWSIZE]--;
	h[FMT_ZST_HDR_VERSION] = 2;
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), sizeof(h));
	reseal(fd);
	expect_bad(fd, -EPROTONOSUPPORT, "version 2 at byte 8");
	h[FMT_ZST_HDR_VERSION] = 1;
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), sizeof(h));
	reseal(fd);
	zseg_close(must_open(fd));
	close(fd);
}

/* Frames shorter than the header's frame bytes (which readers accept):
 * the damage of each frame is reported once, by the frame that holds the
 * offset, not by offset / frame bytes. */
static void test_report_short_frames(void **state)
{
	unsigned char data[SMALL_N], h[FMT_ZST_HDR_SIZE];
	int fd = small_zst(data, true); /* frames of 512: 0, 512, 1024, 1536 */
	struct zseg *z;

	assert_int_equal(pread(fd, h, sizeof(h), 0), sizeof(h));
	put_le32(h + FMT_ZST_HDR_FRAME, 2 * SMALL_F);
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), sizeof(h));
	reseal(fd);
	z = must_open(fd);
	check_read(z, data, SMALL_N, 0, SMALL_N);
	assert_true(zseg_report_once(z, SMALL_F));	/* frame 1 */
	assert_true(zseg_report_once(z, 0));		/* frame 0 */
	assert_false(zseg_report_once(z, 10));
	assert_true(zseg_report_once(z, 3 * SMALL_F)); /* frame 3 */
	assert_true(zseg_report_once(z, 2 * SMALL_F)); /* frame 2 */
	assert_false(zseg_report_once(z, SMALL_F + 1));
	zseg_close(z);
	close(fd);
}

/* A trailer from another header, and two frames swapped in place: both
 * decode cleanly, but the table's raw CRCs catch it. */
static void test_swapped(void **state)
{
	unsigned char data[SMALL_N], a[SMALL_F * 2], c[SMALL_F * 2];
	int fd = small_zst(data, false); /* equal compressed lengths */
	uint32_t ca = ent_get(fd, 0, FMT_ZST_ENT_COFF);
	uint32_t cb = ent_get(fd, 1, FMT_ZST_ENT_COFF);
	uint32_t len = ent_get(fd, 0, FMT_ZST_ENT_CLEN);
	uint64_t tpos = file_size(fd) - FMT_ZST_TRL_SIZE, bad = 1;
	struct zseg *z;

	assert_int_equal(len, ent_get(fd, 1, FMT_ZST_ENT_CLEN));
	assert_true(len <= sizeof(a));
	assert_int_equal(pread(fd, a, len, ca), (ssize_t)len);
	assert_int_equal(pread(fd, c, len, cb), (ssize_t)len);
	assert_int_equal(pwrite(fd, c, len, ca), (ssize_t)len);
	assert_int_equal(pwrite(fd, a, len, cb), (ssize_t)len);
	z = must_open(fd);
	assert_int_equal(zseg_pread(z, a, 10, 0, &bad), -EIO);
	assert_int_equal(bad, 0);
	assert_int_equal(zseg_pread(z, a, SMALL_F, SMALL_F, &bad), -EIO);
	assert_int_equal(bad, SMALL_F);
	check_read(z, data, SMALL_N, 2 * SMALL_F, SMALL_F);
	zseg_close(z);
	/* the trailer's copy of the header CRC, resealed by hand */
	xor_byte(fd, tpos + FMT_ZST_TRL_HDRCRC, 1);
	{
		unsigned char t[FMT_ZST_TRL_SIZE], tab[4 * FMT_ZST_ENT_SIZE];
		uint64_t table = ent_pos(fd, 0);

		assert_int_equal(tpos - table, sizeof(tab));
		assert_int_equal(pread(fd, tab, sizeof(tab), table),
				 sizeof(tab));
		assert_int_equal(pread(fd, t, sizeof(t), tpos), sizeof(t));
		put_le32(t + FMT_ZST_TRL_CRC,
			 crc32c(crc32c(0, tab, sizeof(tab)), t,
				FMT_ZST_TRL_CRC));
		assert_int_equal(pwrite(fd, t, sizeof(t), tpos), sizeof(t));
	}
	expect_bad(fd, -EUCLEAN, "belongs to another header");
	close(fd);
}

/* Named damage, with the reason a human would read. */
static void test_damaged_meta(void **state)
{
	unsigned char data[SMALL_N];
	int fd = small_zst(data, true);
	uint64_t size = file_size(fd), table = ent_pos(fd, 0);

	xor_byte(fd, 0, 1);
	expect_bad(fd, -EUCLEAN, "header magic at byte 0");
	xor_byte(fd, 0, 1);
	xor_byte(fd, FMT_ZST_HDR_FRAME, 1);
	expect_bad(fd, -EUCLEAN, "header CRC mismatch at byte 28");
	xor_byte(fd, FMT_ZST_HDR_FRAME, 1);
	xor_byte(fd, table + 30, 1);
	expect_bad(fd, -EUCLEAN, "frame table or trailer CRC mismatch");
	xor_byte(fd, table + 30, 1);
	xor_byte(fd, size - 32, 1);
	expect_bad(fd, -EUCLEAN, "trailer magic at byte");
	xor_byte(fd, size - 32, 1);
	xor_byte(fd, size - 32 + FMT_ZST_TRL_FRAMES, 1);
	expect_bad(fd, -EUCLEAN, "does not end at the trailer");
	xor_byte(fd, size - 32 + FMT_ZST_TRL_FRAMES, 1);
	zseg_close(must_open(fd));
	close(fd);
}

/* ---- arguments and edge cases ---------------------------------------- */

static void test_bad_args(void **state)
{
	unsigned char data[1000];
	int src, dst = mem_file(NULL, 0), ro;
	struct zseg *z = NULL;
	char why[128];

	gen_json(data, sizeof(data), 1);
	src = mem_file(data, sizeof(data));
	assert_int_equal(zseg_write(src, 1000, dst, ZSTD_maxCLevel() + 1, F),
			 -EINVAL);
	assert_int_equal(zseg_write(src, 1000, dst, ZSTD_minCLevel() - 1, F),
			 -EINVAL);
	assert_int_equal(zseg_write(src, 1000, dst, 3, 0), -EINVAL);
	assert_int_equal(zseg_write(src, 1000, dst, 3, FMT_ZST_FRAME_MAX + 1),
			 -EINVAL);
	assert_int_equal(zseg_write(-1, 1000, dst, 3, F), -EINVAL);
	assert_int_equal(zseg_write(src, 1000, -1, 3, F), -EINVAL);
	assert_int_equal(file_size(dst), 0);
	/* a source shorter than size */
	assert_int_equal(zseg_write(src, 1001, dst, 3, F), -EIO);
	assert_int_equal(ftruncate(dst, 0), 0);
	/* a destination that cannot be written */
	ro = open("/dev/null", O_RDONLY);
	assert_int_equal(zseg_write(src, 1000, ro, 3, F), -EBADF);
	close(ro);
	/* the biggest frame and the extreme levels work */
	assert_int_equal(zseg_write(src, 1000, dst, 1, FMT_ZST_FRAME_MAX), 0);
	z = must_open(dst);
	assert_int_equal(zseg_frames(z), 1);
	check_read(z, data, 1000, 0, 1000);
	zseg_close(z);
	assert_int_equal(ftruncate(dst, 0), 0);
	assert_int_equal(zseg_write(src, 1000, dst, ZSTD_minCLevel(), 1), 0);
	z = must_open(dst);
	assert_int_equal(zseg_frames(z), 1000);
	check_read(z, data, 1000, 0, 1000);
	check_read(z, data, 1000, 499, 3);
	zseg_close(z);
	/* not a .zst at all, and not a file */
	assert_int_equal(zseg_open(src, &z, why, sizeof(why)), -EUCLEAN);
	assert_int_equal(zseg_open(-1, &z, NULL, 0), -EBADF);
	close(src);
	close(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test_setup_teardown(test_boundaries, big_setup,
						big_teardown),
		cmocka_unit_test_setup_teardown(test_end, big_setup,
						big_teardown),
		cmocka_unit_test_setup_teardown(test_cache, big_setup,
						big_teardown),
		cmocka_unit_test_setup_teardown(test_threads, big_setup,
						big_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_frame, big_setup,
						big_teardown),
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_resealed),
		cmocka_unit_test(test_report_short_frames),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_damaged_meta),
		cmocka_unit_test(test_bad_args),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	zseg_pool_drain();
	return failed;
}
