"""`fxpipe ctl`: each command is a journal-able Control on the real control ring, the oms stage
and the decision stage (hosted by a small live loop over real rings) apply it, and its answer
comes back through the OpsView's status section."""
from __future__ import annotations

import argparse
import time

import pytest
from oms_venue import T0_NS, ScriptedVenue, intent
from opsdata import create_rings
from opsloop import LIMITS, REFDATA, Loop

import fxpipe.model.events as ev
from fxpipe.cli import CliError
from fxpipe.model.eventtext import problems
from fxpipe.oms.stage import OmsStage
from fxpipe.ops import cli as ops_cli
from fxpipe.ops.ctl import operator_name
from fxpipe.ring import Ring
from fxpipe.stages.decision import DecisionStage

T = ev.EventType
PX = 108_500_000


def quote(t=T0_NS, px=PX):
    return ev.make(T.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=px - 1000, ask_px_e8=px + 1000,
                   bid_qty_e2=100_000_000, ask_qty_e2=100_000_000, quote_cond=ev.QuoteCondition.FIRM,
                   ts_receive_ns=t)


def open_order(oms, venue, strategy):
    out = oms.on_event(intent(qty=100_000_000, strategy_id=strategy, t=T0_NS + 1000))
    send = [o for o in out if int(o["type"]) == T.ORDER_INTENT][0]
    venue.take(send)
    oms.on_event(venue.ack(int(send["cl_ord_id"])).u)
    return int(send["cl_ord_id"])


@pytest.fixture
def live(prefix):
    rings = create_rings(prefix)
    oms = OmsStage(REFDATA, LIMITS, prefix=3)
    oms.on_event(quote())
    venue = ScriptedVenue()
    orders = {7: open_order(oms, venue, 7), 9: open_order(oms, venue, 9)}
    decision = DecisionStage([{"strategy": "opsstrat:Counter", "strategy_id": sid, "params": {"bid": False}}
                              for sid in (7, 9)])
    loop = Loop(prefix, oms, decision)
    loop.orders = orders
    loop.start()
    yield loop
    loop.close()
    for r in rings.values():
        r.close(unlink=True)
    # every command the journal took is a valid event, with who issued it and its request id
    for c in loop.controls:
        assert problems(c) == [] and c["issued_by"].decode() == operator_name() and int(c["request_id"]) > 0


def ctl(prefix, *argv, timeout=10.0):
    parser = argparse.ArgumentParser(prog="fxpipe")
    ops_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ctl", "--prefix", prefix, "--timeout", str(timeout), *argv])
    return args.func(args)


def run(capsys, loop, *argv):
    rc = ctl(loop.prefix, *argv)
    return rc, capsys.readouterr().out


def last_control(loop, command):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [c for c in loop.controls if int(c["command"]) == command]
        if found:
            return found[-1]
        time.sleep(0.01)
    raise AssertionError(f"no {command!r} Control reached the journal")


def cancels(loop):
    return sorted(int(r["orig_cl_ord_id"]) for r in loop.requests_sent
                  if int(r["action"]) == ev.IntentAction.CANCEL)


def test_kill_switch_on_is_journaled_stops_trading_cancels_everything_and_is_answered(capsys, live):
    rc, out = run(capsys, live, "kill-switch", "on")
    assert rc == 0, out
    assert "KILL_SWITCH_ON (KILL_SWITCH)" in out and ": done" in out
    c = last_control(live, ev.ControlCommand.KILL_SWITCH_ON)
    assert problems(c) == [] and c["issued_by"].decode() == operator_name() and int(c["strategy_id"]) == 0
    assert live.oms.risk.killed(0)
    assert cancels(live) == sorted(live.orders.values())
    snap = live.ops.view.snapshot()
    assert snap["risk"]["kill_switch"]["global"] is True
    assert snap["requests"][str(int(c["request_id"]))]["issued_by"] == operator_name()

    rc, out = run(capsys, live, "kill-switch", "on")         # already on: an answer all the same
    assert rc == 0 and "KILL_SWITCH_ON" in out
    rc, out = run(capsys, live, "kill-switch", "off")
    assert rc == 0 and "KILL_SWITCH_OFF" in out and not live.oms.risk.killed(0)
    assert live.ops.view.snapshot()["risk"]["kill_switch"]["global"] is False


def test_kill_switch_of_one_strategy_stops_only_it(capsys, live):
    rc, out = run(capsys, live, "kill-switch", "on", "--strategy", "9")
    assert rc == 0 and "STRATEGY_STOPPED" in out and "strategy 9" in out
    assert live.oms.risk.killed(9) and not live.oms.risk.killed(7) and not live.oms.risk.killed(0)
    assert cancels(live) == [live.orders[9]]
    assert "9" in live.ops.view.snapshot()["risk"]["kill_switch"]["stopped_strategies"]
    rc, out = run(capsys, live, "kill-switch", "off", "--strategy", "9")
    assert rc == 0 and "STRATEGY_RESUMED" in out and not live.oms.risk.killed(9)


def test_cancel_all_cancels_without_stopping_and_says_how_many(capsys, live):
    rc, out = run(capsys, live, "cancel-all", "--strategy", "7")
    assert rc == 0, out
    assert "1 cancel(s) sent" in out
    assert cancels(live) == [live.orders[7]] and not live.oms.risk.killed(7)
    c = last_control(live, ev.ControlCommand.CANCEL_ALL)
    assert problems(c) == [] and int(c["strategy_id"]) == 7


