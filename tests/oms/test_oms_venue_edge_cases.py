"""Every way a venue's reports go wrong, each as it arrives on the wire (through the FIX
codec's bridge): fills before acks, fills racing cancels, duplicates and PossDup resends,
reordering, busts and corrections, unsolicited and folded IOC cancels, rejects (venue and
last look), overfills, reports for orders the OMS never sent."""
from oms_venue import ScriptedVenue, intent

from fxpipe.model import events as ev
from fxpipe.oms import Alarm, Disposition, ExecState, OrderBook, Refusal, RequestState, Verdict

S = ev.OrdStatus
PX = 108_500_000
Q = 100_000_000


def setup(acked=True, **kw):
    book, venue = OrderBook(1), ScriptedVenue()
    r = book.submit(intent("D", **kw))
    venue.take(r.send)
    cl = int(r.send["cl_ord_id"])
    if acked:
        book.apply_report(venue.ack(cl).update)
    return book, venue, cl


def apply(book, rep):
    return book.apply_report(rep.update, rep.fill)


def test_fill_before_ack_counts_and_the_late_ack_changes_nothing():
    book, venue, cl = setup(acked=False)
    ack = venue.ack(cl)
    fill = venue.fill(cl, 40_000_000, PX)
    res = apply(book, fill)
    assert res.update["ord_status"] == S.PARTIALLY_FILLED and res.fill_qty_e2 == 40_000_000
    assert book.order(cl).acked
    h = book.state_hash()
    late = apply(book, ack)
    assert late.disposition == Disposition.STALE and not late.publish and not late.fills
    assert book.state_hash() == h and book.order(cl).status == S.PARTIALLY_FILLED


def test_fill_after_cancel_request_then_cancel_reject_too_late_leaves_order_filled():
    book, venue, cl = setup()
    c = book.submit(intent("F", orig=cl))
    cancel_cl = int(c.send["cl_ord_id"])
    res = apply(book, venue.fill(cl, Q, PX))
    assert res.update["ord_status"] == S.FILLED and res.fill_qty_e2 == Q
    assert book.request(cancel_cl).state == RequestState.CLOSED
    rej = apply(book, venue.cancel_reject(cancel_cl, cl, reason=0))   # too late: order filled
    assert rej.disposition == Disposition.STALE and not rej.fills
    o = book.order(cl)
    assert o.status == S.FILLED and o.cum_qty_e2 == Q and o.pending_cancel == 0


def test_cancel_reject_too_late_before_the_fill_report_arrives():
    book, venue, cl = setup()
    c = book.submit(intent("F", orig=cl))
    cancel_cl = int(c.send["cl_ord_id"])
    fill = venue.fill(cl, Q, PX)
    rej = apply(book, venue.cancel_reject(cancel_cl, cl, reason=0, status="2"))
    assert rej.publish and rej.update["report_kind"] == ev.ReportKind.CANCEL_REJECT
    assert rej.update["cl_ord_id"] == cancel_cl and rej.update["ord_status"] == S.NEW
    assert book.request(cancel_cl).state == RequestState.REJECTED
    assert apply(book, fill).update["ord_status"] == S.FILLED


def test_duplicate_execution_report_is_idempotent_by_exec_id():
    book, venue, cl = setup()
    f = venue.fill(cl, 30_000_000, PX)
    first = apply(book, f)
    h = book.state_hash()
    again = apply(book, f)
    assert again.disposition == Disposition.DUPLICATE and not again.fills and not again.publish
    assert first.fills and book.state_hash() == h and book.order(cl).cum_qty_e2 == 30_000_000


def test_poss_dup_resend_of_an_applied_fill_is_a_duplicate_and_of_a_missed_one_applies():
    book, venue, cl = setup()
    seen = venue.fill(cl, 30_000_000, PX)
    missed = venue.fill(cl, 20_000_000, PX + 2)
    apply(book, seen)
    resent_seen, resent_missed = venue.resend(seen), venue.resend(missed)
    assert resent_seen.u["flags"] & ev.EventFlag.POSS_DUP
    assert apply(book, resent_seen).disposition == Disposition.DUPLICATE
    res = apply(book, resent_missed)
    assert res.disposition == Disposition.APPLIED and res.fill_qty_e2 == 20_000_000
    assert res.update["flags"] & ev.EventFlag.POSS_DUP
    assert book.order(cl).cum_qty_e2 == 50_000_000


