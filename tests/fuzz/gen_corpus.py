#!/usr/bin/env python3
# tests/fuzz/gen_corpus.py - write the seed corpus of the fuzz harnesses
# into tests/fuzz/corpus/<harness>/ (committed; rerun after a format
# change).  fuzz_recovery's input layout is in tests/fuzz/fuzz_recovery.c.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEALED, SYNCED, FLIP, FIX_HDR, FIX_ENT, FIX_DATA, NO_IDX, TMP = (
    1, 2, 4, 8, 16, 32, 64, 128)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def header(base, flags=0):
    h = b"TFSIDX01" + struct.pack("<IIQI", 1, 32, base, flags)
    return h + struct.pack("<I", crc32c(h))


def entry(off, data, t=1700000000000):
    e = struct.pack("<QIIqI", off, len(data), crc32c(data), t, 0)
    return e + struct.pack("<I", crc32c(e))


def segment(base, records):
    idx, log, off = header(base), b"", base
    for r in records:
        idx += entry(off, r)
        log += r
        off += len(r)
    return idx, log


def recovery_input(mode, idx, log, sealed=b"", reclen=16, flip=0, rp=0):
    """rp: the top byte of split (0 none, r: active base + 8 * (r - 1),
    255 a torn recovery point)."""
    assert len(sealed) % 16 == 0 and len(sealed) // 16 < 256
    assert len(idx) < 1 << 24 and 0 <= rp < 256
    head = struct.pack("<IBBBB", len(idx) | rp << 24, mode,
                       len(sealed) // 16, reclen - 1, flip)
    return head + sealed + idx + log


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


recs = [b"hello\n", b"world!\n", b"x" * 40 + b"\n"]
idx, log = segment(0, recs)
R = "fuzz_recovery"
write(R, "valid", recovery_input(0, idx, log))
write(R, "empty", recovery_input(0, header(0), b""))
write(R, "torn_log", recovery_input(0, idx, log + b"par"))
write(R, "torn_idx", recovery_input(0, idx + b"\x01" * 11, log))
write(R, "zeroed_last", recovery_input(0, idx, log[:-41] + b"\0" * 41))
write(R, "bad_entry_crc",
      recovery_input(0, idx[:40] + b"\xff" + idx[41:], log))
write(R, "no_idx", recovery_input(NO_IDX, b"", log))
write(R, "fixups", recovery_input(FIX_HDR | FIX_DATA | TMP,
                                  b"\0" * 32 + struct.pack("<QI", 0, 6) +
                                  b"\0" * 20, b"abcdef"))
sealed = bytes(range(64))
sidx, slog = segment(64, recs)
write(R, "sealed_synced", recovery_input(SEALED | SYNCED, sidx, slog, sealed))
write(R, "sealed_unsynced", recovery_input(SEALED, sidx, slog, sealed))
write(R, "sealed_flipped",
      recovery_input(SEALED | SYNCED | FLIP, sidx, slog, sealed, flip=9))
write(R, "garbage", bytes((i * 37 + 11) & 0xFF for i in range(200)))
hole = log[:6] + b"\0" * 7 + log[13:]  # the second record zeroed
write(R, "rp_hole", recovery_input(0, idx, hole, rp=1))  # cut from 6
write(R, "rp_synced_damage", recovery_input(0, idx, hole, rp=7))  # kept
write(R, "rp_torn", recovery_input(0, idx, hole, rp=255))
# index damage below a recovery point past the end (rp=8: offset 56):
# kept, never cut (a flipped entry, a flipped header, a short index)
write(R, "rp_synced_entry_flip",
      recovery_input(0, idx[:72] + b"\xff" + idx[73:], log, rp=8))
write(R, "rp_synced_header_flip",
      recovery_input(0, b"X" + idx[1:], log, rp=8))
write(R, "rp_synced_idx_short", recovery_input(0, idx[:64], log, rp=8))
# the .log lost synced bytes (cut to 13, the recovery point 48): the end
# stays at 48, zeros in their place
write(R, "rp_synced_log_short", recovery_input(0, idx, log[:13], rp=7))
# damage-junk-resync: an input the fuzzer found (damaged entries that
# decode, one matching bytes the harness appends after recovery), kept
# as it came.
# segment-ms-overflow: an input the fuzzer found (a first record's time
# near INT64_MIN overflowed the segment.ms check), kept as it came.

C = "fuzz_config"
write(C, "all_keys", b"retention.ms=604800000\nretention.bytes=-1\n"
      b"segment.bytes=64M\nsegment.ms=86400000\ncompression=zstd\n"
      b"compression.level=3\nflush.messages=0\nflush.ms=0\n"
      b"max.message.bytes=1048576\nkey.separator=:\n")
write(C, "comments", b"# topicfs topic config: key=value\n\n"
      b"  segment.bytes = 1G  # big\nretention.bytes=10T\n")
write(C, "reset", b"segment.bytes=\ncompression=none\n")
write(C, "bad_key", b"segment.byte=1\n")
write(C, "bad_value", b"retention.ms=-2\ncompression=lz4\n")
write(C, "no_newline", b"flush.ms=100")
write(C, "no_equals", b"segment.bytes\n")
write(C, "nul", b"flush.ms=1\0\n")
write(C, "key_separator", b"key.separator=\\t\nkey.separator=\\x20|\\\\\n"
      b"key.separator=\xe2\x86\x92\\r\\n\nkey.separator=\\x0g\n")
