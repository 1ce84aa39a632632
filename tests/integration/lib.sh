# shellcheck shell=bash
# tests/integration/lib.sh - shared helpers of the integration tests: a temp
# dir with data/ and mnt/, mounting and unmounting the daemon under test by
# its pid, sanitizer checks of its log, and assertions.
#
# Source it first:  . "$(dirname "$0")/lib.sh"
# Then: mount_tfs [OPTS], umount_tfs, kill9_tfs, remount_tfs [OPTS];
# fail MSG, assert_eq WANT GOT [WHAT], expect_errno MSG CMD..., expect_ok
# CMD...; xattr FILE NAME, fsize FILE, datalog TOPIC PART; small_datadir
# SIZE [ext4] (before mount_tfs: a tmpfs, or an ext4 image, of SIZE).
# The EXIT trap kills the test's background jobs, unmounts (the daemon,
# then small_datadir's tmpfs), checks the daemon logs for sanitizer reports
# and removes the temp dir, always.
set -Eeuo pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
TFS=$BUILD/topicfs
TOOLS=$BUILD/tools
TNAME=${TFS_TNAME:-$(basename "$0" .sh)}

# under the driver's run dir (tests/run.sh), so concurrent runs never
# mistake each other's mounts for leftovers
T=$(mktemp -d "${TFS_TEST_TMP:-/tmp}/topicfs-t.XXXXXX")
DATA=$T/data
MNT=$T/mnt
mkdir -p "$DATA" "$MNT"
TFS_PID=       # pid of the daemon under test, while it runs
TFS_LOG=       # its stdout+stderr (one file per mount)
TFS_NMOUNT=0
TFS_TMPFS=     # small_datadir's mount point (tmpfs or ext4), while mounted
_IN_CLEANUP=0

# Daemon environment: sanitizers report and abort; harmless otherwise.
TFS_ENV=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:print_summary=1
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
SAN_PATTERN='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer'

log() { echo "+ $*"; }

fail() {
	echo "FAIL: $TNAME: $*" >&2
	exit 1
}

