#!/usr/bin/env bash
# t_damage: damaged sealed data through the mount: a flipped byte in a
# record, a truncated .log and a missing segment each read as EIO in their
# range only (cat stops there, dd and tail around it work), the log names
# the file and offset, and the daemon stays up.  Then damage to the active
# segment's index below the recovery point: recovery keeps every synced
# byte (a flipped entry, a flipped header), and two mounts agree.
. "$(dirname "$0")/lib.sh"

mount_tfs "segment.bytes=4K"
mkdir "$MNT/t"
P=$MNT/t/0
rec() { printf "%0999d\n" "$1"; } # 1000 bytes: 4 records per segment
for i in $(seq 0 19); do rec "$i" >>"$P"; done
assert_eq 5 "$(xattr "$P" segments)" "segments"
umount_tfs

printf '#' | dd of="$DATA/t/0/00000000000000000000.log" bs=1 seek=1500 conv=notrunc status=none
truncate -s 3000 "$DATA/t/0/00000000000000004000.log"
rm "$DATA/t/0/00000000000000012000.log" "$DATA/t/0/00000000000000012000.idx"
mount_tfs
assert_eq 20000 "$(fsize "$P")" "size with damage"
# cat stops at the first damaged record, with what came before
expect_errno "Input/output error" cat "$P"
assert_eq "$(rec 0)" "$({ cat "$P" 2>/dev/null || true; } | head -c 1000)" "cat up to the damage"
rd() { dd if="$P" bs=1000 skip="$1" count=1 status=none; }
assert_eq "$(rec 0)" "$(rd 0)" "record 0"
expect_errno "Input/output error" rd 1
assert_eq "$(rec 2)" "$(rd 2)" "record 2"
expect_errno "Input/output error" rd 4
expect_errno "Input/output error" rd 7
assert_eq "$(rec 8)" "$(rd 8)" "record 8 (an intact segment)"
assert_eq "$(rec 11)" "$(rd 11)" "record 11"
expect_errno "Input/output error" rd 12
expect_errno "Input/output error" rd 15
assert_eq "$(for i in 16 17 18 19; do rec $i; done)" "$(tail -c +16001 "$P")" "the active segment"
grep -q "t/0/00000000000000000000.log: record at offset 1000 (1000 bytes, file position 1000): data CRC mismatch" "$TFS_LOG" ||
	fail "no log line for the flipped byte"
grep -q "t/0/00000000000000004000.log: sealed segment damaged: its index ends at offset 8000 but the .log ends at offset 7000" "$TFS_LOG" ||
	fail "no log line for the truncated .log"
grep -q "t/0/00000000000000012000: damaged segment (no files for these offsets): offsets 12000..16000 read as EIO" "$TFS_LOG" ||
	fail "no log line for the missing segment"
# still serving: appends go on
rec 20 >>"$P"
assert_eq "$(rec 20)" "$(rd 20)" "append after damage"
umount_tfs

# the active segment (16000..21000) was synced by the clean unmount: a
# flipped index entry is damage, never a torn tail: only its record reads
# as EIO, and every byte stays, at this mount and the next
IDX=$DATA/t/0/00000000000000016000.idx
printf '#' | dd of="$IDX" bs=1 seek=$((32 + 32 + 3)) conv=notrunc status=none
"$BUILD/topicfs-fsck" "$DATA" >"$T/fsck.out" 2>&1 && fail "fsck found no damage: $(cat "$T/fsck.out")"
grep -q "index entry 1 damaged below the recovery point 21000: recovery keeps them" "$T/fsck.out" ||
	fail "fsck: $(cat "$T/fsck.out")"
for round in 1 2; do
	mount_tfs
	assert_eq 21000 "$(fsize "$P")" "size with a damaged entry (mount $round)"
	assert_eq "$(rec 16)" "$(rd 16)" "record 16 (mount $round)"
	expect_errno "Input/output error" rd 17
	assert_eq "$(for i in 18 19 20; do rec $i; done)" "$(tail -c +18001 "$P")" "records after the damaged entry (mount $round)"
	umount_tfs
	grep -q "16000.idx: index entry 1 damaged below the recovery point 21000: kept, not cut" "$TFS_LOG" ||
		fail "no recovery line for the damaged entry (mount $round)"
	! grep "recovery: " "$TFS_LOG" | grep -v "kept, not cut" | grep -q "cut" ||
		fail "recovery cut something: $(grep 'recovery:' "$TFS_LOG")"
done

# a flipped header of an index a sync covered: written again, entries kept
printf '#' | dd of="$IDX" bs=1 seek=3 conv=notrunc status=none
mount_tfs
assert_eq 21000 "$(fsize "$P")" "size with a damaged header"
assert_eq "$(rec 16)" "$(rd 16)" "record 16 after a damaged header"
grep -q "16000.idx: bad index header (magic or CRC), but the recovery point 21000 says its records were synced" "$TFS_LOG" ||
	fail "no recovery line for the damaged header"
umount_tfs
