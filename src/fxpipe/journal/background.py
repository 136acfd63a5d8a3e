"""Durability off the order path: a thread that makes a journal's newest segment durable every
`period_s` with fdatasync on a descriptor of its own.

The journal is written through a shared mapping, so its dirty pages are the file's pages in the
page cache: a sync of any descriptor of the file writes them out. os.fdatasync releases the GIL,
and the thread never touches the writer's state, so an append never waits for a disk. A process
crash loses nothing either way (the page cache outlives the process); what this bounds is what a
power cut can take: at most the last `period_s` of records (the writer's own policy, if it has
one, still applies).

fdatasync, not fsync: it writes the data and whatever metadata reading it back needs (the
extents the records went into), not the modification time a write through the mapping changes
every few milliseconds. fsync wrote the inode as well, one more synchronous I/O per period whose
completion, like the data's, interrupts whichever core the disk's interrupt is bound to.

The segments are looked up each time. One the writer rolled away from since the last sync is
synced once more before the newest: its last records (and its seal) were written after that
sync, and a power cut must not leave a hole in the journal before records that are durable.

The newest segment is synced behind its writer (fxpipe.journal.rangesync): the whole pages
before the writer's position every period, the page it is writing only when it pauses for a
period or after `partial_max_s`, so the sync never locks or write-protects the page under the
writer's appends. A final sync (stop(), or sync_once(full=True)) covers every record.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from fxpipe.journal.rangesync import RangeSyncUnread, WrittenRange

log = logging.getLogger("fxpipe.journal.background")


class BackgroundSync:
    def __init__(self, directory: str | Path, period_s: float = 0.01, partial_max_s: float | None = None):
        """partial_max_s: how long records may sit unsynced in the page the writer is writing
        (default two periods); 0: every period, the whole file (fdatasync)."""
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.directory = Path(directory)
        self.period_s = period_s
        self.partial_max_s = 2 * period_s if partial_max_s is None else partial_max_s
        if self.partial_max_s < 0:
            raise ValueError(f"partial_max_s must be >= 0, got {partial_max_s}")
        self._range: WrittenRange | None = None
        self._whole_only: Path | None = None     # a segment found unreadable behind its writer
        self.syncs = 0
        self.errors = 0
        self._synced: Path | None = None       # the segment the last good sync covered
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fxpipe-journal-sync", daemon=True)

    def start(self) -> BackgroundSync:
        self._thread.start()
        return self

    def _due(self) -> list[Path]:
        """The newest segment, after any the writer rolled away from since the last good sync
        (segment names sort in segment order)."""
        segs = sorted(self.directory.glob("*.fxj"))
        if not segs:
            return []
        if self._synced is None:
            return segs[-1:]
        return [s for s in segs if s.name >= self._synced.name]

    def sync_once(self, full: bool = False) -> bool:
        """True when every segment due was synced: the newest behind its writer (see the module),
        or whole when `full`."""
        due = self._due()
        if not due:
            return False
        synced = False
        for i, seg in enumerate(due):
            ok = self._sync(seg) if full or i < len(due) - 1 or not self.partial_max_s else self._behind(seg)
            if ok is None:
                continue                # gone (a retention sweep): nothing of it left to lose
            if not ok:
                return False
            self._synced, synced = seg, True
        if synced:
            self.syncs += 1
        return synced

    def _behind(self, seg: Path) -> bool | None:
        """The newest segment synced behind its writer; where that cannot be done, whole."""
        if seg == self._whole_only:
            return self._sync(seg)
        r = self._range
        if r is not None and r.path != seg:
            r.close()
            r = self._range = None
        try:
            if r is None:
                r = self._range = WrittenRange(seg, int(self.partial_max_s * 1e9))
            r.sync()
            return True
        except FileNotFoundError:
            return None
        except OSError as exc:
            if self._range is not None:
                self._range.close()
                self._range = None
            if isinstance(exc, RangeSyncUnread):
                self._whole_only = seg          # said once; whole-file syncs from now on
                log.error("journal %s: %s", seg, exc)
            else:
                log.warning("journal %s: syncing behind the writer failed (%s); the whole file instead", seg, exc)
            return self._sync(seg)

    def _sync(self, seg: Path) -> bool | None:
        try:
            fd = os.open(seg, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            os.fdatasync(fd)
            return True
        except OSError as exc:
            self.errors += 1
            if self.errors == 1 or self.errors % 1000 == 0:
                log.error("journal %s: fdatasync failed (%s); records since the last good one are not yet "
                          "durable against a power cut", seg, exc)
            return False
        finally:
            os.close(fd)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sync_once()

    def stop(self) -> None:
        """Stops the thread after one last sync, of every record."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.sync_once(full=True)
        if self._range is not None:
            self._range.close()
            self._range = None
