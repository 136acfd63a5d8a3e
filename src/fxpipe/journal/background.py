"""Durability off the order path: a thread that makes a journal's newest segment durable every
`period_s` with fsync on a descriptor of its own.

The journal is written through a shared mapping, so its dirty pages are the file's pages in the
page cache: fsync of any descriptor of the file writes them out. os.fsync releases the GIL, and
the thread never touches the writer's state, so an append never waits for a disk. A process
crash loses nothing either way (the page cache outlives the process); what this bounds is what a
power cut can take: at most the last `period_s` of records (the writer's own policy, if it has
one, still applies). The newest segment is looked up each time, so a roll-over is followed.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("fxpipe.journal.background")


class BackgroundSync:
    def __init__(self, directory: str | Path, period_s: float = 0.01):
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.directory = Path(directory)
        self.period_s = period_s
        self.syncs = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fxpipe-journal-sync", daemon=True)

    def start(self) -> BackgroundSync:
        self._thread.start()
        return self

    def _newest(self) -> Path | None:
        segs = sorted(self.directory.glob("*.fxj"))
        return segs[-1] if segs else None

    def sync_once(self) -> bool:
        seg = self._newest()
        if seg is None:
            return False
        try:
            fd = os.open(seg, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            os.fsync(fd)
            self.syncs += 1
            return True
        except OSError as exc:
            self.errors += 1
            if self.errors == 1 or self.errors % 1000 == 0:
                log.error("journal %s: fsync failed (%s); records since the last good one are not yet durable "
                          "against a power cut", seg, exc)
            return False
        finally:
            os.close(fd)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sync_once()

    def stop(self) -> None:
        """Stops the thread after one last sync."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.sync_once()
