/*
 * store/check.c - the offline checker (tfs_check, include/topicfs/check.h):
 * walk a data dir read-only and report every finding through a callback.
 *
 * The dir walk (format file, topics, partitions, leftovers) is at the
 * bottom; one partition's segment list, with gaps and what recovery would
 * drop, above it; one segment's check is in check_seg.c.  The rules follow
 * recovery (recovery.c, partition.c) so that "torn tail" here means what
 * the next tfs_store_open() cuts, and "damage" what it refuses or what it
 * would cut although no crash leaves it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_int.h"
#include "crc32c.h"
#include "format.h"
#include "internal.h"
#include "zseg.h"

/* ---- reporting ------------------------------------------------------- */

void check_emit(struct check *c, struct check_part *cp,
		enum tfs_check_kind kind, enum tfs_check_what what,
		const char *file, int64_t pos, const char *msg)
{
	struct tfs_check_report r = { .kind = kind,
				      .what = what,
				      .file = file,
				      .pos = pos,
				      .msg = msg };

	if (kind == TFS_CHECK_NOTE)
		c->sum.notes++;
	else if (kind == TFS_CHECK_TORN)
		c->sum.torn++;
	else if (kind == TFS_CHECK_DAMAGE)
		c->sum.damage++;
	if (!cp && kind == TFS_CHECK_DAMAGE)
		c->sum.damage_other++;
	if (cp && kind == TFS_CHECK_TORN && cp->s.status == TFS_CHECK_OK)
		cp->s.status = TFS_CHECK_TORN_TAIL;
	if (cp && kind == TFS_CHECK_DAMAGE) {
		cp->s.status = TFS_CHECK_DAMAGED;
		if (!cp->s.bad_file) {
			snprintf(cp->bad_file, sizeof(cp->bad_file), "%s",
				 file);
			cp->s.bad_file = cp->bad_file;
			cp->s.bad_pos = pos;
		}
	}
	if (c->fn)
		c->fn(&r, c->arg);
}

void check_report(struct check *c, struct check_part *cp,
		  enum tfs_check_kind kind, enum tfs_check_what what,
		  const char *file, int64_t pos, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	check_emit(c, cp, kind, what, file, pos, msg);
}

const char *tfs_check_status_name(enum tfs_check_status status)
{
	switch (status) {
	case TFS_CHECK_OK:
		return "ok";
	case TFS_CHECK_TORN_TAIL:
		return "torn tail";
	case TFS_CHECK_DAMAGED:
		return "DAMAGED";
	}
	return "?";
}

static bool check_has_suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), m = strlen(sfx);

	return n > m && !strcmp(name + n - m, sfx);
}

/* Parse "<20 digits><sfx>"; 0 and *base, or -EINVAL. */
static int check_parse_base(const char *name, const char *sfx,
			    uint64_t *base)
{
	const char *rest;

	if (seg_parse_base(name, base, &rest) || strcmp(rest, sfx))
		return -EINVAL;
	return 0;
}

/* ---- one partition --------------------------------------------------- */

/* Record that base has the file of kind ('l' .log, 'i' .idx, 'z' .zst,
 * 'd' a .log.deleted, 'D' a .zst.deleted). */
static int check_segf_add(struct check_part *cp, uint64_t base, char kind)
{
	struct check_segf *v;
	size_t i;

	for (i = cp->nsegs; i > 0 && cp->segs[i - 1].base != base; i--)
		;
	if (!i) {
		v = store_grow(cp->segs, &cp->segs_cap, cp->nsegs, sizeof(*v));
		if (!v)
			return -ENOMEM;
		cp->segs = v;
		memset(&v[cp->nsegs], 0, sizeof(*v));
		v[cp->nsegs].base = base;
		i = ++cp->nsegs;
	}
	v = &cp->segs[i - 1];
	v->log = v->log || kind == 'l';
	v->idx = v->idx || kind == 'i';
	v->zst = v->zst || kind == 'z';
	v->del = v->del || kind == 'd' || kind == 'D';
	v->del_zst = v->del_zst || kind == 'D';
	return 0;
}

/* What the entry name of directory dfd is, when it is not of kind
 * (S_IFDIR, S_IFREG; links not followed), for a message; NULL when it
 * is. */
static const char *check_not_kind(int dfd, const char *name, mode_t kind)
{
	struct stat sb;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return "unreadable";
	return (sb.st_mode & S_IFMT) == kind ? NULL
					     : store_kind_str(sb.st_mode);
}

