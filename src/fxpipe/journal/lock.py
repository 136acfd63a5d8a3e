"""One writer per journal: an exclusive flock on JOURNAL/journal.lock, holding the writer's pid,
host and start time so a second writer gets a message naming who holds it. The kernel drops
the lock when the holder dies (kill -9 included), so there is no stale lock to clean up."""
from __future__ import annotations

import datetime as _dt
import fcntl
import os
import socket
import time
from pathlib import Path

from fxpipe.journal.errors import JournalLockedError

LOCK_NAME = "journal.lock"


class WriterLock:
    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK_NAME
        self.fd = -1

    def acquire(self, wait_s: float = 0.2) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # a lock file left by an older build may be world-readable
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # a reader probing for a live writer holds a shared lock for a moment
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise JournalLockedError(
                    f"{self.path.parent} is already open for writing by {holder}; a journal has one "
                    f"writer: stop that writer, or read it with JournalReader") from None
        os.ftruncate(fd, 0)
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {now}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


def writer_is_live(directory: Path) -> bool:
    """True when some process holds the journal's writer lock right now."""
    path = Path(directory) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
