#!/usr/bin/env bash
# t_append: O_APPEND appends, conditional appends (writes without O_APPEND
# succeed only at the end: ESPIPE elsewhere), truncation, and every
# operation that must be refused without changing anything.
. "$(dirname "$0")/lib.sh"

WR=$TOOLS/wr
mount_tfs
mkdir "$MNT/t"
P=$MNT/t/0
printf 'hello\n' >>"$P"
printf 'world\n' >>"$P"
snap() { echo "$(fsize "$P") $(xattr "$P" records) $(md5sum <"$P")"; }
orig=$(snap)
assert_eq "12 2" "$(cut -d' ' -f1,2 <<<"$orig")" "size and records"

# conditional appends at a wrong offset: ESPIPE, nothing appended
for off in 0 3 11 13 100000; do
	assert_eq "write: ESPIPE" "$("$WR" -o $off "$P" XYZ || true)" "pwrite at $off"
done
assert_eq "$orig" "$(snap)" "partition after refused pwrites"
printf XYZ | expect_errno "Illegal seek" dd of="$P" bs=3 seek=2 oflag=seek_bytes conv=notrunc iflag=fullblock status=none
printf XYZ | expect_errno "Illegal seek" dd of="$P" bs=3 seek=20 oflag=seek_bytes conv=notrunc iflag=fullblock status=none
assert_eq "$orig" "$(snap)" "partition after refused dd writes"
assert_eq "$(printf 'hello\nworld')" "$(cat "$P")" "content after refused writes"

# ... and at the exact end they append (one record each)
assert_eq ok "$("$WR" -o 12 "$P" 'abc
')" "pwrite at the end"
printf 'dd!\n' | dd of="$P" bs=4 seek=16 oflag=seek_bytes conv=notrunc iflag=fullblock status=none ||
	fail "dd at the end offset failed"
assert_eq "$(printf 'hello\nworld\nabc\ndd!')" "$(cat "$P")" "content after conditional appends"
assert_eq 20 "$(fsize "$P")" "size after conditional appends"
assert_eq 4 "$(xattr "$P" records)" "records after conditional appends"
# a plain write() (offset 0 after open, no O_APPEND) on a non-empty partition
assert_eq "write: ESPIPE" "$("$WR" "$P" nope || true)" "write at offset 0 without O_APPEND"
# O_APPEND ignores the file offset
assert_eq ok "$("$WR" -a "$P" 'app
')" "O_APPEND write"
assert_eq 24 "$(fsize "$P")" "size after O_APPEND write"

# one write() of 1 MiB is one record
head -c 1048576 /dev/urandom >"$T/mib"
recs=$(xattr "$P" records)
dd if="$T/mib" of="$P" bs=1M count=1 oflag=append conv=notrunc status=none || fail "1 MiB append"
assert_eq $((recs + 1)) "$(xattr "$P" records)" "records after one 1 MiB write()"
assert_eq $((24 + 1048576)) "$(fsize "$P")" "size after a 1 MiB write()"
cmp "$T/mib" <(tail -c 1048576 "$P") || fail "the 1 MiB record reads back differently"

# truncation of a non-empty partition: EPERM, nothing lost
orig=$(snap)
expect_errno "Operation not permitted" bash -c 'echo x > "$1"' _ "$P"
expect_errno "Operation not permitted" truncate -s 0 "$P"
expect_errno "Operation not permitted" truncate -s 5 "$P"
expect_errno "Operation not permitted" truncate -s 100 "$P"
assert_eq "open: EPERM" "$("$WR" -t "$P" x || true)" "open O_TRUNC"
assert_eq "$orig" "$(snap)" "partition after refused truncations"

# an empty partition can be "truncated" and written at offset 0
touch "$MNT/t/1"
echo x >"$MNT/t/1"
assert_eq x "$(cat "$MNT/t/1")" "echo x > empty partition"
expect_errno "Operation not permitted" truncate -s 1 "$MNT/t/1"
expect_errno "Operation not permitted" truncate -s 3 "$MNT/t/1"
assert_eq "x" "$(cat "$MNT/t/1")" "after refused truncate"
touch "$MNT/t/2"
truncate -s 0 "$MNT/t/2" || fail "truncate -s 0 of an empty partition refused"
assert_eq 0 "$(fsize "$MNT/t/2")" "size after truncate -s 0 of an empty partition"
assert_eq ok "$("$WR" -t "$MNT/t/2" 'first
')" "O_TRUNC write on an empty partition"
assert_eq first "$(cat "$MNT/t/2")" "content of partition 2"

# names cannot change, no links, no special files, no permissions
orig=$(snap)
tree=$(ls -lR "$MNT")
expect_errno "Operation not permitted" mv "$P" "$MNT/t/9"
expect_errno "Operation not permitted" mv "$MNT/t/2" "$MNT/t/3"
expect_errno "Operation not permitted" mv "$MNT/t" "$MNT/u"
expect_errno "Operation not permitted" ln "$P" "$MNT/t/3"
expect_errno "Operation not permitted" ln -s 0 "$MNT/t/3"
expect_errno "Operation not permitted" mkfifo "$MNT/t/3"
expect_errno "Operation not permitted" mknod "$MNT/t/3" c 1 3
expect_errno "Operation not permitted" chmod 600 "$P"
expect_errno "Operation not permitted" chmod 755 "$MNT/t"
expect_errno "Operation not permitted" chown nobody "$P"
expect_errno "Operation not permitted" setfattr -n user.topicfs.end -v 5 "$P"
expect_errno "Operation not permitted" setfattr -n user.topicfs.records -v 0 "$P"
setfattr -x user.topicfs.start "$P" 2>/dev/null && fail "setfattr -x user.topicfs.start succeeded"
assert_eq 0 "$(xattr "$P" start)" "user.topicfs.start after a refused remove"
# touch of an existing partition succeeds and changes nothing
mtime=$(stat -c %Y "$P")
touch "$P" || fail "touch of an existing partition refused"
touch -d 2001-01-01 "$P" || fail "touch -d of an existing partition refused"
assert_eq "$mtime" "$(stat -c %Y "$P")" "mtime after touch"
assert_eq "$orig" "$(snap)" "partition after refused metadata changes"
assert_eq "$tree" "$(ls -lR "$MNT")" "ls -lR after refused metadata changes"

# a zero-byte write appends nothing
assert_eq ok "$("$WR" -a "$P" '')" "empty write"
assert_eq "$orig" "$(snap)" "after an empty write"

# all of it as the data dir holds it
umount_tfs
assert_eq "$(printf 'hello\nworld\nabc\ndd!\napp')" "$(datalog t 0 | head -c 24)" "partition 0 in the data dir"
cmp "$T/mib" <(datalog t 0 | tail -c 1048576) || fail "the 1 MiB record in the data dir"
assert_eq "first" "$(datalog t 2)" "partition 2 in the data dir"