/* Sort one entry of a partition dir: a segment file, a leftover, or a
 * stranger. */
static int check_part_entry(struct check_part *cp, const char *name)
{
	char rel[CHECK_REL_MAX];
	const char *is;
	uint64_t base;
	bool is_log;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if ((!seg_parse_name(name, &base, &is_log) ||
	     !check_parse_base(name, FMT_ZST_SUFFIX, &base)) &&
	    (is = check_not_kind(cp->fd, name, S_IFREG))) {
		snprintf(rel, sizeof(rel), "%s/%s", cp->rel, name);
		check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING,
			     rel, -1,
			     "%s, not a regular file: topicfs refuses to "
			     "mount (move it out of the data dir)",
			     is);
		return 0;
	}
	if (!seg_parse_name(name, &base, &is_log))
		return check_segf_add(cp, base, is_log ? 'l' : 'i');
	if (!check_parse_base(name, FMT_ZST_SUFFIX, &base))
		return check_segf_add(cp, base, 'z');
	snprintf(rel, sizeof(rel), "%s/%s", cp->rel, name);
	/* a retention delete renames the .log (or .zst) first */
	if (!check_parse_base(name, FMT_LOG_SUFFIX FMT_DEL_SUFFIX, &base))
		return check_segf_add(cp, base, 'd');
	if (!check_parse_base(name, FMT_ZST_SUFFIX FMT_DEL_SUFFIX, &base))
		return check_segf_add(cp, base, 'D');
	if (!check_parse_base(name, FMT_IDX_SUFFIX FMT_DEL_SUFFIX, &base))
		check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_RETENTION,
			     rel, -1,
			     "retention delete in progress; recovery removes "
			     "it");
	else if (!strcmp(name, FMT_RP_FILE))
		return 0; /* read by check_part_rp */
	else if (check_has_suffix(name, FMT_TMP_SUFFIX))
		check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
			     rel, -1,
			     "leftover temporary file; recovery removes it");
	else
		check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN,
			     rel, -1, "unknown file; topicfs ignores it");
	return 0;
}

static int check_cmp_segf(const void *a, const void *b)
{
	uint64_t x = ((const struct check_segf *)a)->base;
	uint64_t y = ((const struct check_segf *)b)->base;

	return x < y ? -1 : x > y;
}

static int check_part_scan(struct check_part *cp)
{
	int fd = dup(cp->fd);
	struct dirent *de;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int err = 0;

	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (errno = 0, de = readdir(d)))
		err = check_part_entry(cp, de->d_name);
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (cp->nsegs)
		qsort(cp->segs, cp->nsegs, sizeof(*cp->segs), check_cmp_segf);
	return err;
}

/* Segment f will not be checked: recovery deletes it, because the
 * segment before it (sealed, never synced) ends elsewhere. */
static void check_seg_dropped(struct check_part *cp,
			      const struct check_segf *f, bool crash)
{
	char rel[CHECK_REL_MAX];
	struct stat sb;
	uint64_t n = 0;

	snprintf(rel, sizeof(rel), "%s/%020llu%s", cp->rel,
		 (unsigned long long)f->base, FMT_LOG_SUFFIX);
	if (!fstatat(cp->fd, rel + strlen(cp->rel) + 1, &sb, 0))
		n = (uint64_t)sb.st_size;
	cp->s.bytes += n;
	cp->s.torn_log_bytes += n;
	check_report(cp->c, cp, crash ? TFS_CHECK_TORN : TFS_CHECK_DAMAGE,
		     TFS_CHECK_W_TAIL, rel, -1,
		     "recovery would drop this segment (%llu bytes, offsets "
		     "%llu..%llu): the segment before it was never synced and "
		     "does not end where this one starts",
		     (unsigned long long)n, (unsigned long long)f->base,
		     (unsigned long long)(f->base + n));
}

/* A .idx without its .log (and no .zst): topicfs ignores it. */
static void check_lone_idx(struct check_part *cp, const struct check_segf *f)
{
	char rel[CHECK_REL_MAX];
	struct stat sb;

	snprintf(rel, sizeof(rel), "%s/%020llu%s", cp->rel,
		 (unsigned long long)f->base, FMT_IDX_SUFFIX);
	if (!fstatat(cp->fd, rel + strlen(cp->rel) + 1, &sb, 0))
		cp->s.bytes += (uint64_t)sb.st_size;
	check_report(cp->c, cp, TFS_CHECK_DAMAGE, TFS_CHECK_W_MISSING, rel, -1,
		     "segment %llu has an index but no .log: its data is "
		     "missing (topicfs ignores this index)",
		     (unsigned long long)f->base);
}

