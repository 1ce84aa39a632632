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
