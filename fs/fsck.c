/*
 * fs/fsck.c - topicfs-fsck: check a data directory offline (tfs_check) and
 * print one line per finding and per partition; with --repair, cut torn
 * tails and remove leftovers the way a mount does (tfs_store_open's
 * recovery), and check again.  No FUSE here; it lives in fs/ as the other
 * program does.  The usage text and docs/topicfs-fsck.8 say the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "topicfs/check.h"
#include "topicfs/store.h"

/* Exit statuses (the man page lists them). */
#define FSCK_CLEAN   0 /* no damage: clean, or only torn tails */
#define FSCK_DAMAGED 1 /* damage found */
#define FSCK_USAGE   2 /* usage error, or the dir cannot be checked */

/* The command line and what the report callback needs. */
struct fsck {
	const char *dir; /* DATADIR as given */
	bool repair;	 /* --repair */
	bool quiet;	 /* -q: only torn tails, damage, non-ok partitions */
};

static void fsck_usage(FILE *f)
{
	fputs("usage: topicfs-fsck [options] DATADIR\n"
	      "\n"
	      "Check a topicfs data directory offline: the format file, topic and\n"
	      "partition names, that every segment has its .log and .idx and starts\n"
	      "where the previous one ends, every index header and entry, and every\n"
	      "record's data CRC32C.  Nothing is changed without --repair.\n"
	      "\n"
	      "options:\n"
	      "    -h, --help        print this help and exit\n"
	      "    -V, --version     print the version and exit\n"
	      "    -q, --quiet       print only torn tails, damage and the partitions\n"
	      "                      that are not ok (nothing when all is ok)\n"
	      "        --repair      cut torn tails as a mount's recovery does (each\n"
	      "                      cut is printed), remove leftovers, check again;\n"
	      "                      refused while DATADIR is mounted\n"
	      "\n"
	      "exit status: 0 no damage (torn tails, which a crash leaves, are fine),\n"
	      "1 damage found, 2 usage error or DATADIR cannot be checked\n",
	      f);
}

static const char *fsck_kind_name(enum tfs_check_kind kind)
{
	switch (kind) {
	case TFS_CHECK_NOTE:
		return "note";
	case TFS_CHECK_TORN:
		return "torn";
	case TFS_CHECK_DAMAGE:
		return "DAMAGE";
	case TFS_CHECK_PART:
		break;
	}
	return "?";
}

/* "TOPIC/P: ok: 3 segments, ..." */
static void fsck_print_part(const struct tfs_check_part *p)
{
	printf("%s/%u: %s: %llu segments, %llu records, offsets %llu..%llu, "
	       "%llu bytes",
	       p->topic, p->num, tfs_check_status_name(p->status),
	       (unsigned long long)p->segments,
	       (unsigned long long)p->records, (unsigned long long)p->start,
	       (unsigned long long)p->end, (unsigned long long)p->bytes);
	if (p->torn_log_bytes || p->torn_idx_bytes)
		printf("; %llu bytes / %llu index bytes would be cut by "
		       "recovery",
		       (unsigned long long)p->torn_log_bytes,
		       (unsigned long long)p->torn_idx_bytes);
	if (p->status == TFS_CHECK_DAMAGED && p->bad_pos >= 0)
		printf("; first damage at %s byte %lld", p->bad_file,
		       (long long)p->bad_pos);
	else if (p->status == TFS_CHECK_DAMAGED)
		printf("; first damage at %s", p->bad_file);
	if (p->bad_records)
		printf("; bad records: %llu",
		       (unsigned long long)p->bad_records);
	putchar('\n');
}

static void fsck_report(const struct tfs_check_report *r, void *arg)
{
	struct fsck *fk = arg;

	if (r->kind == TFS_CHECK_PART) {
		if (!fk->quiet || r->part->status != TFS_CHECK_OK)
			fsck_print_part(r->part);
		return;
	}
	if (fk->quiet && r->kind == TFS_CHECK_NOTE)
		return;
	printf("  %s: %s%s", fsck_kind_name(r->kind),
	       *r->file ? r->file : fk->dir, r->pos >= 0 ? " byte " : "");
	if (r->pos >= 0)
		printf("%lld", (long long)r->pos);
	printf(": %s\n", r->msg);
}

