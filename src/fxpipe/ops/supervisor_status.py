"""The "supervisor" status section: workers (pid, alive, restarts, given up) and the
supervisor's alarms, for `fxpipe status`, `fxpipe metrics` and `fxpipe ctl`'s diagnostics.

    st = SupervisorStatus(prefix)
    sup = Supervisor(layout, prefix, body, alarm=st.alarm)
    ... in the supervisor's watch loop: sup.watch_once(); st.publish(sup)

`alarm` is what the supervisor calls with each alarm line: kept (the latest ones go in the
section), and raised through fxpipe.ops.logs (worker_dead or consumer_lag) so every hook hears it.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any

from fxpipe.ops import logs
from fxpipe.ops.status_shm import StatusWriter

SECTION = "supervisor"


def _kind(text: str) -> logs.AlarmKind:
    if "consumer" in text and ("not moved" in text or "lag" in text):
        return logs.AlarmKind.CONSUMER_LAG
    return logs.AlarmKind.WORKER_DEAD


class SupervisorStatus:
    def __init__(self, prefix: str, keep_alarms: int = 50):
        self.writer = StatusWriter(prefix, SECTION)
        self.alarms: deque[dict[str, Any]] = deque(maxlen=keep_alarms)

    def alarm(self, text: str) -> None:
        kind = _kind(text)
        self.alarms.append({"kind": kind.value, "text": text, "ts_ns": time.time_ns()})
        logs.alarm(kind, text)

    def snapshot(self, supervisor: Any) -> dict[str, Any]:
        workers = []
        for name, w in sorted(supervisor.workers.items()):
            proc = w.proc
            alive = proc is not None and proc.exitcode is None
            state = "given up" if w.given_up else "alive" if alive else "not started" if proc is None else "dead"
            workers.append({"name": name, "pid": proc.pid if proc is not None else 0, "alive": alive,
                            "state": state, "exitcode": None if proc is None else proc.exitcode,
                            "restarts": len(w.restarts), "given_up": w.given_up,
                            "stages": list(w.spec.stages), "core": w.spec.core})
        return {"prefix": supervisor.prefix, "layout": supervisor.layout.name, "workers": workers,
                "alarms": list(self.alarms)}

    def publish(self, supervisor: Any) -> None:
        self.writer.write(self.snapshot(supervisor))

    def close(self, unlink: bool = False) -> None:
        self.writer.close(unlink=unlink)
