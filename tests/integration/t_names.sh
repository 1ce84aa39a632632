#!/usr/bin/env bash
# t_names: topic and partition names, what may be created where, deletion.
. "$(dirname "$0")/lib.sh"

mount_tfs
state() { (cd "$DATA" && find . | sort); ls -A "$MNT"; }

# bad topic names: EINVAL, nothing created
before=$(state)
long250=$(printf 'a%.0s' {1..250})
for name in .hidden .x "a b" "a:b" "a@b" "a*b" 'a\b' "é" "$long250"; do
	expect_errno "Invalid argument" mkdir "$MNT/$name"
done
assert_eq "$before" "$(state)" "mnt and data dir after refused mkdirs"

# good names
long249=$(printf 'b%.0s' {1..249})
for name in a Z9 A.b_c-9 -x x.. "$long249"; do
	mkdir "$MNT/$name" || fail "mkdir '$name' refused"
	[[ -d $MNT/$name && -d $DATA/$name ]] || fail "topic '$name' missing"
done
expect_errno "File exists" mkdir "$MNT/a"
for name in Z9 A.b_c-9 -x x.. "$long249"; do rmdir "$MNT/$name"; done
[[ ! -e $DATA/Z9 ]] || fail "rmdir left $DATA/Z9"
assert_eq a "$(ls "$MNT")" "ls mnt after rmdirs"

# no files, links or nodes at the root
expect_errno "Operation not permitted" touch "$MNT/file"
expect_errno "Operation not permitted" bash -c 'echo x > "$1"' _ "$MNT/file2"
expect_errno "Operation not permitted" mkfifo "$MNT/fifo"
expect_errno "Operation not permitted" ln -s a "$MNT/link"
assert_eq a "$(ls "$MNT")" "ls mnt after refused creates"

# partitions: dense, decimal, no leading zeros
expect_errno "Invalid argument" touch "$MNT/a/1"
for name in x 00 01 -1 +1 1a " 0" 0x0 1e2; do
	expect_errno "Invalid argument" touch "$MNT/a/$name"
done
assert_eq ".config" "$(ls -A "$MNT/a")" "topic a after refused creates (only its .config)"
touch "$MNT/a/0"
expect_errno "Invalid argument" touch "$MNT/a/2"
echo one >>"$MNT/a/1"
touch "$MNT/a/2"
echo three >>"$MNT/a/3"
assert_eq "0 1 2 3" "$(ls "$MNT/a" | xargs)" "partitions of a"
assert_eq "3 2 1 0" "$(ls -f "$MNT/a" | grep -v '^\.' | xargs)" "readdir order (highest first)"
assert_eq 4 "$(find "$DATA/a" -mindepth 1 -maxdepth 1 -type d | wc -l)" "partition dirs in data dir"
expect_errno "Operation not permitted" mkdir "$MNT/a/sub"
expect_errno "Operation not permitted" mkdir "$MNT/a/4"
expect_errno "Directory not empty" rmdir "$MNT/a"

# only the highest partition can go
expect_errno "Device or resource busy" rm "$MNT/a/0"
expect_errno "Device or resource busy" rm "$MNT/a/2"
assert_eq "0 1 2 3" "$(ls "$MNT/a" | xargs)" "partitions after refused unlinks"
rm "$MNT/a/3"
assert_eq "0 1 2" "$(ls "$MNT/a" | xargs)" "partitions after unlinking 3"
[[ ! -e $DATA/a/3 ]] || fail "$DATA/a/3 still there"
echo again >>"$MNT/a/3"
assert_eq again "$(cat "$MNT/a/3")" "a re-created partition 3 starts empty"

# an unlinked partition stays readable through an open fd
exec 3<"$MNT/a/3"
rm "$MNT/a/3"
assert_eq again "$(cat <&3)" "read through an fd held across unlink"
exec 3<&-

# rm -r removes a topic with several partitions, data included
mkdir "$MNT/b"
for p in 0 1 2 3 4; do echo "b$p" >>"$MNT/b/$p"; done
rm -r "$MNT/a" "$MNT/b"
[[ ! -e $MNT/a && ! -e $MNT/b ]] || fail "rm -r left topics: $(ls "$MNT")"
[[ ! -e $DATA/a && ! -e $DATA/b ]] || fail "rm -r left data: $(ls -A "$DATA")"
assert_eq "" "$(ls -A "$MNT")" "ls mnt after rm -r"

# and it all survives a remount
mkdir "$MNT/c"
echo c0 >>"$MNT/c/0"
touch "$MNT/c/1"
remount_tfs
assert_eq "c" "$(ls "$MNT")" "topics after remount"
assert_eq "0 1" "$(ls "$MNT/c" | xargs)" "partitions after remount"
expect_errno "Invalid argument" touch "$MNT/c/3"
touch "$MNT/c/2"
assert_eq "0 1 2" "$(ls "$MNT/c" | xargs)" "partition created after remount"
