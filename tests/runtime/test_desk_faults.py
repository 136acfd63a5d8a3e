"""Faults while trading against the venue simulator, under the real supervisor: kill -9 of each
worker in turn, a venue that drops the order session, a consumer that stops (its ring fills),
a bad layout file. After each: the alarm was raised, the journal holds the run, the oms's
journal replays to the same state, and no order was lost or sent twice at the venue."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_oms_kill9_recovery import venue_record

import fxpipe.model.events as ev
from fxpipe.replay.replayer import replay_journal
from fxpipe.runtime.run import run_desk
from fxpipe.runtime.summary import RunSummary
from tests.runtime.desk_harness import ECN, DeskVenue, desk, journal_events, layout, prefix


def taker(every=4, max_orders=1000):
    return {"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1, "venue_id": ECN,
            "params": {"every": every, "max_orders": max_orders}}


def requests_in(journal_dir) -> int:
    try:
        return RunSummary.from_journal(journal_dir).requests
    except Exception:        # noqa: BLE001 - being written: ask again later
        return 0


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def check_venue_agrees(tmp_path, d, summary):
    """Each order at the venue once; positions equal the venue's fills; the oms replays."""
    news, fills, dup_rejects = venue_record(tmp_path / "venue" / "venue-log" / "ecn-FXPIPE.messages.log")
    assert len(news) == len(set(news)), "an order was sent twice"
    assert not dup_rejects, dup_rejects
    assert not [k for k in summary.rejects if "DUPLICATE" in k], summary.text()   # no ClOrdID used twice
    net = sum(q if side == "1" else -q for side, q in fills.values())
    pos = sum(int(p["net_qty_e2"]) for p in summary.positions.values())
    assert pos == net, (pos, net, summary.text())
    rep = replay_journal(d.oms_dir)
    assert rep.ok, rep.divergence
    return news


def trade_through(kind: str, d, fault, *, alarms: list[str] | None = None, first: int = 4, after: int = 4,
                  what: str = "orders after the fault", **kw):
    """Runs the desk in layout `kind`; once `first` orders have gone out, `fault(supervisor)` (in
    a thread of the test), then until `after` more have gone out. Returns (summary, the number
    of orders out after the fault, whether the fault ran)."""
    state = {"faulted": False, "after": 0, "done": False}

    def on_started(sup):
        def go():
            try:
                wait_until(lambda: requests_in(d.journal_dir) >= first, 60, "the first orders")
                fault(sup)
                state["faulted"] = True
                before = requests_in(d.journal_dir)
                wait_until(lambda: requests_in(d.journal_dir) >= before + after, 60, what)
                state["after"] = requests_in(d.journal_dir) - before
            finally:
                state["done"] = True
        threading.Thread(target=go, daemon=True).start()

    summary = run_desk(layout(kind), d, prefix=prefix(), duration_s=150, on_started=on_started,
                       until=lambda: state["done"], alarm=alarms.append if alarms is not None else lambda t: None,
                       **kw)
    return summary, state["after"], state["faulted"]


def kill_9_and_wait_for_restart(worker: str):
    def fault(sup):
        pid = sup.workers[worker].proc.pid
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: sup.workers[worker].proc.pid != pid and sup.workers[worker].proc.is_alive(),
                   30, f"{worker} restarted")
    return fault


@pytest.mark.parametrize("victim", ["feed", "decision", "oms", "journal"])
def test_kill_9_of_a_worker_while_trading_is_recovered_without_a_lost_or_doubled_order(tmp_path, victim):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [taker()])
    alarms: list[str] = []
    try:
        summary, after, killed = trade_through("compact", d, kill_9_and_wait_for_restart(victim), alarms=alarms,
                                               what="orders after the restart")
    finally:
        v.stop()
    assert killed and after >= 4, (after, alarms)
    assert any(f"worker {victim}" in a and "restarting" in a for a in alarms), alarms
    news = check_venue_agrees(tmp_path, d, summary)
    assert len(news) >= 8


