"""The order lifecycle with FIX 4.2 meaning, through real ExecutionReports: new -> ack ->
partial -> filled, cancel and replace chains, ClOrdIDs, the order's own view on every update."""
import pytest
from oms_venue import ScriptedVenue, intent, with_raw

from fxpipe.model import events as ev
from fxpipe.oms import CL_ORD_ID_SPAN, Disposition, OrderBook, Refusal, RequestState, Verdict

S = ev.OrdStatus
PX = 108_500_000


def place(book, venue, **kw):
    r = book.submit(intent("D", **kw))
    assert r.verdict == Verdict.SEND, r.refusal
    venue.take(r.send)
    return int(r.send["cl_ord_id"])


def test_new_order_gets_a_cl_ord_id_of_this_oms_and_is_pending_new():
    book = OrderBook(7, request_timeout_ns=5_000_000)
    r = book.submit(intent("D", t=1_000))
    assert r.verdict == Verdict.SEND and r.refusal == Refusal.NONE
    assert r.send["cl_ord_id"] == 7 * CL_ORD_ID_SPAN + 1
    assert r.send["action"] == ev.IntentAction.NEW and r.send["orig_cl_ord_id"] == 0
    assert r.deadline_ns == 1_000 + 5_000_000
    u = r.update
    assert u["ord_status"] == S.PENDING_NEW and u["flags"] & ev.EventFlag.SYNTHETIC
    assert (u["order_qty_e2"], u["leaves_qty_e2"], u["cum_qty_e2"]) == (100_000_000, 100_000_000, 0)
    assert book.submit(intent("D")).send["cl_ord_id"] == 7 * CL_ORD_ID_SPAN + 2
    assert book.next_cl_ord_id == 7 * CL_ORD_ID_SPAN + 3


def test_ack_partial_fill_then_filled_with_exact_avg_px():
    book, venue = OrderBook(1), ScriptedVenue()
    cl = place(book, venue)
    res = book.apply_report(venue.ack(cl).update)
    assert res.disposition == Disposition.APPLIED and res.publish
    assert res.update["ord_status"] == S.NEW and res.update["exec_type"] == ev.ExecType.NEW
    assert res.update["order_id"] == f"LP-O{cl % CL_ORD_ID_SPAN}".encode()
    r1 = venue.fill(cl, 30_000_000, 108_500_001)
    res = book.apply_report(r1.update, r1.fill)
    assert res.update["ord_status"] == S.PARTIALLY_FILLED
    assert (res.update["cum_qty_e2"], res.update["leaves_qty_e2"]) == (30_000_000, 70_000_000)
    assert [int(f["last_qty_e2"]) for f in res.fills] == [30_000_000]
    r2 = venue.fill(cl, 70_000_000, 108_500_004)
    res = book.apply_report(r2.update, r2.fill)
    o = book.order(cl)
    assert o.status == S.FILLED and o.leaves_qty_e2 == 0 and o.cum_qty_e2 == 100_000_000
    # (30e6 * 108500001 + 70e6 * 108500004) / 100e6 = 108500003.1 -> half-even 108500003
    assert o.avg_px_e8 == 108_500_003 == res.update["avg_px_e8"]
    assert res.update["avg_px_e8"] == r2.u["avg_px_e8"]


def test_cancel_goes_to_pending_cancel_then_canceled_and_names_the_last_accepted_id():
    book, venue = OrderBook(1), ScriptedVenue()
    cl = place(book, venue)
    book.apply_report(venue.ack(cl).update)
    c = book.submit(intent("F", orig=cl))
    assert c.verdict == Verdict.SEND
    assert c.send["action"] == ev.IntentAction.CANCEL and c.send["orig_cl_ord_id"] == cl
    assert (c.send["side"], c.send["qty_e2"]) == (ord("1"), 100_000_000)
    assert c.update["ord_status"] == S.PENDING_CANCEL
    assert book.order(cl).status == S.PENDING_CANCEL
    cancel_cl = int(c.send["cl_ord_id"])
    res = book.apply_report(venue.cancel(cancel_cl, cl).update)
    assert res.update["ord_status"] == S.CANCELED and res.update["cl_ord_id"] == cancel_cl
    assert res.update["orig_cl_ord_id"] == cl        # the order's first ClOrdID: its stable key
    assert book.order(cancel_cl).status == S.CANCELED and book.order(cancel_cl).leaves_qty_e2 == 0
    assert book.request(cancel_cl).state == RequestState.ACCEPTED


