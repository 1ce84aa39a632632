#!/usr/bin/env bash
# t_groups: consumer groups and keyed produce with file tools.
# mkdir/rmdir .groups/G; cat .groups/G/P prints what G has not consumed
# and commits at close(); ls -l shows lag; getfattr/setfattr
# user.topicfs.offset read and set the committed offset; offsets survive
# remount and kill -9; .groups/G/.follow/P waits; a group that retention
# overtook fails with ERANGE until its offset is set again.  .produce routes keyed
# records as Kafka's default partitioner would, keyless ones to one
# partition per open file.
. "$(dirname "$0")/lib.sh"

mount_tfs
mkdir "$MNT/t"
touch "$MNT/t/0" "$MNT/t/1" "$MNT/t/2"
G=$MNT/t/.groups
printf 'r1\n' >>"$MNT/t/0"
printf 'r2\n' >>"$MNT/t/0"
mkdir "$G/billing"
assert_eq billing "$(ls "$G")" "ls .groups"
expect_errno "File exists" mkdir "$G/billing"
expect_errno "Invalid argument" mkdir "$G/.bad"
assert_eq "$(printf 'r1\nr2')" "$(cat "$G/billing/0")" "first read: everything"
assert_eq "" "$(cat "$G/billing/0")" "second read: nothing new"
printf 'r3\n' >>"$MNT/t/0"
assert_eq 3 "$(stat -c %s "$G/billing/0")" "lag in bytes"
assert_eq "r3" "$(cat "$G/billing/0")" "only what arrived since"
assert_eq 9 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$G/billing/0")" "committed offset"
getfattr -d --absolute-names "$G/billing/0" | grep -qx 'user.topicfs.offset="9"' ||
	fail "getfattr -d does not list the committed offset: $(getfattr -d --absolute-names "$G/billing/0")"
# a reader that stops early commits only what it read
head -c 3 "$G/billing/0" >/dev/null
setfattr -n user.topicfs.offset -v 3 "$G/billing/0"
assert_eq "$(printf 'r2\nr3')" "$(cat "$G/billing/0")" "after a rewind to 3"
expect_errno "Invalid argument" setfattr -n user.topicfs.offset -v 100 "$G/billing/0"
expect_errno "Invalid argument" setfattr -n user.topicfs.offset -v x "$G/billing/0"
# a consumer taking one record at a time: each close() commits the read
# that just returned (the daemon moves the offset before it replies, so
# the FLUSH of a reader that exits at once cannot miss it)
mkdir "$MNT/one"
touch "$MNT/one/0"
for ((i = 10; i < 50; i++)); do printf 'r%d\n' $i >>"$MNT/one/0"; done
mkdir "$MNT/one/.groups/g"
for ((i = 10; i < 50; i++)); do
	assert_eq "r$i" "$(head -c 4 "$MNT/one/.groups/g/0")" "record $i, one at a time"
	assert_eq $(((i - 9) * 4)) "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$MNT/one/.groups/g/0")" "offset after record $i"
done
# a group per consumer: another group starts from the start
mkdir "$G/audit"
assert_eq "$(printf 'r1\nr2\nr3')" "$(cat "$G/audit/0")" "a new group reads from the start"
# the waiting form
rc=0
out=$(timeout 1 cat "$G/billing/.follow/0") || rc=$?
assert_eq 124 "$rc" ".groups/G/.follow waits"
# offsets survive kill -9 and remount
setfattr -n user.topicfs.offset -v 6 "$G/billing/0"
kill9_tfs
mount_tfs
assert_eq "billing audit" "$(ls "$G" | sort -r | tr '\n' ' ' | sed 's/ $//')" "groups after kill -9"
assert_eq "r3" "$(cat "$G/billing/0")" "offset after kill -9"
grep -q "^group billing of t, partition 0: offset 9, lag 0 bytes$" "$MNT/.stats" || fail ".stats: $(cat "$MNT/.stats")"
grep -q '^topicfs_group_lag_bytes{topic="t",group="audit",partition="0"} 0$' "$MNT/.metrics" || fail ".metrics lag"
# Prometheus's text format: each metric family one group, its HELP and
# TYPE lines first (here two topics with partitions and groups)
grep -q '^topicfs_group_lag_bytes{topic="one",group="g",partition="0"} 0$' "$MNT/.metrics" || fail ".metrics lag of one"
awk '
	/^# (HELP|TYPE) / { f = $3; meta = 1 }
	!/^#/ { f = $1; sub(/[{ ].*/, "", f); meta = 0 }
	f != cur {
		if (f in seen) { print "family " f " comes back at line " NR; bad = 1 }
		if (!meta) { print "family " f " has samples before its HELP/TYPE"; bad = 1 }
		seen[f] = 1; cur = f
	}
	END { exit bad }' "$MNT/.metrics" || fail ".metrics: families interleave: $(cat "$MNT/.metrics")"
