#!/usr/bin/env bash
# t_reads: large reads.  The kernel sends the READ requests the daemon
# offered at INIT (4 MiB when it could raise the kernel's limits, else
# 1 MiB), st_blksize says the same, and reads of every size across 1 MiB
# segments return the partition's bytes, spliced and with -o nosplice
# (1 MiB requests, the limits left alone); a 1 MiB write() from an
# unaligned buffer is one record with 4 MiB requests, two with 1 MiB; the
# daemon says when the guest's idle vCPUs halt at once.
. "$(dirname "$0")/lib.sh"

metric() { awk -v m="$1" '$1 == m { print $2 }' "$MNT/.metrics"; }

# 1 MiB records of distinct text in 1 MiB segments: 12 MiB, 12 segments
mount_tfs
mkdir "$MNT/r"
echo segment.bytes=1M >>"$MNT/r/.config"
P=$MNT/r/0
touch "$P"
for ((i = 0; i < 12; i++)); do
	awk -v i=$i 'BEGIN { for (n = 0; n < 16384; n++) printf "%07d-%08d %s\n", i, n, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ" }' >"$T/rec"
	assert_eq 1048576 "$(fsize "$T/rec")" "record size"
	dd if="$T/rec" of="$P" bs=1M oflag=append conv=notrunc status=none || fail "append $i"
	cat "$T/rec" >>"$T/ref"
done
assert_eq 12 "$(xattr "$P" segments)" "segments"
cmp "$T/ref" "$P" || fail "cat differs"

if grep -q "reads: up to 4096 KiB per request" "$TFS_LOG"; then
	want=4194304
else
	want=1048576
	log "the kernel's limits could not be raised: 1 MiB requests ($(grep -E 'pipe|pages' "$TFS_LOG"))"
fi
assert_eq $want "$(stat -c %o "$P")" "st_blksize"
before=$(metric topicfs_read_requests_total)
dd if="$P" of="$T/out" bs=8M iflag=fullblock status=none || fail "dd bs=8M"
cmp "$T/ref" "$T/out" || fail "dd bs=8M differs"
assert_eq $want "$(metric topicfs_read_request_max_bytes)" "largest READ request"
n=$(($(metric topicfs_read_requests_total) - before))
# 12 MiB in requests of want bytes, plus the reads that find the end (dd
# with fullblock reads on after a short read)
((n <= 12 * 1048576 / want + 3)) || fail "$n READ requests for 12 MiB of $want-byte requests"

# the start-up hint of fs/io.c: logged exactly when idle vCPUs halt at once
# (the haltpoll cpuidle driver with guest_halt_poll_ns 0, as this VM boots)
hint=0
[[ $(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null) == haltpoll &&
	$(cat /sys/module/haltpoll/parameters/guest_halt_poll_ns 2>/dev/null) == 0 ]] && hint=1
assert_eq $hint "$(grep -c 'guest halt polling is off' "$TFS_LOG")" "halt-polling hint in the log"

# reads at every alignment and size across segment boundaries
check_reads() {
	local off len
	for off in 0 1 4095 1048575 1048576 3145727 5000000; do
		for len in 1 4096 1048577 4194304 4194305 8388608; do
			cmp <(tail -c +$((off + 1)) "$T/ref" | head -c $len) \
				<(dd if="$P" bs=$len skip=$off count=1 iflag=skip_bytes,fullblock status=none) ||
				fail "$len bytes at $off differ"
		done
	done
}
check_reads

# with 4 MiB requests (max_pages 1024) a 1 MiB write() from a buffer that
# is not page-aligned is still one WRITE, so one record; with 1 MiB
# requests the kernel splits it after 1 MiB - 4 KiB (README, Records)
touch "$MNT/r/1"
"$TOOLS/wr" -a -n 1048576 -u "$MNT/r/1" abc >/dev/null || fail "unaligned 1 MiB append"
assert_eq $((want == 4194304 ? 1 : 2)) "$(xattr "$MNT/r/1" records)" "records of an unaligned 1 MiB write()"

remount_tfs nosplice
assert_eq 1048576 "$(stat -c %o "$P")" "st_blksize with -o nosplice"
cmp "$T/ref" "$P" || fail "cat with -o nosplice"
check_reads
assert_eq 1048576 "$(metric topicfs_read_request_max_bytes)" "largest READ request with -o nosplice"
"$TOOLS/wr" -a -n 1048576 -u "$MNT/r/1" abc >/dev/null || fail "unaligned 1 MiB append with -o nosplice"
assert_eq $(((want == 4194304 ? 1 : 2) + 2)) "$(xattr "$MNT/r/1" records)" "records after an unaligned 1 MiB write() with -o nosplice"
umount_tfs
