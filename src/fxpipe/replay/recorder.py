"""StageRecorder: runs a stage live and journals what replay needs: a stage-start record (name
and configuration), each input event (flag INPUT), the outputs it caused right after it (flag
OUTPUT), and state hashes at checkpoints and at close. Output records carry the timestamp of
the input that caused them, so the journal of a run is itself deterministic."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fxpipe.journal import Journal
from fxpipe.journal import layout as L
from fxpipe.replay.stage import Stage


def event_time(event) -> int:
    """The time an event entered fxpipe: its receive stamp, or the venue's when it has none."""
    ts = int(event["ts_receive_ns"])
    return ts if ts else int(event["ts_venue_ns"])


class StageRecorder:
    def __init__(self, journal: Journal, stage: Stage, stage_id: int, start_ts_ns: int = 0):
        if not 1 <= stage_id <= 255:
            raise ValueError(f"stage_id must be within 1..255 (0 means 'no stage'), got {stage_id}")
        self.journal = journal
        self.stage = stage
        self.stage_id = stage_id
        self.last_ts = start_ts_ns
        journal.append_stage_start(stage_id, stage.name, stage.config(), start_ts_ns)

    def feed(self, event: np.void) -> Sequence[np.void]:
        """Journals `event`, runs the stage on it, journals and returns its outputs."""
        ts = event_time(event)
        self.last_ts = ts
        self.journal.append(int(event["type"]), event.tobytes(), ts, L.FLAG_INPUT, self.stage_id)
        outputs = self.stage.on_event(event)
        for out in outputs:
            self.journal.append(int(out["type"]), out.tobytes(), ts, L.FLAG_OUTPUT, self.stage_id)
        return outputs

    def checkpoint(self) -> bytes:
        """Journals the stage's state hash now; returns it."""
        digest = self.stage.state_hash()
        self.journal.append_state_hash(self.stage_id, digest, self.last_ts)
        return digest

    def close(self) -> bytes:
        """The final state hash (journaled)."""
        return self.checkpoint()