/* Whether segment f's index header is intact and marked synced. */
static bool check_seg_synced(struct check_part *cp, const struct check_segf *f)
{
	char name[FMT_SEG_NAME_LEN + 1];
	unsigned char hdr[FMT_HDR_SIZE];
	bool synced = false;
	int fd;

	if (!f->idx || f->del)
		return false;
	seg_name(name, sizeof(name), f->base, FMT_IDX_SUFFIX);
	fd = openat(cp->fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!seg_pread_all(fd, hdr, sizeof(hdr), 0) &&
	    !seg_hdr_check(hdr, f->base))
		synced = seg_hdr_flags(hdr) & FMT_HDR_F_SYNCED;
	close(fd);
	return synced;
}

/* The base of the next segment after segs[i] that has data (i < last). */
static uint64_t check_next_base(const struct check_part *cp, size_t i)
{
	while (++i < cp->nsegs)
		if ((cp->segs[i].log || cp->segs[i].zst) && !cp->segs[i].del)
			break;
	return i < cp->nsegs ? cp->segs[i].base : UINT64_MAX;
}

/* Walk the sorted segments: gaps, each segment, and what recovery drops
 * after a sealed segment that was never synced and ends short. */
static void check_part_segs(struct check_part *cp)
{
	struct check_seg_res res = { 0 };
	size_t last = cp->nsegs;
	bool known = false, drop = false, crash = true, started = false;
	bool later = false;
	uint64_t end = 0;

	for (size_t i = 0; i < cp->nsegs; i++)
		if (cp->segs[i].log && !cp->segs[i].del)
			last = i;
	for (size_t i = cp->nsegs; i-- > 0;) { /* as part_synced_after */
		cp->segs[i].synced_after = later;
		later = later || check_seg_synced(cp, &cp->segs[i]);
	}
	for (size_t i = 0; i < cp->nsegs; i++) {
		const struct check_segf *f = &cp->segs[i];
		char rel[CHECK_REL_MAX];

		if (f->del) {
			snprintf(rel, sizeof(rel), "%s/%020llu%s%s", cp->rel,
				 (unsigned long long)f->base,
				 f->del_zst ? FMT_ZST_SUFFIX : FMT_LOG_SUFFIX,
				 FMT_DEL_SUFFIX);
			check_report(cp->c, cp, TFS_CHECK_NOTE,
				     TFS_CHECK_W_RETENTION, rel, -1,
				     "retention delete of segment %llu in "
				     "progress; recovery finishes it (removes "
				     "what is left of the segment)",
				     (unsigned long long)f->base);
			continue;
		}
		if (!f->log && !f->zst) {
			check_lone_idx(cp, f);
			continue;
		}
		cp->s.segments++;
		if (drop) {
			check_seg_dropped(cp, f, crash);
			continue;
		}
		if (!started)
			cp->s.start = f->base;
		started = true;
		snprintf(rel, sizeof(rel), "%s/%020llu%s", cp->rel,
			 (unsigned long long)f->base,
			 f->log ? FMT_LOG_SUFFIX : FMT_ZST_SUFFIX);
		if (known && f->base != end)
			check_report(cp->c, cp, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_GAP, rel, -1,
				     "segment starts at offset %llu but the "
				     "previous segment ends at offset %llu",
				     (unsigned long long)f->base,
				     (unsigned long long)end);
		if (f->zst && f->log)
			check_report(cp->c, cp, TFS_CHECK_NOTE,
				     TFS_CHECK_W_LEFTOVER, rel, -1,
				     "a compressed copy (.zst) is beside this "
				     ".log: compression was interrupted; "
				     "recovery removes the copy");
		check_seg(cp, f, f->log && i == last, &res);
		known = res.end_known;
		end = res.end;
		if (known && end > (uint64_t)INT64_MAX) /* part_open_segs */
			check_report(cp->c, cp, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_GAP, rel, -1,
				     "segment ends at offset %llu, past the "
				     "largest file offset (2^63-1): the mount "
				     "refuses it",
				     (unsigned long long)end);
		cp->s.records += res.kept;
		/* part_open_segs: an unsynced sealed segment that ends short
		 * takes the later ones with it, unless one is marked synced */
		if (i < last && res.tail && !f->synced_after &&
		    res.end < check_next_base(cp, i)) {
			drop = true;
			crash = res.crash;
		}
	}
	cp->s.end = known ? end : cp->s.start;
}

