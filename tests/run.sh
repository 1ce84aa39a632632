#!/usr/bin/env bash
# tests/run.sh - the test driver behind `make check`: every unit test binary
# $BUILD/tests/test_* (cmocka), then every tests/integration/t_*.sh, each
# under `timeout 300` with its output in a log dir under /tmp.  One line per
# test (PASS/FAIL name, and the tail of the log on failure), then one closing
# line "N passed, N failed"; the exit status is non-zero if any failed.
#
#   BUILD=build tests/run.sh [NAME...]     (NAMEs: run only these tests)
set -uo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$PWD/$BUILD
export BUILD
TIMEOUT=${TEST_TIMEOUT:-300}
LOGDIR=$(mktemp -d /tmp/topicfs-tests.XXXXXX)
export TFS_TEST_TMP=$LOGDIR # the tests' temp dirs and mounts go here
passed=0
failed=0

wanted() { # NAME: in the command-line selection (all if none given)
	local n
	((${#SELECT[@]} == 0)) && return 0
	for n in "${SELECT[@]}"; do [[ $n == "$1" ]] && return 0; done
	return 1
}
SELECT=("$@")

run_one() { # NAME CMD...
	local name=$1 log=$LOGDIR/$1.log rc=0 t0=$SECONDS
	shift
	wanted "$name" || return 0
	TFS_ARTIFACTS=$LOGDIR/$name.daemon timeout -k 10 "$TIMEOUT" "$@" >"$log" 2>&1 </dev/null || rc=$?
	if ((rc == 0)); then
		passed=$((passed + 1))
		echo "PASS $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		((rc == 124)) && echo "timed out after $TIMEOUT s" >>"$log"
		echo "FAIL $name (status $rc, $((SECONDS - t0)) s; log $log)"
		tail -25 "$log" | sed 's/^/    /'
	fi
}

echo "topicfs tests: BUILD=$BUILD, logs in $LOGDIR"
for t in "$BUILD"/tests/test_*; do
	[[ -x $t && -f $t ]] || continue
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 run_one "$(basename "$t")" "$t"
done
for t in tests/integration/t_*.sh; do
	[[ -f $t ]] || continue
	run_one "$(basename "$t" .sh)" bash "$t"
done

# A test must never leave its mount behind.
left=$(awk -v d="$LOGDIR/topicfs-t." 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
if [[ -n $left ]]; then
	failed=$((failed + 1))
	echo "FAIL leftover-mounts: $left"
	for m in $left; do fusermount3 -u -z "$m"; done
fi

echo "$passed passed, $failed failed"
((failed == 0))
