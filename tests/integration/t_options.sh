#!/usr/bin/env bash
# t_options: the command line (-h, -V, bad options and values) and data dirs
# that must be refused at mount; the mount options that must be accepted;
# running as a daemon (without -f).
. "$(dirname "$0")/lib.sh"

[[ -x $TFS ]] || fail "no daemon binary $TFS"
version=$(sed -n 's/^#define TFS_VERSION "\(.*\)"/\1/p' "$TOP/include/topicfs/store.h")

# run_tfs ARGS...: run the daemon in the foreground for at most 10 s; sets
# OUT (stdout+stderr) and RC.  If it mounted (it should not have), unmount.
run_tfs() {
	RC=0
	OUT=$(timeout -k 2 10 env "${TFS_ENV[@]}" "$TFS" "$@" 2>&1 </dev/null) || RC=$?
	if _mounted; then
		fusermount3 -u -z "$MNT"
		fail "'topicfs $*' mounted; expected a refusal"
	fi
	((RC != 124 && RC != 137)) || fail "'topicfs $*' did not exit within 10 s"
	grep -Eq "$SAN_PATTERN" <<<"$OUT" && fail "sanitizer report from 'topicfs $*': $OUT"
	return 0
}

out=$(timeout 10 "$TFS" -h </dev/null) || fail "topicfs -h exited non-zero"
[[ $out == *segment.bytes* ]] || fail "topicfs -h does not mention segment.bytes: $out"
for word in flush.messages flush.ms nosplice; do
	[[ $out == *"$word"* ]] || fail "topicfs -h does not mention $word"
done
out=$(timeout 10 "$TFS" -V 2>&1 </dev/null) || fail "topicfs -V exited non-zero"
[[ $out == *"$version"* ]] || fail "topicfs -V does not print version $version: $out"

for args in "--bogus $DATA $MNT" "-Z $DATA $MNT"; do
	# shellcheck disable=SC2086
	run_tfs -f $args
	assert_eq 2 "$RC" "exit status of 'topicfs $args'"
	[[ $OUT == *"topicfs -h"* ]] || fail "'topicfs $args' does not say see 'topicfs -h': $OUT"
done
run_tfs -f -o bogus.option=1 "$DATA" "$MNT"
((RC != 0)) || fail "-o bogus.option=1 accepted"
run_tfs -f
((RC != 0)) || fail "topicfs without arguments exited 0"
run_tfs -f "$DATA"
((RC != 0)) || fail "topicfs without a mount point exited 0"

for val in 12 4095 abc "" -1 1X 4K4 99999999999999999999999G; do
	run_tfs -f -o "segment.bytes=$val" "$DATA" "$MNT"
	((RC != 0)) || fail "segment.bytes=$val accepted"
	log "segment.bytes=$val refused: status $RC: $OUT"
done
for opt in flush.messages=abc flush.ms=x flush.ms=-5 "key.separator=#" key.separator=123456789 "key.separator=\\\\q"; do
	run_tfs -f -o "$opt" "$DATA" "$MNT"
	((RC != 0)) || fail "$opt accepted"
done
assert_eq "" "$(ls -A "$DATA")" "data dir after refused mounts"

# values that must be accepted
for opts in segment.bytes=4096 segment.bytes=4K segment.bytes=1M segment.bytes=1G \
	flush.messages=1 flush.ms=50 nosplice segment.bytes=8K,flush.messages=10,flush.ms=20,nosplice; do
	mount_tfs "$opts"
	mkdir -p "$MNT/o"
	echo "$opts" >>"$MNT/o/0"
	assert_eq "$opts" "$(tail -n 1 "$MNT/o/0")" "append with -o $opts"
	umount_tfs
done
assert_eq 8 "$(datalog o 0 | wc -l)" "records written under the option sets"

# data dirs that must be refused
mkdir -p "$T/d9"
echo "topicfs-format 9" >"$T/d9/.topicfs"
run_tfs -f "$T/d9" "$MNT"
((RC != 0)) || fail "a data dir of format version 9 was accepted"
grep -Eiq 'version|format' <<<"$OUT" || fail "no clear message for format version 9: $OUT"
log "format 9 refused: status $RC: $OUT"
assert_eq "topicfs-format 9" "$(cat "$T/d9/.topicfs")" ".topicfs after the refusal"

mkdir -p "$T/other"
echo hello >"$T/other/notes.txt"
run_tfs -f "$T/other" "$MNT"
((RC != 0)) || fail "a non-empty non-topicfs data dir was accepted"
assert_eq "notes.txt" "$(ls -A "$T/other")" "foreign data dir after the refusal"
log "foreign dir refused: status $RC: $OUT"

run_tfs -f "$T/missing" "$MNT"
((RC != 0)) || fail "a missing data dir was accepted"
run_tfs -f "$DATA" "$T/missing-mnt"
((RC != 0)) || fail "a missing mount point was accepted"

