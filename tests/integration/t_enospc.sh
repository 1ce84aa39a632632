#!/usr/bin/env bash
# t_enospc: a full disk.  The data dir is on a 4 MiB tmpfs; appends of 1 MiB
# down to 1 byte fill it.  Every write() either appends all its bytes or
# fails with ENOSPC and appends nothing (the size is unchanged and the bytes
# before it are intact, also after a remount); the daemon stays up, reads,
# stat and xattrs work, and creating a partition fails cleanly.  With 64K
# segments a roll hits ENOSPC creating the next segment's files and leaves
# no stray segment behind.  After space is freed (a filler file deleted, a
# topic removed), appends land right after the previous end.  kill -9 with
# the disk full, and a remount finds every acknowledged byte.  Recovery
# that needs space (a crash in the middle of a roll left a new segment's
# .log without its .idx) on a full disk still mounts.
# t_enospc_ext4 runs it on an ext4 image (ENOSPC_FS=ext4), where appends of
# 64 KiB or more allocate blocks ahead.
. "$(dirname "$0")/lib.sh"

small_datadir 4M "${ENOSPC_FS:-tmpfs}"
REF=$T/ref # what the partition must hold: every acknowledged append
: >"$REF"
REFSIZE=0  # its size
NOK=0      # acknowledged appends (records)
NOSPC=0    # appends refused with ENOSPC

# append LEN [-u]: one write() of LEN bytes to $P; it appends exactly what
# write() reports (all, or with ENOSPC nothing, the bytes before it intact)
# and the partition stays what $REF holds.  Returns 1 on ENOSPC.
append() {
	local len=$1 out new pat="r$((NOK + NOSPC))-"
	out=$("$TOOLS/wr" -a -n "$len" ${2:-} "$P" "$pat") || true
	LAST=$out
	new=$(fsize "$P")
	case $out in
	ok)
		"$TOOLS/wr" -c -a -n "$len" "$REF" "$pat" >/dev/null
		NOK=$((NOK + 1)) REFSIZE=$((REFSIZE + len))
		assert_eq "$REFSIZE" "$new" "size after an acknowledged append of $len bytes"
		;;
	"write: ENOSPC")
		NOSPC=$((NOSPC + 1))
		assert_eq "$REFSIZE" "$new" "size after an append of $len bytes refused with ENOSPC"
		cmp -s "$P" "$REF" || fail "partition differs from the acknowledged appends after a refused one"
		;;
	"write: short "*)
		# the kernel split an unaligned write() in two FUSE writes and
		# the first, a whole record, is what it reports
		len=${out#write: short }
		"$TOOLS/wr" -c -a -n "$len" "$REF" "$pat" >/dev/null
		NOK=$((NOK + 1)) REFSIZE=$((REFSIZE + len))
		assert_eq "$REFSIZE" "$new" "size after a short append"
		cmp -s "$P" "$REF" || fail "partition differs from the acknowledged appends after a short one"
		;;
	*) fail "append of $len bytes: '$out' (expected ok or ENOSPC)" ;;
	esac
	[[ $out != "write: ENOSPC" ]]
}

# fill SIZE...: append records of each SIZE in turn until one is refused.
fill() {
	local len n
	for len in "$@"; do
		for ((n = 0; n < 1000; n++)); do append "$len" || break; done
	done
}

# alive WHAT: the daemon still serves: pid, stat, read, xattrs, listing.
alive() {
	_alive "$TFS_PID" || fail "$1: the daemon died"
	cmp "$P" "$REF" || fail "$1: reading the partition"
	assert_eq "$(fsize "$REF")" "$(xattr "$P" end)" "$1: user.topicfs.end"
	ls "$MNT" "$MNT/t" >/dev/null || fail "$1: listing"
}

# segfiles: the partition's .log and .idx files in the data dir, counted.
segfiles() { ls "$DATA/t/0" | grep -cE '\.(log|idx)$'; }

dd if=/dev/zero of="$T/small/filler" bs=64K count=8 status=none # 512K
mount_tfs
mkdir "$MNT/t" "$MNT/spare"
touch "$MNT/t/0" "$MNT/spare/0"
"$TOOLS/wr" -a -n 400000 "$MNT/spare/0" spare >/dev/null
P=$MNT/t/0

# 1. Fill with 1 MiB records, then smaller and smaller ones, down to 1 byte.
fill 1048576 300000 65536 4096 1000 100 10 1
((NOSPC >= 8)) || fail "only $NOSPC appends refused filling the disk"
log "full after $NOK appends ($(fsize "$P") bytes), $NOSPC refused; $(df -k --output=avail "$T/small" | tail -1) KiB free"
expect_errno ENOSPC "$TOOLS/wr" -a -n 1 "$P" x
# unaligned, the kernel may split it in two FUSE writes, each all or nothing
append 1048576 -u || true
[[ $LAST != ok ]] || fail "an unaligned 1 MiB append succeeded on a full disk"
log "unaligned 1 MiB append when full: $LAST"
alive "disk full"
assert_eq "$NOK" "$(xattr "$P" records)" "records when full"

