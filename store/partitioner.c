/*
 * store/partitioner.c - which partition a record written to TOPIC/.produce
 * goes to: Kafka's default partitioner (murmur2 of the key) for keyed
 * records, and a sticky random partition per open file for the rest.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

/* Kafka's murmur2 constants (Utils.murmur2). */
#define PTN_SEED 0x9747b28cu
#define PTN_M	 0x5bd1e995u
#define PTN_R	 24

/* Little-endian 32-bit word at p, as Kafka reads the key's bytes. */
static uint32_t ptn_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int32_t tfs_murmur2(const void *key, size_t len)
{
	const unsigned char *b = key;
	size_t body = len & ~(size_t)3;
	/* Java's int length: keys never reach 2^31 bytes (one record) */
	uint32_t h = PTN_SEED ^ (uint32_t)len;

	for (size_t i = 0; i < body; i += 4) {
		uint32_t k = ptn_le32(b + i);

		k *= PTN_M;
		k ^= k >> PTN_R; /* Java's >>> on an int: unsigned here */
		k *= PTN_M;
		h *= PTN_M;
		h ^= k;
	}
	/* the last len % 4 bytes, highest first, then one multiply */
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)b[body + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)b[body + 1] << 8;
		/* fall through */
	case 1:
		h ^= b[body];
		h *= PTN_M;
	}
	h ^= h >> 13;
	h *= PTN_M;
	h ^= h >> 15;
	/* Java's int: the same bits, read as two's complement */
	return h <= INT32_MAX ? (int32_t)h : -(int32_t)~h - 1;
}

uint32_t tfs_kafka_partition(const void *key, size_t len, uint32_t n)
{
	assert(n > 0);
	return ((uint32_t)tfs_murmur2(key, len) & 0x7fffffffu) % n;
}

/* A random number for a sticky choice: the kernel's, or, should
 * getrandom fail, the clock (a fair spread is all that is needed). */
static uint64_t ptn_random(void)
{
	struct timespec ts;
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
	return r * 0x9e3779b97f4a7c15u;
}

/* The sticky partition below n in *sticky, chosen at random if it has
 * none or one that is gone.  Concurrent callers sharing *sticky end up
 * with the same choice: the first to store one wins (a compare-and-swap
 * on the plain uint32_t with GCC's __atomic builtins). */
static uint32_t ptn_sticky(uint32_t *sticky, uint32_t n)
{
	uint32_t cur = __atomic_load_n(sticky, __ATOMIC_RELAXED), pick;

	while (cur >= n) { /* TFS_STICKY_NONE, or a deleted partition */
		pick = (uint32_t)(ptn_random() % n);
		if (__atomic_compare_exchange_n(sticky, &cur, pick, false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return pick;
	}
	return cur;
}

int64_t tfs_topic_route(struct tfs_topic *t, const void *buf, size_t len,
			uint32_t *sticky)
{
	char sep[TFS_KEY_SEP_MAX];
	size_t seplen = topic_key_sep(t, sep);
	/* memmem's haystack must not be NULL, even for len 0 */
	const char *at = seplen && len ? memmem(buf, len, sep, seplen) : NULL;
	uint32_t n;

	pthread_mutex_lock(&t->lock);
	n = t->deleted ? 0 : t->nparts;
	pthread_mutex_unlock(&t->lock);
	if (!n)
		return -ENOENT;
	if (at)
		return tfs_kafka_partition(buf,
					   (size_t)(at - (const char *)buf), n);
	return ptn_sticky(sticky, n);
}
