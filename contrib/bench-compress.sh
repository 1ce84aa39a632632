#!/usr/bin/env bash
# contrib/bench-compress.sh - compression=zstd on real text: the ratio and
# the sequential read MB/s of compressed segments next to raw ones, in one
# run (part of `make bench`).
#
#   BUILD=build contrib/bench-compress.sh
#
# Two texts of SIZE_MB each, made on this machine: JSON lines (orders, from
# awk) and a file listing of /usr (find -printf: dates, sizes, owners,
# paths, a real log-like text).  Each is appended with 1 MiB write()s to
# topic raw (compression=none) and topic zst (compression=zstd, level 3) of
# one mount (segment.bytes=64M); the cleaner compresses zst's sealed
# segments.  Then each partition is read with dd bs=1M: once right after
# dropping the page cache (cold), then REPS times (warm, median).  Ratio:
# raw bytes of the compressed segments / their .zst bytes.
set -uo pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
TFS=$BUILD/topicfs
SIZE_MB=${SIZE_MB:-128}
REPS=${REPS:-3}
SCRATCH=$(mktemp -d /var/tmp/topicfs-zbench.XXXXXX)
MNT=$SCRATCH/mnt
DATA=$SCRATCH/data
FSPID=

note() { echo "$*" >&2; }
cleanup() {
	if [[ -n $FSPID ]]; then
		fusermount3 -u -z "$MNT" 2>/dev/null
		wait "$FSPID" 2>/dev/null
	fi
	rm -rf --one-file-system "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT

# make_text NAME: $SCRATCH/NAME.txt of SIZE_MB MiB
make_text() {
	local out=$SCRATCH/$1.txt bytes=$((SIZE_MB << 20))
	case $1 in
	json)
		awk -v n=$((bytes / 120 + 1000)) 'BEGIN { srand(7); for (i = 1; i <= n; i++)
			printf "{\"id\":%d,\"ts\":\"2026-11-25T%02d:%02d:%02d.%03dZ\",\"customer\":\"c%05d\",\"sku\":\"SKU-%04d\",\"qty\":%d,\"price\":%.2f}\n",
				i, i / 3600000 % 24, i / 60000 % 60, i / 1000 % 60, i % 1000,
				int(rand() * 50000), int(rand() * 5000), 1 + int(rand() * 9), rand() * 200 }' |
			head -c "$bytes" >"$out"
		;;
	listing)
		while (($(stat -c %s "$out" 2>/dev/null || echo 0) < bytes)); do
			find /usr -xdev -printf '%TY-%Tm-%Td %TH:%TM:%TS %10s %u %m %p\n' 2>/dev/null >>"$out"
		done
		truncate -s "$bytes" "$out"
		;;
	esac
}

# rate PATH: MB/s of one dd bs=1M read of PATH
rate() {
	dd if="$1" of=/dev/null bs=1M 2>&1 | awk '/copied/ { print $(NF - 1) * ($NF == "GB/s" ? 1000 : 1) }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

mkdir -p "$MNT" "$DATA"
"$TFS" -f -o segment.bytes=64M "$DATA" "$MNT" >"$SCRATCH/daemon.log" 2>&1 &
FSPID=$!
for ((i = 0; i < 100; i++)); do mountpoint -q "$MNT" && break; sleep 0.1; done
mountpoint -q "$MNT" || { cat "$SCRATCH/daemon.log" >&2; exit 1; }

printf '%-8s %8s %10s %10s %7s %10s %10s %7s\n' text ratio cold_raw cold_zst cold_x warm_raw warm_zst warm_x
for text in json listing; do
	note "--- $text: making $SIZE_MB MiB"
	make_text $text
	for t in raw zst; do
		mkdir "$MNT/$text-$t"
		[[ $t == zst ]] && echo compression=zstd >>"$MNT/$text-$t/.config"
		dd if="$SCRATCH/$text.txt" of="$MNT/$text-$t/0" bs=1M oflag=append conv=notrunc status=none
	done
	segs=$(getfattr --absolute-names --only-values -n user.topicfs.segments "$MNT/$text-zst/0")
	for ((i = 0; i < 1200; i++)); do
		(($(ls "$DATA/$text-zst/0" | grep -c '\.zst$') == segs - 1)) && break
		sleep 0.1
	done
	zbytes=$(cat "$DATA/$text-zst/0/"*.zst | wc -c)
	rbytes=$(((segs - 1) * (64 << 20)))
	ratio=$(awk -v r="$rbytes" -v z="$zbytes" 'BEGIN { printf "%.2f", z ? r / z : 0 }')
	cmp "$SCRATCH/$text.txt" "$MNT/$text-zst/0" || note "$text: compressed partition reads back differently!"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	cold_raw=$(rate "$MNT/$text-raw/0")
	echo 3 >/proc/sys/vm/drop_caches
	cold_zst=$(rate "$MNT/$text-zst/0")
	wr=() wz=()
	for ((r = 0; r < REPS; r++)); do
		wr+=("$(rate "$MNT/$text-raw/0")")
		wz+=("$(rate "$MNT/$text-zst/0")")
	done
	warm_raw=$(median "${wr[@]}")
	warm_zst=$(median "${wz[@]}")
	printf '%-8s %8s %10s %10s %7s %10s %10s %7s\n' "$text" "$ratio" "$cold_raw" "$cold_zst" \
		"$(awk -v a="$cold_zst" -v b="$cold_raw" 'BEGIN { printf "%.2f", a / b }')" "$warm_raw" "$warm_zst" \
		"$(awk -v a="$warm_zst" -v b="$warm_raw" 'BEGIN { printf "%.2f", a / b }')"
	rm -f "$SCRATCH/$text.txt"
done
grep -c "compression: " "$SCRATCH/daemon.log" | sed 's/^/segments compressed: /' >&2