# 2. New partitions and topics when full: refused with ENOSPC, or created
#    whole; never half made.
out=$("$TOOLS/wr" -a -c "$MNT/t/1" x) || true
case $out in
"open: ENOSPC") [[ ! -e $DATA/t/1 ]] || fail "a refused partition left $(ls -R "$DATA/t/1")" ;;
ok) fail "created partition t/1 and appended to it on a full disk?" ;;
*) fail "creating partition t/1 when full: '$out'" ;;
esac
assert_eq "0" "$(ls "$MNT/t" | xargs)" "partitions of t after a refused create"
if mkdir "$MNT/u" 2>"$T/err"; then
	log "mkdir of a topic on a full disk succeeded (directories take no tmpfs blocks)"
	expect_errno "No space left" touch "$MNT/u/0"
	rmdir "$MNT/u"
else
	grep -q "No space left" "$T/err" || fail "mkdir of a topic when full: $(cat "$T/err")"
	[[ ! -e $DATA/u ]] || fail "a refused topic left its directory"
fi
alive "after refused creates"

# 3. A clean remount when full: nothing changes.
remount_tfs
alive "remounted full"
assert_eq "$NOK" "$(xattr "$P" records)" "records after remounting full"
append 1 && fail "an append succeeded on a full disk after a remount"

# 4. Free the filler: appends land right after the previous end.
rm "$T/small/filler"
end=$(fsize "$P")
append 400000 || fail "append after freeing 512K"
assert_eq $((end + 400000)) "$(fsize "$P")" "end after the first append after freeing"
append 100 || fail "small append after freeing"

# 5. Small segments: fill again; rolls hit ENOSPC creating the next
#    segment's files, and leave none behind.
remount_tfs segment.bytes=64K
fill 60000 30000 4096 1000 100 1
alive "full with 64K segments"
for len in 65536 40000 1; do append $len || true; done # rolls, on a full disk
grep -q "creating segment.*No space left" "$TFS_LOG" || fail "no roll hit ENOSPC"
assert_eq $(($(xattr "$P" segments) * 2)) "$(segfiles)" ".log and .idx files vs user.topicfs.segments after refused rolls"

# 6. kill -9 while full, with a writer in flight (its appends to spare/0
#    refused, or acknowledged and counted), remount: everything
#    acknowledged is there, nothing else.
spare=$(fsize "$MNT/spare/0")
(
	while out=$("$TOOLS/wr" -a -n 5000 "$MNT/spare/0" s); [[ $out == "write: ENOSPC" ]]; do :; done
	[[ $out == ok ]] && echo "$out" >>"$T/spare.acked"
	echo "$out" >"$T/spare.last"
) &
sleep 0.3
kill9_tfs
wait
mount_tfs segment.bytes=64K
grep -E '(^|: )recovery:' "$TFS_LOG" || log "(no recovery: lines)"
alive "after kill -9 when full"
assert_eq "$NOK" "$(xattr "$P" records)" "records after kill -9 when full"
log "writer on spare/0 ended with '$(cat "$T/spare.last")'"
acked=0
[[ ! -f $T/spare.acked ]] || acked=$(wc -l <"$T/spare.acked")
assert_eq $((spare + 5000 * acked)) "$(fsize "$MNT/spare/0")" "spare/0 after kill -9 ($acked appends acknowledged)"

# 7. Remove a topic to free space; appends resume at the end.
rm -r "$MNT/spare"
end=$(fsize "$P")
append 200000 || fail "append after removing a topic"
assert_eq $((end + 200000)) "$(fsize "$P")" "end after removing a topic"
dd if=/dev/zero of="$T/small/filler" bs=64K count=2 status=none
fill 1048576 65536 1000 1
alive "full again"

# 8. A crash in the middle of a roll on a full disk left the next segment's
#    .log (empty) without its .idx: recovery has no space for the index
#    header, and must mount anyway; the first append writes it.
#    (The fill may have ended with that roll done and the append after it
#    refused: then take the empty segment back and fill what it freed.)
umount_tfs
end=$REFSIZE
rm -f "$DATA/t/0/$(printf %020d "$end").idx"
touch "$DATA/t/0/$(printf %020d "$end").log"
cat /dev/zero >"$T/small/filler2" 2>/dev/null || true
mount_tfs segment.bytes=64K
grep -E '(^|: )recovery:' "$TFS_LOG" || fail "no recovery: line for a segment without its index"
alive "recovered a half-made segment on a full disk"
append 1 && fail "an append succeeded on a full disk after recovery"
rm "$T/small/filler" "$T/small/filler2"
append 1000 || fail "append after freeing space, into the recovered segment"
assert_eq $((end + 1000)) "$(fsize "$P")" "end after the first append into the recovered segment"
remount_tfs segment.bytes=64K
! grep -E '(^|: )recovery:' "$TFS_LOG" || fail "recovery after a clean unmount"
alive "remounted"
append 1 || fail "append after the last remount"
umount_tfs
cmp <(datalog t 0) "$REF" || fail "the .log files differ from the acknowledged appends"
log "$NOK appends acknowledged, $NOSPC refused with ENOSPC"
