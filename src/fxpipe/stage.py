"""The seam between a stage and where it runs: behind rings in its own process, fused with its
neighbours on one thread, recorded into a journal, or replayed from one. A stage is a
deterministic handler over fxpipe.model events: the same inputs in the same order give the
same outputs and the same state hash, with no wall clock, randomness or unordered iteration
inside. Stages are rebuilt (by replay, by a restarted worker) by name from the registry, with
the configuration bytes the recorder journaled.

Timers come from event time, never from the wall clock: whoever drives a stage calls
`on_timer(now_ns)` with the time the events have reached, and a Timer event given to
`on_event` means the same as `on_timer(event's deadline)` (that is how a journal records
and replay re-plays a timer)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

import fxpipe.model.events as ev


@runtime_checkable
class Stage(Protocol):
    name: str                      # registry key, journaled with the stage's start

    def config(self) -> bytes:
        """Everything needed to rebuild this stage as it was started (e.g. JSON)."""

    def on_event(self, event: np.void, seq: int = 0, end_of_batch: bool = True) -> Sequence[np.void]:
        """Handle one input event; return the events it causes, in order. `seq` is the event's
        position in its input stream and `end_of_batch` says no further input is ready now (a
        stage may hold work back until then, as the Disruptor's handlers do); neither may
        change what the stage outputs over a whole stream."""

    def on_timer(self, now_ns: int) -> Sequence[np.void]:
        """Event time has reached now_ns; return what that causes."""

    def state_hash(self) -> bytes:
        """A digest of the whole state, computed from an ordered, canonical form."""


def event_time(event) -> int:
    """The time an event entered fxpipe: its receive stamp, or the venue's when it has none."""
    ts = int(event["ts_receive_ns"])
    return ts if ts else int(event["ts_venue_ns"])


def timer_event(now_ns: int, timer_id: int = 0) -> np.void:
    """The Timer event a driver journals when it calls on_timer(now_ns)."""
    t = ev.empty(ev.EventType.TIMER, 1)[0]
    t["ts_receive_ns"] = now_ns
    t["deadline_ns"] = now_ns
    t["timer_id"] = timer_id
    return t


_REGISTRY: dict[str, Callable[[bytes], Stage]] = {}

# Modules whose import registers stages; optional ones may be absent from an installation.
_BUILTIN = ("fxpipe.stages.market_state", "fxpipe.stages.book", "fxpipe.stages.decision",
            "fxpipe.stages.journal_stage", "fxpipe.runtime.fused", "fxpipe.oms.stage")


def register_stage(name: str, factory: Callable[[bytes], Stage]) -> None:
    """Makes a stage rebuildable by name: factory(config bytes) -> Stage."""
    _REGISTRY[name] = factory


def make_stage(name: str, config: bytes) -> Stage:
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise LookupError(f"no stage named {name!r} is registered (known: {known})") from None
    return factory(config)


def registered_stages() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    import importlib

    for module in _BUILTIN:
        importlib.import_module(module)
