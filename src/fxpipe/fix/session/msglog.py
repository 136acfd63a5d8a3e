"""The operator's view of one FIX session: every message in and out, and every session event.

Two append-only text files per session in log_dir: NAME.messages.log (one line per message,
`<UTC time> IN|OUT <message with SOH shown as |>`) and NAME.events.log (logons, gaps, resends,
rejects, disconnects, store recovery, with a level). Each message line is written to the file
as the message is sent or processed (one write, no user-space buffer): the message log is what
people read after an incident, so a process killed the next instant still leaves every line
there (the kernel keeps what was written; no fsync, so not a power cut). Event lines are
flushed as they are written. Both files are created 0600. Events at WARNING and above also go
to the `fxpipe.fix.session` Python logger.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

logger = logging.getLogger("fxpipe.fix.session")
_EPOCH = dt.datetime(1970, 1, 1)


def _private(path: Path) -> int:
    """An append descriptor of path, created 0600 (orders and fills are the firm's business)."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def utc_text(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return f"{(_EPOCH + dt.timedelta(seconds=secs)):%Y%m%d-%H:%M:%S}.{frac // 1000:06d}"


class MessageLog:
    """Message and event log files of one session."""

    def __init__(self, log_dir: str | Path, name: str):
        self.dir = Path(log_dir)
        self.name = name
        self.dir.mkdir(parents=True, exist_ok=True)
        self._messages = open(_private(self.dir / f"{name}.messages.log"), "ab", buffering=0)
        self._events = open(_private(self.dir / f"{name}.events.log"), "a", buffering=1 << 14, encoding="utf-8")
        self._sec = -1
        self._sec_text = b""

    def _stamp(self, ns: int) -> bytes:
        secs, frac = divmod(ns, 1_000_000_000)
        if secs != self._sec:  # one datetime per second, not per message
            self._sec = secs
            self._sec_text = f"{(_EPOCH + dt.timedelta(seconds=secs)):%Y%m%d-%H:%M:%S}".encode()
        return self._sec_text + b".%06d" % (frac // 1000)

    def incoming(self, ns: int, raw: bytes) -> None:
        self._messages.write(self._stamp(ns) + b" IN  " + raw.replace(b"\x01", b"|") + b"\n")

    def outgoing(self, ns: int, raw: bytes) -> None:
        self._messages.write(self._stamp(ns) + b" OUT " + raw.replace(b"\x01", b"|") + b"\n")

    def event(self, ns: int, text: str, level: int = logging.INFO) -> None:
        self._events.write(f"{utc_text(ns)} {logging.getLevelName(level):<7} {text}\n")
        self.flush()
        if level >= logging.WARNING:
            logger.log(level, "%s: %s", self.name, text)

    def flush(self) -> None:
        self._messages.flush()
        self._events.flush()

    def close(self) -> None:
        for f in (self._messages, self._events):
            if not f.closed:
                f.flush()
                f.close()
