/*
 * store/crc32c.h - CRC32C (Castagnoli, reflected polynomial 0x82F63B78),
 * the checksum of index headers, index entries and record data.
 */
#ifndef TOPICFS_STORE_CRC32C_H
#define TOPICFS_STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC32C of len bytes at buf, continuing from crc (0 to start):
 * crc32c(crc32c(0, a, n), b, m) == CRC of a followed by b.  Uses
 * crc32c_fold() or the SSE4.2 instruction when the CPU has them, else
 * crc32c_sw(). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The table-driven (slicing-by-8) implementation, same contract. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* The SSE4.2 implementation; only call when crc32c_have_hw(). */
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
/* The carry-less multiply fold for 512 bytes and more (crc32c_hw for less);
 * only call when crc32c_have_fold(). */
uint32_t crc32c_fold(uint32_t crc, const void *buf, size_t len);
/* 1 if this CPU has the SSE4.2 crc32 instruction, else 0. */
int crc32c_have_hw(void);
/* 1 if it also has AVX-512 with VPCLMULQDQ (crc32c_fold), else 0. */
int crc32c_have_fold(void);

#endif /* TOPICFS_STORE_CRC32C_H */