def test_kill_9_of_the_fused_trader_restarts_feed_decision_and_oms_together(tmp_path):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [taker()])
    alarms: list[str] = []
    try:
        summary, after, killed = trade_through("fused", d, kill_9_and_wait_for_restart("trader"), alarms=alarms,
                                               what="orders after the restart")
    finally:
        v.stop()
    assert killed and after >= 4, (after, alarms)
    assert any("worker trader" in a and "replays its journal" in a for a in alarms), alarms
    check_venue_agrees(tmp_path, d, summary)


def test_venue_dropping_the_order_session_is_seen_reconciled_and_trading_resumes(tmp_path):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [taker()])
    try:
        summary, after, dropped = trade_through("fused", d, lambda sup: v.fault("drop session=FXPIPE venue=ecn"),
                                                what="orders after the reconnect")
    finally:
        v.stop()
    assert dropped and after >= 4
    states = [int(e["state"]) for e in journal_events(d.journal_dir, ev.EventType.SESSION)
              if int(e["venue_id"]) == ECN and int(e["session_kind"]) == ev.SessionKind.ORDERS]
    # down, then up again: the journal says when the venue could not be traded
    up = states.index(int(ev.SessionState.ACTIVE))
    down = states.index(int(ev.SessionState.DISCONNECTED), up)
    assert int(ev.SessionState.ACTIVE) in states[down:], states
    check_venue_agrees(tmp_path, d, summary)


def test_a_stopped_consumer_is_alarmed_and_the_desk_catches_up_when_it_resumes(tmp_path):
    v = DeskVenue(tmp_path / "venue", rate=2000)
    d = desk(tmp_path, v, [taker(every=50)])
    alarms: list[str] = []

    def stall_the_journal(sup):
        pid = sup.workers["journal"].proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_until(lambda: any("has not moved" in a for a in alarms), 30, "the stall alarm")
        finally:
            os.kill(pid, signal.SIGCONT)

    try:
        summary, after, alarmed = trade_through("fused", d, stall_the_journal, alarms=alarms, first=1, after=1,
                                                what="the journal catching up", stall_s=1.0)
    finally:
        v.stop()
    assert alarmed and after >= 1, alarms
    assert not any("exited" in a for a in alarms), alarms
    check_venue_agrees(tmp_path, d, summary)


def test_fxpipe_run_refuses_a_bad_layout_file_with_every_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[rings.md]\nslots = 1000\n[processes.x]\nstages = ["feed", "oms"]\ncore = 99\n')
    r = subprocess.run([sys.executable, "-m", "fxpipe", "run", str(bad), "--run-dir", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr
    assert "slots = 1000" in err and "[rings.intent] is missing" in err and "core 99" in err
    assert "neighbours in flow order" in err and "stage 'journal' is in no process" in err
    assert not (tmp_path / "r").exists()          # nothing started


@pytest.mark.parametrize("kind", ["fused", "compact"])
def test_an_orderly_stop_waits_for_the_answers_to_the_orders_in_flight(tmp_path, kind):
    """The venue holds its reports for 0.8 s; the desk is told to stop the moment it has sent
    an order into that delay. The oms takes the answers before it closes (the strategies are
    not called any more), so every order sent has its final state in the journal and the
    positions are the venue's fills when the desk is down."""
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [taker()])
    try:
        summary, after, delayed = trade_through(
            kind, d, lambda sup: v.fault("delay ms=800 session=FXPIPE venue=ecn"), after=1,
            what="an order sent into the venue's delay")
    finally:
        v.stop()
    assert delayed and after >= 1
    done = {int(ev.OrdStatus.FILLED), int(ev.OrdStatus.CANCELED), int(ev.OrdStatus.REJECTED),
            int(ev.OrdStatus.EXPIRED)}
    sent = {int(e["cl_ord_id"]) for e in journal_events(d.journal_dir, ev.EventType.ORDER_INTENT)
            if int(e["ts_send_ns"]) and int(e["action"]) == ev.IntentAction.NEW}
    final = {int(e["cl_ord_id"]) for e in journal_events(d.journal_dir, ev.EventType.ORDER_UPDATE)
             if int(e["ord_status"]) in done}
    assert sent and sent <= final, sorted(sent - final)
    check_venue_agrees(tmp_path, d, summary)
