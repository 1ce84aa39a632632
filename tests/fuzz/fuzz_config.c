/*
 * tests/fuzz/fuzz_config.c - libFuzzer harness for the topic config parser
 * (tfs_config_parse, include/topicfs/store.h): the input is config text,
 * in a buffer of exactly its size (no NUL after it), so any read past len
 * is an ASan report.
 *
 * Oracles beyond the sanitizers: a refused text leaves the config as it
 * was (all or nothing) and says why in a NUL-terminated message; an
 * accepted one formats (tfs_config_format, the persisted form) to text
 * that parses back to the same keys and values, and formats the same
 * again; tfs_config_value and tfs_config_merge take every result.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topicfs/store.h"

#define FZ_TEXT_MAX 4096 /* room for every key's line */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keys set in a and b, and their values, are the same. */
static bool fz_same(const struct tfs_config *a, const struct tfs_config *b)
{
	if (a->set != b->set)
		return false;
	if ((a->set & TFS_CFG_BIT(TFS_CFG_KEY_SEPARATOR)) &&
	    strcmp(a->key_sep, b->key_sep))
		return false;
	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++)
		if ((a->set & TFS_CFG_BIT(k)) && a->v[k] != b->v[k])
			return false;
	return true;
}

static void fz_round_trip(const struct tfs_config *cfg)
{
	static char text[FZ_TEXT_MAX], again[FZ_TEXT_MAX];
	struct tfs_config back, def, merged;
	char err[128] = "", val[64];
	size_t n, m;

	n = tfs_config_format(cfg, false, text, sizeof(text));
	if (n >= sizeof(text))
		abort();
	tfs_config_init(&back);
	if (tfs_config_parse(&back, text, n, err, sizeof(err))) {
		fprintf(stderr, "formatted config refused: %s\n%s", err, text);
		abort();
	}
	if (!fz_same(cfg, &back)) {
		fprintf(stderr, "config changed in a round trip:\n%s", text);
		abort();
	}
	m = tfs_config_format(&back, false, again, sizeof(again));
	if (m != n || memcmp(text, again, n))
		abort();
	/* the annotated form (cat TOPIC/.config) must parse too */
	n = tfs_config_format(cfg, true, text, sizeof(text));
	if (n >= sizeof(text) || tfs_config_parse(&back, text, n, NULL, 0))
		abort();
	tfs_config_init(&def);
	tfs_config_merge(&merged, &def, cfg);
	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++) {
		int w = tfs_config_value(&merged, k, val, sizeof(val));

		/* "" only for an unset key.separator */
		if (w < 0 || (size_t)w >= sizeof(val) ||
		    (!w && (k != TFS_CFG_KEY_SEPARATOR || merged.key_sep[0])) ||
		    !tfs_config_key_name(k))
			abort();
	}
	if (tfs_config_key_name(TFS_CFG_NKEYS))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct tfs_config cfg, before;
	char err[96];
	int rc;

	if (!text)
		abort();
	memcpy(text, data, size);
	tfs_config_init(&cfg);
	/* a config with some keys set already, as a topic's would be */
	if (tfs_config_parse(&cfg, "segment.bytes=1M\nretention.ms=5\n", 32,
			     NULL, 0))
		abort();
	before = cfg;
	memset(err, 'x', sizeof(err));
	rc = tfs_config_parse(&cfg, text, size, err, sizeof(err));
	if (rc && rc != -EINVAL)
		abort();
	if (rc && (memcmp(&cfg, &before, sizeof(cfg)) ||
		   !memchr(err, 0, sizeof(err)) || !err[0]))
		abort(); /* all or nothing, and a reason */
	/* a tiny message buffer, and none */
	err[0] = 'x';
	if (tfs_config_parse(&before, text, size, err, 1) != rc ||
	    (rc && err[0]) ||
	    tfs_config_parse(&before, text, size, NULL, 0) != rc)
		abort();
	if (!rc)
		fz_round_trip(&cfg);
	free(text);
	return 0;
}
