#!/usr/bin/env bash
# contrib/soak.sh - does the daemon's memory stay flat under steady load?
#
#   contrib/soak.sh [SECONDS] [MODE]     (default 600 s, MODE record|stream)
#
# Mounts a fresh data dir under /var/tmp, runs 4 producers appending
# 100-byte records to 4 partitions (with 64 KiB segments, so segments roll
# all the time) and 2 readers re-reading them, and prints the daemon's RSS
# every 30 s with the bytes appended so far.  Cleans up on exit.
set -u
secs=${1:-600} mode=${2:-record}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${BUILD:-build}/topicfs tb=$top/${BUILD:-build}/tools/tfsbench
[[ -x $bin && -x $tb ]] || { echo "soak: build first (make all tools)" >&2; exit 1; }
dir=$(mktemp -d /var/tmp/topicfs-soak.XXXXXX)
mkdir "$dir/data" "$dir/mnt"
opts=segment.bytes=64K
[[ $mode == stream ]] && opts+=,stream
pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait "${pids[@]}" 2>/dev/null
	fusermount3 -u -z "$dir/mnt" 2>/dev/null
	[[ -n ${dpid:-} ]] && wait "$dpid" 2>/dev/null
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
"$bin" -f -o "$opts" "$dir/data" "$dir/mnt" 2>"$dir/daemon.log" &
dpid=$!
for _ in $(seq 100); do mountpoint -q "$dir/mnt" && break; sleep 0.1; done
mountpoint -q "$dir/mnt" || { echo "soak: mount failed" >&2; exit 1; }
mkdir "$dir/mnt/soak" && touch "$dir/mnt/soak/"{0,1,2,3}
for i in 0 1 2 3; do
	( while :; do "$tb" append "$dir/mnt/soak/$i" 100000 100 >/dev/null || exit; done ) &
	pids+=($!)
done
for i in 0 1; do
	( while :; do "$tb" read "$dir/mnt/soak/$i" >/dev/null || exit; sleep 1; done ) &
	pids+=($!)
done
printf 'soak: %s mode, %d s, 4 producers x 100 B appends, 64 KiB segments\n' "$mode" "$secs"
printf '%6s %10s %14s\n' secs rss_kib appended_bytes
for ((t = 0; t <= secs; t += 30)); do
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/$dpid/status)
	bytes=$(du -sb "$dir/data" | cut -f1)
	printf '%6d %10s %14s\n' "$t" "$rss" "$bytes"
	((t < secs)) && sleep 30
done
