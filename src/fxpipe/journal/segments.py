"""Segment files: naming, creating (preallocated, header written, made durable before it is
named), listing with the checks that make a missing or foreign segment an error, and
read-only mappings for readers. The record-level walking is in fxpipe.journal.recovery."""
from __future__ import annotations

import mmap
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from fxpipe.journal import layout as L
from fxpipe.journal.crc import crc32c
from fxpipe.journal.errors import JournalCorruptError, JournalError, MissingSegmentError

_SEGMENT_RE = re.compile(r"^(\d{12})\.fxj$")
TMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class SegmentHeader:
    path: Path
    segment_no: int
    journal_id: int
    first_seq: int
    segment_size: int
    created_ns: int
    creator_pid: int
    file_size: int
    synced_offset: int = 0    # batch fsync: everything before it is on stable storage (0: not kept)


def segment_path(directory: Path, segment_no: int) -> Path:
    return Path(directory) / L.segment_name(segment_no)


def list_segment_numbers(directory: Path) -> list[int]:
    nums = []
    for entry in os.scandir(directory):
        m = _SEGMENT_RE.match(entry.name)
        if m:
            nums.append(int(m.group(1)))
    return sorted(nums)


def leftover_temp_files(directory: Path) -> list[Path]:
    return sorted(Path(directory).glob("*.fxj" + TMP_SUFFIX))


def check_contiguous(directory: Path, numbers: list[int]) -> None:
    """Segments are numbered 0, 1, 2, ...; a gap or a missing first segment is an error."""
    if not numbers:
        return
    if numbers[0] != 0:
        raise MissingSegmentError(
            f"{segment_path(directory, 0)} is missing: the journal's segments start at "
            f"{L.segment_name(numbers[0])}; restore the missing segment files")
    for prev, cur in zip(numbers, numbers[1:], strict=False):
        if cur != prev + 1:
            missing = ", ".join(L.segment_name(n) for n in range(prev + 1, min(cur, prev + 4)))
            raise MissingSegmentError(
                f"segment(s) {missing}{' ...' if cur - prev > 4 else ''} missing from {directory} "
                f"(found {L.segment_name(prev)} then {L.segment_name(cur)}); restore them")


def read_header(path: Path) -> SegmentHeader:
    """The validated header of a segment file; JournalCorruptError when it is not one."""
    with open(path, "rb") as f:
        data = f.read(L.SEGMENT_HEADER_SIZE)
        file_size = os.fstat(f.fileno()).st_size
        if len(data) == L.SEGMENT_HEADER_SIZE and crc32c(data[:60]) != int.from_bytes(data[60:64], "little"):
            # a live writer updates watermark and CRC in one 8-byte store: read once more
            f.seek(0)
            data = f.read(L.SEGMENT_HEADER_SIZE)
    if len(data) < L.SEGMENT_HEADER_SIZE:
        raise JournalCorruptError(path, len(data), f"segment header truncated ({file_size} bytes)")
    h = L.unpack_segment_header(data)
    if h["magic"] != L.SEGMENT_MAGIC:
        raise JournalCorruptError(path, 0, f"not a journal segment (magic {h['magic']:#018x})")
    if h["version"] != L.LAYOUT_VERSION:
        raise JournalCorruptError(path, 8, f"layout version {h['version']} is not supported "
                                           f"(this fxpipe reads version {L.LAYOUT_VERSION})")
    if crc32c(data[:60]) != h["header_crc"]:
        raise JournalCorruptError(path, 60, "segment header CRC32C does not match")
    if h["header_size"] != L.SEGMENT_HEADER_SIZE or h["segment_size"] < L.SEGMENT_HEADER_SIZE + L.SEAL_RECORD_SIZE:
        raise JournalCorruptError(path, 12, "segment header sizes are inconsistent")
    return SegmentHeader(Path(path), h["segment_no"], h["journal_id"], h["first_seq"],
                         h["segment_size"], h["created_ns"], h["creator_pid"], file_size,
                         h["synced_units"] * 8)


def header_looks_unwritten(path: Path) -> bool:
    """True when a segment file holds no header at all (all zero or empty): what a crash while
    creating it leaves behind."""
    with open(path, "rb") as f:
        data = f.read(L.SEGMENT_HEADER_SIZE)
    return not any(data)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_segment(directory: Path, segment_no: int, journal_id: int, first_seq: int,
                   segment_size: int) -> int:
    """Creates segment `segment_no` durably and returns it open read-write.

    The file is built under a temporary name (preallocated so a full disk fails here, not as a
    SIGBUS inside the mapping; header written; fsynced) and only then renamed, so a segment
    under its real name always has a valid header.
    """
    final = segment_path(directory, segment_no)
    tmp = final.with_name(final.name + TMP_SUFFIX)
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)  # trading data: owner only
    try:
        try:
            os.posix_fallocate(fd, 0, segment_size)
        except OSError as exc:
            if exc.errno not in (95, 22):  # EOPNOTSUPP, EINVAL: filesystem without fallocate
                raise JournalError(f"cannot allocate {segment_size} bytes for {final}: {exc.strerror}; "
                                   f"free disk space or lower segment_size") from exc
            os.ftruncate(fd, segment_size)
        header = L.pack_segment_header(journal_id, segment_no, first_seq, time.time_ns(), os.getpid(),
                                       segment_size, crc32c)
        os.pwrite(fd, header, 0)
        os.fsync(fd)
        os.rename(tmp, final)
        fsync_dir(directory)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return fd


MADV_POPULATE_READ = 22  # Linux 5.14+: fault pages in now, in one call


class MappedSegment:
    """A read-only mapping of one segment file (the whole file; pages faulted in on demand, or
    up front for a range with populate())."""

    def __init__(self, header: SegmentHeader, populate_to: int = 0):
        self.header = header
        self.path = header.path
        self.segment_no = header.segment_no
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.mm = mmap.mmap(f.fileno(), size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        self.size = size
        self.buf = memoryview(self.mm)
        if populate_to:
            self.populate(populate_to)

    def populate(self, upto: int) -> None:
        """Maps the pages of [0, upto) now: only the part that holds records, not the
        preallocated rest (which would fill the page cache with zeros)."""
        length = min(self.size, -(-upto // L.PAGE) * L.PAGE)
        try:
            self.mm.madvise(MADV_POPULATE_READ, 0, length)
        except OSError:
            self.mm.madvise(mmap.MADV_WILLNEED, 0, length)

    def close(self) -> None:
        self.buf.release()
        try:
            self.mm.close()
        except BufferError:
            pass  # numpy views still use it; the mapping goes when they do


def data_bound(path: Path, start: int, end: int) -> int:
    """Where the bytes that may hold records end, at or after `start`: the first hole the
    filesystem reports (preallocated or never written space reads as zeros), else `end`."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            hole = os.lseek(fd, start, os.SEEK_HOLE)
        finally:
            os.close(fd)
    except OSError:
        return end
    return min(end, max(start, -(-hole // L.PAGE) * L.PAGE))