/* Check once and print; the tfs_check result. */
static int fsck_check(struct fsck *fk)
{
	struct tfs_check_summary sum;
	int err = tfs_check(fk->dir, 0, fsck_report, fk, &sum);

	if (err == -EPROTONOSUPPORT || err == -EINVAL)
		return err; /* reported: the dir cannot be checked */
	if (err && err != -EUCLEAN) {
		fprintf(stderr, "topicfs-fsck: %s: %s\n", fk->dir,
			strerror(-err));
		return err;
	}
	if (!fk->quiet || sum.damage || sum.torn)
		printf("%s: %llu topics, %llu partitions, %llu segments, %llu "
		       "records, %llu bytes: %llu damaged, %llu with a torn "
		       "tail\n",
		       fk->dir, (unsigned long long)sum.topics,
		       (unsigned long long)sum.partitions,
		       (unsigned long long)sum.segments,
		       (unsigned long long)sum.records,
		       (unsigned long long)sum.bytes,
		       (unsigned long long)sum.parts_damaged,
		       (unsigned long long)sum.parts_torn);
	if (sum.damage_other)
		printf("%s: %llu damage findings outside the partitions "
		       "(format file, names, consumer groups)\n",
		       fk->dir, (unsigned long long)sum.damage_other);
	if (!sum.initialised && !err)
		return 1; /* empty: nothing to repair */
	return err;
}

static void fsck_store_log(int prio, const char *msg)
{
	fprintf(stderr, "topicfs-fsck: repair: %s\n", msg);
}

/* --repair after the first check: the store's recovery (tfs_store_open
 * cuts torn tails and removes leftovers, logging each), then close.  dfd
 * holds the exclusive lock until the store takes its own. */
static int fsck_repair(struct fsck *fk, int dfd)
{
	struct tfs_store_opts o;
	struct tfs_store *st;
	int err;

	tfs_store_opts_init(&o);
	o.log = fsck_store_log;
	fflush(stdout); /* the check's lines before the repair's */
	flock(dfd, LOCK_UN); /* the store takes the lock itself */
	err = tfs_store_open(fk->dir, &o, &st);
	if (err) {
		fprintf(stderr,
			"topicfs-fsck: repair: %s: recovery refused the data dir: %s\n",
			fk->dir, tfs_strerror(err));
		return err;
	}
	tfs_store_close(st);
	printf("after repair:\n");
	return 0;
}

/* Take the data dir's lock (the one tfs_store_open takes): exclusive for
 * --repair, shared (only to warn) for a check.  -EBUSY when in use. */
static int fsck_lock(struct fsck *fk, int *dfd)
{
	*dfd = open(fk->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0) {
		fprintf(stderr, "topicfs-fsck: %s: %s\n", fk->dir,
			strerror(errno));
		return -errno;
	}
	if (fk->repair) { /* waits for a daemon that is stopping */
		int err = tfs_dir_lock(*dfd);

		if (err != -EBUSY)
			return 0; /* or no locks here (some network fs) */
	} else if (!flock(*dfd, LOCK_SH | LOCK_NB) || errno != EWOULDBLOCK) {
		return 0; /* or no locks here (some network fs): go on */
	}
	if (fk->repair) {
		fprintf(stderr,
			"topicfs-fsck: %s: data dir is in use (mounted, or another topicfs-fsck --repair); unmount it first\n",
			fk->dir);
		return -EBUSY;
	}
	fprintf(stderr,
		"topicfs-fsck: %s: warning: data dir is in use (mounted): appends in flight may show as torn tails\n",
		fk->dir);
	return 0;
}

static int fsck_parse(int argc, char **argv, struct fsck *fk)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "hVq", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fsck_usage(stdout);
			exit(FSCK_CLEAN);
		case 'V':
			printf("topicfs-fsck %s\n", TFS_VERSION);
			exit(FSCK_CLEAN);
		case 'q':
			fk->quiet = true;
			break;
		case 'r':
			fk->repair = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "topicfs-fsck: %s\n",
			optind < argc ? "one DATADIR only" : "no DATADIR");
		return -EINVAL;
	}
	fk->dir = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct fsck fk = { 0 };
	int dfd = -1, err, ret = FSCK_USAGE;

	if (fsck_parse(argc, argv, &fk)) {
		fprintf(stderr, "topicfs-fsck: see 'topicfs-fsck -h'\n");
		return FSCK_USAGE;
	}
	if (fsck_lock(&fk, &dfd))
		goto out;
	err = fsck_check(&fk);
	if (fk.repair && (err == 0 || err == -EUCLEAN)) {
		err = fsck_repair(&fk, dfd);
		if (err) {
			ret = err == -EUCLEAN ? FSCK_DAMAGED : FSCK_USAGE;
			goto out;
		}
		err = fsck_check(&fk);
	}
	if (err == 1 || err == 0)
		ret = FSCK_CLEAN;
	else if (err == -EUCLEAN)
		ret = FSCK_DAMAGED;
out:
	if (dfd >= 0)
		close(dfd);
	return ret;
}
