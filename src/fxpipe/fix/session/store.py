"""Durable message store of one FIX session: its sequence numbers and every message it sent.

A store is a directory with four files. `lock` holds an exclusive flock for the one process
allowed to write (a second writer is refused with the holder's pid). `seqnums` holds two
checksummed slots, written alternately (through a memory map: no syscall per message), so a
torn write of one leaves the other intact:

    slot (at 0 and 64): | magic "FXSQ" | version | generation | next_sender | next_target |
                        | creation_ns | indexed_end | crc32 |

`messages` is an append-only log of checksummed records, one per message sent, read back to
answer ResendRequests. It is written through a shared mapping grown 1 MiB at a time (no syscall
per message; the same page cache a write() would fill), and cut back to its records at close;
after a kill the unused room reads as zeros, which recovery cuts without calling it torn:

    record: | magic 0xF1C5 | version | flags | seq u64 | length u32 | crc32 | payload ... |

`messages.idx` maps a MsgSeqNum to its record: one u64 per number, entry (seq - 1) holding the
record's offset + 1 (0: not stored). A record is appended, then indexed (under `always` at once,
else a run of entries at a time from the session timer), then the slot records `indexed_end`,
the log offset up to which every record is in the index. So recovery at open reads only the
tail after `indexed_end` (what a crash left unindexed): it keeps each record whose checksum
holds and cuts the file at the first one that does not (a torn write). Restart time stays flat
however many messages the FX week has piled up; a record that rots in the indexed part is
caught when it is read (its checksum is checked on every read) and resent as a gap fill. A
store without a usable index (older layout, index lost) is scanned in full once and re-indexed.
The outgoing sequence number is the larger of the slot's and the last record's + 1,
so neither a crash between the writes nor a log cut after corruption ever reuses a number.

When data reaches the disk is the fsync policy: `always` (each write: record and index entry
before the slot that claims them), `interval` (at most every fsync_interval_ms, driven by the
session timer) or `never` (left to the OS: survives a process crash, not a power cut). Every
file is created 0600: it holds the firm's orders.
"""
from __future__ import annotations

import enum
import fcntl
import mmap
import os
import struct
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fxpipe.fix.storelog import StoreLog, write_slot
from fxpipe.prefault import PAGE, Ahead, populate_write

_SLOT = struct.Struct("<4sIQQQqQI")
_SLOT_V1 = struct.Struct("<4sIQQQqI")  # before the index: no indexed_end, so a full scan
_SLOT_MAGIC = b"FXSQ"
_SLOT_OFFSETS = (0, 64)
_SEQ_FILE_SIZE = 128
_REC = struct.Struct("<HBBQII")
_REC_MAGIC = 0xF1C5
_VERSION = 1       # record layout
_SLOT_VERSION = 2  # slot layout (1: without indexed_end)
_FLAG_COMMITTED = 1
_FLAG_MARKER = 2  # a sequence-number mark, no message (operator lowered next_sender)
_ENTRY = struct.Struct("<Q")
MAX_RECORD = 1 << 20
_SCAN_CHUNK = 1 << 20
# The log is written through a shared mapping (no syscall per message), grown this much at a
# time; the room not yet used reads as zeros and is cut when the store closes
_LOG_GROW = 1 << 20


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
    """What open() found: shown in the session's event log. (How many messages the store
    holds is message_count(): counting them is the one cost that grows with the store.)"""

    next_sender: int
    next_target: int
    torn_bytes_cut: int
    slot_used: int
    scanned_bytes: int = 0  # log bytes read to recover: the unindexed tail (all of it on a rebuild)
    rebuilt_index: bool = False


