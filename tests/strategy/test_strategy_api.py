"""The strategy API through the decision stage: what a strategy sees and what its context
turns into OrderIntent events."""
from __future__ import annotations

import pytest

import fxpipe.model.events as ev
from fxpipe.stages.decision import DecisionStage
from fxpipe.strategy import Strategy, StrategyError
from tests.strategy.helpers import PIP, fill, quote, update

MID = 108_500_000


class Recorder(Strategy):
    """Records every callback; submits one buy at the bid on the first quote."""

    def __init__(self):
        self.seen: list[tuple] = []
        self.order = None

    def on_quote(self, q):
        self.seen.append(("quote", q.seq, q.mid_e8, self.ctx.now_ns))
        if self.order is None:
            self.order = self.ctx.submit(q.instrument_id, ev.Side.BUY, 100_000_00, q.bid_px_e8)

    def on_fill(self, f):
        self.seen.append(("fill", f.cl_ord_id, f.last_qty_e2, self.ctx.position(f.instrument_id)))

    def on_order_update(self, u):
        self.seen.append(("update", u.cl_ord_id, u.ord_status))

    def on_timer(self, now_ns):
        self.seen.append(("timer", now_ns))


class Broken(Strategy):
    def on_quote(self, q):
        self.ctx.submit(q.instrument_id, ev.Side.SELL, 100, q.ask_px_e8)
        if q.seq >= 2:
            raise ZeroDivisionError("model blew up")


def host(*specs):
    return DecisionStage([{"strategy": s, "strategy_id": i + 1, "params": {}} for i, s in enumerate(specs)])


def test_submit_becomes_an_intent_with_the_trigger_and_its_hop_stamps():
    st = host("tests.strategy.test_strategy_api:Recorder")
    q = quote(7, MID - PIP, MID + PIP)
    q["ts_venue_ns"], q["ts_decode_ns"] = 111, 7_000_222
    (it,) = st.on_event(q)
    assert int(it["type"]) == ev.EventType.ORDER_INTENT
    assert int(it["action"]) == ev.IntentAction.NEW and int(it["side"]) == ev.Side.BUY
    assert int(it["price_e8"]) == MID - PIP and int(it["qty_e2"]) == 100_000_00
    assert int(it["trigger_seq"]) == 7 and int(it["strategy_id"]) == 1
    assert int(it["cl_ord_id"]) == (1 << 40) | 1
    assert (int(it["ts_venue_ns"]), int(it["ts_decode_ns"])) == (111, 7_000_222)


def test_fills_updates_and_timers_reach_the_owner_with_its_position():
    st = host("tests.strategy.test_strategy_api:Recorder")
    (it,) = st.on_event(quote(1, MID - PIP, MID + PIP))
    cl = int(it["cl_ord_id"])
    st.on_event(update(cl, 1, ev.OrdStatus.NEW, ev.ExecType.NEW))
    st.on_event(fill(cl, 1, ev.Side.BUY, 40_000_00, MID - PIP))
    st.on_event(fill(cl, 2, ev.Side.BUY, 1, MID))           # another strategy's fill: not ours
    st.on_timer(5_000_000)
    seen = st.strategy(1).seen
    assert ("update", cl, int(ev.OrdStatus.NEW)) in seen
    assert ("fill", cl, 40_000_00, 40_000_00) in seen
    assert seen[-1] == ("timer", 5_000_000)
    assert st.context(1).position(1) == 40_000_00


def test_a_bust_takes_the_fill_back_and_the_oms_position_is_authoritative():
    st = host("tests.strategy.test_strategy_api:Recorder")
    st.on_event(fill(9, 1, ev.Side.SELL, 10_00, MID))
    st.on_event(fill(9, 1, ev.Side.SELL, 10_00, MID, trans=ev.ExecTransType.CANCEL))
    assert st.context(1).position(1) == 0
    st.on_event(ev.make(ev.EventType.POSITION_UPDATE, strategy_id=1, instrument_id=1, net_qty_e2=-7_00))
    assert st.context(1).position(1) == -7_00


