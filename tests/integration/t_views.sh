#!/usr/bin/env bash
# t_views: windows onto partitions with standard tools.  .follow/P waits at
# the end (cat, head -c, while read, dd, poll() and O_NONBLOCK from a C
# tool, Ctrl-C, partition delete and daemon stop end waiting readers);
# .last/N/P and .since/WHEN/P start where they say (and follow inside);
# bad WHEN or N is ENOENT with a log line; views are read-only, not
# listed in the topic, and have user.topicfs.base; .stats and .metrics
# show every partition.
. "$(dirname "$0")/lib.sh"

mount_tfs
mkdir "$MNT/t"
touch "$MNT/t/0" "$MNT/t/1"
F=$MNT/t/.follow/0
printf 'a\nb\n' >>"$MNT/t/0"
assert_eq ".config 0 1" "$(ls -A "$MNT/t" | tr '\n' ' ' | sed 's/ $//')" "views are not listed in the topic"
assert_eq "0 1" "$(ls "$MNT/t/.follow" | tr '\n' ' ' | sed 's/ $//')" ".follow lists the partitions"
assert_eq 0 "$(getfattr --absolute-names --only-values -n user.topicfs.base "$F")" "base of .follow"

# cat waits at the end instead of returning: timeout ends it
rc=0
out=$(timeout 1 cat "$F") || rc=$?
assert_eq 124 "$rc" "cat of .follow ends only by timeout"
assert_eq "$(printf 'a\nb')" "$out" "what cat printed"

# a waiting cat sees the next append; head -c returns when its bytes came
cat "$F" >"$T/follow.out" &
catpid=$!
head -c 8 "$F" >"$T/head.out" &
headpid=$!
sleep 0.3
printf 'c\nd\n' >>"$MNT/t/0"
for ((i = 0; i < 50; i++)); do [[ $(wc -c <"$T/follow.out") == 8 ]] && break; sleep 0.1; done
assert_eq "$(printf 'a\nb\nc\nd')" "$(cat "$T/follow.out")" "the follower got the append"
wait "$headpid" || fail "head -c 8 failed"
assert_eq "$(printf 'a\nb\nc\nd')" "$(cat "$T/head.out")" "head -c 8 returned with the append"
kill "$catpid"; wait "$catpid" 2>/dev/null || true

# while read: a shell consumer loop, ended by a record it waits for
(while read -r l; do echo "$l"; [[ $l == stop ]] && break; done <"$F") >"$T/loop.out" &
looppid=$!
sleep 0.3
echo stop >>"$MNT/t/0"
wait "$looppid" || fail "the while-read loop failed"
assert_eq "a b c d stop" "$(tr '\n' ' ' <"$T/loop.out" | sed 's/ $//')" "while read"

# followers of many partitions: an append wakes its own partition's
# followers with its own bytes, and no one else's (waiters are kept in
# buckets by partition; 40 partitions share them)
mkdir "$MNT/fan"
fpids=()
for ((i = 0; i < 40; i++)); do touch "$MNT/fan/$i"; done
for ((i = 0; i < 40; i++)); do
	head -c 5 "$MNT/fan/.follow/$i" >"$T/fan.$i" &
	fpids+=($!)
done
sleep 0.5
for ((i = 0; i < 40; i += 2)); do printf 'p%04d' $i >>"$MNT/fan/$i"; done
for ((i = 0; i < 40; i += 2)); do
	wait "${fpids[i]}" || fail "follower of fan/$i failed"
	assert_eq "$(printf 'p%04d' $i)" "$(cat "$T/fan.$i")" "follower of fan/$i"
done
for ((i = 1; i < 40; i += 2)); do
	kill -0 "${fpids[i]}" 2>/dev/null || fail "follower of fan/$i ended without an append"
	[[ -s $T/fan.$i ]] && fail "follower of fan/$i got bytes of another partition"
done
for ((i = 1; i < 40; i += 2)); do printf 'q%04d' $i >>"$MNT/fan/$i"; done
for ((i = 1; i < 40; i += 2)); do
	wait "${fpids[i]}" || fail "follower of fan/$i failed"
	assert_eq "$(printf 'q%04d' $i)" "$(cat "$T/fan.$i")" "follower of fan/$i"
done

# poll() and O_NONBLOCK (a C tool): EAGAIN at the end, then poll wakes
"$TOOLS/pollwait" "$F" 5000 >"$T/poll.out" &
pollpid=$!
sleep 0.3
echo polled >>"$MNT/t/0"
wait "$pollpid" || fail "pollwait: $(cat "$T/poll.out")"
assert_eq "had 13 ready got 7: polled" "$(tr '\n' ' ' <"$T/poll.out" | sed 's/ $//')" "poll() wakes on an append"
expect_errno "Resource temporarily unavailable" dd if="$F" of=/dev/null iflag=nonblock bs=1M status=none
# after an lseek() to the end without reading, poll() waits for an append
# (it once said ready from where the last read ended: a busy loop)
python3 -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
os.lseek(fd, 0, os.SEEK_END)
p = select.poll(); p.register(fd, select.POLLIN)
again = 0
while p.poll(300):
    try:
        os.read(fd, 4096)
        sys.exit("read data with no append")
    except BlockingIOError:
        again += 1
        if again > 3:
            sys.exit("poll() ready, read() EAGAIN, %d times" % again)
