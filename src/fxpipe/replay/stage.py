"""The seam between a stage and where it runs: live behind rings, recorded into a journal, or
replayed from one. A stage is a deterministic handler over fxpipe.model events: the same
inputs in the same order give the same outputs and the same state hash, with no wall clock,
randomness or unordered iteration inside. Stages are rebuilt for replay by name from the
registry, with the configuration bytes the recorder journaled."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Stage(Protocol):
    name: str                      # registry key, journaled with the stage's start

    def config(self) -> bytes:
        """Everything needed to rebuild this stage as it was started (e.g. JSON)."""

    def on_event(self, event: np.void) -> Sequence[np.void]:
        """Handle one input event; return the events it causes, in order."""

    def state_hash(self) -> bytes:
        """A digest of the whole state, computed from an ordered, canonical form."""


_REGISTRY: dict[str, Callable[[bytes], Stage]] = {}


def register_stage(name: str, factory: Callable[[bytes], Stage]) -> None:
    """Makes a stage rebuildable by replay: factory(config bytes) -> Stage."""
    _REGISTRY[name] = factory


def make_stage(name: str, config: bytes) -> Stage:
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise LookupError(f"no stage named {name!r} is registered (known: {known})") from None
    return factory(config)


def _load_builtin() -> None:
    # importing a stage module registers it
    import fxpipe.oms.stage  # noqa: F401
    import fxpipe.replay.book_stage  # noqa: F401
    import fxpipe.replay.market_state  # noqa: F401
