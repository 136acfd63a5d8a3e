"""Segments written ahead (Journal.open(write_ahead=True)): zero-filled a slice at a time in the
writer's idle moments, the rest of the current segment first (one made preallocated, at the
journal's creation or by an older build), then the next segment, so that the roll-over finds it
ready; the appends then never land in space the filesystem has only reserved.

Why written, not preallocated: a segment made with posix_fallocate is reserved as unwritten
extents. Every sync of the records written into it since the last one (the oms journal is synced
every 10 ms) then has the filesystem convert that slice to written, a metadata update done by a
kernel worker thread on whichever core is free (on the 2-core VM often the trading core: the
trader's most frequent preemption, ~25 µs each) and one more I/O. Once a segment's blocks have
been written, the records only overwrite them and a sync writes the data alone. The price is
twice the disk writes; docs/journal.md has what it gave in the tick-to-trade bench and why it is
off by default.

The spare lives under the temporary name (`NNN.fxj.tmp`) until the roll-over: it gets its
header, is fsynced, and only then takes its real name, as a segment made at the roll-over does.
A spare left by a crash is removed when the journal is next opened, like any creation that was
interrupted. When the disk cannot take it, the spare is dropped and the roll-over makes its
segment the usual way, where a full disk is a clear error.
"""
from __future__ import annotations

import ctypes
import logging
import os
import time
from pathlib import Path

from fxpipe.journal import layout as L
from fxpipe.journal.crc import crc32c
from fxpipe.journal.libc import libc_function
from fxpipe.journal.segments import TMP_SUFFIX, fsync_dir, segment_path

log = logging.getLogger("fxpipe.journal.spare")

STEP_BYTES = 256 << 10        # zeroed per idle call: ~50 µs of the writer's time at most
_ZEROS = bytes(STEP_BYTES)
_SYNC_FILE_RANGE_WRITE = 2


_SYNC_RANGE = libc_function("sync_file_range", (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint))


class ZeroFill:
    """Writes zeros over [start, end) of a file a slice at a time, then starts the writeback of
    that range a slice at a time (sync_file_range, not waiting for it). The writeback matters as
    much as the zeros: the filesystem turns reserved space into written space when it first
    writes a block back, so until then every sync of records there still converts. Started
    here, it happens in a few large pieces, early; left to the syncs that cover the records (the
    journal process's msync of what it wrote), it happens one small piece per sync. A slice is at
    most STEP_BYTES either way: a whole segment's writeback at once would take the writer's core
    for milliseconds."""

    def __init__(self, fd: int, start: int, end: int):
        self.fd, self.end = fd, end
        self.filled = self.flushed = start
        if _SYNC_RANGE is None:
            self.flushed = end          # the filesystem's own writeback, or an fsync, does it

    @property
    def done(self) -> bool:
        return self.filled >= self.end and self.flushed >= self.end

    def step(self, floor: int = 0) -> bool:
        """One slice; True once the range is written and its writeback started. OSError as the
        write raised it (a full disk). floor: where records may lie up to now (a segment being
        appended to between two slices): zeros are written past it, never over a record."""
        if floor > self.filled:
            self.filled = min(floor, self.end)
        if self.filled < self.end:
            n = min(STEP_BYTES, self.end - self.filled)
            self.filled += os.pwrite(self.fd, _ZEROS if n == STEP_BYTES else _ZEROS[:n], self.filled)
        elif self.flushed < self.end:
            n = min(STEP_BYTES, self.end - self.flushed)
            assert _SYNC_RANGE is not None
            if _SYNC_RANGE(self.fd, self.flushed, n, _SYNC_FILE_RANGE_WRITE) != 0:
                self.flushed = self.end     # refused: the filesystem's own writeback does it
            else:
                self.flushed += n
        return self.done


class SpareSegment:
    """Segment `segment_no` of `directory` in the making, `size` bytes."""

    def __init__(self, directory: Path, segment_no: int, size: int):
        self.directory = Path(directory)
        self.segment_no = segment_no
        self.size = size
        self.final = segment_path(self.directory, segment_no)
        self.path = self.final.with_name(self.final.name + TMP_SUFFIX)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)  # trading data: owner only
        self._fill = ZeroFill(self.fd, 0, size)

    @property
    def ready(self) -> bool:
        """Written and its writeback started: the fsync at the roll-over waits for the header
        alone."""
        return self.fd >= 0 and self._fill.done

    def step(self) -> bool:
        """One slice of the work (ZeroFill); True once it is ready. An error (a full disk) drops
        the spare: False from then on."""
        if self.fd < 0 or self.ready:
            return self.ready
        try:
            self._fill.step()
        except OSError as exc:
            log.warning("journal %s: the next segment could not be written ahead (%s); it will be made at "
                        "the roll-over", self.directory, exc.strerror)
            self.discard()
            return False
        return self.ready

    def install(self, journal_id: int, first_seq: int) -> int:
        """Makes the spare the journal's segment: header written, fsynced, renamed to its real
        name, the directory fsynced. Returns its descriptor (the caller's from now on)."""
        if not self.ready:
            raise RuntimeError(f"spare segment {self.path} is not written yet")
        header = L.pack_segment_header(journal_id, self.segment_no, first_seq, time.time_ns(), os.getpid(),
                                       self.size, crc32c)
        fd, self.fd = self.fd, -1
        try:
            os.pwrite(fd, header, 0)
            os.fsync(fd)
            os.rename(self.path, self.final)
            fsync_dir(self.directory)
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        return fd

    def discard(self) -> None:
        """Closes and removes the spare (an unfinished one, or one the journal no longer needs)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.path.unlink(missing_ok=True)
