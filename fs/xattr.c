/*
 * fs/xattr.c - partition metadata as read-only extended attributes:
 * user.topicfs.{start,end,records,segments}, decimal text; view files
 * have user.topicfs.base (the partition offset of their offset 0).
 */
#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tfs.h"

#define TFS_XATTR_PREFIX "user.topicfs."

static const char *const xattr_names[] = {
	TFS_XATTR_PREFIX "start",
	TFS_XATTR_PREFIX "end",
	TFS_XATTR_PREFIX "records",
	TFS_XATTR_PREFIX "segments",
};
#define N_XATTRS (sizeof(xattr_names) / sizeof(xattr_names[0]))

/* Reply to a size query (size 0), a too-small buffer, or with the value. */
static void reply_value(fuse_req_t req, const char *val, size_t len,
			size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

/* Stream mode without HANDLE_KILLPRIV_V2: no attributes (tfs_getxattr). */
static bool xattrs_off(void)
{
	return tfs.stream && !tfs_io_nosec();
}

void tfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size)
{
	struct tfs_part *p = tfs_ino_to_part(ino);
	struct tfs_part_info info;
	uint64_t v;
	char val[32];
	int len;

	/*
	 * Stream mode: unless the kernel took HANDLE_KILLPRIV_V2 (fs/io.c),
	 * its buffered write path asks for security.capability before every
	 * write() (file_remove_privs), a round trip that would cap appends at
	 * the record-mode rate.  ENOSYS then makes the kernel stop asking for
	 * any attribute on this mount, so there are no user.topicfs.*
	 * attributes.
	 */
	if (xattrs_off()) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (tfs_ino_to_vnode(ino) && !strcmp(name, TFS_XATTR_PREFIX "offset")) {
		/* a group file: the group's committed offset */
		int err = tfs_view_group_offset(tfs_ino_to_vnode(ino), &v,
						false);

		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
		len = snprintf(val, sizeof(val), "%" PRIu64, v);
		reply_value(req, val, (size_t)len, size);
		return;
	}
	if (tfs_ino_to_vnode(ino)) {
		/* a view file: where a window opened now starts */
		int err = strcmp(name, TFS_XATTR_PREFIX "base")
				  ? -ENODATA
				  : tfs_view_base(tfs_ino_to_vnode(ino), &v);

		if (err) {
			fuse_reply_err(req, err == -EIO ? EIO : ENODATA);
			return;
		}
		len = snprintf(val, sizeof(val), "%" PRIu64, v);
		reply_value(req, val, (size_t)len, size);
		return;
	}
	if (!p) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	tfs_part_info(p, &info);
	if (strcmp(name, xattr_names[0]) == 0)
		v = info.start;
	else if (strcmp(name, xattr_names[1]) == 0)
		v = info.end;
	else if (strcmp(name, xattr_names[2]) == 0)
		v = info.records;
	else if (strcmp(name, xattr_names[3]) == 0)
		v = info.segments;
	else {
		fuse_reply_err(req, ENODATA);
		return;
	}
	len = snprintf(val, sizeof(val), "%" PRIu64, v);
	reply_value(req, val, (size_t)len, size);
}

void tfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char b_name[] = TFS_XATTR_PREFIX "base";
	static const char o_name[] = TFS_XATTR_PREFIX "offset";
	struct tfs_vnode *vn = tfs_ino_to_vnode(ino);
	char list[256];
	size_t len = 0;
	uint64_t v;

	if (vn && !xattrs_off() && !tfs_view_base(vn, &v)) {
		memcpy(list, b_name, sizeof(b_name));
		len = sizeof(b_name);
	}
	/* a group file: the committed offset too (getfattr -d lists it) */
	if (vn && !xattrs_off() && !tfs_view_group_offset(vn, &v, false)) {
		memcpy(list + len, o_name, sizeof(o_name));
		len += sizeof(o_name);
	}
	if (tfs_ino_to_part(ino) && !xattrs_off()) {
		for (size_t i = 0; i < N_XATTRS; i++) {
			size_t n = strlen(xattr_names[i]) + 1;

			memcpy(list + len, xattr_names[i], n);
			len += n;
		}
	}
	reply_value(req, list, len, size);
}

/* Ours are computed, so read-only; nothing else can be stored. */
static int set_refusal(const char *name)
{
	return strncmp(name, TFS_XATTR_PREFIX, strlen(TFS_XATTR_PREFIX)) == 0
		       ? EPERM
		       : ENOTSUP;
}

/*
 * user.topicfs.offset of a group file sets the group's committed offset
 * for that partition (rewind, skip): decimal text, at most the end.
 */
void tfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	char text[32], *end;
	uint64_t off;
	int err;

	if (!tfs_ino_to_vnode(ino) || strcmp(name, TFS_XATTR_PREFIX "offset")) {
		fuse_reply_err(req, set_refusal(name));
		return;
	}
	if (size == 0 || size >= sizeof(text)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memcpy(text, value, size);
	text[size] = '\0';
	errno = 0;
	off = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	err = tfs_view_group_offset(tfs_ino_to_vnode(ino), &off, true);
	if (err == -ENODATA)
		err = -EPERM;
	if (!err)
		tfs_log(LOG_INFO, "group offset set to %llu by setfattr",
			(unsigned long long)off);
	fuse_reply_err(req, -err);
}

void tfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, set_refusal(name));
}