# the data dir and the mount point: not the same, not one inside the other
mkdir -p "$T/nest/in"
for args in "$T/nest $T/nest" "$T/nest $T/nest/in" "$T/nest/in $T/nest"; do
	# shellcheck disable=SC2086
	run_tfs -f $args
	assert_eq 2 "$RC" "exit status of 'topicfs $args'"
	[[ $OUT == *"must not be the same directory or one inside the other"* ]] ||
		fail "no clear message for 'topicfs $args': $OUT"
done

# -o allow_other: other users read, but do not append, create or delete
chmod o+x "$(dirname "$T")" "$T" # (mktemp made them 0700)
mount_tfs allow_other
mkdir "$MNT/perm"
echo mine >>"$MNT/perm/0"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
assert_eq mine "$(as_nobody tail -n 1 "$MNT/perm/0")" "another user reads"
expect_errno "Permission denied" as_nobody bash -c 'echo theirs >> "$1"' _ "$MNT/perm/0"
expect_errno "Permission denied" as_nobody mkdir "$MNT/theirs"
expect_errno "Permission denied" as_nobody rm "$MNT/perm/0"
expect_errno "Permission denied" as_nobody mkdir "$MNT/perm/.groups/g"
assert_eq mine "$(tail -n 1 "$MNT/perm/0")" "nothing changed"
expect_errno "Permission denied" as_nobody bash -c 'echo theirs >> "$1"' _ "$MNT/perm/.produce"
mkdir "$MNT/perm/.groups/g"
as_nobody cat "$MNT/perm/.groups/g/0" >/dev/null
assert_eq 0 "$(getfattr --absolute-names --only-values -n user.topicfs.offset "$MNT/perm/.groups/g/0")" "another user's read commits nothing"
expect_errno "Permission denied" as_nobody setfattr -n user.topicfs.offset -v 1 "$MNT/perm/.groups/g/0"
umount_tfs

# without -f: daemonizes, returns 0 once mounted, exits on unmount
rc=0
env "${TFS_ENV[@]}" timeout 10 "$TFS" "$DATA" "$MNT" >"$T/bg.log" 2>&1 </dev/null || rc=$?
assert_eq 0 "$rc" "exit status of 'topicfs DATA MNT' (daemonizing)"
_mounted || fail "not mounted after 'topicfs DATA MNT' returned"
bgpid=
for f in /proc/[0-9]*/cmdline; do
	c=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
	if [[ $c == "$TFS $DATA $MNT " ]]; then
		bgpid=${f#/proc/}
		bgpid=${bgpid%/cmdline}
	fi
done
[[ -n $bgpid ]] || log "(daemonized topicfs not found in /proc)"
assert_eq "$(tail -n 1 "$MNT/o/0")" "segment.bytes=8K,flush.messages=10,flush.ms=20,nosplice" "read through the daemonized mount"
echo daemonized >>"$MNT/o/0"
fusermount3 -u -z "$MNT"
if [[ -n $bgpid ]]; then
	for ((i = 0; i < 100; i++)); do
		[[ -e /proc/$bgpid ]] || break
		sleep 0.1
	done
	if [[ -e /proc/$bgpid ]]; then
		kill -9 "$bgpid"
		fail "daemonized topicfs (pid $bgpid) still running 10 s after unmount"
	fi
fi
assert_eq daemonized "$(datalog o 0 | tail -n 1)" "append through the daemonized mount"

# daemonized with relative paths, stopped by SIGTERM: it unmounts (the
# daemon leaves its cwd; it once left a dead mount behind)
rc=0
(cd "$(dirname "$MNT")" && env "${TFS_ENV[@]}" timeout 10 "$TFS" "$(basename "$DATA")" "$(basename "$MNT")" >"$T/rel.log" 2>&1 </dev/null) || rc=$?
assert_eq 0 "$rc" "exit status of 'topicfs DATA MNT' with relative paths"
_mounted || fail "not mounted with relative paths"
relpid=
for f in /proc/[0-9]*/cmdline; do
	c=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
	[[ $c == "$TFS $(basename "$DATA") $(basename "$MNT") " ]] && { relpid=${f#/proc/}; relpid=${relpid%/cmdline}; }
done
if [[ -n $relpid ]]; then
	kill -TERM "$relpid"
	for ((i = 0; i < 100; i++)); do [[ -e /proc/$relpid ]] || break; sleep 0.1; done
	if _mounted; then
		fusermount3 -u -z "$MNT"
		fail "SIGTERM of a daemon started with relative paths left the mount"
	fi
else
	fusermount3 -u -z "$MNT"
	log "(daemonized topicfs not found in /proc)"
fi

# the man page and the README name every option topicfs -h names
for opt in $("$TFS" -h | sed -n "s/^ \{7\}\([a-z_.]\{1,\}\)\(=\|  \).*/\1/p"); do
	grep -q "^\.BI\? $opt\(=\| \|$\)" "$TOP/docs/topicfs.1" || fail "docs/topicfs.1 lacks option $opt"
	grep -q "^   $opt\b" "$TOP/README.md" || fail "README.md lacks option $opt"
done