def test_cancel_and_replace_name_the_order_and_track_it():
    st = host("tests.strategy.test_strategy_api:Recorder")
    (it,) = st.on_event(quote(1, MID - PIP, MID + PIP))
    ctx, cl = st.context(1), int(it["cl_ord_id"])
    new = ctx.replace(cl, price_e8=MID - 2 * PIP)
    ctx.cancel(new)
    rep, can = ctx.take()
    assert int(rep["action"]) == ev.IntentAction.REPLACE and int(rep["orig_cl_ord_id"]) == cl
    assert int(rep["price_e8"]) == MID - 2 * PIP and int(rep["qty_e2"]) == 100_000_00
    assert int(can["action"]) == ev.IntentAction.CANCEL and int(can["orig_cl_ord_id"]) == new
    with pytest.raises(StrategyError, match="unknown"):
        ctx.cancel(12345)


def test_replace_ack_after_a_partial_fill_keeps_cum_and_leaves_new_minus_cum():
    st = host("tests.strategy.test_strategy_api:Recorder")
    (it,) = st.on_event(quote(1, MID - PIP, MID + PIP))
    ctx, cl = st.context(1), int(it["cl_ord_id"])
    st.on_event(update(cl, 1, ev.OrdStatus.PARTIALLY_FILLED, ev.ExecType.PARTIAL_FILL, cum=30_000_00,
                       leaves=70_000_00))
    new = ctx.replace(cl, qty_e2=50_000_00)
    ctx.take()
    assert ctx.order(new).leaves_qty_e2 == 20_000_00 and ctx.order(new).cum_qty_e2 == 30_000_00
    # a late, out-of-order report never lowers what is filled
    st.on_event(update(new, 1, ev.OrdStatus.NEW, ev.ExecType.REPLACE, cum=0, leaves=20_000_00, orig=cl))
    assert ctx.order(new).cum_qty_e2 == 30_000_00
    assert ctx.order(cl) is None         # the replaced order is done and forgotten


def test_bad_orders_are_refused_with_the_reason():
    st = host("tests.strategy.test_strategy_api:Recorder")
    ctx = st.context(1)
    with pytest.raises(StrategyError, match="qty_e2 and price_e8 must be > 0"):
        ctx.submit(1, ev.Side.BUY, 0, MID)
    with pytest.raises(StrategyError, match="side"):
        ctx.submit(1, 3, 100, MID)
    # prices and quantities are exact integers: a float is refused, never cut to an integer
    with pytest.raises(StrategyError, match="qty_e2 must be an integer, got 1.5"):
        ctx.submit(1, ev.Side.BUY, 1.5, MID)
    with pytest.raises(StrategyError, match="price_e8 must be an integer"):
        ctx.submit(1, ev.Side.BUY, 100, float(MID))
    with pytest.raises(StrategyError, match="price_e8 must be an integer"):
        ctx.replace(ctx.submit(1, ev.Side.BUY, 100, MID), price_e8=MID + 0.5)
    with pytest.raises(StrategyError, match="side"):
        ctx.submit(1, "1", 100, MID)
    with pytest.raises(StrategyError, match="instrument_id must be within 0..65535, got 70000"):
        ctx.submit(70_000, ev.Side.BUY, 100, MID)
    with pytest.raises(StrategyError, match="qty_e2 .* is out of range"):
        ctx.submit(1, ev.Side.BUY, 1 << 70, MID)


