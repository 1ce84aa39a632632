#!/usr/bin/env bash
# t_fsck: topicfs-fsck on a real data dir.  kill -9 the daemon while
# producers append; fsck exits 0 (ok, or a torn tail it reports); a torn
# tail put on disk is reported with its byte counts; --repair is refused
# while mounted (and a second mount of the same data dir too), cuts the tail
# when unmounted, and fsck is then clean; the mount sees the end fsck
# printed; a flipped byte in a sealed segment exits 1 naming file and
# offset; a bad consumer group file is counted apart.
. "$(dirname "$0")/lib.sh"

FSCK=$BUILD/topicfs-fsck
[[ -x $FSCK ]] || fail "no $FSCK (make all BUILD=...)"

fsck() { # EXPECTED-STATUS ARGS...: run topicfs-fsck, output in $T/fsck.out
	local want=$1 rc=0
	shift
	"$FSCK" "$@" >"$T/fsck.out" 2>&1 || rc=$?
	log "topicfs-fsck $* -> $rc"
	sed 's/^/    /' "$T/fsck.out"
	((rc == want)) || fail "topicfs-fsck $*: status $rc, expected $want"
}

# appends in flight when the daemon dies
mount_tfs segment.bytes=64K
mkdir "$MNT/k"
touch "$MNT/k/0" "$MNT/k/1"
pids=()
for i in 0 1; do
	"$TOOLS/producer" -p 300 -a "$T/ack.$i" "$MNT/k/$i" "$i" 100000000 >"$T/prod.$i" 2>&1 &
	pids+=($!)
done
for ((n = 0; n < 200; n++)); do
	(($(cat "$T"/ack.* 2>/dev/null | wc -l) >= 1000)) && break
	sleep 0.05
done

# while mounted: --repair and a second mount are refused, a check warns
fsck 2 --repair "$DATA"
grep -q 'data dir is in use' "$T/fsck.out" || fail "--repair while mounted: no 'in use' message"
mkdir "$T/mnt2"
rc=0
timeout 20 "$TFS" -f "$DATA" "$T/mnt2" >"$T/mount2.out" 2>&1 || rc=$?
log "second mount of the same data dir -> $rc: $(head -1 "$T/mount2.out")"
((rc == 1)) || fail "a second mount of the same data dir: status $rc, expected 1"
grep -q 'data dir is in use' "$T/mount2.out" || fail "second mount: no 'in use' message"

kill9_tfs
for p in "${pids[@]}"; do wait "$p" || true; done

fsck 0 "$DATA"
grep -Eq '^k/0: (ok|torn tail):' "$T/fsck.out" || fail "no ok/torn tail line for k/0"
grep -q "^  DAMAGE:" "$T/fsck.out" && fail "damage reported after kill -9"

# let recovery repair what the kill left (it may have hit a roll between
# creating the .log and the .idx), so the tail made next is the only one
mount_tfs "segment.bytes=64K"
umount_tfs

# a torn tail on disk, as a crash between the data and the index leaves
last=$(ls "$DATA/k/0"/*.log | tail -n 1)
printf 'p0 00' >>"$last"
fsck 0 "$DATA"
grep -q "torn: k/0/$(basename "$last") byte [0-9]*: torn tail: 5 bytes / 0 index bytes would be cut by recovery" "$T/fsck.out" ||
	fail "the torn tail is not reported with its size"
grep -Eq '^k/0: torn tail:' "$T/fsck.out" || fail "k/0 is not 'torn tail'"
fsck 0 -q "$DATA"
grep -q '^k/1: ok' "$T/fsck.out" && fail "-q printed an ok partition"

fsck 0 --repair "$DATA"
grep -q 'repair: recovery: k/0/.*cut 5 bytes' "$T/fsck.out" || fail "--repair did not print the cut"
fsck 0 "$DATA"
grep -Eq '^  (torn|DAMAGE):|: (torn tail|DAMAGED):' "$T/fsck.out" && fail "not clean after --repair"
end=$(sed -n 's/^k\/0: ok: .*offsets 0\.\.\([0-9]*\),.*/\1/p' "$T/fsck.out")
[[ -n $end ]] || fail "no end offset for k/0 in the output"

mount_tfs segment.bytes=64K
assert_eq "$end" "$(fsize "$MNT/k/0")" "k/0 size after --repair (fsck said $end)"
"$TOOLS/linecheck" -p 300 crash "$MNT/k/0" "$T/ack.0" || fail "k/0 after --repair"
umount_tfs

# a flipped byte in a sealed segment: exit 1, file and offset named
segs=("$DATA/k/0"/*.log) # no pipe: head would close it on a long ls
seg=${segs[0]}
printf '\377' | dd of="$seg" bs=1 seek=1000 conv=notrunc status=none
fsck 1 "$DATA"
grep -q "DAMAGE: k/0/$(basename "$seg") byte [0-9]*: record [0-9]*\.\.[0-9]* (entry [0-9]*): data CRC mismatch" "$T/fsck.out" ||
	fail "the flipped byte is not reported with file and offset"
grep -q "^k/0: DAMAGED: .*first damage at k/0/$(basename "$seg") byte [0-9]*; bad records: 1" "$T/fsck.out" ||
	fail "no DAMAGED line for k/0"

# a consumer group file the mount cannot read: damage outside any
# partition, counted on a line of its own (beside the flipped byte)
mkdir -p "$DATA/k/.groups/billing"
fsck 1 "$DATA"
grep -q "DAMAGE: k/.groups/billing: consumer group file" "$T/fsck.out" ||
	fail "the group file is not reported"
grep -q ": 1 damage findings outside the partitions" "$T/fsck.out" ||
	fail "no count of the damage outside the partitions"
rmdir "$DATA/k/.groups/billing"

fsck 2 "$T/nonexistent"
fsck 2
fsck 0 -h
grep -q '^usage: topicfs-fsck' "$T/fsck.out" || fail "-h prints no usage"

# right after fusermount3 -u the daemon may still be syncing and exiting,
# holding the data dir's lock: a new mount waits for it (up to 5 s)
# instead of failing with "in use"
for round in 1 2 3; do
	mount_tfs
	old=$TFS_PID
	fusermount3 -u "$MNT"
	TFS_PID=
	mount_tfs
	for ((i = 0; i < 100; i++)); do _alive "$old" || break; sleep 0.1; done
	wait "$old" || fail "the first daemon exited with an error"
	umount_tfs
done
