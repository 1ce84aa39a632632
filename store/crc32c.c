/*
 * store/crc32c.c - CRC32C: the SSE4.2 crc32 instruction when the CPU has
 * it (checked once at run time), else slicing-by-8 tables built once.
 *
 * The instruction has a latency of three cycles but a throughput of one,
 * so long buffers are cut into three lanes computed at once and joined
 * with "shift" tables: the CRC register of A||B is the register of A
 * advanced over |B| zero bytes, xor the register of B started at zero.
 * Advancing over a fixed length is linear, so it is four table lookups.
 *
 * Where the CPU has AVX-512 and VPCLMULQDQ, buffers of 512 bytes or more
 * are folded with carry-less multiplies instead (crc32c_fold512, about
 * twice the three lanes' speed on 1 MiB here); the crc32 instruction then
 * reduces the last 16 bytes of the fold and takes the tail.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_X86 1
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define CRC32C_FOLD 1
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

#define CRC32C_LONG  8192u /* lane length for long buffers */
#define CRC32C_SHORT 256u  /* lane length for the rest */

static uint32_t crc32c_tab[8][256]; /* slicing tables; set by crc32c_init */
static uint32_t crc32c_long[4][256];  /* advance over CRC32C_LONG zeros */
static uint32_t crc32c_short[4][256]; /* advance over CRC32C_SHORT zeros */
static int crc32c_hw_ok;	    /* CPU has SSE4.2; set by crc32c_init */
static int crc32c_fold_ok; /* ... and AVX-512 with VPCLMULQDQ */
/* Fold constants, one 512-bit register each (four 128-bit lanes of
 * {low qword, high qword}); see crc32c_fold_init. */
static uint64_t crc32c_k2048[8] __attribute__((aligned(64)));
static uint64_t crc32c_k512[8] __attribute__((aligned(64)));
static uint64_t crc32c_klanes[8] __attribute__((aligned(64)));
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

/*
 * The fold.  Read 16 bytes little-endian as a 128-bit register R with bit
 * i standing for x^(127-i) (the CRC is reflected: the first byte's low bit
 * is the highest power).  Its low qword is then H and its high qword L in
 * R(x) = H(x) x^64 + L(x).  Moving R forward over d bits of message means
 * R x^d = H x^(d+64) + L x^d, and mod P that is H k1 + L k2 with
 * k1 = x^(d+64) mod P, k2 = x^d mod P: under 96 bits, so it is xored into
 * the 128 bits found d bits further on.  A carry-less multiply of a
 * reflected qword by a constant whose bit j stands for x^(32-j) leaves bit
 * m standing for x^(95-m), which is x^-32 times the register's weight, so
 * the constants are taken 32 powers higher: x^(d+32) for H (multiplied
 * with the low qword) and x^(d-32) for L.  Each is under x^32, so in that
 * form it fits bits 1..32.  Four 512-bit registers take 256 bytes a step
 * (d = 2048 bits), are folded into one (d = 512), and its four 128-bit
 * lanes into the last (d = 384, 256, 128).  What is left, A, stands for
 * the message so far, and crc32 over its 16 bytes from zero is
 * A x^32 mod P: the CRC register, from which the instruction goes on.
 * The caller's starting register is xored into the first four bytes.
 */
static uint64_t crc32c_xpow(unsigned n)
{
	uint32_t r = 1; /* x^n mod P, P = 0x1EDC6F41 in the normal form */
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		r = (r << 1) ^ ((r & 0x80000000u) ? 0x1EDC6F41u : 0);
	for (int d = 0; d < 32; d++)
		if (r & (1u << d))
			v |= 1ull << (32 - d);
	return v;
}

