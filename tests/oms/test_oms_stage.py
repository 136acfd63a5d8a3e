"""The oms stage end to end over real ExecutionReports (the scripted venue writes them on the
wire and the FIX bridge turns them into events): intent -> risk -> book -> request; report ->
book -> position delta -> positions, PnL and risk; overfill trips the kill switch and its
cancels go out; timeouts make orders UNKNOWN; a journal of the run replays bit for bit."""
from __future__ import annotations

from pathlib import Path

import pytest
from oms_venue import T0_NS, ScriptedVenue, intent

from fxpipe.journal import Journal
from fxpipe.model import events as ev
from fxpipe.oms import Alarm
from fxpipe.oms.stage import OmsStage
from fxpipe.replay import StageRecorder, replay_journal

ROOT = Path(__file__).resolve().parents[2]
REFDATA = (ROOT / "config" / "refdata.toml").read_text()
LIMITS = (ROOT / "config" / "risk.toml").read_text()
PX = 1_085_000_00
T = ev.EventType


def quote(t=T0_NS, px=PX):
    return ev.make(T.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=px - 1000, ask_px_e8=px + 1000,
                   bid_qty_e2=100_000_000, ask_qty_e2=100_000_000, quote_cond=ev.QuoteCondition.FIRM,
                   ts_receive_ns=t)


def stage(**kw):
    s = OmsStage(REFDATA, LIMITS, prefix=3, **kw)
    s.on_event(quote())
    return s


def of(outputs, t):
    return [o for o in outputs if int(o["type"]) == t]


def report(s, r):
    """Feed one venue report as the gateway journals it: the update, then its Fill."""
    out = list(s.on_event(r.u))
    if r.fill is not None:
        out += s.on_event(r.f)
    return out


def new_order(s, venue, qty=100_000_000, strategy=7, **kw):
    out = s.on_event(intent(qty=qty, strategy_id=strategy, t=T0_NS + 1000, **kw))
    send = of(out, T.ORDER_INTENT)
    assert len(send) == 1, [ev.EventType(int(o["type"])).name for o in out]
    venue.take(send[0])
    return int(send[0]["cl_ord_id"]), out


def test_intent_goes_out_with_a_cl_ord_id_of_this_oms_and_fills_move_the_position():
    s, v = stage(), ScriptedVenue()
    cl, out = new_order(s, v)
    assert cl // 10**12 == 3
    assert [int(o["type"]) for o in out] == [T.ORDER_UPDATE, T.ORDER_INTENT]
    assert of(out, T.ORDER_UPDATE)[0]["ord_status"] == ev.OrdStatus.PENDING_NEW
    assert of(report(s, v.ack(cl)), T.ORDER_UPDATE)[0]["ord_status"] == ev.OrdStatus.NEW
    out = report(s, v.fill(cl, 40_000_000, PX))
    assert of(out, T.ORDER_UPDATE)[0]["cum_qty_e2"] == 40_000_000
    assert of(out, T.FILL)[0]["last_qty_e2"] == 40_000_000
    assert of(out, T.POSITION_UPDATE)[0]["net_qty_e2"] == 40_000_000
    assert of(out, T.PNL)
    report(s, v.fill(cl, 60_000_000, PX + 500))
    assert s.positions.net_qty(7, "EUR/USD") == 100_000_000
    assert s.book.order(cl).status == ev.OrdStatus.FILLED


def test_duplicate_fill_report_moves_nothing_twice():
    s, v = stage(), ScriptedVenue()
    cl, _ = new_order(s, v)
    r = v.fill(cl, 40_000_000, PX)
    report(s, r)
    out = report(s, v.resend(r))
    assert not of(out, T.POSITION_UPDATE) and not of(out, T.FILL)
    assert s.positions.net_qty(7, "EUR/USD") == 40_000_000


def test_bust_and_correction_adjust_the_position():
    s, v = stage(), ScriptedVenue()
    cl, _ = new_order(s, v)
    r1 = v.fill(cl, 40_000_000, PX)
    report(s, r1)
    report(s, v.fill(cl, 20_000_000, PX))
    report(s, v.bust(cl, r1.f["exec_id"].decode()))
    assert s.positions.net_qty(7, "EUR/USD") == 20_000_000
    e2 = next(iter(v.order(cl).executions))
    report(s, v.correct(cl, e2, 15_000_000, PX))
    assert s.positions.net_qty(7, "EUR/USD") == 15_000_000
    assert s.book.order(cl).cum_qty_e2 == 15_000_000


def test_risk_rejects_before_the_book_and_nothing_goes_out():
    s = stage()
    out = s.on_event(intent(qty=50_000_000_00, strategy_id=7, t=T0_NS + 1000))
    assert [int(o["type"]) for o in out] == [T.RISK]
    assert out[0]["action"] == ev.RiskAction.REJECT_ORDER
    assert len(s.book) == 0


