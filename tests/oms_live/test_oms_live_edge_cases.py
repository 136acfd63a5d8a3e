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


FAR_BID = 100_000_000          # 1.00000: a buy limit that rests on EUR/USD
NEAR_BID = 108_000_000         # 1.08000: rests, within reach of fill_after_cancel's max_pips


def test_fill_before_ack_counts_and_the_late_ack_changes_nothing(live):
    live.v.fault("fill_before_ack session=FXPIPE venue=ecn")
    cl = live.order(ECN, "1000000")
    live.wait(lambda: live.done(cl), "order done")
    live.gw.poll(0.2)
    assert live.status(cl) == ev.OrdStatus.FILLED
    assert live.stage.positions.net_qty(7, "EUR/USD") == 1_000_000_00


def test_fill_after_cancel_is_counted_and_the_too_late_reject_is_stale(live):
    live.v.fault("fill_after_cancel max_pips=1000 session=FXPIPE venue=ecn")
    cl = live.order(ECN, "1000000", ord_type="2", tif="0", price_e8=NEAR_BID)
    live.wait(lambda: live.stage.book.order(cl).acked, "ack")
    cxl, _ = live.cancel(cl)
    assert cxl
    live.wait(lambda: live.done(cl), "order done")
    live.gw.poll(0.3)
    assert live.status(cl) == ev.OrdStatus.FILLED
    assert live.stage.book.order(cl).cum_qty_e2 == 1_000_000_00
    assert live.stage.positions.net_qty(7, "EUR/USD") == 1_000_000_00


def test_reorder_never_moves_cum_qty_back(live):
    live.v.fault("reorder count=3 session=FXPIPE venue=ecn")
    cl = live.order(ECN, "8000000")           # takes several ladder levels: several fills
    live.wait(lambda: live.done(cl), "order done")
    live.gw.poll(0.2)
    cums = [int(u["cum_qty_e2"]) for u in live.of(ev.EventType.ORDER_UPDATE) if int(u["cl_ord_id"]) == cl]
    assert cums == sorted(cums)
    view = live.stage.book.order(cl)
    assert view.cum_qty_e2 == view.venue_cum_qty_e2 == live.stage.positions.net_qty(7, "EUR/USD")
    assert view.leaves_qty_e2 == 0


@pytest.mark.parametrize("fault", ["bust after_ms=20", "correct px_pips=0.5 qty=500000 after_ms=20"])
def test_bust_and_correct_adjust_fills_and_positions(live, fault):
    live.v.fault(f"{fault} session=FXPIPE venue=ecn")
    cl = live.order(ECN, "1000000")
    live.wait(lambda: live.done(cl) and live.stage.book.order(cl).venue_cum_qty_e2 != 1_000_000_00
              or live.of(ev.EventType.FILL) and any(int(f["exec_trans_type"]) != 0 for f in live.of(ev.EventType.FILL)),
              "the bust or correction")
    live.gw.poll(0.2)
    view = live.stage.book.order(cl)
    assert view.cum_qty_e2 == view.venue_cum_qty_e2
    assert live.stage.positions.net_qty(7, "EUR/USD") == view.cum_qty_e2


def test_unsolicited_cancel_of_an_ioc_remainder(live):
    cl = live.order(ECN, "40000000", ord_type="2", tif="3", price_e8=120_000_000)   # more than the ladder
    live.wait(lambda: live.done(cl), "IOC done")
    view = live.stage.book.order(cl)
    assert view.status == ev.OrdStatus.CANCELED
    assert 0 < view.cum_qty_e2 < 40_000_000_00 and view.leaves_qty_e2 == 0
    assert live.stage.positions.net_qty(7, "EUR/USD") == view.cum_qty_e2


def test_last_look_reject_after_a_price_jump(live):
    live.v.fault("price_jump symbol=EUR/USD pips=30 after_orders=1 venue=lp")
    cl = live.order(LP, "1000000", ord_type="2", tif="3", price_e8=108_600_000)
    live.wait(lambda: live.done(cl), "LP order done")
    view = live.stage.book.order(cl)
    assert view.status in (ev.OrdStatus.REJECTED, ev.OrdStatus.FILLED, ev.OrdStatus.CANCELED)
    assert live.stage.positions.net_qty(7, "EUR/USD") == view.cum_qty_e2


def test_venue_reject_carries_its_reason(live):
    cl = live.order(LP, "1000000", ord_type="2", tif="0", price_e8=108_500_000)   # LP takes IOC/FOK only
    live.wait(lambda: live.done(cl), "reject")
    view = live.stage.book.order(cl)
    assert view.status == ev.OrdStatus.REJECTED
    rejects = [u for u in live.of(ev.EventType.ORDER_UPDATE)
               if int(u["cl_ord_id"]) == cl and int(u["ord_status"]) == ev.OrdStatus.REJECTED]
    assert rejects and int(rejects[-1]["reject_reason"]) == view.reject_reason


