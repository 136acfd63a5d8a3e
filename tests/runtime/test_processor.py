"""The event-processor loop over a real ring: batches, end of batch, sequences, timers from
event time, GC off while it runs, outputs routed by type, orderly drain on close."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import fxpipe.model.events as ev
from fxpipe.ring import ConsumerDetached, Ring
from fxpipe.runtime.processor import EventProcessor, Router, hot_path
from tests.strategy.helpers import PIP, quote

SLOT = ev.SLOT_SIZE


class Probe:
    name = "probe"

    def __init__(self):
        self.calls: list[tuple] = []
        self.timers: list[int] = []
        self.gc_enabled: list[bool] = []

    def config(self) -> bytes:
        return b"{}"

    def on_event(self, e, seq=0, end_of_batch=True):
        self.calls.append((int(e["type"]), seq, end_of_batch, int(e["sequence"])))
        self.gc_enabled.append(gc.isenabled())
        if int(e["type"]) == ev.EventType.QUOTE:
            return [ev.make(ev.EventType.ORDER_INTENT, trigger_seq=int(e["sequence"]), cl_ord_id=seq + 1)]
        return []

    def on_timer(self, now_ns):
        self.timers.append(now_ns)
        return [ev.make(ev.EventType.TIMER, deadline_ns=now_ns)]

    def state_hash(self) -> bytes:
        return b""


def test_batches_carry_sequences_and_mark_their_end(ring_name):
    ring = Ring.create(ring_name, slot_size=SLOT, slot_count=64, consumers=["stage"])
    try:
        p = ring.producer()
        for i in range(10):
            p.send(quote(i, 100, 110, t=i).tobytes())
        probe = Probe()
        proc = EventProcessor(ring.consumer("stage"), probe, max_batch=4)
        assert [proc.run_once(1.0) for _ in range(3)] == [4, 4, 2]
        assert [c[1] for c in probe.calls] == list(range(10))
        assert [c[3] for c in probe.calls] == list(range(10))
        assert [i for i, c in enumerate(probe.calls) if c[2]] == [3, 7, 9]
        assert proc.run_once(0.01) == 0          # nothing more: a timeout, not an error
    finally:
        ring.close(unlink=True)


def test_outputs_are_routed_by_type_and_stamped(ring_name):
    md = Ring.create(ring_name, slot_size=SLOT, slot_count=64, consumers=["stage"])
    out = Ring.create(ring_name + "o", slot_size=SLOT, slot_count=64, consumers=["reader"])
    try:
        md.producer().send(quote(5, 100, 110).tobytes())
        router = Router({ev.EventType.ORDER_INTENT: out.producer()}, stamp="ts_decide_ns", clock=lambda: 4242)
        EventProcessor(md.consumer("stage"), Probe(), router).run_once(1.0)
        got = np.frombuffer(out.consumer("reader").recv(timeout=1.0), dtype=ev.dtype_for(ev.EventType.ORDER_INTENT))[0]
        assert int(got["trigger_seq"]) == 5 and int(got["ts_decide_ns"]) == 4242
    finally:
        md.close(unlink=True)
        out.close(unlink=True)


def test_timers_fire_from_event_time_once_per_quiet_spell(ring_name):
    ring = Ring.create(ring_name, slot_size=SLOT, slot_count=64, consumers=["stage"])
    try:
        p = ring.producer()
        probe = Probe()
        proc = EventProcessor(ring.consumer("stage"), probe, timer_period_ns=1_000, max_batch=1)
        for t in (500, 900, 1_000, 1_500, 9_700, 9_800, 10_000):
            p.send(quote(1, 100, 110, t=t).tobytes())
            proc.run_once(1.0)
        # grid set at the first event (next 1000); fires at 1000, then once at 9700 (not 8 times), then 10000
        assert probe.timers == [1_000, 9_700, 10_000]
    finally:
        ring.close(unlink=True)


def test_gc_is_off_while_the_loop_runs_and_back_after(ring_name):
    ring = Ring.create(ring_name, slot_size=SLOT, slot_count=64, consumers=["stage"])
    try:
        p = ring.producer()
        for i in range(5):
            p.send(quote(i, 100, 110).tobytes())
        p.close_stream()
        probe = Probe()
        assert gc.isenabled()
        stats = EventProcessor(ring.consumer("stage"), probe).run()
        assert stats.stopped_by == "closed" and stats.events == 5     # drained, then stopped
        assert probe.gc_enabled == [False] * 5
        assert gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        ring.close(unlink=True)


def test_hot_path_restores_a_disabled_gc_as_disabled():
    gc.disable()
    try:
        with hot_path():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_detached_consumer_stops_the_loop_loudly(ring_name):
    ring = Ring.create(ring_name, slot_size=SLOT, slot_count=64, consumers=["stage"])
    try:
        p = ring.producer()
        proc = EventProcessor(ring.consumer("stage"), Probe())
        p.send(quote(1, 100, 110).tobytes())
        proc.run_once(1.0)
        ring.detach("stage")
        p.send(quote(2, 100, 110).tobytes())
        with pytest.raises(ConsumerDetached):
            proc.run_once(1.0)
    finally:
        ring.close(unlink=True)


def test_decision_stage_behind_a_ring_answers_quotes_with_intents(ring_name):
    from fxpipe.stages.decision import DecisionStage

    md = Ring.create(ring_name, slot_size=SLOT, slot_count=64, consumers=["decision"])
    intents = Ring.create(ring_name + "i", slot_size=SLOT, slot_count=64, consumers=["oms"])
    try:
        md.producer().send(quote(1, 108_500_000 - PIP, 108_500_000 + PIP).tobytes())
        st = DecisionStage([{"strategy": "examples.market_maker:MarketMaker", "strategy_id": 1}])
        EventProcessor(md.consumer("decision"), st, Router(default=intents.producer())).run_once(1.0)
        c = intents.consumer("oms")
        sides = [int(np.frombuffer(c.recv(timeout=1.0), dtype=ev.dtype_for(ev.EventType.ORDER_INTENT))[0]["side"])
                 for _ in range(2)]
        assert sides == [ev.Side.BUY, ev.Side.SELL]
    finally:
        md.close(unlink=True)
        intents.close(unlink=True)
