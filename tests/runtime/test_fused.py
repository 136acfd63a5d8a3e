"""Fused stages run to completion with direct calls and still hand every event to the rings;
the chain replays equal like any stage."""
from __future__ import annotations

import fxpipe.model.events as ev
from fxpipe.journal import Journal
from fxpipe.replay import StageRecorder, replay_journal
from fxpipe.runtime.fused import FusedStage
from fxpipe.stages.decision import DecisionStage
from fxpipe.stages.market_state import MarketStateStage
from tests.strategy.helpers import PIP, quote

MM = [{"strategy": "examples.market_maker:MarketMaker", "strategy_id": 1}]


class Acker:
    """An oms stand-in: acknowledges each NEW intent (enough to see the cascade come back)."""
    name = "acker"

    def __init__(self):
        self.seen = 0

    def config(self) -> bytes:
        return b"{}"

    def on_event(self, e, seq=0, end_of_batch=True):
        self.seen += 1
        if int(e["action"]) != ev.IntentAction.NEW:
            return []
        return [ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=int(e["cl_ord_id"]), strategy_id=int(e["strategy_id"]),
                        ord_status=ev.OrdStatus.NEW, exec_type=ev.ExecType.NEW, leaves_qty_e2=int(e["qty_e2"]),
                        report_kind=ev.ReportKind.EXECUTION)]

    def on_timer(self, now_ns):
        return []

    def state_hash(self) -> bytes:
        return self.seen.to_bytes(8, "little")


def chain(echo=False):
    d = DecisionStage(MM)
    return FusedStage([(d, [ev.EventType.QUOTE, ev.EventType.ORDER_UPDATE, ev.EventType.FILL]),
                       (Acker(), [ev.EventType.ORDER_INTENT])], echo_inputs=echo), d


def test_a_quote_runs_through_decision_and_oms_and_back_in_one_call():
    fused, decision = chain(echo=True)
    out = fused.on_event(quote(1, 108_500_000 - PIP, 108_500_000 + PIP))
    types = [int(o["type"]) for o in out]
    assert types == [ev.EventType.QUOTE, ev.EventType.ORDER_INTENT, ev.EventType.ORDER_INTENT,
                     ev.EventType.ORDER_UPDATE, ev.EventType.ORDER_UPDATE]
    # the acks came back to the strategy within the same call
    assert all(o.status == ev.OrdStatus.NEW for o in decision.context(1).open_orders())


def test_same_outputs_fused_as_separate():
    fused, _ = chain()
    d2, a2 = DecisionStage(MM), Acker()
    for i in range(1, 40):
        q = quote(i, 108_500_000 - PIP + (i % 7) * PIP, 108_500_000 + PIP + (i % 7) * PIP)
        got = [o.tobytes() for o in fused.on_event(q)]
        want = []
        for it in d2.on_event(q):
            want.append(it.tobytes())
            for up in a2.on_event(it):
                want.append(up.tobytes())
                want += [x.tobytes() for x in d2.on_event(up)]
        assert sorted(got) == sorted(want)
    assert fused.members[0][0].state_hash() == d2.state_hash()


def test_a_recorded_fused_chain_replays_equal(tmp_path):
    fused = FusedStage([(MarketStateStage(), [ev.EventType.QUOTE]),
                        (DecisionStage(MM), [ev.EventType.QUOTE])])
    with Journal.open(tmp_path / "j") as j:
        rec = StageRecorder(j, fused, stage_id=1)
        for i in range(1, 200):
            rec.feed(quote(i, 108_500_000 - (i % 5) * PIP, 108_500_000 + PIP))
        rec.close()
    report = replay_journal(tmp_path / "j")
    assert report.ok, report.divergence
    assert report.stages == {1: "fused"} and report.outputs > 0


class Echo:
    """Answers every intent with another: two of them feed each other for ever."""
    name = "echo"

    def config(self) -> bytes:
        return b"{}"

    def on_event(self, e, seq=0, end_of_batch=True):
        return [e.copy()]

    def on_timer(self, now_ns):
        return []

    def state_hash(self) -> bytes:
        return b""


def test_members_feeding_each_other_are_stopped_with_a_clear_error():
    import pytest

    from fxpipe.runtime.fused import FusedError

    loop = FusedStage([(Echo(), [ev.EventType.ORDER_INTENT]), (Echo(), [ev.EventType.ORDER_INTENT])])
    with pytest.raises(FusedError, match="feeding each other"):
        loop.on_event(ev.make(ev.EventType.ORDER_INTENT, cl_ord_id=1))
