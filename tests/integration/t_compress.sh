#!/usr/bin/env bash
# t_compress: compression=zstd through the mount: sealed segments become
# <base>.zst in the background, every byte reads back the same from any
# offset (also after a remount), du shrinks, the active segment stays raw;
# then damage: a flipped byte in a .zst frame or in a sealed .log reads as
# EIO in that range only, and the log names the file and offset.
. "$(dirname "$0")/lib.sh"

mount_tfs "segment.bytes=256K"
mkdir "$MNT/logs"
echo 'compression=zstd' >>"$MNT/logs/.config"
P=$MNT/logs/0
touch "$P"
# about 2 MiB of JSON lines, appended as 4 KiB records
awk 'BEGIN { for (i = 1; i <= 20000; i++)
	printf "{\"ts\":%d,\"level\":\"%s\",\"svc\":\"api-%d\",\"msg\":\"request %d took %d ms\"}\n",
		1700000000 + i, i % 7 ? "INFO" : "WARN", i % 5, i, i * 37 % 1000 }' >"$T/src"
dd if="$T/src" of="$P" bs=4k oflag=append conv=notrunc status=none
size=$(stat -c %s "$T/src")
assert_eq "$size" "$(fsize "$P")" "size"
segs=$(xattr "$P" segments)
((segs >= 5)) || fail "only $segs segments"

# sealed segments are synced 5 s after they roll, then compressed
for ((i = 0; i < 300; i++)); do
	(($(ls "$DATA/logs/0" | grep -c '\.zst$') == segs - 1)) && break
	sleep 0.1
done
assert_eq $((segs - 1)) "$(ls "$DATA/logs/0" | grep -c '\.zst$')" ".zst files"
assert_eq 1 "$(ls "$DATA/logs/0" | grep -c '\.log$')" ".log files (the active one)"
grep -q "compression: logs/0/00000000000000000000: 262144 bytes to" "$TFS_LOG" || fail "no compression log line"
cmp "$T/src" "$P" || fail "the compressed partition reads back differently"
for skip in 0 1 63 64 65 300 511; do
	cmp <(dd if="$T/src" bs=4k skip=$skip count=3 status=none) \
		<(dd if="$P" bs=4k skip=$skip count=3 status=none) || fail "dd skip=$skip"
done
cmp <(tail -c +1000001 "$T/src") <(tail -c +1000001 "$P") || fail "tail -c +N"
# large reads over several compressed segments, after reads that spliced
# the active one on the same worker threads (a reply once kept a stale
# file buffer in a decompressed slot: another file's bytes came back)
python3 - "$T/src" "$P" >"$T/big.out" 2>&1 <<'PY' || fail "large reads: $(cat "$T/big.out")"
import os, sys
src = open(sys.argv[1], "rb").read()
fd = os.open(sys.argv[2], os.O_RDONLY)
n = len(src)
for i in range(40):
    tail = max(0, n - 300000 - 7 * i)
    assert os.pread(fd, 1 << 20, tail) == src[tail:tail + (1 << 20)], "tail read %d" % i
    off = 4096 * i
    got = os.pread(fd, 3 << 20, off)
    assert got == src[off:off + (3 << 20)], "read %d at %d: %d bytes, %s" % (
        i, off, len(got), "short" if got == src[off:off + len(got)] else "wrong")
PY
blocks=$(stat -c %b "$P")
((blocks * 512 * 3 < size)) || fail "du: $((blocks * 512)) bytes kept for $size"
echo '{"after":"compression"}' >>"$P"
remount_tfs
cmp <(cat "$T/src"; echo '{"after":"compression"}') "$P" || fail "after remount"

# damage in a .zst frame: that range is EIO, the rest reads
umount_tfs
z1=$DATA/logs/0/00000000000000262144.zst
printf '\377\377' | dd of="$z1" bs=1 seek=100 conv=notrunc status=none
mount_tfs
expect_errno "Input/output error" dd if="$P" of=/dev/null bs=4k skip=64 count=1 status=none
grep -q "logs/0/00000000000000262144.zst: damaged compressed frame at byte 0" "$TFS_LOG" ||
	fail "no damage log line for the .zst"
cmp <(dd if="$T/src" bs=4k count=64 status=none) <(dd if="$P" bs=4k count=64 status=none) ||
	fail "the segment before the damaged one"
cmp <(dd if="$T/src" bs=4k skip=128 count=64 status=none) <(dd if="$P" bs=4k skip=128 count=64 status=none) ||
	fail "the segment after the damaged one"
umount_tfs
