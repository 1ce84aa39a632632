#!/usr/bin/env bash
# contrib/bench.sh - topicfs (record mode, and stream mode: -o stream) beside
# a plain file and the baseline applog (../shared/baseline, write-through and
# direct_io), in one run: one table, then a table of the scaling figures.
#
#   make bench          (= BUILD=build contrib/bench.sh after building)
#
# Measures, each as the median of REPS timed runs after one warm-up run:
#   - 100-byte appends/s: SMALL_N write()s (FAST_N for the plain file and
#     stream mode, which are 20-30x faster), O_APPEND, one producer, timed
#     from the first write to close() (in stream mode close() writes the
#     cached appends back, so that is inside the timing); again with
#     fsync() before close(), SMALL_N/4 writes (plain and topicfs only)
#   - 4 producers: 4 processes, SMALL_N/4 100-byte appends each, on 4 files
#     (topicfs: partitions 0-3 of one topic; applog direct_io: its one
#     file, to show how the FUSE stack alone scales), started together;
#     aggregate appends/s over the wall time until the last close()
#   - 1 MiB appends MB/s: LARGE_MB write()s of 1 MiB, O_APPEND
#   - sequential read MB/s of that file, READ_BS read() buffer (1 MiB; page
#     cache warm), and again with BIG_BS (4 MiB: what cat uses on topicfs,
#     its st_blksize, and topicfs's READ request size); applog also in
#     keep_cache mode for these re-reads
#   - cold read MB/s: a COLD_MB file written once per system (1 MiB
#     appends; applog's backing file serves its three modes, topicfs's data
#     dir record and stream mode), then REPS runs (no warm-up) of a
#     sequential read with READ_BS read()s, each on a fresh mount (so it is
#     also the daemon's first read: topicfs checks record CRCs then) after
#     `sync; echo 3 >/proc/sys/vm/drop_caches; sleep COLD_SETTLE` (untimed).
#     The wait: this VM returns free memory to the host (virtio-balloon
#     free page reporting, from 2 s after it is freed), and a page the
#     host took back costs a fault on the guest's first touch (a reader
#     of a 2 GiB plain file used 0.2 s of CPU, or 2.2-2.7 s).  Read right
#     after the drop, about half the runs got such pages (0.6-0.9 GB/s
#     against 1.5 GB/s); after the wait nearly all do (14 of 17 runs in a
#     test): a slower read, but the same case in most runs of every system
#   - fan-out: FANOUT processes reading that same file at once (plain and
#     topicfs); aggregate MB/s and the slowest reader's rate / the fastest's
#   - the FUSE daemon's CPU time (utime+stime from /proc/PID/stat) per run
#   - mount scale (topicfs, record mode): a data dir of SCALE_TOPICS x
#     SCALE_PARTS partitions with SCALE_RECS records of 4000 B each, written
#     with segment.bytes=4K (a segment per record); the time from starting
#     `topicfs -f DATA MNT` until `mountpoint -q MNT` succeeds (page cache
#     warm), and the daemon's VmRSS right after
#   (the same partitions holding 10 GiB: contrib/bench-scale.sh)
# Files live under /var/tmp (same disk for all); `sync` (untimed) before
# every run keeps writeback of the previous run out of the timing.
# fs.pipe-max-size is raised to 8 MiB for the whole run (topicfs does that
# itself when root, so its 4 MiB reads splice; applog gets the same, though
# libfuse gives it 1 MiB requests) and restored at exit, as is
# fs.fuse.max_pages_limit (topicfs raises it to 1024).  Knobs (env): REPS
# SMALL_N FAST_N LARGE_MB READ_BS BIG_BS COLD_MB (0: no cold reads) COLD_SETTLE FANOUT
# SCALE_TOPICS SCALE_PARTS SCALE_RECS BASELINE KEEP=1.
set -uo pipefail
export LC_ALL=C

