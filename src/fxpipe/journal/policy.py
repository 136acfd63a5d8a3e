"""The fsync policy of a journal writer, and what each choice risks.

- every-record: msync after each record; append returns only once the record is on stable
  storage. Nothing acknowledged is lost even on power failure; costs one device flush per record.
- every N records or T ms (batch): msync when N records are unsynced or T ms have passed since
  the last sync, checked on each append (and by `Journal.maybe_sync()` from an idle loop). A
  power failure or kernel crash loses at most the unsynced window; a process crash (kill -9)
  loses nothing, since mapped pages belong to the kernel's page cache. Each sync records a
  synced watermark in the segment header, so a hole a power cut leaves after it is cut at
  recovery as unsynced data, while one before it is refused as corruption.
- never: no msync while writing; the kernel writes pages back when it chooses (about 30 s on
  Linux defaults). A process crash loses nothing; a power failure or kernel crash can lose
  every record since the last write-back, and can leave holes (later pages written, earlier
  ones not), which recovery reports as corruption for an operator to cut.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fxpipe.journal.appender import POLICY_BATCH, POLICY_EVERY_RECORD, POLICY_NEVER

_BATCH_RE = re.compile(r"^every:(?:(\d+))?(?:/(\d+)ms)?$")


@dataclass(frozen=True)
class FsyncPolicy:
    mode: int
    every_records: int = 0
    every_ms: int = 0

    @classmethod
    def never(cls) -> FsyncPolicy:
        return cls(POLICY_NEVER)

    @classmethod
    def every_record(cls) -> FsyncPolicy:
        return cls(POLICY_EVERY_RECORD)

    @classmethod
    def batch(cls, records: int = 0, ms: int = 0) -> FsyncPolicy:
        if records < 0 or ms < 0 or (records == 0 and ms == 0):
            raise ValueError("a batch fsync policy needs a record count, a time in ms, or both (> 0)")
        return cls(POLICY_BATCH, records, ms)

    @classmethod
    def parse(cls, text: str) -> FsyncPolicy:
        """'never', 'every-record', 'every:N', 'every:/Tms' or 'every:N/Tms'."""
        t = text.strip().lower()
        if t == "never":
            return cls.never()
        if t in ("every-record", "always"):
            return cls.every_record()
        m = _BATCH_RE.match(t)
        if m and (m.group(1) or m.group(2)):
            return cls.batch(int(m.group(1) or 0), int(m.group(2) or 0))
        raise ValueError(f"unknown fsync policy {text!r}: use 'never', 'every-record', "
                         f"'every:N' (records), 'every:/Tms' or 'every:N/Tms'")

    def __str__(self) -> str:
        if self.mode == POLICY_NEVER:
            return "never"
        if self.mode == POLICY_EVERY_RECORD:
            return "every-record"
        n = str(self.every_records) if self.every_records else ""
        t = f"/{self.every_ms}ms" if self.every_ms else ""
        return f"every:{n}{t}"