' "$F" || fail "poll after lseek to the end"

# Ctrl-C ends waiting readers at once (many of them); background jobs of
# a script ignore SIGINT, so give it back to them
gone() { # PID...: all ended within 5 s
	local i p
	for ((i = 0; i < 50; i++)); do
		for p in "$@"; do kill -0 "$p" 2>/dev/null && break; done
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
pids=()
for i in $(seq 1 20); do env --default-signal=INT cat "$MNT/t/.follow/1" >/dev/null & pids+=($!); done
sleep 0.5
t0=$(date +%s%N)
kill -INT "${pids[@]}"
gone "${pids[@]}" || fail "interrupted followers still waiting after 5 s"
ms=$((($(date +%s%N) - t0) / 1000000))
log "20 interrupted followers ended in $ms ms"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done

# deleting the partition ends its followers with EOF
cat "$MNT/t/.follow/1" >"$T/del.out" &
delpid=$!
sleep 0.3
rm "$MNT/t/1"
gone "$delpid" || fail "a follower of a deleted partition still waits"
wait "$delpid" || fail "a follower of a deleted partition failed"

# a follower that holds a deleted partition open reads to its end, then
# EOF, and every read after that is EOF too (also O_NONBLOCK and poll)
touch "$MNT/t/1"
echo gone1 >>"$MNT/t/1"
python3 -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
assert os.read(fd, 100) == b"gone1\n"
open(sys.argv[2], "w").close()  # ready: delete it now
while os.path.exists(sys.argv[2]):
    pass
out = [os.read(fd, 100) for _ in range(3)]
os.set_blocking(fd, False)
out.append(os.read(fd, 100))
p = select.poll(); p.register(fd, select.POLLIN)
print(out, p.poll(1000))
' "$MNT/t/.follow/1" "$T/ready" >"$T/gone.out" &
gonepid=$!
for ((i = 0; i < 50; i++)); do [[ -e $T/ready ]] && break; sleep 0.1; done
rm "$MNT/t/1" "$T/ready"
gone "$gonepid" || fail "reads of a deleted partition's follower wait"
wait "$gonepid" || fail "the follower of a deleted partition: $(cat "$T/gone.out")"
grep -q "^\[b'', b'', b'', b''\] \[(3, 17)\]$" "$T/gone.out" || fail "deleted follower: $(cat "$T/gone.out")"

# O_NONBLOCK cleared with fcntl: reads wait again
rc=0
timeout 1 python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
os.read(fd, 1 << 20)
try:
    os.read(fd, 100)
    sys.exit("no EAGAIN")
except BlockingIOError:
    pass
os.set_blocking(fd, True)
os.read(fd, 100)  # waits
' "$F" || rc=$?
assert_eq 124 "$rc" "a read after O_NONBLOCK is cleared waits"

# SEEK_DATA and SEEK_HOLE on view files (file offsets), and the mayor's
python3 -c '
import os, sys
for path, want in ((sys.argv[1], (0, 20)), (sys.argv[2], (0, 7))):
    fd = os.open(path, os.O_RDONLY)
    got = (os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))
    assert got == want, (path, got)
    try:
        os.lseek(fd, want[1], os.SEEK_DATA)
        sys.exit("no ENXIO")
    except OSError as e:
        assert e.errno == 6, e
fd = os.open(sys.argv[3], os.O_RDONLY)
assert os.lseek(fd, 0, os.SEEK_DATA) == 0
' "$F" "$MNT/t/.last/1/0" "$MNT/.stats" || fail "lseek on view files"
assert_eq "a" "$(head -c 1 "$F")" "the daemon still answers after lseek on views"

# stat of a window that starts at the end, while appends run: never EIO
mkdir "$MNT/st"
touch "$MNT/st/0"
( for i in $(seq 1 300); do echo "s$i" >>"$MNT/st/0"; done ) &
apid=$!
for i in $(seq 1 300); do
	stat -c %s "$MNT/st/.last/0/0" >/dev/null || fail "stat of .last/0 failed while appending"
done
wait "$apid"

# read-only
expect_errno "Permission denied" bash -c 'echo x >> "$1"' _ "$F"

# .last/N: N records before the end
assert_eq "polled" "$(cat "$MNT/t/.last/1/0")" ".last/1"
assert_eq "$(printf 'stop\npolled')" "$(cat "$MNT/t/.last/2/0")" ".last/2"
assert_eq "" "$(cat "$MNT/t/.last/0/0")" ".last/0"
assert_eq "$(cat "$MNT/t/0")" "$(cat "$MNT/t/.last/1000/0")" ".last/1000"
assert_eq 13 "$(getfattr --absolute-names --only-values -n user.topicfs.base "$MNT/t/.last/1/0")" "base of .last/1"
assert_eq 7 "$(stat -c %s "$MNT/t/.last/1/0")" "size of .last/1"
expect_errno "No such file or directory" cat "$MNT/t/.last/x/0"
expect_errno "No such file or directory" cat "$MNT/t/.last/-1/0"
grep -q "t/.last/x: not a record count" "$TFS_LOG" || fail "no log line for a bad N"
# .last/N/.follow/P: from there, then waiting
rc=0
out=$(timeout 1 cat "$MNT/t/.last/1/.follow/0") || rc=$?
assert_eq "124 polled" "$rc $out" ".last/1/.follow"