/* A note about the partition's recovery point file. */
static void check_rp_note(struct check_part *cp, const char *msg)
{
	char rel[CHECK_REL_MAX];

	snprintf(rel, sizeof(rel), "%s/%s", cp->rel, FMT_RP_FILE);
	check_report(cp->c, cp, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER, rel, -1,
		     "%s", msg);
}

/* The recovery point, as part_load_rp reads it: none or a torn one is 0
 * (a note: recovery then checks every record of the tail segments). */
static void check_part_rp(struct check_part *cp)
{
	char msg[200];
	int err = rp_read(cp->fd, &cp->rp);

	if (err)
		cp->rp = 0;
	if (!err || err == -ENOENT)
		return;
	snprintf(msg, sizeof(msg),
		 "%s: recovery checks every record of the segments not marked "
		 "synced",
		 err == -EBADMSG ? "torn or not a recovery point"
				 : strerror(-err));
	check_rp_note(cp, msg);
}

static void check_part(struct check *c, const char *topic, int tfd,
		       uint32_t num)
{
	struct check_part cp = { .c = c, .s = { .topic = topic, .num = num,
						.bad_pos = -1 } };
	struct tfs_check_report r = { .kind = TFS_CHECK_PART,
				      .file = cp.rel,
				      .pos = -1,
				      .msg = "",
				      .part = &cp.s };
	char name[16];
	int err;

	snprintf(name, sizeof(name), "%u", num);
	snprintf(cp.rel, sizeof(cp.rel), "%s/%u", topic, num);
	cp.fd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = cp.fd < 0 ? -errno : check_part_scan(&cp);
	if (err) {
		check_report(c, &cp, TFS_CHECK_DAMAGE,
			     err == -ENOTDIR ? TFS_CHECK_W_PARTITIONS
					     : TFS_CHECK_W_IO,
			     cp.rel, -1, "cannot read the partition: %s",
			     strerror(-err));
	} else if (!cp.nsegs) {
		check_report(c, &cp, TFS_CHECK_NOTE, TFS_CHECK_W_MISSING,
			     cp.rel, -1,
			     "partition has no segments; recovery creates "
			     "segment 0");
	} else {
		check_part_rp(&cp);
		check_part_segs(&cp);
		if (cp.rp > cp.s.end) { /* as part_fix_rp */
			char msg[200];

			snprintf(msg, sizeof(msg),
				 "recovery point %llu is past the end %llu: "
				 "recovery sets it to the end",
				 (unsigned long long)cp.rp,
				 (unsigned long long)cp.s.end);
			check_rp_note(&cp, msg);
		}
	}
	c->sum.partitions++;
	c->sum.segments += cp.s.segments;
	c->sum.records += cp.s.records;
	c->sum.bytes += cp.s.bytes;
	c->sum.parts_torn += cp.s.status == TFS_CHECK_TORN_TAIL;
	c->sum.parts_damaged += cp.s.status == TFS_CHECK_DAMAGED;
	if (c->fn)
		c->fn(&r, c->arg);
	free(cp.segs);
	if (cp.fd >= 0)
		close(cp.fd);
}

/* ---- topics and the data dir ----------------------------------------- */

static int check_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd (dup'ed), sorted, minus "." and "..". */
static int check_list(int fd, char ***out, size_t *n)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cap = 0;
	DIR *d;
	int err = 0;

	*n = 0;
	fd = dup(fd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		nv = store_grow(v, &cap, *n, sizeof(*v));
		if (nv)
			v = nv;
		if (!nv || !(v[*n] = strdup(de->d_name)))
			err = -ENOMEM;
		else
			(*n)++;
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (err) {
		tfs_names_free(v, *n);
		return err;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), check_cmp_name);
	*out = v;
	return 0;
}

static int check_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* TOPIC/.groups (rel): a group file the mount cannot read refuses the
 * mount, so it is damage; the offsets inside are not checked. */
