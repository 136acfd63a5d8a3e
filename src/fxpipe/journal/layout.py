"""The journal's on-disk layout for Python and numpy: named offsets, constants and dtypes that
mirror cython/fxpipe/journal/layout.pxd (the declaration and its box diagrams live there).
tests/journal/test_journal_layout.py checks every size and offset against the C compiler."""
from __future__ import annotations

import enum
import struct

import numpy as np

SEGMENT_MAGIC = 0x01004C4E524A5846  # b"FXJRNL\x00\x01" little-endian
LAYOUT_VERSION = 1
SEGMENT_HEADER_SIZE = 64
RECORD_HEADER_SIZE = 32
RECORD_ALIGN = 8
COMMIT_MARK = 0x43525846
SEAL_BODY_SIZE = 64
SEAL_RECORD_SIZE = RECORD_HEADER_SIZE + SEAL_BODY_SIZE
PAGE = 4096
MAX_PAYLOAD = 0x7FFFFFF0

RT_INVALID = 0
RT_RESERVED_MIN = 0xFF00
RT_STAGE_START = 0xFF01
RT_STATE_HASH = 0xFF02
RT_SEAL = 0xFFFF

# Record flags: the role of a record written by a recorded stage (fxpipe.replay).
FLAG_INPUT = 0x01
FLAG_OUTPUT = 0x02

SEGMENT_HEADER_DTYPE = np.dtype([
    ("magic", "<u8"), ("version", "<u4"), ("header_size", "<u4"), ("journal_id", "<u8"),
    ("segment_no", "<u8"), ("first_seq", "<u8"), ("created_ns", "<i8"), ("creator_pid", "<u4"),
    ("size_pages", "<u4"), ("reserved", "<u4"), ("header_crc", "<u4"),
])

RECORD_HEADER_DTYPE = np.dtype([
    ("commit", "<u4"), ("crc", "<u4"), ("length", "<u4"), ("type", "<u2"), ("stage", "u1"),
    ("flags", "u1"), ("seq", "<u8"), ("ts_ns", "<i8"),
])

SEAL_BODY_DTYPE = np.dtype([
    ("next_segment_no", "<u8"), ("record_count", "<u8"), ("first_seq", "<u8"), ("last_seq", "<u8"),
    ("min_ts_ns", "<i8"), ("max_ts_ns", "<i8"), ("uniform_size", "<u4"), ("uniform_type", "<u2"),
    ("reserved", "<u2"), ("reserved2", "<u8"),
])

# One row per record, as scan.scan_records fills it.
RECORD_INDEX_DTYPE = np.dtype([
    ("offset", "<u8"), ("seq", "<u8"), ("ts_ns", "<i8"), ("length", "<u4"), ("type", "<u2"),
    ("stage", "u1"), ("flags", "u1"),
])


class ScanStatus(enum.IntEnum):
    MORE = 0
    END = 1
    SEAL = 2
    EOF = 3
    BAD_COMMIT = 4
    BAD_LENGTH = 5
    BAD_CRC = 6
    BAD_PAD = 7
    BAD_SEQ = 8
    BAD_TYPE = 9

    @property
    def is_bad(self) -> bool:
        return self >= ScanStatus.BAD_COMMIT


SCAN_REASONS = {
    ScanStatus.BAD_COMMIT: "commit marker is neither 0 nor the commit value",
    ScanStatus.BAD_LENGTH: "record length runs past the end of the segment",
    ScanStatus.BAD_CRC: "CRC32C does not match",
    ScanStatus.BAD_PAD: "padding after the payload is not zero",
    ScanStatus.BAD_SEQ: "sequence number is not the one expected",
    ScanStatus.BAD_TYPE: "record type is 0 or reserved",
    ScanStatus.EOF: "the file ends inside the record area",
    ScanStatus.END: "no record where one was expected (zero commit marker)",
}

INTERNAL_TYPE_NAMES = {RT_STAGE_START: "StageStart", RT_STATE_HASH: "StateHash", RT_SEAL: "Seal"}


def record_size(payload_len: int) -> int:
    """Bytes a record with this payload takes in a segment (header + payload + padding)."""
    return RECORD_HEADER_SIZE + ((payload_len + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1))


def segment_name(segment_no: int) -> str:
    return f"{segment_no:012d}.fxj"


_HEADER_STRUCT = struct.Struct("<QIIQQQqIII")


def pack_segment_header(journal_id: int, segment_no: int, first_seq: int, created_ns: int,
                        creator_pid: int, segment_size: int, crc32c) -> bytes:
    """The 64-byte header of a new segment (crc32c: the checksum function to seal it with)."""
    body = _HEADER_STRUCT.pack(SEGMENT_MAGIC, LAYOUT_VERSION, SEGMENT_HEADER_SIZE, journal_id,
                               segment_no, first_seq, created_ns, creator_pid,
                               segment_size // PAGE, 0)
    return body + struct.pack("<I", crc32c(body))


def unpack_segment_header(data: bytes) -> dict:
    fields = _HEADER_STRUCT.unpack_from(data, 0)
    (magic, version, header_size, journal_id, segment_no, first_seq, created_ns, pid, pages,
     synced_units) = fields
    (crc,) = struct.unpack_from("<I", data, 60)
    return {"magic": magic, "version": version, "header_size": header_size,
            "journal_id": journal_id, "segment_no": segment_no, "first_seq": first_seq,
            "created_ns": created_ns, "creator_pid": pid, "segment_size": pages * PAGE,
            "synced_units": synced_units, "header_crc": crc}