def test_same_exec_id_with_different_content_raises_an_alarm_and_changes_nothing():
    book, venue, cl = setup()
    f = venue.fill(cl, 30_000_000, PX)
    apply(book, f)
    h = book.state_hash()
    forged = bytearray(f.fill)
    rec = ev.read(bytes(forged)).copy()
    rec["last_qty_e2"] = 31_000_000
    res = book.apply_report(f.update, rec.tobytes())
    assert res.alarms & Alarm.DUPLICATE_MISMATCH and res.disposition == Disposition.INVALID
    assert (res.alarm_observed, res.alarm_limit) == (31_000_000, 30_000_000)
    assert not res.fills and book.state_hash() == h


def test_out_of_order_reports_never_move_cum_qty_back_and_leaves_stays_consistent():
    book, venue, cl = setup()
    r1 = venue.fill(cl, 20_000_000, PX)
    r2 = venue.fill(cl, 30_000_000, PX + 1)
    r3 = venue.fill(cl, 50_000_000, PX + 2)
    seen = []
    for r in (r3, r1, r2):      # the venue's last word first
        res = apply(book, r)
        o = book.order(cl)
        seen.append(o.cum_qty_e2)
        if o.status != S.FILLED:
            assert o.leaves_qty_e2 == o.order_qty_e2 - o.cum_qty_e2
    assert seen == sorted(seen) == [50_000_000, 70_000_000, Q]
    o = book.order(cl)
    assert o.status == S.FILLED and o.avg_px_e8 == r3.u["avg_px_e8"]
    assert res.update["ord_status"] == S.FILLED


def test_stale_partial_fill_status_does_not_regress_a_canceled_order():
    book, venue, cl = setup()
    fill = venue.fill(cl, 20_000_000, PX)
    c = book.submit(intent("F", orig=cl))
    cancel = venue.cancel(int(c.send["cl_ord_id"]), cl)
    apply(book, cancel)                 # the cancel report overtakes the fill report
    assert book.order(cl).status == S.CANCELED
    res = apply(book, fill)
    o = book.order(cl)
    assert o.status == S.CANCELED and o.cum_qty_e2 == 20_000_000 and o.leaves_qty_e2 == 0
    assert res.fill_qty_e2 == 20_000_000     # the position still gets the execution


def test_trade_bust_undoes_the_fill_with_a_negative_delta_and_reopens_a_resting_order():
    book, venue, cl = setup()
    f1 = venue.fill(cl, 40_000_000, PX)
    f2 = venue.fill(cl, 60_000_000, PX + 10)
    apply(book, f1)
    apply(book, f2)
    assert book.order(cl).status == S.FILLED
    bust = venue.bust(cl, f1.f["exec_id"].decode())
    res = apply(book, bust)
    assert [(int(x["last_qty_e2"]), int(x["last_px_e8"]), int(x["exec_trans_type"])) for x in res.fills] \
        == [(-40_000_000, PX, ev.ExecTransType.CANCEL)]
    assert res.fills[0]["exec_ref_id"] == f1.f["exec_id"]
    o = book.order(cl)
    assert (o.cum_qty_e2, o.leaves_qty_e2, o.avg_px_e8) == (60_000_000, 40_000_000, PX + 10)
    assert o.status == S.PARTIALLY_FILLED
    assert book.execution(1, f1.f["exec_id"])[0] == ExecState.BUSTED
    assert apply(book, bust).disposition == Disposition.DUPLICATE
    assert apply(book, f1).disposition == Disposition.DUPLICATE   # the busted fill cannot return


def test_trade_correction_undoes_the_old_fill_and_applies_the_new_one():
    book, venue, cl = setup()
    f1 = venue.fill(cl, 40_000_000, PX)
    apply(book, f1)
    corr = venue.correct(cl, f1.f["exec_id"].decode(), 35_000_000, PX - 5)
    res = apply(book, corr)
    assert [(int(x["last_qty_e2"]), int(x["last_px_e8"])) for x in res.fills] == \
        [(-40_000_000, PX), (35_000_000, PX - 5)]
    assert res.fill_qty_e2 == -5_000_000
    o = book.order(cl)
    assert (o.cum_qty_e2, o.avg_px_e8) == (35_000_000, PX - 5) == (corr.u["cum_qty_e2"], corr.u["avg_px_e8"])
    assert book.execution(1, f1.f["exec_id"])[0] == ExecState.CORRECTED