def test_pause_stops_quotes_to_one_strategy_and_resume_brings_them_back(capsys, live):
    md = live.rings["md"].producer()
    s7, s9 = live.decision.strategy(7), live.decision.strategy(9)

    def quote_reaches():
        before = (s7.quotes, s9.quotes)
        md.send(quote(T0_NS + 10_000).tobytes())
        deadline = time.monotonic() + 5
        while s9.quotes == before[1] and time.monotonic() < deadline:
            time.sleep(0.005)
        return s7.quotes - before[0], s9.quotes - before[1]

    assert quote_reaches() == (1, 1)
    rc, out = run(capsys, live, "pause", "7")
    assert rc == 0 and "STRATEGY_STOPPED" in out and "strategy 7" in out
    assert quote_reaches() == (0, 1)
    snap = live.ops.view.snapshot()
    assert "7" in snap["risk"]["paused_strategies"]
    assert snap["risk"]["kill_switch"]["stopped_strategies"] == {}        # a pause is not the kill switch
    assert not live.oms.risk.killed(7)
    rc, out = run(capsys, live, "resume", "7")
    assert rc == 0 and "STRATEGY_RESUMED" in out
    assert quote_reaches() == (1, 1)
    assert live.ops.view.snapshot()["risk"]["paused_strategies"] == {}


def test_pause_of_a_strategy_nobody_hosts_is_refused(capsys, live):
    rc, out = run(capsys, live, "pause", "42")
    assert rc == 1 and "refused" in out and "CHANGE_REFUSED" in out


def test_set_limit_changes_the_limit_and_reports_old_and_new(capsys, live):
    rc, out = run(capsys, live, "set-limit", "max-order-qty", "5000000", "--strategy", "7")
    assert rc == 0, out
    assert live.oms.risk.limit(ev.RiskLimit.MAX_ORDER_QTY, 7) == 500_000_000
    assert "max_order_qty: none -> 5000000" in out                 # no limit of its own before
    rc, out = run(capsys, live, "set-limit", "max-order-qty", "2500000.5", "--strategy", "7")
    assert rc == 0 and "max_order_qty: 5000000 -> 2500000.5" in out
    c = last_control(live, ev.ControlCommand.SET_LIMIT)
    assert int(c["arg"]) == 250_000_050 and int(c["limit_id"]) == ev.RiskLimit.MAX_ORDER_QTY and problems(c) == []
    rc, out = run(capsys, live, "set-limit", "max-order-qty", "none", "--strategy", "7")
    assert rc == 0 and live.oms.risk.limit(ev.RiskLimit.MAX_ORDER_QTY, 7) is None
    assert "max_order_qty: 2500000.5 -> none" in out
    rc, out = run(capsys, live, "set-limit", "order-rate", "25", "--strategy", "7")
    assert rc == 0 and "order_rate: " in out and "-> 25" in out
    assert live.oms.risk.limit(ev.RiskLimit.ORDER_RATE, 7) == 25


def test_set_limit_the_risk_engine_refuses_changes_nothing(capsys, live):
    rc, out = run(capsys, live, "set-limit", "max-ccy-exposure", "10", "--ccy", "XXX")
    assert rc == 1 and "CHANGE_REFUSED" in out and "refused" in out


@pytest.mark.parametrize("argv, message", [
    (("set-limit", "max-teapots", "1"), "unknown limit 'max-teapots'"),
    (("set-limit", "max-order-qty", "1.234"), "more than 2 decimal places"),
    (("set-limit", "max-order-qty", "-5"), "negative"),
    (("set-limit", "max-ccy-exposure", "5", "--ccy", "usd1"), "three capital letters"),
    (("kill-switch", "on", "--strategy", "-1"), "must be 0..4294967295"),
])
def test_bad_commands_are_refused_before_anything_is_sent(prefix, argv, message):
    with pytest.raises(CliError, match=message):
        ctl(prefix, *argv)


def test_no_answer_is_a_clear_timeout(prefix):
    rings = create_rings(prefix)
    try:
        with pytest.raises(CliError, match=r"no answer to request \d+ within 0.3 s.*absent"):
            ctl(prefix, "kill-switch", "on", timeout=0.3)
        assert rings["control"].status()["cursor"] == 0     # it was published, once
    finally:
        for r in rings.values():
            r.close(unlink=True)


def test_missing_control_ring_is_named(prefix):
    with pytest.raises(CliError, match=rf"ring '{prefix}.control' does not exist"):
        ctl(prefix, "cancel-all")


def test_a_single_producer_control_ring_is_refused(prefix):
    r = Ring.create(f"{prefix}.control", slot_size=ev.SLOT_SIZE, slot_count=64, producer="single")
    try:
        with pytest.raises(CliError, match="single-producer"):
            ctl(prefix, "cancel-all")
    finally:
        r.close(unlink=True)


def test_the_fxpipe_command_line_sends_and_prints_the_answer(live):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    res = subprocess.run([sys.executable, "-m", "fxpipe", "ctl", "--prefix", live.prefix, "--timeout", "20",
                          "kill-switch", "on", "--strategy", "7"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "sent KILL_SWITCH_ON request" in res.stdout and "STRATEGY_STOPPED" in res.stdout
    assert live.oms.risk.killed(7)
    res = subprocess.run([sys.executable, "-m", "fxpipe", "ctl", "--prefix", live.prefix, "pause", "nine"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and "invalid int value: 'nine'" in res.stderr
