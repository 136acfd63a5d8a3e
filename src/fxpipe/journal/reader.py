"""JournalReader: reading a journal without disturbing its writer.

Opening runs the same checks as the writer (fxpipe.journal.recovery) without changing a byte:
a torn tail is reported in `tail`, corruption in the middle raises. Records come out of a
streaming iterator (`records`, with seeks by sequence or time through the sparse index and
filters by time and type), as per-segment record tables, or as numpy views (fxpipe.journal.views).
A reader sees the journal as it was when opened; `refresh()` picks up what a live writer added.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.errors import JournalCorruptError, JournalError
from fxpipe.journal.lock import writer_is_live
from fxpipe.journal.recovery import CUT_ADVICE, SegmentInfo, load_state
from fxpipe.journal.scan import scan_records
from fxpipe.journal.scanning import CHUNK
from fxpipe.journal.segments import MappedSegment
from fxpipe.journal.writer import DEFAULT_INDEX_EVERY


class Record(NamedTuple):
    seq: int
    ts_ns: int
    type: int
    flags: int
    stage: int
    payload: bytes
    segment_no: int
    offset: int


class JournalReader:
    def __init__(self, directory, verify: bool = True):
        """verify: check every record's CRC32C as it is read (on by default; off trusts the
        seals of segments the index vouches for, for the fastest research reads)."""
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise JournalError(f"no journal at {self.directory}")
        self.verify = verify
        self._maps: dict[int, MappedSegment] = {}
        self._tables: dict[int, np.ndarray] = {}
        self.refresh()

    def refresh(self) -> None:
        self.close()
        self.live_writer = writer_is_live(self.directory)
        state = load_state(self.directory, writable=False, index_every=DEFAULT_INDEX_EVERY,
                           live_writer=self.live_writer)
        self.state = state
        self.segments: list[SegmentInfo] = state.segments
        self.index = state.index
        self.tail = state.tail
        self.notes = state.notes
        self._by_no = {s.segment_no: s for s in self.segments}

    # --- summary --------------------------------------------------------------------------------

    @property
    def first_seq(self) -> int:
        return self.state.first_seq

    @property
    def next_seq(self) -> int:
        return self.state.next_seq

    @property
    def record_count(self) -> int:
        return sum(s.count for s in self.segments)

    def segment(self, segment_no: int) -> SegmentInfo:
        try:
            return self._by_no[segment_no]
        except KeyError:
            raise JournalError(f"no segment {segment_no} in {self.directory}") from None

    def mapped(self, segment_no: int) -> MappedSegment:
        m = self._maps.get(segment_no)
        if m is None:
            info = self.segment(segment_no)
            m = self._maps[segment_no] = MappedSegment(info.header, populate_to=info.end + L.SEAL_RECORD_SIZE)
        return m

    # --- record tables --------------------------------------------------------------------------

    def table(self, segment_no: int, start: int | None = None) -> np.ndarray:
        """Every record of a segment from offset `start` (default: the first) as a
        RECORD_INDEX_DTYPE array, checked as it is scanned."""
        info = self.segment(segment_no)
        if start is None or start == L.SEGMENT_HEADER_SIZE:
            cached = self._tables.get(segment_no)
            if cached is None:
                cached = self._tables[segment_no] = self._scan(info, L.SEGMENT_HEADER_SIZE, info.first_seq)
            return cached
        return self._scan(info, start, None)

    def _scan(self, info: SegmentInfo, start: int, expect_seq: int | None) -> np.ndarray:
        buf = self.mapped(info.segment_no).buf
        out = np.empty(min(CHUNK, max(info.count, 1)), dtype=L.RECORD_INDEX_DTYPE)
        parts = []
        pos = start
        if expect_seq is None:
            expect_seq = int(np.frombuffer(buf, "<u8", 1, start + 16)[0])
        while pos < info.end:
            n, pos, status, expect_seq = scan_records(buf, pos, info.end, expect_seq, self.verify, out)
            parts.append(out[:n].copy())
            if status == L.ScanStatus.MORE:
                continue
            if pos < info.end and status != L.ScanStatus.SEAL:
                reason = L.SCAN_REASONS.get(L.ScanStatus(status), "bad record")
                if info.verified:
                    reason += " (the file changed after the journal was opened)"
                raise JournalCorruptError(info.path, pos, reason, CUT_ADVICE.format(
                    dir=self.directory, name=info.path.name, offset=pos))
            break
        return np.concatenate(parts) if parts else np.empty(0, dtype=L.RECORD_INDEX_DTYPE)

    # --- numpy ----------------------------------------------------------------------------------

    def views(self, rtype: int, event_dtype: np.dtype | None = None):
        """Per-segment numpy views of the `rtype` records (see fxpipe.journal.views)."""
        from fxpipe.journal.views import segment_views
        return list(segment_views(self, rtype, event_dtype))

    def array(self, rtype: int, event_dtype: np.dtype | None = None) -> np.ndarray:
        """Every `rtype` record as one structured array (fields hdr, event)."""
        from fxpipe.journal.views import read_array
        return read_array(self, rtype, event_dtype)

    # --- streaming ------------------------------------------------------------------------------

    def _start(self, start_seq: int | None, start_ts: int | None) -> tuple[int, int]:
        """(segment index in self.segments, offset) to begin a stream from."""
        pos = None
        if start_seq is not None:
            pos = self.index.seek_seq(start_seq)
        elif start_ts is not None:
            pos = self.index.seek_time(start_ts)
        if pos is None:
            return 0, L.SEGMENT_HEADER_SIZE
        seg_no, offset, _ = pos
        for i, s in enumerate(self.segments):
            if s.segment_no == seg_no:
                return i, offset
        return 0, L.SEGMENT_HEADER_SIZE

    def records(self, start_seq: int | None = None, end_seq: int | None = None,
                start_ts: int | None = None, end_ts: int | None = None,
                types: Iterable[int] | None = None) -> Iterator[Record]:
        """Records in sequence order, from start_seq (or the first with ts >= start_ts), through
        end_seq, with start_ts <= ts < end_ts, of the given types. Journal-internal records
        (seals) never appear; stage-start and state-hash records do unless `types` excludes them."""
        want = None if types is None else np.array(sorted(set(types)), dtype=np.uint16)
        first_i, offset = self._start(start_seq, start_ts)
        for info in self.segments[first_i:]:
            if info.count == 0:
                continue
            if start_ts is not None and info.max_ts < start_ts:
                offset = L.SEGMENT_HEADER_SIZE
                continue
            if end_ts is not None and info.min_ts >= end_ts:
                offset = L.SEGMENT_HEADER_SIZE
                continue
            if end_seq is not None and info.first_seq > end_seq:
                return
            t = self.table(info.segment_no, offset)
            offset = L.SEGMENT_HEADER_SIZE
            mask = np.ones(len(t), dtype=bool)
            if start_seq is not None:
                mask &= t["seq"] >= start_seq
            if end_seq is not None:
                mask &= t["seq"] <= end_seq
            if start_ts is not None:
                mask &= t["ts_ns"] >= start_ts
            if end_ts is not None:
                mask &= t["ts_ns"] < end_ts
            if want is not None:
                mask &= np.isin(t["type"], want)
            sel = t[mask]
            if not len(sel):
                continue
            mm = self.mapped(info.segment_no).mm
            no = info.segment_no
            for off, seq, ts, length, rtype, stage, flags in sel.tolist():
                p = off + L.RECORD_HEADER_SIZE
                yield Record(seq, ts, rtype, flags, stage, mm[p:p + length], no, off)

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def get(self, seq: int) -> Record:
        for r in self.records(start_seq=seq, end_seq=seq):
            return r
        raise JournalError(f"no record with sequence {seq} in {self.directory} "
                           f"(it holds {self.first_seq}..{self.next_seq - 1})")

    # --- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        for m in getattr(self, "_maps", {}).values():
            m.close()
        self._maps = {}
        self._tables = {}

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
