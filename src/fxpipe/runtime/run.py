"""`fxpipe run LAYOUT`: a trading desk under the supervisor, in the layout asked for.

The supervisor creates the rings, spawns each layout process with its stages (TradingWorker or
the journal), watches and restarts them, and on SIGTERM/SIGINT (or the end of `--duration`)
shuts them down in flow order so every ring drains into the journal. The summary is read back
from the journal afterwards: what the desk did is what the system of record says it did.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fxpipe.runtime.desk import DeskSpec
from fxpipe.runtime.layout import Layout
from fxpipe.runtime.summary import RunSummary
from fxpipe.runtime.supervisor import Supervisor
from fxpipe.runtime.workers import desk_body


def default_prefix() -> str:
    """The prefix `fxpipe status`, `ctl` and `metrics` look at by default."""
    from fxpipe.ops.cli import DEFAULT_PREFIX

    return DEFAULT_PREFIX


def run_desk(layout: Layout, desk: DeskSpec, *, prefix: str | None = None, duration_s: float | None = None,
             until: Callable[[], bool] | None = None, alarm: Callable[[str], None] = print,
             on_started: Callable[[Supervisor], None] | None = None, log_path: str | Path | None = None,
             questdb: str | None = None, **supervisor_kw) -> RunSummary:
    """log_path: every process's `fxpipe` loggers write JSON lines there (alarms included).
    questdb: a QuestDB client configuration (`http::addr=host:9000;`): the journal goes there
    too, through the sink in its own process (checkpoint `run_dir/questdb.checkpoint`)."""
    from fxpipe.ops.supervisor_status import SupervisorStatus

    desk.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if log_path is not None:
        from fxpipe.ops.logs import configure_logging

        os.close(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        configure_logging(str(log_path))        # before the workers fork: they inherit it
    prefix = prefix or default_prefix()
    status = SupervisorStatus(prefix)

    def alarms(text: str) -> None:
        status.alarm(text)          # the structured log and the "supervisor" status section
        alarm(text)

    sup = Supervisor(layout, prefix, desk_body(desk, layout, prefix), alarm=alarms, **supervisor_kw)
    end = None if duration_s is None else time.monotonic() + duration_s
    started = [False]
    sink = _QuestDB(desk, questdb, prefix, alarms) if questdb else None

    def done() -> bool:
        if not started[0]:
            started[0] = True
            if sink is not None:
                sink.start()
            if on_started is not None:
                on_started(sup)
        if sink is not None:
            sink.watch()
        status.publish(sup)
        return (end is not None and time.monotonic() >= end) or (until is not None and until())

    try:
        sup.run(until=done)
    finally:
        if sink is not None:
            sink.stop()
        status.close(unlink=True)
    return RunSummary.from_journal(desk.journal_dir)


class _QuestDB:
    """The sink process: started with the desk, restarted if it dies (it resumes from its
    checkpoint), stopped after the desk has drained into the journal."""

    def __init__(self, desk: DeskSpec, conf: str, prefix: str, alarm: Callable[[str], None]):
        import multiprocessing as mp

        self.ctx = mp.get_context("fork")
        self.stop_evt = self.ctx.Event()
        self.args = (str(desk.journal_dir), conf, str(desk.run_dir / "questdb.checkpoint"), prefix,
                     desk.refdata_text, self.stop_evt)
        self.alarm = alarm
        self.proc: Any = None
        self.restarts = 0

    def start(self) -> None:
        from fxpipe.runtime.sinks import questdb_main

        self.proc = self.ctx.Process(target=questdb_main, args=self.args, name="fxpipe-questdb", daemon=False)
        self.proc.start()

    def watch(self) -> None:
        if self.proc is not None and self.proc.exitcode is not None and not self.stop_evt.is_set():
            self.restarts += 1
            self.alarm(f"ALARM questdb sink (pid {self.proc.pid}) exited with {self.proc.exitcode}; restarting "
                       f"(it resumes after its checkpoint; trading is not affected)")
            self.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self.stop_evt.set()
        if self.proc is not None:
            self.proc.join(timeout_s)
            if self.proc.exitcode is None:
                self.proc.kill()
                self.proc.join(5)
