#!/usr/bin/env bash
# t_story: the user story, line by line, with standard tools, each result
# compared with a plain-file reference written the same way.
. "$(dirname "$0")/lib.sh"

REF=$T/ref
mkdir -p "$REF"
mount_tfs

mkdir "$MNT/orders"
assert_eq orders "$(ls "$MNT")" "ls mnt"
[[ -d $DATA/orders ]] || fail "no data dir entry for topic orders"
touch "$MNT/orders/0" "$MNT/orders/1"
assert_eq "0 1" "$(ls "$MNT/orders" | xargs)" "ls mnt/orders"
assert_eq 0 "$(fsize "$MNT/orders/0")" "size of a new partition"
assert_eq "" "$(cat "$MNT/orders/0")" "cat of a new partition"

echo '{"id":1}' >>"$MNT/orders/0"
echo '{"id":1}' >>"$REF/0"
printf 'a\nb\n' >>"$MNT/orders/1"
printf 'a\nb\n' >>"$REF/1"
echo '{"id":2,"item":"book"}' >>"$MNT/orders/0"
echo '{"id":2,"item":"book"}' >>"$REF/0"
assert_eq "$(cat "$REF/0")" "$(cat "$MNT/orders/0")" "cat mnt/orders/0"
assert_eq "$(printf 'a\nb')" "$(cat "$MNT/orders/1")" "cat mnt/orders/1"
cmp "$REF/0" "$MNT/orders/0" || fail "partition 0 differs from the reference"
assert_eq '{"id":2,"item":"book"}' "$(tail -c +10 "$MNT/orders/0")" "tail -c +10 (from offset 9)"
assert_eq "$(tail -c +9 "$REF/0" | od -c)" "$(tail -c +9 "$MNT/orders/0" | od -c)" "tail -c +9"
assert_eq '{"id":2,"item":"book"}' "$(tail -n 1 "$MNT/orders/0")" "tail -n 1"
assert_eq 'b' "$(tail -c 2 "$MNT/orders/1")" "tail -c 2"

# ls -l and stat sizes are the end offsets
assert_eq 32 "$(fsize "$MNT/orders/0")" "stat size of partition 0"
assert_eq 4 "$(fsize "$MNT/orders/1")" "stat size of partition 1"
assert_eq "32 4" "$(ls -l "$MNT/orders" | awk 'NR > 1 { print $5 }' | xargs)" "ls -l sizes"
[[ $(stat -c %F "$MNT/orders/0") == "regular file" ]] || fail "partition is not a regular file"
[[ $(stat -c %F "$MNT/orders") == directory ]] || fail "topic is not a directory"

# getfattr -d shows the partition's numbers
out=$(getfattr -d --absolute-names "$MNT/orders/0")
for kv in 'user.topicfs.start="0"' 'user.topicfs.end="32"' 'user.topicfs.records="2"' \
	'user.topicfs.segments="1"'; do
	grep -qxF "$kv" <<<"$out" || fail "getfattr -d lacks $kv; got: $out"
done
assert_eq 4 "$(xattr "$MNT/orders/1" end)" "user.topicfs.end of partition 1"
# bash's printf builtin writes line by line: two write()s, two records
assert_eq 2 "$(xattr "$MNT/orders/1" records)" "user.topicfs.records of partition 1"

# a partition over 1 MiB, read with dd at byte offsets
head -c 1500000 /dev/urandom >"$T/big"
cat "$T/big" >>"$MNT/orders/0"
cat "$T/big" >>"$REF/0"
assert_eq "$(fsize "$REF/0")" "$(fsize "$MNT/orders/0")" "size after a 1.5 MB append"
cmp "$REF/0" "$MNT/orders/0" || fail "partition 0 differs after a 1.5 MB append"
for skip in 8 65536 1048570 1500000 1500032 1600000; do
	want=$(dd if="$REF/0" bs=64K skip=$skip iflag=skip_bytes status=none | md5sum)
	got=$(dd if="$MNT/orders/0" bs=64K skip=$skip iflag=skip_bytes status=none | md5sum)
	assert_eq "$want" "$got" "dd bs=64K skip=$skip iflag=skip_bytes"
done
got=$(dd if="$MNT/orders/0" bs=1M skip=1 count=1 status=none | wc -c)
assert_eq $((1500032 - 1048576)) "$got" "dd bs=1M skip=1 count=1 length"
assert_eq 0 "$(dd if="$MNT/orders/0" bs=4k skip=5000 status=none | wc -c)" "dd past the end"

# unmount, remount: everything is still there
records=$(xattr "$MNT/orders/0" records)
((records > 3)) || fail "records after a 1.5 MB append with cat: $records"
remount_tfs
assert_eq orders "$(ls "$MNT")" "ls mnt after remount"
assert_eq "0 1" "$(ls "$MNT/orders" | xargs)" "ls mnt/orders after remount"
cmp "$REF/0" "$MNT/orders/0" || fail "partition 0 differs after remount"
cmp "$REF/1" "$MNT/orders/1" || fail "partition 1 differs after remount"
assert_eq "$records" "$(xattr "$MNT/orders/0" records)" "records after remount"
assert_eq "$(fsize "$REF/0")" "$(xattr "$MNT/orders/0" end)" "user.topicfs.end after remount"
echo '{"id":3}' >>"$MNT/orders/0"
echo '{"id":3}' >>"$REF/0"
cmp "$REF/0" "$MNT/orders/0" || fail "append after remount"
umount_tfs

# the data dir holds exactly the records' bytes
[[ -f $DATA/.topicfs ]] || fail "no $DATA/.topicfs"
ls "$DATA/orders/0"/*.log >/dev/null || fail "no .log files for orders/0"
for f in "$DATA/orders/0"/*.log "$DATA/orders/0"/*.idx; do
	[[ $(basename "$f") =~ ^[0-9]{20}\.(log|idx)$ ]] || fail "bad segment file name $f"
done
cmp "$REF/0" <(datalog orders 0) || fail ".log files of orders/0 differ from the reference"
cmp "$REF/1" <(datalog orders 1) || fail ".log files of orders/1 differ from the reference"