def test_book_refusal_after_risk_leaves_risk_with_no_phantom_open_order():
    s, v = stage(), ScriptedVenue()
    cl, _ = new_order(s, v)
    out = s.on_event(intent(cl_ord_id=cl, qty=100_000_000, t=T0_NS + 2000))   # reused ClOrdID
    assert [int(o["type"]) for o in out] == [T.ORDER_UPDATE]
    assert out[0]["ord_status"] == ev.OrdStatus.REJECTED
    assert len(s.risk.open_orders()) == 1


def test_overfill_is_believed_alarmed_and_trips_the_kill_switch_whose_cancels_go_out():
    s, v = stage(), ScriptedVenue()
    cl, _ = new_order(s, v)
    other, _ = new_order(s, v, qty=50_000_000, strategy=9)
    report(s, v.ack(other))
    out = report(s, v.overfill(cl, 150_000_000, PX))
    assert s.positions.net_qty(7, "EUR/USD") == 150_000_000           # believed
    risk = of(out, T.RISK)
    assert any(r["check"] == ev.RiskCheck.OVERFILL and r["action"] == ev.RiskAction.ALARM for r in risk)
    assert any(r["action"] == ev.RiskAction.KILL_SWITCH_ON for r in risk)
    cancels = of(out, T.ORDER_INTENT)
    assert [int(c["orig_cl_ord_id"]) for c in cancels] == [other]
    assert cancels[0]["action"] == ev.IntentAction.CANCEL and int(cancels[0]["cl_ord_id"]) > other
    assert s.risk.killed(7) and s.risk.killed(0)
    assert of(s.on_event(intent(qty=1_000_000, t=T0_NS + 5000)), T.RISK)[0]["check"] == ev.RiskCheck.KILL_SWITCH


def test_report_for_an_unknown_order_is_an_alarm_and_changes_nothing():
    s, v = stage(), ScriptedVenue()
    out = report(s, v.phantom_fill(3_000_000_000_999, 1_000_000, PX))
    alarms = of(out, T.RISK)
    assert alarms and alarms[0]["order_qty_e2"] == Alarm.UNKNOWN_ORDER
    assert not of(out, T.POSITION_UPDATE)
    assert s.positions.net_qty(7, "EUR/USD") == 0


def test_request_timeout_makes_the_order_unknown_never_rejected():
    s, v = stage(request_timeout_ms=100), ScriptedVenue()
    cl, _ = new_order(s, v)
    assert s.due_timers(T0_NS + 1000 + 99_000_000) == []
    out = s.on_timer(T0_NS + 1000 + 100_000_000)
    assert [int(o["type"]) for o in out][:1] == [T.ORDER_UPDATE]
    assert out[0]["ord_status"] == ev.OrdStatus.UNKNOWN
    report(s, v.status(cl))
    assert s.book.order(cl).status != ev.OrdStatus.UNKNOWN


def test_a_replayed_timeout_is_not_handed_out_again_and_leaves_the_same_state():
    """Live, due_timers() takes a timer off the heap and its Timer event comes back; replayed,
    the Timer event comes from the journal while the heap still holds the timer: it must not
    come due a second time, and both stages end in the same state."""
    live, replayed = stage(request_timeout_ms=100), stage(request_timeout_ms=100)
    cls = [new_order(s, ScriptedVenue(), strategy=7 + k)[0] for k in range(3) for s in (live, replayed)][::2]
    due_at = T0_NS + 1000 + 100_000_000
    timers = live.due_timers(due_at)
    assert sorted(int(t["ref_id"]) for t in timers) == sorted(cls)
    for t in timers:
        live.on_event(t)
        replayed.on_event(t)
    assert live.next_deadline_ns is None and replayed.next_deadline_ns is None
    assert live.due_timers(due_at + 10**9) == [] and replayed.due_timers(due_at + 10**9) == []
    assert all(live.book.order(cl).status == ev.OrdStatus.UNKNOWN for cl in cls)
    assert live.state_hash() == replayed.state_hash()


STORM_LIMITS = """
[global]
max_order_qty = "10000000"
order_rate = 1000000
order_burst = 1000000
max_open_orders = 100000
"""


def test_a_storm_of_timeouts_is_handled_and_leaves_no_timer_behind():
    """A venue that stops answering times out every request it had: each timeout is O(log n),
    and afterwards nothing is left armed, handed out or cancelled."""
    s, v = OmsStage(REFDATA, STORM_LIMITS, prefix=3, request_timeout_ms=100), ScriptedVenue()
    s.on_event(quote())
    cls = [new_order(s, v, qty=1_000_000)[0] for _ in range(2_000)]
    out = s.on_timer(T0_NS + 1000 + 100_000_000)
    assert len(of(out, T.ORDER_UPDATE)) >= 2_000
    assert all(s.book.order(cl).status == ev.OrdStatus.UNKNOWN for cl in cls)
    assert s._timers == [] and not s._handed_out and not s._cancelled


