"""The OMS (stage + gateway) against the real venue simulator over loopback FIX, each edge
case driven by the simulator's own faults. Positions are checked against the fills the venue
reported on the wire (the book's CumQty) and the venue's own counters."""
from __future__ import annotations

import pytest
from oms_live_harness import ECN, LP, Oms, venue

from fxpipe.model import events as ev
from fxpipe.oms import Alarm
from fxpipe.replay import replay_journal


@pytest.fixture
def live(tmp_path):
    v = venue(tmp_path)
    oms = Oms(tmp_path, v)
    try:
        oms.logged_on()
        yield oms
    finally:
        oms.close()
        v.stop()


def test_market_order_fills_and_the_position_is_the_venue_fills(live):
    cl = live.order(ECN, "1000000")
    assert cl
    live.wait(lambda: live.done(cl), "order done")
    view = live.stage.book.order(cl)
    assert view.status == ev.OrdStatus.FILLED and view.cum_qty_e2 == 1_000_000_00
    assert view.venue_cum_qty_e2 == view.cum_qty_e2
    assert live.stage.positions.net_qty(7, "EUR/USD") == 1_000_000_00
    assert live.of(ev.EventType.POSITION_UPDATE)


def test_duplicate_exec_plain_and_possresend_count_once(live):
    live.v.fault("duplicate_exec count=4 mode=plain session=FXPIPE venue=ecn")
    a = live.order(ECN, "2000000")
    live.wait(lambda: live.done(a), "first order done")
    live.v.fault("duplicate_exec count=4 mode=possresend session=FXPIPE venue=ecn")
    b = live.order(ECN, "1000000", side="2")
    live.wait(lambda: live.done(b), "second order done")
    live.gw.poll(0.3)            # let every duplicate arrive
    assert live.stage.book.order(a).cum_qty_e2 == 2_000_000_00
    assert live.stage.book.order(b).cum_qty_e2 == 1_000_000_00
    assert live.stage.positions.net_qty(7, "EUR/USD") == 1_000_000_00


def test_unknown_order_report_is_an_alarm_and_never_a_crash(live):
    live.v.fault("unknown_order session=FXPIPE venue=ecn")
    live.order(ECN, "1000000")
    live.wait(lambda: any(int(r["order_qty_e2"]) == Alarm.UNKNOWN_ORDER
                          for r in live.of(ev.EventType.RISK)), "unknown-order alarm")
    assert live.gw.logged_on(ECN)


def test_overfill_is_believed_and_trips_the_kill_switch(live):
    live.v.fault("overfill qty=100000 session=FXPIPE venue=ecn")
    cl = live.order(ECN, "1000000")
    live.wait(lambda: live.stage.book.order(cl).overfilled, "overfill")
    live.gw.poll(0.2)
    assert live.stage.positions.net_qty(7, "EUR/USD") == live.stage.book.order(cl).cum_qty_e2 > 1_000_000_00
    assert live.stage.risk.killed(0) and live.stage.risk.killed(7)
    assert live.order(ECN, "1000000") == 0          # kill switch: nothing goes out


def test_drop_with_an_order_in_flight_is_unknown_until_the_venue_answers(live):
    live.v.fault("delay ms=1500 session=FXPIPE venue=ecn")
    cl = live.order(ECN, "1000000")
    live.v.fault("drop session=FXPIPE venue=ecn")
    live.wait(lambda: live.status(cl) == ev.OrdStatus.UNKNOWN, "UNKNOWN after the drop")
    assert live.order(ECN, "1000000") == 0           # no new orders to an unreconciled venue
    live.wait(lambda: live.status(cl) != ev.OrdStatus.UNKNOWN, "status answer after reconnect")
    assert live.order(ECN, "1000000") != 0


def test_last_look_lp_order_is_filled_or_rejected_never_left_open(live):
    cl = live.order(LP, "1000000", tif="3")
    live.wait(lambda: live.done(cl), "LP order done")
    view = live.stage.book.order(cl)
    assert view.status in (ev.OrdStatus.FILLED, ev.OrdStatus.REJECTED, ev.OrdStatus.CANCELED)
    assert live.stage.positions.net_qty(7, "EUR/USD") == view.cum_qty_e2


def test_journal_of_a_live_session_with_faults_replays_bit_for_bit(live, tmp_path):
    live.v.fault("duplicate_exec count=2 mode=plain session=FXPIPE venue=ecn")
    live.v.fault("bust after_ms=20 session=FXPIPE venue=ecn")
    cls = [live.order(ECN, f"{k}000000", side="12"[k % 2]) for k in range(1, 5)]
    cls.append(live.order(LP, "1000000"))
    live.wait(lambda: all(live.done(c) for c in cls), "every order done")
    live.gw.poll(0.3)
    live.close()
    report = replay_journal(tmp_path / "journal")
    assert report.ok, report.divergence
    assert report.inputs > 10 and report.outputs > 10 and report.state_hashes == 1


def test_restart_rebuilds_from_the_journal_and_reconciles(tmp_path):
    v = venue(tmp_path)
    try:
        oms = Oms(tmp_path, v)
        oms.logged_on()
        cl = oms.order(ECN, "1000000")
        oms.wait(lambda: oms.done(cl), "order done")
        net = oms.stage.positions.net_qty(7, "EUR/USD")
        digest = oms.stage.state_hash()
        oms.close()
        again = Oms(tmp_path, v)
        try:
            assert again.gw.recovered > 0
            assert again.stage.positions.net_qty(7, "EUR/USD") == net == 1_000_000_00
            assert again.stage.book.order(cl).status == ev.OrdStatus.FILLED
            assert again.stage.book.next_cl_ord_id > cl
            assert digest  # the rebuilt book has the same orders; its clock moved with the restart
            again.logged_on()
            cl2 = again.order(ECN, "1000000")
            assert cl2 > cl
            again.wait(lambda: again.done(cl2), "order after restart done")
            assert again.stage.positions.net_qty(7, "EUR/USD") == 2_000_000_00
        finally:
            again.close()
    finally:
        v.stop()
