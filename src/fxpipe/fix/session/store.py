"""Durable message store of one FIX session: its sequence numbers and every message it sent.

A store is a directory with three files. `lock` holds an exclusive flock for the one process
allowed to write (a second writer is refused with the holder's pid). `seqnums` holds two
checksummed slots, written alternately (through a memory map: no syscall per message), so a
torn write of one leaves the other intact:

    slot (at 0 and 64): | magic "FXSQ" | version | generation | next_sender | next_target |
                        | creation_ns | crc32 |

`messages` is an append-only log of checksummed records, one per message sent, read back to
answer ResendRequests:

    record: | magic 0xF1C5 | version | flags | seq u64 | length u32 | crc32 | payload ... |

Recovery at open scans the log, keeps every record whose checksum holds and cuts the file at
the first one that does not (a torn tail from a crash mid-write). The outgoing sequence number
is the larger of the slot's and the last record's + 1, so neither a crash between the two
writes nor a log cut after corruption ever reuses a number. When data reaches the disk is the fsync policy: `always` (each write),
`interval` (at most every fsync_interval_ms, driven by the session timer) or `never` (left to
the OS: survives a process crash, not a power cut).
"""
from __future__ import annotations

import enum
import fcntl
import mmap
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

_SLOT = struct.Struct("<4sIQQQqI")
_SLOT_MAGIC = b"FXSQ"
_SLOT_OFFSETS = (0, 64)
_SEQ_FILE_SIZE = 128
_REC = struct.Struct("<HBBQII")
_REC_MAGIC = 0xF1C5
_VERSION = 1
_FLAG_COMMITTED = 1
_FLAG_MARKER = 2  # a sequence-number mark, no message (operator lowered next_sender)
MAX_RECORD = 1 << 20


class FsyncPolicy(enum.Enum):
    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


class StoreError(Exception):
    """The store cannot be used as asked; the message says what and what to do."""


class StoreLockedError(StoreError):
    """Another process (or another open in this one) holds the store."""


@dataclass(frozen=True)
class Recovery:
    """What open() found: shown in the session's event log."""

    messages: int
    next_sender: int
    next_target: int
    torn_bytes_cut: int
    slot_used: int


