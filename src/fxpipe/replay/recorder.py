"""StageRecorder: runs a stage live and journals what replay needs: a stage-start record (name
and configuration), each input event (flag INPUT), the outputs it caused right after it (flag
OUTPUT), and state hashes at checkpoints and at close. Output records carry the timestamp of
the input that caused them, so the journal of a run is itself deterministic."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import fxpipe.model.events as ev
from fxpipe.journal import Journal
from fxpipe.journal import layout as L
from fxpipe.stage import Stage, event_time, timer_event

__all__ = ["StageRecorder", "event_time"]


class StageRecorder:
    def __init__(self, journal: Journal, stage: Stage, stage_id: int, start_ts_ns: int = 0):
        if not 1 <= stage_id <= 255:
            raise ValueError(f"stage_id must be within 1..255 (0 means 'no stage'), got {stage_id}")
        self.journal = journal
        self.stage = stage
        self.stage_id = stage_id
        self.last_ts = start_ts_ns
        journal.append_stage_start(stage_id, stage.name, stage.config(), start_ts_ns)

    def feed(self, event: np.void, end_of_batch: bool = True) -> Sequence[np.void]:
        """Journals `event`, runs the stage on it, journals and returns its outputs. The stage is
        given the event's own `sequence` as `seq`, which replay gives it back from the journaled
        input: live and replayed, a stage sees the same number."""
        ts = event_time(event)
        self.last_ts = ts
        self.journal.append(int(event["type"]), event.tobytes(), ts, L.FLAG_INPUT, self.stage_id)
        outputs = self.stage.on_event(event, int(event["sequence"]), end_of_batch)
        self._outputs(outputs, ts)
        return outputs

    def timer(self, now_ns: int) -> Sequence[np.void]:
        """Journals a Timer input at now_ns (replay gives it back to on_event), runs on_timer."""
        self.last_ts = now_ns
        self.journal.append(int(ev.EventType.TIMER), timer_event(now_ns).tobytes(), now_ns, L.FLAG_INPUT,
                            self.stage_id)
        outputs = self.stage.on_timer(now_ns)
        self._outputs(outputs, now_ns)
        return outputs

    def _outputs(self, outputs: Sequence[np.void], ts: int) -> None:
        for out in outputs:
            self.journal.append(int(out["type"]), out.tobytes(), ts, L.FLAG_OUTPUT, self.stage_id)

    def checkpoint(self) -> bytes:
        """Journals the stage's state hash now; returns it."""
        digest = self.stage.state_hash()
        self.journal.append_state_hash(self.stage_id, digest, self.last_ts)
        return digest

    def close(self) -> bytes:
        """The final state hash (journaled)."""
        return self.checkpoint()
