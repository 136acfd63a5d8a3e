"""Fused stages: several stages run to completion on one thread with direct calls (Agrona's
CompositeAgent), the layout `fused` uses for feed → decision → oms on one core.

An input event goes to every member that takes its type; what a member outputs goes, in
order, to every member that takes that type (an intent from decision to the oms, a fill from
the oms back to decision), until nothing is left. Every event the chain saw or made is also
returned to the caller, in the order it happened, so the rings still carry all of it to the
journal and to operations. Members are the same stage classes as in every other layout; the
chain is itself a Stage (a replay of the fused run re-runs the same members in the same order).
"""
from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable

import numpy as np

from fxpipe.stage import Stage, make_stage, register_stage

NAME = "fused"
MAX_CASCADE = 100_000     # events one input may cause: beyond it two members are feeding each other


class FusedError(RuntimeError):
    pass


class FusedStage:
    name = NAME

    def __init__(self, members: list[tuple[Stage, Iterable[int]]], *, echo_inputs: bool = False):
        """members: (stage, event types it takes), in calling order. echo_inputs: return each
        input first among the outputs (when the input did not come from a ring, e.g. a feed
        source, and the journal must still see it)."""
        if not members:
            raise ValueError("a fused stage needs at least one member")
        self.members = [(s, frozenset(int(t) for t in types)) for s, types in members]
        self.echo_inputs = echo_inputs

    @classmethod
    def from_config(cls, config: bytes) -> FusedStage:
        c = json.loads(config.decode())
        return cls([(make_stage(m["name"], m["config"].encode()), m["takes"]) for m in c["members"]],
                   echo_inputs=c["echo_inputs"])

    def config(self) -> bytes:
        return json.dumps({"members": [{"name": s.name, "config": s.config().decode(), "takes": sorted(t)}
                                       for s, t in self.members], "echo_inputs": self.echo_inputs},
                          sort_keys=True).encode()

    def on_event(self, event: np.void, seq: int = 0, end_of_batch: bool = True) -> list[np.void]:
        out: list[np.void] = [event.copy()] if self.echo_inputs else []
        self._cascade(deque([(event, -1)]), out, seq, end_of_batch)
        return out

    def on_timer(self, now_ns: int) -> list[np.void]:
        out: list[np.void] = []
        work: deque = deque()
        for i, (stage, _) in enumerate(self.members):
            for o in stage.on_timer(now_ns):
                out.append(o)
                work.append((o, i))
        self._cascade(work, out, 0, True)
        return out

    def _cascade(self, work: deque, out: list[np.void], seq: int, end_of_batch: bool) -> None:
        made = 0
        while work:
            e, source = work.popleft()
            t = int(e["type"])
            for i, (stage, takes) in enumerate(self.members):
                if i == source or t not in takes:
                    continue
                for o in stage.on_event(e, seq, end_of_batch):
                    out.append(o)
                    work.append((o, i))
                    made += 1
            if made > MAX_CASCADE:
                raise FusedError(f"one input caused more than {MAX_CASCADE} events: members "
                                 f"{[s.name for s, _ in self.members]} are feeding each other")

    def state_hash(self) -> bytes:
        h = hashlib.sha256()
        for stage, _ in self.members:
            h.update(stage.state_hash())
        return h.digest()


register_stage(NAME, FusedStage.from_config)
