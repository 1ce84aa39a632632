#!/usr/bin/env bash
# contrib/soak.sh - does the daemon's memory stay flat under steady load?
#
#   contrib/soak.sh [SECONDS] [MODE]     (default 600 s, MODE record|stream)
#
# Mounts a fresh data dir under /var/tmp, runs 4 producers appending
# 100-byte records to 4 partitions (with 64 KiB segments, so segments roll
# all the time, and retention.bytes=64M, so retention deletes them all the
# time and the disk holds about 256 MiB: stream mode appends about
# 100 MB/s here, which would fill 60 GB in 600 s) and 2 readers re-reading
# them, and prints the daemon's RSS and threads every 30 s with the bytes
# appended so far (the partitions' end offsets).  Cleans up on exit.
set -u
secs=${1:-600} mode=${2:-record}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${BUILD:-build}/topicfs tb=$top/${BUILD:-build}/tools/tfsbench
[[ -x $bin && -x $tb ]] || { echo "soak: build first (make all tools)" >&2; exit 1; }
dir=$(mktemp -d /var/tmp/topicfs-soak.XXXXXX)
mkdir "$dir/data" "$dir/mnt"
opts=segment.bytes=64K,retention.bytes=64M
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
	# from the start offset: retention moves it; a reader that falls
	# behind it gets ERANGE (as a Kafka consumer gets out-of-range) and
	# starts over
	( f=$dir/mnt/soak/$i
	  while [[ -e $f ]]; do
		s=$(getfattr --only-values -n user.topicfs.start "$f" 2>/dev/null) || s=0
		dd if="$f" of=/dev/null bs=4M skip="$s" iflag=skip_bytes status=none 2>/dev/null
		sleep 1
	  done ) &
	pids+=($!)
done
printf 'soak: %s mode, %d s, 4 producers x 100 B appends, 64 KiB segments\n' "$mode" "$secs"
printf '%6s %10s %8s %14s %10s\n' secs rss_kib threads appended_bytes disk_kib
for ((t = 0; t <= secs; t += 30)); do
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/$dpid/status)
	thr=$(awk '/^Threads/ { print $2 }' /proc/$dpid/status)
	bytes=$(stat -c %s "$dir/mnt/soak/"{0,1,2,3} | awk '{ s += $1 } END { printf "%.0f", s }')
	disk=$(du -sk "$dir/data" | cut -f1)
	printf '%6d %10s %8s %14s %10s\n' "$t" "$rss" "$thr" "$bytes" "$disk"
	((t < secs)) && { sleep 30 & wait $!; } # a signal ends the wait at once
done
