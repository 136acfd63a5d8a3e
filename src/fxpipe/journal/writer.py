"""Journal: the one writer of a journal directory.

Opening takes the writer lock, checks the segments (fxpipe.journal.recovery: a torn tail is
reported and cut, corruption in the middle refused), then resumes appending in the last
segment through the C appender. Roll-over creates the next segment durably before sealing the
current one, so a sealed segment always has a successor on disk. The index is saved at
roll-over and close. Python callers use append/append_array; Cython callers take
`journal.appender` and call its C-level append_raw.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.appender import MAX_SEGMENT_SIZE, POLICY_NEVER, SegmentAppender
from fxpipe.journal.errors import JournalError
from fxpipe.journal.index import SealedSegment
from fxpipe.journal.lock import WriterLock
from fxpipe.journal.policy import FsyncPolicy
from fxpipe.journal.recovery import TailReport, load_state
from fxpipe.journal.segments import create_segment, segment_path
from fxpipe.journal.spare import SpareSegment, ZeroFill
from fxpipe.prefault import Ahead

DEFAULT_SEGMENT_SIZE = 64 << 20
DEFAULT_INDEX_EVERY = 4096
DEFAULT_FSYNC = FsyncPolicy.batch(ms=100)


def _owner_only(directory: Path) -> None:
    """Trading data is readable by its owner only: segments and index written by an older build
    (0644) are tightened when a writer opens the journal."""
    for p in directory.iterdir():
        if p.name.endswith(".fxj") or p.name.startswith("index.fxi"):
            try:
                if p.stat().st_uid == os.geteuid():
                    p.chmod(0o600)
            except OSError:
                pass


def _ts_offset(dtype: np.dtype, ts_field: str) -> int:
    """Where ts_field lies in an fxpipe event dtype (type: <u2 at offset 0, ts_field: <i8); a
    clear error for anything else."""
    names = dtype.names
    if names is None or "type" not in names or ts_field not in names:
        raise ValueError(f"append_events takes event records (fxpipe.model.events dtypes) with a "
                         f"'type' and a {ts_field!r} field, got dtype {dtype}")
    fields = dtype.fields
    assert fields is not None
    ts_type, ts_offset = fields[ts_field][:2]
    if fields["type"][1] != 0 or fields["type"][0] != np.dtype("<u2") or ts_type != np.dtype("<i8"):
        raise ValueError(f"append_events takes fxpipe event slots (type: <u2 at offset 0, {ts_field}: <i8), "
                         f"got dtype {dtype}")
    return int(ts_offset)


class Journal:
    """Appends records to the journal in `directory` (see `Journal.open`)."""

    def __init__(self, directory, fsync: FsyncPolicy | str = DEFAULT_FSYNC,
                 segment_size: int = DEFAULT_SEGMENT_SIZE, index_every: int = DEFAULT_INDEX_EVERY,
                 create: bool = True, first_seq: int = 1, write_ahead: bool = False):
        self.directory = Path(directory)
        self.policy = FsyncPolicy.parse(fsync) if isinstance(fsync, str) else fsync
        if segment_size % L.PAGE or segment_size < 2 * L.PAGE or segment_size > MAX_SEGMENT_SIZE:
            raise ValueError(f"segment_size must be a multiple of {L.PAGE} in {2 * L.PAGE}..{MAX_SEGMENT_SIZE}")
        if first_seq < 1:
            raise ValueError("first_seq must be >= 1")
        self.segment_size = segment_size
        self.write_ahead = write_ahead
        if self.directory.exists() and not self.directory.is_dir():
            raise JournalError(f"{self.directory} is a file; a journal is a directory of segment files")
        if not self.directory.is_dir():
            if not create:
                raise JournalError(f"no journal at {self.directory}")
            self.directory.mkdir(parents=True)
        self._lock = WriterLock(self.directory)
        self._lock.acquire()
        _owner_only(self.directory)
        self._fd = -1
        try:
            self._open(index_every, first_seq)
        except BaseException:
            self._release()
            raise

    @classmethod
    def open(cls, directory, **kwargs) -> Journal:
        """Opens (creating if needed) the journal in `directory` for appending.

        fsync: FsyncPolicy or 'never' | 'every-record' | 'every:N' | 'every:/Tms' | 'every:N/Tms'
        segment_size: bytes per segment file (multiple of 4096); index_every: records per sparse
        index entry (power of two); first_seq: the first sequence number of a new journal;
        write_ahead: prefault() also writes segments ahead (fxpipe.journal.spare): fewer kernel
        workers converting reserved extents after each sync, on whatever core they land, for
        twice what reaches the disk; off by default (docs/journal.md has the measurement).
        After opening, `tail` reports a cut torn tail (or None) and `notes` what else recovery did.
        """
        return cls(directory, **kwargs)

    def _open(self, index_every: int, first_seq: int) -> None:
        state = load_state(self.directory, writable=True, index_every=index_every)
        self.tail: TailReport | None = state.tail
        self.notes: list[str] = state.notes
        self.index = state.index
        if not state.segments:
            self.journal_id = int.from_bytes(os.urandom(8), "little") or 1
            self.index.journal_id = self.journal_id
            self._fd = create_segment(self.directory, 0, self.journal_id, first_seq, self.segment_size)
            last_no, pos, next_seq, max_ts = 0, L.SEGMENT_HEADER_SIZE, first_seq, -(1 << 63)
            summary = (first_seq, 0, 0, 0, 0, 0, False, False)
            size = self.segment_size
        else:
            self.journal_id = state.journal_id
            last = state.segments[-1]
            last_no, pos, next_seq, max_ts = last.segment_no, last.end, state.next_seq, state.max_ts
            mixed = last.count > 0
            summary = (last.first_seq, last.count, last.min_ts, last.max_ts, last.uniform_size,
                       last.uniform_type, mixed and not last.uniform_size, mixed and not last.uniform_type)
            size = last.header.segment_size
            self._fd = os.open(segment_path(self.directory, last_no), os.O_RDWR)
        p = self.policy
        self.index.every = index_every
        self.appender = SegmentAppender(self._roll, self.index.add, p.mode, p.every_records,
                                        p.every_ms * 1_000_000, index_every, next_seq, max_ts)
        self.appender.attach(self._fd, size, last_no, pos, *summary)
        self._ts_offsets: dict[tuple[np.dtype, str], int] = {}
        self._ahead = Ahead()
        self._spare: SpareSegment | None = None
        self._rest: tuple[int, ZeroFill | None] = (-1, None)    # the current segment's unwritten rest
        self._save_index()
        # bound methods straight to the C appender: no extra Python frame per record
        self.append = self.appender.append  # type: ignore[method-assign]  # deliberate per-instance rebinding
        self.append_array = self.appender.append_array  # type: ignore[method-assign]  # as above

    # --- appending ------------------------------------------------------------------------------

    def append(self, rtype: int, payload, ts_ns: int, flags: int = 0, stage: int = 0) -> int:
        """Appends one record; returns its sequence number. (Replaced per instance by the C
        appender's method; kept here for documentation.)"""
        return self.appender.append(rtype, payload, ts_ns, flags, stage)

    def append_array(self, rtype: int, events, ts_ns, flags: int = 0, stage: int = 0) -> int:
        """Appends each row of a C-contiguous array as one record; returns the first sequence."""
        return self.appender.append_array(rtype, events, ts_ns, flags, stage)

    def append_events(self, events, ts_field: str = "ts_receive_ns", flags: int = 0, stage: int = 0) -> int:
        """Appends an array of fxpipe.model.events records (one dtype_for() type, or raw
        192-byte slots viewed by any event dtype) as one record each, typed by each event's
        `type` and stamped with its `ts_field`. Returns the first sequence, -1 when empty."""
        if not isinstance(events, np.ndarray):
            raise ValueError(f"append_events takes event records (fxpipe.model.events dtypes), got "
                             f"{type(events).__name__}")
        # the dtype's checks once per dtype: they cost the journal process microseconds a batch,
        # and it is handed batches of one or two events at a time
        ts_offset = self._ts_offsets.get((events.dtype, ts_field))
        if ts_offset is None:
            ts_offset = self._ts_offsets[(events.dtype, ts_field)] = _ts_offset(events.dtype, ts_field)
        if not events.flags.c_contiguous:
            raise ValueError("append_events needs a C-contiguous array (a copy of a structured array "
                             "keeps only its named fields, not its pad bytes): pass the slots as they are")
        if len(events) == 0:
            return -1
        # one call for the whole batch, whatever its mix of types: one per run of one type cost
        # the journal process microseconds an event on the exec ring, whose types alternate
        return self.appender.append_slots(events, ts_offset, flags, stage)

    def append_stage_start(self, stage: int, name: str, config: bytes, ts_ns: int) -> int:
        """Marks where a recorded stage starts, with what replay needs to rebuild it."""
        nb = name.encode()
        payload = struct.pack("<H", len(nb)) + nb + config
        return self.appender.append_internal(L.RT_STAGE_START, payload, ts_ns, 0, stage)

    def append_state_hash(self, stage: int, digest: bytes, ts_ns: int) -> int:
        """Records a stage's state hash at this point of its input stream."""
        return self.appender.append_internal(L.RT_STATE_HASH, digest, ts_ns, 0, stage)

    def prefault(self) -> int:
        """For a writer's idle moments: readies the pages past the write position for the appends
        to come, so they take no page fault (SegmentAppender.prefault; when,
        fxpipe.prefault.Ahead); when none are due, writes a slice of the next segment ahead
        (fxpipe.journal.spare) once the current one is half full. Returns the bytes of the
        current segment made ready."""
        a = self.appender
        if not self._ahead.due(a.segment_no, a.pos):
            if self.write_ahead:
                self._write_ahead()
            return 0
        n = a.prefault(self._ahead.nbytes)
        self._ahead.readied(a.pos & ~(L.PAGE - 1), n)
        return n

    def _write_ahead(self) -> None:
        a = self.appender
        if a.failed or not a.attached:
            return
        past_records = min(-(-a.pos // L.PAGE) * L.PAGE, a.size)     # the page after the records
        seg, rest = self._rest
        if seg != a.segment_no:
            rest = ZeroFill(self._fd, past_records, a.size)
            self._rest = (a.segment_no, rest)
        if rest is not None and not rest.done:
            try:
                # the appends since the last slice may have gone past it: never below them
                rest.step(floor=past_records)
            except OSError:
                self._rest = (a.segment_no, None)   # left reserved (a full disk): appends work as before
            return
        spare = self._spare
        if spare is None:
            if a.pos * 2 < a.size:
                return
            try:
                spare = self._spare = SpareSegment(self.directory, a.segment_no + 1, self.segment_size)
            except OSError:
                return                  # made at the roll-over instead, where an error is reported
        if spare.fd >= 0:
            spare.step()

    @property
    def next_seq(self) -> int:
        return self.appender.next_seq

    def sync(self) -> None:
        """Makes everything appended so far durable, whatever the policy."""
        self.appender.sync()

    def maybe_sync(self) -> bool:
        """Applies the time limit of a batch policy while idle; True when it synced."""
        return self.appender.maybe_sync()

    # --- roll-over and index --------------------------------------------------------------------

    def _roll(self, needed: int) -> None:
        a = self.appender
        cur, new = a.segment_no, a.segment_no + 1
        size = max(self.segment_size,
                   -(-(needed + L.SEGMENT_HEADER_SIZE + L.SEAL_RECORD_SIZE) // L.PAGE) * L.PAGE)
        fd_new = self._new_segment(new, size)
        count, first, min_ts, max_ts, uni_size, uni_type = a.segment_summary()
        seal_at = a.write_seal(new)
        self.index.sealed[cur] = SealedSegment(cur, seal_at, count, first if count else a.next_seq,
                                               a.next_seq - 1, min_ts, max_ts, uni_size, uni_type)
        a.detach()
        os.close(self._fd)
        self._fd = fd_new
        a.attach(fd_new, size, new, L.SEGMENT_HEADER_SIZE, a.next_seq, 0, 0, 0, 0, 0, False, False)
        self._save_index()

    def _new_segment(self, segment_no: int, size: int) -> int:
        """The segment to roll to: the one written ahead when it is ready and big enough, else
        one made now."""
        spare, self._spare = self._spare, None
        if spare is not None:
            if spare.ready and spare.segment_no == segment_no and spare.size >= size:
                fd = spare.install(self.journal_id, self.appender.next_seq)
                self._rest = (segment_no, None)     # written ahead whole
                return fd
            spare.discard()
        return create_segment(self.directory, segment_no, self.journal_id, self.appender.next_seq, size)

    def _save_index(self) -> None:
        a = self.appender
        self.index.covered_segment, self.index.covered_offset = a.segment_no, a.pos
        self.index.covered_next_seq = a.next_seq
        self.index.save(self.directory, durable=self.policy.mode != POLICY_NEVER)

    # --- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Syncs (unless the policy is never), saves the index and releases the writer lock."""
        if self._spare is not None:
            self._spare.discard()
            self._spare = None
        if self._fd < 0:
            self._release()
            return
        try:
            if not self.appender.failed:
                self.appender.detach()
                self._save_index()
        finally:
            if self.appender.attached:
                self.appender.detach()  # after a failed sync: unmap without syncing again
            self._release()

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
