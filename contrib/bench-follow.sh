#!/usr/bin/env bash
# contrib/bench-follow.sh - producer write() to follower wake-up latency
# (part of `make bench`): N records of 32 bytes at RATE/s, appended with
# O_APPEND; the follower is `cat T/.follow/0` for topicfs (a parked READ
# answered by the append) and `tail -f` on a plain file (inotify) in the
# same run.  Prints p50, p99, p99.9 and max in microseconds.
#
#   BUILD=build contrib/bench-follow.sh      (knobs: N RATE)
set -uo pipefail
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
N=${N:-100000}
RATE=${RATE:-10000}
FL=$BUILD/tools/followlat
S=$(mktemp -d /var/tmp/topicfs-fbench.XXXXXX)
FSPID=
cleanup() {
	[[ -n $FSPID ]] && { fusermount3 -u -z "$S/mnt" 2>/dev/null; wait "$FSPID" 2>/dev/null; }
	rm -rf --one-file-system "$S"
}
trap cleanup EXIT
mkdir -p "$S/data" "$S/mnt"
"$BUILD/topicfs" -f "$S/data" "$S/mnt" >"$S/daemon.log" 2>&1 &
FSPID=$!
for ((i = 0; i < 100; i++)); do mountpoint -q "$S/mnt" && break; sleep 0.1; done
mkdir "$S/mnt/t" && touch "$S/mnt/t/0"

echo "follow latency: $N records of 32 B at $RATE/s"
"$FL" read "$S/mnt/t/.follow/0" "$N" >"$S/tfs.out" &
rd=$!
sleep 0.5
"$FL" write "$S/mnt/t/0" "$N" "$RATE"
wait "$rd"
printf '%-28s %s\n' "topicfs cat .follow/0" "$(cat "$S/tfs.out")"

: >"$S/plain"
tail -n +1 -f "$S/plain" 2>/dev/null | "$FL" read - "$N" >"$S/plain.out" &
sleep 0.5
"$FL" write "$S/plain" "$N" "$RATE"
for ((i = 0; i < 100; i++)); do [[ -s $S/plain.out ]] && break; sleep 0.1; done
pkill -P $$ tail 2>/dev/null
printf '%-28s %s\n' "plain file, tail -f" "$(cat "$S/plain.out")"
