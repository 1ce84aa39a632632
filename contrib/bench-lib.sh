# contrib/bench-lib.sh - what the bench scripts share (sourced, not run):
# the build paths, logging, and unmounting the daemon they started.
#
# The sourcing script sets MNT (its mount point) and FSPID (the daemon's
# pid, empty when none runs) before it calls umount_fs.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
TFS=$BUILD/topicfs
TB=$BUILD/tools/tfsbench

note() { echo "$*" >&2; }

# Unmount MNT and wait for the daemon FSPID to exit (kill -9 after 10 s).
umount_fs() {
	[[ -n $FSPID ]] || return 0
	fusermount3 -u -z "$MNT" 2>/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$FSPID" 2>/dev/null || break
		[[ $(awk '{print $3}' "/proc/$FSPID/stat" 2>/dev/null) == Z ]] && break
		sleep 0.1
	done
	kill -0 "$FSPID" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$FSPID/stat") != Z ]] &&
		{ note "daemon $FSPID hangs after unmount; kill -9"; kill -9 "$FSPID"; }
	wait "$FSPID" 2>/dev/null
	FSPID=
}
