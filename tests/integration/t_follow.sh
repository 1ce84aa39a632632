#!/usr/bin/env bash
# t_follow: what write() appended is visible at once to stat, to getfattr,
# to a reader holding the file open, and to `tail -f`.
. "$(dirname "$0")/lib.sh"

mount_tfs
mkdir "$MNT/f"
P=$MNT/f/0
echo first >>"$P"

# stat and xattrs right after each write() returned
exec 4>>"$P"
for i in 1 2 3 4 5; do
	echo "line $i" >&4
	assert_eq $((6 + 7 * i)) "$(stat -c %s "$P")" "stat size right after append $i"
	assert_eq $((6 + 7 * i)) "$(xattr "$P" end)" "user.topicfs.end right after append $i"
done
exec 4>&-

# a reader holding the file open sees new bytes (shared file offset)
exec 3<"$P"
assert_eq "$(cat "$P")" "$(cat <&3)" "first read through fd 3"
assert_eq "" "$(cat <&3)" "read at the end through fd 3"
echo "after open" >>"$P"
assert_eq "after open" "$(cat <&3)" "read of the new bytes through fd 3"
assert_eq "" "$(cat <&3)" "read at the new end through fd 3"
# the same with a file that another process keeps open for appending
exec 5>>"$P"
echo "via fd 5" >&5
assert_eq "via fd 5" "$(cat <&3)" "read through fd 3 of bytes written through fd 5"
exec 5>&-
exec 3<&-

# tail -f follows
tail -s 0.1 -f "$P" >"$T/tail.out" 2>"$T/tail.err" &
tailpid=$!
for ((i = 0; i < 100; i++)); do
	grep -q '^after open$' "$T/tail.out" 2>/dev/null && break
	sleep 0.1
done
grep -q '^after open$' "$T/tail.out" || fail "tail -f did not print the existing lines: $(cat "$T/tail.out" "$T/tail.err")"
echo "followed 1" >>"$P"
for ((i = 0; i < 100; i++)); do
	grep -q '^followed 1$' "$T/tail.out" && break
	sleep 0.1
done
grep -q '^followed 1$' "$T/tail.out" || fail "tail -f did not see an append within 10 s: $(cat "$T/tail.out" "$T/tail.err")"
printf 'followed 2\nfollowed 3\n' >>"$P"
for ((i = 0; i < 100; i++)); do
	grep -q '^followed 3$' "$T/tail.out" && break
	sleep 0.1
done
kill "$tailpid"
wait "$tailpid" 2>/dev/null || true
assert_eq "$(tail -n 10 "$P")" "$(tail -n 10 "$T/tail.out")" "what tail -f printed"
grep -q 'file truncated' "$T/tail.err" && fail "tail -f saw the file shrink: $(cat "$T/tail.err")"

# dd at the old end reads just the new record
end=$(fsize "$P")
echo "tail record" >>"$P"
assert_eq "tail record" "$(dd if="$P" bs=4k skip="$end" iflag=skip_bytes status=none)" "dd from the old end"
