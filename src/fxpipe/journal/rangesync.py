"""Syncing a live segment a page at a time, behind its writer: the pages the writer has finished
are made durable; the one it is writing is left to it while it writes.

Why: the oms's journal is synced every 10 ms by the journal process while the trader appends to
it through a shared mapping. A sync of the whole file locks the page being written while its
write-back is submitted and write-protects it (and the pages readied ahead) when it is done, so
the trader's next append faults, and sometimes waits for the lock. In the tick-to-trade bench
that interference was the largest part of the order path's 99th percentile: with the sync every
100 ms instead of 10 the p99 fell from ~150 to ~108 µs. Pages the writer has finished are never
written by it again: syncing them costs the writer nothing.

How: the segment is mapped read-only here and its committed records are walked from where the
last walk stopped (a record counts once its commit marker is stored, which the writer does
last), giving the writer's position. Whole pages up to it are synced with msync(MS_SYNC) on the
range, which writes the range and flushes the device cache (fdatasync's guarantee, for the
range). The page holding the position is synced too when the writer has not moved for a period
(a quiet desk is then durable to its last record within two periods), or when records have sat
unsynced in it for `partial_max_ns`, so a power cut takes at most that much of the records in
the page being written, and at most one period of any other.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import time
from pathlib import Path

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.libc import libc_function
from fxpipe.journal.scan import scan_records
from fxpipe.prefault import PAGE

_MS_SYNC = 4


_MSYNC = libc_function("msync", (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int))


class RangeSyncUnavailable(OSError):
    pass


class RangeSyncUnread(RangeSyncUnavailable):
    """The segment holds a record that is not intact: it is synced whole from then on."""


class WrittenRange:
    """The newest segment of a journal being written by another process, synced behind it."""

    def __init__(self, path: Path, partial_max_ns: int, clock=time.monotonic_ns):
        if _MSYNC is None:
            raise RangeSyncUnavailable("msync is not available here")
        self.path = Path(path)
        self.partial_max_ns = partial_max_ns
        self.clock = clock
        self.fd = os.open(self.path, os.O_RDONLY)
        try:
            size = os.fstat(self.fd).st_size
            self._map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        except BaseException:
            os.close(self.fd)
            raise
        self._bytes: np.ndarray | None = np.frombuffer(self._map, dtype=np.uint8)
        self._addr = self._bytes.ctypes.data
        self.size = size
        self._out = np.zeros(1024, dtype=L.RECORD_INDEX_DTYPE)
        self.end = L.SEGMENT_HEADER_SIZE       # one past the last committed record found
        self.synced_pages = 0                  # [0, synced_pages) synced as whole pages
        self.durable = 0                       # records before this offset are durable
        self._end_at_last_sync = -1
        self._pending_since = 0                # when records first sat unsynced in the last page

    def _walk(self) -> int:
        """The writer's position: one past the last committed record. A record that is not
        intact (not merely unfinished) is RangeSyncUnread: past it the position is unknown, and
        the caller syncs the whole file instead."""
        while True:
            assert self._bytes is not None, "the range is used only until close()"
            n, pos, status, _ = scan_records(self._bytes, self.end, self.size, 0, False, self._out, False)
            self.end = pos
            if status == L.ScanStatus.MORE:
                continue
            if L.ScanStatus(status).is_bad:
                raise RangeSyncUnread(f"{self.path}: record at offset {pos} is not intact "
                                      f"({L.SCAN_REASONS[L.ScanStatus(status)]}); syncing the whole file")
            return pos

    def _call(self, addr: int, n: int, flags: int) -> int:
        assert _MSYNC is not None, "checked when the range was made"
        return _MSYNC(addr, n, flags)

    def _msync(self, start: int, end: int) -> None:
        if end <= start:
            return
        if self._call(self._addr + start, end - start, _MS_SYNC) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"msync of {self.path} [{start}, {end}): {os.strerror(e)}")

    def sync(self) -> None:
        """One period's sync (OSError as msync raised it; RangeSyncUnavailable when the file
        is no longer the size mapped, e.g. grown by a restarted writer's recovery: map it again)."""
        if os.fstat(self.fd).st_size != self.size:
            raise RangeSyncUnavailable(f"{self.path} changed size under the sync")
        end = self._walk()
        whole = end & ~(PAGE - 1)
        if whole > self.synced_pages:
            self._msync(self.synced_pages, whole)
            self.synced_pages = whole
            self.durable = max(self.durable, whole)
        if end > self.durable:
            now = self.clock()
            if not self._pending_since:
                self._pending_since = now
            if end == self._end_at_last_sync or now - self._pending_since >= self.partial_max_ns:
                self._msync(whole, min(whole + PAGE, self.size))
                self.durable = end
                self._pending_since = 0
        else:
            self._pending_since = 0
        self._end_at_last_sync = end

    def close(self) -> None:
        self._bytes = None                     # the mapping is exported to it: released first
        self._map.close()
        os.close(self.fd)