static void check_groups(struct check *c, int tfd, const char *rel)
{
	char path[CHECK_REL_MAX + 300];
	struct dirent *de;
	struct stat sb;
	int fd, gfd = openat(tfd, FMT_GROUPS_DIR,
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = gfd < 0 ? NULL : fdopendir(gfd);

	if (!d) {
		if (gfd >= 0)
			close(gfd);
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO, rel, -1,
			     "consumer groups: not a readable directory; the "
			     "mount refuses the topic");
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || tfs_topic_name_valid(de->d_name))
			continue; /* temp files and strangers: ignored */
		snprintf(path, sizeof(path), "%s/%s", rel, de->d_name);
		fd = openat(gfd, de->d_name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode) ||
		    sb.st_size > FMT_GROUP_FILE_MAX)
			check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO,
				     path, -1,
				     "consumer group file: not a readable "
				     "regular file of at most 8 MiB; the mount "
				     "refuses the topic");
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNCHECKED, rel, -1,
		     "consumer groups, offsets not checked");
}

/* Sort one entry of a topic dir into nums (partitions), or report it. */
static int check_topic_entry(struct check *c, const char *topic, int tfd,
			     const char *name, uint32_t *nums, uint32_t *n)
{
	size_t len = strlen(name), dl = strlen(FMT_DEL_SUFFIX);
	char rel[CHECK_REL_MAX], num[16];
	uint32_t p;

	snprintf(rel, sizeof(rel), "%s/%s", topic, name);
	if (!tfs_part_name_parse(name, &p)) {
		const char *is = check_not_kind(tfd, name, S_IFDIR);

		if (is) {
			check_report(c, NULL, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_PARTITIONS, rel, -1,
				     "partition %u is %s, not a directory: "
				     "topicfs refuses to mount",
				     p, is);
			return 0;
		}
		nums[(*n)++] = p;
		return 0;
	}
	if (len > dl && len - dl < sizeof(num) &&
	    !strcmp(name + len - dl, FMT_DEL_SUFFIX)) {
		memcpy(num, name, len - dl);
		num[len - dl] = '\0';
		if (!tfs_part_name_parse(num, &p)) {
			check_report(c, NULL, TFS_CHECK_NOTE,
				     TFS_CHECK_W_LEFTOVER, rel, -1,
				     "interrupted partition delete; recovery "
				     "finishes it");
			return 0;
		}
	}
	if (!strcmp(name, FMT_TOPIC_CONFIG))
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNCHECKED,
			     rel, -1, "topic config, not checked");
	else if (!strcmp(name, FMT_GROUPS_DIR))
		check_groups(c, tfd, rel);
	else if (!strcmp(name, FMT_TOPIC_CONFIG_TMP))
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
			     rel, -1,
			     "leftover temporary topic config; recovery "
			     "removes it");
	else
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN, rel,
			     -1, "unknown file; topicfs ignores it");
	return 0;
}

