"""The QuestDB sink: tails a journal and sends every event to QuestDB exactly once.

The journal is the system of record, so the sink reads only the journal's files (never a ring)
and runs in a process or thread of its own: QuestDB being down or slow costs trading nothing,
and nothing is lost because the journal keeps it all. Each event becomes one row of its type's
table (fxpipe.persistence.tables) sent through the official client (`questdb`, ILP over HTTP),
in batches flushed by row count or age. The checkpoint (the last journal sequence QuestDB
acknowledged) moves only after an acknowledged flush; after a crash the sink resends from there
and the tables' DEDUP UPSERT KEYS make the resent rows replace themselves, so no row is lost or
doubled. While QuestDB cannot take rows the sink raises an alarm (a JSON log line with
`"alarm": "questdb_down"` and the `on_alarm` hook), retries with exponential back-off and, once
it is back, catches up from the checkpoint.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fxpipe.journal import JournalError, JournalReader
from fxpipe.model.refdata import RefData
from fxpipe.persistence import checkpoint as ckpt
from fxpipe.persistence.questdb_http import (
    QuestDBConf,
    QuestDBRejected,
    QuestDBUnavailable,
    exec_sql,
    parse_conf,
)
from fxpipe.persistence.tables import TABLES, Row, RowMaker

log = logging.getLogger("fxpipe.persistence.questdb")

JOURNAL_TYPES_FROM = 0xFF00   # the journal's own record types (stage start, state hash, seal)


class SinkError(Exception):
    """The sink cannot go on without an operator (bad checkpoint, corrupt journal without --follow)."""


@dataclass(frozen=True)
class SinkAlarm:
    name: str            # questdb_down, questdb_rejected, journal_tail, journal_corrupt, bad_record
    active: bool         # False: the condition has cleared
    message: str
    detail: dict = field(default_factory=dict)


@dataclass
class SinkOptions:
    batch_rows: int = 5000          # flush when this many rows wait ...
    batch_interval_s: float = 0.5   # ... or when the oldest has waited this long
    poll_s: float = 0.05            # how often a caught-up sink looks for new records
    backoff_min_s: float = 0.1      # retry delays double from min to max while QuestDB is away
    backoff_max_s: float = 5.0
    follow: bool = True             # keep tailing; False: stop once the journal's end is in QuestDB


class QuestDBSink:
    def __init__(self, journal_dir: str | Path, conf: str, checkpoint: str | Path | None = None,
                 options: SinkOptions | None = None, refdata: RefData | None = None,
                 on_alarm: Callable[[SinkAlarm], None] | None = None):
        self.journal_dir = Path(journal_dir)
        self.conf: QuestDBConf = parse_conf(conf)
        try:
            import questdb  # noqa: F401  (the official client: an optional dependency)
        except ImportError:
            raise SinkError("the QuestDB sink needs the questdb client: pip install 'fxpipe[questdb]' "
                            "(or -r requirements-run.txt)") from None
        self.checkpoint_path = Path(checkpoint) if checkpoint else ckpt.default_path(journal_dir)
        self.options = options or SinkOptions()
        self.on_alarm = on_alarm
        self.reader = JournalReader(self.journal_dir)
        self.journal_id = self.reader.state.journal_id
        self.rows = RowMaker(refdata, self.journal_id)
        self.acked_seq = self._resume_seq()
        self.read_seq = self.acked_seq        # the last record taken into `pending` (or skipped)
        self.pending: list[Row] = []
        self.pending_since = 0.0
        self.rows_sent = 0
        self.batches_sent = 0
        self._sender = None
        self._tables_ready = False
        self._active: dict[str, SinkAlarm] = {}
        self._retry_at = 0.0
        self._backoff = self.options.backoff_min_s
        self._reported_tail: object = None

    # --- checkpoint -----------------------------------------------------------------------------

    def _resume_seq(self) -> int:
        cp = ckpt.load(self.checkpoint_path)
        if cp is None:
            return self.reader.first_seq - 1
        if cp.journal_id != self.journal_id:
            raise SinkError(f"{self.checkpoint_path} belongs to journal {cp.journal_id:016x}, not "
                            f"{self.journal_id:016x} ({self.journal_dir}); give this journal its own "
                            f"--checkpoint")
        if cp.last_seq >= self.reader.next_seq:
            raise SinkError(f"{self.checkpoint_path} says QuestDB has records up to {cp.last_seq}, but "
                            f"{self.journal_dir} ends at {self.reader.next_seq - 1}: the journal lost "
                            f"records after they were sent (cut tail?). Check QuestDB, then remove "
                            f"the checkpoint to resend the journal (rows already there are replaced)")
        return cp.last_seq

    # --- alarms ---------------------------------------------------------------------------------

    def _alarm(self, name: str, message: str, **detail) -> None:
        first = name not in self._active
        alarm = self._active[name] = SinkAlarm(name, True, message, detail)
        if first:
            log.error(json.dumps({"alarm": name, "active": True, "message": message,
                                  "journal": str(self.journal_dir), "acked_seq": self.acked_seq, **detail}))
            if self.on_alarm is not None:
                self.on_alarm(alarm)

    def _clear(self, name: str, message: str) -> None:
        if self._active.pop(name, None) is None:
            return
        log.warning(json.dumps({"alarm": name, "active": False, "message": message,
                                "journal": str(self.journal_dir), "acked_seq": self.acked_seq}))
        if self.on_alarm is not None:
            self.on_alarm(SinkAlarm(name, False, message))

    @property
    def alarms(self) -> list[SinkAlarm]:
        return list(self._active.values())

    # --- reading --------------------------------------------------------------------------------

    def _refresh(self) -> bool:
        """Re-open the journal to see what was appended; False when it cannot be read now."""
        try:
            self.reader.refresh()
        except JournalError as exc:
            self._alarm("journal_corrupt", str(exc))
            return False
        self._clear("journal_corrupt", "the journal reads cleanly again")
        tail = self.reader.tail
        if tail is not None and tail != self._reported_tail:
            self._reported_tail = tail
            self._alarm("journal_tail", str(tail), file=str(tail.path), offset=tail.offset)
        elif tail is None and self._reported_tail is not None:
            self._reported_tail = None
            self._clear("journal_tail", "the journal's writer cut the damaged tail")
        return True

    def _take(self) -> int:
        """Moves records after read_seq into `pending`, up to a batch; how many were read."""
        if self.read_seq + 1 >= self.reader.next_seq or len(self.pending) >= self.options.batch_rows:
            return 0            # nothing new, or a full batch waits for QuestDB: memory stays bounded
        n = 0
        try:
            for rec in self.reader.records(start_seq=self.read_seq + 1):
                n += 1
                self.read_seq = rec.seq
                if rec.type < JOURNAL_TYPES_FROM:
                    self._add(rec.seq, rec.type, rec.ts_ns, rec.payload)
                if len(self.pending) >= self.options.batch_rows:
                    break
        except JournalError as exc:
            self._alarm("journal_corrupt", str(exc), after_seq=self.read_seq)
        return n

    def _add(self, seq: int, rtype: int, ts_ns: int, payload: bytes) -> None:
        try:
            row = self.rows.row(rtype, seq, ts_ns, payload)
        except KeyError:
            self._alarm(f"no_table_{rtype}", f"record type {rtype} has no QuestDB table; its records "
                        f"stay in the journal only", seq=seq)
            return
        except ValueError as exc:
            log.error(json.dumps({"alarm": "bad_record", "active": True, "seq": seq, "message": str(exc),
                                  "journal": str(self.journal_dir)}))
            return
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending.append(row)

    # --- sending --------------------------------------------------------------------------------

    def _ensure_tables(self) -> None:
        if not self._tables_ready:
            for t in TABLES.values():
                exec_sql(self.conf, t.create_sql())
            self._tables_ready = True

    def _sender_ready(self):
        if self._sender is None:
            from questdb import Sender
            keys = self.conf.params
            extra = {} if "retry_timeout" in keys else {"retry_timeout": 2000}
            sender = Sender.from_conf(self.conf.text, **extra)
            sender.establish()
            self._sender = sender
        return self._sender

    def _drop_sender(self) -> None:
        if self._sender is not None:
            try:
                self._sender.close(flush=False)
            except Exception:  # closing a broken connection: nothing left to save
                pass
            self._sender = None

    def _flush(self) -> bool:
        """Sends `pending` and moves the checkpoint; False when QuestDB did not take it."""
        from questdb import QuestDBError, TimestampNanos
        try:
            self._ensure_tables()
            sender = self._sender_ready()
            if self.pending:
                buf = sender.new_buffer()
                for r in self.pending:
                    buf.row(r.table, symbols=r.symbols, columns=r.columns, at=TimestampNanos(r.ts_ns))
                sender.flush(buf, clear=False)
        except (QuestDBError, QuestDBUnavailable, QuestDBRejected) as exc:
            self._failed(exc)
            return False
        self.rows_sent += len(self.pending)
        self.batches_sent += 1
        self.pending.clear()
        self.acked_seq = self.read_seq
        ckpt.save(self.checkpoint_path, ckpt.Checkpoint(self.journal_id, self.acked_seq))
        self._backoff = self.options.backoff_min_s
        self._clear("questdb_down", "QuestDB takes rows again; caught up from the checkpoint")
        self._clear("questdb_rejected", "QuestDB accepts the rows again")
        return True

    def _failed(self, exc: Exception) -> None:
        from questdb import QuestDBError, QuestDBErrorCode
        # The client does not expose the HTTP status; QuestDB's answer to a line it cannot take
        # (400) is JSON with code "invalid", while a server error (5xx) says something else.
        text = str(exc).replace('": "', '":"')
        rejected = isinstance(exc, QuestDBRejected) or (
            isinstance(exc, QuestDBError) and exc.code in (
                QuestDBErrorCode.ServerFlushError, QuestDBErrorCode.ServerRejection)
            and '"code":"invalid"' in text)
        self._drop_sender()
        self._tables_ready = False
        detail = {"error": str(exc), "pending_rows": len(self.pending), "retry_in_s": self._backoff}
        if rejected:
            self._alarm("questdb_rejected", "QuestDB refuses the rows; they wait in the journal", **detail)
        else:
            self._alarm("questdb_down", "QuestDB cannot take rows; they wait in the journal", **detail)
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.options.backoff_max_s)

    # --- the loop -------------------------------------------------------------------------------

    def step(self) -> bool:
        """One round: read, and flush when a batch is due. True when it did something."""
        now = time.monotonic()
        if now < self._retry_at:
            return False
        if self.read_seq + 1 >= self.reader.next_seq and not self._refresh():
            return False
        took = self._take()
        full = len(self.pending) >= self.options.batch_rows
        caught_up = self.read_seq + 1 >= self.reader.next_seq
        old = bool(self.pending) and now - self.pending_since >= self.options.batch_interval_s
        unsaved = self.read_seq > self.acked_seq
        if unsaved and (full or old or (caught_up and not self.options.follow)
                        or (not self.pending and caught_up)):
            return self._flush()
        return took > 0

    def done(self) -> bool:
        """Everything the journal held at its last refresh is in QuestDB."""
        return self.acked_seq + 1 >= self.reader.next_seq and not self.pending

    def run(self, stop: Callable[[], bool]) -> None:
        try:
            while not stop():
                if self.step():
                    continue
                if not self.options.follow:
                    if "journal_corrupt" in self._active:
                        raise SinkError(self._active["journal_corrupt"].message)
                    if self.done():
                        return
                time.sleep(self.options.poll_s)
            if self.read_seq > self.acked_seq:
                self._flush()
        finally:
            self.close()

    def status(self) -> dict:
        return {"journal": str(self.journal_dir), "acked_seq": self.acked_seq, "read_seq": self.read_seq,
                "journal_next_seq": self.reader.next_seq, "pending_rows": len(self.pending),
                "rows_sent": self.rows_sent, "batches_sent": self.batches_sent,
                "alarms": sorted(self._active)}

    def close(self) -> None:
        self._drop_sender()
        self.reader.close()


def run_sink(journal_dir: str | Path, conf: str, checkpoint: str | Path | None,
             stop: Callable[[], bool], *, options: SinkOptions | None = None,
             refdata: RefData | None = None,
             on_alarm: Callable[[SinkAlarm], None] | None = None) -> QuestDBSink:
    """Runs the sink until stop() is true (or, with options.follow False, until the journal's
    end is in QuestDB). For the runtime: call it in a process or thread of its own."""
    sink = QuestDBSink(journal_dir, conf, checkpoint, options, refdata, on_alarm)
    sink.run(stop)
    return sink
