"""The journal worker trails every ring: a ring with nothing on it must never hold it from one
that is filling (the trader, that ring's producer, would stall on it full)."""
from __future__ import annotations

import os
import threading
import time

import fxpipe.model.events as ev
from fxpipe.journal import JournalError, JournalReader
from fxpipe.ring import Ring, segment
from fxpipe.runtime.layout import ProcessSpec
from fxpipe.runtime.workers import journal_body
from tests.strategy.helpers import quote

SLOT = ev.SLOT_SIZE
QUIET_WAIT_S = 60.0     # how long a read of a quiet ring may wait: far past this test's patience


def _records(directory: str) -> int:
    try:
        with JournalReader(directory) as r:
            return r.next_seq - r.first_seq
    except (FileNotFoundError, JournalError):
        return 0


def test_a_quiet_ring_never_holds_the_journal_from_a_busy_one(ring_name, tmp_path):
    names = {r: f"{ring_name}.{r}" for r in ("control", "exec", "intent", "md")}
    rings = {r: Ring.create(n, slot_size=SLOT, slot_count=1024, consumers=["journal"]) for r, n in names.items()}
    stopping = threading.Event()
    body = journal_body(str(tmp_path / "journal"), poll_s=QUIET_WAIT_S)
    spec = ProcessSpec("journal", ("journal",), -1, "sleep")
    worker = threading.Thread(target=body, args=(spec, names, stopping.is_set), daemon=True)
    try:
        md = rings["md"].producer(wait="spin")
        worker.start()
        sent = 0
        for burst in range(5):
            for _ in range(20):
                sent += 1
                md.send(quote(sent, 100_000 + sent, 100_010 + sent, t=sent).tobytes())
            # the quiet rings (control, exec, intent: read before md) have had nothing all along
            deadline = time.monotonic() + 10.0
            while _records(str(tmp_path / "journal")) < sent and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _records(str(tmp_path / "journal")) >= sent, f"burst {burst}: md's events waited on quiet rings"
    finally:
        stopping.set()
        md.close_stream()                # the journal's wait on md ends; then it sees the stop
        for r in rings.values():
            r.close()
        worker.join(10)
        for n in names.values():
            try:
                os.unlink(segment.segment_path(n))
            except FileNotFoundError:
                pass
    assert not worker.is_alive()


def _cpu_ticks(tid: int) -> int:
    fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])          # utime + stime, clock ticks


def test_the_journal_idles_without_spinning_after_its_busiest_ring_closed(ring_name, tmp_path):
    names = {r: f"{ring_name}.{r}" for r in ("exec", "md")}
    rings = {r: Ring.create(n, slot_size=SLOT, slot_count=64, consumers=["journal"]) for r, n in names.items()}
    stopping = threading.Event()
    body = journal_body(str(tmp_path / "journal"), poll_s=0.05)
    spec = ProcessSpec("journal", ("journal",), -1, "sleep")
    tid: list[int] = []

    def run() -> None:
        tid.append(threading.get_native_id())
        body(spec, names, stopping.is_set)

    md = rings["md"].producer(wait="spin")
    ex = rings["exec"].producer(wait="spin")
    worker = threading.Thread(target=run, daemon=True)
    try:
        worker.start()
        md.send(quote(1, 100_000, 100_010, t=1).tobytes())
        md.close_stream()                # the ring the journal last waited on is gone
        deadline = time.monotonic() + 10.0
        while _records(str(tmp_path / "journal")) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        before = _cpu_ticks(tid[0])
        time.sleep(1.0)                  # nothing arrives: the journal waits on exec, not in a loop
        used = _cpu_ticks(tid[0]) - before
        ex.send(quote(2, 100_001, 100_011, t=2).tobytes())
        deadline = time.monotonic() + 10.0
        while _records(str(tmp_path / "journal")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _records(str(tmp_path / "journal")) == 2
    finally:
        stopping.set()
        ex.close_stream()
        worker.join(10)
        for r in rings.values():
            r.close()
        for n in names.values():
            try:
                os.unlink(segment.segment_path(n))
            except FileNotFoundError:
                pass
    assert used < 0.3 * os.sysconf("SC_CLK_TCK"), f"the idle journal used {used} ticks in 1 s"
    assert not worker.is_alive()
