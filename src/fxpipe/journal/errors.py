"""Errors a journal raises. Each says what is wrong, where (file and offset), and what to do."""
from __future__ import annotations


class JournalError(Exception):
    """Any journal problem a user can act on."""


class JournalCorruptError(JournalError):
    """Damaged data that recovery must not silently skip: names the file and byte offset."""

    def __init__(self, path, offset: int, reason: str, advice: str = ""):
        self.path = str(path)
        self.offset = int(offset)
        self.reason = reason
        msg = f"{self.path} at offset {self.offset}: {reason}"
        if advice:
            msg += f"; {advice}"
        super().__init__(msg)


class MissingSegmentError(JournalError):
    """A segment the chain requires is not on disk."""


class JournalLockedError(JournalError):
    """Another process holds the journal's writer lock."""