. "$(dirname "$0")/bench-lib.sh"
BASELINE=${BASELINE:-$TOP/../shared/baseline}
REPS=${REPS:-3}
SMALL_N=${SMALL_N:-50000}
FAST_N=${FAST_N:-200000}
LARGE_MB=${LARGE_MB:-1024}
READ_BS=${READ_BS:-1048576}
BIG_BS=${BIG_BS:-4194304}
COLD_MB=${COLD_MB:-2048}
COLD_SETTLE=${COLD_SETTLE:-2.5}
FANOUT=${FANOUT:-8}
SCALE_TOPICS=${SCALE_TOPICS:-10}
SCALE_PARTS=${SCALE_PARTS:-100}
SCALE_RECS=${SCALE_RECS:-10}
PIPE_MAX=8388608
PAGES_PATH=/proc/sys/fs/fuse/max_pages_limit
CLK_TCK=$(getconf CLK_TCK)

SCRATCH=$(mktemp -d /var/tmp/topicfs-bench.XXXXXX)
MNT=$SCRATCH/mnt
FSPID=
FSLOG= # the running daemon's log (mount_fs)
PIPE_MAX_ORIG=$(cat /proc/sys/fs/pipe-max-size)
PAGES_ORIG=$(cat $PAGES_PATH 2>/dev/null)
T_START=$SECONDS
T_LAP=$SECONDS

lap() { # note the seconds since the last lap
	note "--- $1: $((SECONDS - T_LAP)) s"
	T_LAP=$SECONDS
}
die() {
	note "bench: FATAL: $*"
	[[ -n $FSPID && -f ${FSLOG:-} ]] && { note "--- the last lines of $FSLOG:"; tail -20 "$FSLOG" >&2; }
	exit 1
}

