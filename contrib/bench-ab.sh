#!/usr/bin/env bash
# contrib/bench-ab.sh - topicfs against applog direct_io, interleaved.
#
# bench.sh measures one system after another, so a figure that drifts with
# the VM (the host reclaiming memory, other guests, idle vCPUs) moves one
# column and not the other: between two runs today topicfs's re-read went
# from 0.67x to 1.10x applog direct_io.  Here both daemons are mounted at
# once (and a plain file sits beside them), and each of ROUNDS rounds runs
# every measurement on all three in a rotated order, after one warm-up
# round that is not counted (its 1 MiB appends touch pages the host took
# back: 250-350 MB/s against 1.8-2.1 GB/s after); the ratios are taken
# within a round and the table shows their median and range:
#   - 100 B appends/s: SMALL_N write()s on a new file, O_APPEND
#   - 1 MiB appends MB/s: LARGE_MB write()s of 1 MiB on a new file
#   - re-read MB/s of that file with 1 MiB and 4 MiB read()s (page cache
#     warm; topicfs takes 4 MiB READ requests, applog 1 MiB)
#   - 100 B appends/s in stream mode (a third daemon, -o stream): STREAM_N
#     appends in each round right after the others, then the plain file
#     with STREAM_N (stream mode is too fast for SMALL_N to time)
#   - 100 B appends/s with both daemons and the producer on CPU 0
#     (taskset), after the rest: a wake-up on the same CPU instead of
#     across CPUs (issue 3's stretch goal)
#   - 100 B appends/s with the guest's halt polling on (HALTPOLL_NS, 200 us;
#     this VM boots with haltpoll.guest_halt_poll_ns=0, so an idle vCPU
#     halts at once and waking it costs a trip through the host): where
#     /sys/module/haltpoll is writable, set for these rounds only and
#     restored at exit
# applog is the minimal FUSE file of ../shared/baseline (direct_io: the
# open flags topicfs uses); without it the script says so and stops.
# Knobs (env): ROUNDS SMALL_N STREAM_N LARGE_MB HALTPOLL_NS BASELINE KEEP=1.
set -uo pipefail
export LC_ALL=C

. "$(dirname "$0")/bench-lib.sh"
BASELINE=${BASELINE:-$TOP/../shared/baseline}
ROUNDS=${ROUNDS:-5}
SMALL_N=${SMALL_N:-20000}
STREAM_N=${STREAM_N:-200000}
LARGE_MB=${LARGE_MB:-256}
HALTPOLL_NS=${HALTPOLL_NS:-200000}
HALTPOLL=/sys/module/haltpoll/parameters/guest_halt_poll_ns
HALTPOLL_ORIG=

SCRATCH=$(mktemp -d /var/tmp/topicfs-ab.XXXXXX)
MNT=$SCRATCH/mnt-t # topicfs; bench-lib's umount_fs unmounts MNT/FSPID
MNT_A=$SCRATCH/mnt-a
MNT_S=$SCRATCH/mnt-s # topicfs -o stream
FSPID= APID= SPID=

