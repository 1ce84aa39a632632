#!/usr/bin/env bash
# t_concurrent: 8 producers append 10,000 lines each with O_APPEND (one
# write() per line) to one partition while 3 readers read it again and
# again (one holding it open past EOF): no reader may see a NUL, a damaged
# or partly visible record, or a producer's lines out of order; at the end
# every line is there exactly once and whole.
. "$(dirname "$0")/lib.sh"

NPROD=8
COUNT=10000
PAD=40
mount_tfs
mkdir "$MNT/c"
touch "$MNT/c/0"
P=$MNT/c/0
STOP=$T/stop

pids=()
for ((i = 0; i < 3; i++)); do
	keep=; ((i == 0)) && keep=-k
	"$TOOLS/linecheck" -p $PAD $keep scan "$P" $NPROD $COUNT "$STOP" >"$T/reader.$i" 2>&1 &
	pids+=($!)
done
prods=()
for ((i = 0; i < NPROD; i++)); do
	"$TOOLS/producer" -p $PAD "$P" $i $COUNT >"$T/producer.$i" 2>&1 &
	prods+=($!)
done
for ((i = 0; i < NPROD; i++)); do
	wait "${prods[i]}" || fail "producer $i failed: $(cat "$T/producer.$i")"
done
touch "$STOP"
for ((i = 0; i < 3; i++)); do
	wait "${pids[i]}" || fail "reader $i: $(cat "$T/reader.$i")"
	cat "$T/reader.$i"
done

"$TOOLS/linecheck" -p $PAD verify "$P" $NPROD $COUNT || fail "partition content"
assert_eq $((NPROD * COUNT)) "$(xattr "$P" records)" "user.topicfs.records"
size=$(fsize "$P")
assert_eq "$size" "$(xattr "$P" end)" "user.topicfs.end"
assert_eq "$size" "$(wc -c <"$P")" "bytes read"
assert_eq $((NPROD * COUNT)) "$(wc -l <"$P")" "lines"
umount_tfs
"$TOOLS/linecheck" -p $PAD verify <(datalog c 0) $NPROD $COUNT || fail "data dir .log files"
mount_tfs
"$TOOLS/linecheck" -p $PAD verify "$P" $NPROD $COUNT || fail "partition content after remount"
assert_eq $((NPROD * COUNT)) "$(xattr "$P" records)" "user.topicfs.records after remount"
