"""Worker bodies the supervisor runs in its processes (see supervisor.WorkerBody).

journal_body: the journal stage as the trailing consumer of every ring, in turn, a batch at a
time. On stop it drains what is already published before it exits; a ring closed by the
supervisor (its producer gone) is drained and then left.

desk_body: a whole trading desk (fxpipe.runtime.desk): the journal process runs journal_body,
every other process a TradingWorker with the stages the layout gave it."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fxpipe.ring import Ring, RingClosed, RingTimeout
from fxpipe.runtime.layout import Layout, ProcessSpec
from fxpipe.runtime.processor import hot_path
from fxpipe.stages.journal_stage import JournalStage


def journal_body(directory: str, fsync: str = "every:/100ms", max_batch: int = 1024,
                 poll_s: float = 0.005, ops_prefix: str | None = None,
                 refdata_text: str = "", sync_dirs: tuple[tuple[str, float], ...] = ()
                 ) -> Callable[[ProcessSpec, dict[str, str], Callable[[], bool]], None]:
    """ops_prefix: also host the operations view (fxpipe.ops) over every batch the journal
    takes, published as the "ops" status section of that prefix (`fxpipe status`, `ctl`).
    sync_dirs: (journal directory, period s) of other processes' journals this process makes
    durable (fxpipe.journal.background): the oms's write-ahead journal is written through a
    shared mapping, so an fsync from here covers it, and its writer never pays for one."""
    def body(spec: ProcessSpec, names: dict[str, str], stop: Callable[[], bool]) -> None:
        from fxpipe.journal.background import BackgroundSync

        syncs = [BackgroundSync(d, period).start() for d, period in sync_dirs]
        try:
            _journal_loop(spec, names, stop)
        finally:
            for s in syncs:
                s.stop()

    def _journal_loop(spec: ProcessSpec, names: dict[str, str], stop: Callable[[], bool]) -> None:
        ops = None
        if ops_prefix is not None:
            from fxpipe.model.refdata import parse_refdata
            from fxpipe.ops.host import OpsPublisher

            ops = OpsPublisher(ops_prefix, parse_refdata(refdata_text) if refdata_text else None)
        stage = JournalStage(directory, fsync=fsync)
        consumers = {r: Ring.attach(names[r]).consumer("journal", wait=spec.wait) for r in names}
        open_rings = set(names)

        def take(r: str, timeout_s: float) -> int:
            """One batch of ring r (waiting up to timeout_s for it), journaled; its size."""
            try:
                c = consumers[r]
                batch = c.read_batch(max_batch, timeout_s) if timeout_s else c.poll_batch(max_batch)
            except RingTimeout:
                return 0
            except RingClosed:
                open_rings.discard(r)
                return 0
            if batch is None:
                return 0
            stage.on_batch(batch)
            if ops is not None:
                ops.on_batch(batch)
            consumers[r].release()
            return len(batch)

        # every ring is read without waiting in each round; only a round that found nothing waits,
        # on the ring that last had events. Waiting on each ring in turn let the quiet ones (the
        # control ring is almost always empty) hold the journal for poll_s each while a busy one
        # filled, and its producer, the trader, then stalled on a full ring.
        wait_on = "md" if "md" in names else next(iter(sorted(names)), "")
        try:
            _skip_rewritten(stage, consumers)
            with hot_path():
                while open_rings:
                    stopping = stop()
                    moved = 0
                    for r in sorted(open_rings):
                        n = take(r, 0)
                        if n:
                            moved += n
                            wait_on = r
                    if not moved and not stopping and open_rings:
                        if wait_on not in open_rings:      # it closed: wait on one still open
                            wait_on = min(open_rings)
                        stage.journal.prefault()            # idle: the next pages, off the appends
                        moved += take(wait_on, poll_s)
                    stage.journal.maybe_sync()
                    if ops is not None:
                        ops.maybe_publish()
                    if stopping and not moved:
                        break
        finally:
            stage.close()
            if ops is not None:
                ops.close(unlink=stop())
    return body


def _journal_tail(directory: str, n: int) -> list[bytes]:
    from fxpipe.journal import JournalReader

    with JournalReader(directory) as r:
        last = r.next_seq - 1
        if last < r.first_seq:
            return []
        return [bytes(rec.payload) for rec in r.records(max(r.first_seq, last - n + 1))]


def _skip_rewritten(stage: JournalStage, consumers: dict, n: int = 4096) -> int:
    """A restarted journal resumes after its last release; the batch it had appended but not
    released when it died comes again. That batch is the journal's last records: the first
    events of one ring equal to the journal's tail are skipped, not written twice."""
    tail = _journal_tail(str(stage.journal.directory), n)
    if not tail:
        return 0
    skipped = 0
    for c in consumers.values():
        try:
            batch = c.read_batch(n, 0)
        except (RingTimeout, RingClosed):
            continue
        rows = batch.view(np.uint8).reshape(len(batch), -1)
        m = 0 if skipped else _overlap(rows, tail)
        stage.on_batch(batch[m:])
        c.release()
        skipped += m
    return skipped


def _overlap(rows, tail: list[bytes]) -> int:
    """The largest m such that the first m slots are the last m records of the journal."""
    for m in range(min(len(rows), len(tail)), 0, -1):
        recs = tail[len(tail) - m:]
        if all(rows[i].tobytes()[:len(recs[i])] == recs[i] for i in range(m)):
            return m
    return 0


def desk_body(desk, layout: Layout, prefix: str | None = None
              ) -> Callable[[ProcessSpec, dict[str, str], Callable[[], bool]], None]:
    journal = journal_body(str(desk.journal_dir), fsync=desk.journal_fsync, ops_prefix=prefix,
                           refdata_text=desk.refdata_text,
                           sync_dirs=((str(desk.oms_dir), desk.oms_sync_ms / 1000),) if desk.oms_sync_ms > 0 else ())

    def body(spec: ProcessSpec, names: dict[str, str], stop: Callable[[], bool]) -> None:
        if "journal" in spec.stages:
            return journal(spec, names, stop)
        from fxpipe.runtime.supervisor import process_readers
        from fxpipe.runtime.trading import TradingWorker

        TradingWorker(desk, spec, names, process_readers(layout, spec.name), stop).run()
        return None
    return body
