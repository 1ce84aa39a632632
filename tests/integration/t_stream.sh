#!/usr/bin/env bash
# t_stream: stream mode (-o stream, the kernel's writeback cache).  The user
# story works; 8 O_APPEND producers still never interleave, and every line
# lands once, whole and in order; readers never see a NUL; fsync() makes
# appends survive kill -9; cached appends reach the store within a bounded
# time while the writer keeps the file open; an overwrite is refused at
# writeback and the log stays intact; unmount writes everything back; the
# mount's readahead is one READ request.
. "$(dirname "$0")/lib.sh"

NPROD=8
COUNT=5000
PAD=40
mount_tfs "stream,writeback.ms=50"

# the story
mkdir "$MNT/s"
touch "$MNT/s/0" "$MNT/s/1"
echo '{"id":1}' >>"$MNT/s/0"
echo '{"id":2}' >>"$MNT/s/0"
assert_eq '{"id":1}
{"id":2}' "$(cat "$MNT/s/0")" "cat"
assert_eq 18 "$(fsize "$MNT/s/0")" "st_size"
assert_eq '{"id":2}' "$(tail -c +10 "$MNT/s/0")" "tail -c +10"
expect_errno "Operation not permitted" truncate -s 0 "$MNT/s/0"
expect_errno "Operation not permitted" bash -c 'echo x > "$1"' _ "$MNT/s/0"

# .metrics counts the write-backs held for the bytes in front of them
grep -q '^topicfs_stream_held_writes_total [0-9]' "$MNT/.metrics" || fail "no held writes in .metrics"
grep -q '^topicfs_stream_held_bytes_total [0-9]' "$MNT/.metrics" || fail "no held bytes in .metrics"

# cached readers: the mount's readahead is one READ request (fs/io.c), not
# the kernel's 128 KiB, when the daemon may set it (root)
ra=$(cat "/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb")
want=1024
grep -q "reads: up to 4096 KiB per request" "$TFS_LOG" && want=4096
if grep -q "stream mode: readahead stays" "$TFS_LOG"; then
	log "readahead left at $ra KiB: $(grep readahead "$TFS_LOG")"
else
	((ra >= want)) || fail "read_ahead_kb of the mount is $ra, not $want"
fi

# concurrent producers, with a reader that must never see a NUL byte
P=$MNT/s/1
prods=()
for ((i = 0; i < NPROD; i++)); do
	"$TOOLS/producer" -p $PAD "$P" $i $COUNT >"$T/producer.$i" 2>&1 &
	prods+=($!)
done
nuls=0
for ((k = 0; k < 20; k++)); do
	n=$(tr -cd '\000' <"$P" | wc -c)
	nuls=$((nuls + n))
done
for ((i = 0; i < NPROD; i++)); do
	wait "${prods[i]}" || fail "producer $i failed: $(cat "$T/producer.$i")"
done
assert_eq 0 "$nuls" "NUL bytes seen by readers during the appends"
"$TOOLS/linecheck" -p $PAD verify "$P" $NPROD $COUNT || fail "partition content"
# the producers closed their files: the kernel wrote everything back
assert_eq "$(fsize "$P")" "$(datalog s 1 | wc -c)" "bytes in the data dir after the writers closed"
"$TOOLS/linecheck" -p $PAD verify <(datalog s 1) $NPROD $COUNT || fail "data dir .log files"
# the attributes are the store's: after the writers closed, everything
assert_eq "$(fsize "$P")" "$(xattr "$P" end)" "user.topicfs.end after the writers closed"
# (records are write-backs here, not write()s: README, stream mode)
r=$(xattr "$P" records)
((r >= 1 && r <= NPROD * COUNT)) || fail "user.topicfs.records: $r"

# one fast producer: the kernel writes pages back out of order (a partly
# written page under writeback is written again after later pages); the
# store must hold the early ones and land every byte once
touch "$MNT/s/2"
"$TOOLS/producer" -p $PAD "$MNT/s/2" 0 200000 >"$T/fast.out" 2>&1 || fail "fast producer: $(cat "$T/fast.out")"
"$TOOLS/linecheck" -p $PAD verify "$MNT/s/2" 1 200000 || fail "fast producer's partition"
"$TOOLS/linecheck" -p $PAD verify <(datalog s 2) 1 200000 || fail "fast producer's .log files"
if grep -E "refused|dropped" "$TFS_LOG"; then fail "the store refused or dropped stream writes"; fi

