/*
 * store/crc32c.c - CRC32C: the SSE4.2 crc32 instruction when the CPU has
 * it (checked once at run time), else slicing-by-8 tables built once.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_X86 1
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t crc32c_tab[8][256]; /* slicing tables; set by crc32c_init */
static int crc32c_hw_ok;	    /* CPU has SSE4.2; set by crc32c_init */
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

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
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
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
