#!/usr/bin/env bash
# t_crash: kill -9 the daemon while producers append; after a remount every
# acknowledged record (write() returned) is present and whole, each
# producer's records are in order without gaps, nothing torn is visible, and
# appends go on at the recovered end.  Twice, the second time with small
# segments.  Then two shapes made on disk: a torn tail, and what a power
# loss leaves of unsynced appends (a zeroed sector in the middle): the log
# ends before it, and what fsync() covered stays.
. "$(dirname "$0")/lib.sh"

NPROD=4
PAD=300

crash_round() { # ROUND [MOUNT OPTS]
	local r=$1 i n acked=0
	mount_tfs "${2:-}"
	[[ -d $MNT/k ]] || mkdir "$MNT/k"
	touch "$MNT/k/$r"
	local P=$MNT/k/$r pids=()
	for ((i = 0; i < NPROD; i++)); do
		"$TOOLS/producer" -p $PAD -a "$T/ack.$r.$i" "$P" $i 100000000 >"$T/prod.$r.$i" 2>&1 &
		pids+=($!)
	done
	# let them get going (bounded): at least 2000 acknowledged records
	for ((n = 0; n < 200; n++)); do
		acked=$( (cat "$T"/ack.$r.* 2>/dev/null || true) | wc -l)
		((acked >= 2000)) && break
		sleep 0.05
	done
	((acked > 0)) || fail "no acknowledged appends before the crash"
	kill9_tfs
	for ((i = 0; i < NPROD; i++)); do
		if wait "${pids[i]}"; then
			fail "producer $i finished 100,000,000 records before the crash?"
		fi
		log "producer $i: $(tail -1 "$T/prod.$r.$i")"
	done
	# the killed daemon held index space ahead in the active segment (a
	# mapped window, given 1 GiB free): a note for fsck, not damage
	"$BUILD/topicfs-fsck" "$DATA" >"$T/fsck.$r" || fail "round $r: fsck after the crash: $(cat "$T/fsck.$r")"
	# (none when the kill came with the window exactly full)
	local lastidx
	lastidx=$(ls "$DATA/k/$r"/*.idx | tail -n 1)
	if (($(df --output=avail -B1 "$DATA" | tail -n 1) >= 1 << 30)) &&
		(($(stat -c %s "$lastidx") % 16384 == 0)) &&
		[[ $(tail -c 32 "$lastidx" | od -An -tx1 | tr -d ' \n') == "$(printf '0%.0s' {1..64})" ]]; then
		grep -q "zeros after the last index entry: space held ahead" "$T/fsck.$r" ||
			fail "round $r: fsck did not note the index space held ahead: $(cat "$T/fsck.$r")"
	fi
	mount_tfs "${2:-}"
	grep -E '(^|: )recovery:' "$TFS_LOG" || log "(no recovery: lines in the daemon log)"
	acks=()
	for ((i = 0; i < NPROD; i++)); do acks+=("$T/ack.$r.$i"); done
	"$TOOLS/linecheck" -p $PAD crash "$P" "${acks[@]}" || fail "round $r: partition after the crash"
	local size records
	size=$(fsize "$P")
	records=$(wc -l <"$P")
	assert_eq "$size" "$(xattr "$P" end)" "round $r: user.topicfs.end after recovery"
	assert_eq "$records" "$(xattr "$P" records)" "round $r: user.topicfs.records after recovery"
	# appends continue at the recovered end
	echo "p$NPROD 000000" >>"$P"
	assert_eq $((size + 10)) "$(fsize "$P")" "round $r: size after an append after recovery"
	assert_eq "p$NPROD 000000" "$(tail -n 1 "$P")" "round $r: the appended line"
	assert_eq $((records + 1)) "$(xattr "$P" records)" "round $r: records after an append"
	umount_tfs
	# a clean unmount leaves every .idx exactly its header and entries
	local f isum=0 nseg=0
	for f in "$DATA/k/$r"/*.idx; do
		isum=$((isum + $(stat -c %s "$f")))
		nseg=$((nseg + 1))
	done
	assert_eq $((32 * nseg + 32 * (records + 1))) "$isum" "round $r: .idx bytes after a clean unmount"
	mount_tfs "${2:-}"
	assert_eq $((size + 10)) "$(fsize "$P")" "round $r: size after a clean remount"
	umount_tfs
	head -c "$size" <(datalog k "$r") | "$TOOLS/linecheck" -p $PAD crash /dev/stdin "${acks[@]}" >/dev/null ||
		fail "round $r: data dir .log files"
}

crash_round 0
crash_round 1 segment.bytes=64K

# A torn tail on disk (half a record in the active .log past what the index
# covers, as a crash in the middle of a write leaves it): the remount cuts it
# (and logs a recovery: line), readers never see it, appends go on.
mount_tfs
P=$MNT/k/0
size=$(fsize "$P")
records=$(xattr "$P" records)
umount_tfs
last=$(ls "$DATA/k/0"/*.log | tail -n 1)
printf 'p0 00' >>"$last"
mount_tfs
grep -E '(^|: )recovery:' "$TFS_LOG" || fail "no recovery: line in the daemon log for a torn tail"
assert_eq "$size" "$(fsize "$P")" "size after recovering a torn tail"
assert_eq "$records" "$(xattr "$P" records)" "records after recovering a torn tail"
[[ $(tail -c 1 "$P" | od -An -tx1 | xargs) == 0a ]] || fail "partition does not end at a record end"
echo "p$NPROD 000001" >>"$P"
assert_eq $((size + 10)) "$(fsize "$P")" "size after an append after cutting the torn tail"
assert_eq "p$NPROD 000001" "$(tail -n 1 "$P")" "the record after the cut tail"
cat "$P" >"$T/part"
umount_tfs
cmp "$T/part" <(datalog k 0) || fail ".log files differ from the partition after the cut"

# A power loss after an fsync() that covered 4 records of 20: the sector at
# .log bytes 512..1024 never reached the disk, the records after it did.
# The recovery point (DATA/TOPIC/P/recovery-point) says where the unsynced
# records start; recovery cuts from the first of them that fails its CRC
# (docs/RECOVERY.md has this example), not only at the very end.
mount_tfs
mkdir "$MNT/pl"
P=$MNT/pl/0
rec() { printf '{"id":%02d,"pad":"%s"}\n' "$1" "$(printf 'x%.0s' $(seq 81))"; }
for i in 1 2 3; do rec $i >>"$P"; done
rec 4 | dd of="$P" oflag=append conv=notrunc,fsync status=none || fail "dd conv=fsync"
for i in $(seq 5 20); do rec $i >>"$P"; done
assert_eq 2000 "$(fsize "$P")" "20 records of 100 bytes"
kill9_tfs
dd if=/dev/zero of="$DATA/pl/0/00000000000000000000.log" bs=512 seek=1 count=1 conv=notrunc status=none
"$BUILD/topicfs-fsck" "$DATA" >"$T/fsck.pl" || fail "fsck called the power loss damage: $(cat "$T/fsck.pl")"
grep -q "torn tail: 1500 bytes / 480 index bytes" "$T/fsck.pl" || fail "fsck: $(cat "$T/fsck.pl")"
mount_tfs
grep -q "cut 15 index entries from entry 5 .*record 500..600 fails its data CRC (records 500..2000 were never synced: the recovery point is 400)" "$TFS_LOG" ||
	fail "no cut from the zeroed record: $(grep recovery "$TFS_LOG")"
assert_eq 500 "$(fsize "$P")" "size after a power loss in the unsynced tail"
assert_eq 5 "$(xattr "$P" records)" "records after it"
assert_eq "$(rec 5)" "$(tail -n 1 "$P")" "the last record kept"
umount_tfs