class FileStore(StoreLog):
    """Sequence numbers and sent messages of one session, on disk, one writer at a time. What
    every send does (log_sent: the message into the log) is StoreLog's, in C
    (fxpipe.fix.storelog)."""

    def __init__(self, path: str | os.PathLike, fsync: FsyncPolicy | str = FsyncPolicy.INTERVAL,
                 fsync_interval_ns: int = 50_000_000):
        self.path = Path(path)
        self.fsync = FsyncPolicy(fsync)
        self.fsync_interval_ns = int(fsync_interval_ns)
        self.next_sender = 1
        self.next_target = 1
        self.creation_ns = 0
        self.recovery: Recovery | None = None
        self._generation = 0
        self._log_end = 0
        self._indexed_end = 0
        self._lock_fd = -1
        self._seq_fd = -1
        self._seq_map: mmap.mmap | None = None  # slots are written in memory: no syscall per message
        self._log_fd = -1
        self._log_map: mmap.mmap | None = None
        self._log_cap = 0
        self._idx_fd = -1
        self._dirty = False
        self._last_sync_ns = 0
        # index entries of messages sent since the last flush_index(): seq -> log offset. Written
        # in one pwrite per run of numbers from the session timer (or before anything reads
        # the index), not one per message on the order path
        self._pending: dict[int, int] = {}
        self._ahead = Ahead()
        self._no_populate = False
        self._log_format(_REC_MAGIC, _VERSION, _FLAG_COMMITTED, MAX_RECORD, self.fsync is FsyncPolicy.ALWAYS)

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
            self._log_fd = os.open(self.path / "messages", os.O_RDWR | os.O_CREAT, 0o600)
            self._idx_fd = os.open(self.path / "messages.idx", os.O_RDWR | os.O_CREAT, 0o600)
            slot = self._read_slots()
            if os.fstat(self._seq_fd).st_size < _SEQ_FILE_SIZE:
                os.ftruncate(self._seq_fd, _SEQ_FILE_SIZE)
            self._seq_map = mmap.mmap(self._seq_fd, _SEQ_FILE_SIZE)
            if slot is None:
                self.next_sender, self.next_target, self.creation_ns = 1, 1, now_ns
                slot_used, indexed_end = -1, None
            else:
                gen, self.next_sender, self.next_target, self.creation_ns, indexed_end, slot_used = slot
                self._generation = gen
            start, rebuilt = self._scan_from(indexed_end)
            cut, last_seq, scanned = self._scan_log(start)
            if last_seq is not None:
                self.next_sender = max(self.next_sender, last_seq + 1)
            self._write_slot()
            self._sync()
        except BaseException:
            self.close()
            raise
        self.recovery = Recovery(self.next_sender, self.next_target, cut, slot_used,
                                 scanned, rebuilt)
        self._last_sync_ns = now_ns
        return self.recovery

    def close(self) -> None:
        if self._pending and self._idx_fd >= 0:
            self.flush_index()
        self._unmap_log()
        if self._seq_map is not None:
            if self._dirty:
                self._seq_map.flush()
            self._seq_map.close()
            self._seq_map = None
        for name in ("_log_fd", "_idx_fd", "_seq_fd"):
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
            slot = _parse_slot(raw)
            if slot is not None and (best is None or slot[0] > best[0]):
                best = (*slot, i)
        if best is None and os.fstat(self._seq_fd).st_size > 0:
            raise StoreError(
                f"{self.path / 'seqnums'}: neither slot has a valid checksum, so the sequence numbers "
                f"are unknown; agree them with the counterparty, then set them with "
                f"`fxpipe fix-store set {self.path} --next-sender N --next-target M`")
        return best

    def _write_slot(self) -> None:
        self._generation += 1
        seq_map = self._seq_map
        assert seq_map is not None, "the store is used only between open() and close()"
        # the _SLOT layout, its CRC-32 last (fxpipe.fix.storelog: once per message each way)
        write_slot(seq_map, _SLOT_OFFSETS[self._generation & 1], _SLOT_MAGIC, _SLOT_VERSION, self._generation,
                   self.next_sender, self.next_target, self.creation_ns, self._indexed_end)
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
        self.flush_index()
        self._append(seq - 1, b"", _FLAG_COMMITTED | _FLAG_MARKER)
        self._forget_above(seq - 1)
        self._indexed()

    # --- messages ------------------------------------------------------------------------

    def save_sent(self, seq: int, raw: bytes) -> None:
        """Keep a message we send as seq; the next number to send becomes seq + 1."""
        self.index_sent(seq, self.log_sent(seq, raw))

    # log_sent(seq, raw) -> offset: StoreLog's (in C): save_sent's first half, all a message needs
    # before it goes out: it is in the log (through the mapping, no syscall) and seq is used; the
    # offset is for index_sent. A crash before the index entry loses nothing: recovery's tail
    # scan indexes the log past the slot's indexed_end.

    def _refuse(self, n: int) -> None:
        raise StoreError(f"message of {n} bytes exceeds the store's {MAX_RECORD} byte record limit")

    def index_sent(self, seq: int, offset: int) -> None:
        """save_sent's second half, after the message went out: the slot (if the log is later
        found corrupt and cut, the number is still not reused) and its index entry, which a
        resend reads. Under `always` the entry is written now; else it waits for flush_index()
        (the session timer), get() finding it meanwhile. The slot's indexed_end moves only
        once the entries are written, so a crash leaves them to recovery's tail scan."""
        if self.fsync is FsyncPolicy.ALWAYS:
            os.pwrite(self._idx_fd, _ENTRY.pack(offset + 1), (seq - 1) * _ENTRY.size)
            self._wrote(self._idx_fd)
            self._indexed()
            return
        self._pending[seq] = offset
        self._write_slot()

    def flush_index(self) -> None:
        """Writes the pending index entries (one pwrite per run of consecutive numbers), then
        the slot that says the log is indexed to its end."""
        if not self._pending:
            return
        pending, self._pending = sorted(self._pending.items()), {}
        i = 0
        while i < len(pending):
            j = i + 1
            while j < len(pending) and pending[j][0] == pending[j - 1][0] + 1:
                j += 1
            os.pwrite(self._idx_fd, b"".join(_ENTRY.pack(off + 1) for _, off in pending[i:j]),
                      (pending[i][0] - 1) * _ENTRY.size)
            i = j
        self._wrote(self._idx_fd)
        self._indexed()

    def get(self, seq: int) -> bytes | None:
        """The message stored as seq, or None: never stored, dropped, or failing its checksum."""
        if seq < 1:
            return None
        pending = self._pending.get(seq)
        if pending is not None:
            offset = pending
        else:
            entry = os.pread(self._idx_fd, _ENTRY.size, (seq - 1) * _ENTRY.size)
            if len(entry) < _ENTRY.size or not (loc := _ENTRY.unpack(entry)[0]):
                return None
            offset = loc - 1
        head = os.pread(self._log_fd, _REC.size, offset)
        if len(head) < _REC.size:
            return None
        magic, ver, flags, rec_seq, length, crc = _REC.unpack(head)
        if magic != _REC_MAGIC or ver != _VERSION or rec_seq != seq or flags & _FLAG_MARKER or length > MAX_RECORD:
            return None
        payload = os.pread(self._log_fd, length, offset + _REC.size)
        if len(payload) < length or zlib.crc32(payload, zlib.crc32(head[:-4])) != crc:
            return None
        return payload

    def get_range(self, begin: int, end: int, limit: int) -> list[tuple[int, bytes | None]]:
        """Up to `limit` (seq, raw or None when not stored) for begin..end inclusive."""
        return [(seq, self.get(seq)) for seq in range(begin, min(end, begin + limit - 1) + 1)]

    def stored(self, begin: int) -> Iterator[tuple[int, bytes]]:
        """(seq, raw) of every message stored from `begin` up to the last one sent."""
        for seq in range(max(1, begin), self.next_sender):
            raw = self.get(seq)
            if raw is not None:
                yield seq, raw

    def message_count(self) -> int:
        """Messages stored for resends (reads the whole index: for the operator, not at open)."""
        self.flush_index()
        entries = array("Q")
        entries.frombytes(_whole(self._idx_fd, os.fstat(self._idx_fd).st_size // _ENTRY.size * _ENTRY.size))
        return len(entries) - entries.count(0)

    # _append(seq, payload, flags) -> offset: StoreLog's (in C): the record (header, zlib's
    # CRC-32, payload) into the log's mapping, as write() would put it into the page cache, without
    # the syscall: a crash leaves the record whole or torn, and recovery tells which.

    def _grow_log(self, need: int) -> None:
        cap = max(need, self._log_cap + _LOG_GROW)
        cap = -(-cap // mmap.PAGESIZE) * mmap.PAGESIZE
        self._unmap_log(cut=False)
        os.ftruncate(self._log_fd, cap)
        self._log_map = mmap.mmap(self._log_fd, cap)
        self._log_cap = cap

    def _unmap_log(self, cut: bool = True) -> None:
        """Drops the mapping; cut: the file back to the records it holds (the room the mapping
        had ahead of them goes)."""
        if self._log_map is not None:
            self._log_map.close()
            self._log_map = None
        if cut and self._log_cap and self._log_fd >= 0:
            os.ftruncate(self._log_fd, self._log_end)
        self._log_cap = 0

    def _forget_above(self, seq: int) -> None:
        """Messages numbered above seq are no longer ours to resend (next_sender was lowered)."""
        self.flush_index()
        if os.fstat(self._idx_fd).st_size > seq * _ENTRY.size:
            os.ftruncate(self._idx_fd, seq * _ENTRY.size)
            self._wrote(self._idx_fd)

    def _indexed(self) -> None:
        """Every record in the log is in the index now: the slot says so."""
        self._indexed_end = self._log_end
        self._write_slot()

    # --- recovery ------------------------------------------------------------------------

    def _scan_from(self, indexed_end: int | None) -> tuple[int, bool]:
        """Where the tail scan starts: the slot's indexed_end when the log and index bear it
        out, else 0 with an empty index (a full scan rebuilds it)."""
        size = os.fstat(self._log_fd).st_size
        if indexed_end is not None and indexed_end <= size and self._index_holds(indexed_end):
            return indexed_end, False
        os.ftruncate(self._idx_fd, 0)
        return 0, size > 0

    def _index_holds(self, indexed_end: int) -> bool:
        """The index's last entry names a whole record that ends at or before indexed_end."""
        n = os.fstat(self._idx_fd).st_size // _ENTRY.size
        if n == 0:
            return indexed_end == 0  # else the index was lost (or the log holds only marks): rescan
        loc = _ENTRY.unpack(os.pread(self._idx_fd, _ENTRY.size, (n - 1) * _ENTRY.size))[0]
        if loc == 0:
            return True  # numbers skipped by a marker after the last message
        head = os.pread(self._log_fd, _REC.size, loc - 1)
        if len(head) < _REC.size:
            return False
        magic, ver, _flags, seq, length, _crc = _REC.unpack(head)
        return magic == _REC_MAGIC and ver == _VERSION and seq == n and loc - 1 + _REC.size + length <= indexed_end

    def _scan_log(self, start: int) -> tuple[int, int | None, int]:
        """Reads the log from start, indexing each whole record; cuts the first torn one.
        Returns (bytes cut, last sequence number found, bytes scanned)."""
        size = os.fstat(self._log_fd).st_size
        pos, last_seq = start, None
        while pos + _REC.size <= size:
            head = os.pread(self._log_fd, _REC.size, pos)
            magic, ver, flags, seq, length, crc = _REC.unpack(head)
            end = pos + _REC.size + length
            if magic != _REC_MAGIC or ver != _VERSION or length > MAX_RECORD or end > size:
                break
            if not flags & _FLAG_COMMITTED:
                break
            if zlib.crc32(os.pread(self._log_fd, length, pos + _REC.size), zlib.crc32(head[:-4])) != crc:
                break
            if flags & _FLAG_MARKER:
                self._forget_above(seq)
            else:  # synced once by open(), not per record
                os.pwrite(self._idx_fd, _ENTRY.pack(pos + 1), (seq - 1) * _ENTRY.size)
            last_seq = seq
            pos = end
        cut = 0 if _zeros(self._log_fd, pos, size) else size - pos   # zeros: room a mapping left
        if size > pos:
            os.ftruncate(self._log_fd, pos)
            os.fsync(self._log_fd)
        self._log_end = self._indexed_end = pos
        return cut, last_seq, pos - start + cut

    # --- resets and durability -----------------------------------------------------------

    def reset(self, now_ns: int) -> None:
        """A new FIX session: both numbers back to 1, sent messages dropped."""
        # Log and index first: a crash between the steps leaves old numbers with an empty log
        # (resends become gap fills), never new numbers beside stale messages.
        self._unmap_log(cut=False)
        self._pending.clear()          # their messages go with the log
        os.ftruncate(self._log_fd, 0)
        os.fsync(self._log_fd)
        os.ftruncate(self._idx_fd, 0)
        os.fsync(self._idx_fd)
        self._log_end = self._indexed_end = 0
        self.next_sender = self.next_target = 1
        self.creation_ns = now_ns
        self._write_slot()
        self._sync()

    def prefault(self) -> int:
        """Readies the message log past its end for the messages to come (fxpipe.prefault): the
        log grown here rather than on a send when it is near its end, and the next pages mapped
        writable, so a send takes no page fault. For the session's idle moments. Returns the
        bytes made ready."""
        if self._log_map is None or self._no_populate or not self._ahead.due(self._log_cap, self._log_end):
            return 0
        want = self._log_end + self._ahead.nbytes
        if want > self._log_cap:
            self._grow_log(want)
        n = populate_write(self._log_map, self._log_end, want)
        if n < 0:
            self._no_populate = True
            return 0
        self._ahead.readied(self._log_end & ~(PAGE - 1), n)
        return n

    def _wrote(self, fd: int) -> None:
        if self.fsync is FsyncPolicy.ALWAYS:
            os.fdatasync(fd)
        else:
            self._dirty = True

    def flush_due(self, now_ns: int) -> None:
        """Called from the session timer: the pending index entries, and the `interval`
        policy's fsync."""
        self.flush_index()
        if self._dirty and self.fsync is FsyncPolicy.INTERVAL and now_ns - self._last_sync_ns >= self.fsync_interval_ns:
            self._sync()
            self._last_sync_ns = now_ns

    def _sync(self) -> None:
        # Log and index before the slot that claims them.
        self.flush_index()
        os.fdatasync(self._log_fd)
        os.fdatasync(self._idx_fd)
        assert self._seq_map is not None, "the store is used only between open() and close()"
        self._seq_map.flush()  # msync: the slots reach the disk
        self._dirty = False


def _zeros(fd: int, start: int, end: int) -> bool:
    """Whether the file's bytes [start, end) are all zero."""
    while start < end:
        chunk = os.pread(fd, min(_SCAN_CHUNK, end - start), start)
        if not chunk or chunk.count(0) != len(chunk):
            return bool(not chunk)
        start += len(chunk)
    return True


def _parse_slot(raw: bytes):
    """(generation, next_sender, next_target, creation_ns, indexed_end or None) of a valid slot."""
    if len(raw) >= _SLOT.size and raw[:4] == _SLOT_MAGIC:
        magic, ver, gen, nxt_s, nxt_t, created, indexed_end, crc = _SLOT.unpack(raw[:_SLOT.size])
        if ver == _SLOT_VERSION and zlib.crc32(raw[:_SLOT.size - 4]) == crc:
            return gen, nxt_s, nxt_t, created, indexed_end
    if len(raw) >= _SLOT_V1.size and raw[:4] == _SLOT_MAGIC:
        magic, ver, gen, nxt_s, nxt_t, created, crc = _SLOT_V1.unpack(raw[:_SLOT_V1.size])
        if ver == 1 and zlib.crc32(raw[:_SLOT_V1.size - 4]) == crc:
            return gen, nxt_s, nxt_t, created, None
    return None


def _whole(fd: int, size: int) -> bytes:
    parts, pos = [], 0
    while pos < size:
        part = os.pread(fd, min(_SCAN_CHUNK, size - pos), pos)
        if not part:
            break
        parts.append(part)
        pos += len(part)
    return b"".join(parts)


def _check_seq(seq: int, what: str) -> int:
    seq = int(seq)
    if seq < 1:
        raise StoreError(f"{what} must be >= 1, got {seq}")
    return seq
