"""The oms stage's answers to Controls carry the request_id; a Control without one (journals
written before request ids) gives exactly the outputs it always did."""
from __future__ import annotations

from opsloop import LIMITS, REFDATA

import fxpipe.model.events as ev
from fxpipe.oms.stage import OmsStage

T, C, A = ev.EventType, ev.ControlCommand, ev.RiskAction
T0 = 1_700_000_000_000_000_000


def stage():
    s = OmsStage(REFDATA, LIMITS, prefix=3)
    s.on_event(ev.make(T.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=108_499_000, ask_px_e8=108_501_000,
                       bid_qty_e2=100_000_000, ask_qty_e2=100_000_000, quote_cond=ev.QuoteCondition.FIRM,
                       ts_receive_ns=T0))
    return s


def control(cmd, rid, sid=0, **kw):
    return ev.make(T.CONTROL, command=cmd, request_id=rid, strategy_id=sid, issued_by=b"op", ts_receive_ns=T0 + 5,
                   **kw)


def risk(out):
    return [(int(r["action"]), int(r["cl_ord_id"]), int(r["limit"])) for r in out if int(r["type"]) == T.RISK]


def test_every_answer_carries_the_request_id():
    s = stage()
    assert risk(s.on_event(control(C.KILL_SWITCH_ON, 41), 1)) == [(A.KILL_SWITCH_ON, 41, 0)]
    assert risk(s.on_event(control(C.KILL_SWITCH_ON, 42), 2)) == [(A.KILL_SWITCH_ON, 42, 0)]     # echo
    assert risk(s.on_event(control(C.CANCEL_ALL, 43), 3)) == [(A.KILL_SWITCH_ON, 43, 0)]
    assert risk(s.on_event(control(C.KILL_SWITCH_OFF, 44), 4)) == [(A.KILL_SWITCH_OFF, 44, 0)]
    assert risk(s.on_event(control(C.KILL_SWITCH_OFF, 45, sid=7), 5)) == [(A.STRATEGY_RESUMED, 45, 0)]
    (r,) = [o for o in s.on_event(control(C.SET_LIMIT, 46, sid=7, limit_id=ev.RiskLimit.MAX_ORDER_QTY,
                                          arg=100), 6) if int(o["type"]) == T.RISK]
    assert int(r["action"]) == A.LIMIT_SET and int(r["cl_ord_id"]) == 46 and int(r["cause_seq"]) == 6


def test_a_control_without_request_id_changes_nothing_in_the_outputs():
    s = stage()
    assert risk(s.on_event(control(C.KILL_SWITCH_ON, 0), 1)) == [(A.KILL_SWITCH_ON, 0, 0)]
    assert s.on_event(control(C.KILL_SWITCH_ON, 0), 2) == []          # no echo without an id
    assert s.on_event(control(C.CANCEL_ALL, 0), 3) == []


def test_pause_and_resume_are_not_the_oms_stages_to_answer():
    s = stage()
    assert s.on_event(control(C.PAUSE, 50, sid=7), 1) == []
    assert not s.risk.killed(7)