# a reader holding the file open sees each append as soon as write()
# returned, and never a stale byte of a page an append ended in the
# middle of (1000 records of 13 bytes: three pages, every end mid-page)
mkdir "$MNT/h"
touch "$MNT/h/0"
exec 3<"$MNT/h/0"
exec 4>>"$MNT/h/0"
for ((i = 0; i < 1000; i++)); do
	printf 'record %05d\n' $i >&4
	IFS= read -r l <&3 || fail "read after append $i: nothing"
	[[ $l == "record $(printf %05d $i)" ]] || fail "read after append $i: '$l'"
done
IFS= read -r l <&3 && fail "read past the last append: '$l'"
exec 4>&-
exec 3<&-
assert_eq 13000 "$(fsize "$MNT/h/0")" "size after 1000 appends"
assert_eq 0 "$(tr -cd '\000' <"$MNT/h/0" | wc -c)" "NUL bytes in the partition"
for ((k = 0; k < 100; k++)); do
	[[ $(datalog h 0 | wc -c) == 13000 ]] && break
	sleep 0.05
done
cmp <(datalog h 0) "$MNT/h/0" || fail "the store's bytes differ from what readers saw"

# large appends with the FUSE bdi's strict dirty limit off: the kernel
# writes back far out of order (hundreds of MiB behind one gap); every
# byte must still land once, in place (a 64 MiB hold limit lost data here)
BDI=/sys/class/bdi/$(mountpoint -d "$MNT")
if [[ -w $BDI/strict_limit ]]; then
	echo 0 >"$BDI/strict_limit"
	mkdir "$MNT/big"
	touch "$MNT/big/0"
	"$TOOLS/tfsbench" append "$T/big.plain" 512 1048576 >/dev/null || fail "tfsbench on a plain file"
	"$TOOLS/tfsbench" append "$MNT/big/0" 512 1048576 >"$T/big.out" 2>&1 || fail "1 MiB stream appends: $(cat "$T/big.out")"
	cmp "$T/big.plain" "$MNT/big/0" || fail "1 MiB stream appends differ from the plain file"
	cmp "$T/big.plain" <(datalog big 0) || fail "1 MiB stream appends: .log files differ from the plain file"
	rm -f "$T/big.plain"
	echo 1 >"$BDI/strict_limit"
	if grep -E "refused|dropped" "$TFS_LOG"; then fail "the store refused or dropped stream writes"; fi
else
	log "no $BDI/strict_limit: out-of-order large appends not tested"
fi

# appends reach the store while the writer keeps the file open (bounded)
exec 5>>"$MNT/s/0"
echo '{"id":3}' >&5
for ((k = 0; k < 100; k++)); do
	datalog s 0 | grep -q '"id":3' && break
	sleep 0.05
done
datalog s 0 | grep -q '"id":3' || fail "a cached append did not reach the store within 5 s"
exec 5>&-

# an overwrite is refused at writeback; the log and, soon, readers agree
before=$(datalog s 0 | md5sum)
printf 'XXXX' | dd of="$MNT/s/0" bs=4 seek=0 conv=notrunc status=none 2>"$T/dd.err" || true
log "dd over offset 0: $(cat "$T/dd.err")"
assert_eq "$before" "$(datalog s 0 | md5sum)" "data dir after a refused overwrite"
for ((k = 0; k < 100; k++)); do
	[[ $(head -c 8 "$MNT/s/0") == '{"id":1}' ]] && break
	sleep 0.05
done
assert_eq '{"id":1}' "$(head -c 8 "$MNT/s/0")" "readers after a refused overwrite"
grep -q "differs from stored bytes" "$TFS_LOG" || fail "no log line for the refused overwrite"

# a refused overwrite that also extends the file: the part over stored
# bytes is refused, the part past the end is the kernel's already (its
# cache and size), so it is stored; later appends go on, no gap
mkdir "$MNT/ow"
printf 'hello\n' >>"$MNT/ow/0"
python3 - "$MNT/ow/0" >"$T/ow.out" 2>&1 <<'PY' || fail "refused extension: $(cat "$T/ow.out")"
import os, sys, time
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
os.pwrite(fd, b"XXworld\n", 4)      # over stored bytes 4..6, and on to 12
try:
    os.close(fd)
    sys.exit("close after the refused overwrite succeeded")
