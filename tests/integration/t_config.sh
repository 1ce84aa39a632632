#!/usr/bin/env bash
# t_config: a topic's .config file with standard tools: cat shows the
# effective values (defaults marked), >> and > set keys, a bad line is
# EINVAL and changes nothing, "key=" and rm reset, values persist across
# remounts, mount options are the defaults, and the keys act (segment.bytes
# rolls, max.message.bytes refuses).
. "$(dirname "$0")/lib.sh"

mount_tfs "retention.ms=7200000,flush.ms=50"
mkdir "$MNT/orders"
C=$MNT/orders/.config
cfg() { grep "^$1=" "$C"; }

assert_eq "retention.ms=7200000  # default" "$(cfg retention.ms)" "mount option as default"
assert_eq "compression=none  # default" "$(cfg compression)" "built-in default"
assert_eq 10 "$(grep -c '=' "$C")" "one line per key"
assert_eq "key.separator=  # default" "$(cfg key.separator)" "no separator by default"
assert_eq "$(wc -c <"$C")" "$(stat -c %s "$C")" "st_size is the text's length"

echo 'retention.ms=3600000' >>"$C"
assert_eq "retention.ms=3600000" "$(cfg retention.ms)" "set with >>"
printf 'segment.bytes=4K\nmax.message.bytes=3000\n' >"$C"
assert_eq "segment.bytes=4096" "$(cfg segment.bytes)" "set with >"
assert_eq "retention.ms=3600000" "$(cfg retention.ms)" "> keeps the other keys"
before=$(cat "$C")
expect_errno "Invalid argument" bash -c 'echo "bogus=1" >> "$1"' _ "$C"
# all or nothing per write(): one dd block of two lines, the second bad
printf 'flush.ms=5\nsegment.bytes=1\n' |
	expect_errno "Invalid argument" dd of="$C" bs=1k oflag=append conv=notrunc status=none
expect_errno "Invalid argument" bash -c 'echo "compression=lz4" >> "$1"' _ "$C"
assert_eq "$before" "$(cat "$C")" "refused writes changed nothing"
grep -q "write refused: unknown key 'bogus'" "$TFS_LOG" || fail "no log line for the refused write"

# hidden from globs and ls, shown by ls -a; not a partition
touch "$MNT/orders/0"
assert_eq "0" "$(cd "$MNT/orders" && echo *)" "glob"
assert_eq ".config 0" "$(ls -A "$MNT/orders" | tr '\n' ' ' | sed 's/ $//')" "ls -A"

# the keys act: 4 KiB segments roll, a record over 3000 bytes is refused
for i in 1 2 3; do head -c 3000 /dev/zero | tr '\0' x >>"$MNT/orders/0"; done
assert_eq 3 "$(xattr "$MNT/orders/0" segments)" "segments at segment.bytes=4K"
expect_errno "Message too long" bash -c 'head -c 3001 /dev/zero >> "$1"' _ "$MNT/orders/0"
assert_eq 9000 "$(fsize "$MNT/orders/0")" "size after the refused record"

# key.separator: escaped in the text, a bad escape refused
printf 'key.separator=\\t\n' >>"$C"
assert_eq 'key.separator=\t' "$(cfg key.separator)" "key.separator set"
expect_errno "Invalid argument" bash -c 'echo "key.separator=\\q" >> "$1"' _ "$C"
# a '#' right after '=' is a value, not a comment that empties it (which
# would reset the key): refused, and nothing changes
expect_errno "Invalid argument" bash -c 'echo "key.separator=#" >> "$1"' _ "$C"
expect_errno "Invalid argument" bash -c 'echo "retention.ms=#1000" >> "$1"' _ "$C"
assert_eq 'key.separator=\t' "$(cfg key.separator)" "key.separator after a refused '#'"
assert_eq "retention.ms=3600000" "$(cfg retention.ms)" "retention.ms after a refused '#1000'"

# persisted: the data dir holds only the topic's own keys
remount_tfs
assert_eq 'key.separator=\t' "$(cfg key.separator)" "key.separator after remount"
assert_eq "retention.ms=3600000" "$(cfg retention.ms)" "after remount"
assert_eq "flush.ms=0  # default" "$(cfg flush.ms)" "defaults follow the new mount options"
grep -q '^segment.bytes=4096$' "$DATA/orders/.config" || fail "not persisted in the data dir"
grep -q 'flush.ms' "$DATA/orders/.config" && fail "a default was persisted"

# a write that returned survives kill -9 of the daemon
echo 'segment.ms=60000' >>"$C"
kill9_tfs
mount_tfs
assert_eq "segment.ms=60000" "$(cfg segment.ms)" "after kill -9"
echo 'segment.ms=' >>"$C"

# reset one key, then all
echo 'retention.ms=' >>"$C"
assert_eq "retention.ms=-1  # default" "$(cfg retention.ms)" "key= resets"
rm "$C"
assert_eq 0 "$(grep -vc '# default' "$C" || true)" "rm .config resets every key"

# rm -r of a topic with a config works, and leaves nothing behind
echo 'segment.bytes=8K' >>"$C"
rm -r "$MNT/orders"
[[ ! -e $DATA/orders ]] || fail "topic dir left in the data dir"
[[ ! -e $MNT/orders ]] || fail "topic still visible"

# a .config held open across rm -r and a new topic of the same name
# writes nowhere: it wrote the new topic's file on disk, unseen until a
# remount (a stray retention.ms there would then delete its data)
mkdir "$MNT/reuse"
touch "$MNT/reuse/0"
exec 3>>"$MNT/reuse/.config"
rm -r "$MNT/reuse"
mkdir "$MNT/reuse"
if echo 'retention.ms=12345' >&3 2>/dev/null; then fail "a deleted topic's .config took a write"; fi
exec 3>&-
[[ ! -e $DATA/reuse/.config ]] || fail "the new topic got the old one's key on disk: $(cat "$DATA/reuse/.config")"
umount_tfs
mount_tfs
assert_eq "retention.ms=-1  # default" "$(grep '^retention.ms' "$MNT/reuse/.config")" "the new topic after a remount"
umount_tfs
