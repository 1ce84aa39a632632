#!/usr/bin/env bash
# contrib/bench.sh - topicfs beside a plain file and the baseline applog
# (../shared/baseline, write-through and direct_io), in one run, one table.
#
#   make bench          (= BUILD=build contrib/bench.sh after building)
#
# Measures, each as the median of REPS timed runs after one warm-up run:
#   - 100-byte appends/s: SMALL_N write()s, O_APPEND, one producer
#   - 1 MiB appends MB/s: LARGE_MB write()s of 1 MiB, O_APPEND
#   - sequential read MB/s of that file, 1 MiB read() buffer (page cache warm)
#   - the FUSE daemon's CPU time (utime+stime from /proc/PID/stat) per run
# Files live under /var/tmp (same disk for all); `sync` (untimed) before
# every run keeps writeback of the previous run out of the timing.
# fs.pipe-max-size is raised to 2 MiB for the whole run (topicfs does that
# itself when root, so its reads splice; applog gets the same) and restored
# at exit.  Knobs (env): REPS SMALL_N LARGE_MB BASELINE KEEP=1.
set -uo pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
TFS=$BUILD/topicfs
TB=$BUILD/tools/tfsbench
BASELINE=${BASELINE:-$TOP/../shared/baseline}
REPS=${REPS:-3}
SMALL_N=${SMALL_N:-200000}
LARGE_MB=${LARGE_MB:-1024}
PIPE_MAX=2097152
CLK_TCK=$(getconf CLK_TCK)

SCRATCH=$(mktemp -d /var/tmp/topicfs-bench.XXXXXX)
MNT=$SCRATCH/mnt
FSPID=
PIPE_MAX_ORIG=$(cat /proc/sys/fs/pipe-max-size)
T_START=$SECONDS

note() { echo "$*" >&2; }
die() {
	note "bench: FATAL: $*"
	exit 1
}

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

cleanup() {
	umount_fs
	if [[ $(cat /proc/sys/fs/pipe-max-size) != "$PIPE_MAX_ORIG" ]]; then
		echo "$PIPE_MAX_ORIG" >/proc/sys/fs/pipe-max-size
	fi
	[[ ${KEEP:-0} == 1 ]] || rm -rf --one-file-system "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mount_fs NAME CMD...: start a FUSE daemon in the foreground on $MNT
mount_fs() {
	local name=$1 i
	shift
	mkdir -p "$MNT"
	note "--- mount $name: $*"
	"$@" >"$SCRATCH/$name.log" 2>&1 &
	FSPID=$!
	for ((i = 0; i < 100; i++)); do
		awk -v m="$MNT" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo && return 0
		kill -0 "$FSPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$SCRATCH/$name.log" >&2
	die "$name did not mount"
}

getkey() { sed -n "s/.*\\b$2=\\([0-9.]*\\).*/\\1/p" <<<"$1" | head -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "-") }'; }
cpu_ticks() {
	if [[ -n $FSPID ]]; then awk '{ print $14 + $15 }' "/proc/$FSPID/stat"; else echo 0; fi
}

# measure SETUP CMD...: one warm-up and REPS timed runs of CMD (SETUP, a
# function, before each); sets MB (median MB_per_s), OPS (median ops_per_s)
# and CPU (median daemon CPU seconds per run).
measure() {
	local setup=$1 r out t0 t1 mbs=() ops=() cpus=()
	shift
	note "    \$ $*"
	for ((r = 0; r <= REPS; r++)); do
		$setup || die "setup failed: $setup"
		t0=$(cpu_ticks)
		out=$(timeout -k 5 300 "$@") || die "run failed: $*"
		t1=$(cpu_ticks)
		note "    $( ((r)) && echo "run $r:  " || echo "warm-up:") $out cpu_ticks=$((t1 - t0))"
		((r)) || continue
		mbs+=("$(getkey "$out" MB_per_s)")
		ops+=("$(getkey "$out" ops_per_s)")
		cpus+=("$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')")
	done
	MB=$(median "${mbs[@]}")
	OPS=$(median "${ops[@]}")
	CPU=$(median "${cpus[@]}")
}

declare -A R # R[system,metric]

# bench_system NAME FILE RESET: the three measurements on FILE; RESET (a
# function) makes FILE empty (or new) before each append run.
bench_system() {
	local name=$1 file=$2 reset=$3
	note "=== $name"
	_setup_append() { $reset && sync; }
	measure _setup_append "$TB" append "$file" "$SMALL_N" 100
	R[$name,small]=$OPS
	R[$name,small_cpu]=$(awk -v c="$CPU" -v n="$SMALL_N" 'BEGIN { printf "%.1f", c / n * 1e6 }')
	measure _setup_append "$TB" append "$file" "$LARGE_MB" 1048576
	R[$name,large]=$MB
	R[$name,large_cpu]=$(awk -v c="$CPU" -v m="$LARGE_MB" 'BEGIN { printf "%.2f", c / (m / 1024) }')
	_setup_read() { sync; }
	measure _setup_read "$TB" read "$file" 1048576
	R[$name,read]=$MB
	R[$name,read_cpu]=$(awk -v c="$CPU" -v m="$LARGE_MB" 'BEGIN { printf "%.2f", c / (m / 1024) }')
}

