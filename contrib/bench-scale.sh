#!/usr/bin/env bash
# contrib/bench-scale.sh - the topicfs daemon with 1,000 partitions holding
# 10 GiB (part of `make bench`; bench.sh measures the mount of 10,000 tiny
# segments, this the memory and fds of the daemon when they hold data).
#
#   BUILD=build contrib/bench-scale.sh
#
# TOPICS x PARTS partitions of PART_MB MiB each (10 x 100 x 10 MiB by
# default: 10,000 MiB), written through a record-mode mount with 1 MiB
# appends (PARTS processes per topic, tfsbench par-append) and the default
# segment size.  Then, one warm-up and REPS remounts (page cache warm),
# each: the time from starting `topicfs -f DATA MNT` until `mountpoint -q
# MNT` succeeds; the daemon's VmRSS right after it, after a `find` that
# looks up every partition, and after reading every partition once (`cat`
# of each topic's partitions to /dev/null); its open fds after the mount
# and after the reads.  Medians of the REPS runs.  Skipped (a line says so)
# without the data size plus 4 GiB free in /var/tmp.  Knobs (env): TOPICS
# PARTS PART_MB REPS KEEP=1.
set -uo pipefail
export LC_ALL=C

. "$(dirname "$0")/bench-lib.sh"
TOPICS=${TOPICS:-10}
PARTS=${PARTS:-100}
PART_MB=${PART_MB:-10}
REPS=${REPS:-3}
DATA_MB=$((TOPICS * PARTS * PART_MB))

SCRATCH=$(mktemp -d /var/tmp/topicfs-sbench.XXXXXX)
MNT=$SCRATCH/mnt
DATA=$SCRATCH/data
FSPID=
T_START=$SECONDS

die() {
	note "bench-scale: FATAL: $*"
	exit 1
}

cleanup() {
	umount_fs
	[[ ${KEEP:-0} == 1 ]] || rm -rf --one-file-system "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_fs: start the daemon on $DATA and wait for the mount; sets FSPID
# and MOUNT_S (seconds from the start until `mountpoint -q` succeeds)
start_fs() {
	local t0 t1
	mkdir -p "$MNT"
	t0=$EPOCHREALTIME
	"$TFS" -f "$DATA" "$MNT" >>"$SCRATCH/daemon.log" 2>&1 &
	FSPID=$!
	until mountpoint -q "$MNT"; do
		kill -0 "$FSPID" 2>/dev/null || { cat "$SCRATCH/daemon.log" >&2; die "mount failed"; }
		(((${EPOCHREALTIME/./} - ${t0/./}) < 60000000)) || die "mount took over 60 s"
	done
	t1=$EPOCHREALTIME
	MOUNT_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$FSPID/status"; }
nfds() { find "/proc/$FSPID/fd" -mindepth 1 | wc -l; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "-") }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; } # kB -> MiB

[[ -x $TFS && -x $TB ]] || die "build first: make all tools BUILD=$BUILD"
free_mb=$(df -Pm /var/tmp | awk 'NR == 2 { print $4 }')
if ((free_mb < DATA_MB + 4096)); then
	echo "data scale: skipped, $free_mb MiB free in /var/tmp (wants $DATA_MB + 4096)"
	exit 0
fi

note "=== $TOPICS topics x $PARTS partitions x $PART_MB MiB in 1 MiB appends"
mkdir -p "$DATA"
start_fs
fill_topics "$TOPICS" "$PARTS" "$PART_MB" 1048576
umount_fs
sync
nparts=$(find "$DATA" -mindepth 2 -maxdepth 2 -type d | wc -l)
nsegs=$(find "$DATA" -name '*.log' | wc -l)
note "    $nparts partitions, $nsegs segment files, $(du -sm "$DATA" | cut -f1) MiB on disk ($((SECONDS - T_START)) s to write)"

mts=() rss=() rss2=() rss3=() fds=() fds2=() rmbs=()
for ((r = 0; r <= REPS; r++)); do
	sync
	start_fs
	kb=$(rss_kb)
	fd=$(nfds)
	n=$(find "$MNT" -mindepth 2 | wc -l) # every partition looked up once
	kb2=$(rss_kb)
	t0=$EPOCHREALTIME
	for ((t = 0; t < TOPICS; t++)); do
		cat "$MNT/t$t"/* >/dev/null || die "reading the partitions of t$t"
	done
	t1=$EPOCHREALTIME
	kb3=$(rss_kb)
	fd2=$(nfds)
	mbs=$(awk -v a="$t0" -v b="$t1" -v m="$DATA_MB" 'BEGIN { printf "%.1f", m * 1.048576 / (b - a) }')
	note "    $( ((r)) && echo "run $r:  " || echo "warm-up:") mount $MOUNT_S s, VmRSS $kb kB, $fd fds; after a find of $n entries: VmRSS $kb2 kB; after reading every partition ($mbs MB/s): VmRSS $kb3 kB, $fd2 fds"
	umount_fs
	((r)) || continue
	mts+=("$MOUNT_S") rss+=("$kb") rss2+=("$kb2") rss3+=("$kb3")
	fds+=("$fd") fds2+=("$fd2") rmbs+=("$mbs")
done
rm -rf "$DATA"

gib=$(awk -v m="$DATA_MB" 'BEGIN { printf "%.1f", m / 1024 }')
r1=$(mib "$(median "${rss[@]}")") r2=$(mib "$(median "${rss2[@]}")") r3=$(mib "$(median "${rss3[@]}")")
row() { printf '%-58s %10s   %s\n' "$@"; }
echo "data scale: $nparts partitions, $DATA_MB MiB ($gib GiB) in $nsegs segments, record mode; median of $REPS remounts after a warm-up"
row what topicfs "target"
row "mount s" "$(median "${mts[@]}")" "< 1 s"
row "daemon VmRSS MiB after the mount" "$r1" "<= 64 MiB"
row "  after a find of every partition" "$r2" "<= 64 MiB"
row "  after reading every partition once (cat)" "$r3" "<= 64 MiB"
row "  that read, MB/s (page cache warm)" "$(median "${rmbs[@]}")"
row "daemon open fds after the mount / after the reads" "$(median "${fds[@]}")/$(median "${fds2[@]}")"
most=$(printf '%s\n' "$r1" "$r2" "$r3" | sort -g | tail -1)
printf '%-7s %-56s %s\n' "target:" "daemon VmRSS with $nparts partitions and $gib GiB <= 64 MiB" \
	"$(awk -v t="$most" 'BEGIN { print (t + 0 <= 64 ? "met" : "NOT MET") }') ($most MiB, the most of the three)"
echo "bench-scale wall time: $((SECONDS - T_START)) s"