class FileStore:
    """Sequence numbers and sent messages of one session, on disk, one writer at a time."""

    def __init__(self, path: str | os.PathLike, fsync: FsyncPolicy | str = FsyncPolicy.INTERVAL,
                 fsync_interval_ns: int = 50_000_000):
        self.path = Path(path)
        self.fsync = FsyncPolicy(fsync)
        self.fsync_interval_ns = int(fsync_interval_ns)
        self.next_sender = 1
        self.next_target = 1
        self.creation_ns = 0
        self.recovery: Recovery | None = None
        self._index: dict[int, tuple[int, int]] = {}
        self._generation = 0
        self._log_end = 0
        self._lock_fd = -1
        self._seq_fd = -1
        self._seq_map: mmap.mmap | None = None  # slots are written in memory: no syscall per message
        self._log_fd = -1
        self._dirty = False
        self._last_sync_ns = 0

    # --- life cycle ----------------------------------------------------------------------

    def open(self, now_ns: int) -> Recovery:
        """Lock, recover and return what was found; a new store starts at 1/1 created now."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"store directory {self.path}: {exc.strerror}; check the store_dir setting") from exc
        self._lock()
        try:
            self._seq_fd = os.open(self.path / "seqnums", os.O_RDWR | os.O_CREAT, 0o600)
            self._log_fd = os.open(self.path / "messages", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            slot = self._read_slots()
            if os.fstat(self._seq_fd).st_size < _SEQ_FILE_SIZE:
                os.ftruncate(self._seq_fd, _SEQ_FILE_SIZE)
            self._seq_map = mmap.mmap(self._seq_fd, _SEQ_FILE_SIZE)
            cut, last_seq = self._scan_log()
            if slot is None:
                self.next_sender, self.next_target, self.creation_ns = 1, 1, now_ns
                slot_used = -1
            else:
                gen, self.next_sender, self.next_target, self.creation_ns, slot_used = slot
                self._generation = gen
            if last_seq is not None:
                self.next_sender = max(self.next_sender, last_seq + 1)
            self._write_slot()
            self._sync()
        except BaseException:
            self.close()
            raise
        self.recovery = Recovery(len(self._index), self.next_sender, self.next_target, cut, slot_used)
        self._last_sync_ns = now_ns
        return self.recovery

    def close(self) -> None:
        if self._seq_map is not None:
            if self._dirty:
                self._seq_map.flush()
            self._seq_map.close()
            self._seq_map = None
        for name in ("_log_fd", "_seq_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                if self._dirty:
                    os.fsync(fd)
                os.close(fd)
                setattr(self, name, -1)
        self._dirty = False
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = -1

    def _lock(self) -> None:
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"store {self.path} is in use by process {holder}: a store has one writer; stop that "
                f"process or give this session another store_dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    # --- sequence numbers ----------------------------------------------------------------

    def _read_slots(self):
        best = None
        for i, off in enumerate(_SLOT_OFFSETS):
            raw = os.pread(self._seq_fd, _SLOT.size, off)
            if len(raw) < _SLOT.size:
                continue
            magic, ver, gen, nxt_s, nxt_t, created, crc = _SLOT.unpack(raw)
            if magic != _SLOT_MAGIC or ver != _VERSION or zlib.crc32(raw[:-4]) != crc:
                continue
            if best is None or gen > best[0]:
                best = (gen, nxt_s, nxt_t, created, i)
        if best is None and os.fstat(self._seq_fd).st_size > 0:
            raise StoreError(
                f"{self.path / 'seqnums'}: neither slot has a valid checksum, so the sequence numbers "
                f"are unknown; agree them with the counterparty, then set them with "
                f"`fxpipe fix-store set {self.path} --next-sender N --next-target M`")
        return best

    def _write_slot(self) -> None:
        self._generation += 1
        body = _SLOT.pack(_SLOT_MAGIC, _VERSION, self._generation, self.next_sender, self.next_target,
                          self.creation_ns, 0)[:-4]
        off = _SLOT_OFFSETS[self._generation & 1]
        seq_map = self._seq_map
        assert seq_map is not None, "the store is used only between open() and close()"
        seq_map[off:off + _SLOT.size] = body + struct.pack("<I", zlib.crc32(body))
        if self.fsync is FsyncPolicy.ALWAYS:
            seq_map.flush()
        else:
            self._dirty = True

    def incr_next_target(self) -> None:
        self.next_target += 1
        self._write_slot()

    def set_next_target(self, seq: int) -> None:
        self.next_target = _check_seq(seq, "next_target")
        self._write_slot()

    def set_next_sender(self, seq: int) -> None:
        """Operator or SequenceReset: the next number we send. Marked in the log too, so that
        recovery's 'last record + 1' does not raise it back."""
        self.next_sender = _check_seq(seq, "next_sender")
        self._append(seq - 1, b"", _FLAG_COMMITTED | _FLAG_MARKER)
        self._index = {s: loc for s, loc in self._index.items() if s < seq}
        self._write_slot()

    # --- messages ------------------------------------------------------------------------

    def save_sent(self, seq: int, raw: bytes) -> None:
        """Keep a message we send as seq; the next number to send becomes seq + 1."""
        if len(raw) > MAX_RECORD:
            raise StoreError(f"message of {len(raw)} bytes exceeds the store's {MAX_RECORD} byte record limit")
        offset = self._append(seq, raw, _FLAG_COMMITTED)
        self._index[seq] = (offset + _REC.size, len(raw))
        if seq >= self.next_sender:
            self.next_sender = seq + 1
        # The slot too: if the log is later found corrupt and cut, the number is still not reused.
        self._write_slot()

    def get(self, seq: int) -> bytes | None:
        loc = self._index.get(seq)
        if loc is None:
            return None
        return os.pread(self._log_fd, loc[1], loc[0])

    def get_range(self, begin: int, end: int, limit: int) -> list[tuple[int, bytes | None]]:
        """Up to `limit` (seq, raw or None when not stored) for begin..end inclusive."""
        out = []
        for seq in range(begin, min(end, begin + limit - 1) + 1):
            out.append((seq, self.get(seq)))
        return out

    def _append(self, seq: int, payload: bytes, flags: int) -> int:
        head = _REC.pack(_REC_MAGIC, _VERSION, flags, seq, len(payload), 0)[:-4]
        crc = zlib.crc32(payload, zlib.crc32(head))
        offset = self._log_end
        # One write per record: a crash leaves it whole or torn, and recovery tells which.
        os.write(self._log_fd, head + struct.pack("<I", crc) + payload)
        self._log_end += _REC.size + len(payload)
        self._wrote(self._log_fd)
        return offset

    def _scan_log(self) -> tuple[int, int | None]:
        size = os.fstat(self._log_fd).st_size
        data = os.pread(self._log_fd, size, 0) if size else b""
        view = memoryview(data)
        pos, last_seq = 0, None
        while pos + _REC.size <= size:
            magic, ver, flags, seq, length, crc = _REC.unpack_from(view, pos)
            end = pos + _REC.size + length
            if magic != _REC_MAGIC or ver != _VERSION or length > MAX_RECORD or end > size:
                break
            if not flags & _FLAG_COMMITTED:
                break
            if zlib.crc32(view[pos + _REC.size:end], zlib.crc32(view[pos:pos + _REC.size - 4])) != crc:
                break
            if flags & _FLAG_MARKER:
                self._index = {s: loc for s, loc in self._index.items() if s <= seq}
            else:
                self._index[seq] = (pos + _REC.size, length)
            last_seq = seq
            pos = end
        cut = size - pos
        if cut:
            os.ftruncate(self._log_fd, pos)
            os.fsync(self._log_fd)
        self._log_end = pos
        return cut, last_seq

    # --- resets and durability -----------------------------------------------------------

    def reset(self, now_ns: int) -> None:
        """A new FIX session: both numbers back to 1, sent messages dropped."""
        # Log first: a crash between the two steps leaves old numbers with an empty log
        # (resends become gap fills), never new numbers beside stale messages.
        os.ftruncate(self._log_fd, 0)
        os.fsync(self._log_fd)
        self._log_end = 0
        self._index.clear()
        self.next_sender = self.next_target = 1
        self.creation_ns = now_ns
        self._write_slot()
        self._sync()

    def _wrote(self, fd: int) -> None:
        if self.fsync is FsyncPolicy.ALWAYS:
            os.fdatasync(fd)
        else:
            self._dirty = True

    def flush_due(self, now_ns: int) -> None:
        """Called from the session timer: the `interval` policy's fsync."""
        if self._dirty and self.fsync is FsyncPolicy.INTERVAL and now_ns - self._last_sync_ns >= self.fsync_interval_ns:
            self._sync()
            self._last_sync_ns = now_ns

    def _sync(self) -> None:
        os.fdatasync(self._log_fd)
        assert self._seq_map is not None, "the store is used only between open() and close()"
        self._seq_map.flush()  # msync: the slots reach the disk
        self._dirty = False


def _check_seq(seq: int, what: str) -> int:
    seq = int(seq)
    if seq < 1:
        raise StoreError(f"{what} must be >= 1, got {seq}")
    return seq
