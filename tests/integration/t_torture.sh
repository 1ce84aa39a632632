#!/usr/bin/env bash
# t_torture: crash torture.  Round after round, 8 producers append
# self-checking lines (tests/tools/lines.h) to 4 partitions (a/0, a/1, a/2
# and b/0, two producers each; some fsync every few records; some rounds
# with 64K segments so rolls happen during the crash, some with
# flush.messages), the daemon is killed with kill -9 at a random moment,
# the dead mount is detached, and the remount must recover:
#   - every record whose write() returned (the producers' -l seq files) is
#     there, whole and in its producer's order; so is every fsync'ed one;
#   - nothing torn is visible: every line parses and is byte for byte what
#     its producer wrote, and each partition ends at a line end;
#   - offsets never go backwards: each size after the remount is at least
#     the size a reader saw just before the kill, and equals the end and
#     record counts the xattrs report;
#   - appends after the remount (3 records on each partition, by producers
#     8..11) land exactly at the recovered end.
# The data persists across rounds, so later rounds recover bigger logs; the
# producers go on with the next seq each partition holds.  At the end a
# clean remount must show the same bytes, and the .log files hold them.
#
# Knobs (environment): TORTURE_ROUNDS (20), TORTURE_MAX_MS (700: a round's
# producers run a random 0..MAX ms before the kill), TORTURE_FULL_EVERY (5:
# every 5th round and the last one read each partition whole, the others
# check it from the end the round before checked, so that a long run does
# not reread gigabytes each round), TORTURE_SEED
# (random; printed, so a failing run can be repeated).  `make torture` runs
# a long version.
. "$(dirname "$0")/lib.sh"

