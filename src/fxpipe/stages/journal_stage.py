"""The journal stage: a trailing consumer of a ring that appends every event to the journal,
the system of record. It takes whole batches (one append call per run of one event type), so
it keeps up with producers many times faster than itself per event; it produces nothing.
Its state hash covers how many events it wrote and a running digest of them, so two journal
stages fed the same stream agree."""
from __future__ import annotations

import hashlib
import json

import numpy as np

import fxpipe.model.events as ev
from fxpipe.journal import Journal
from fxpipe.stage import register_stage

NAME = "journal"
_ANY_EVENT = ev.dtype_for(ev.EventType.QUOTE)


class JournalStage:
    name = NAME

    def __init__(self, directory: str, fsync: str = "every:/100ms", ts_field: str = "ts_receive_ns"):
        self._config = {"directory": str(directory), "fsync": fsync, "ts_field": ts_field}
        self.journal = Journal.open(directory, fsync=fsync)
        self.ts_field = ts_field
        self.written = 0
        self._digest = hashlib.sha256()

    @classmethod
    def from_config(cls, config: bytes) -> JournalStage:
        return cls(**json.loads(config.decode()))

    def config(self) -> bytes:
        return json.dumps(self._config, sort_keys=True).encode()

    def on_batch(self, events: np.ndarray) -> None:
        """Appends a batch of slots (a ring's zero-copy view) as they are."""
        if len(events):
            if events.dtype.names is None:      # raw slots: any event dtype reads the common header
                events = events.view(_ANY_EVENT)
            self.journal.append_events(events, self.ts_field)
            self.written += len(events)
            self._digest.update(events.tobytes())

    def on_event(self, event: np.void, seq: int = 0, end_of_batch: bool = True) -> list[np.void]:
        self.on_batch(np.atleast_1d(np.asarray(event)))
        if end_of_batch:
            self.journal.maybe_sync()
        return []

    def on_timer(self, now_ns: int) -> list[np.void]:
        self.journal.maybe_sync()
        return []

    def state_hash(self) -> bytes:
        return hashlib.sha256(self.written.to_bytes(8, "little") + self._digest.digest()).digest()

    def close(self) -> None:
        self.journal.sync()
        self.journal.close()


register_stage(NAME, JournalStage.from_config)
