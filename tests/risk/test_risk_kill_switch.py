"""The kill switch: set by an operator or tripped by a loss limit, a reject storm or an
overfill; it blocks new orders and replaces, lets cancels through, and cancels every open
order (one cancel intent each, in ClOrdID order); limits change live through Control."""
from __future__ import annotations

from risk_harness import BUY, MS, SELL, T0, control, engines, fill, intent, mark, update

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_money, parse_qty

L = ev.RiskLimit
C = ev.ControlCommand


def kinds(events):
    return [(ev.EventType(int(e["type"])).name, int(e["check"]) if int(e["type"]) == ev.EventType.RISK else
             int(e["orig_cl_ord_id"])) for e in events]


def test_operator_kill_switch_blocks_new_orders_cancels_open_ones_and_lets_cancels_through():
    pe, risk = engines()
    for cl, strat in ((30, 1), (10, 2), (20, 1)):
        assert risk.check(intent(BUY, "1000", "1.1", strategy=strat, cl_ord_id=cl)) is None
    out = risk.apply(control(C.KILL_SWITCH_ON))
    assert kinds(out) == [("RISK", ev.RiskCheck.KILL_SWITCH), ("ORDER_INTENT", 10), ("ORDER_INTENT", 20),
                          ("ORDER_INTENT", 30)]
    assert int(out[0]["action"]) == ev.RiskAction.KILL_SWITCH_ON
    cancel = out[1]
    assert int(cancel["action"]) == ev.IntentAction.CANCEL and int(cancel["flags"]) == ev.EventFlag.SYNTHETIC
    assert int(cancel["strategy_id"]) == 2 and int(cancel["qty_e2"]) == parse_qty("1000")
    assert risk.killed()
    r = risk.check(intent(BUY, "1000", "1.1"))
    assert int(r["check"]) == ev.RiskCheck.KILL_SWITCH
    assert int(risk.check(intent(BUY, "1", "1.1", cl_ord_id=40, orig=30, action=ev.IntentAction.REPLACE))["check"]) \
        == ev.RiskCheck.KILL_SWITCH
    assert risk.check(intent(BUY, "1000", "1.1", cl_ord_id=41, orig=30, action=ev.IntentAction.CANCEL)) is None
    out = risk.apply(control(C.KILL_SWITCH_OFF))
    assert int(out[0]["action"]) == ev.RiskAction.KILL_SWITCH_OFF and not risk.killed()
    assert risk.check(intent(BUY, "1000", "1.1")) is None


def test_stopping_one_strategy_leaves_the_others_trading():
    pe, risk = engines()
    risk.check(intent(BUY, "1000", "1.1", strategy=1, cl_ord_id=1))
    risk.check(intent(BUY, "1000", "1.1", strategy=2, cl_ord_id=2))
    out = risk.apply(control(C.KILL_SWITCH_ON, strategy=1))
    assert kinds(out) == [("RISK", ev.RiskCheck.KILL_SWITCH), ("ORDER_INTENT", 1)]
    assert int(out[0]["action"]) == ev.RiskAction.STRATEGY_STOPPED
    assert risk.killed(1) and not risk.killed(2) and not risk.killed()
    assert risk.check(intent(BUY, "1000", "1.1", strategy=1)) is not None
    assert risk.check(intent(BUY, "1000", "1.1", strategy=2)) is None


def test_cancel_all_cancels_without_blocking():
    pe, risk = engines()
    risk.check(intent(BUY, "1000", "1.1", cl_ord_id=5))
    assert kinds(risk.apply(control(C.CANCEL_ALL))) == [("ORDER_INTENT", 5)]
    assert not risk.killed() and risk.check(intent(BUY, "1000", "1.1")) is None


def test_loss_limit_trips_on_a_mark_both_sides():
    pe, risk = engines()
    risk.set(L.MAX_LOSS, parse_money("10000"), strategy_id=1)
    mark(pe, risk, "EUR/USD", "1.1000")
    pe.apply(f := fill("F1", BUY, "1000000", "1.1000"))
    assert risk.apply(f) == []
    risk.check(intent(BUY, "1000", "1.09", cl_ord_id=77))
    assert mark(pe, risk, "EUR/USD", "1.0900") == []            # exactly -10,000: at the limit
    out = mark(pe, risk, "EUR/USD", "1.08998")                   # -10,020
    assert kinds(out) == [("RISK", ev.RiskCheck.LOSS_LIMIT), ("ORDER_INTENT", 77)]
    assert int(out[0]["observed"]) == parse_money("10020") and int(out[0]["limit"]) == parse_money("10000")
    assert int(out[0]["action"]) == ev.RiskAction.STRATEGY_STOPPED and risk.killed(1)
    assert mark(pe, risk, "EUR/USD", "1.08") == []               # tripped once, not again


def test_desk_loss_limit_counts_realized_unrealized_and_commissions():
    pe, risk = engines()
    risk.set(L.MAX_LOSS, parse_money("1000"))
    mark(pe, risk, "EUR/USD", "1.1")
    for e in (fill("F1", BUY, "1000000", "1.1000", strategy=1), fill("F2", SELL, "1000000", "1.0995", strategy=1)):
        pe.apply(e)
        assert risk.apply(e) == []                                # -500 realized
    e = fill("F3", BUY, "100000", "1.1", strategy=2)
    e["commission_e4"] = parse_money("500.01")
    e["commission_ccy"] = b"USD"
    pe.apply(e)
    out = risk.apply(e)
    assert kinds(out) == [("RISK", ev.RiskCheck.LOSS_LIMIT)] and int(out[0]["action"]) == ev.RiskAction.KILL_SWITCH_ON