[[ -x $TFS && -x $TB ]] || die "build first: make all tools BUILD=$BUILD"
[[ $(id -u) == 0 ]] || note "bench: not root: fs.pipe-max-size cannot be raised"
echo "$PIPE_MAX" >/proc/sys/fs/pipe-max-size 2>/dev/null ||
	note "bench: cannot set fs.pipe-max-size; FUSE reads will copy"

# applog from the baseline, built in a copy
APPLOG=
if [[ -f $BASELINE/applog.c ]]; then
	cp -r "$BASELINE" "$SCRATCH/baseline"
	make -s -C "$SCRATCH/baseline" applog >&2 && APPLOG=$SCRATCH/baseline/applog
else
	note "bench: $BASELINE absent: applog rows skipped"
fi

# plain file on the same disk
_reset_plain() { rm -f "$SCRATCH/plain.log"; }
bench_system plain "$SCRATCH/plain.log" _reset_plain
rm -f "$SCRATCH/plain.log"

# applog, write-through (default) and direct_io
_reset_applog() { : >"$MNT/log"; }
if [[ -n $APPLOG ]]; then
	for mode in default direct_io; do
		rm -rf "$SCRATCH/applog-back"
		mkdir -p "$SCRATCH/applog-back"
		mount_fs "applog-$mode" env APPLOG_MODE=$mode "$APPLOG" "$SCRATCH/applog-back" "$MNT"
		bench_system "applog-$mode" "$MNT/log" _reset_applog
		umount_fs
		note "    $(tail -1 "$SCRATCH/applog-$mode.log")"
		rm -rf "$SCRATCH/applog-back"
	done
fi

# topicfs: a new topic for every append run
_reset_topicfs() {
	[[ -e $MNT/bench ]] && { rm -r "$MNT/bench" || return 1; }
	mkdir "$MNT/bench"
}
mkdir -p "$SCRATCH/tfs-data"
mount_fs topicfs "$TFS" -f "$SCRATCH/tfs-data" "$MNT"
bench_system topicfs "$MNT/bench/0" _reset_topicfs
note "    topicfs: $(getfattr -d --absolute-names "$MNT/bench/0" 2>/dev/null | grep topicfs | xargs)"
umount_fs
rm -rf "$SCRATCH/tfs-data"

# ---- the report --------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }
echo "topicfs benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "machine:  $(uname -sr), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "disk:     $(df -T /var/tmp | awk 'NR == 2 { print $1, $2 }') at /var/tmp"
echo "sysctl:   fs.pipe-max-size=$PIPE_MAX_ORIG before the run, $PIPE_MAX during it (topicfs sets that itself), restored at exit"
echo "daemon:   $TFS ($("$TFS" -V 2>&1 | head -1)), default options"
echo "runs:     median of $REPS after a warm-up; SMALL_N=$SMALL_N x 100 B, LARGE_MB=$LARGE_MB x 1 MiB, 1 MiB read buffer"
echo
row() { # WHAT METRIC APPLOG-SYSTEM
	local p=${R[plain,$2]:--} a=${R[$3,$2]:--} t=${R[topicfs,$2]:--}
	printf '%-44s %10s %10s %10s %13s %14s\n' "$1" "$p" "$a" "$t" "$(ratio "$t" "$p")" "$(ratio "$t" "$a")"
}
printf '%-44s %10s %10s %10s %13s %14s\n' what plain applog topicfs topicfs/plain topicfs/applog
printf '%s\n' "$(printf '%.0s-' {1..106})"
row "100 B appends/s (applog write-through)" small applog-default
row "100 B appends/s (applog direct_io)" small applog-direct_io
row "1 MiB appends MB/s (applog write-through)" large applog-default
row "1 MiB appends MB/s (applog direct_io)" large applog-direct_io
row "seq. read MB/s (applog write-through)" read applog-default
row "seq. read MB/s (applog direct_io)" read applog-direct_io
R[plain,small_cpu]=- R[plain,large_cpu]=- R[plain,read_cpu]=-
row "daemon CPU us / 100 B append (wt)" small_cpu applog-default
row "daemon CPU us / 100 B append (dio)" small_cpu applog-direct_io
row "daemon CPU s / GiB, 1 MiB appends (wt)" large_cpu applog-default
row "daemon CPU s / GiB, 1 MiB appends (dio)" large_cpu applog-direct_io
row "daemon CPU s / GiB, seq. read (wt)" read_cpu applog-default
row "daemon CPU s / GiB, seq. read (dio)" read_cpu applog-direct_io
echo
floor() { # WHAT VALUE OK
	printf 'floor: %-42s %s\n' "$1" "$(awk -v ok="$3" 'BEGIN { print (ok ? "met" : "NOT MET") }') ($2)"
}
t=${R[topicfs,small]:-0}
floor ">= 30,000 100 B appends/s" "$t/s" "$(awk -v t="$t" 'BEGIN { print (t >= 30000) }')"
t=$(ratio "${R[topicfs,large]:-0}" "${R[plain,large]:-1}")
floor "1 MiB appends >= 0.5x plain" "$t" "$(awk -v t="${t%x}" 'BEGIN { print (t >= 0.5) }')"
t=$(ratio "${R[topicfs,read]:-0}" "${R[plain,read]:-1}")
floor "sequential reads >= 0.5x plain" "$t" "$(awk -v t="${t%x}" 'BEGIN { print (t >= 0.5) }')"
echo "total wall time: $((SECONDS - T_START)) s"