def test_cancel_of_an_order_already_done_never_reaches_the_venue(live):
    cl = live.order(ECN, "1000000")
    live.wait(lambda: live.done(cl), "order done")
    sent = live.gw.sent
    cxl, out = live.cancel(cl)
    assert cxl == 0 and live.gw.sent == sent
    assert int(out[0]["report_kind"]) == ev.ReportKind.CANCEL_REJECT


def test_replace_below_the_filled_quantity_is_refused(live):
    live.v.fault("fill_after_cancel max_pips=1000 session=FXPIPE venue=ecn")
    cl = live.order(ECN, "3000000", ord_type="2", tif="0", price_e8=FAR_BID)
    live.wait(lambda: live.stage.book.order(cl).acked, "ack")
    # a replace up the ladder fills part of the order; then a replace below what filled
    rpl, _ = live.replace(cl, "3000000", 120_000_000)
    assert rpl
    live.wait(lambda: live.stage.book.order(cl).cum_qty_e2 > 0, "fills after the replace")
    live.gw.poll(0.2)
    filled = live.stage.book.order(cl).cum_qty_e2
    if not live.done(cl):
        sent = live.gw.sent
        below, out = live.replace(cl, str(filled // 100 - 1000), 120_000_000)
        assert below == 0 and live.gw.sent == sent
    assert live.stage.positions.net_qty(7, "EUR/USD") == filled


@pytest.mark.parametrize("fault", ["seq_gap n=3", "garble kind=checksum"])
def test_seq_gap_and_garble_on_the_order_session_lose_nothing(live, fault):
    live.v.fault(f"{fault} session=FXPIPE venue=ecn")
    cls = [live.order(ECN, "1000000") for _ in range(3)]
    live.wait(lambda: all(live.done(c) for c in cls), "every order done")
    assert live.stage.positions.net_qty(7, "EUR/USD") == 3_000_000_00
    assert live.gw.logged_on(ECN)


def test_delay_on_a_slow_ack_sends_nothing_twice(live):
    live.v.fault("delay ms=800 session=FXPIPE venue=ecn")
    sent = live.gw.sent
    cl = live.order(ECN, "1000000")
    live.wait(lambda: live.done(cl), "order done", timeout=30)
    assert live.gw.sent == sent + 1
    assert live.stage.positions.net_qty(7, "EUR/USD") == 1_000_000_00


def test_a_request_is_stamped_sent_when_its_bytes_go_to_the_socket_not_before(live, monkeypatch):
    """_send returns the moment the request's bytes were handed to the FIX socket: after the
    adapter, the encoder and the session's store, and not after the write began (on loopback
    the peer's kernel has the bytes before send() returns). The runtime's hop stamp
    ts_send_ns is this value."""
    import time

    from fxpipe.fix.session.connection import Connection

    writes: list[tuple[int, int]] = []
    write = Connection.write

    def timed(self, data):
        t0 = time.time_ns()
        write(self, data)
        writes.append((t0, time.time_ns()))
    monkeypatch.setattr(Connection, "write", timed)
    stamps: list[tuple[int, int]] = []
    send = live.gw._send

    def stamped(req, raw=None):
        called = time.time_ns()
        at = send(req, raw)
        stamps.append((called, at))
        return at
    monkeypatch.setattr(live.gw, "_send", stamped)
    cl = live.order(ECN, "1000000")
    assert cl and len(stamps) == 1 and writes
    (called, at), (begun, _) = stamps[0], writes[-1]
    assert called < at <= begun
    live.wait(lambda: live.done(cl), "order done")


def test_warming_the_order_path_sends_stores_and_numbers_nothing(live):
    """OrderGateway.warm() on the real session and store: after an order, many warm passes leave
    the session's next number, its store's files and the venue's view unchanged, and the next
    order goes out under the next number."""
    from pathlib import Path

    a = live.order(ECN, "1000000")
    live.wait(lambda: live.done(a), "first order done")
    session = live.gw.sessions[ECN]
    next_sender = session.store.next_sender
    state = Path(live.tmp / "oms-state")
    sizes = {p: p.stat().st_size for p in state.rglob("*") if p.is_file()}
    sent = live.gw.sent
    for _ in range(200):
        assert live.gw.warm() == 1
    assert live.gw.warmed == 200 and live.gw.warm_error is None
    assert session.store.next_sender == next_sender and live.gw.sent == sent
    assert {p: p.stat().st_size for p in state.rglob("*") if p.is_file()} == sizes
    b = live.order(ECN, "1000000")
    live.wait(lambda: live.done(b), "second order done")
    assert session.store.next_sender > next_sender
    assert live.stage.book.order(b).status == ev.OrdStatus.FILLED
