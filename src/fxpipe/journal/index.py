"""The sparse index: where to start reading for a given sequence number or time.

It holds one entry for the first record of every segment and for every record whose sequence
is a multiple of `every` (a power of two), with the running maximum of record timestamps so a
time seek can bisect even when event times are not strictly ordered; plus a summary row per
sealed segment (seal offset, counts, sequence and time range, uniform record size/type) so an
open need not rescan sealed segments. It is a cache: saved atomically (temp file, rename) at
segment roll-over and close, and rebuilt from the segments whenever it is missing, corrupt or
disagrees with them (fxpipe.journal.recovery decides that).

File index.fxi: a 72-byte header (magic, version, journal id, counts, the point up to which it
covers the journal, CRC32C of everything after the header), the segment rows, then the entries.
"""
from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxpipe.journal.crc import crc32c

INDEX_NAME = "index.fxi"
INDEX_MAGIC = 0x01005844494A5846  # b"FXJIDX\x00\x01"
INDEX_VERSION = 1
_HEADER = struct.Struct("<QIIQQQQQQI4x")  # 64 bytes with the trailing pad

ENTRY_DTYPE = np.dtype([("seq", "<u8"), ("max_ts_ns", "<i8"), ("segment_no", "<u8"), ("offset", "<u8")])
SEGMENT_DTYPE = np.dtype([
    ("segment_no", "<u8"), ("seal_offset", "<u8"), ("record_count", "<u8"), ("first_seq", "<u8"),
    ("last_seq", "<u8"), ("min_ts_ns", "<i8"), ("max_ts_ns", "<i8"), ("uniform_size", "<u4"),
    ("uniform_type", "<u2"), ("pad", "<u2"),
])


@dataclass
class SealedSegment:
    segment_no: int
    seal_offset: int
    record_count: int
    first_seq: int
    last_seq: int
    min_ts_ns: int
    max_ts_ns: int
    uniform_size: int
    uniform_type: int


@dataclass
class SparseIndex:
    journal_id: int
    every: int
    sealed: dict[int, SealedSegment] = field(default_factory=dict)
    # entries, kept as parallel lists while writing; arrays on load
    seqs: list[int] = field(default_factory=list)
    max_ts: list[int] = field(default_factory=list)
    segs: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    covered_segment: int = 0
    covered_offset: int = 0
    covered_next_seq: int = 0

    def add(self, seq: int, max_ts_ns: int, segment_no: int, offset: int) -> None:
        if self.seqs and seq <= self.seqs[-1]:
            return  # re-scanning a range already indexed
        self.seqs.append(seq)
        self.max_ts.append(max_ts_ns)
        self.segs.append(segment_no)
        self.offsets.append(offset)

    def truncate_after(self, segment_no: int, offset: int) -> None:
        """Drops entries at or beyond (segment_no, offset): they point past a cut."""
        keep = len(self.seqs)
        while keep and (self.segs[keep - 1], self.offsets[keep - 1]) >= (segment_no, offset):
            keep -= 1
        del self.seqs[keep:], self.max_ts[keep:], self.segs[keep:], self.offsets[keep:]
        for no in [n for n in self.sealed if n >= segment_no]:
            del self.sealed[no]

    def last_entry_in(self, segment_no: int) -> tuple[int, int] | None:
        """(seq, offset) of the last entry in a segment, or None."""
        i = bisect.bisect_right(self.segs, segment_no) - 1
        if i >= 0 and self.segs[i] == segment_no:
            return self.seqs[i], self.offsets[i]
        return None

    def seek_seq(self, seq: int) -> tuple[int, int, int] | None:
        """(segment_no, offset, seq_there) of the last entry at or before `seq`."""
        i = bisect.bisect_right(self.seqs, seq) - 1
        if i < 0:
            return None
        return self.segs[i], self.offsets[i], self.seqs[i]

    def seek_time(self, ts_ns: int) -> tuple[int, int, int] | None:
        """(segment_no, offset, seq_there) of the entry to start from to see every record with
        timestamp >= ts_ns: the last entry whose running max is below ts_ns (every record up to
        it is earlier), or the first entry."""
        i = bisect.bisect_left(self.max_ts, ts_ns) - 1
        if not self.seqs:
            return None
        i = max(i, 0)
        return self.segs[i], self.offsets[i], self.seqs[i]

    # --- file ---------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        segs = np.zeros(len(self.sealed), dtype=SEGMENT_DTYPE)
        for i, s in enumerate(sorted(self.sealed.values(), key=lambda s: s.segment_no)):
            segs[i] = (s.segment_no, s.seal_offset, s.record_count, s.first_seq, s.last_seq,
                       s.min_ts_ns, s.max_ts_ns, s.uniform_size, s.uniform_type, 0)
        ent = np.zeros(len(self.seqs), dtype=ENTRY_DTYPE)
        ent["seq"] = self.seqs
        ent["max_ts_ns"] = self.max_ts
        ent["segment_no"] = self.segs
        ent["offset"] = self.offsets
        body = segs.tobytes() + ent.tobytes()
        head = _HEADER.pack(INDEX_MAGIC, INDEX_VERSION, self.every, self.journal_id, len(segs), len(ent),
                            self.covered_segment, self.covered_offset, self.covered_next_seq, crc32c(body))
        return head + body

    def save(self, directory: Path, durable: bool) -> None:
        path = Path(directory) / INDEX_NAME
        tmp = path.with_name(INDEX_NAME + ".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            os.fchmod(f.fileno(), 0o600)   # trading data: owner only, even over an old temp file
            f.write(self.to_bytes())
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, directory: Path) -> tuple[SparseIndex | None, str]:
        """The saved index, or (None, why it cannot be used)."""
        path = Path(directory) / INDEX_NAME
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None, "index file missing"
        if len(data) < _HEADER.size:
            return None, "index file truncated"
        (magic, version, every, journal_id, n_segs, n_ent, cov_seg, cov_off, cov_seq,
         crc) = _HEADER.unpack_from(data, 0)
        if magic != INDEX_MAGIC or version != INDEX_VERSION:
            return None, "index file has a foreign magic or version"
        body = data[_HEADER.size:]
        if len(body) != n_segs * SEGMENT_DTYPE.itemsize + n_ent * ENTRY_DTYPE.itemsize:
            return None, "index file size does not match its header"
        if crc32c(body) != crc:
            return None, "index file CRC32C does not match"
        segs = np.frombuffer(body, dtype=SEGMENT_DTYPE, count=n_segs)
        ent = np.frombuffer(body, dtype=ENTRY_DTYPE, count=n_ent, offset=n_segs * SEGMENT_DTYPE.itemsize)
        idx = cls(journal_id=journal_id, every=every)
        for r in segs:
            idx.sealed[int(r["segment_no"])] = SealedSegment(
                int(r["segment_no"]), int(r["seal_offset"]), int(r["record_count"]), int(r["first_seq"]),
                int(r["last_seq"]), int(r["min_ts_ns"]), int(r["max_ts_ns"]), int(r["uniform_size"]),
                int(r["uniform_type"]))
        idx.seqs = ent["seq"].astype(np.int64).tolist()
        idx.max_ts = ent["max_ts_ns"].tolist()
        idx.segs = ent["segment_no"].astype(np.int64).tolist()
        idx.offsets = ent["offset"].astype(np.int64).tolist()
        idx.covered_segment, idx.covered_offset, idx.covered_next_seq = cov_seg, cov_off, cov_seq
        return idx, ""
