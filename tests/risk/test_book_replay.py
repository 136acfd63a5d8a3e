"""The book stage (positions, PnL and risk) recorded live into a journal replays equal: every
output (PositionUpdate, PnL, RiskEvent, cancel intent) and every state hash, including a limit
changed live by a Control event and the kill switch; `fxpipe replay` says so too."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from risk_harness import BUY, MS, SELL, T0, control, fill, intent, quote, update

from fxpipe.journal import Journal
from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_qty
from fxpipe.replay import StageRecorder, replay_journal
from fxpipe.replay.book_stage import BookStage

ROOT = Path(__file__).resolve().parents[2]
C, L = ev.ControlCommand, ev.RiskLimit


def session(with_limit_change: bool) -> list[np.void]:
    """A trading session's inputs in event-time order."""
    rng = np.random.default_rng(5)
    out: list[np.void] = []
    ts = T0
    px = 1.08500
    n_fill = 0
    for k in range(300):
        ts += 10 * MS
        px += float(rng.integers(-3, 4)) * 0.00001
        sym = "EUR/USD" if k % 3 else "USD/JPY"
        mid = f"{px:.5f}" if sym == "EUR/USD" else f"{150 + (px - 1.085) * 100:.3f}"
        out.append(quote(sym, mid, mid, ts))
        side = BUY if rng.integers(0, 2) else SELL
        qty = f"{int(rng.integers(1, 30)) * 100000}"
        out.append(intent(side, qty, mid, symbol=sym, strategy=1 + k % 2, ts=ts, cl_ord_id=k + 1))
        if k % 2 == 0:
            n_fill += 1
            out.append(fill(f"X{n_fill}", side, qty, mid, symbol=sym, strategy=1 + k % 2, ts=ts))
            out.append(update(k + 1, ev.OrdStatus.FILLED, qty, qty, "0", strategy=1 + k % 2,
                              exec_type=ev.ExecType.FILL, ts=ts, symbol=sym))
        if k == 100 and with_limit_change:
            out.append(control(C.SET_LIMIT, strategy=1, limit=L.MAX_ORDER_QTY, arg=parse_qty("1000000"), ts=ts))
        if k == 150:            # the venue busts the first fill
            first = next(e for e in out if int(e["type"]) == ev.EventType.FILL)
            bust = ev.read(bytearray(first.tobytes()))
            bust["exec_trans_type"] = ev.ExecTransType.CANCEL
            bust["exec_ref_id"], bust["exec_id"] = b"X1", b"B1"
            bust["ts_receive_ns"] = ts
            out.append(bust)
        if k == 200:
            out.append(control(C.KILL_SWITCH_ON, strategy=2, ts=ts))
        if k == 250:
            out.append(control(C.KILL_SWITCH_OFF, strategy=2, ts=ts))
        if k % 50 == 49:
            out.append(ev.make(ev.EventType.TIMER, kind=ev.TimerKind.STRATEGY, timer_id=1, ts_receive_ns=ts))
    for i, e in enumerate(out, 1):
        e["sequence"] = i
    return out


def record(path: Path, events: list[np.void]) -> tuple[list[np.void], bytes]:
    stage = BookStage((ROOT / "config" / "refdata.toml").read_text(), (ROOT / "config" / "risk.toml").read_text())
    outputs: list[np.void] = []
    with Journal.open(path, segment_size=1 << 20, fsync="never") as j:
        rec = StageRecorder(j, stage, 4, T0)
        for i, e in enumerate(events, 1):
            outputs += rec.feed(e)
            if i % 200 == 0:
                rec.checkpoint()
        digest = rec.close()
    return outputs, digest


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("book") / "j"
    outputs, digest = record(path, session(with_limit_change=True))
    return path, outputs, digest


def test_live_run_with_fills_busts_and_controls_replays_equal(recorded):
    path, outputs, _ = recorded
    types = {ev.EventType(int(o["type"])) for o in outputs}
    assert {ev.EventType.POSITION_UPDATE, ev.EventType.PNL, ev.EventType.RISK, ev.EventType.ORDER_INTENT} <= types
    checks = {int(o["check"]) for o in outputs if int(o["type"]) == ev.EventType.RISK}
    assert ev.RiskCheck.LIMIT_CHANGED in checks and ev.RiskCheck.MAX_ORDER_QTY in checks
    rep = replay_journal(path)
    assert rep.ok, str(rep.divergence)
    assert rep.outputs == len(outputs) and rep.state_hashes >= 3


