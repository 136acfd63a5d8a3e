"""The journal: fxpipe's system of record.

Append-only, memory-mapped segment files of raw event records, each with length, type,
sequence, timestamp, a commit marker and a CRC32C; a sparse index by sequence and time;
recovery that cuts a torn tail and refuses corruption in the middle; readers for Python
(iterator), research (zero-copy numpy views) and tools (export, verify, show).
Start with `Journal.open` (writer) and `JournalReader` (readers); docs/journal.md has the rest.
"""
from fxpipe.journal.errors import (
    JournalCorruptError,
    JournalError,
    JournalLockedError,
    MissingSegmentError,
)
from fxpipe.journal.policy import FsyncPolicy
from fxpipe.journal.reader import JournalReader, Record
from fxpipe.journal.writer import Journal

__all__ = [
    "FsyncPolicy",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalLockedError",
    "JournalReader",
    "MissingSegmentError",
    "Record",
]