cleanup() {
	umount_fs
	if [[ $(cat /proc/sys/fs/pipe-max-size) != "$PIPE_MAX_ORIG" ]]; then
		echo "$PIPE_MAX_ORIG" >/proc/sys/fs/pipe-max-size
	fi
	if [[ -n $PAGES_ORIG && $(cat $PAGES_PATH) != "$PAGES_ORIG" ]]; then
		echo "$PAGES_ORIG" >$PAGES_PATH
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
	FSLOG=$SCRATCH/$name.log
	"$@" >"$FSLOG" 2>&1 &
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
# function, before each); sets MB (median MB_per_s), OPS (median ops_per_s),
# CPU (median daemon CPU seconds per run) and OUTS (the timed runs' output
# lines, for medkey).
measure() {
	local setup=$1 r out t0 t1 cpus=()
	shift
	note "    \$ $*"
	OUTS=()
	for ((r = 0; r <= REPS; r++)); do
		$setup || die "setup failed: $setup"
		t0=$(cpu_ticks)
		out=$(timeout -k 5 300 "$@") || die "run failed: $*"
		t1=$(cpu_ticks)
		note "    $( ((r)) && echo "run $r:  " || echo "warm-up:") $out cpu_ticks=$((t1 - t0))"
		((r)) || continue
		OUTS+=("$out")
		cpus+=("$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')")
	done
	MB=$(medkey MB_per_s)
	OPS=$(medkey ops_per_s)
	CPU=$(median "${cpus[@]}")
}
# medkey KEY: the median of KEY over the last measure's timed runs
medkey() {
	local o v=()
	for o in "${OUTS[@]}"; do v+=("$(getkey "$o" "$1")"); done
	median "${v[@]}"
}

declare -A R # R[system,metric]

# bench_system NAME FILE RESET [RESET4 FILE0 FILE1 FILE2 FILE3]: the
# measurements on FILE; RESET (a function) makes FILE empty (or new) before
# each append run.  With RESET4 (makes the four files empty or new) also
# the fsync variant, the 4-producer run and the fan-out read.
bench_system() {
	local name=$1 file=$2 reset=$3 reset4=${4:-}
	shift 4 2>/dev/null
	note "=== $name"
	_setup_append() { $reset && sync; }
	# the fast systems take FAST_N: SMALL_N of them is over in 50-80 ms,
	# where stream mode's close() (the write-back of what the kernel
	# holds) and the timer's noise weigh a tenth
	local n=$SMALL_N
	[[ $name == plain || $name == stream ]] && n=$FAST_N
	measure _setup_append "$TB" append "$file" "$n" 100
	R[$name,small]=$OPS
	R[$name,small_cpu]=$(awk -v c="$CPU" -v n="$n" 'BEGIN { printf "%.1f", c / n * 1e6 }')
	if [[ -n $reset4 ]]; then
		measure _setup_append "$TB" append "$file" $((SMALL_N / 4)) 100 --fsync
		R[$name,small_fsync]=$OPS
		_setup_append4() { $reset4 && sync; }
		measure _setup_append4 "$TB" par-append $((SMALL_N / 4)) 100 "$@"
		R[$name,prod4]=$OPS
		R[$name,prod4_minmax]=$(medkey min_max)
	fi
	measure _setup_append "$TB" append "$file" "$LARGE_MB" 1048576
	R[$name,large]=$MB
	R[$name,large_cpu]=$(awk -v c="$CPU" -v m="$LARGE_MB" 'BEGIN { printf "%.2f", c / (m / 1024) }')
	bench_read "$name" "$file"
	if [[ -n $reset4 ]]; then
		measure _setup_read "$TB" par-read "$FANOUT" "$file" "$READ_BS"
		R[$name,fan]=$MB
		R[$name,fan_minmax]=$(medkey min_max)
	fi
}

# bench_read NAME FILE: the warm sequential read of FILE (LARGE_MB MiB)
_setup_read() { sync; }
bench_read() {
	measure _setup_read "$TB" read "$2" "$READ_BS"
	R[$1,read]=$MB
	R[$1,read_cpu]=$(awk -v c="$CPU" -v m="$LARGE_MB" 'BEGIN { printf "%.2f", c / (m / 1024) }')
	measure _setup_read "$TB" read "$2" "$BIG_BS"
	R[$1,read4]=$MB
}

# cold_read NAME FILE [CMD...]: REPS sequential reads of FILE, 1 MiB
# read()s, each after `sync`, dropping the page cache and COLD_SETTLE
# seconds (untimed); with CMD (a FUSE daemon) each run on a fresh mount of
# it, so every run is also the daemon's first read of FILE.  Sets
# R[NAME,cold] (median MB/s) and R[NAME,cold_cpu] (median daemon CPU s
# per GiB).
cold_read() {
	local name=$1 file=$2 r out t0 t1 mbs=() cpus=()
	shift 2
	note "=== $name: cold read"
	note "    \$ $TB read $file $READ_BS"
	for ((r = 1; r <= REPS; r++)); do
		(($#)) && mount_fs "$name-cold" "$@"
		sync
		echo 3 >/proc/sys/vm/drop_caches || die "cannot drop the page cache"
		sleep "$COLD_SETTLE"
		t0=$(cpu_ticks)
		out=$(timeout -k 5 300 "$TB" read "$file" "$READ_BS") || die "cold read of $file failed"
		t1=$(cpu_ticks)
		(($#)) && umount_fs
		note "    run $r:   $out cpu_ticks=$((t1 - t0))"
		mbs+=("$(getkey "$out" MB_per_s)")
		cpus+=("$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v m="$COLD_MB" 'BEGIN { printf "%.2f", t / hz / (m / 1024) }')")
	done
	R[$name,cold]=$(median "${mbs[@]}")
	R[$name,cold_cpu]=$(median "${cpus[@]}")
}

# fill FILE: COLD_MB appends of 1 MiB to FILE, then sync (untimed)
fill() {
	note "    filling $1 with $COLD_MB MiB"
	"$TB" append "$1" "$COLD_MB" 1048576 >/dev/null || die "filling $1"
	sync
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
_reset_plain4() { rm -f "$SCRATCH"/plain[0-3].log; }
bench_system plain "$SCRATCH/plain.log" _reset_plain _reset_plain4 "$SCRATCH"/plain{0,1,2,3}.log
rm -f "$SCRATCH"/plain*.log

lap "plain"

# applog, write-through (default) and direct_io; keep_cache for the re-read
_reset_applog() { : >"$MNT/log"; }
if [[ -n $APPLOG ]]; then
	for mode in default keep_cache direct_io; do
		rm -rf "$SCRATCH/applog-back"
		mkdir -p "$SCRATCH/applog-back"
		mount_fs "applog-$mode" env APPLOG_MODE=$mode "$APPLOG" "$SCRATCH/applog-back" "$MNT"
		if [[ $mode == keep_cache ]]; then # only the re-read
			note "=== applog-$mode"
			"$TB" append "$MNT/log" "$LARGE_MB" 1048576 >/dev/null || die "filling $MNT/log"
			bench_read "applog-$mode" "$MNT/log"
		else
			bench_system "applog-$mode" "$MNT/log" _reset_applog
		fi
		if [[ $mode == direct_io ]]; then # does the FUSE stack scale?
			_setup_applog4() { _reset_applog && sync; }
			measure _setup_applog4 "$TB" par-append $((SMALL_N / 4)) 100 "$MNT"/log "$MNT"/log "$MNT"/log "$MNT"/log
			R[applog-$mode,prod4]=$OPS
		fi
		umount_fs
		note "    $(tail -1 "$SCRATCH/applog-$mode.log")"
		rm -rf "$SCRATCH/applog-back"
	done
fi

lap "applog"

# topicfs, record mode (default options) and stream mode: a new topic for
# every append run (partitions 0-3 for the 4-producer run)
_reset_topicfs() {
	[[ -e $MNT/bench ]] && { rm -r "$MNT/bench" || return 1; }
	mkdir "$MNT/bench"
}
_reset_topicfs4() { _reset_topicfs && touch "$MNT"/bench/{0,1,2,3}; }
for mode in record stream; do
	name=topicfs opts=()
	[[ $mode == stream ]] && name=stream opts=(-o stream)
	mkdir -p "$SCRATCH/tfs-data"
	mount_fs "$name" "$TFS" -f "${opts[@]}" "$SCRATCH/tfs-data" "$MNT"
	bench_system "$name" "$MNT/bench/0" _reset_topicfs _reset_topicfs4 "$MNT"/bench/{0,1,2,3}
	# (getxattr is off in stream mode: this prints nothing there)
	note "    $name: $(getfattr -d --absolute-names "$MNT/bench/0" 2>/dev/null | grep topicfs | xargs)"
	umount_fs
	rm -rf "$SCRATCH/tfs-data"
done

lap "topicfs and stream"

# cold reads: one COLD_MB file per system, read with the page cache dropped
if ((COLD_MB > 0)) && [[ ! -w /proc/sys/vm/drop_caches ]]; then
	note "bench: cannot drop the page cache (not root?): cold read rows skipped"
	COLD_MB=0
fi
if ((COLD_MB > 0)); then
	fill "$SCRATCH/cold.plain"
	cold_read plain "$SCRATCH/cold.plain"
	rm -f "$SCRATCH/cold.plain"
	if [[ -n $APPLOG ]]; then # one backing file for the three modes
		mkdir -p "$SCRATCH/applog-cold"
		mount_fs applog-fill env APPLOG_MODE=direct_io "$APPLOG" "$SCRATCH/applog-cold" "$MNT"
		fill "$MNT/log"
		umount_fs
		for mode in default keep_cache direct_io; do
			cold_read "applog-$mode" "$MNT/log" \
				env APPLOG_MODE=$mode "$APPLOG" "$SCRATCH/applog-cold" "$MNT"
			note "    $(tail -1 "$SCRATCH/applog-$mode-cold.log")"
		done
		rm -rf "$SCRATCH/applog-cold"
	fi
	mkdir -p "$SCRATCH/tfs-cold" # one data dir for record and stream mode
	mount_fs topicfs-fill "$TFS" -f "$SCRATCH/tfs-cold" "$MNT"
	mkdir "$MNT/cold" || die "mkdir $MNT/cold"
	fill "$MNT/cold/0"
	umount_fs
	cold_read topicfs "$MNT/cold/0" "$TFS" -f "$SCRATCH/tfs-cold" "$MNT"
	cold_read stream "$MNT/cold/0" "$TFS" -f -o stream "$SCRATCH/tfs-cold" "$MNT"
	rm -rf "$SCRATCH/tfs-cold"
fi

lap "cold reads"

# mount scale: build the data dir in record mode with 4 KiB segments
SDATA=$SCRATCH/scale-data
mkdir -p "$SDATA"
note "=== mount scale: $SCALE_TOPICS topics x $SCALE_PARTS partitions x $SCALE_RECS records of 4000 B"
# The daemon keeps one fd per segment it has written or read (and the
# active segment's index); this VM's hard RLIMIT_NOFILE is 20,000.
mount_fs scale-build "$TFS" -f -o segment.bytes=4K "$SDATA" "$MNT"
fill_topics "$SCALE_TOPICS" "$SCALE_PARTS" "$SCALE_RECS" 4000
umount_fs
R[scale,parts]=$(find "$SDATA" -mindepth 2 -maxdepth 2 -type d | wc -l)
R[scale,segs]=$(find "$SDATA" -name '*.log' | wc -l)
R[scale,bytes]=$(du -sm "$SDATA" | cut -f1)
note "    ${R[scale,parts]} partitions, ${R[scale,segs]} segment files, ${R[scale,bytes]} MiB"
mts=() rss=() rss2=() nfds=()
for ((r = 0; r <= REPS; r++)); do
	sync
	mkdir -p "$MNT"
	t0=$EPOCHREALTIME
	"$TFS" -f "$SDATA" "$MNT" >"$SCRATCH/scale.log" 2>&1 &
	FSPID=$!
	until mountpoint -q "$MNT"; do
		kill -0 "$FSPID" 2>/dev/null || { cat "$SCRATCH/scale.log" >&2; die "scale mount failed"; }
		(((${EPOCHREALTIME/./} - ${t0/./}) < 60000000)) || die "scale mount took over 60 s"
	done
	t1=$EPOCHREALTIME
	kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$FSPID/status")
	fds=$(find "/proc/$FSPID/fd" -mindepth 1 | wc -l)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	n=$(find "$MNT" -mindepth 2 | wc -l) # every partition looked up once
	kb2=$(awk '/^VmRSS:/ { print $2 }' "/proc/$FSPID/status")
	note "    $( ((r)) && echo "run $r:  " || echo "warm-up:") mount ${secs} s, VmRSS ${kb} kB, $fds fds; after a find of $n partitions: VmRSS ${kb2} kB"
	umount_fs
	((r)) || continue
	mts+=("$secs")
	rss+=("$kb")
	rss2+=("$kb2")
	nfds+=("$fds")
done
R[scale,mount]=$(median "${mts[@]}")
R[scale,rss]=$(awk -v k="$(median "${rss[@]}")" 'BEGIN { printf "%.1f", k / 1024 }')
R[scale,rss_find]=$(awk -v k="$(median "${rss2[@]}")" 'BEGIN { printf "%.1f", k / 1024 }')
R[scale,fds]=$(median "${nfds[@]}")
rm -rf "$SDATA"

lap "mount scale"

# ---- the report --------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }
echo "topicfs benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "machine:  $(uname -sr), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "disk:     $(df -T /var/tmp | awk 'NR == 2 { print $1, $2 }') at /var/tmp"
echo "sysctl:   fs.pipe-max-size=$PIPE_MAX_ORIG and fs.fuse.max_pages_limit=${PAGES_ORIG:-none} before the run, $PIPE_MAX and $(cat $PAGES_PATH 2>/dev/null || echo none) during it (topicfs sets both itself), restored at exit"
echo "memory:   ${BENCH_PAGE_HOLD:-free page reporting as the machine has it (not held; make bench holds it, contrib/bench-all.sh)}"
echo "daemon:   $TFS ($("$TFS" -V 2>&1 | head -1)); topicfs = default options (record mode), stream = -o stream"
echo "runs:     median of $REPS after a warm-up; SMALL_N=$SMALL_N x 100 B (FAST_N=$FAST_N for plain and stream), LARGE_MB=$LARGE_MB x 1 MiB, READ_BS=$READ_BS read buffer (BIG_BS=$BIG_BS in the rows that say so)"
echo "cold:     COLD_MB=$COLD_MB, median of $REPS (no warm-up), each on a fresh mount after sync, drop_caches and ${COLD_SETTLE} s (freed memory goes back to the host)"
echo
W=120
row() { # WHAT METRIC APPLOG-SYSTEM
	local p=${R[plain,$2]:--} a=${R[$3,$2]:--} t=${R[topicfs,$2]:--} s=${R[stream,$2]:--}
	printf '%-42s %9s %9s %9s %9s %8s %8s %8s\n' "$1" "$p" "$a" "$t" "$s" \
		"$(ratio "$t" "$p")" "$(ratio "$t" "$a")" "$(ratio "$s" "$p")"
}
printf '%-42s %9s %9s %9s %9s %8s %8s %8s\n' what plain applog topicfs stream tfs/pl tfs/app str/pl
printf '%s\n' "$(printf '%.0s-' $(seq $W))"
row "100 B appends/s (applog write-through)" small applog-default
row "100 B appends/s (applog direct_io)" small applog-direct_io
row "100 B appends/s, fsync before close (N/4)" small_fsync none
row "1 MiB appends MB/s (applog write-through)" large applog-default
row "1 MiB appends MB/s (applog direct_io)" large applog-direct_io
row "seq. read MB/s (applog write-through)" read applog-default
row "seq. read MB/s (applog keep_cache)" read applog-keep_cache
row "seq. read MB/s (applog direct_io)" read applog-direct_io
row "seq. read MB/s, BIG_BS (applog keep_cache)" read4 applog-keep_cache
row "seq. read MB/s, BIG_BS (applog direct_io)" read4 applog-direct_io
row "cold read MB/s (applog write-through)" cold applog-default
row "cold read MB/s (applog keep_cache)" cold applog-keep_cache
row "cold read MB/s (applog direct_io)" cold applog-direct_io
R[plain,small_cpu]=- R[plain,large_cpu]=- R[plain,read_cpu]=- R[plain,cold_cpu]=-
row "daemon CPU us / 100 B append (wt)" small_cpu applog-default
row "daemon CPU us / 100 B append (dio)" small_cpu applog-direct_io
row "daemon CPU s / GiB, 1 MiB appends (wt)" large_cpu applog-default
row "daemon CPU s / GiB, 1 MiB appends (dio)" large_cpu applog-direct_io
row "daemon CPU s / GiB, seq. read (wt)" read_cpu applog-default
row "daemon CPU s / GiB, seq. read (dio)" read_cpu applog-direct_io
row "daemon CPU s / GiB, cold read (dio)" cold_cpu applog-direct_io
echo
# the scaling table: plain, topicfs (record), stream, and the target, which
# applies to the topicfs column
srow() { # WHAT PLAIN TOPICFS STREAM TARGET
	printf '%-52s %10s %10s %10s   %s\n' "$1" "${2:--}" "${3:--}" "${4:--}" "${5:-}"
}
srow what plain topicfs stream "target (topicfs)"
printf '%s\n' "$(printf '%.0s-' $(seq $W))"
for s in plain topicfs stream; do
	R[$s,prod4_ratio]=$(ratio "${R[$s,prod4]:--}" "${R[$s,small]:--}")
	R[$s,fan_ratio]=$(ratio "${R[$s,fan]:--}" "${R[$s,read]:--}")
done
srow "100 B appends/s, 1 producer" "${R[plain,small]}" "${R[topicfs,small]}" "${R[stream,small]}"
srow "100 B appends/s, 4 producers on 4 partitions" "${R[plain,prod4]}" "${R[topicfs,prod4]}" "${R[stream,prod4]}"
srow "  4 producers / 1 producer" "${R[plain,prod4_ratio]}" "${R[topicfs,prod4_ratio]}" "${R[stream,prod4_ratio]}" ">= 1.6x"
srow "  slowest / fastest producer" "${R[plain,prod4_minmax]}" "${R[topicfs,prod4_minmax]}" "${R[stream,prod4_minmax]}"
srow "  applog direct_io, 4 producers on its file / 1" - "$(ratio "${R[applog-direct_io,prod4]:--}" "${R[applog-direct_io,small]:--}")" - "(the FUSE stack alone)"
srow "seq. read MB/s, 1 reader" "${R[plain,read]}" "${R[topicfs,read]}" "${R[stream,read]}"
srow "seq. read MB/s, $FANOUT readers of one file (sum)" "${R[plain,fan]}" "${R[topicfs,fan]}" "${R[stream,fan]}"
srow "  $FANOUT readers / 1 reader" "${R[plain,fan_ratio]}" "${R[topicfs,fan_ratio]}" "${R[stream,fan_ratio]}" ">= 1.6x"
srow "  slowest / fastest reader" "${R[plain,fan_minmax]}" "${R[topicfs,fan_minmax]}" "${R[stream,fan_minmax]}" ">= 0.5"
srow "mount s: ${R[scale,parts]} partitions, ${R[scale,segs]} segments" - "${R[scale,mount]}" - "< 1 s"
srow "daemon VmRSS MiB after that mount" - "${R[scale,rss]}" - "<= 64 MiB"
srow "  and after a find of every partition" - "${R[scale,rss_find]}" -
srow "daemon open fds after that mount" - "${R[scale,fds]}" -
echo
floor() { # WHAT VALUE OK [LABEL]
	printf '%-7s %-56s %s\n' "${4:-floor}:" "$1" "$(awk -v ok="$3" 'BEGIN { print (ok ? "met" : "NOT MET") }') ($2)"
}
ge() { awk -v a="${1%x}" -v b="$2" 'BEGIN { print (a != "-" && a != "" && a + 0 >= b) }'; }
t=${R[topicfs,small]:-0}
floor ">= 30,000 100 B appends/s" "$t/s" "$(ge "$t" 30000)"
t=$(ratio "${R[topicfs,large]:-0}" "${R[plain,large]:-1}")
floor "1 MiB appends >= 0.5x plain" "$t" "$(ge "$t" 0.5)"
t=$(ratio "${R[topicfs,read]:-0}" "${R[plain,read]:-1}")
floor "sequential reads >= 0.5x plain (READ_BS)" "$t" "$(ge "$t" 0.5)"
t=$(ratio "${R[topicfs,read4]:-0}" "${R[plain,read4]:-1}")
floor "sequential reads >= 0.5x plain (BIG_BS)" "$t" "$(ge "$t" 0.5)"
t=${R[topicfs,prod4_ratio]}
floor "4 producers >= 1.6x 1 producer" "$t" "$(ge "$t" 1.6)" target
t=${R[topicfs,fan_ratio]}
floor "$FANOUT readers >= 1.6x 1 reader" "$t" "$(ge "$t" 1.6)" target
t=${R[topicfs,fan_minmax]:--}
floor "slowest reader >= 0.5x fastest" "$t" "$(ge "$t" 0.5)" target
t=${R[scale,mount]:--}
floor "mount of ${R[scale,parts]} partitions < 1 s" "$t s" "$(awk -v t="$t" 'BEGIN { print (t != "-" && t + 0 < 1) }')" target
t=${R[scale,rss]:--}
floor "daemon VmRSS after it <= 64 MiB" "$t MiB" "$(awk -v t="$t" 'BEGIN { print (t != "-" && t + 0 <= 64) }')" target
if ((COLD_MB > 0)); then
	best=- bestmode=
	for mode in default keep_cache direct_io; do
		v=${R[applog-$mode,cold]:--}
		[[ $v == - ]] && continue
		if [[ $best == - ]] || (($(ge "$v" "$best"))); then best=$v bestmode=$mode; fi
	done
	t=$(ratio "${R[topicfs,cold]:--}" "$best")
	floor "cold read >= 1.0x best applog mode" "$t of applog ${bestmode:--}" "$(ge "$t" 1.0)" target
fi
t=$(ratio "${R[topicfs,read]:--}" "${R[applog-direct_io,read]:--}")
floor "re-read >= 1.0x applog direct_io (READ_BS)" "$t" "$(ge "$t" 1.0)" target
t=$(ratio "${R[topicfs,read4]:--}" "${R[applog-direct_io,read4]:--}")
floor "re-read >= 1.0x applog direct_io (BIG_BS)" "$t" "$(ge "$t" 1.0)" target
t=$(ratio "${R[stream,read]:--}" "${R[applog-keep_cache,read]:--}")
floor "stream re-read >= 1.0x applog keep_cache" "$t" "$(ge "$t" 1.0)" target
echo "total wall time: $((SECONDS - T_START)) s"
