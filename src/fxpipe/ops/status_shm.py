"""The latest status snapshot of each section (the journal process's "ops" view, the
supervisor's workers, ...) in a small shared-memory file per section, so `fxpipe status`,
`fxpipe ctl` and `fxpipe metrics` read it without talking to any process.

File `<shm dir>/<prefix>.status.<section>` (0600, owner only), one writer per section:

    0  magic "FXSTATUS"   8  version u32, header size u32
    16 seq u64            the seqlock: odd while the writer is copying
    24 length u32, crc32 u32 of the payload
    32 written_ns i64     wall clock of the write (for staleness only; no state depends on it)
    40 writer pid i64, 48 writer start time i64 (pid reuse), 56 capacity u32
    64 payload            JSON, `length` bytes

The writer bumps seq to odd, copies, bumps it to even; a reader copies between two reads of an
even seq and checks the CRC as well, so a torn snapshot is never returned whatever the memory
order of the copy, and a reader never makes the writer wait. A reader that keeps losing the
race gives up after `retry_s` and says "busy"; a writer that died mid-copy leaves an odd seq,
read as "torn".
"""
from __future__ import annotations

import json
import mmap
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxpipe.ring import segment

MAGIC = b"FXSTATUS"
VERSION = 1
HEADER_SIZE = 64
DEFAULT_CAPACITY = 4 << 20          # a sparse file: only the pages written take memory
DEFAULT_STALE_AFTER_S = 5.0
_SECTION = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_HDR = np.dtype([("magic", "S8"), ("version", "<u4"), ("header_size", "<u4"), ("seq", "<u8"),
                 ("length", "<u4"), ("crc", "<u4"), ("written_ns", "<i8"), ("pid", "<i8"),
                 ("start_time", "<i8"), ("capacity", "<u4"), ("_pad", "<u4")])
assert _HDR.itemsize == HEADER_SIZE


class StatusError(Exception):
    """A status file that cannot be written or read as asked (name, size, damage, owner)."""


def status_dir() -> Path:
    return segment.SHM_DIR


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise StatusError(f"prefix {prefix!r}: 1-64 letters, digits, '_', '-' or '.', not starting with '-' or '.'")
    return prefix


def check_section(section: str) -> str:
    if not _SECTION.match(section):
        raise StatusError(f"section {section!r}: 1-32 lower-case letters, digits, '_' or '-', starting with a letter")
    return section


def status_path(prefix: str, section: str) -> Path:
    return status_dir() / f"{check_prefix(prefix)}.status.{check_section(section)}"


class StatusWriter:
    """The one writer of a section. `write(snapshot)` publishes a JSON-able dict."""

    def __init__(self, prefix: str, section: str, capacity: int = DEFAULT_CAPACITY):
        if capacity < 256:
            raise StatusError(f"capacity {capacity}: at least 256 bytes")
        self.path = status_path(prefix, section)
        self.section = section
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            st = os.fstat(fd)
            if st.st_uid != os.getuid():
                raise StatusError(f"{self.path}: owned by uid {st.st_uid}, not us")
            os.fchmod(fd, 0o600)
            size = max(st.st_size, HEADER_SIZE + capacity)
            if st.st_size:
                old = os.pread(fd, 8, 0)
                if st.st_size < HEADER_SIZE or old not in (MAGIC, b"\0" * 8):
                    raise StatusError(f"{self.path}: not an fxpipe status file (magic {old!r}); remove it")
            os.ftruncate(fd, size)
            self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self.capacity = size - HEADER_SIZE
        self._hdr = np.frombuffer(self._mm, dtype=_HDR, count=1)
        h = self._hdr[0]
        if int(h["seq"]) & 1:          # a writer died mid-copy: make the old bytes even again
            h["seq"] = int(h["seq"]) + 1
        h["magic"], h["version"], h["header_size"] = MAGIC, VERSION, HEADER_SIZE
        h["capacity"] = self.capacity
        h["pid"] = os.getpid()
        h["start_time"] = segment.process_start_time(os.getpid())
        self.writes = 0

    def write(self, snapshot: dict[str, Any]) -> int:
        """Publish snapshot; returns its size. Too large for the file: StatusError, nothing changed."""
        payload = json.dumps(snapshot, separators=(",", ":"), sort_keys=True).encode()
        self.write_bytes(payload)
        return len(payload)

    def write_bytes(self, payload: bytes) -> None:
        n = len(payload)
        if n > self.capacity:
            raise StatusError(f"{self.path}: snapshot of {n} bytes exceeds the capacity {self.capacity}; "
                              "start the writer with a larger capacity")
        h = self._hdr[0]
        seq = int(h["seq"])
        h["seq"] = seq + 1                              # odd: readers retry
        self._mm[HEADER_SIZE:HEADER_SIZE + n] = payload
        h["length"] = n
        h["crc"] = zlib.crc32(payload)
        h["written_ns"] = time.time_ns()
        h["seq"] = seq + 2                              # even: a whole snapshot
        self.writes += 1

    def close(self, unlink: bool = False) -> None:
        """Unmap; with unlink, remove the file (readers then see the section as absent)."""
        if self._mm is None:
            return
        del self._hdr
        self._mm.close()
        self._mm = None  # type: ignore[assignment]
        if unlink:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> StatusWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class SectionStatus:
    """What a reader found: state "ok", "stale" (older than stale_after_s, or its writer is
    gone), "absent" (no file), "busy" (the writer kept rewriting it for retry_s), "torn" (the
    writer died in the middle of a write) or "damaged" (not a status file)."""

    section: str
    state: str
    snapshot: dict[str, Any] | None = None
    age_s: float | None = None
    pid: int = 0
    writer_alive: bool = False
    detail: str = ""
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "state": self.state, "age_s": self.age_s, "pid": self.pid,
                "writer_alive": self.writer_alive, "detail": self.detail, "seq": self.seq,
                "snapshot": self.snapshot}


