#!/usr/bin/env bash
# t_datadir: odd entries put into the data dir while it is not mounted.
# topicfs follows no symbolic link there: a link named like a topic is
# ignored (logged; the directory it points to is never written or
# emptied, and no two topics share files), and a link, file or FIFO where
# a partition directory or a segment file belongs refuses the mount with a
# message naming it.  topicfs-fsck reports each the same way.  A
# directory where the format file belongs is refused with its name too.
. "$(dirname "$0")/lib.sh"

mount_tfs
mkdir "$MNT/t"
echo one >>"$MNT/t/0"
umount_tfs

# mount_refused WHAT PATTERN: a mount fails, and its output matches PATTERN
mount_refused() {
	local rc=0
	timeout 20 "$TFS" -f "$DATA" "$MNT" >"$T/refused.out" 2>&1 || rc=$?
	if ((rc == 0)); then
		fusermount3 -u -z "$MNT" 2>/dev/null
		fail "$1: the mount succeeded"
	fi
	grep -q -- "$2" "$T/refused.out" || fail "$1: message: $(cat "$T/refused.out")"
	mountpoint -q "$MNT" && fail "$1: left a mount"
	return 0
}
# fsck_says PATTERN: topicfs-fsck reports the data dir damaged, saying PATTERN
fsck_says() {
	local rc=0
	"$BUILD/topicfs-fsck" "$DATA" >"$T/fsck.out" 2>&1 || rc=$?
	assert_eq 1 "$rc" "fsck's status"
	grep -q -- "$1" "$T/fsck.out" || fail "fsck: $(cat "$T/fsck.out")"
}

# 1. A link named like a topic, to a directory of someone else's files,
#    and one to topic t itself: both ignored.
mkdir "$T/victim"
echo precious >"$T/victim/keep.txt"
ln -s "$T/victim" "$DATA/v"
ln -s t "$DATA/t2"
mount_tfs
grep -q "/v: ignoring a symbolic link" "$TFS_LOG" || fail "no log line for the link v"
grep -q "/t2: ignoring a symbolic link" "$TFS_LOG" || fail "no log line for the link t2"
assert_eq "t" "$(ls "$MNT" | xargs)" "topics with two links in the data dir"
expect_errno "File exists" mkdir "$MNT/v"
echo two >>"$MNT/t/0"
assert_eq "$(printf 'one\ntwo')" "$(cat "$MNT/t/0")" "t/0"
umount_tfs
assert_eq "keep.txt" "$(ls "$T/victim" | xargs)" "the link's target"
"$BUILD/topicfs-fsck" "$DATA" >"$T/fsck.out" 2>&1 || fail "fsck with ignored links: $(cat "$T/fsck.out")"
grep -q "v: a symbolic link (not followed); topicfs ignores it" "$T/fsck.out" || fail "fsck: $(cat "$T/fsck.out")"
rm "$DATA/v" "$DATA/t2"

# 2. A link as a partition: refused, named, and the target untouched
#    (before: a later rm of the partition emptied it).
ln -s "$T/victim" "$DATA/t/1"
mount_refused "a partition that is a link" "t/1: a symbolic link .*, not a directory"
fsck_says "t/1: .*partition 1 is a symbolic link, not a directory"
assert_eq "keep.txt" "$(ls "$T/victim" | xargs)" "the link's target"
rm "$DATA/t/1"

# 3. A regular file as a partition.
touch "$DATA/t/1"
mount_refused "a partition that is a file" "t/1: a regular file, not a directory"
fsck_says "partition 1 is a regular file, not a directory"
rm "$DATA/t/1"

# 4. A FIFO, and a link, as a segment file (before: appends failed with
#    ESPIPE, or wrote through the link).
seg=$DATA/t/0/00000000000000000000.log
mv "$seg" "$T/seg.log"
mkfifo "$seg"
mount_refused "a FIFO as a segment" "t/0/00000000000000000000.log: a FIFO, not a regular file"
fsck_says "00000000000000000000.log: a FIFO, not a regular file"
rm "$seg"
ln -s "$T/seg.log" "$seg"
mount_refused "a link as a segment" "t/0/00000000000000000000.log: a symbolic link .*, not a regular file"
rm "$seg"
mv "$T/seg.log" "$seg"

# 5. A directory as the format file.
mv "$DATA/.topicfs" "$T/format"
mkdir "$DATA/.topicfs"
mount_refused "a directory as .topicfs" "/.topicfs: Is a directory"
rmdir "$DATA/.topicfs"
mv "$T/format" "$DATA/.topicfs"

# and everything is as it was
mount_tfs
assert_eq "$(printf 'one\ntwo')" "$(cat "$MNT/t/0")" "t/0 at the end"
umount_tfs