static void crc32c_fold_init(void)
{
	for (int l = 0; l < 4; l++) {
		unsigned d = 128 * (unsigned)(3 - l);

		crc32c_k2048[2 * l] = crc32c_xpow(2048 + 32);
		crc32c_k2048[2 * l + 1] = crc32c_xpow(2048 - 32);
		crc32c_k512[2 * l] = crc32c_xpow(512 + 32);
		crc32c_k512[2 * l + 1] = crc32c_xpow(512 - 32);
		crc32c_klanes[2 * l] = d ? crc32c_xpow(d + 32) : 0;
		crc32c_klanes[2 * l + 1] = d ? crc32c_xpow(d - 32) : 0;
	}
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
#ifdef CRC32C_FOLD
	crc32c_fold_ok = crc32c_hw_ok && __builtin_cpu_supports("avx512f") &&
			 __builtin_cpu_supports("vpclmulqdq");
	if (crc32c_fold_ok)
		crc32c_fold_init();
#endif
}

int crc32c_have_hw(void)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_hw_ok;
}

int crc32c_have_fold(void)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_fold_ok;
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

#ifdef CRC32C_FOLD
#define CRC32C_FOLD_TARGET                                                     \
	__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))

/* a moved forward over the distance k stands for, xored into next */
CRC32C_FOLD_TARGET static inline __m512i crc32c_fold1(__m512i a, __m512i k,
						     __m512i next)
{
	__m512i lo = _mm512_clmulepi64_epi128(a, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(a, k, 0x11);

	return _mm512_ternarylogic_epi64(lo, hi, next, 0x96); /* 3-way xor */
}

CRC32C_FOLD_TARGET static uint32_t crc32c_fold512(uint32_t crc,
						  const unsigned char *p,
						  size_t len)
{
	const __m512i k2048 = _mm512_load_si512(crc32c_k2048);
	const __m512i k512 = _mm512_load_si512(crc32c_k512);
	const __m512i klanes = _mm512_load_si512(crc32c_klanes);
	__m512i a0, a1, a2, a3, x;
	__m128i r;
	uint64_t c;

	a0 = _mm512_loadu_si512(p);
	a1 = _mm512_loadu_si512(p + 64);
	a2 = _mm512_loadu_si512(p + 128);
	a3 = _mm512_loadu_si512(p + 192);
	a0 = _mm512_xor_si512(a0, _mm512_castsi128_si512(
					  _mm_cvtsi32_si128((int)~crc)));
	for (p += 256, len -= 256; len >= 256; p += 256, len -= 256) {
		a0 = crc32c_fold1(a0, k2048, _mm512_loadu_si512(p));
		a1 = crc32c_fold1(a1, k2048, _mm512_loadu_si512(p + 64));
		a2 = crc32c_fold1(a2, k2048, _mm512_loadu_si512(p + 128));
		a3 = crc32c_fold1(a3, k2048, _mm512_loadu_si512(p + 192));
	}
	a1 = crc32c_fold1(a0, k512, a1);
	a2 = crc32c_fold1(a1, k512, a2);
	a3 = crc32c_fold1(a2, k512, a3);
	/* lanes 0-2 of a3 into lane 3 (klanes is zero for lane 3) */
	x = _mm512_xor_si512(_mm512_clmulepi64_epi128(a3, klanes, 0x00),
			     _mm512_clmulepi64_epi128(a3, klanes, 0x11));
	r = _mm_xor_si128(_mm512_extracti32x4_epi32(a3, 3),
			  _mm512_castsi512_si128(x));
	r = _mm_xor_si128(r, _mm512_extracti32x4_epi32(x, 1));
	r = _mm_xor_si128(r, _mm512_extracti32x4_epi32(x, 2));
	c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r));
	c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(r, 1));
	return crc32c_sse42(~(uint32_t)c, p, len);
}
#endif

uint32_t crc32c_fold(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
#ifdef CRC32C_FOLD
	if (crc32c_fold_ok && len >= 512)
		return crc32c_fold512(crc, buf, len);
#endif
	return crc32c_hw(crc, buf, len);
}

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
	/* every append takes this: one pthread_once, then the best path */
	pthread_once(&crc32c_once, crc32c_init);
#ifdef CRC32C_FOLD
	if (crc32c_fold_ok && len >= 512)
		return crc32c_fold512(crc, buf, len);
#endif
#ifdef CRC32C_X86
	if (crc32c_hw_ok)
		return crc32c_sse42(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}