def test_an_intent_carries_every_field_the_strategy_and_the_trigger_gave():
    """The context writes the OrderIntent's bytes itself: they are those of the same event made
    field by field through the event's dtype."""
    import numpy as np

    st = host("tests.strategy.test_strategy_api:Recorder")
    ctx = st.context(1)
    ctx.now_ns, ctx.trigger_seq, ctx.hops = 5_000, 42, (1_000, 2_000, 3_000)
    cl = ctx.submit(np.int64(1), ev.Side.SELL, np.int64(250_000_00), MID, time_in_force=ev.TimeInForce.IOC,
                    venue_id=2)
    new = ctx.replace(cl, price_e8=MID + PIP)
    cancel = ctx.cancel(new)
    got = [bytes(b) for b in ctx.take_bytes()]
    common = dict(venue_id=2, instrument_id=1, ts_venue_ns=1_000,
                  ts_receive_ns=2_000, ts_decode_ns=3_000, ts_decide_ns=5_000, trigger_seq=42, strategy_id=1,
                  side=ev.Side.SELL, ord_type=ev.OrdType.LIMIT, time_in_force=ev.TimeInForce.IOC)
    intent_type = ev.EventType.ORDER_INTENT
    want = [ev.make(intent_type, cl_ord_id=cl, action=ev.IntentAction.NEW, price_e8=MID, qty_e2=250_000_00, **common),
            ev.make(intent_type, cl_ord_id=new, orig_cl_ord_id=cl, action=ev.IntentAction.REPLACE, price_e8=MID + PIP,
                    qty_e2=250_000_00, **common),
            ev.make(intent_type, cl_ord_id=cancel, orig_cl_ord_id=new, action=ev.IntentAction.CANCEL, price_e8=MID + PIP,
                    qty_e2=250_000_00, **common)]
    assert got == [w.tobytes() for w in want]
    assert cl == 1 << 40 | 1 and new == cl + 1 and cancel == cl + 2
    o = ctx.order(new)
    assert (o.status, o.orig_cl_ord_id, o.leaves_qty_e2) == (ev.OrdStatus.PENDING_CANCEL, cl, 250_000_00)
    # a strategy may keep its own notes on its context, as on any Python object
    ctx.last_signal = "buy"
    assert ctx.last_signal == "buy"
    # without hop stamps the intent is stamped with the event time as its receive time
    ctx.hops = None
    ctx.submit(1, ev.Side.BUY, 100, MID)
    (raw,) = ctx.take()
    assert (int(raw["ts_venue_ns"]), int(raw["ts_receive_ns"]), int(raw["ts_decode_ns"])) == (0, 5_000, 0)


def test_a_failing_strategy_is_stopped_with_an_alarm_and_its_orders_cancelled():
    st = host("tests.strategy.test_strategy_api:Broken", "tests.strategy.test_strategy_api:Recorder")
    first = st.on_event(quote(1, MID - PIP, MID + PIP))
    assert {int(o["strategy_id"]) for o in first} == {1, 2}
    out = st.on_event(quote(2, MID - PIP, MID + PIP))
    risk = [o for o in out if int(o["type"]) == ev.EventType.RISK]
    assert len(risk) == 1 and int(risk[0]["action"]) == ev.RiskAction.STRATEGY_STOPPED
    cancels = [o for o in out if int(o["type"]) == ev.EventType.ORDER_INTENT]
    assert [int(c["action"]) for c in cancels] == [ev.IntentAction.CANCEL]
    assert int(cancels[0]["orig_cl_ord_id"]) == int(first[0]["cl_ord_id"])
    assert "ZeroDivisionError" in st.stopped[1]
    assert st.on_event(quote(3, MID - PIP, MID + PIP)) == []     # stopped: called no more
    assert st.strategy(2).seen[-1][0] == "quote"                  # the other strategy carries on


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(StrategyError, match="cannot be loaded"):
        host("examples.nothing_here:Nope")
    with pytest.raises(StrategyError, match="module:ClassName"):
        host("MarketMaker")


def test_market_maker_never_quotes_off_the_venues_tick():
    """A mid half a tick off the grid (an odd spread in pipettes) must not become an off-tick
    price: the venue would reject every order."""
    st = host("examples.market_maker:MarketMaker")
    out = st.on_event(quote(1, MID, MID + PIP))             # mid = MID + half a pipette
    prices = {int(o["side"]): int(o["price_e8"]) for o in out if int(o["type"]) == ev.EventType.ORDER_INTENT}
    assert set(prices) == {ev.Side.BUY, ev.Side.SELL}
    assert all(p % PIP == 0 for p in prices.values()), prices
    assert prices[ev.Side.BUY] < MID and prices[ev.Side.SELL] > MID + PIP    # rounding never narrows it


