"""Opening a journal's segments: the checks that run before anyone reads or appends.

Walks the segment chain (contiguous numbers, one journal id, sequences that continue, every
segment but the last sealed and naming its successor, no file shorter than its header says),
trusting sealed segments the index vouches for (after checking their seal record) and scanning
the rest with CRC32C. At the end of the data it tells three cases apart:
- clean end: nothing but zeros after the last record;
- torn or corrupt tail: a bad or partial record with nothing intact after it (what a crash
  mid-append leaves) -> reported, and cut to the last good record when opened for writing;
- corruption in the middle: a bad record with intact records after it -> JournalCorruptError
  naming the file and offset; nothing is skipped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fxpipe.journal import layout as L
from fxpipe.journal.errors import JournalCorruptError, JournalError, MissingSegmentError
from fxpipe.journal.index import SealedSegment, SparseIndex
from fxpipe.journal.scan import last_nonzero, record_status
from fxpipe.journal.scanning import intact_record_after, read_seal, scan_segment
from fxpipe.journal.segments import (
    MappedSegment,
    SegmentHeader,
    check_contiguous,
    data_bound,
    fsync_dir,
    leftover_temp_files,
    list_segment_numbers,
    read_header,
    segment_path,
)

CUT_ADVICE = ("copy the journal aside, then accept losing the records from this offset on with "
              "`fxpipe journal verify {dir} --truncate-at {name}:{offset}`")


@dataclass
class TailReport:
    path: Path
    offset: int          # where good data ends: the cut point
    reason: str
    garbage_bytes: int   # non-zero bytes after `offset`
    cut: bool = False

    def __str__(self) -> str:
        done = "cut" if self.cut else "not cut (read-only open)"
        return (f"torn tail in {self.path} at offset {self.offset}: {self.reason}; "
                f"{self.garbage_bytes} bytes {done}")


@dataclass
class SegmentInfo:
    header: SegmentHeader
    end: int              # offset after the last record: the seal's offset when sealed
    count: int
    first_seq: int
    next_seq: int
    min_ts: int
    max_ts: int
    sealed: bool
    uniform_size: int
    uniform_type: int
    verified: bool = False    # every record's CRC32C checked by this open

    @property
    def segment_no(self) -> int:
        return self.header.segment_no

    @property
    def path(self) -> Path:
        return self.header.path


@dataclass
class JournalState:
    directory: Path
    journal_id: int
    first_seq: int
    segments: list[SegmentInfo]
    index: SparseIndex
    next_seq: int
    max_ts: int
    tail: TailReport | None = None
    notes: list[str] = field(default_factory=list)
    index_dirty: bool = False


def _corrupt(seg: SegmentHeader, offset: int, reason: str, directory: Path) -> JournalCorruptError:
    return JournalCorruptError(seg.path, offset, reason, CUT_ADVICE.format(
        dir=directory, name=seg.path.name, offset=offset))


def _bad_reason(status: L.ScanStatus) -> str:
    return L.SCAN_REASONS.get(status, status.name)


class _StaleIndex(Exception):
    """The index vouches for a seal that is not there: start over without it."""


def load_state(directory: Path, writable: bool, index_every: int, live_writer: bool = False) -> JournalState:
    """Checks the journal in `directory` and returns its state. `writable` cuts a torn tail and
    finishes an interrupted roll-over; `live_writer` (readers only) means another process is
    appending, so a record without its commit marker is in progress, not torn."""
    directory = Path(directory)
    leftovers = leftover_temp_files(directory) if writable else []
    for p in leftovers:
        p.unlink()  # a segment whose creation was interrupted: never named, never written to
    numbers = list_segment_numbers(directory)
    check_contiguous(directory, numbers)
    headers = [read_header(segment_path(directory, n)) for n in numbers]
    for n, h in zip(numbers, headers, strict=True):
        if h.segment_no != n:
            raise JournalCorruptError(h.path, 24, f"header names segment {h.segment_no}, not the file's number")
        if h.journal_id != headers[0].journal_id:
            raise JournalError(f"{h.path} belongs to another journal (id {h.journal_id:#x}, "
                               f"not {headers[0].journal_id:#x}); remove the foreign segment")
    index, why = SparseIndex.load(directory)
    if index is not None and headers and index.journal_id != headers[0].journal_id:
        index, why = None, "index belongs to another journal"
    if index is not None and not _index_agrees(index, headers):
        index, why = None, "index disagrees with the segments"
    try:
        state = _walk(directory, headers, index, why, writable, index_every, live_writer)
    except _StaleIndex:
        state = _walk(directory, headers, None, "a sealed segment it describes has changed", writable,
                      index_every, live_writer)
    state.notes += [f"removed {p.name}, left by a roll-over interrupted while creating it" for p in leftovers]
    return state


def _walk(directory: Path, headers: list[SegmentHeader], index: SparseIndex | None, why: str,
          writable: bool, index_every: int, live_writer: bool) -> JournalState:
    state = JournalState(directory, 0, 1, [], SparseIndex(0, index_every), 1, -(1 << 63))
    if not headers:
        return state
    state.journal_id = headers[0].journal_id
    state.first_seq = state.next_seq = headers[0].first_seq
    if index is None:
        if why != "index file missing" or len(headers) > 1 or _has_records(headers[0]):
            state.notes.append(f"index rebuilt from the segments ({why})")
        state.index_dirty = True
        index = SparseIndex(state.journal_id, index_every)
    state.index = index
    index.truncate_after(headers[-1].segment_no, 0)  # the open segment is always rescanned
    i = 0
    while i < len(headers):
        h = headers[i]
        last = i == len(headers) - 1
        if h.first_seq != state.next_seq:
            raise _corrupt(h, 32, f"segment starts at sequence {h.first_seq} but the previous one "
                                  f"ended before {state.next_seq}", directory)
        if h.file_size < h.segment_size and not last:
            raise _corrupt(h, h.file_size, f"file is {h.file_size} bytes, its header says "
                                           f"{h.segment_size}: the segment was truncated", directory)
        info = None if last else _trusted_sealed(index, h)
        if info is None:
            info = _scan_one(state, h, last, writable, live_writer, headers)
        state.segments.append(info)
        state.next_seq = info.next_seq
        if info.count:
            state.max_ts = max(state.max_ts, info.max_ts)
        if not info.sealed and not last and writable:
            # An interrupted roll-over: drop the empty successor; appending resumes here and
            # rolls over again when the segment is full.
            nxt = headers[i + 1].path
            nxt.unlink()
            fsync_dir(directory)
            state.notes.append(f"removed empty {nxt.name} left by an interrupted roll-over")
            break
        i += 1
    index.covered_segment = state.segments[-1].segment_no
    index.covered_offset = state.segments[-1].end
    index.covered_next_seq = state.next_seq
    return state


def _has_records(h: SegmentHeader) -> bool:
    return not _segment_is_empty(h)


def _index_agrees(index: SparseIndex, headers: list[SegmentHeader]) -> bool:
    numbers = {h.segment_no for h in headers}
    return all(no in numbers for no in index.sealed) and all(s in numbers for s in set(index.segs))


def _trusted_sealed(index: SparseIndex, h: SegmentHeader) -> SegmentInfo | None:
    """The summary of a sealed segment from the index, once its seal record checks out."""
    row: SealedSegment | None = index.sealed.get(h.segment_no)
    if row is None:
        return None
    seg = MappedSegment(h)
    try:
        off = row.seal_offset
        if off + L.SEAL_RECORD_SIZE > seg.size or record_status(seg.buf, off, row.last_seq + 1, True) != L.ScanStatus.SEAL:
            raise _StaleIndex()
        if row.first_seq != h.first_seq and row.record_count:
            raise _StaleIndex()
        body = read_seal(seg.buf, off)
        if int(body["next_segment_no"]) != h.segment_no + 1 or int(body["record_count"]) != row.record_count:
            raise _StaleIndex()
    finally:
        seg.close()
    return SegmentInfo(h, off, row.record_count, h.first_seq, row.last_seq + 1, row.min_ts_ns,
                       row.max_ts_ns, True, row.uniform_size, row.uniform_type)


def _scan_one(state: JournalState, h: SegmentHeader, last: bool, writable: bool, live_writer: bool,
              headers: list[SegmentHeader]) -> SegmentInfo:
    directory = state.directory
    index = state.index
    seg = MappedSegment(h)
    try:
        end = min(seg.size, h.segment_size)
        sc = scan_segment(seg.buf, L.SEGMENT_HEADER_SIZE, end, h.first_seq, True, False, index,
                          h.segment_no, state.max_ts if state.max_ts > -(1 << 63) else None)
        state.index_dirty = True
        info = SegmentInfo(h, sc.stop, sc.count, h.first_seq, sc.next_seq, sc.min_ts, sc.max_ts, False,
                           sc.uniform_size, sc.uniform_type, verified=True)
        if sc.status == L.ScanStatus.SEAL:
            body = read_seal(seg.buf, sc.stop)
            if int(body["next_segment_no"]) != h.segment_no + 1 or int(body["record_count"]) != sc.count:
                raise _corrupt(h, sc.stop, "seal record does not match the segment", directory)
            if last:
                if live_writer and segment_path(directory, h.segment_no + 1).exists():
                    info.sealed = True
                    return info  # the writer rolled over while we looked; our view ends here
                raise MissingSegmentError(
                    f"{segment_path(directory, h.segment_no + 1)} is missing: {h.path.name} is sealed "
                    f"and names it as the next segment; restore it")
            info.sealed = True
            index.sealed[h.segment_no] = SealedSegment(h.segment_no, sc.stop, sc.count, h.first_seq,
                                                       sc.next_seq - 1, sc.min_ts, sc.max_ts,
                                                       sc.uniform_size, sc.uniform_type)
            return info
        if sc.status == L.ScanStatus.BAD_SEQ:
            raise _corrupt(h, sc.stop, f"intact record with sequence out of order "
                                       f"(expected {sc.next_seq})", directory)
        if sc.status == L.ScanStatus.END and live_writer and last:
            return info  # the next record is being written
        bound = data_bound(h.path, sc.stop, end)  # past it the file can only read as zeros
        found = intact_record_after(seg.buf, sc.stop + 8, bound)
        unsynced = last and 0 < h.synced_offset <= sc.stop
        if found >= 0 and not unsynced:
            what = _bad_reason(sc.status)
            raise _corrupt(h, sc.stop, f"{what}, and intact records follow at offset {found}", directory)
        garbage = last_nonzero(seg.buf, sc.stop, bound) - sc.stop
        truncated = seg.size < h.segment_size
        if not last:
            # Only a roll-over interrupted between creating the next segment and sealing this
            # one leaves an unsealed segment before the last; the last must then be empty.
            nxt = headers[headers.index(h) + 1]
            if not _segment_is_empty(nxt):
                raise _corrupt(h, sc.stop, f"segment is not sealed ({_bad_reason(sc.status)}) "
                                           f"but {nxt.path.name} after it holds records", directory)
        if found >= 0:
            # After the synced watermark: records the batch policy never promised were on disk,
            # left with holes by a power cut. Not corruption: cut like a torn tail.
            state.tail = TailReport(h.path, sc.stop, f"unsynced records after a power cut: a hole at "
                                    f"offset {sc.stop}, past the last sync (offset {h.synced_offset}), "
                                    f"with records written back after it", garbage)
        elif garbage or truncated or sc.status.is_bad:
            reason = (f"file truncated to {seg.size} of {h.segment_size} bytes" if truncated and not garbage
                      else f"{_bad_reason(sc.status)}" if sc.status.is_bad
                      else "partly written record (no commit marker)")
            state.tail = TailReport(h.path, sc.stop, reason, garbage)
    finally:
        seg.close()
    if writable and state.tail is not None and state.tail.path == h.path:
        _cut(h, sc.stop)
        state.tail.cut = True
    return info


def _segment_is_empty(h: SegmentHeader) -> bool:
    seg = MappedSegment(h)
    try:
        return record_status(seg.buf, L.SEGMENT_HEADER_SIZE) == L.ScanStatus.END
    finally:
        seg.close()


_CUT_CHUNK = 1 << 20


def _cut(h: SegmentHeader, offset: int) -> None:
    """Zeroes everything from `offset` to the end of the segment (restoring its full size), so
    nothing after the last good record can be mistaken for data later. In place, never by
    shrinking the file: a reader that has the segment mapped (a tailing JournalReader, the
    QuestDB sink) would take SIGBUS on any page past a shorter file's end."""
    fd = os.open(h.path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        pos = offset
        while pos < size:
            chunk = os.pread(fd, min(_CUT_CHUNK, size - pos), pos)
            if not chunk:
                break
            if chunk.count(0) != len(chunk):
                os.pwrite(fd, bytes(len(chunk)), pos)
            pos += len(chunk)
        if size < h.segment_size:
            try:
                os.posix_fallocate(fd, 0, h.segment_size)
            except OSError:
                os.ftruncate(fd, h.segment_size)   # growing: no mapping of it loses a page
        os.fsync(fd)
    finally:
        os.close(fd)


def truncate_at(directory: Path, segment_name: str, offset: int) -> list[Path]:
    """Operator action: cut the journal at (segment, offset), dropping that segment's records
    from `offset` on and every later segment. Returns the files removed."""
    directory = Path(directory)
    numbers = list_segment_numbers(directory)
    names = {L.segment_name(n): n for n in numbers}
    if segment_name not in names:
        raise JournalError(f"no segment {segment_name} in {directory}")
    no = names[segment_name]
    h = read_header(segment_path(directory, no))
    if offset < L.SEGMENT_HEADER_SIZE or offset % L.RECORD_ALIGN or offset > h.segment_size - L.SEAL_RECORD_SIZE:
        raise JournalError(f"offset {offset} is not a record offset in {segment_name} "
                           f"(8-aligned, {L.SEGMENT_HEADER_SIZE}..{h.segment_size - L.SEAL_RECORD_SIZE})")
    removed = []
    for n in reversed(numbers):
        if n > no:
            p = segment_path(directory, n)
            p.unlink()
            removed.append(p)
    _cut(h, offset)
    from fxpipe.journal.index import INDEX_NAME
    (directory / INDEX_NAME).unlink(missing_ok=True)
    return removed