ROUNDS=${TORTURE_ROUNDS:-20}
MAX_MS=${TORTURE_MAX_MS:-700}
FULL_EVERY=${TORTURE_FULL_EVERY:-5}
SEED=${TORTURE_SEED:-$((($$ * 7919 + $(date +%s)) % 32768))}
RANDOM=$SEED
NPROD=8     # crash producers 0..7; 8..11 append after each remount
NIDS=12
PADS=(200 200 200 4000) # per partition: lines of 10..PAD+10 bytes
FSYNC_EVERY=16
PARTS=(a/0 a/1 a/2 b/0)
NPART=${#PARTS[@]}
FILES=("${PARTS[@]/#/$MNT/}")
declare -a SIZES
declare -A X
AFTER=3     # records producer NPROD+J appends to partition J after each remount
declare -a next # per producer: its next seq (= its lines in its partition)
declare -a vend vlines # per partition: end and records checked so far
for ((i = 0; i < NIDS; i++)); do next[i]=0; done
for ((j = 0; j < NPART; j++)); do vend[j]=0 vlines[j]=0; done
log "seed $SEED, $ROUNDS rounds of up to $MAX_MS ms"

round_opts() { # ROUND: the mount options of that round
	local r=$1 o=()
	((r % 3 == 1)) && o+=(segment.bytes=64K)
	((r % 5 == 3)) && o+=(flush.messages=50)
	local IFS=,
	echo "${o[*]}"
}

# from_state J: set FROM to linecheck's -f argument to go on where
# partition J was last checked.
from_state() {
	local j=$1 i sep=:
	FROM=${vend[j]}
	for ((i = 0; i < NIDS; i++)); do
		if ((i % NPART == j)); then FROM+=$sep${next[i]}; else FROM+=${sep}0; fi
		sep=,
	done
}

sizes() { # set SIZES[j] to each partition's st_size (one stat for all)
	mapfile -t SIZES < <(stat -c %s "${FILES[@]}")
	((${#SIZES[@]} == NPART)) || fail "stat of the partitions"
}

read_xattrs() { # FILE: X[end], X[records], X[segments]... (one getfattr)
	local k v
	X=()
	while IFS='=' read -r k v; do
		if [[ $k == user.topicfs.* ]]; then X[${k#user.topicfs.}]=${v//\"/}; fi
	done < <(getfattr -d -m '^user\.topicfs\.' --absolute-names "$1")
}

# after_bytes J: set AB to the bytes of the AFTER lines producer NPROD+J
# writes next (tests/tools/lines.h).
after_bytes() {
	local id=$((NPROD + $1)) seq num
	AB=0
	for ((seq = next[id]; seq < next[id] + AFTER; seq++)); do
		printf -v num %06d $seq
		AB=$((AB + 3 + ${#id} + ${#num} + (id * 11 + seq * 37) % (PADS[$1] + 1)))
	done
}

# part_check R J PRE REC FULL: partition J after the remount of round R
# (PRE its size before the kill, REC after the recovery) and AFTER appends
# by producer NPROD+J; read whole if FULL is 1, else from the end checked
# last; sets next[] of its producers.
part_check() {
	local r=$1 j=$2 pre=$3 rsize=$4 full=$5 P=${FILES[$2]} id=$((NPROD + $2))
	local mins=() i a s out from=() size=${SIZES[$2]} what="round $1: ${PARTS[$2]}"
	local -a n
	for ((i = j; i < NPROD; i += NPART)); do
		read -r a s <"$T/seq.$i" || fail "$what: producer $i left no seq file"
		((10#$s <= 10#$a)) || fail "$what: producer $i synced $s > acknowledged $a"
		mins+=("$i:$((10#$a))")
		acked=$((acked + 10#$a - next[i]))
		synced=$((synced + 10#$s - next[i]))
	done
	mins+=("$id:$((next[id] + AFTER))")
	if ((!full)); then from_state "$j" && from=(-f "$FROM"); fi
	out=$("$TOOLS/linecheck" -p "${PADS[j]}" "${from[@]}" log "$P" $NIDS "${mins[@]}") ||
		fail "$what: after the remount and $AFTER appends"
	read -r -a n <<<"$out"
	((full)) || n[0]=$((n[0] + vlines[j]))
	((rsize >= pre)) || fail "$what: size went back from $pre (seen before the kill) to $rsize"
	after_bytes "$j"
	assert_eq "$((rsize + AB)) $((next[id] + AFTER))" "$size ${n[id + 2]}" \
		"$what: size, and producer $id's records, after $AFTER appends at the recovered end $rsize"
	assert_eq "$size" "${n[1]}" "$what: bytes read vs st_size"
	read_xattrs "$P"
	assert_eq "$size" "${X[end]}" "$what: user.topicfs.end"
	assert_eq "${n[0]}" "${X[records]}" "$what: user.topicfs.records"
	for ((i = j; i < NPROD; i += NPART)); do
		found=$((found + n[i + 2] - next[i]))
	done
	for ((i = j; i < NIDS; i += NPART)); do next[i]=${n[i + 2]}; done
	vend[j]=$size vlines[j]=${n[0]}
	bytes=$((bytes + rsize))
	segs=$((segs + X[segments]))
}

# crash_round ROUND: the mount (with round_opts ROUND) is up; producers,
# kill, remount with the next round's options, appends, checks.
crash_round() {
	local r=$1 opts i j ms pids=() pre rsize rec full=0 how= t1=$SECONDS
	local acked=0 synced=0 found=0 bytes=0 segs=0
	opts=$(round_opts "$r")
	((r % FULL_EVERY == 0 || r == ROUNDS - 1)) && full=1 how=" (read whole)"
	for ((i = 0; i < NPROD; i++)); do
		local y=()
		((i % 3 == r % 3)) && y=(-y $FSYNC_EVERY)
		"$TOOLS/producer" -p "${PADS[i % NPART]}" "${y[@]}" -s "${next[i]}" -l "$T/seq.$i" \
			"${FILES[i % NPART]}" $i 100000000 >"$T/prod.$i" 2>&1 &
		pids+=($!)
	done
	ms=$((RANDOM % (MAX_MS + 1)))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	sizes
	pre=("${SIZES[@]}")
	kill9_tfs >/dev/null
	for ((i = 0; i < NPROD; i++)); do
		if wait "${pids[i]}"; then
			fail "round $r: producer $i finished 100,000,000 records before the kill?"
		fi
	done
	mount_tfs "$(round_opts $((r + 1)))" >/dev/null
	rec=$(grep -E '(^|: )recovery:' "$TFS_LOG" || true)
	sizes
	rsize=("${SIZES[@]}")
	for ((j = 0; j < NPART; j++)); do
		"$TOOLS/producer" -p "${PADS[j]}" -s "${next[NPROD + j]}" "${FILES[j]}" $((NPROD + j)) $AFTER ||
			fail "round $r: appending to ${PARTS[j]} after the remount"
	done
	sizes
	for ((j = 0; j < NPART; j++)); do
		part_check "$r" "$j" "${pre[j]}" "${rsize[j]}" $full
	done
	printf 'round %d [%s] (%d s): kill after %d ms: %d acknowledged (%d fsynced), %d found; %d bytes in %d segments%s; recovery: %d lines%s\n' \
		"$r" "${opts:-defaults}" $((SECONDS - t1)) "$ms" "$acked" "$synced" "$found" "$bytes" "$segs" \
		"$how" \
		"$(grep -c . <<<"$rec" || true)" "${rec:+:}"
	[[ -z $rec ]] || sed 's/^.*recovery: /    /' <<<"$rec" | head -8
}

mount_tfs "$(round_opts 0)"
mkdir "$MNT/a" "$MNT/b"
touch "$MNT/a/0" "$MNT/a/1" "$MNT/a/2" "$MNT/b/0"
t0=$SECONDS
for ((r = 0; r < ROUNDS; r++)); do
	crash_round "$r"
done

# A clean remount shows the same bytes; the .log files hold exactly them.
for ((j = 0; j < NPART; j++)); do cat "${FILES[j]}" >"$T/part.$j"; done
remount_tfs
for ((j = 0; j < NPART; j++)); do
	cmp "$T/part.$j" "${FILES[j]}" || fail "${PARTS[j]} changed across a clean remount"
done
umount_tfs
for ((j = 0; j < NPART; j++)); do
	cmp "$T/part.$j" <(datalog "${PARTS[j]%/*}" "${PARTS[j]#*/}") ||
		fail "${PARTS[j]}: the .log files differ from what the mount showed"
done
log "$ROUNDS rounds in $((SECONDS - t0)) s, seed $SEED; $(cat "$T"/part.* | wc -c) bytes in the log"