class StatusReader:
    """Reads the sections of one prefix. Never writes, never waits on the writer."""

    def __init__(self, prefix: str, stale_after_s: float = DEFAULT_STALE_AFTER_S, retry_s: float = 0.2):
        self.prefix = check_prefix(prefix)
        self.stale_after_s = stale_after_s
        self.retry_s = retry_s

    def sections(self) -> list[str]:
        d = status_dir()
        lead = f"{self.prefix}.status."
        if not d.is_dir():
            return []
        return sorted(p.name[len(lead):] for p in d.iterdir()
                      if p.name.startswith(lead) and _SECTION.match(p.name[len(lead):]))

    def read_all(self) -> dict[str, SectionStatus]:
        return {s: self.read(s) for s in self.sections()}

    def read(self, section: str) -> SectionStatus:
        path = status_path(self.prefix, section)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return SectionStatus(section, "absent", detail=f"{path} does not exist: its writer has not started")
        try:
            size = os.fstat(fd).st_size
            if size < HEADER_SIZE:
                return SectionStatus(section, "damaged", detail=f"{path}: {size} bytes, shorter than the header")
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)
        try:
            return self._read(mm, section, path, size)
        finally:
            mm.close()

    def _read(self, mm: mmap.mmap, section: str, path: Path, size: int) -> SectionStatus:
        hdr = np.frombuffer(mm, dtype=_HDR, count=1)
        try:
            h = hdr[0]
            if bytes(h["magic"]) != MAGIC or int(h["version"]) != VERSION or int(h["header_size"]) != HEADER_SIZE:
                return SectionStatus(section, "damaged", detail=f"{path}: not an fxpipe status file of version {VERSION}")
            pid, start = int(h["pid"]), int(h["start_time"])
            alive = bool(pid) and segment.process_alive(pid, start)
            deadline = time.monotonic() + self.retry_s
            spins = 0
            while True:
                s1 = int(h["seq"])
                if not s1 & 1:
                    n, crc, written = int(h["length"]), int(h["crc"]), int(h["written_ns"])
                    payload = bytes(mm[HEADER_SIZE:HEADER_SIZE + n]) if HEADER_SIZE + n <= size else None
                    if int(h["seq"]) == s1 and payload is not None and zlib.crc32(payload) == crc:
                        break
                if time.monotonic() > deadline:
                    if s1 & 1 and not alive:
                        return SectionStatus(section, "torn", pid=pid, detail=f"writer pid {pid} died while writing")
                    return SectionStatus(section, "busy", pid=pid, writer_alive=alive,
                                         detail=f"no stable snapshot within {self.retry_s} s")
                spins += 1
                if spins > 16:
                    time.sleep(0.0001)
        finally:
            del h, hdr
        if s1 == 0:
            return SectionStatus(section, "absent", pid=pid, writer_alive=alive, detail="nothing written yet")
        try:
            snap = json.loads(payload)
        except ValueError as exc:
            return SectionStatus(section, "damaged", pid=pid, writer_alive=alive, detail=f"{path}: bad JSON: {exc}")
        age = max(0.0, (time.time_ns() - written) / 1e9)
        state, detail = "ok", ""
        if not alive:
            state, detail = "stale", f"writer pid {pid} is gone"
        elif age > self.stale_after_s:
            state, detail = "stale", f"last written {age:.1f} s ago (> {self.stale_after_s} s)"
        return SectionStatus(section, state, snap, round(age, 3), pid, alive, detail, s1)