def test_reject_storm_trips_the_kill_switch_only_within_the_window():
    pe, risk = engines()
    risk.set(L.REJECT_STORM_COUNT, 3)
    risk.set(L.REJECT_STORM_WINDOW_MS, 1000)
    rejected = ev.OrdStatus.REJECTED
    for k, ts in enumerate((T0, T0 + 600 * MS, T0 + 1200 * MS, T0 + 1800 * MS)):   # never 3 within 1 s
        assert risk.apply(update(k + 1, rejected, "1000", exec_type=ev.ExecType.REJECTED, ts=ts)) == []
    out = risk.apply(update(9, rejected, "1000", exec_type=ev.ExecType.REJECTED, ts=T0 + 2200 * MS))
    assert kinds(out) == [("RISK", ev.RiskCheck.REJECT_STORM)] and risk.killed()


def test_overfill_alarms_stops_the_strategy_and_trips_the_kill_switch_by_default():
    pe, risk = engines()
    risk.check(intent(BUY, "1000", "1.1", cl_ord_id=8, strategy=3))
    out = risk.apply(update(8, ev.OrdStatus.FILLED, "1000", "1500", strategy=3, exec_type=ev.ExecType.FILL))
    got = kinds(out)
    assert got[0] == ("RISK", ev.RiskCheck.OVERFILL) and int(out[0]["action"]) == ev.RiskAction.ALARM
    assert int(out[0]["observed"]) == parse_qty("1500") and int(out[0]["limit"]) == parse_qty("1000")
    assert ("RISK", ev.RiskCheck.OVERFILL) in got[1:] and risk.killed(3) and risk.killed()


def test_overfill_without_kill_on_overfill_stops_only_the_strategy():
    pe, risk = engines()
    risk.set(L.KILL_ON_OVERFILL, 0)
    risk.apply(update(8, ev.OrdStatus.FILLED, "1000", "1500", strategy=3, exec_type=ev.ExecType.FILL))
    assert risk.killed(3) and not risk.killed()


def test_a_limit_changed_live_through_control_is_answered_and_used():
    pe, risk = engines()
    out = risk.apply(control(C.SET_LIMIT, strategy=1, limit=L.MAX_ORDER_QTY, arg=parse_qty("1000")))
    assert len(out) == 1 and int(out[0]["check"]) == ev.RiskCheck.LIMIT_CHANGED
    assert int(out[0]["action"]) == ev.RiskAction.LIMIT_SET and int(out[0]["limit"]) == parse_qty("1000")
    assert int(out[0]["limit_id"]) == L.MAX_ORDER_QTY
    assert risk.limit(L.MAX_ORDER_QTY, strategy_id=1) == parse_qty("1000")
    assert risk.check(intent(BUY, "1000.01", "1.1")) is not None
    out = risk.apply(control(C.SET_LIMIT, strategy=1, limit=L.MAX_ORDER_QTY, arg=-1))     # removed
    assert int(out[0]["observed"]) == parse_qty("1000") and risk.limit(L.MAX_ORDER_QTY, strategy_id=1) is None
    assert risk.check(intent(BUY, "1000.01", "1.1")) is None


def test_per_instrument_currency_and_venue_limits_through_control():
    pe, risk = engines()
    risk.apply(control(C.SET_LIMIT, limit=L.MAX_POSITION, arg=parse_qty("5000"), symbol="GBP/USD"))
    risk.apply(control(C.SET_LIMIT, limit=L.MAX_CCY_EXPOSURE, arg=parse_money("7000"), ccy="JPY"))
    risk.apply(control(C.SET_LIMIT, limit=L.VENUE_ORDER_RATE, arg=5, venue=2))
    assert risk.limit(L.MAX_POSITION, instrument="GBP/USD") == parse_qty("5000")
    assert risk.limit(L.MAX_CCY_EXPOSURE, ccy="JPY") == parse_money("7000")
    assert risk.limit(L.VENUE_ORDER_RATE, venue="LP1") == 5


def test_an_invalid_change_is_refused_visibly_and_changes_nothing():
    pe, risk = engines()
    before = risk.state_bytes()
    for c in (control(C.SET_LIMIT, limit=L.MAX_CCY_EXPOSURE, arg=5, ccy="XAU"),
              control(C.SET_LIMIT, limit=L.REJECT_STORM_COUNT, arg=1000),
              control(C.SET_LIMIT, limit=L.VENUE_ORDER_RATE, arg=5, venue=0),
              control(C.SET_LIMIT, limit=L.KILL_ON_OVERFILL, arg=2)):
        out = risk.apply(c)
        assert len(out) == 1 and int(out[0]["action"]) == ev.RiskAction.CHANGE_REFUSED
    assert risk.state_bytes()[24:] == before[24:]     # only the event clock may move


def test_same_inputs_same_state_hash():
    def run():
        pe, risk = engines()
        risk.set(L.ORDER_RATE, 3, strategy_id=1)
        mark(pe, risk, "EUR/USD", "1.1")
        for k in range(20):
            risk.check(intent(BUY if k % 2 else SELL, "1000", "1.1", cl_ord_id=k + 1, ts=T0 + k * 100 * MS))
        risk.apply(control(C.KILL_SWITCH_ON, strategy=1))
        return risk.state_hash(), pe.state_hash()
    assert run() == run()
