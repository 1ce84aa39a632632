/*
 * store/crc32c.c - CRC32C: the SSE4.2 crc32 instruction when the CPU has
 * it (checked once at run time), else slicing-by-8 tables built once.
 *
 * The instruction has a latency of three cycles but a throughput of one,
 * so long buffers are cut into three lanes computed at once and joined
 * with "shift" tables: the CRC register of A||B is the register of A
 * advanced over |B| zero bytes, xor the register of B started at zero.
 * Advancing over a fixed length is linear, so it is four table lookups.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_X86 1
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

#define CRC32C_LONG  8192u /* lane length for long buffers */
#define CRC32C_SHORT 256u  /* lane length for the rest */

static uint32_t crc32c_tab[8][256]; /* slicing tables; set by crc32c_init */
static uint32_t crc32c_long[4][256];  /* advance over CRC32C_LONG zeros */
static uint32_t crc32c_short[4][256]; /* advance over CRC32C_SHORT zeros */
static int crc32c_hw_ok;	    /* CPU has SSE4.2; set by crc32c_init */
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

/* Fill t so crc32c_shift(t, v) advances register v over n zero bytes:
 * work out the images of the 32 one-bit registers, then combine them. */
static void crc32c_shift_init(uint32_t t[4][256], size_t n)
{
	uint32_t bit[32];

	for (int i = 0; i < 32; i++) {
		uint32_t c = 1u << i;

		for (size_t k = 0; k < n; k++)
			c = crc32c_tab[0][c & 0xff] ^ (c >> 8);
		bit[i] = c;
	}
	for (int k = 0; k < 4; k++) {
		for (uint32_t b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (int i = 0; i < 8; i++)
				if (b & (1u << i))
					v ^= bit[8 * k + i];
			t[k][b] = v;
		}
	}
}

static inline uint32_t crc32c_shift(const uint32_t t[4][256], uint32_t v)
{
	return t[0][v & 0xff] ^ t[1][(v >> 8) & 0xff] ^
	       t[2][(v >> 16) & 0xff] ^ t[3][v >> 24];
}

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc32c_tab[0][i] = c;
	}
	for (int t = 1; t < 8; t++) {
		for (int i = 0; i < 256; i++) {
			uint32_t c = crc32c_tab[t - 1][i];

			crc32c_tab[t][i] = (c >> 8) ^ crc32c_tab[0][c & 0xff];
		}
	}
#ifdef CRC32C_X86
	crc32c_hw_ok = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (crc32c_hw_ok) {
		crc32c_shift_init(crc32c_long, CRC32C_LONG);
		crc32c_shift_init(crc32c_short, CRC32C_SHORT);
	}
#endif
}

int crc32c_have_hw(void)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_hw_ok;
}

static uint32_t crc32c_sw_byte(uint32_t c, unsigned char b)
{
	return crc32c_tab[0][(c ^ b) & 0xff] ^ (c >> 8);
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;

	pthread_once(&crc32c_once, crc32c_init);
	while (len && ((uintptr_t)p & 7)) {
		c = crc32c_sw_byte(c, *p++);
		len--;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= c;
		c = crc32c_tab[7][v & 0xff] ^ crc32c_tab[6][(v >> 8) & 0xff] ^
		    crc32c_tab[5][(v >> 16) & 0xff] ^
		    crc32c_tab[4][(v >> 24) & 0xff] ^
		    crc32c_tab[3][(v >> 32) & 0xff] ^
		    crc32c_tab[2][(v >> 40) & 0xff] ^
		    crc32c_tab[1][(v >> 48) & 0xff] ^ crc32c_tab[0][v >> 56];
	}
#endif
	while (len--)
		c = crc32c_sw_byte(c, *p++);
	return ~c;
}

#ifdef CRC32C_X86
static inline uint64_t crc32c_ld64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Three lanes of blk bytes (a multiple of 8) from register c; t advances
 * over blk zero bytes. */
__attribute__((target("sse4.2"))) static uint64_t
crc32c_lanes(uint64_t c, const unsigned char *p, size_t blk,
	     const uint32_t t[4][256])
{
	const unsigned char *end = p + blk;
	uint64_t c1 = 0, c2 = 0;

	for (; p < end; p += 8) {
		c = _mm_crc32_u64(c, crc32c_ld64(p));
		c1 = _mm_crc32_u64(c1, crc32c_ld64(p + blk));
		c2 = _mm_crc32_u64(c2, crc32c_ld64(p + 2 * blk));
	}
	c = crc32c_shift(t, (uint32_t)c) ^ c1;
	return crc32c_shift(t, (uint32_t)c) ^ c2;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	for (; len >= 3 * CRC32C_LONG; p += 3 * CRC32C_LONG, len -= 3 * CRC32C_LONG)
		c = crc32c_lanes(c, p, CRC32C_LONG, crc32c_long);
	for (; len >= 3 * CRC32C_SHORT;
	     p += 3 * CRC32C_SHORT, len -= 3 * CRC32C_SHORT)
		c = crc32c_lanes(c, p, CRC32C_SHORT, crc32c_short);
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
#ifdef CRC32C_X86
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_sse42(crc, buf, len);
#else
	return crc32c_sw(crc, buf, len);
#endif
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (crc32c_have_hw())
		return crc32c_hw(crc, buf, len);
	return crc32c_sw(crc, buf, len);
}