n=$(grep -c '^topicfs_partition_end_offset{' "$MNT/.metrics")
((n >= 2)) || fail ".metrics: $n end-offset samples, want one per partition"
# two readers of one group file at once: each starts at the offset it
# found at open, each close() commits what it read; the last close wins
setfattr -n user.topicfs.offset -v 0 "$G/audit/0"
exec 3<"$G/audit/0" 4<"$G/audit/0"
cat <&3 >/dev/null
dd bs=3 count=1 status=none <&4 >/dev/null
exec 3<&-
assert_eq 9 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$G/audit/0")" "after the first close"
exec 4<&-
assert_eq 3 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$G/audit/0")" "the last close wins"
rmdir "$G/audit"
assert_eq billing "$(ls "$G")" "rmdir a group"
expect_errno "No such file or directory" cat "$G/audit/0"

# a consumer that crashes (SIGKILL, or a signal that dumps core) commits
# nothing: it reads the same records again; one stopped with SIGINT or
# SIGTERM commits what it read, as one that exits.
# consumer FILE BYTES FORK SIG: read BYTES of FILE; with FORK 1, a child
# that inherited the descriptor exits first; then die of signal SIG (0:
# exit normally)
consumer() {
	python3 -c '
import os, signal, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, int(sys.argv[2]))
if sys.argv[3] == "1":
    if os.fork() == 0:
        os._exit(0)
    os.wait()
sig = int(sys.argv[4])
if sig and sig != signal.SIGKILL:
    signal.signal(sig, signal.SIG_DFL)  # Python catches SIGSEGV
if sig:
    os.kill(os.getpid(), sig)
' "$@"
}
setfattr -n user.topicfs.offset -v 0 "$G/billing/0"
consumer "$G/billing/0" 100 0 9 || true
assert_eq 0 "$(xattr "$G/billing/0" offset)" "kill -9 commits nothing"
consumer "$G/billing/0" 100 0 11 2>/dev/null || true
assert_eq 0 "$(xattr "$G/billing/0" offset)" "a crash commits nothing"
# only the opener's close commits: a child that inherited the descriptor
# (a fork, every command of a shell loop reading the file) does not, so a
# consumer killed after a child exited still commits nothing ...
consumer "$G/billing/0" 3 1 9 || true
assert_eq 0 "$(xattr "$G/billing/0" offset)" "a child's close, then kill -9 of the opener"
# ... and one that ends normally commits at its own close
consumer "$G/billing/0" 3 1 0
assert_eq 3 "$(xattr "$G/billing/0" offset)" "the opener's close after a child's"
setfattr -n user.topicfs.offset -v 0 "$G/billing/0"
grep -q "t/.groups/billing/0: not committed: the consumer crashed" "$TFS_LOG" || fail "no log line for the crash"
python3 -c '
import os, signal, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 3)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
os.kill(os.getpid(), signal.SIGTERM)
' "$G/billing/0" || true
assert_eq 3 "$(xattr "$G/billing/0" offset)" "SIGTERM commits what was read"
setfattr -n user.topicfs.offset -v 9 "$G/billing/0"

