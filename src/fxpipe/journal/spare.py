"""Segments written ahead: zero-filled a slice at a time in the writer's idle moments, the rest
of the current segment first (one made preallocated, at the journal's creation or by an older
build), then the next segment, so that the roll-over finds it ready; the appends then never
land in space the filesystem has only reserved.

Why written, not preallocated: a segment made with posix_fallocate is reserved as unwritten
extents. Every sync of the records written into it since the last one (the oms journal is synced
every 10 ms) then has the filesystem convert that slice to written, a metadata update done by a
kernel worker thread on whichever core is free (often the trading core: measured as the trader's
most frequent preemption: 250–370 times in an 8-second run at 10k quotes/s, ~25 µs each) and one more
I/O whose completion interrupts the core the disk's interrupt is bound to. Once a segment's
blocks have been written, the records only overwrite them and a sync writes the data alone.

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
from fxpipe.journal.segments import TMP_SUFFIX, fsync_dir, segment_path

log = logging.getLogger("fxpipe.journal.spare")

STEP_BYTES = 256 << 10        # zeroed per idle call: ~50 µs of the writer's time at most
_ZEROS = bytes(STEP_BYTES)
_SYNC_FILE_RANGE_WRITE = 2


def zero_step(fd: int, start: int, end: int) -> int:
    """Writes zeros over [start, min(end, start + STEP_BYTES)) of the file; returns the bytes
    written (OSError as the write raised it)."""
    n = min(STEP_BYTES, end - start)
    if n <= 0:
        return 0
    return os.pwrite(fd, _ZEROS if n == STEP_BYTES else _ZEROS[:n], start)


def _start_writeback(fd: int) -> None:
    """Starts writing the file's dirty pages without waiting for them (sync_file_range), so the
    fsync at the roll-over finds them written; where the call is missing, the fsync does it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    fn(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


class SpareSegment:
    """Segment `segment_no` of `directory` in the making, `size` bytes."""

    def __init__(self, directory: Path, segment_no: int, size: int):
        self.directory = Path(directory)
        self.segment_no = segment_no
        self.size = size
        self.final = segment_path(self.directory, segment_no)
        self.path = self.final.with_name(self.final.name + TMP_SUFFIX)
        self.filled = 0
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)  # trading data: owner only

    @property
    def ready(self) -> bool:
        return self.fd >= 0 and self.filled >= self.size

    def step(self, nbytes: int = STEP_BYTES) -> bool:
        """Zero-fills the next `nbytes` (at most STEP_BYTES); True once the whole file is written
        (and its writeback started). An error (a full disk) drops the spare: False from then on."""
        if self.fd < 0 or self.ready:
            return self.ready
        try:
            written = zero_step(self.fd, self.filled, min(self.size, self.filled + nbytes))
        except OSError as exc:
            log.warning("journal %s: the next segment could not be written ahead (%s); it will be made at "
                        "the roll-over", self.directory, exc.strerror)
            self.discard()
            return False
        self.filled += written
        if self.ready:
            _start_writeback(self.fd)
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