def test_the_live_limit_change_is_what_the_replay_reproduces(recorded, tmp_path):
    _, outputs, digest = recorded
    other_outputs, other_digest = record(tmp_path / "j2", session(with_limit_change=False))
    assert other_digest != digest      # the change mattered, so replay had to repeat it
    limits = {int(o["limit"]) for o in outputs if int(o["type"]) == ev.EventType.RISK
              and int(o["check"]) == ev.RiskCheck.MAX_ORDER_QTY and int(o["cl_ord_id"]) > 101}
    assert parse_qty("1000000") in limits      # rejects under the limit set live
    assert all(int(o["limit"]) != parse_qty("1000000") for o in other_outputs
               if int(o["type"]) == ev.EventType.RISK)


def test_fxpipe_replay_command_reports_equal(recorded):
    path, _, _ = recorded
    r = subprocess.run([sys.executable, "-m", "fxpipe", "replay", str(path)], capture_output=True, text=True,
                       cwd=ROOT, env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "EQUAL" in r.stdout and "book" in r.stdout


def test_marks_reported_on_the_timer_change_when_not_what_positions_and_risk_hold(tmp_path):
    """mark_updates="timer": quotes mark positions and risk at once (every check and every fill
    sees the same numbers as with a PositionUpdate per mark), the mark PositionUpdates come with
    the next timer; and the run replays equal like any other."""
    events = session(with_limit_change=True)
    refdata = (ROOT / "config" / "refdata.toml").read_text()
    limits = (ROOT / "config" / "risk.toml").read_text()
    each, lazy = BookStage(refdata, limits), BookStage(refdata, limits, mark_updates="timer")
    for e in events:
        a, b = each.on_event(e), lazy.on_event(e)
        if int(e["type"]) == ev.EventType.QUOTE:
            assert not [o for o in b if int(o["type"]) == ev.EventType.POSITION_UPDATE]
        # everything but the mark PositionUpdates is the same, event for event
        strip = [o.tobytes() for o in a if not (int(o["type"]) == ev.EventType.POSITION_UPDATE
                                                and int(o["reason"]) == ev.PositionReason.MARK)]
        assert strip == [o.tobytes() for o in b if not (int(o["type"]) == ev.EventType.POSITION_UPDATE
                                                        and int(o["reason"]) == ev.PositionReason.MARK)]
        if int(e["type"]) == ev.EventType.TIMER:
            marks = [o for o in b if int(o["type"]) == ev.EventType.POSITION_UPDATE]
            assert marks and all(int(o["reason"]) == ev.PositionReason.MARK for o in marks)
            assert each.state_hash() == lazy.state_hash()
    stage = BookStage(refdata, limits, mark_updates="timer")
    with Journal.open(tmp_path / "j", segment_size=1 << 20, fsync="never") as j:
        rec = StageRecorder(j, stage, 4, T0)
        for e in events:
            rec.feed(e)
        rec.close()
    rep = replay_journal(tmp_path / "j")
    assert rep.ok, rep.divergence
    with pytest.raises(ValueError, match="mark_updates"):
        BookStage(refdata, limits, mark_updates="sometimes")


def test_a_timers_pnl_snapshot_holds_every_strategy_with_a_position_then_the_desk_of_the_same_moment():
    """Between fills a strategy's unrealized PnL moves with the marks alone: the timer reports
    each strategy with an open position (by id), then the desk, so the figures a desk reads
    off the journal (the run summary, operations) are of one moment and add up."""
    refdata = (ROOT / "config" / "refdata.toml").read_text()
    stage = BookStage(refdata, (ROOT / "config" / "risk.toml").read_text(), mark_updates="timer")
    stage.on_event(quote("EUR/USD", "1.08500", "1.08500", T0))
    stage.on_event(fill("X1", BUY, "100000", "1.08500", strategy=2, ts=T0 + MS))
    stage.on_event(fill("X2", SELL, "100000", "1.08500", strategy=3, ts=T0 + 2 * MS))
    stage.on_event(fill("X3", BUY, "100000", "1.08500", strategy=5, ts=T0 + 3 * MS))
    stage.on_event(fill("X4", SELL, "100000", "1.08500", strategy=5, ts=T0 + 4 * MS))   # 5 is flat
    stage.on_event(quote("EUR/USD", "1.08520", "1.08520", T0 + 5 * MS))              # +2 pips
    out = stage.on_event(ev.make(ev.EventType.TIMER, kind=ev.TimerKind.STRATEGY, timer_id=1,
                                 ts_receive_ns=T0 + 6 * MS))
    pnl = [o for o in out if int(o["type"]) == ev.EventType.PNL]
    totals = [(int(o["strategy_id"]), int(o["unrealized_rpt_e4"])) for o in pnl
              if int(o["pnl_kind"]) == ev.PnlKind.TOTAL]
    # 100,000 EUR at +0.0002: +20 USD long, -20 USD short; the desk nets to zero; 5 is flat
    assert totals == [(2, 20_0000), (3, -20_0000), (0, 0)]
    ids = [int(o["strategy_id"]) for o in pnl]
    assert ids == sorted(ids, key=lambda sid: (sid == 0, sid))      # the strategies by id, the desk last