die() {
	note "bench-ab: FATAL: $*"
	exit 1
}
cleanup() {
	[[ -z $HALTPOLL_ORIG ]] || echo "$HALTPOLL_ORIG" >"$HALTPOLL"
	umount_fs
	umount_fs "$MNT_A" "$APID"
	umount_fs "$MNT_S" "$SPID"
	APID= SPID=
	[[ ${KEEP:-0} == 1 ]] || rm -rf --one-file-system "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -x $TFS && -x $TB ]] || die "build first: make all tools BUILD=$BUILD"
if [[ ! -f $BASELINE/applog.c ]]; then
	note "bench-ab: $BASELINE absent: nothing to compare with"
	exit 0
fi
cp -r "$BASELINE" "$SCRATCH/baseline"
make -s -C "$SCRATCH/baseline" applog >&2 || die "building applog"

# wait_mount DIR PID: until DIR is a mount point (10 s)
wait_mount() {
	local i
	for ((i = 0; i < 100; i++)); do
		mountpoint -q "$1" && return 0
		kill -0 "$2" 2>/dev/null || die "the daemon for $1 exited"
		sleep 0.1
	done
	die "$1 not mounted after 10 s"
}
mkdir -p "$MNT" "$MNT_A" "$MNT_S" "$SCRATCH/tfs-data" "$SCRATCH/tfs-stream" \
	"$SCRATCH/applog-back" "$SCRATCH/plain"
"$TFS" -f "$SCRATCH/tfs-data" "$MNT" 2>"$SCRATCH/topicfs.log" &
FSPID=$!
APPLOG_MODE=direct_io "$SCRATCH/baseline/applog" "$SCRATCH/applog-back" "$MNT_A" 2>"$SCRATCH/applog.log" &
APID=$!
"$TFS" -f -o stream "$SCRATCH/tfs-stream" "$MNT_S" 2>"$SCRATCH/stream.log" &
SPID=$!
wait_mount "$MNT" "$FSPID"
wait_mount "$MNT_A" "$APID"
wait_mount "$MNT_S" "$SPID"
mkdir "$MNT/ab" "$MNT_S/ab" || die "mkdir ab"

# new_file SYSTEM: an empty file of SYSTEM to append to; prints its path
new_file() {
	case $1 in
	plain) rm -f "$SCRATCH/plain/f" && echo "$SCRATCH/plain/f" ;;
	applog) : >"$MNT_A/log" && echo "$MNT_A/log" ;;
	topicfs) { [[ ! -e $MNT/ab/0 ]] || rm "$MNT/ab/0"; } && touch "$MNT/ab/0" && echo "$MNT/ab/0" ;;
	stream) { [[ ! -e $MNT_S/ab/0 ]] || rm "$MNT_S/ab/0"; } && touch "$MNT_S/ab/0" && echo "$MNT_S/ab/0" ;;
	esac
}
file_of() {
	case $1 in
	plain) echo "$SCRATCH/plain/f" ;;
	applog) echo "$MNT_A/log" ;;
	topicfs) echo "$MNT/ab/0" ;;
	esac
}
val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

declare -A V # V[system,metric,round]
systems=(plain applog topicfs)
for ((r = -1; r < ROUNDS; r++)); do
	k=$(((r + 3) % 3))
	order=("${systems[@]:k}" "${systems[@]:0:k}")
	note "--- $( ((r < 0)) && echo "warm-up round" || echo "round $((r + 1)) of $ROUNDS"): ${order[*]}"
	for s in "${order[@]}" stream; do
		f=$(new_file $s) || die "new file on $s"
		sync
		n=$SMALL_N
		[[ $s == stream ]] && n=$STREAM_N
		V[$s,small,$r]=$("$TB" append "$f" "$n" 100 | val ops_per_s) || die "small appends on $s"
	done
	# the plain file again with STREAM_N, for the stream ratio
	f=$(new_file plain) && sync && V[plain,smallS,$r]=$("$TB" append "$f" "$STREAM_N" 100 | val ops_per_s) ||
		die "small appends on plain"
	for s in "${order[@]}"; do
		f=$(new_file $s) || die "new file on $s"
		sync
		V[$s,large,$r]=$("$TB" append "$f" "$LARGE_MB" 1048576 | val MB_per_s) || die "1 MiB appends on $s"
	done
	sync
	for bs in 1048576 4194304; do
		for s in "${order[@]}"; do
			V[$s,read$bs,$r]=$("$TB" read "$(file_of $s)" $bs | val MB_per_s) || die "read on $s"
		done
	done
	note "    $(for s in "${systems[@]}"; do printf '%s: %s/s %s %s %s MB/s; ' $s "${V[$s,small,$r]}" "${V[$s,large,$r]}" "${V[$s,read1048576,$r]}" "${V[$s,read4194304,$r]}"; done)stream: ${V[stream,small,$r]}/s"
done

# small_rounds METRIC WHAT [PREFIX...]: 100 B appends on every system, a
# warm-up and ROUNDS rounds in rotated order, into V[system,METRIC,round];
# the producer runs under PREFIX (e.g. taskset -c 0)
small_rounds() {
	local metric=$1 what=$2 r k s f order
	shift 2
	for ((r = -1; r < ROUNDS; r++)); do
		k=$(((r + 3) % 3))
		order=("${systems[@]:k}" "${systems[@]:0:k}")
		for s in "${order[@]}"; do
			f=$(new_file $s) || die "new file on $s"
			sync
			V[$s,$metric,$r]=$("$@" "$TB" append "$f" "$SMALL_N" 100 | val ops_per_s) ||
				die "small appends on $s, $what"
		done
		note "    $what, $( ((r < 0)) && echo warm-up || echo "round $((r + 1))"): $(for s in "${systems[@]}"; do printf '%s: %s/s; ' $s "${V[$s,$metric,$r]}"; done)"
	done
}