except OSError:
    pass
# the daemon drops the kernel's copy (within writeback.ms)
for _ in range(100):
    with open(p, "rb") as f:
        got = f.read()
    if got == b"hello\nworld\n":
        break
    time.sleep(0.05)
else:
    sys.exit("readers see %r" % got)
fd = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(fd, b"next\n")
try:
    os.fsync(fd)
except OSError:  # the kernel reports the refused write-back once, also
    os.fsync(fd) # to files opened after it; then this append's own
os.close(fd)
PY
assert_eq "$(printf 'hello\nworld\nnext\n' | md5sum)" "$(datalog ow 0 | md5sum)" "data dir after an append past a refused extension"
grep -q "ow/0: stream write at offset 0..12 differs from stored bytes at 4" "$TFS_LOG" ||
	fail "no log line for the refused extension"

# an append right after a refused overwrite, before the kernel drops its
# copy: the write-back carries the refused page and the append together;
# the append is stored, and appends go on without a remount
mkdir "$MNT/ow2"
printf 'base\n' >>"$MNT/ow2/0"
python3 - "$MNT/ow2/0" >"$T/ow2.out" 2>&1 <<'PY' || fail "append after a refused overwrite: $(cat "$T/ow2.out")"
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
os.pwrite(fd, b"B", 0)
try:
    os.close(fd)
    sys.exit("close after the refused overwrite succeeded")
except OSError:
    pass
fd = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(fd, b"next\n")
try:
    os.close(fd)    # EIO when its write-back carried the refused page
except OSError:
    pass
PY
printf 'more\n' >>"$MNT/ow2/0" || fail "append after the refused overwrite"
sync "$MNT/ow2/0" 2>/dev/null || true
for ((k = 0; k < 100; k++)); do
	[[ $(datalog ow2 0) == $'base\nnext\nmore' ]] && break
	sleep 0.05
done
assert_eq "$(printf 'base\nnext\nmore\n' | md5sum)" "$(datalog ow2 0 | md5sum)" "data dir after an append behind a refused overwrite"
for ((k = 0; k < 100; k++)); do
	[[ $(cat "$MNT/ow2/0") == $'base\nnext\nmore' ]] && break
	sleep 0.05
done
assert_eq "$(printf 'base\nnext\nmore')" "$(cat "$MNT/ow2/0")" "readers after an append behind a refused overwrite"

# a refused overwrite is reported at the writer's close() also when the
# flusher wrote it back first (the kernel tells only the first close()
# that looks: that was the flusher's own, and the writer's returned 0)
mkdir "$MNT/ow3"
printf 'hello world\n' >>"$MNT/ow3/0"
python3 - "$MNT/ow3/0" >"$T/ow3.out" 2>&1 <<'PY' || fail "close after a refused overwrite: $(cat "$T/ow3.out")"
import errno, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"XX", 0)
time.sleep(0.5)                     # writeback.ms is 50
try:
    os.close(fd)
except OSError as e:
    if e.errno != errno.EIO:
        raise
else:
    sys.exit("close() returned 0")
PY

# a pwrite() past the end leaves a hole the kernel never writes back: a
# read across it gets zeros and the held bytes after it (it got zeros for
# all, and the kernel kept them); the bytes that fill it later are stored,
# and a write-back refused when held bytes are stored late is dropped
# from the kernel's cache and reported by fsync()
mkdir "$MNT/hole"
python3 - "$MNT/hole/0" >"$T/h.out" 2>&1 <<'PY' || fail "held bytes behind a hole: $(cat "$T/h.out")"
import errno, os, sys, time
p = sys.argv[1]
fd = os.open(p, os.O_RDWR | os.O_CREAT)
os.pwrite(fd, b"A" * 100, 0); time.sleep(0.3)
os.pwrite(fd, b"B" * 4096, 12288); time.sleep(0.3)     # held: a hole before it
r = os.open(p, os.O_RDONLY)
os.posix_fadvise(r, 0, 0, os.POSIX_FADV_DONTNEED)
got = os.pread(r, 16384, 0)
if got != b"A" * 100 + bytes(12188) + b"B" * 4096:
    sys.exit("across the hole: %d B bytes" % got.count(b"B"))
