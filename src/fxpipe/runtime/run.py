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
             **supervisor_kw) -> RunSummary:
    """log_path: every process's `fxpipe` loggers write JSON lines there (alarms included)."""
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

    def done() -> bool:
        if not started[0]:
            started[0] = True
            if on_started is not None:
                on_started(sup)
        status.publish(sup)
        return (end is not None and time.monotonic() >= end) or (until is not None and until())

    try:
        sup.run(until=done)
    finally:
        status.close(unlink=True)
    return RunSummary.from_journal(desk.journal_dir)
