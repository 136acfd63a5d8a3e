"""The one event-processor loop (the Disruptor's BatchEventProcessor): every stage in every
layout is driven by it.

    consumer ──read_batch──► stage.on_event(event, seq, end_of_batch) ──outputs──► Router ──► rings
                       └── event time passes a deadline ──► stage.on_timer(now_ns)

- batch read: one wait per batch; the stage learns which event ends it (end_of_batch), so it
  may hold work back until then;
- events are zero-copy views of the ring's slots, valid for the call only: a stage copies what
  it keeps (the batch is released to the producer when the next one is read);
- timers come from event time (the latest event time seen), never from the wall clock, so a
  replay fires them at the same points;
- the garbage collector is frozen (everything built at start-up leaves its generations) and
  disabled while the loop runs: no collection pause lands on a quote;
- the loop stops when `stop()` says so (checked at least every `poll_s` of idle), when the
  ring is closed and drained (orderly shutdown), or raises if its consumer was detached (the
  supervisor decided it was dead: a restarted process attaches again).
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

import fxpipe.model.events as ev
from fxpipe.ring import RingClosed, RingTimeout
from fxpipe.stage import Stage, event_time

_DTYPES = {int(t): ev.dtype_for(t) for t in ev.EventType}


def typed_events(batch: np.ndarray) -> Iterator[tuple[int, np.void]]:
    """(index in the batch, record of its own event type) for each slot of a raw batch:
    zero-copy views, one dtype view per type present. A slot that is not an fxpipe event is
    skipped (the journal keeps it; stages do not see it)."""
    n = len(batch)
    if not n:
        return
    types = batch.view(np.uint8).reshape(n, -1)[:, :2].copy().view("<u2").ravel()
    views: dict[int, np.ndarray] = {}
    for i in range(n):
        t = int(types[i])
        view = views.get(t)
        if view is None:
            dt = _DTYPES.get(t)
            if dt is None:
                continue
            view = views[t] = batch.view(dt)
        yield i, view[i]


@contextmanager
def hot_path() -> Iterator[None]:
    """GC frozen and disabled for the duration; restored as it was afterwards."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


class Router:
    """Where a stage's outputs go: a producer per event type, and a default for the rest
    (None: outputs of that type are not published). `stamp` names the hop field the router
    stamps with the monotonic clock as an event leaves (ts_decide_ns for the decision stage)."""

    def __init__(self, routes: dict[int, object] | None = None, default=None, stamp: str | None = None,
                 clock: Callable[[], int] = time.monotonic_ns):
        self.routes = {int(k): v for k, v in (routes or {}).items()}
        self.default = default
        self.stamp = stamp
        self.clock = clock
        self.published = 0

    def publish(self, events: Sequence[np.void]) -> None:
        for out in events:
            p = self.routes.get(int(out["type"]), self.default)
            if p is None:
                continue
            if self.stamp is not None:
                out[self.stamp] = self.clock()
            p.send(out.tobytes())  # type: ignore[attr-defined]
            self.published += 1


@dataclass
class ProcessorStats:
    events: int = 0
    batches: int = 0
    timers: int = 0
    outputs: int = 0
    max_batch: int = 0
    stopped_by: str = ""


class EventProcessor:
    def __init__(self, consumer, stage: Stage, router: Router | None = None, *, max_batch: int = 256,
                 timer_period_ns: int = 0, poll_s: float = 0.05):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if timer_period_ns < 0:
            raise ValueError(f"timer_period_ns must be >= 0 (0: no timer), got {timer_period_ns}")
        self.consumer = consumer
        self.stage = stage
        self.router = router or Router()
        self.max_batch = max_batch
        self.timer_period_ns = timer_period_ns
        self.poll_s = poll_s
        self.now_ns = 0
        self.next_timer_ns = 0
        self.stats = ProcessorStats()

    def run(self, stop: Callable[[], bool] = lambda: False) -> ProcessorStats:
        with hot_path():
            try:
                while not stop():
                    self.run_once(self.poll_s)
                self.stats.stopped_by = "stop"
            except RingClosed:
                self.stats.stopped_by = "closed"
        return self.stats

    def run_once(self, timeout: float | None) -> int:
        """Waits up to `timeout` for a batch and handles it; returns the number of events."""
        try:
            batch = self.consumer.read_batch(self.max_batch, timeout)
        except RingTimeout:
            return 0
        first = self.consumer.batch_first
        n = len(batch)
        stage, publish = self.stage, self.router.publish
        last = n - 1
        for i, e in typed_events(batch):
            ts = event_time(e)
            if ts > self.now_ns:
                self.now_ns = ts
            outs = stage.on_event(e, first + i, i == last)
            if outs:
                publish(outs)
                self.stats.outputs += len(outs)
        self.stats.events += n
        self.stats.batches += 1
        self.stats.max_batch = max(self.stats.max_batch, n)
        self._timers()
        self.consumer.release()
        return n

    def _timers(self) -> None:
        period = self.timer_period_ns
        if not period or self.now_ns < self.next_timer_ns:
            return
        if self.next_timer_ns:
            outs = self.stage.on_timer(self.now_ns)
            self.stats.timers += 1
            if outs:
                self.router.publish(outs)
                self.stats.outputs += len(outs)
        # the next deadline on the period's grid after now: a quiet spell fires once, not a backlog
        self.next_timer_ns = (self.now_ns // period + 1) * period