# .since/WHEN: records appended at or after WHEN
sleep 1.1
now_ms=$(($(date +%s%N) / 1000000))
sleep 0.1
echo late >>"$MNT/t/0"
assert_eq "late" "$(cat "$MNT/t/.since/$now_ms/0")" ".since/EPOCH_MS"
assert_eq "$(cat "$MNT/t/0")" "$(cat "$MNT/t/.since/-1h/0")" ".since/-1h"
iso=$(date -u -d "@$((now_ms / 1000))" +%Y-%m-%dT%H:%M:%SZ)
assert_eq "late" "$(cat "$MNT/t/.since/$iso/0" | tail -n 1)" ".since/ISO"
assert_eq "" "$(cat "$MNT/t/.since/$((now_ms + 3600000))/0")" ".since/the future"
expect_errno "No such file or directory" cat "$MNT/t/.since/yesterday/0"
grep -q "t/.since/yesterday: not a time" "$TFS_LOG" || fail "no log line for a bad WHEN"
for bad in "- 10m" "-+10m" " 5" "+5" "2026-02-31T10:00Z" "2026-1-5T1:2Z" "2026-11-25T10:00:00.Z"; do
	expect_errno "No such file or directory" cat "$MNT/t/.since/$bad/0"
done
rc=0
out=$(timeout 1 cat "$MNT/t/.since/-1s/.follow/0") || rc=$?
assert_eq 124 "$rc" ".since/WHEN/.follow waits"
# an age is counted from each open, not from the first lookup (the kernel
# keeps names an hour)
echo fresh >>"$MNT/t/0"
assert_eq fresh "$(cat "$MNT/t/.since/-1s/0")" ".since/-1s right after an append"
sleep 1.5
assert_eq "" "$(cat "$MNT/t/.since/-1s/0")" ".since/-1s 1.5 s later"

# the daemon's names are not removed, and view files not truncated
expect_errno "Operation not permitted" rm "$MNT/.stats"
expect_errno "Operation not permitted" rm "$MNT/t/.produce"
expect_errno "Operation not permitted" rmdir "$MNT/t/.follow"
expect_errno "Operation not permitted" rmdir "$MNT/t/.groups"
expect_errno "Permission denied" truncate -s 0 "$MNT/t/.follow/0"
expect_errno "Operation not permitted" python3 -c 'import os, sys; os.truncate(sys.argv[1], 0)' "$MNT/t/.follow/0"
expect_errno "Is a directory" rm "$MNT/t"

# the mayor's files (bash printf writes each line: 7 records, and fresh)
grep -q "^t  *0  *0  *31  *8 " "$MNT/.stats" || fail ".stats: $(cat "$MNT/.stats")"
grep -q '^topicfs_partition_end_offset{topic="t",partition="0"} 31$' "$MNT/.metrics" ||
	fail ".metrics: $(cat "$MNT/.metrics")"
assert_eq "$(cat "$MNT/.stats" | wc -c)" "$(stat -c %s "$MNT/.stats")" ".stats size"
# read in pieces, .stats is the text as it was at open: it never tears
python3 -c '
import os, sys
fd = os.open(sys.argv[1] + "/.stats", os.O_RDONLY)
head = os.read(fd, 10)
os.mkdir(sys.argv[1] + "/late")
open(sys.argv[1] + "/late/0", "w").close()
rest = b""
while True:
    b = os.read(fd, 7)
    if not b:
        break
    rest += b
text = head + rest
assert b"late" not in text, text
assert text.endswith(b"\n"), text
' "$MNT" || fail ".stats read in pieces"
grep -q "^late " "$MNT/.stats" || fail "a new open of .stats shows the new topic"

# stopping the daemon ends waiting followers with EOF; view files held
# open past its 2 s of grace (never read, never closed) are freed at its
# exit, no leak (the sanitizer build's daemon exits 0 with no report)
cat "$F" >/dev/null &
lastpid=$!
sleep 30 <"$F" &
holdpids=($!)
sleep 30 <"$MNT/.stats" &
holdpids+=($!)
sleep 30 <"$MNT/t/.last/1/0" &
holdpids+=($!)
sleep 0.3
kill -TERM "$TFS_PID"
gone "$lastpid" || fail "a follower still waits after the daemon stopped"
wait "$lastpid" || fail "a follower failed when the daemon stopped"
rc=0
wait "$TFS_PID" || rc=$?
TFS_PID=
kill "${holdpids[@]}" 2>/dev/null || true
wait "${holdpids[@]}" 2>/dev/null || true
fusermount3 -u -z "$MNT" 2>/dev/null || true
_check_san "$TFS_LOG" || fail "sanitizer report after a stop with view files open"
assert_eq 0 "$rc" "daemon status after a stop with view files open"
