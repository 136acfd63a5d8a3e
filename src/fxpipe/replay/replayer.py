"""Replaying a journal: every recorded stage is rebuilt from its stage-start record, each
recorded input is fed to it in journal order, and what it produces is checked against the
recorded outputs that follow the input (type, timestamp, every byte) and against each
recorded state hash. The first divergence stops the replay and is reported with the record's
sequence, the stage, and the first differing field. Runs as fast as possible, or paced at the
recorded speed times a factor (event time drives the pace; the stage never sees wall time)."""
from __future__ import annotations

import struct
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxpipe.journal import JournalReader
from fxpipe.journal import layout as L
from fxpipe.journal.errors import JournalError
from fxpipe.journal.types import payload_dtype, type_name
from fxpipe.replay.compare import first_difference
from fxpipe.stage import Stage, make_stage


class ReplayError(JournalError):
    """The journal cannot be replayed (not a divergence: something needed is missing)."""


@dataclass
class Divergence:
    seq: int                  # the journal record where recording and replay part
    stage_id: int
    stage: str
    what: str
    field: str | None = None
    recorded: str | None = None
    replayed: str | None = None
    input_seq: int | None = None

    def __str__(self) -> str:
        s = f"record seq {self.seq} (stage {self.stage_id} {self.stage}"
        s += f", after input seq {self.input_seq})" if self.input_seq is not None else ")"
        s += f": {self.what}"
        if self.field is not None:
            s += f"; field {self.field}: journal {self.recorded}, replay {self.replayed}"
        return s


@dataclass
class ReplayReport:
    journal: Path
    records: int = 0
    inputs: int = 0
    outputs: int = 0
    state_hashes: int = 0
    stages: dict[int, str] = field(default_factory=dict)
    final_hash_seq: dict[int, int] = field(default_factory=dict)
    inputs_after_last_hash: dict[int, int] = field(default_factory=dict)
    divergence: Divergence | None = None
    elapsed_s: float = 0.0
    speed: float | None = None

    @property
    def ok(self) -> bool:
        return self.divergence is None


def _decode(rec) -> np.void:
    dt = payload_dtype(rec.type)
    if dt is None or dt.itemsize != len(rec.payload):
        raise ReplayError(f"input record seq {rec.seq} is a {type_name(rec.type)} of {len(rec.payload)} bytes, "
                          f"not an fxpipe event; stages take fxpipe.model events")
    return np.frombuffer(rec.payload, dtype=dt, count=1)[0]


class _Run:
    def __init__(self, report: ReplayReport, speed: float | None, clock, sleep):
        self.report = report
        self.stages: dict[int, Stage] = {}
        self.pending: dict[int, deque] = {}
        self.input_seq: dict[int, int] = {}
        self.input_ts: dict[int, int] = {}
        self.speed, self.clock, self.sleep = speed, clock, sleep
        self.anchor: tuple[float, int] | None = None

    def diverge(self, rec_seq: int, sid: int, what: str, field: str | None = None, recorded: str | None = None,
                replayed: str | None = None) -> bool:
        self.report.divergence = Divergence(rec_seq, sid, self.report.stages.get(sid, "?"), what, field, recorded,
                                            replayed, input_seq=self.input_seq.get(sid))
        return False

    def unmatched(self, rec_seq: int, sid: int) -> bool:
        if self.pending.get(sid):
            out = self.pending[sid][0]
            return self.diverge(rec_seq, sid, f"replay produced a {type_name(int(out['type']))} output "
                                              f"the journal does not have here")
        return True

    def pace(self, ts: int) -> None:
        if not self.speed:
            return
        now = self.clock()
        if self.anchor is None:
            self.anchor = (now, ts)
            return
        due = self.anchor[0] + (ts - self.anchor[1]) / 1e9 / self.speed
        if due > now:
            self.sleep(due - now)

    def step(self, rec) -> bool:
        """Handles one record; False once replay has diverged."""
        sid = rec.stage
        if rec.type == L.RT_STAGE_START:
            if not self.unmatched(rec.seq, sid):
                return False
            n = struct.unpack_from("<H", rec.payload)[0]
            name = bytes(rec.payload[2:2 + n]).decode()
            try:
                self.stages[sid] = make_stage(name, bytes(rec.payload[2 + n:]))
            except LookupError as exc:
                raise ReplayError(f"stage {sid} at record seq {rec.seq}: {exc}") from None
            self.report.stages[sid] = name
            self.pending[sid] = deque()
            self.report.inputs_after_last_hash[sid] = 0
            return True
        stage = self.stages.get(sid)
        if stage is None:
            raise ReplayError(f"record seq {rec.seq} belongs to stage {sid}, whose start record is not in "
                              f"the journal (was it cut off the front?)")
        if rec.flags & L.FLAG_INPUT:
            if not self.unmatched(rec.seq, sid):
                return False
            event = _decode(rec)
            self.pace(rec.ts_ns)
            # the event's own sequence, as StageRecorder.feed gave it live
            self.pending[sid] = deque(stage.on_event(event, int(event["sequence"]), True))
            self.input_seq[sid], self.input_ts[sid] = rec.seq, rec.ts_ns
            self.report.inputs += 1
            self.report.inputs_after_last_hash[sid] += 1
            return True
        if rec.flags & L.FLAG_OUTPUT:
            if not self.pending[sid]:
                return self.diverge(rec.seq, sid, f"the journal has a {type_name(rec.type)} output that "
                                                  f"replay did not produce")
            out = self.pending[sid].popleft()
            self.report.outputs += 1
            if int(out["type"]) != rec.type:
                return self.diverge(rec.seq, sid, "output differs", "type", type_name(rec.type),
                                    type_name(int(out["type"])))
            if rec.ts_ns != self.input_ts[sid]:
                return self.diverge(rec.seq, sid, "output differs", "record timestamp", str(rec.ts_ns),
                                    str(self.input_ts[sid]))
            diff = first_difference(rec.type, bytes(rec.payload), out.tobytes())
            if diff is not None:
                return self.diverge(rec.seq, sid, "output differs", *diff)
            return True
        if rec.type == L.RT_STATE_HASH:
            if not self.unmatched(rec.seq, sid):
                return False
            got = stage.state_hash()
            self.report.state_hashes += 1
            if got != bytes(rec.payload):
                return self.diverge(rec.seq, sid, "state hash differs", "state_hash", bytes(rec.payload).hex(),
                                    got.hex())
            self.report.final_hash_seq[sid] = rec.seq
            self.report.inputs_after_last_hash[sid] = 0
            return True
        return True  # another record of the stage (not part of replay)