os.pwrite(fd, b"B" * 4096, 8192); time.sleep(0.3)      # held too
os.pwrite(fd, b"C" * 4096, 8192); time.sleep(0.3)      # held again, differs
os.pwrite(fd, b"D" * 8092, 100); time.sleep(0.3)       # fills: B stored, C refused
try:
    os.fsync(fd)
    sys.exit("fsync() after a refused held write returned 0")
except OSError as e:
    if e.errno != errno.EIO:
        raise
for _ in range(100):                                   # the kernel's C dropped
    if os.pread(r, 4096, 8192) == b"B" * 4096:
        break
    time.sleep(0.05)
else:
    sys.exit("readers still see the refused bytes")
try:
    os.close(fd)
except OSError:
    pass
PY
assert_eq "$( (head -c 100 /dev/zero | tr '\0' A; head -c 8092 /dev/zero | tr '\0' D; head -c 8192 /dev/zero | tr '\0' B) | md5sum)" \
	"$(datalog hole 0 | md5sum)" "data dir after held bytes behind holes"

# a hole nothing fills: once the kernel has written everything back (at
# close() or fsync()), the daemon stores zeros for it and the held bytes
# after it (they waited for ever, and were dropped at unmount)
mkdir "$MNT/hole2"
python3 - "$MNT/hole2/0" >"$T/h2.out" 2>&1 <<'PY' || fail "a hole nothing fills: $(cat "$T/h2.out")"
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
os.pwrite(fd, b"x\n", 0)
os.pwrite(fd, b"y\n", 10000)
os.fsync(fd)
os.close(fd)
PY
assert_eq "$( (printf 'x\n'; head -c 9998 /dev/zero; printf 'y\n') | md5sum)" "$(datalog hole2 0 | md5sum)" "data dir after a hole"
assert_eq 10002 "$(xattr "$MNT/hole2/0" end)" "end after a hole"
grep -q "hole2/0: stored 4096 zero bytes from offset 4096" "$TFS_LOG" || fail "no log line for the hole"

# retention's start need not be on a page, and the kernel reads and
# writes back whole pages: the page holding the start reads as zeros
# below it, its write-back is taken, and appends go on (they failed with
# EIO, and after a remount with ERANGE)
mkdir "$MNT/rt"
printf 'segment.bytes=4096\nretention.bytes=1\n' >>"$MNT/rt/.config"
python3 - "$MNT/rt/0" >"$T/rt.out" 2>&1 <<'PY' || fail "appends after retention: $(cat "$T/rt.out")"
import errno, os, sys, time
p = sys.argv[1]
rec = lambda i: (b"%04d" % i) + b"x" * 95 + b"\n"
fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
n = 0
for batch in (40, 40, 1):
    for _ in range(batch):
        os.write(fd, rec(n)); n += 1
    os.fsync(fd)
for _ in range(100):                # the cleaner runs once a second
    if os.getxattr(p, "user.topicfs.start") == b"8000":
        break
    time.sleep(0.1)
else:
    sys.exit("start is %r" % os.getxattr(p, "user.topicfs.start"))
r = os.open(p, os.O_RDONLY)
os.posix_fadvise(r, 0, 0, os.POSIX_FADV_DONTNEED)
for _ in range(3):
    os.write(fd, rec(n)); n += 1
os.fsync(fd)
os.close(fd)
os.posix_fadvise(r, 0, 0, os.POSIX_FADV_DONTNEED)
want = b"".join(rec(i) for i in range(80, n))
got = os.pread(r, 1 << 20, 8000)
if got != want:
    sys.exit("from the start: %r" % got[:200])
if os.pread(r, 100, 4096) != bytes(100):
    sys.exit("below the start in its page: not zeros")
try:
    os.pread(r, 100, 0)
    sys.exit("a read of a page below the start's worked")
except OSError as e:
    if e.errno != errno.ERANGE:
        raise
PY
remount_tfs "stream"
printf 'more\n' >>"$MNT/ow/0"
assert_eq "$(printf 'hello\nworld\nnext\nmore\n')" "$(cat "$MNT/ow/0")" "appends after a remount"

# fsync() makes appends survive kill -9 of the daemon
mkdir "$MNT/f"
touch "$MNT/f/0"
"$TOOLS/producer" -p $PAD -y 1000 "$MNT/f/0" 0 3000 >"$T/fsync.out" 2>&1 || fail "fsync producer: $(cat "$T/fsync.out")"
kill9_tfs
mount_tfs "stream"
"$TOOLS/linecheck" -p $PAD verify "$MNT/f/0" 1 3000 || fail "fsynced appends after kill -9"

