/*
 * fs/config.c - TOPIC/.config, a topic's configuration as a text file.
 *
 * Reading shows every key's effective value, "key=value" per line, the
 * ones the topic does not set itself marked "# default".  Each write() is
 * one or more "key=value" lines applied all or nothing (EINVAL and no
 * change on any bad line); "key=" returns a key to its default; unlink
 * (rm .config) returns all of them.  Truncation is accepted and changes
 * nothing, so `echo k=v > .config` works like `>>`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tfs.h"

/* Longest text the file shows. */
#define CFG_TEXT_MAX 2048

size_t tfs_config_text(struct tfs_topic *t, char *buf, size_t size)
{
	struct tfs_config cfg;
	size_t n;

	tfs_topic_config(t, &cfg);
	n = tfs_config_format(&cfg, true, buf, size);
	return n < size ? n : size;
}

void tfs_config_open(fuse_req_t req, struct tfs_topic *t,
		     struct fuse_file_info *fi)
{
	/* never cached: the text changes with every accepted write */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->nonseekable = 0;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

void tfs_config_read(fuse_req_t req, struct tfs_topic *t, size_t size,
		     off_t off)
{
	char buf[CFG_TEXT_MAX];
	size_t n = tfs_config_text(t, buf, sizeof(buf));

	if ((uint64_t)off >= n)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, buf + off,
			       n - (size_t)off < size ? n - (size_t)off : size);
}

void tfs_config_write(fuse_req_t req, struct tfs_topic *t, const char *buf,
		      size_t size)
{
	char why[256] = "";
	const char *nl;
	int err = tfs_topic_config_set(t, buf, size, why, sizeof(why));

	if (err) {
		tfs_log(LOG_WARNING, "%s/.config: write refused: %s",
			tfs_topic_name(t), why);
		fuse_reply_err(req, -err);
		return;
	}
	nl = memchr(buf, '\n', size);
	tfs_log(LOG_INFO, "%s/.config: set %.*s%s", tfs_topic_name(t),
		(int)(nl ? (size_t)(nl - buf) : size), buf,
		nl && (size_t)(nl - buf) + 1 < size ? " ..." : "");
	fuse_reply_write(req, size);
}

int tfs_config_reset(struct tfs_topic *t)
{
	char text[CFG_TEXT_MAX];
	size_t n = 0;

	for (unsigned k = 0; tfs_config_key_name(k); k++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s=\n",
				      tfs_config_key_name(k));
	return tfs_topic_config_set(t, text, n, NULL, 0);
}
