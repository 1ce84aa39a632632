#!/usr/bin/env bash
# contrib/bench-all.sh - what `make bench` runs: bench.sh, bench-ab.sh,
# bench-scale.sh, bench-compress.sh and bench-follow.sh, in that order,
# with this VM's free page reporting held back for the whole run.
#
# The guest hands memory back to the host as soon as it is freed
# (/sys/module/page_reporting/parameters/min_free_ms is 0 here), and the
# next write into those pages waits for the host to fault them back in.
# Every benchmark run frees the file of the run before it, so each run's
# speed depended on whether the pages it got had been handed back yet:
# 1 GiB of 1 MiB appends measured 250-4,300 MB/s on the plain file and on
# topicfs alike, in the same minute, and the daemon's CPU per GiB swung
# 8x with it (perf: 81% of the slow runs in the copy into new page-cache
# pages).  With freed memory kept 10 s (PAGE_HOLD_MS) before it is handed
# back, consecutive runs reuse warm pages, the same for every system, and
# the swings go: what is left is the software.  The setting is restored at
# exit; PAGE_HOLD_MS=0 leaves the machine as it is.
set -uo pipefail

HOLD=/sys/module/page_reporting/parameters/min_free_ms
PAGE_HOLD_MS=${PAGE_HOLD_MS:-10000}
ORIG=
restore() { [[ -z $ORIG ]] || echo "$ORIG" >"$HOLD"; }
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((PAGE_HOLD_MS > 0)) && [[ -w $HOLD ]]; then
	ORIG=$(cat "$HOLD")
	if echo "$PAGE_HOLD_MS" >"$HOLD"; then
		echo "bench: free page reporting held ${PAGE_HOLD_MS} ms (min_free_ms was $ORIG; restored at exit)" >&2
		export BENCH_PAGE_HOLD="free page reporting held ${PAGE_HOLD_MS} ms during the run (min_free_ms $ORIG before, restored at exit)"
	else
		ORIG=
	fi
fi
: "${BENCH_PAGE_HOLD:=free page reporting as the machine has it (not held)}"
export BENCH_PAGE_HOLD

dir=$(dirname "$0")
rc=0
for b in bench bench-ab bench-scale bench-compress bench-follow; do
	"$dir/$b.sh" || rc=$?
done
exit "$rc"