# keyed produce: murmur2 as Kafka (Kafka's own vectors: "21" -> 0, for
# 3 partitions; "a-little-bit-long-string" -985981536 -> 1161502112 % 3 = 2)
echo 'key.separator=:' >>"$MNT/t/.config"
echo '21:x' >>"$MNT/t/.produce"
echo 'a-little-bit-long-string:y' >>"$MNT/t/.produce"
assert_eq "21:x" "$(tail -n 1 "$MNT/t/0")" "key 21 -> partition 0"
assert_eq "a-little-bit-long-string:y" "$(tail -n 1 "$MNT/t/2")" "the long key -> partition 2"
# keyless: one partition per open file (sticky)
printf 'k1\nk2\nk3\n' >"$T/nokeys"
dd if="$T/nokeys" of="$MNT/t/.produce" bs=3 status=none
n=0
for p in 0 1 2; do grep -q '^k3$' "$MNT/t/$p" && n=$((n + $(grep -c '^k[123]$' "$MNT/t/$p"))); done
assert_eq 3 "$n" "keyless records of one open file land on one partition"
expect_errno "Permission denied" cat "$MNT/t/.produce"

# a group that retention overtook fails with ERANGE until it is reset
mkdir "$MNT/r"
printf 'segment.bytes=4K\nretention.bytes=4K\n' | dd of="$MNT/r/.config" bs=1k status=none
touch "$MNT/r/0"
mkdir "$MNT/r/.groups/slow"
printf "%02999d\n" 0 >>"$MNT/r/0"
# a read that stops inside a record commits up to that record's start:
# head -c 1 commits nothing; head -c of the whole record commits its end
head -c 1 "$MNT/r/.groups/slow/0" >/dev/null
assert_eq 0 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$MNT/r/.groups/slow/0")" "head -c 1 of a 3000-byte record"
printf "%02999d\n" 1 >>"$MNT/r/0"
head -c 4000 "$MNT/r/.groups/slow/0" >/dev/null
assert_eq 3000 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$MNT/r/.groups/slow/0")" "head -c 4000 of two records commits the first"
# setfattr takes a record's start, not an offset inside a record
expect_errno "Invalid argument" setfattr -n user.topicfs.offset -v 1 "$MNT/r/.groups/slow/0"
for i in 2 3 4; do printf "%02999d\n" "$i" >>"$MNT/r/0"; done
for ((i = 0; i < 200; i++)); do (($(xattr "$MNT/r/0" start) > 3000)) && break; sleep 0.1; done
start=$(xattr "$MNT/r/0" start)
((start > 3000)) || fail "retention did not run (start $start)"
expect_errno "Numerical result out of range" cat "$MNT/r/.groups/slow/0"
assert_eq 3000 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$MNT/r/.groups/slow/0")" "the offset stays"
setfattr -n user.topicfs.offset -v "$start" "$MNT/r/.groups/slow/0"
assert_eq $((15000 - start)) "$(cat "$MNT/r/.groups/slow/0" | wc -c)" "reads again after the reset"

# a reader still open on a group that is deleted and made again by its
# name commits nothing into the new one, and its close succeeds
mkdir "$MNT/gm" "$MNT/gm/.groups/g"
printf '%s\n' one two three >>"$MNT/gm/0"
python3 -c '
import os, sys
g = sys.argv[1]
fd = os.open(g + "/0", os.O_RDONLY)
assert os.read(fd, 4) == b"one\n"
os.rmdir(g)
os.mkdir(g)
os.close(fd)
' "$MNT/gm/.groups/g" || fail "a reader of a group made again"
assert_eq "one" "$(head -n 1 "$MNT/gm/.groups/g/0")" "the new group starts at the start"
grep -q "gm/.groups/g/0: not committed: the group or the partition is gone" "$TFS_LOG" ||
	fail "no log line for the commit into a group made again"
umount_tfs
