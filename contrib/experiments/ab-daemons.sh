#!/usr/bin/env bash
# contrib/experiments/ab-daemons.sh - two topicfs builds and applog direct_io
# side by side, interleaved: the A/B behind docs/benchmarks.md's "before and
# after" figures (2026-12-01: the mapped index entry, 100 B appends; the
# 1 MiB appends of the same change).
#
#   contrib/experiments/ab-daemons.sh OLD_TOPICFS NEW_TOPICFS [small|large] [ROUNDS]
#
# Build the old one in a clone (git clone -q . /tmp/old && make -C /tmp/old
# all), the new one with `make all tools`.  All three file systems are
# mounted at once under a scratch dir in /var/tmp; each round appends to
# each in turn (small: 30,000 x 100 B; large: 512 x 1 MiB), on a new topic
# (applog: its one file, emptied), and prints appends/s or MB/s.  Free
# page reporting is held back for the run as make bench does (see
# docs/benchmarks.md, "Memory handed back to the host").  The first round
# warms the page cache; compare medians.  Needs root and ../shared/baseline.
set -euo pipefail
old=${1:?old topicfs binary} new=${2:?new topicfs binary}
kind=${3:-small} rounds=${4:-8}
top=$(cd "$(dirname "$0")/../.." && pwd)
tb=$top/${BUILD:-build}/tools/tfsbench
base=$top/../shared/baseline
[[ -x $tb ]] || { echo "build the tools first (make tools)" >&2; exit 1; }
[[ -f $base/applog.c ]] || { echo "no $base/applog.c" >&2; exit 1; }
case $kind in
small) n=30000 size=100 field=ops_per_s ;;
large) n=512 size=1048576 field=MB_per_s ;;
*) echo "kind: small or large" >&2; exit 2 ;;
esac
s=$(mktemp -d /var/tmp/topicfs-ab.XXXXXX)
hold=/sys/module/page_reporting/parameters/min_free_ms
held=
apid=
cleanup() {
	for m in "$s"/m-old "$s"/m-new "$s"/m-app; do fusermount3 -u -z "$m" 2>/dev/null || true; done
	[[ -n $apid ]] && wait "$apid" 2>/dev/null || true
	[[ -n $held ]] && echo "$held" >"$hold"
	rm -rf --one-file-system "$s"
}
trap cleanup EXIT
if [[ -w $hold ]]; then held=$(cat "$hold"); echo 10000 >"$hold"; fi
cp -r "$base" "$s/baseline"
make -s -C "$s/baseline" applog
mkdir "$s"/{d-old,m-old,d-new,m-new,d-app,m-app}
"$old" "$s/d-old" "$s/m-old" 2>/dev/null
"$new" "$s/d-new" "$s/m-new" 2>/dev/null
APPLOG_MODE=direct_io "$s/baseline/applog" "$s/d-app" "$s/m-app" 2>/dev/null &
apid=$!
for _ in $(seq 50); do mountpoint -q "$s/m-app" && break; sleep 0.1; done
one() { # SYSTEM ROUND: one timed run
	local f
	case $1 in
	app) : >"$s/m-app/log"; f=$s/m-app/log ;;
	*) mkdir "$s/m-$1/r$2"; touch "$s/m-$1/r$2/0"; f=$s/m-$1/r$2/0 ;;
	esac
	sync
	"$tb" append "$f" "$n" "$size" | sed -n "s/.*$field=\([0-9.]*\).*/\1/p"
	[[ $1 == app ]] || rm -rf "$s/m-$1/r$2"
}
echo "$kind appends ($field), $rounds rounds: applog direct_io, old ($old), new ($new)"
for r in $(seq 1 "$rounds"); do
	echo "round $r: applog=$(one app "$r") old=$(one old "$r") new=$(one new "$r")"
done