/* One topic: its partition numbers must be dense; check each. */
static int check_topic(struct check *c, const char *topic)
{
	int tfd = openat(c->dir_fd, topic, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t *nums = NULL, n = 0;
	char **names = NULL;
	size_t count = 0;
	int err;

	err = tfd < 0 ? -errno : check_list(tfd, &names, &count);
	if (err == -ENOMEM)
		goto out;
	if (err) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO, topic,
			     -1, "cannot read the topic: %s", strerror(-err));
		err = 0;
		goto out;
	}
	c->sum.topics++;
	nums = malloc((count ? count : 1) * sizeof(*nums));
	if (!nums) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		check_topic_entry(c, topic, tfd, names[i], nums, &n);
	if (n)
		qsort(nums, n, sizeof(*nums), check_cmp_u32);
	for (uint32_t i = 0; i < n; i++) {
		if (nums[i] != i) {
			check_report(c, NULL, TFS_CHECK_DAMAGE,
				     TFS_CHECK_W_PARTITIONS, topic, -1,
				     "partition %u is missing (partitions "
				     "must be dense, found %u); the topic "
				     "cannot be mounted",
				     i, nums[i]);
			break;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		check_part(c, topic, tfd, nums[i]);
out:
	free(nums);
	tfs_names_free(names, count);
	if (tfd >= 0)
		close(tfd);
	return err;
}

/* The format file: 0 checked (damage reported), 1 the dir is empty (not
 * initialised), or -EPROTONOSUPPORT/-EINVAL (reported), -errno. */
static int check_format(struct check *c, char **names, size_t n)
{
	char text[FMT_FILE_MAX + 1];
	size_t pl = strlen(FMT_FILE_PREFIX), others = 0;
	unsigned long v;
	char *end;
	ssize_t len;
	int fd;

	for (size_t i = 0; i < n; i++)
		others += strcmp(names[i], FMT_FILE) &&
			  strcmp(names[i], FMT_FILE_TMP);
	fd = openat(c->dir_fd, FMT_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !others) {
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_FORMAT, "",
			     -1,
			     "empty data dir, not initialised yet (a mount "
			     "initialises it)");
		return 1;
	}
	if (fd < 0 && errno == ENOENT) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT, "",
			     -1,
			     "not a topicfs data dir (no %s file) and not empty",
			     FMT_FILE);
		return -EINVAL;
	}
	len = fd < 0 ? -1 : read(fd, text, FMT_FILE_MAX);
	if (len < 0) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_IO,
			     FMT_FILE, -1, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	text[len] = '\0';
	/* as store_parse_format */
	errno = 0;
	if (strncmp(text, FMT_FILE_PREFIX, pl) || text[pl] < '0' ||
	    text[pl] > '9' || (v = strtoul(text + pl, &end, 10), errno) ||
	    (*end == '\n' ? end[1] != '\0' : *end != '\0')) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT,
			     FMT_FILE, 0,
			     "not a topicfs format file (expected \"%s%u\")",
			     FMT_FILE_PREFIX, FMT_VERSION);
		return 0;
	}
	if (v < FMT_VERSION_OLDEST || v > FMT_VERSION) {
		check_report(c, NULL, TFS_CHECK_DAMAGE, TFS_CHECK_W_FORMAT,
			     FMT_FILE, (int64_t)pl,
			     "data dir format version %lu found; this "
			     "topicfs-fsck checks format versions %u to %u",
			     v, FMT_VERSION_OLDEST, FMT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (v < FMT_VERSION)
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_FORMAT,
			     FMT_FILE, (int64_t)pl,
			     "data dir format version %lu; a mount upgrades it "
			     "to version %u in place",
			     v, FMT_VERSION);
	return 0;
}

/* One entry of the data dir: a topic, a leftover, or a stranger. */
static int check_dir_entry(struct check *c, const char *name)
{
	struct stat sb = { 0 };

	if (!strcmp(name, FMT_FILE))
		return 0;
	if (!strcmp(name, FMT_FILE_TMP)) {
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_LEFTOVER,
			     name, -1,
			     "leftover temporary format file; recovery "
			     "removes it");
		return 0;
	}
	if (tfs_topic_name_valid(name) ||
	    fstatat(c->dir_fd, name, &sb, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISDIR(sb.st_mode)) {
		check_report(c, NULL, TFS_CHECK_NOTE, TFS_CHECK_W_UNKNOWN, name,
			     -1, "%s; topicfs ignores it",
			     tfs_topic_name_valid(name) ? "not a valid topic name"
			     : S_ISLNK(sb.st_mode)
				     ? "a symbolic link (not followed)"
				     : "not a directory");
		return 0;
	}
	return check_topic(c, name);
}

int tfs_check(const char *dir, unsigned flags, tfs_check_report_fn fn,
	      void *arg, struct tfs_check_summary *sum)
{
	struct check c = { .dir = dir, .flags = flags, .fn = fn, .arg = arg };
	char **names = NULL;
	size_t n = 0;
	int err;

	c.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dir_fd < 0) {
		err = -errno;
		return err == -ENOENT || err == -ENOTDIR || err == -EACCES ||
				       err == -ENOMEM
			       ? err
			       : -EIO;
	}
	c.ents = malloc(CHECK_BATCH * FMT_ENT_SIZE);
	err = c.ents ? check_list(c.dir_fd, &names, &n) : -ENOMEM;
	if (!err)
		err = check_format(&c, names, n);
	c.sum.initialised = err != 1;
	for (size_t i = 0; !err && i < n; i++)
		err = check_dir_entry(&c, names[i]);
	if (err == 1)
		err = 0;
	if (!err && c.sum.damage)
		err = -EUCLEAN;
	if (sum)
		*sum = c.sum;
	tfs_names_free(names, n);
	free(c.data);
	free(c.ents);
	close(c.dir_fd);
	if (err == -EACCES || err == -ENOENT || err == -ENOTDIR)
		err = -EIO; /* the dir opened: a listing failed */
	return err;
}