def _acked(st, *intents):
    for o in intents:
        st.on_event(update(int(o["cl_ord_id"]), 1, ev.OrdStatus.NEW, ev.ExecType.NEW, leaves=int(o["qty_e2"])))


def test_refused_replace_leaves_one_live_order_under_its_previous_cl_ord_id():
    """A replace the oms refused (or the venue rejected) did not happen: the strategy must go on
    with the order it has, not believe it gone and put a second one in the market."""
    st = host("examples.market_maker:MarketMaker")
    bid, ask = st.on_event(quote(1, MID - PIP, MID + PIP))
    _acked(st, bid, ask)
    out = st.on_event(quote(2, MID + 4 * PIP, MID + 6 * PIP))
    (rb,) = [o for o in out if int(o["side"]) == ev.Side.BUY]
    assert int(rb["action"]) == ev.IntentAction.REPLACE and int(rb["orig_cl_ord_id"]) == int(bid["cl_ord_id"])
    refusal = update(int(rb["cl_ord_id"]), 1, ev.OrdStatus.NEW, 0, leaves=int(bid["qty_e2"]), orig=int(bid["cl_ord_id"]))
    refusal["flags"], refusal["reject_reason"] = ev.EventFlag.SYNTHETIC, 7
    st.on_event(refusal)
    ctx = st.context(1)
    assert ctx.order(int(rb["cl_ord_id"])) is None
    assert ctx.order(int(bid["cl_ord_id"])).status == ev.OrdStatus.NEW
    out = st.on_event(quote(3, MID + 8 * PIP, MID + 10 * PIP))
    (again,) = [o for o in out if int(o["side"]) == ev.Side.BUY]
    assert int(again["action"]) == ev.IntentAction.REPLACE and int(again["orig_cl_ord_id"]) == int(bid["cl_ord_id"])


def test_venue_cancel_reject_restores_the_order_the_strategy_tried_to_cancel():
    st = host("examples.market_maker:MarketMaker")
    bid, ask = st.on_event(quote(1, MID - PIP, MID + PIP))
    _acked(st, bid, ask)
    ctx = st.context(1)
    cxl = ctx.cancel(int(bid["cl_ord_id"]))
    ctx.take()
    assert ctx.order(int(bid["cl_ord_id"])).status == ev.OrdStatus.PENDING_CANCEL
    rej = update(cxl, 1, ev.OrdStatus.NEW, 0, leaves=int(bid["qty_e2"]), orig=int(bid["cl_ord_id"]))
    rej["report_kind"] = ev.ReportKind.CANCEL_REJECT
    st.on_event(rej)
    assert ctx.order(int(bid["cl_ord_id"])).status == ev.OrdStatus.NEW


def test_pre_trade_risk_reject_of_a_new_order_reaches_the_strategy():
    """Risk refused the order, so it never left: the strategy's view must not keep it pending
    for ever (it would then try to replace an order nobody knows)."""
    st = host("examples.market_maker:MarketMaker")
    bid, ask = st.on_event(quote(1, MID - PIP, MID + PIP))
    st.on_event(ev.make(ev.EventType.RISK, action=ev.RiskAction.REJECT_ORDER, check=ev.RiskCheck.MAX_OPEN_ORDERS,
                        strategy_id=1, cl_ord_id=int(bid["cl_ord_id"])))
    ctx = st.context(1)
    assert ctx.order(int(bid["cl_ord_id"])) is None
    out = st.on_event(quote(2, MID - PIP, MID + PIP))
    (nb,) = [o for o in out if int(o["side"]) == ev.Side.BUY]
    assert int(nb["action"]) == ev.IntentAction.NEW


