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

# umount_fs [DIR PID]: unmount DIR and wait for the daemon PID to exit
# (kill -9 after 10 s); without arguments MNT and FSPID, and FSPID is
# cleared.
umount_fs() {
	local mnt=${1:-$MNT} pid=${2-$FSPID} i
	[[ -n $pid ]] || return 0
	fusermount3 -u -z "$mnt" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$pid/stat") != Z ]] &&
		{ note "daemon $pid hangs after unmount; kill -9"; kill -9 "$pid"; }
	wait "$pid" 2>/dev/null
	(($#)) || FSPID=
}

# fill_topics TOPICS PARTS COUNT SIZE: topics t0.. of PARTS partitions
# each under $MNT, every partition given COUNT appends of SIZE bytes by one
# producer per partition, all at once (calls the caller's die on failure)
fill_topics() {
	local t p parts
	for ((t = 0; t < $1; t++)); do
		mkdir "$MNT/t$t" || die "mkdir $MNT/t$t"
		parts=()
		for ((p = 0; p < $2; p++)); do parts+=("$MNT/t$t/$p"); done
		touch "${parts[@]}" || die "touch partitions of t$t" # in order: partitions are dense
		"$TB" par-append "$3" "$4" "${parts[@]}" >/dev/null || die "filling t$t"
	done
}
