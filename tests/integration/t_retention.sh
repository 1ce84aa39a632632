#!/usr/bin/env bash
# t_retention: retention.bytes and retention.ms delete whole sealed
# segments from the front in the background; the start offset moves up,
# st_size stays the end, reads below the start fail with ERANGE, SEEK_DATA
# finds the start, du shows what is kept; an interrupted delete is
# finished at the next mount.
. "$(dirname "$0")/lib.sh"

SEEK=$TOOLS/seek
mount_tfs "segment.bytes=4K"
mkdir "$MNT/t"
P=$MNT/t/0
line() { printf "%01999d\n" "$1"; } # 2000 bytes: two per 4 KiB segment
for i in $(seq 0 9); do line "$i" >>"$P"; done
assert_eq 5 "$(xattr "$P" segments)" "segments before retention"
echo 'retention.bytes=8K' >>"$MNT/t/.config"

wait_start() { # WANT: the start offset, within 20 s (sealed segments are
	local i       # synced 5 s after they roll; the cleaner looks every 1 s)
	for ((i = 0; i < 200; i++)); do
		[[ $(xattr "$P" start) == "$1" ]] && return 0
		sleep 0.1
	done
	fail "start is $(xattr "$P" start), expected $1"
}
# 20000 bytes in 5 segments of 4000: deleting the first two leaves 12000
# (>= 8K); deleting the third would leave 8000 (< 8K)
wait_start 8000
assert_eq 3 "$(xattr "$P" segments)" "segments after retention.bytes"
assert_eq 20000 "$(fsize "$P")" "st_size stays the end offset"
assert_eq 6 "$(xattr "$P" records)" "records kept"
grep -q "retention: t/0: deleted 2 segments, offsets 0..8000 (4 records, .*by retention.bytes" "$TFS_LOG" ||
	fail "no retention log line"
[[ ! -e $DATA/t/0/00000000000000000000.log ]] || fail "segment 0 still on disk"

# reads below the start: ERANGE, never zeros or EOF; from the start: data
assert_eq "pread: ERANGE" "$("$SEEK" "$P" read 0 || true)" "pread at 0"
assert_eq "pread: ERANGE" "$("$SEEK" "$P" read 7999 || true)" "pread below the start"
assert_eq ok "$("$SEEK" "$P" read 8000)" "pread at the start"
expect_errno "Numerical result out of range" cat "$P"
assert_eq "$(for i in 4 5 6 7 8 9; do line $i; done)" "$(tail -c +8001 "$P")" "tail -c from the start"
assert_eq "$(line 5)" "$(dd if="$P" bs=2000 skip=5 count=1 status=none)" "dd skip"
assert_eq 8000 "$("$SEEK" "$P" data 0)" "SEEK_DATA from 0"
assert_eq 9000 "$("$SEEK" "$P" data 9000)" "SEEK_DATA inside the data"
assert_eq 0 "$("$SEEK" "$P" hole 0)" "SEEK_HOLE below the start"
assert_eq 20000 "$("$SEEK" "$P" hole 8000)" "SEEK_HOLE in the data"
assert_eq "lseek: ENXIO" "$("$SEEK" "$P" data 20000 || true)" "SEEK_DATA at the end"
# du: the blocks of what is kept (3 x 4000 data + indexes), not 20000
blocks=$(stat -c %b "$P")
((blocks * 512 >= 12000 && blocks * 512 < 16000)) || fail "st_blocks $blocks"

# a delete interrupted by a crash (the .log already renamed) is finished
echo 'retention.bytes=' >>"$MNT/t/.config"
umount_tfs
mv "$DATA/t/0/00000000000000008000.log" "$DATA/t/0/00000000000000008000.log.deleted"
mount_tfs
grep -q "recovery: t/0/00000000000000008000: finishing an interrupted retention delete" "$TFS_LOG" ||
	fail "no recovery log line"
assert_eq 12000 "$(xattr "$P" start)" "start after the finished delete"
assert_eq 20000 "$(fsize "$P")" "end after the finished delete"
ls "$DATA/t/0" | grep -q 8000 && fail "leftovers of segment 8000: $(ls "$DATA/t/0")"

# retention.ms: segments whose newest record is older go (never the
# active one); the rest of the partition stays readable and appendable
echo 'retention.ms=1000' >>"$MNT/t/.config"
sleep 1.2
wait_start 16000
assert_eq 1 "$(xattr "$P" segments)" "only the active segment is left"
assert_eq "$(for i in 8 9; do line $i; done)" "$(tail -c +16001 "$P")" "the active segment's records"
line 10 >>"$P"
assert_eq 22000 "$(fsize "$P")" "append after retention"
remount_tfs
assert_eq 16000 "$(xattr "$P" start)" "start after remount"
# (not tail -c: coreutils reads files below st_blksize from offset 0)
assert_eq "$(line 10)" "$(dd if="$P" bs=2000 skip=10 status=none)" "last record after remount"
umount_tfs