def test_replace_chain_maps_every_cl_ord_id_to_the_order_and_closes_the_replaced_request():
    book, venue = OrderBook(1), ScriptedVenue()
    cl = place(book, venue)
    book.apply_report(venue.ack(cl).update)
    r = book.submit(intent("G", orig=cl, qty=150_000_000, px=PX + 10))
    assert r.verdict == Verdict.SEND and r.update["ord_status"] == S.PENDING_REPLACE
    assert (r.send["orig_cl_ord_id"], r.send["qty_e2"], r.send["price_e8"]) == (cl, 150_000_000, PX + 10)
    cl2 = int(r.send["cl_ord_id"])
    res = book.apply_report(venue.replace(cl2, cl, 150_000_000, PX + 10).update)
    assert res.update["ord_status"] == S.NEW and res.update["exec_type"] == ev.ExecType.REPLACE
    assert (res.update["order_qty_e2"], res.update["price_e8"]) == (150_000_000, PX + 10)
    r = book.submit(intent("G", orig=cl2, qty=120_000_000, px=PX + 10))
    cl3 = int(r.send["cl_ord_id"])
    assert r.send["orig_cl_ord_id"] == cl2
    book.apply_report(venue.replace(cl3, cl2, 120_000_000, PX + 10).update)
    o = book.order(cl)
    assert o.chain == (cl, cl2, cl3) and o.cl_ord_id == cl3 and o.order_qty_e2 == 120_000_000
    assert book.order(cl2) == book.order(cl3) == o
    assert [book.request(c).state for c in (cl, cl2, cl3)] == \
        [RequestState.REPLACED, RequestState.REPLACED, RequestState.ACCEPTED]
    # a fill reported under the oldest ClOrdID still reaches the order
    f = venue.fill(cl3, 20_000_000, PX)
    raw_u = bytearray(f.update)
    res = book.apply_report(f.update, f.fill)
    assert res.update["cum_qty_e2"] == 20_000_000 and bytes(raw_u) == f.update


def test_replace_ack_after_a_partial_fill_keeps_cum_qty_and_leaves_is_new_qty_minus_cum():
    """Replace racing a fill must never reopen filled quantity: leaves = new qty - cum."""
    book, venue = OrderBook(1), ScriptedVenue()
    cl = place(book, venue)
    book.apply_report(venue.ack(cl).update)
    r = book.submit(intent("G", orig=cl, qty=80_000_000, px=PX))
    cl2 = int(r.send["cl_ord_id"])
    f = venue.fill(cl, 50_000_000, PX)
    book.apply_report(f.update, f.fill)
    res = book.apply_report(venue.replace(cl2, cl, 80_000_000, PX).update)
    assert (res.update["cum_qty_e2"], res.update["leaves_qty_e2"]) == (50_000_000, 30_000_000)
    assert res.update["ord_status"] == S.PARTIALLY_FILLED


def test_explicit_cl_ord_id_is_taken_once_and_moves_the_counter():
    book = OrderBook(3)
    mine = 3 * CL_ORD_ID_SPAN + 500
    assert book.submit(intent("D", cl_ord_id=mine)).send["cl_ord_id"] == mine
    dup = book.submit(intent("D", cl_ord_id=mine))
    assert dup.verdict == Verdict.REFUSED and dup.refusal == Refusal.DUPLICATE_CL_ORD_ID
    assert book.submit(intent("D")).send["cl_ord_id"] == mine + 1


@pytest.mark.parametrize("prefix", [0, -1, 9_223_371])
def test_prefix_outside_its_range_is_refused_with_a_clear_error(prefix):
    with pytest.raises(ValueError, match="prefix"):
        OrderBook(prefix)


@pytest.mark.parametrize("kw", [dict(qty_e2=0), dict(qty_e2=-5), dict(price_e8=0), dict(side=51),
                                dict(time_in_force=50), dict(venue_id=0), dict(ord_type=49),
                                dict(ord_type=51), dict(action=0)])
def test_malformed_new_order_is_refused_and_nothing_is_allocated(kw):
    """A limit without a price, a market with one, an unknown side/type/TIF, no venue."""
    book = OrderBook(1)
    before = book.state_hash()
    r = book.submit(with_raw(intent("D"), **kw), now_ns=0)
    assert r.verdict == Verdict.REFUSED and r.refusal == Refusal.INVALID and r.send is None
    assert r.update["ord_status"] == S.REJECTED and r.update["flags"] & ev.EventFlag.SYNTHETIC
    assert r.update["reject_reason"] == Refusal.INVALID
    assert len(book) == 0 and book.state_hash() == before and book.next_cl_ord_id == CL_ORD_ID_SPAN + 1


def test_market_order_has_no_price_and_fills():
    book, venue = OrderBook(1), ScriptedVenue()
    cl = place(book, venue, ord_type="1", px=0, tif="3")
    f = venue.fill(cl, 100_000_000, PX)
    res = book.apply_report(f.update, f.fill)
    assert res.update["ord_status"] == S.FILLED and res.update["price_e8"] == 0