def replay_journal(directory, speed: float | None = None, stage_id: int | None = None,
                   clock=time.monotonic, sleep=time.sleep) -> ReplayReport:
    """Replays every recorded stage (or only `stage_id`) of the journal in `directory`.
    speed: None or 0 for as fast as possible, else the factor on recorded event time."""
    if speed is not None and speed < 0:
        raise ValueError("speed must be positive (a factor on the recorded pace) or 0 for as fast as possible")
    report = ReplayReport(Path(directory), speed=speed or None)
    run = _Run(report, speed or None, clock, sleep)
    t0 = time.perf_counter()
    with JournalReader(directory) as reader:
        if reader.tail is not None:
            raise ReplayError(f"{reader.tail}; open it for writing once (or run a writer) to cut it first")
        last_seq = reader.first_seq - 1
        for rec in reader.records():
            report.records += 1
            last_seq = rec.seq
            if rec.stage == 0 or (stage_id is not None and rec.stage != stage_id):
                continue
            if not run.step(rec):
                break
        else:
            for sid in list(run.stages):
                if run.pending.get(sid):
                    run.unmatched(last_seq + 1, sid)
                    assert report.divergence is not None  # unmatched() records one while output is pending
                    report.divergence.what += " (after the journal's last record)"
                    break
    if not report.stages and report.divergence is None:
        raise ReplayError(f"{directory} holds no recorded stage (no stage-start record)")
    report.elapsed_s = time.perf_counter() - t0
    return report


def format_report(rep: ReplayReport) -> str:
    lines = [f"replay of {rep.journal}: {'EQUAL' if rep.ok else 'DIVERGED'}"]
    lines.append("  stages: " + ", ".join(f"{sid} {name}" for sid, name in sorted(rep.stages.items())))
    lines.append(f"  records {rep.records}, inputs {rep.inputs}, outputs compared {rep.outputs}, "
                 f"state hashes compared {rep.state_hashes}")
    for sid, name in sorted(rep.stages.items()) if rep.ok else ():
        seq = rep.final_hash_seq.get(sid)
        after = rep.inputs_after_last_hash.get(sid, 0)
        if seq is None:
            lines.append(f"  stage {sid} {name}: no state hash recorded, outputs compared only")
        else:
            lines.append(f"  stage {sid} {name}: last state hash (record seq {seq}) equal"
                         + (f"; {after} inputs after it were checked by their outputs only" if after else ""))
    rate = rep.inputs / rep.elapsed_s if rep.elapsed_s > 0 else 0.0
    pace = f"{rep.speed:g}x recorded speed" if rep.speed else "as fast as possible"
    lines.append(f"  {rep.elapsed_s:.3f} s, {rate:,.0f} inputs/s, pace: {pace}")
    if rep.divergence is not None:
        lines.append(f"  first divergence: {rep.divergence}")
    return "\n".join(lines)
