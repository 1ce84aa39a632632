#!/usr/bin/env bash
# t_segments: with -o segment.bytes=4096 a partition rolls into many
# segment files; reads across segment boundaries return the right bytes;
# records larger than a segment work; all of it survives a remount.
. "$(dirname "$0")/lib.sh"

PAD=200
N=1000
mount_tfs segment.bytes=4096
mkdir "$MNT/s"
P=$MNT/s/0
touch "$P"
"$TOOLS/producer" -p $PAD "$P" 0 $N || fail "producer"
"$TOOLS/producer" -c -p $PAD "$T/ref" 0 $N || fail "producer (reference)"
size=$(fsize "$T/ref")
((size > 100000)) || fail "reference too small: $size"
assert_eq "$size" "$(fsize "$P")" "partition size"
cmp "$T/ref" "$P" || fail "partition differs from the reference"
"$TOOLS/linecheck" -p $PAD verify "$P" 1 $N || fail "linecheck"

nlog=$(ls "$DATA/s/0" | grep -cE '^[0-9]{20}\.log$')
nidx=$(ls "$DATA/s/0" | grep -cE '^[0-9]{20}\.idx$')
((nlog >= size / 4096)) || fail "only $nlog .log files for $size bytes with 4 KiB segments"
assert_eq "$nlog" "$nidx" ".idx files vs .log files"
assert_eq "$nlog" "$(xattr "$P" segments)" "user.topicfs.segments"
assert_eq $N "$(xattr "$P" records)" "user.topicfs.records"
for f in "$DATA/s/0"/*.log; do
	(($(fsize "$f") <= 4096)) || fail "segment $f is larger than 4096 bytes"
done
# each .log file is named by its base offset
base=0
for f in "$DATA/s/0"/*.log; do
	assert_eq "$(printf '%020d.log' $base)" "$(basename "$f")" "segment file name"
	base=$((base + $(fsize "$f")))
done
assert_eq "$size" "$base" "sum of segment sizes"
cmp "$T/ref" <(datalog s 0) || fail ".log files differ from the reference"

# reads that start and end anywhere, across segment boundaries
check_reads() {
	local b off len
	for b in 4096 8192 40960 $((size / 2)) $((size - 5)); do
		for off in $((b - 300)) $((b - 1)) $b $((b + 1)); do
			((off >= 0)) || continue
			for len in 1 100 1000 5000 20000; do
				[[ "$(dd if="$T/ref" bs=$len skip=$off count=1 iflag=skip_bytes status=none | md5sum)" == \
					"$(dd if="$P" bs=$len skip=$off count=1 iflag=skip_bytes status=none | md5sum)" ]] ||
					fail "dd of $len bytes at offset $off differs"
			done
		done
	done
}
check_reads
assert_eq "$(tail -c 5000 "$T/ref" | md5sum)" "$(tail -c 5000 "$P" | md5sum)" "tail -c 5000"

# a record larger than a segment
bigrec=$(head -c 6750 /dev/urandom | base64 -w0)
assert_eq 9000 "${#bigrec}" "big record length"
"$TOOLS/wr" -a "$P" "$bigrec" >/dev/null || fail "9000-byte append"
printf %s "$bigrec" >>"$T/ref"
assert_eq $((N + 1)) "$(xattr "$P" records)" "records after a 9000-byte record"
cmp "$T/ref" "$P" || fail "partition differs after a record larger than a segment"
size=$(fsize "$T/ref")

remount_tfs segment.bytes=4096
cmp "$T/ref" "$P" || fail "partition differs after remount"
assert_eq $((N + 1)) "$(xattr "$P" records)" "records after remount"
(($(xattr "$P" segments) > 1)) || fail "segments after remount: $(xattr "$P" segments)"
check_reads
echo more >>"$P"
echo more >>"$T/ref"
remount_tfs
cmp "$T/ref" "$P" || fail "partition differs after a remount with the default segment size"
echo evenmore >>"$P"
echo evenmore >>"$T/ref"
cmp "$T/ref" "$P" || fail "append with the default segment size"
umount_tfs
cmp "$T/ref" <(datalog s 0) || fail ".log files differ from the reference at the end"

# On ext4 an active segment that takes records of 64 KiB or more allocates
# its blocks ahead (store/segment.c, seg_prealloc); a sealed segment, and
# the active one after an unmount, hold only the blocks their bytes need.
alloc_ok() { # FILE: blocks for at most its size, a block to spare
	local a s
	a=$(($(stat -c '%b * %B' "$1"))) s=$(fsize "$1")
	((a <= (s + 4095) / 4096 * 4096 + 4096)) ||
		fail "$1 holds $a bytes of blocks for $s bytes"
}
# (ext4 reads as ext2/ext3; the store allocates ahead with 1 GiB free)
if [[ $(stat -f -c %T "$DATA") == ext2/ext3 ]] &&
	(($(stat -f -c '%a * %S' "$DATA") >= 2 << 30)); then
	mount_tfs
	mkdir "$MNT/b"
	echo "segment.bytes=3000000" >"$MNT/b/.config"
	"$TOOLS/tfsbench" append "$MNT/b/0" 5 1048576 >/dev/null || fail "tfsbench append"
	logs=("$DATA/b/0"/*.log)
	assert_eq 3 "${#logs[@]}" "segments for 5 records of 1 MiB, 3000000-byte segments"
	a=$(($(stat -c '%b * %B' "${logs[2]}")))
	((a > 2 * 1048576)) || fail "the active segment allocated no blocks ahead ($a bytes)"
	for f in "${logs[@]:0:2}"; do alloc_ok "$f"; done
	head -c 5242880 "$MNT/b/0" | cmp - <(datalog b 0) || fail "b/0 differs from its .log files"
	umount_tfs
	alloc_ok "${logs[2]}"
fi
