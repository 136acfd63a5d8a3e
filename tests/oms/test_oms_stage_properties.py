"""Hypothesis state machine over the whole oms stage: random intents and venue reports
(acks, partial fills, resends, busts, corrections, overfills) delivered in any order. After
every step the position the stage keeps equals the sum of the fills the book counted (signed
by side), per strategy; CumQty never exceeds OrderQty unless the order is marked overfilled;
the stage's C path gives the same output bytes and state hash as its Python path alone, and so
does a stage driven as the order gateway drives it (c_path, then python_path where that hands
the event back, outputs as bytes); and at the end a stage rebuilt from the journaled inputs has
the same state hash."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from oms_venue import T0_NS, ScriptedVenue, intent

from fxpipe.model import events as ev
from fxpipe.oms.stage import OmsStage

ROOT = Path(__file__).resolve().parents[2]
REFDATA = (ROOT / "config" / "refdata.toml").read_text()
PX = 108_500_000
LIMITS = "[global]\nkill_on_overfill = false\n"


def quote():
    return ev.make(ev.EventType.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=PX - 1000, ask_px_e8=PX + 1000,
                   bid_qty_e2=100_000_000, ask_qty_e2=100_000_000, quote_cond=ev.QuoteCondition.FIRM,
                   ts_receive_ns=T0_NS)


class PythonPathOnly:
    """An OmsStage's C core with its fast path switched off: every event takes the Python
    path (the core still holds a report waiting for its Fill, as it does for both paths)."""

    def __init__(self, core):
        self.core = core

    def on_event(self, raw, seq):
        return None

    def take_held(self):
        return self.core.take_held()

    def hold(self, rec):
        self.core.hold(rec)


def _bytes(o) -> bytes:
    return bytes(o) if isinstance(o, bytearray) else o.tobytes()


def python_path_stage():
    s = OmsStage(REFDATA, LIMITS, prefix=5, request_timeout_ms=0)
    s._core = PythonPathOnly(s._core)
    return s


class OmsStageMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.stage = OmsStage(REFDATA, LIMITS, prefix=5, request_timeout_ms=0)
        self.python_path = python_path_stage()
        self.as_gateway = OmsStage(REFDATA, LIMITS, prefix=5, request_timeout_ms=0)
        self.as_gateway.bytes_out = True
        self.venue = ScriptedVenue()
        self.inputs: list = []
        self.in_flight: list = []
        self.orders: list[tuple[int, int]] = []      # (ClOrdID, strategy)
        self.t = T0_NS
        self.feed(quote())

    def feed(self, e):
        e = ev.read(bytearray(e.tobytes() if hasattr(e, "tobytes") else e))
        self.inputs.append(e)
        out = self.stage.on_event(e)
        want = [o.tobytes() for o in out]
        assert [o.tobytes() for o in self.python_path.on_event(e)] == want
        assert self.stage.state_hash() == self.python_path.state_hash()
        raw = e.tobytes()
        got = self.as_gateway.c_path(raw, 0)
        if got is None:
            got = self.as_gateway.python_path(raw)
        assert [_bytes(o) for o in got] == want
        assert self.as_gateway.state_hash() == self.stage.state_hash()
        return out

    def deliver(self, rep):
        self.feed(rep.u)
        if rep.fill is not None:
            self.feed(rep.f)

    @rule(qty=st.integers(1, 5), side=st.sampled_from("12"), strategy=st.sampled_from([7, 8]))
    def new_order(self, qty, side, strategy):
        self.t += 1000
        out = self.feed(intent(qty=qty * 1_000_000_00, side=side, strategy_id=strategy, t=self.t))
        sends = [o for o in out if int(o["type"]) == ev.EventType.ORDER_INTENT]
        if sends:
            self.venue.take(sends[0])
            self.orders.append((int(sends[0]["cl_ord_id"]), strategy))

    @precondition(lambda self: self.orders)
    @rule(k=st.integers(0, 100))
    def ack(self, k):
        cl, _ = self.orders[k % len(self.orders)]
        if self.venue.order(cl).status in "A0":
            self.in_flight.append(self.venue.ack(cl))

    @precondition(lambda self: self.orders)
    @rule(k=st.integers(0, 100), part=st.integers(1, 4), px=st.integers(-20, 20))
    def fill(self, k, part, px):
        cl, _ = self.orders[k % len(self.orders)]
        o = self.venue.order(cl)
        if o.status in "A01" and o.leaves_qty_e2 > 0:
            qty = max(1, o.leaves_qty_e2 * part // 4)
            self.in_flight.append(self.venue.fill(cl, qty, PX + px))

    @precondition(lambda self: self.orders)
    @rule(k=st.integers(0, 100))
    def overfill(self, k):
        cl, _ = self.orders[k % len(self.orders)]
        o = self.venue.order(cl)
        if o.status == "2":
            self.in_flight.append(self.venue.overfill(cl, 1_000_00, PX))

    @precondition(lambda self: self.orders)
    @rule(k=st.integers(0, 100), correct=st.booleans())
    def bust_or_correct(self, k, correct):
        cl, _ = self.orders[k % len(self.orders)]
        o = self.venue.order(cl)
        if not o.executions:
            return
        exec_id = sorted(o.executions)[0]
        if correct:
            qty, _ = o.executions[exec_id]
            self.in_flight.append(self.venue.correct(cl, exec_id, max(1, qty // 2), PX + 7))
        else:
            self.in_flight.append(self.venue.bust(cl, exec_id))

    @precondition(lambda self: self.in_flight)
    @rule(k=st.integers(0, 100), again=st.booleans())
    def deliver_one(self, k, again):
        rep = self.in_flight.pop(k % len(self.in_flight))
        self.deliver(rep)
        if again:
            self.deliver(self.venue.resend(rep))

    @invariant()
    def position_is_the_sum_of_counted_fills(self):
        book = self.stage.book
        for strategy in (7, 8):
            want = 0
            for cl, s in self.orders:
                if s != strategy:
                    continue
                view = book.order(cl)
                want += view.cum_qty_e2 if view.side == ev.Side.BUY else -view.cum_qty_e2
            assert self.stage.positions.net_qty(strategy, "EUR/USD") == want

    @invariant()
    def cum_qty_within_order_qty_unless_overfilled(self):
        for cl, _ in self.orders:
            view = self.stage.book.order(cl)
            assert view.cum_qty_e2 <= view.order_qty_e2 or view.overfilled

    def teardown(self):
        while self.in_flight:
            self.deliver(self.in_flight.pop(0))
        self.stage.flush()
        again = OmsStage(REFDATA, LIMITS, prefix=5, request_timeout_ms=0)
        again.rebuild(self.inputs)
        assert again.state_hash() == self.stage.state_hash()


TestOmsStageMachine = OmsStageMachine.TestCase
TestOmsStageMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