def test_due_timers_hands_out_at_most_the_limit_and_the_rest_in_order_next():
    s, v = stage(request_timeout_ms=100), ScriptedVenue()
    cls = [new_order(s, v, strategy=7 + k)[0] for k in range(3)]
    due_at = T0_NS + 1000 + 100_000_000
    first = s.due_timers(due_at, limit=2)
    rest = s.due_timers(due_at, limit=2)
    assert [int(t["ref_id"]) for t in first + rest] == sorted(cls) and len(first) == 2
    assert s.due_timers(due_at) == []


def test_answered_request_arms_no_timeout():
    s, v = stage(request_timeout_ms=100), ScriptedVenue()
    cl, _ = new_order(s, v)
    report(s, v.ack(cl))
    assert s.on_timer(T0_NS + 10**12) == []


@pytest.mark.parametrize("timeout_ms", [0, 100])
def test_requests_in_flight_counts_every_unanswered_request_timed_or_not(timeout_ms):
    # what an orderly stop waits for: with request_timeout_ms = 0 no request has a timer, and a
    # count of the timers' requests said nothing was in flight
    s, v = stage(request_timeout_ms=timeout_ms), ScriptedVenue()
    assert s.requests_in_flight() == 0
    day, _ = new_order(s, v)
    assert s.requests_in_flight() == 1
    ioc, _ = new_order(s, v, tif="3")
    assert s.requests_in_flight() == 2
    report(s, v.ack(day))
    report(s, v.ack(ioc))
    assert s.requests_in_flight() == 1            # the IOC's fill or cancel is still to come
    report(s, v.fill(ioc, 100_000_000, PX))
    assert s.requests_in_flight() == 0


def test_session_drop_makes_in_flight_orders_unknown_and_blocks_the_venue():
    s, v = stage(), ScriptedVenue()
    cl, _ = new_order(s, v)
    down = ev.make(T.SESSION, venue_id=1, session_kind=ev.SessionKind.ORDERS,
                   state=ev.SessionState.DISCONNECTED, ts_receive_ns=T0_NS + 5000)
    out = s.on_event(down)
    assert [int(o["ord_status"]) for o in of(out, T.ORDER_UPDATE)] == [ev.OrdStatus.UNKNOWN]
    up = ev.make(T.SESSION, venue_id=1, session_kind=ev.SessionKind.ORDERS,
                 state=ev.SessionState.ACTIVE, ts_receive_ns=T0_NS + 6000)
    s.on_event(up)
    refused = s.on_event(intent(qty=1_000_000, t=T0_NS + 7000))
    assert of(refused, T.ORDER_UPDATE)[0]["ord_status"] == ev.OrdStatus.REJECTED
    report(s, v.status(cl))
    assert of(s.on_event(intent(qty=1_000_000, t=T0_NS + 8000)), T.ORDER_INTENT)


def session_inputs():
    """A session's inputs with the venue's reports as the gateway journals them."""
    v = ScriptedVenue()
    s = stage()
    inputs = [quote()]
    for k in range(40):
        i = intent(qty=(k % 5 + 1) * 1_000_000_00, side="1" if k % 3 else "2",
                   strategy_id=7 + k % 2, t=T0_NS + 1000 * (k + 1))
        inputs.append(i)
        out = s.on_event(i)
        sends = of(out, T.ORDER_INTENT)
        if not sends:
            continue
        cl = int(sends[0]["cl_ord_id"])
        v.take(sends[0])
        reps = [v.ack(cl), v.fill(cl, 50_000_000, PX + k)]
        if k % 4 == 0:
            reps.append(v.resend(reps[-1]))
        if k % 7 == 3:
            reps.append(v.bust(cl, next(iter(v.order(cl).executions))))
        for r in reps:
            for e in (r.u, r.f):
                if e is not None:
                    inputs.append(e)
                    s.on_event(e)
    return inputs


def test_journal_of_a_session_replays_bit_for_bit(tmp_path):
    inputs = session_inputs()
    live = OmsStage(REFDATA, LIMITS, prefix=3)
    outputs = []
    with Journal.open(tmp_path / "j", segment_size=1 << 20, fsync="never") as j:
        rec = StageRecorder(j, live, 9, T0_NS)
        for n, e in enumerate(inputs, 1):
            e = ev.read(bytearray(e.tobytes()))
            e["sequence"] = n
            outputs += rec.feed(e)
        digest = rec.close()
    result = replay_journal(tmp_path / "j")
    assert result.ok, result
    assert digest == live.state_hash()
    again = OmsStage(REFDATA, LIMITS, prefix=3)
    for n, e in enumerate(inputs, 1):
        e = ev.read(bytearray(e.tobytes()))
        e["sequence"] = n
        again.on_event(e)
    assert again.state_hash() == digest
    assert sum(1 for o in outputs if int(o["type"]) == T.FILL) > 0
