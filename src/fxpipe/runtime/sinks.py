"""The desk's QuestDB sink in a process of its own, next to the layout's workers: it tails the
run's journal (never a ring), so trading never waits on it; QuestDB down or slow is an alarm
(the structured log and the "questdb" status section) and the sink catches up from its
checkpoint when QuestDB is back. At the end of a run it is given a bounded time to send what
the journal's last records hold."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

DRAIN_S = 10.0


def questdb_main(journal_dir: str, conf: str, checkpoint: str, prefix: str, refdata_text: str, stop: Any,
                 drain_s: float = DRAIN_S) -> None:
    import signal

    from fxpipe.model.refdata import parse_refdata
    from fxpipe.ops.status_shm import StatusWriter
    from fxpipe.persistence.questdb_sink import QuestDBSink, SinkAlarm

    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the desk decides when the sink stops
    status = StatusWriter(prefix, "questdb")
    alarms: dict[str, str] = {}

    def publish(sink: QuestDBSink | None = None) -> None:
        doc: dict[str, Any] = {"conf": conf.split(";")[0], "alarms": dict(sorted(alarms.items()))}
        if sink is not None:
            doc.update(sink.status())
        try:
            status.write(doc)
        except Exception:          # noqa: BLE001 - the status is advisory; the sink goes on
            pass

    def on_alarm(a: SinkAlarm) -> None:
        if a.active:
            alarms[a.name] = a.message
        else:
            alarms.pop(a.name, None)
        publish()

    while not Path(journal_dir).exists() and not stop.is_set():
        time.sleep(0.05)
    sink = QuestDBSink(journal_dir, conf, checkpoint, refdata=parse_refdata(refdata_text) if refdata_text else None,
                       on_alarm=on_alarm)
    try:
        last = 0.0
        while not stop.is_set():
            if not sink.step():
                time.sleep(sink.options.poll_s)
            if time.monotonic() - last > 0.5:
                publish(sink)
                last = time.monotonic()
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            moved = sink.step()
            if not moved and sink.done():
                break
            if not moved:
                time.sleep(sink.options.poll_s)
        publish(sink)
    finally:
        sink.close()
        status.close(unlink=False)