# unmount writes back what is cached; remount shows all of it
"$TOOLS/producer" -p $PAD "$MNT/f/0" 1 2000 >"$T/p1.out" 2>&1 || fail "producer: $(cat "$T/p1.out")"
remount_tfs "stream"
assert_eq $((3000 + 2000)) "$(wc -l <"$MNT/f/0")" "lines after remount"
"$TOOLS/linecheck" -p $PAD verify "$MNT/s/1" $NPROD $COUNT || fail "partition content after remount"

# while a writer is open, the kernel's size may be ahead of the store's:
# every truncate and O_TRUNC is refused (nothing accepted is lost); once
# it closed, the usual rules hold
mkdir "$MNT/tr"
touch "$MNT/tr/0"
python3 -c '
import errno, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(fd, b"accepted\n")
for what in ("truncate", "trunc-open"):
    try:
        if what == "truncate":
            os.truncate(p, 0)
        else:
            os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
        sys.exit(what + " was accepted")
    except OSError as e:
        assert e.errno == errno.EPERM, (what, e)
os.write(fd, b"kept\n")
os.close(fd)
' "$MNT/tr/0" || fail "stream truncate with a writer open"
assert_eq "$(printf 'accepted
kept')" "$(cat "$MNT/tr/0")" "appends after refused truncates"
python3 -c 'import os, sys; os.truncate(sys.argv[1], os.stat(sys.argv[1]).st_size)' "$MNT/tr/0" ||
	fail "truncate to the size once no writer is open"
expect_errno "Operation not permitted" python3 -c 'import os, sys; os.truncate(sys.argv[1], 0)' "$MNT/tr/0"
# an ftruncate through the only writable fd is refused too: the kernel
# would drop the fd's own unflushed appends
python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_APPEND)
os.write(fd, b"mine\n")
try:
    os.ftruncate(fd, os.fstat(fd).st_size - 5)
    sys.exit("ftruncate was accepted")
except OSError as e:
    assert e.errno == errno.EPERM, e
os.close(fd)
' "$MNT/tr/0" || fail "ftruncate through the only writer"
assert_eq "$(printf 'accepted\nkept\nmine')" "$(cat "$MNT/tr/0")" "after the refused ftruncate"

# SIGTERM while a writer appends: the flusher stops while the loop still
# answers it, and the daemon exits (it once hung in its own mount)
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
b = b"x" * 65535 + b"\n"
while True:
    try:
        os.write(fd, b)
    except OSError:
        break
' "$MNT/tr/0" 2>/dev/null &
wpid=$!
sleep 0.5
kill -TERM "$TFS_PID"
for ((i = 0; i < 100; i++)); do _alive "$TFS_PID" || break; sleep 0.1; done
if _alive "$TFS_PID"; then
	conn=$(awk -v m="$MNT" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo)
	mountpoint -q /sys/fs/fuse/connections || mount -t fusectl none /sys/fs/fuse/connections
	[[ -n $conn ]] && echo 1 >"/sys/fs/fuse/connections/$conn/abort"
	kill "$wpid" 2>/dev/null
	fail "the daemon still runs 10 s after SIGTERM with a stream writer"
fi
kill "$wpid" 2>/dev/null || true
wait "$wpid" 2>/dev/null || true
wait "$TFS_PID" 2>/dev/null || true
TFS_PID=
fusermount3 -u -z "$MNT" 2>/dev/null || true
mount_tfs "stream"

# HANDLE_KILLPRIV_V2 (fs/io.c): the kernel asks for security.capability
# once, not before each of 2000 write()s, and the attributes still work
remount_tfs "stream,debug"
touch "$MNT/f/1"
"$TOOLS/producer" -p $PAD "$MNT/f/1" 0 2000 >"$T/p2.out" 2>&1 || fail "producer: $(cat "$T/p2.out")"
n=$(grep -c 'opcode: GETXATTR' "$TFS_LOG")
((n <= 2)) || fail "$n GETXATTR requests for 2000 write()s"
assert_eq 2000 "$(wc -l <"$MNT/f/1")" "lines"
assert_eq "$(fsize "$MNT/f/1")" "$(xattr "$MNT/f/1" end)" "user.topicfs.end"
umount_tfs
