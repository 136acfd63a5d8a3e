"""PAUSE/RESUME in the decision stage: a paused strategy gets no quotes and no timers but still
its fills and order updates; each is answered; the same inputs give the same outputs and state."""
from __future__ import annotations

import fxpipe.model.events as ev
from fxpipe.stages.decision import DecisionStage

T = ev.EventType
C = ev.ControlCommand
T0 = 1_700_000_000_000_000_000


def stage():
    return DecisionStage([{"strategy": "opsstrat:Counter", "strategy_id": sid} for sid in (7, 9)])


def quote(dt):
    return ev.make(T.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=108_499_000, ask_px_e8=108_501_000,
                   bid_qty_e2=100_000_000, ask_qty_e2=100_000_000, quote_cond=ev.QuoteCondition.FIRM,
                   ts_receive_ns=T0 + dt)


def control(cmd, sid, rid, dt):
    return ev.make(T.CONTROL, command=cmd, strategy_id=sid, request_id=rid, issued_by=b"op", ts_receive_ns=T0 + dt)


def inputs(first_order):
    return [quote(1), control(C.PAUSE, 7, 100, 2), quote(3),
            ev.make(T.FILL, cl_ord_id=first_order, strategy_id=7, instrument_id=1, venue_id=1, side=ev.Side.BUY,
                    last_qty_e2=100_000, last_px_e8=108_499_000, exec_trans_type=ev.ExecTransType.NEW,
                    exec_id=b"X1", ts_receive_ns=T0 + 4),
            ev.make(T.ORDER_UPDATE, cl_ord_id=first_order, strategy_id=7, instrument_id=1, venue_id=1,
                    ord_status=ev.OrdStatus.FILLED, report_kind=ev.ReportKind.EXECUTION, exec_type=ev.ExecType.FILL,
                    side=ev.Side.BUY, order_qty_e2=100_000, cum_qty_e2=100_000, ts_receive_ns=T0 + 5),
            ev.make(T.TIMER, ts_receive_ns=T0 + 6, deadline_ns=T0 + 6),
            control(C.RESUME, 7, 101, 7), quote(8)]


def run(s):
    first = None
    out = []
    for e in [quote(1)]:
        got = s.on_event(e, 1)
        first = int(got[0]["cl_ord_id"])
        out += got
    for i, e in enumerate(inputs(first)[1:], start=2):
        out += s.on_event(e, i)
    return out


def test_paused_strategy_gets_no_quotes_or_timers_but_its_fills_and_updates():
    s = stage()
    run(s)
    s7, s9 = s.strategy(7), s.strategy(9)
    assert (s7.quotes, s7.timers, s7.fills, s7.updates) == (2, 0, 1, 1)     # quote 3 and the timer missed
    assert (s9.quotes, s9.timers) == (3, 1)
    assert s.context(7).positions == {1: 100_000}
    assert s.paused == set()


def test_each_pause_and_resume_is_answered_with_its_request_id():
    out = run(stage())
    risk = [o for o in out if int(o["type"]) == T.RISK]
    assert [(int(r["action"]), int(r["strategy_id"]), int(r["cl_ord_id"]), int(r["observed"]), int(r["cause_seq"]))
            for r in risk] == [(ev.RiskAction.STRATEGY_STOPPED, 7, 100, C.PAUSE, 2),
                               (ev.RiskAction.STRATEGY_RESUMED, 7, 101, C.RESUME, 7)]
    assert all(int(r["check"]) == ev.RiskCheck.KILL_SWITCH for r in risk)


def test_same_inputs_give_the_same_outputs_and_state_hash():
    a, b = stage(), stage()
    assert [o.tobytes() for o in run(a)] == [o.tobytes() for o in run(b)]
    assert a.state_hash() == b.state_hash()


def test_state_hash_covers_a_pause_and_is_unchanged_without_one():
    a, b = stage(), stage()
    a.on_event(quote(1), 1)
    b.on_event(quote(1), 1)
    assert a.state_hash() == b.state_hash()
    a.on_event(control(C.PAUSE, 9, 5, 2), 2)
    assert a.state_hash() != b.state_hash()
    a.on_event(control(C.RESUME, 9, 6, 3), 3)
    assert a.state_hash() == b.state_hash()


def test_pause_all_pauses_every_hosted_strategy_and_unknown_one_is_refused():
    s = stage()
    out = s.on_event(control(C.PAUSE, 0, 9, 1), 1)
    assert [int(o["strategy_id"]) for o in out] == [7, 9] and s.paused == {7, 9}
    assert s.on_event(quote(2), 2) == []
    (refused,) = s.on_event(control(C.RESUME, 42, 10, 3), 3)
    assert int(refused["action"]) == ev.RiskAction.CHANGE_REFUSED and int(refused["strategy_id"]) == 42
    assert s.paused == {7, 9}


def test_other_control_commands_leave_the_decision_stage_alone():
    s = stage()
    assert s.on_event(control(C.KILL_SWITCH_ON, 0, 11, 1), 1) == []
    assert s.paused == set()
