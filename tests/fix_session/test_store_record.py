"""The store's message-log record made in C (fxpipe.fix.storelog) is the layout the store reads
back: the same bytes as the struct + zlib reference, zlib's CRC-32 exactly."""
from __future__ import annotations

import random
import struct
import zlib

import pytest

from fxpipe.fix.storelog import RECORD_HEADER_SIZE, crc32, crc32_folding, write_record

REC = struct.Struct("<HBBQII")


def reference(magic: int, version: int, flags: int, seq: int, payload: bytes) -> bytes:
    head = REC.pack(magic, version, flags, seq, len(payload), 0)[:-4]
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


def test_crc32_is_zlibs():
    rnd = random.Random(5)
    for n in (0, 1, 7, 16, 255, 4096):
        data = bytes(rnd.randrange(256) for _ in range(n))
        start = rnd.randrange(1 << 32)
        assert crc32(data) == zlib.crc32(data)
        assert crc32(data, start) == zlib.crc32(data, start)
    assert crc32(bytearray(b"123456789")) == 0xCBF43926          # the CRC-32 check value


@pytest.mark.parametrize("table_only", [False, True], ids=["as_chosen", "table"])
def test_both_checksum_paths_give_zlibs_numbers_at_every_length_and_alignment(table_only):
    """The folding path (64 bytes and more, in steps of 16, the rest by table) and the table
    path alone, each against zlib: every length to 300 (each of the fold's tails and lane
    counts), unaligned starts, chained calls."""
    rnd = random.Random(11)
    blob = rnd.randbytes(70_000)
    for n in [*range(0, 301), 1023, 4096, 65_537]:
        off = rnd.randrange(8)
        data = memoryview(blob)[off:off + n]
        start = rnd.randrange(1 << 32)
        assert crc32(data, start, table_only) == zlib.crc32(data, start), (n, off)
    split = crc32(blob[5_000:], crc32(blob[:5_000], 0, table_only), table_only)
    assert split == zlib.crc32(blob)


def test_the_folding_path_is_taken_where_the_cpu_has_it():
    flags = open("/proc/cpuinfo").read().split()
    assert crc32_folding() == ("pclmulqdq" in flags and "sse4_1" in flags)


def test_a_record_is_the_reference_layout_byte_for_byte():
    rnd = random.Random(9)
    buf = bytearray(1 << 16)
    at = 0
    expect = b""
    for _ in range(200):
        payload = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
        seq, flags = rnd.randrange(1 << 64), rnd.randrange(256)
        given = payload if rnd.random() < 0.5 else bytearray(payload)
        end = write_record(buf, at, 0xF1C5, 1, flags, seq, given)
        rec = reference(0xF1C5, 1, flags, seq, payload)
        assert end == at + RECORD_HEADER_SIZE + len(payload) == at + len(rec)
        expect += rec
        at = end
    assert bytes(buf[:at]) == expect and not any(buf[at:])


def test_a_record_that_does_not_fit_is_refused_and_nothing_is_written():
    buf = bytearray(64)
    with pytest.raises(ValueError, match="does not fit"):
        write_record(buf, 10, 0xF1C5, 1, 1, 1, b"x" * 40)
    with pytest.raises(ValueError, match="does not fit"):
        write_record(buf, -1, 0xF1C5, 1, 1, 1, b"")
    assert not any(buf)
    with pytest.raises(BufferError):
        write_record(b"\0" * 64, 0, 0xF1C5, 1, 1, 1, b"x")          # not writable


def test_a_sequence_slot_is_the_reference_layout_byte_for_byte():
    from fxpipe.fix.storelog import write_slot

    slot = struct.Struct("<4sIQQQqQI")
    rnd = random.Random(3)
    buf = bytearray(128)
    for _ in range(100):
        vals = (rnd.randrange(1 << 32), rnd.randrange(1 << 64), rnd.randrange(1 << 63), rnd.randrange(1 << 63),
                rnd.randrange(-(1 << 63), 1 << 63), rnd.randrange(1 << 63))
        at = rnd.choice((0, 64))
        write_slot(buf, at, b"FXSQ", *vals)
        body = slot.pack(b"FXSQ", *vals, 0)[:-4]
        assert bytes(buf[at:at + 52]) == body + struct.pack("<I", zlib.crc32(body))
    with pytest.raises(ValueError, match="does not fit"):
        write_slot(buf, 100, b"FXSQ", 1, 1, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="magic"):
        write_slot(buf, 0, b"FXS", 1, 1, 1, 1, 1, 1)