assert_eq() { # WANT GOT [WHAT]
	[[ "$1" == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}

# expect_errno MSG CMD...: CMD must exit non-zero and say MSG (e.g. "Invalid
# argument", the strerror text) on stderr or stdout.
expect_errno() {
	local msg=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	((rc != 0)) || fail "'$*' succeeded; expected it to fail with '$msg'"
	[[ $out == *"$msg"* ]] || fail "'$*' failed (status $rc) saying '$out'; expected '$msg'"
	log "$* -> $msg"
}

expect_ok() { # CMD...: must succeed; shows its output on failure
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	((rc == 0)) || fail "'$*' failed (status $rc): $out"
}

fsize() { stat -c %s "$1"; }
xattr() { getfattr --only-values --absolute-names -n "user.topicfs.$2" "$1"; }
datalog() { # TOPIC PART: the partition's bytes as the data dir holds them
	local f
	for f in "$DATA/$1/$2"/*.log; do cat "$f"; done
}

_alive() { # PID: running and not a zombie
	local s
	s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $s && $s != Z ]]
}

_mounted() { awk -v m="$MNT" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

_check_san() { # LOG...: no sanitizer report
	local f
	for f in "$@"; do
		[[ -f $f ]] || continue
		if grep -Eq "$SAN_PATTERN" "$f"; then
			echo "sanitizer report in $f:" >&2
			grep -E -A30 "$SAN_PATTERN" "$f" | head -60 >&2
			return 1
		fi
	done
}

_fail_or_return() {
	((_IN_CLEANUP)) && { echo "FAIL: $TNAME: $*" >&2; return 1; }
	fail "$*"
}

# mount_tfs [OPTS]: start "topicfs -f [-o OPTS] DATA MNT" in the background
# and wait (10 s at most) until MNT is mounted.
mount_tfs() {
	local args=(-f) i
	[[ -z $TFS_PID ]] || fail "mount_tfs: already mounted (pid $TFS_PID)"
	[[ -x $TFS ]] || fail "no daemon binary $TFS (make all BUILD=...)"
	[[ -n ${1:-} ]] && args+=(-o "$1")
	TFS_NMOUNT=$((TFS_NMOUNT + 1))
	TFS_LOG=$T/daemon.$TFS_NMOUNT.log
	log "topicfs ${args[*]} DATA MNT"
	env "${TFS_ENV[@]}" "$TFS" "${args[@]}" "$DATA" "$MNT" >"$TFS_LOG" 2>&1 &
	TFS_PID=$!
	for ((i = 0; i < 100; i++)); do
		_mounted && return 0
		if ! _alive "$TFS_PID"; then
			local rc=0
			wait "$TFS_PID" || rc=$?
			TFS_PID=
			fail "daemon exited with status $rc before mounting: $(tail -5 "$TFS_LOG")"
		fi
		sleep 0.1
	done
	fail "$MNT not mounted 10 s after starting the daemon"
}

# umount_tfs: fusermount3 -u -z, wait (10 s at most) for the daemon to exit
# with status 0 and no sanitizer report; kill -9 it by pid if it hangs.
umount_tfs() {
	local pid=$TFS_PID rc=0 i
	[[ -n $pid ]] || return 0
	if _mounted; then fusermount3 -u -z "$MNT" >>"$TFS_LOG" 2>&1 || true; fi
	for ((i = 0; i < 100; i++)); do
		_alive "$pid" || break
		sleep 0.1
	done
	if _alive "$pid"; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		TFS_PID=
		_fail_or_return "daemon $pid still running 10 s after unmount (killed -9)"
		return 1
	fi
	wait "$pid" || rc=$?
	TFS_PID=
	_check_san "$TFS_LOG" || { _fail_or_return "sanitizer report in the daemon log"; return 1; }
	((rc == 0)) || { _fail_or_return "daemon exited with status $rc after unmount: $(tail -5 "$TFS_LOG")"; return 1; }
	return 0
}

remount_tfs() { umount_tfs; mount_tfs "$@"; }

# kill9_tfs: kill -9 the daemon by its pid, then detach the dead mount.
kill9_tfs() {
	[[ -n $TFS_PID ]] || fail "kill9_tfs: not mounted"
	log "kill -9 daemon $TFS_PID"
	kill -9 "$TFS_PID"
	wait "$TFS_PID" 2>/dev/null || true
	TFS_PID=
	fusermount3 -u -z "$MNT" >>"$TFS_LOG" 2>&1 || true
	_check_san "$TFS_LOG" || fail "sanitizer report in the daemon log"
}

# small_datadir SIZE: a tmpfs of SIZE (e.g. 4m; mounting needs root) at
# $T/small, and DATA moves into it as $T/small/data, leaving room beside it
# for filler files; the EXIT trap unmounts it after the daemon has gone.
small_datadir() {
	mkdir -p "$T/small"
	if [[ ${2:-tmpfs} == ext4 ]]; then
		# an ext4 image on a loop device: the store allocates blocks
		# ahead there (fallocate), which tmpfs does not
		truncate -s "$1" "$T/small.img" &&
			mkfs.ext4 -q -F -m 0 "$T/small.img" &&
			mount -o loop "$T/small.img" "$T/small" ||
			fail "cannot mount an ext4 image (size $1) at $T/small"
		rm -rf "$T/small/lost+found"
	else
		mount -t tmpfs -o "size=$1,mode=0755" topicfs-test "$T/small" ||
			fail "cannot mount a tmpfs (size=$1) at $T/small"
	fi
	TFS_TMPFS=$T/small
	DATA=$T/small/data
	mkdir "$DATA"
}

_on_err() {
	echo "error: $TNAME line $1: '$2' exited with status $3" >&2
}

_cleanup() {
	local rc=$? j f
	_IN_CLEANUP=1
	set +eE
	trap - ERR
	for j in $(jobs -p); do
		[[ $j == "$TFS_PID" ]] && continue
		kill -9 "$j" 2>/dev/null
		wait "$j" 2>/dev/null
	done
	if [[ -n $TFS_PID ]]; then
		umount_tfs || rc=1
	fi
	_mounted && fusermount3 -u -z "$MNT"
	if [[ -n $TFS_TMPFS ]]; then # the daemon is gone: nothing holds it
		umount "$TFS_TMPFS" || { umount -l "$TFS_TMPFS"; rc=1; }
	fi
	_check_san "$T"/daemon.*.log || rc=1
	if ((rc != 0)); then
		for f in "$T"/daemon.*.log; do
			[[ -s $f ]] || continue
			echo "--- tail of $(basename "$f"):" >&2
			tail -20 "$f" >&2
		done
	fi
	if [[ -n ${TFS_ARTIFACTS:-} ]]; then
		mkdir -p "$TFS_ARTIFACTS"
		cp "$T"/daemon.*.log "$TFS_ARTIFACTS"/ 2>/dev/null
	fi
	rm -rf --one-file-system "$T"
	((rc == 0)) && echo "ok: $TNAME"
	exit "$rc"
}

trap '_on_err $LINENO "$BASH_COMMAND" $?' ERR
trap _cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
