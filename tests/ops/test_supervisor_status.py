"""The supervisor section from a real supervisor: its workers with pids, a kill -9 seen as a
restart with its alarm, the oms worker given up, and `fxpipe status` showing both."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from rich.console import Console

from fxpipe.ops import logs
from fxpipe.ops.status import collect, render
from fxpipe.ops.status_shm import StatusReader
from fxpipe.ops.supervisor_status import SupervisorStatus
from fxpipe.runtime.layout import HostCores, parse
from fxpipe.runtime.supervisor import Supervisor

CORES = HostCores(frozenset(os.sched_getaffinity(0)), frozenset(os.sched_getaffinity(0)), frozenset())
LAYOUT = parse({"name": "t", "rings": {r: {"slots": 64, "wait": "sleep"} for r in ("md", "intent", "exec")},
                "processes": {"trader": {"stages": ["feed", "decision"], "core": -1, "wait": "sleep"},
                              "oms": {"stages": ["oms"], "core": -1, "wait": "sleep"},
                              "journal": {"stages": ["journal"], "core": -1, "wait": "sleep"}}},
               Path("t.toml"), CORES)


def idle_body(spec, names, stop):
    while not stop():
        time.sleep(0.01)


def wait_for(cond, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_workers_restarts_and_alarms_reach_the_section(prefix, tmp_path):
    heard = []
    hook = lambda kind, text, fields: heard.append(kind)  # noqa: E731
    logs.add_alarm_hook(hook)
    st = SupervisorStatus(prefix)
    sup = Supervisor(LAYOUT, prefix, idle_body, lock_dir=tmp_path, alarm=st.alarm, restart_oms=False)
    try:
        sup.start()
        st.publish(sup)
        snap = StatusReader(prefix).read("supervisor").snapshot
        assert [w["name"] for w in snap["workers"]] == ["journal", "oms", "trader"]
        assert all(w["alive"] and w["pid"] > 0 and w["restarts"] == 0 for w in snap["workers"])

        old = sup.workers["trader"].proc.pid
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: sup.workers["trader"].proc.exitcode is not None, "the kill")
        sup.watch_once()
        os.kill(sup.workers["oms"].proc.pid, signal.SIGKILL)
        wait_for(lambda: sup.workers["oms"].proc.exitcode is not None, "the kill")
        sup.watch_once()
        st.publish(sup)
        w = {x["name"]: x for x in StatusReader(prefix).read("supervisor").snapshot["workers"]}
        assert w["trader"]["restarts"] == 1 and w["trader"]["pid"] != old and w["trader"]["alive"]
        assert w["oms"]["state"] == "given up" and not w["oms"]["alive"] and w["oms"]["exitcode"] == -9
        assert heard == [logs.AlarmKind.WORKER_DEAD, logs.AlarmKind.WORKER_DEAD]

        console = Console(record=True, width=200)
        console.print(render(collect(prefix)))
        text = console.export_text()
        assert "workers" in text and "given up" in text and "worker_dead" in text
    finally:
        logs.remove_alarm_hook(hook)
        sup.shutdown()
        st.close(unlink=True)
