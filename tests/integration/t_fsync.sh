#!/usr/bin/env bash
# t_fsync: fsync()/fdatasync() on partitions succeed, also with the flush
# options, and what they covered survives kill -9.
. "$(dirname "$0")/lib.sh"

mount_tfs
mkdir "$MNT/y"
P=$MNT/y/0
assert_eq ok "$("$TOOLS/wr" -a -c -s "$P" 'synced 1
')" "append + fsync"
assert_eq ok "$("$TOOLS/wr" -a -d "$P" 'synced 2
')" "append + fdatasync"
printf 'dd synced\n' | dd of="$P" oflag=append conv=notrunc,fsync status=none || fail "dd conv=fsync"
printf 'dd dsync\n' | dd of="$P" oflag=append,dsync conv=notrunc status=none || fail "dd oflag=dsync"
"$TOOLS/producer" -y 100 "$P" 0 1000 || fail "producer with fsync every 100 lines"
sync "$P" || fail "sync FILE"
sync -f "$P" || fail "sync -f (syncfs)"
sync || fail "sync"
# fsync of a directory and of a read-only fd
"$TOOLS/wr" -f "$MNT/y" >/dev/null || log "(fsync of a topic directory failed; not required)"
assert_eq ok "$("$TOOLS/wr" -f "$P")" "fsync of a read-only fd"
expected=$(printf 'synced 1\nsynced 2\ndd synced\ndd dsync\n'; "$TOOLS/producer" -c "$T/ref" 0 1000 && cat "$T/ref")
assert_eq "$expected" "$(cat "$P")" "content"
kill9_tfs
mount_tfs
assert_eq "$expected" "$(cat "$P")" "content after kill -9"
umount_tfs

for opts in flush.messages=1 flush.messages=7 flush.ms=10; do
	mount_tfs "$opts"
	rm -rf "$T/ref"
	mkdir -p "$MNT/z"
	touch "$MNT/z/0"
	pids=()
	for i in 0 1 2; do
		"$TOOLS/producer" -p 20 "$MNT/z/0" $i 500 &
		pids+=($!)
	done
	for j in "${pids[@]}"; do wait "$j" || fail "producer with -o $opts"; done
	"$TOOLS/linecheck" -p 20 verify "$MNT/z/0" 3 500 || fail "content with -o $opts"
	assert_eq 1500 "$(xattr "$MNT/z/0" records)" "records with -o $opts"
	assert_eq ok "$("$TOOLS/wr" -a -s "$MNT/z/0" 'p9 000000
')" "append + fsync with -o $opts"
	kill9_tfs
	mount_tfs "$opts"
	assert_eq 1501 "$(xattr "$MNT/z/0" records)" "records after kill -9 with -o $opts"
	rm -r "$MNT/z"
	umount_tfs
done
