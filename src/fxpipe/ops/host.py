"""The OpsView in the process that reads every ring (the journal process): feed it each batch
the journal took, and it publishes the "ops" status section at most every `interval_s` (wall
clock: only when the snapshot is written, never what is in it), and at once when an operator's
command got its answer, so `fxpipe ctl` does not wait for the next tick.

    ops = OpsPublisher(prefix, refdata)
    ... for each batch read from any ring: ops.on_batch(batch) ...
    ops.maybe_publish()          # after each pass over the rings; cheap when not due
    ops.close()
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from fxpipe.model.refdata import RefData
from fxpipe.ops import logs
from fxpipe.ops.status_shm import DEFAULT_CAPACITY, StatusError, StatusWriter
from fxpipe.ops.view import OpsView

SECTION = "ops"
_log = logs.get_logger("ops")


def _alarm_to_log(kind: str, text: str, fields: dict[str, Any]) -> None:
    # an alarm's own fields may carry names alarm() takes itself (an overfill's `kind`): kept
    # under another name, never allowed to take the journal process down
    extra = {(f"{k}_" if k in ("kind", "text") else k): v for k, v in fields.items()}
    logs.alarm(logs.AlarmKind.parse(kind), text, **extra)


class OpsPublisher:
    def __init__(self, prefix: str, refdata: RefData | None = None, *, interval_s: float = 0.2,
                 raise_alarms: bool = True, capacity: int = DEFAULT_CAPACITY):
        self.view = OpsView(refdata, alarm_hook=_alarm_to_log if raise_alarms else None)
        self.writer = StatusWriter(prefix, SECTION, capacity=capacity)
        self.interval_s = interval_s
        self._next = 0.0
        self.publish_errors = 0

    def on_event(self, event: Any) -> None:
        self.view.on_event(event)

    def on_batch(self, batch: Iterable[Any]) -> None:
        """A ring's batch as read (an array of slots) goes to the view whole, which takes its runs
        of quotes in bulk: one Python call per event cost the journal process most of its time
        once the trader's quote rate passed a few thousand a second."""
        self.view.on_batch(batch)

    def maybe_publish(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if not self.view.urgent and now < self._next:
            return False
        self.publish()
        self._next = now + self.interval_s
        return True

    def publish(self) -> None:
        """Write the snapshot. One too large for the section is logged and skipped (the last
        one stays; readers see it age): the journal process must never stop over its status."""
        self.view.urgent = False
        try:
            self.writer.write(self.view.snapshot())
        except StatusError as exc:
            self.publish_errors += 1
            if self.publish_errors == 1 or self.publish_errors % 1000 == 0:
                logs.log(_log, logging.ERROR, "ops status not published", error=str(exc),
                         times=self.publish_errors)

    def close(self, unlink: bool = False) -> None:
        self.publish()
        self.writer.close(unlink=unlink)
