/*
 * fs/opts.c - the command line: usage text, option table, value parsing.
 * The usage text and docs/topicfs.1 must say the same things.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

void tfs_usage(FILE *f)
{
	fputs("usage: topicfs [options] DATADIR MOUNTPOINT\n"
	      "\n"
	      "Mount the commit log kept in DATADIR at MOUNTPOINT.  Topics are\n"
	      "directories, partitions are files named 0, 1, 2, ...: append with\n"
	      "write() (echo >>), read at byte offsets with any file tool.\n"
	      "\n"
	      "options:\n"
	      "    -h, --help            print this help and exit\n"
	      "    -V, --version         print the version and exit\n"
	      "    -f                    stay in the foreground, log to stderr\n"
	      "    -d                    debug: -f, and print every FUSE request\n"
	      "    -s                    serve requests from a single thread\n"
	      "    -o opt[,opt...]       mount options:\n"
	      "       topic defaults (a topic's .config file overrides them):\n"
	      "       retention.ms=T     delete sealed segments whose newest record is\n"
	      "                          older than T ms (default -1: keep forever)\n"
	      "       retention.bytes=N  per partition: delete the oldest sealed segments\n"
	      "                          while the rest still hold N bytes (K, M, G, T\n"
	      "                          suffixes; default -1: no limit)\n"
	      "       segment.bytes=N    roll segments at N bytes (default 64M, at least 4K)\n"
	      "       segment.ms=T       roll a segment whose first record is T ms old\n"
	      "                          (default 604800000: 7 days)\n"
	      "       compression=C      none or zstd: recompress sealed segments in the\n"
	      "                          background (default none)\n"
	      "       compression.level=L  zstd level 1..19 (default 3)\n"
	      "       flush.messages=N   fdatasync a partition after N unsynced appends\n"
	      "                          (default 0: leave it to the OS; fsync() syncs)\n"
	      "       flush.ms=T         fdatasync partitions with unsynced appends\n"
	      "                          every T milliseconds (default 0: off)\n"
	      "       max.message.bytes=N  refuse larger records with EMSGSIZE (default\n"
	      "                          1M, at most 16M)\n"
	      "       key.separator=S    TOPIC/.produce keys a record by its bytes\n"
	      "                          before the first S and picks the partition as\n"
	      "                          Kafka does; S is 1 to 8 bytes, escapes \\t \\n\n"
	      "                          \\r \\\\ \\xHH (in -o, double each backslash and\n"
	      "                          write a comma as \\,; default none: no keys)\n"
	      "       other options:\n"
	      "       nosplice           copy read replies instead of splicing them, in\n"
	      "                          1 MiB requests, and leave fs.pipe-max-size and\n"
	      "                          fs.fuse.max_pages_limit alone\n"
	      "       stream             stream mode: the kernel's writeback cache takes\n"
	      "                          appends (a record is a flush, not a write();\n"
	      "                          unflushed appends die with the daemon; no\n"
	      "                          conditional append)\n"
	      "       writeback.ms=T     stream mode: push cached appends to the store\n"
	      "                          at least every T milliseconds (default 100)\n"
	      "       allow_other        let other users use the mount (FUSE option;\n"
	      "                          see fuse(8) for the others)\n",
	      f);
}

static int parse_num(const char *s, uint64_t *out, const char **rest)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	*rest = end;
	return 0;
}

int tfs_parse_count(const char *s, uint64_t *out)
{
	const char *rest;
	int err = parse_num(s, out, &rest);

	if (err)
		return err;
	return *rest ? -EINVAL : 0;
}

enum { KEY_HELP, KEY_VERSION, KEY_FG, KEY_SINGLE, KEY_DEBUG };

#define TFS_OPT(t, field, v) { t, offsetof(struct tfs_cli, field), v }

static const struct fuse_opt cli_spec[] = {
	TFS_OPT("nosplice", nosplice, 1),
	TFS_OPT("stream", stream, 1),
	TFS_OPT("writeback.ms=%s", writeback_ms, 0),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_END
};

/* A topic config key as a mount option sets the default of every topic;
 * anything else is a FUSE option (fuse_session_new judges it). */
static int cli_config(struct tfs_cli *cli, const char *arg)
{
	const char *eq = strchr(arg, '='), *bad = NULL;
	char why[256];

	for (unsigned k = 0; eq && tfs_config_key_name(k); k++) {
		const char *name = tfs_config_key_name(k);

		if (strlen(name) != (size_t)(eq - arg) ||
		    strncmp(arg, name, (size_t)(eq - arg)))
			continue;
		if (!eq[1])
			bad = "no value";
		else if (strchr(arg, '#')) /* a comment: would drop the rest */
			bad = "a '#' (write \\x23)";
		else if (strchr(arg, '\n'))
			bad = "a newline";
		else if (tfs_config_parse(&cli->cfg, arg, strlen(arg), why,
					  sizeof(why)))
			bad = why;
		if (bad) {
			fprintf(stderr,
				"topicfs: bad option %s: %s (see 'topicfs -h')\n",
				arg, bad);
			return -1;
		}
		return 0;
	}
	return 1;
}

static int cli_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct tfs_cli *cli = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!cli->datadir) {
			cli->datadir = strdup(arg);
			return 0;
		}
		if (!cli->mountpoint) {
			cli->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr,
			"topicfs: unexpected argument '%s' (see 'topicfs -h')\n",
			arg);
		return -1;
	case KEY_HELP:
		cli->show_help = 1;
		return 0;
	case KEY_VERSION:
		cli->show_version = 1;
		return 0;
	case KEY_FG:
		cli->foreground = 1;
		return 0;
	case KEY_SINGLE:
		cli->single = 1;
		return 0;
	case KEY_DEBUG:
		cli->foreground = 1;
		return 1; /* libfuse prints the requests */
	default:
		return cli_config(cli, arg);
	}
}

/* Parse one option value with fn into *out; 0 or -EINVAL with a message. */
static int opt_value(const char *name, const char *val,
		     int (*fn)(const char *, uint64_t *), uint64_t *out)
{
	if (!val)
		return 0;
	if (fn(val, out) == 0)
		return 0;
	fprintf(stderr, "topicfs: bad value '%s' for %s (see 'topicfs -h')\n",
		val, name);
	return -EINVAL;
}

int tfs_cli_parse(struct fuse_args *args, struct tfs_cli *cli,
		  struct tfs_store_opts *so)
{
	uint64_t wb = TFS_WRITEBACK_MS_DEFAULT;

	tfs_store_opts_init(so);
	tfs_config_init(&cli->cfg);
	if (fuse_opt_parse(args, cli, cli_spec, cli_proc) == -1)
		return -EINVAL;
	so->cfg = cli->cfg;
	so->cfg.set = 0;
	if (opt_value("writeback.ms", cli->writeback_ms, tfs_parse_count, &wb))
		return -EINVAL;
	if (wb < 1 || wb > 3600000) {
		fprintf(stderr,
			"topicfs: writeback.ms=%s is outside 1..3600000 (see 'topicfs -h')\n",
			cli->writeback_ms);
		return -EINVAL;
	}
	cli->writeback = (unsigned)wb;
	if (cli->show_help || cli->show_version)
		return 0;
	if (!cli->datadir || !cli->mountpoint) {
		fprintf(stderr,
			"topicfs: need DATADIR and MOUNTPOINT (see 'topicfs -h')\n");
		return -EINVAL;
	}
	return 0;
}

void tfs_cli_free(struct tfs_cli *cli)
{
	free(cli->datadir);
	free(cli->mountpoint);
	free(cli->writeback_ms);
	memset(cli, 0, sizeof(*cli));
}