def test_bust_arriving_before_the_fill_it_undoes_leaves_that_fill_worthless():
    book, venue, cl = setup()
    f1 = venue.fill(cl, 40_000_000, PX)
    bust = venue.bust(cl, f1.f["exec_id"].decode())
    res = apply(book, bust)
    assert not res.fills
    late = apply(book, f1)
    assert late.disposition == Disposition.STALE and not late.fills
    o = book.order(cl)
    assert o.cum_qty_e2 == 0 and o.status == S.NEW


def test_bust_of_an_already_busted_fill_under_a_new_exec_id_is_an_alarm():
    book, venue, cl = setup()
    f1 = venue.fill(cl, 40_000_000, PX)
    apply(book, f1)
    bust = venue.bust(cl, f1.f["exec_id"].decode())
    apply(book, bust)
    again = bytearray(bust.fill)
    rec = ev.read(bytes(again)).copy()
    rec["exec_id"] = b"E-OTHER"
    res = book.apply_report(bust.update, rec.tobytes())
    assert res.alarms & Alarm.EXEC_REF_CONFLICT and not res.fills
    assert book.order(cl).cum_qty_e2 == 0


def test_unsolicited_cancel_of_an_ioc_remainder():
    book, venue, cl = setup(tif="3")
    apply(book, venue.fill(cl, 25_000_000, PX))
    res = apply(book, venue.unsolicited_cancel(cl))
    assert res.update["ord_status"] == S.CANCELED and res.update["exec_type"] == ev.ExecType.CANCELED
    o = book.order(cl)
    assert (o.cum_qty_e2, o.leaves_qty_e2) == (25_000_000, 0)


def test_ioc_cancel_folded_into_the_last_fill_report():
    book, venue, cl = setup(tif="3")
    res = apply(book, venue.fill(cl, 25_000_000, PX, final_status="4"))
    assert res.update["ord_status"] == S.CANCELED and res.fill_qty_e2 == 25_000_000
    assert book.order(cl).leaves_qty_e2 == 0


def test_venue_reject_with_reason():
    book, venue, cl = setup(acked=False)
    res = apply(book, venue.reject(cl, reason=3))
    assert res.update["ord_status"] == S.REJECTED and res.update["reject_reason"] == 3
    assert book.request(cl).state == RequestState.REJECTED
    c = book.submit(intent("F", orig=cl))
    assert c.refusal == Refusal.ORDER_DONE


def test_last_look_reject_after_the_ack():
    book, venue, cl = setup()
    res = apply(book, venue.reject(cl, reason=0))   # broker option: the LP's last look
    assert res.update["ord_status"] == S.REJECTED and book.order(cl).leaves_qty_e2 == 0


def test_fill_on_an_order_the_venue_rejected_is_believed_with_an_alarm():
    book, venue, cl = setup()
    apply(book, venue.reject(cl))
    res = apply(book, venue.fill(cl, Q, PX))
    assert res.alarms & Alarm.STATE_CONFLICT and res.fill_qty_e2 == Q
    assert book.order(cl).status == S.FILLED


def test_cancel_of_an_order_already_done_sends_nothing():
    book, venue, cl = setup()
    apply(book, venue.fill(cl, Q, PX))
    before = book.orders()
    for action in ("F", "G"):
        r = book.submit(intent(action, orig=cl, qty=Q * 2))
        assert r.verdict == Verdict.REFUSED and r.refusal == Refusal.ORDER_DONE and r.send is None
        assert r.update["report_kind"] == ev.ReportKind.CANCEL_REJECT
        assert r.update["ord_status"] == S.FILLED
    assert book.next_cl_ord_id == cl + 1 and len(book) == 1
    assert book.orders() == before


def test_second_cancel_while_one_is_pending_is_refused():
    book, venue, cl = setup()
    assert book.submit(intent("F", orig=cl)).verdict == Verdict.SEND
    r = book.submit(intent("F", orig=cl))
    assert r.refusal == Refusal.CANCEL_PENDING and r.send is None


