/*
 * tests/unit/test_produce.c - keyed produce, store side: Kafka's murmur2
 * and default partitioner against published vectors, tfs_topic_route
 * (keys, empty keys, binary keys, sticky partitions), and the
 * key.separator config key (escapes, refusals, text form, persistence,
 * mount default).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "topicfs/store.h"
#include "store_helpers.h"
#include "store_fixture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Kafka's own vectors, from its UtilsTest.testMurmur2 (repository
 * apache/kafka, clients/src/test/java/org/apache/kafka/common/utils/
 * UtilsTest.java, commit f55581dc73953c3509a4702433aeeeddc2970779); the
 * last key is the byte array {'a', 'b', 'c'}.  Key lengths 2, 6, 24, 26,
 * 48, 3: tails of 0, 2 and 3 bytes.
 */
static const struct {
	const char *key;
	int32_t hash;
} kafka_vectors[] = {
	{ "21", -973932308 },
	{ "foobar", -790332482 },
	{ "a-little-bit-long-string", -985981536 },
	{ "a-little-bit-longer-string", -1486304829 },
	{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
	{ "abc", 479470107 },
};

/*
 * More vectors, for the 1-byte tail and the empty key that Kafka's list
 * lacks: librdkafka's unittest_murmur2 ("java_murmur2_results"; repository
 * confluentinc/librdkafka, src/rdmurmur2.c, commit
 * 6cbbd2f7aee9cad3be4aea2c169f12b5b3d787b0), as int32 from its hex.  "1234"
 * also agrees with akka's Murmur2Spec (-1614185708).
 */
static const struct {
	const char *key;
	int32_t hash;
} rdkafka_vectors[] = {
	{ "kafka", (int32_t)0xd067cf64 },
	{ "giberish123456789", (int32_t)0x8f552b0c },
	{ "1234", (int32_t)0x9fc97b14 },
	{ "234", (int32_t)0xe7c009ca },
	{ "34", (int32_t)0x873930da },
	{ "4", (int32_t)0x5a4b5ca1 },
	{ "PreAmbleWillBeRemoved,ThePrePartThatIs", (int32_t)0x78424f1c },
	{ "reAmbleWillBeRemoved,ThePrePartThatIs", (int32_t)0x4a62b377 },
	{ "eAmbleWillBeRemoved,ThePrePartThatIs", (int32_t)0xe0e4e09e },
	{ "AmbleWillBeRemoved,ThePrePartThatIs", (int32_t)0x62b8b43f },
	{ "", (int32_t)0x106e08d9 },
};

/* murmur2 of the empty key, from rdkafka_vectors: 275646681, positive. */
#define EMPTY_KEY_HASH 275646681

static void test_murmur2_vectors(void **state)
{
	for (size_t i = 0; i < NELEM(kafka_vectors); i++)
		if (tfs_murmur2(kafka_vectors[i].key,
				strlen(kafka_vectors[i].key)) !=
		    kafka_vectors[i].hash)
			fail_msg("murmur2(\"%s\") = %d, Kafka says %d",
				 kafka_vectors[i].key,
				 tfs_murmur2(kafka_vectors[i].key,
					     strlen(kafka_vectors[i].key)),
				 kafka_vectors[i].hash);
	for (size_t i = 0; i < NELEM(rdkafka_vectors); i++)
		if (tfs_murmur2(rdkafka_vectors[i].key,
				strlen(rdkafka_vectors[i].key)) !=
		    rdkafka_vectors[i].hash)
			fail_msg("murmur2(\"%s\") = %d, librdkafka says %d",
				 rdkafka_vectors[i].key,
				 tfs_murmur2(rdkafka_vectors[i].key,
					     strlen(rdkafka_vectors[i].key)),
				 rdkafka_vectors[i].hash);
	assert_int_equal(tfs_murmur2(NULL, 0), EMPTY_KEY_HASH);
	/* the key's bytes are bytes: a NUL inside counts, and ends nothing */
	assert_int_not_equal(tfs_murmur2("abc\0", 4), tfs_murmur2("abc", 3));
	assert_int_not_equal(tfs_murmur2("a\0c", 3), tfs_murmur2("a\0d", 3));
}

/*
 * Kafka's default partitioner for the vectors above, derived by hand from
 * the hashes: toPositive(h) = h & 0x7fffffff, which for a negative h is
 * h + 2^31 (2147483648); then % n.
 *   "21":   -973932308 + 2^31 = 1173551340;  %3 = 0, %6 = 0, %10 = 0
 *   "foobar": -790332482 + 2^31 = 1357151166; %3 = 0, %6 = 0, %10 = 6
 *   "a-little-bit-long-string": -985981536 + 2^31 = 1161502112;
 *                                              %3 = 2, %6 = 2, %10 = 2
 *   "a-little-bit-longer-string": -1486304829 + 2^31 = 661178819;
 *                                              %3 = 2, %6 = 5, %10 = 9
 *   "lkjh...h8": -58897971 + 2^31 = 2088585677; %3 = 2, %6 = 5, %10 = 7
 *   {'a','b','c'}: 479470107 (positive);       %3 = 0, %6 = 3, %10 = 7
 *   "kafka": 0xd067cf64 & 0x7fffffff = 1348980580 (librdkafka's older
 *     test lists this toPositive value); %3 = 1, %6 = 4, %10 = 0
 *   "4": 0x5a4b5ca1 = 1514888353;               %3 = 1, %6 = 1, %10 = 3
 *   "" (empty key): 0x106e08d9 = 275646681;     %3 = 0, %6 = 3, %10 = 1
 * (The digit sums give %3, the last digit %10, and %6 follows from %2
 * and %3.)
 */
static const struct {
	const char *key;
	uint32_t p3, p6, p10;
} partition_table[] = {
	{ "21", 0, 0, 0 },
	{ "foobar", 0, 0, 6 },
	{ "a-little-bit-long-string", 2, 2, 2 },
	{ "a-little-bit-longer-string", 2, 5, 9 },
	{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 2, 5, 7 },
	{ "abc", 0, 3, 7 },
	{ "kafka", 1, 4, 0 },
	{ "4", 1, 1, 3 },
	{ "", 0, 3, 1 },
};

static void test_partition_table(void **state)
{
	for (size_t i = 0; i < NELEM(partition_table); i++) {
		const char *k = partition_table[i].key;
		uint32_t p3 = tfs_kafka_partition(k, strlen(k), 3),
			 p6 = tfs_kafka_partition(k, strlen(k), 6),
			 p10 = tfs_kafka_partition(k, strlen(k), 10);

		if (p3 != partition_table[i].p3 ||
		    p6 != partition_table[i].p6 ||
		    p10 != partition_table[i].p10)
			fail_msg("\"%s\": %u %u %u, expected %u %u %u", k, p3,
				 p6, p10, partition_table[i].p3,
				 partition_table[i].p6, partition_table[i].p10);
	}
	/* one partition, and the most there can be */
	assert_int_equal(tfs_kafka_partition("21", 2, 1), 0);
	assert_int_equal(tfs_kafka_partition("21", 2, TFS_MAX_PARTITIONS),
			 1173551340u % TFS_MAX_PARTITIONS);
}

/* ---- routing ---------------------------------------------------------- */

/* The fixture's topic "t" with n partitions (it has partition 0). */
static void grow(struct fix *f, uint32_t n)
{
	struct tfs_part *p;

	for (uint32_t i = tfs_topic_partitions(f->t); i < n; i++) {
		assert_int_equal(tfs_part_create(f->t, i, &p), 0);
		tfs_part_put(p, 1);
	}
}

/* Set the topic's config from text; must be accepted. */
static void set(struct fix *f, const char *text)
{
	char why[256] = "";

	if (tfs_topic_config_set(f->t, text, strlen(text), why, sizeof(why)))
		fail_msg("refused %s: %s", text, why);
}

/* Route a record of len bytes; the sticky state must be left alone. */
static int64_t route_keyed(struct fix *f, const char *rec, size_t len)
{
	uint32_t sticky = TFS_STICKY_NONE;
	int64_t p = tfs_topic_route(f->t, rec, len, &sticky);

	assert_int_equal(sticky, TFS_STICKY_NONE);
	return p;
}
#define ROUTE(f, lit) route_keyed(f, lit, sizeof(lit) - 1)

static void test_route_keyed(void **state)
{
	struct fix *f = *state;

	grow(f, 10);
	set(f, "key.separator=:");
	assert_int_equal(ROUTE(f, "foobar:some value"), 6);
	assert_int_equal(ROUTE(f, "abc:x"), 7);
	/* the first separator ends the key */
	assert_int_equal(ROUTE(f, "abc:foobar:x"), 7);
	assert_int_equal(ROUTE(f, "a-little-bit-longer-string:"), 9);
	/* an empty key, at the start, and a record that is just one */
	assert_int_equal(ROUTE(f, ":value"), 1);
	assert_int_equal(ROUTE(f, ":"), 1);
	assert_int_equal(ROUTE(f, "::"), 1);
	/* other separators: tab, a pipe, a comma, two bytes, a non-ASCII
	 * byte */
	set(f, "key.separator=\\t");
	assert_int_equal(ROUTE(f, "kafka\tv:w"), 0);
	assert_int_equal(ROUTE(f, "\t"), 1);
	set(f, "key.separator=|");
	assert_int_equal(
		ROUTE(f, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8|"
			 "v"),
		7);
	set(f, "key.separator=,");
	assert_int_equal(ROUTE(f, "4,5,6"), 3);
	set(f, "key.separator=::");
	assert_int_equal(ROUTE(f, "foobar::x::y"), 6);
	assert_int_equal(ROUTE(f, "foobar:x:::y"),
			 tfs_kafka_partition("foobar:x", 8, 10));
	set(f, "key.separator=\\xff");
	assert_int_equal(ROUTE(f, "abc\xff"), 7);
	/* six partitions: the table's %6 column */
	set(f, "key.separator=:");
	for (uint32_t n = 10; n > 6; n--)
		assert_int_equal(tfs_part_delete(f->t, n - 1), 0);
	assert_int_equal(ROUTE(f, "a-little-bit-longer-string:v"), 5);
	assert_int_equal(ROUTE(f, ":v"), 3);
}

/* Keys are bytes: a NUL in the key or the value is just a byte. */
static void test_route_binary(void **state)
{
	struct fix *f = *state;
	static const char rec1[] = "ab\0c:\0\0v", rec2[] = "\0:x",
			  rec3[] = "foobar:\0";
	/* {'a','b','c'} as raw bytes, Kafka's own array key */
	static const unsigned char rec4[] = { 'a', 'b', 'c', ':', 0xff, 0 };

	grow(f, 10);
	set(f, "key.separator=:");
	assert_int_equal(route_keyed(f, rec1, sizeof(rec1) - 1),
			 tfs_kafka_partition("ab\0c", 4, 10));
	assert_int_equal(route_keyed(f, rec2, sizeof(rec2) - 1),
			 tfs_kafka_partition("\0", 1, 10));
	assert_int_equal(route_keyed(f, rec3, sizeof(rec3) - 1), 6);
	assert_int_equal(route_keyed(f, (const char *)rec4, sizeof(rec4)), 7);
}

/* Records without a key stay on one random partition per open file; a
 * sticky partition that was deleted is chosen again. */
static void test_route_sticky(void **state)
{
	struct fix *f = *state;
	uint32_t sticky = TFS_STICKY_NONE, seen = 0;
	int64_t p, q;

	grow(f, 10);
	/* no separator configured: a ':' is just a byte */
	p = tfs_topic_route(f->t, "foobar:v", 8, &sticky);
	assert_true(p >= 0 && p < 10);
	assert_int_equal(sticky, p);
	for (int i = 0; i < 20; i++)
		assert_int_equal(tfs_topic_route(f->t, "x", 1, &sticky), p);
	/* separator configured, but not in the record: sticky too; a keyed
	 * record in between does not move it */
	set(f, "key.separator=:");
	assert_int_equal(tfs_topic_route(f->t, "no key", 6, &sticky), p);
	assert_int_equal(tfs_topic_route(f->t, "foobar:v", 8, &sticky), 6);
	assert_int_equal(tfs_topic_route(f->t, "", 0, &sticky), p);
	assert_int_equal(tfs_topic_route(f->t, NULL, 0, &sticky), p);
	/* fresh open files spread over the partitions (all 200 on one of
	 * ten would happen with probability 10^-199) */
	for (int i = 0; i < 200; i++) {
		uint32_t s = TFS_STICKY_NONE;

		q = tfs_topic_route(f->t, "v", 1, &s);
		assert_true(q >= 0 && q < 10);
		seen |= 1u << q;
	}
	assert_true(__builtin_popcount(seen) > 1);
	/* partitions deleted under a sticky choice: chosen again, kept */
	sticky = 9;
	for (uint32_t n = 10; n > 3; n--)
		assert_int_equal(tfs_part_delete(f->t, n - 1), 0);
	p = tfs_topic_route(f->t, "v", 1, &sticky);
	assert_true(p >= 0 && p < 3);
	assert_int_equal(sticky, p);
	assert_int_equal(tfs_topic_route(f->t, "v", 1, &sticky), p);
	/* garbage in the state is re-chosen too */
	sticky = 12345;
	p = tfs_topic_route(f->t, "v", 1, &sticky);
	assert_true(p >= 0 && p < 3 && sticky == p);
}

/* Threads that share one open file's state agree on its partition. */
struct race {
	struct tfs_topic *t; /* topic to route in */
	uint32_t *sticky;    /* the shared state */
	int64_t got;	     /* this thread's result */
};

static void *race_run(void *arg)
{
	struct race *r = arg;

	r->got = tfs_topic_route(r->t, "v", 1, r->sticky);
	return NULL;
}

static void test_route_sticky_threads(void **state)
{
	struct fix *f = *state;
	struct race r[4];
	pthread_t th[4];

	grow(f, 100);
	for (int round = 0; round < 20; round++) {
		uint32_t sticky = TFS_STICKY_NONE;

		for (int i = 0; i < 4; i++) {
			r[i] = (struct race){ f->t, &sticky, -1 };
			assert_int_equal(
				pthread_create(&th[i], NULL, race_run, &r[i]),
				0);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		for (int i = 0; i < 4; i++)
			assert_int_equal(r[i].got, sticky);
	}
}

/* No partitions, or a deleted topic: -ENOENT, and no state chosen. */
static void test_route_no_partitions(void **state)
{
	struct fix *f = *state;
	struct tfs_topic *u;
	uint32_t sticky = TFS_STICKY_NONE;

	assert_int_equal(tfs_topic_create(f->st, "u", &u), 0);
	assert_int_equal(tfs_topic_route(u, "k:v", 3, &sticky), -ENOENT);
	assert_int_equal(
		tfs_topic_config_set(u, "key.separator=:", 15, NULL, 0), 0);
	assert_int_equal(tfs_topic_route(u, "k:v", 3, &sticky), -ENOENT);
	assert_int_equal(tfs_topic_route(u, "v", 1, &sticky), -ENOENT);
	assert_int_equal(sticky, TFS_STICKY_NONE);
	assert_int_equal(tfs_topic_delete(f->st, "u"), 0);
	assert_int_equal(tfs_topic_route(u, "k:v", 3, &sticky), -ENOENT);
	tfs_topic_put(u, 1);
}

/* ---- key.separator ---------------------------------------------------- */

static int parse(struct tfs_config *c, const char *text)
{
	return tfs_config_parse(c, text, strlen(text), NULL, 0);
}

/* The escapes, and the text form that parses back to the same bytes. */
static void test_sep_escapes(void **state)
{
	static const struct {
		const char *in;	  /* the value as written */
		const char *sep;  /* the bytes */
		const char *text; /* tfs_config_value */
	} cases[] = {
		{ ":", ":", ":" },
		{ "|", "|", "|" },
		{ ",", ",", "," },
		{ "=", "=", "=" },
		{ "\\t", "\t", "\\t" },
		{ "\\n", "\n", "\\n" },
		{ "\\r\\n", "\r\n", "\\r\\n" },
		{ "\\\\", "\\", "\\\\" },
		{ "\\x20", " ", "\\x20" },
		{ "\\x23", "#", "\\x23" },
		{ "\\x3A", ":", ":" },
		{ "\\xfF", "\xff", "\\xff" },
		{ "\\x01", "\x01", "\\x01" },
		{ "a\tb", "a\tb", "a\\tb" }, /* a raw tab inside is kept */
		{ "\xe2\x86\x92", "\xe2\x86\x92", "\\xe2\\x86\\x92" },
		{ "12345678", "12345678", "12345678" },
		{ "\\t\\t\\t\\t\\t\\t\\t\\t", "\t\t\t\t\t\t\t\t",
		  "\\t\\t\\t\\t\\t\\t\\t\\t" },
		{ "  ::  # two colons", "::", "::" },
	};
	char line[128], val[64];

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct tfs_config c, back;
		int w;

		tfs_config_init(&c);
		snprintf(line, sizeof(line), "key.separator=%s", cases[i].in);
		if (parse(&c, line) || strcmp(c.key_sep, cases[i].sep))
			fail_msg("%s: parsed to '%s'", line, c.key_sep);
		assert_int_equal(c.set, TFS_CFG_BIT(TFS_CFG_KEY_SEPARATOR));
		w = tfs_config_value(&c, TFS_CFG_KEY_SEPARATOR, val,
				     sizeof(val));
		assert_int_equal(w, strlen(cases[i].text));
		assert_string_equal(val, cases[i].text);
		/* the persisted form round-trips */
		tfs_config_format(&c, false, line, sizeof(line));
		tfs_config_init(&back);
		assert_int_equal(parse(&back, line), 0);
		assert_memory_equal(&back, &c, sizeof(c));
	}
}

static void test_sep_refusals(void **state)
{
	static const char *const bad[] = {
		"key.separator=123456789", /* 9 bytes */
		"key.separator=\\t\\t\\t\\t\\t\\t\\t\\t\\t",
		"key.separator=\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92",
		"key.separator=\\q",
		"key.separator=\\0",
		"key.separator=\\x00",
		"key.separator=\\x0",
		"key.separator=\\x",
		"key.separator=\\xg1",
		"key.separator=a\\",
		"key.separator=\\ ",
		"flush.ms=5\nkey.separator=\\e", /* all or nothing */
	};
	struct tfs_config c, before;
	char why[256];

	tfs_config_init(&c);
	assert_int_equal(parse(&c, "key.separator=|"), 0);
	before = c;
	for (size_t i = 0; i < NELEM(bad); i++) {
		why[0] = '\0';
		if (tfs_config_parse(&c, bad[i], strlen(bad[i]), why,
				     sizeof(why)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		if (!strstr(why, "key.separator"))
			fail_msg("no reason for: %s (%s)", bad[i], why);
		assert_memory_equal(&c, &before, sizeof(c));
	}
	tfs_config_parse(&c, bad[0], strlen(bad[0]), why, sizeof(why));
	assert_string_equal(
		why, "key.separator: '123456789' is longer than 8 bytes");
	tfs_config_parse(&c, bad[3], strlen(bad[3]), why, sizeof(why));
	assert_non_null(strstr(why, "bad escape in '\\q'"));
}

/* "key.separator=" returns to the default (none, or the mount's); the
 * merge takes the topic's own over the default; the annotated text. */
static void test_sep_reset_merge(void **state)
{
	struct tfs_config c, d, eff;
	char buf[2048];

	tfs_config_init(&c);
	assert_string_equal(c.key_sep, "");
	assert_int_equal(parse(&c, "key.separator=:\nretention.ms=5"), 0);
	assert_string_equal(c.key_sep, ":");
	tfs_config_init(&d);
	assert_int_equal(parse(&d, "key.separator=\\t"), 0);
	tfs_config_merge(&eff, &d, &c);
	assert_string_equal(eff.key_sep, ":");
	tfs_config_format(&eff, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nkey.separator=:\n"));
	assert_int_equal(parse(&c, "key.separator="), 0);
	assert_string_equal(c.key_sep, "");
	assert_int_equal(c.set, TFS_CFG_BIT(TFS_CFG_RETENTION_MS));
	tfs_config_merge(&eff, &d, &c);
	assert_string_equal(eff.key_sep, "\t");
	tfs_config_format(&eff, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nkey.separator=\\t  # default\n"));
	/* no separator anywhere: an empty value, which parses back */
	tfs_config_init(&d);
	tfs_config_merge(&eff, &d, &c);
	tfs_config_format(&eff, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nkey.separator=  # default\n"));
	assert_int_equal(parse(&d, buf), 0);
	assert_int_equal(
		tfs_config_value(&eff, TFS_CFG_KEY_SEPARATOR, buf, sizeof(buf)),
		0);
	/* the persisted form leaves it out */
	tfs_config_format(&c, false, buf, sizeof(buf));
	assert_string_equal(buf, "retention.ms=5\n");
	assert_string_equal(tfs_config_key_name(TFS_CFG_KEY_SEPARATOR),
			    "key.separator");
}

/* The topic's key.separator is written to DATADIR/TOPIC/.config as
 * escaped text, survives a reopen, and routes at once. */
static void test_sep_persist(void **state)
{
	struct fix *f = *state;
	struct tfs_config c;
	char path[4200], text[256];
	FILE *fp;
	size_t n;

	grow(f, 10);
	set(f, "key.separator=\\t");
	assert_int_equal(ROUTE(f, "foobar\tv"), 6);
	fix_close(f);
	snprintf(path, sizeof(path), "%s/t/.config", f->dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	assert_non_null(strstr(text, "\nkey.separator=\\t\n"));
	fix_open(f);
	tfs_topic_config(f->t, &c);
	assert_string_equal(c.key_sep, "\t");
	assert_int_equal(ROUTE(f, "foobar\tv"), 6);
	/* reset: no key any more */
	set(f, "key.separator=");
	{
		uint32_t sticky = TFS_STICKY_NONE;

		assert_true(tfs_topic_route(f->t, "foobar\tv", 8, &sticky) >=
			    0);
		assert_int_not_equal(sticky, TFS_STICKY_NONE);
	}
}

/* A mount default: every topic keys by it until its own .config says
 * otherwise; "key.separator=" goes back to the mount's. */
static void test_sep_mount_default(void **state)
{
	struct fix *f = *state;
	struct tfs_store_opts bad;

	fix_close(f);
	assert_int_equal(parse(&f->o.cfg, "key.separator=|"), 0);
	f->o.cfg.set = 0;
	fix_open(f);
	grow(f, 10);
	assert_int_equal(ROUTE(f, "foobar|v"), 6);
	set(f, "key.separator=:");
	assert_int_equal(ROUTE(f, "foobar:v"), 6);
	set(f, "key.separator=");
	assert_int_equal(ROUTE(f, "abc|v"), 7);
	fix_close(f);
	/* options whose separator is not terminated are refused */
	bad = f->o;
	memset(bad.cfg.key_sep, 'x', sizeof(bad.cfg.key_sep));
	assert_int_equal(tfs_store_open(f->dir, &bad, &f->st), -EINVAL);
	f->st = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_murmur2_vectors),
		cmocka_unit_test(test_partition_table),
		cmocka_unit_test_setup_teardown(test_route_keyed, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_route_binary, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_route_sticky, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_route_sticky_threads,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_route_no_partitions,
						fix_setup, fix_teardown),
		cmocka_unit_test(test_sep_escapes),
		cmocka_unit_test(test_sep_refusals),
		cmocka_unit_test(test_sep_reset_merge),
		cmocka_unit_test_setup_teardown(test_sep_persist, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_sep_mount_default,
						fix_setup, fix_teardown),
	};

	return cmocka_run_group_tests_name("produce", tests, NULL, NULL);
}