# the same CPU: both daemons (all their threads) and the producer on CPU 0
taskset -a -p -c 0 "$FSPID" >/dev/null && taskset -a -p -c 0 "$APID" >/dev/null ||
	die "taskset of the daemons"
small_rounds cpu0 "CPU 0" taskset -c 0

# guest halt polling: an idle vCPU polls up to HALTPOLL_NS before it halts
haltpoll=0
all=0-$(($(nproc) - 1))
taskset -a -p -c "$all" "$FSPID" >/dev/null && taskset -a -p -c "$all" "$APID" >/dev/null ||
	die "taskset of the daemons back to every CPU"
if [[ -w $HALTPOLL ]] && HALTPOLL_ORIG=$(cat "$HALTPOLL") && echo "$HALTPOLL_NS" >"$HALTPOLL"; then
	haltpoll=1
	small_rounds hpoll "halt polling"
	echo "$HALTPOLL_ORIG" >"$HALTPOLL" && HALTPOLL_ORIG=
else
	note "bench-ab: $HALTPOLL not writable: no halt-polling rows"
fi

# stats NUMBERS...: "median (min-max)"
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2fx (%.2f-%.2f)", m, v[1], v[NR] }'; }
medv() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
line() { # WHAT METRIC
	local ta=() tp=() p=() a=() t=() i
	for ((i = 0; i < ROUNDS; i++)); do
		p+=("${V[plain,$2,$i]}") a+=("${V[applog,$2,$i]}") t+=("${V[topicfs,$2,$i]}")
		ta+=("$(awk -v x="${V[topicfs,$2,$i]}" -v y="${V[applog,$2,$i]}" 'BEGIN { print x / y }')")
		tp+=("$(awk -v x="${V[topicfs,$2,$i]}" -v y="${V[plain,$2,$i]}" 'BEGIN { print x / y }')")
	done
	printf '%-30s %10s %10s %10s   %-20s %-20s\n' "$1" "$(medv "${p[@]}")" "$(medv "${a[@]}")" "$(medv "${t[@]}")" "$(stats "${ta[@]}")" "$(stats "${tp[@]}")"
}
echo "topicfs against applog direct_io, interleaved ($(date -u '+%Y-%m-%d %H:%M UTC')): $ROUNDS rounds after a warm-up, order rotated each round; SMALL_N=$SMALL_N, STREAM_N=$STREAM_N, LARGE_MB=$LARGE_MB"
printf '%-30s %10s %10s %10s   %-20s %-20s\n' what plain applog topicfs "tfs/applog (range)" "tfs/plain (range)"
printf '%s\n' "$(printf '%.0s-' $(seq 110))"
line "100 B appends/s" small
line "1 MiB appends MB/s" large
line "re-read MB/s, 1 MiB read()s" read1048576
line "re-read MB/s, 4 MiB read()s" read4194304
line "100 B appends/s, all on CPU 0" cpu0
((haltpoll)) && line "100 B appends/s, halt polling" hpoll
ts=() ps=() sp=()
for ((i = 0; i < ROUNDS; i++)); do
	ts+=("${V[stream,small,$i]}") ps+=("${V[plain,smallS,$i]}")
	sp+=("$(awk -v x="${V[stream,small,$i]}" -v y="${V[plain,smallS,$i]}" 'BEGIN { print x / y }')")
done
printf '%-30s %10s %10s %10s   %-20s %-20s\n' "stream 100 B appends/s" "$(medv "${ps[@]}")" - "$(medv "${ts[@]}")" "(stream/plain:)" "$(stats "${sp[@]}")"
echo "(medians of the $ROUNDS rounds; each ratio is the median of the per-round ratios)"
echo "(memory: ${BENCH_PAGE_HOLD:-free page reporting as the machine has it, not held})"
((haltpoll)) && echo "(halt polling: guest_halt_poll_ns=$HALTPOLL_NS for those rounds, $(cat "$HALTPOLL") otherwise)"
