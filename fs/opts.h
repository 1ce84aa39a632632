/*
 * fs/opts.h - the command line: usage text, option table, value parsing.
 */
#ifndef TFS_OPTS_H
#define TFS_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "tfs.h"

/* What the command line asked for.  Strings are malloc'ed (fuse_opt) and
 * freed by tfs_cli_free(). */
struct tfs_cli {
	char *datadir;        /* first non-option argument */
	char *mountpoint;     /* second non-option argument */
	struct tfs_config cfg; /* -o KEY=VALUE of topic config keys: the
				  defaults of every topic */
	int nosplice;         /* -o nosplice */
	int stream;           /* -o stream */
	char *writeback_ms;   /* -o writeback.ms=, unparsed */
	unsigned writeback;   /* its value in ms (default 100) */
	int foreground;       /* -f or -d */
	int single;           /* -s */
	int show_help;        /* -h, --help */
	int show_version;     /* -V, --version */
};

#define TFS_WRITEBACK_MS_DEFAULT 100

/* Print the usage text (docs/topicfs.1 says the same). */
void tfs_usage(FILE *f);

/* Parse a plain decimal count. @return 0; -EINVAL; -ERANGE. */
int tfs_parse_count(const char *s, uint64_t *out);

/*
 * Split argv into our options (into cli and so) and the ones left for
 * libfuse (args keeps argv[0], -d and any other -o option).  Prints a
 * message naming the bad option or value on failure.
 * @return 0; -EINVAL bad option, value or argument count.
 */
int tfs_cli_parse(struct fuse_args *args, struct tfs_cli *cli,
		  struct tfs_store_opts *so);
void tfs_cli_free(struct tfs_cli *cli);

#endif /* TFS_OPTS_H */