def test_replace_while_a_replace_is_pending_is_refused_not_queued():
    book, venue, cl = setup()
    assert book.submit(intent("G", orig=cl, qty=Q // 2)).verdict == Verdict.SEND
    assert book.submit(intent("G", orig=cl, qty=Q // 4)).refusal == Refusal.REPLACE_PENDING
    # a cancel may still overtake the pending replace, naming the last accepted ClOrdID
    c = book.submit(intent("F", orig=cl))
    assert c.verdict == Verdict.SEND and c.send["orig_cl_ord_id"] == cl
    assert book.order(cl).status == S.PENDING_CANCEL


def test_replace_needs_the_ack_and_a_change():
    book, venue, cl = setup(acked=False)
    assert book.submit(intent("G", orig=cl, qty=Q // 2)).refusal == Refusal.NOT_ACKNOWLEDGED
    book.apply_report(venue.ack(cl).update)
    assert book.submit(intent("G", orig=cl, qty=Q)).refusal == Refusal.NO_CHANGE
    assert book.submit(intent("G", orig=cl + 99, qty=Q)).refusal == Refusal.UNKNOWN_ORDER


def test_replace_below_the_filled_quantity_is_refused_and_down_to_it_fills_the_order():
    book, venue, cl = setup()
    apply(book, venue.fill(cl, 60_000_000, PX))
    r = book.submit(intent("G", orig=cl, qty=50_000_000))
    assert r.refusal == Refusal.QTY_BELOW_FILLED and r.send is None
    r = book.submit(intent("G", orig=cl, qty=60_000_000))
    assert r.verdict == Verdict.SEND
    res = apply(book, venue.replace(int(r.send["cl_ord_id"]), cl, 60_000_000, PX))
    assert res.update["ord_status"] == S.FILLED and res.update["leaves_qty_e2"] == 0


def test_replace_accepted_below_cum_qty_after_a_racing_fill_is_filled_not_overfilled():
    """FIX 4.2 Appendix D: OrderQty reduced to or below CumQty by a replace the venue accepted
    while fills raced it: the order is filled, leaves 0, and that is no overfill."""
    book, venue, cl = setup()
    apply(book, venue.fill(cl, 40_000_000, PX))
    r = book.submit(intent("G", orig=cl, qty=50_000_000))
    fill = venue.fill(cl, 30_000_000, PX)          # cum 70 at the venue before the replace
    res = apply(book, fill)
    assert not res.alarms
    venue_ack = venue.replace(int(r.send["cl_ord_id"]), cl, 50_000_000, PX)
    res = apply(book, venue_ack)
    assert res.update["ord_status"] == S.FILLED and res.update["leaves_qty_e2"] == 0
    assert not res.alarms and book.order(cl).cum_qty_e2 == 70_000_000


def test_overfill_is_believed_recorded_and_raised_as_an_alarm():
    book, venue, cl = setup()
    apply(book, venue.fill(cl, Q, PX))
    res = apply(book, venue.overfill(cl, 10_000_000, PX))
    assert res.alarms & Alarm.OVERFILL
    assert (res.alarm_observed, res.alarm_limit) == (110_000_000, Q)
    assert res.fill_qty_e2 == 10_000_000 and res.publish
    o = book.order(cl)
    assert o.overfilled and o.cum_qty_e2 == 110_000_000 and o.leaves_qty_e2 == 0 and o.status == S.FILLED


def test_report_for_an_unknown_order_is_an_alarm_and_never_crashes():
    book, venue, cl = setup()
    before = book.orders()
    res = apply(book, venue.phantom_fill(99_999, 10_000_000, PX))
    assert res.disposition == Disposition.UNKNOWN_ORDER and res.alarms & Alarm.UNKNOWN_ORDER
    assert not res.fills and not res.publish and res.order_index == -1
    assert res.alarm_observed == 10_000_000
    assert res.update["cl_ord_id"] == 99_999     # the report itself, for the journal and alarm
    assert book.order(99_999) is None and book.orders() == before


def test_report_with_a_cl_ord_id_that_is_not_ours_keeps_zero_and_is_unknown():
    book, venue, cl = setup()
    rep = venue._report(venue.order(cl), "1", last_qty=10_000_000, last_px=PX, cl_ord_id="manual-1",
                        orig=0)
    assert rep.u["cl_ord_id"] == 0
    assert apply(book, rep).disposition == Disposition.UNKNOWN_ORDER
    assert book.order(cl).cum_qty_e2 == 0


def test_malformed_report_is_invalid_with_an_alarm_and_the_book_unchanged():
    book, venue, cl = setup()
    f = venue.fill(cl, 10_000_000, PX)
    before = book.orders()
    no_exec = ev.read(f.fill).copy()
    no_exec["exec_id"] = b""
    res = book.apply_report(f.update, no_exec.tobytes())
    assert res.disposition == Disposition.INVALID and res.alarms & Alarm.INVALID_REPORT
    other = ev.read(f.fill).copy()
    other["cl_ord_id"] = cl + 1
    assert book.apply_report(f.update, other.tobytes()).disposition == Disposition.INVALID
    assert book.orders() == before


def test_report_from_another_venue_for_our_cl_ord_id_is_not_applied_to_the_order():
    book, venue, cl = setup()
    f = venue.fill(cl, 10_000_000, PX)
    u = ev.read(f.update).copy()
    u["venue_id"] = 2
    res = book.apply_report(u.tobytes(), f.fill)
    assert res.disposition == Disposition.UNKNOWN_ORDER and book.order(cl).cum_qty_e2 == 0


def test_cancel_or_replace_made_at_the_venue_joins_the_chain():
    book, venue, cl = setup()
    res = apply(book, venue.replace(555, cl, 70_000_000, PX))
    assert res.update["order_qty_e2"] == 70_000_000
    assert book.order(555).root_cl_ord_id == cl
    res = apply(book, venue.cancel(556, 555))
    assert res.update["ord_status"] == S.CANCELED and book.order(cl).chain == (cl, 555, 556)


def test_expired_day_order():
    book, venue, cl = setup()
    res = apply(book, venue.expire(cl))
    assert res.update["ord_status"] == S.EXPIRED and res.update["leaves_qty_e2"] == 0


def test_fill_delta_carries_the_order_identity_and_the_venue_exec_id():
    book, venue, cl = setup(side="2", strategy_id=42)
    f = venue.fill(cl, 10_000_000, PX)
    d = apply(book, f).fills[0]
    assert (d["side"], d["strategy_id"], d["venue_id"], d["instrument_id"]) == (ord("2"), 42, 1, 1)
    assert d["exec_id"] == f.f["exec_id"] and d["cl_ord_id"] == cl
    assert d["exec_trans_type"] == ev.ExecTransType.NEW


def test_fills_under_a_replace_up_that_is_not_acked_yet_are_no_overfill():
    book, venue, cl = setup()
    r = book.submit(intent("G", orig=cl, qty=150_000_000))
    ack = venue.replace(int(r.send["cl_ord_id"]), cl, 150_000_000, PX)
    res = apply(book, venue.fill(cl, 130_000_000, PX))     # arrives before the replace ack
    assert not res.alarms and book.order(cl).status == S.PENDING_REPLACE
    res = apply(book, ack)
    assert res.update["ord_status"] == S.PARTIALLY_FILLED and res.update["leaves_qty_e2"] == 20_000_000


def test_overfill_beyond_the_accepted_quantity_after_a_rejected_replace_up_is_raised():
    book, venue, cl = setup()
    r = book.submit(intent("G", orig=cl, qty=150_000_000))
    apply(book, venue.cancel_reject(int(r.send["cl_ord_id"]), cl, to="2"))
    res = apply(book, venue.overfill(cl, 120_000_000, PX))
    assert res.alarms & Alarm.OVERFILL and (res.alarm_observed, res.alarm_limit) == (120_000_000, Q)


def test_overfill_is_raised_even_when_the_venue_states_a_larger_order_qty():
    book, venue, cl = setup()
    apply(book, venue.fill(cl, Q, PX))
    venue.order(cl).order_qty_e2 = 200_000_000          # the venue's report claims more
    res = apply(book, venue.overfill(cl, 10_000_000, PX))
    assert res.alarms & Alarm.OVERFILL and book.order(cl).order_qty_e2 == Q