def test_a_quote_given_as_bytes_is_handled_exactly_as_its_record():
    """The fused worker hands the decision stage each Quote's bytes; what comes out (intents,
    their bytes and the strategies' state) must be what the record would have given, including
    the quotes the stage skips (synthetic ones, deeper levels)."""
    as_record, as_bytes = (host("tests.strategy.test_strategy_api:Recorder", "examples.market_maker:MarketMaker")
                           for _ in range(2))
    quotes = []
    for seq in range(1, 40):
        q = quote(seq, MID - PIP * (seq % 5 + 1), MID + PIP * (seq % 3 + 1), venue=1 + seq % 2)
        q["ts_venue_ns"], q["ts_decode_ns"] = seq * 7, seq * 1_000_000 + 11
        if seq % 13 == 0:
            q["flags"] = ev.EventFlag.SYNTHETIC
        if seq % 11 == 0:
            q["level"] = 1
        quotes.append(q)
    made = 0
    for q in quotes:
        a, b = as_record.on_event(q), as_bytes.on_quote_bytes(q.tobytes())
        assert [x.tobytes() for x in a] == [x.tobytes() for x in b]
        made += len(a)
    assert made > 0
    assert as_record.strategy(1).seen == as_bytes.strategy(1).seen
    for sid in (1, 2):
        assert as_record.context(sid).orders == as_bytes.context(sid).orders
    assert as_record.market.books == as_bytes.market.books


def test_order_events_given_as_bytes_are_handled_exactly_as_their_records():
    """The trading worker hands the decision stage the oms's events as bytes (fills, order
    updates, refusals, positions, risk rejects): the strategies must see and keep what the
    records would have given them."""
    runs = [host("tests.strategy.test_strategy_api:Recorder", "examples.market_maker:MarketMaker") for _ in range(2)]
    as_record, as_bytes = runs
    for seq in range(1, 6):
        q = quote(seq, MID - PIP * seq, MID + PIP * seq)
        assert [x.tobytes() for x in as_record.on_event(q)] == [x.tobytes() for x in as_bytes.on_event(q.tobytes())]
    mm = sorted(as_record.context(2).orders)
    rec = int(sorted(as_record.context(1).orders)[0])
    refusal = update(mm[1], 2, ev.OrdStatus.NEW, 0, leaves=100, orig=mm[0], t=5)
    refusal["flags"], refusal["reject_reason"] = ev.EventFlag.SYNTHETIC, 7
    cxl_reject = update(mm[0], 2, ev.OrdStatus.NEW, 0, leaves=100, t=6)
    cxl_reject["report_kind"] = ev.ReportKind.CANCEL_REJECT
    events = [update(rec, 1, ev.OrdStatus.NEW, ev.ExecType.NEW, leaves=100_000_00, t=1),
              fill(rec, 1, ev.Side.BUY, 40_000_00, MID - PIP, t=2),
              update(rec, 1, ev.OrdStatus.PARTIALLY_FILLED, ev.ExecType.PARTIAL_FILL, cum=40_000_00, leaves=60_000_00, t=2),
              ev.make(ev.EventType.POSITION_UPDATE, strategy_id=1, instrument_id=1, net_qty_e2=39_000_00,
                      ts_receive_ns=3),
              fill(rec, 1, ev.Side.BUY, 40_000_00, MID - PIP, t=4, trans=ev.ExecTransType.CANCEL),
              refusal, cxl_reject,
              ev.make(ev.EventType.RISK, action=ev.RiskAction.REJECT_ORDER, check=ev.RiskCheck.MAX_OPEN_ORDERS,
                      strategy_id=2, cl_ord_id=mm[-1], ts_receive_ns=7, sequence=9),
              ev.make(ev.EventType.RISK, action=ev.RiskAction.STRATEGY_STOPPED, strategy_id=2, ts_receive_ns=8)]
    for e in events:
        assert [x.tobytes() for x in as_record.on_event(e)] == [x.tobytes() for x in as_bytes.on_event(e.tobytes())]
    assert as_record.strategy(1).seen == as_bytes.strategy(1).seen
    assert [k for k, *_ in as_record.strategy(1).seen].count("fill") == 2
    for sid in (1, 2):
        a, b = as_record.context(sid), as_bytes.context(sid)
        assert a.orders == b.orders and a.positions == b.positions
    assert as_record.context(1).positions == {1: 39_000_00 - 40_000_00}     # the oms's, then the bust
    assert as_record.state_hash() == as_bytes.state_hash()
