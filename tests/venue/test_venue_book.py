"""The matching book and the order lifecycle, as pure state machines (no sockets)."""
import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from fxpipe.fix.enums import ExecTransType, ExecType, OrdStatus, OrdType, TimeInForce
from fxpipe.venue import corrections
from fxpipe.venue.book import PairBook, build_ladder
from fxpipe.venue.orders import (
    CancelReject,
    CancelRequest,
    ExecReport,
    NewOrder,
    OrderManager,
    ReplaceRequest,
)
from fxpipe.venue.settlement import add_business_days, next_roll_ns, trade_date, value_date

M = 100_000_000  # 1,000,000 units in qty_e2
SIZES = (M, 2 * M, 3 * M)
T0 = 1_709_294_400_000_000_000  # 2024-03-01 12:00 UTC, a Friday


def market(bid=108_500_000, ask=108_502_000):
    book = PairBook(0)
    book.set_ladder(*build_ladder(bid, ask, 1_000, 1, SIZES))
    om = OrderManager("V", [book])
    return book, om


def new(om, cl, side="1", qty=M, ord_type=OrdType.LIMIT, price=None, tif=TimeInForce.DAY, session="S"):
    o = om.accept(NewOrder(session, cl, 0, side, ord_type, tif, qty, price), T0)
    assert not isinstance(o, ExecReport)
    om.ack(o, T0)
    return o, om.execute(o, T0)


def kinds(reports):
    return [(r.exec_type, r.ord_status, r.last_qty_e2, r.last_px_e8, r.leaves_qty_e2, r.cum_qty_e2) for r in reports]


def test_market_order_walks_the_levels_with_exact_avg_px():
    _, om = market()
    o, reps = new(om, "A", qty=4 * M, ord_type=OrdType.MARKET)
    assert kinds(reps) == [
        (ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED, M, 108_502_000, 3 * M, M),
        (ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED, 2 * M, 108_503_000, M, 3 * M),
        (ExecType.FILL, OrdStatus.FILLED, M, 108_504_000, 0, 4 * M),
    ]
    exact = Fraction(108_502_000 * M + 108_503_000 * 2 * M + 108_504_000 * M, 4 * M)
    assert reps[-1].avg_px_e8 == round(exact) == 108_503_000


def test_market_order_larger_than_the_book_is_cancelled_for_the_rest():
    _, om = market()
    o, reps = new(om, "A", qty=10 * M, ord_type=OrdType.MARKET)
    assert reps[-1].exec_type == ExecType.CANCELED and reps[-1].leaves_qty_e2 == 0
    assert reps[-1].cum_qty_e2 == 6 * M and "market order remainder" in reps[-1].text


def test_liquidity_taken_stays_taken_until_the_next_ladder():
    book, om = market()
    new(om, "A", qty=M, ord_type=OrdType.MARKET)
    _, reps = new(om, "B", qty=M, ord_type=OrdType.MARKET)
    assert reps[0].last_px_e8 == 108_503_000
    book.set_ladder(*build_ladder(108_500_000, 108_502_000, 1_000, 1, SIZES))
    _, reps = new(om, "C", qty=M, ord_type=OrdType.MARKET)
    assert reps[0].last_px_e8 == 108_502_000


def test_limit_partial_then_rests_and_fills_when_the_ladder_crosses_it():
    book, om = market()
    o, reps = new(om, "A", qty=2 * M, price=108_502_000)
    assert kinds(reps) == [(ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED, M, 108_502_000, M, M)]
    assert book.resting() == [o]
    fills = book.set_ladder(*build_ladder(108_499_000, 108_501_000, 1_000, 1, SIZES))
    reps = om.on_ladder(fills, T0)
    assert kinds(reps) == [(ExecType.FILL, OrdStatus.FILLED, M, 108_502_000, 0, 2 * M)]
    assert book.resting() == []


def test_resting_orders_fill_by_price_then_time():
    book, om = market()
    a, _ = new(om, "A", price=108_490_000)
    b, _ = new(om, "B", price=108_495_000)
    c, _ = new(om, "C", price=108_495_000)
    fills = book.set_ladder(*build_ladder(108_480_000, 108_490_000, 1_000, 1, (M, M)))
    assert [f[0] for f in fills] == [b, c]  # the better-priced buys take the 2M offered; a finds none left
    assert fills[0][2] == 108_495_000
    assert a.status == OrdStatus.NEW


def test_ioc_remainder_is_cancelled_with_its_own_report():
    _, om = market()
    o, reps = new(om, "A", qty=2 * M, price=108_502_000, tif=TimeInForce.IMMEDIATE_OR_CANCEL)
    assert kinds(reps) == [
        (ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED, M, 108_502_000, M, M),
        (ExecType.CANCELED, OrdStatus.CANCELED, 0, 0, 0, M),
    ]


def test_ioc_remainder_folded_into_the_last_fill_when_the_venue_does_that():
    book = PairBook(0)
    book.set_ladder(*build_ladder(108_500_000, 108_502_000, 1_000, 1, SIZES))
    om = OrderManager("V", [book], ioc_cancel_report=False)
    o, reps = new(om, "A", qty=2 * M, price=108_502_000, tif=TimeInForce.IMMEDIATE_OR_CANCEL)
    assert kinds(reps) == [(ExecType.PARTIAL_FILL, OrdStatus.CANCELED, M, 108_502_000, 0, M)]


def test_fok_fills_in_full_or_not_at_all():
    _, om = market()
    o, reps = new(om, "A", qty=4 * M, price=108_503_000, tif=TimeInForce.FILL_OR_KILL)
    assert kinds(reps) == [(ExecType.CANCELED, OrdStatus.CANCELED, 0, 0, 0, 0)] and "FOK" in reps[0].text
    o, reps = new(om, "B", qty=3 * M, price=108_503_000, tif=TimeInForce.FILL_OR_KILL)
    assert reps[-1].ord_status == OrdStatus.FILLED and reps[-1].cum_qty_e2 == 3 * M


def test_sell_side_matches_the_bids():
    _, om = market()
    o, reps = new(om, "A", side="2", qty=2 * M, price=108_499_000)
    assert [r.last_px_e8 for r in reps] == [108_500_000, 108_499_000]


def test_duplicate_clordid_is_rejected():
    _, om = market()
    new(om, "A", price=108_000_000)
    r = om.accept(NewOrder("S", "A", 0, "1", OrdType.LIMIT, TimeInForce.DAY, M, 108_000_000), T0)
    assert isinstance(r, ExecReport) and r.exec_type == ExecType.REJECTED and r.ord_rej_reason == 6


def test_cancel_and_its_rejects():
    book, om = market()
    o, _ = new(om, "A", price=108_000_000, tif=TimeInForce.GOOD_TILL_CANCEL)
    r = om.cancel(CancelRequest("S", "A2", "A", 0, "1"), T0)
    assert (r.exec_type, r.ord_status, r.cl_ord_id, r.orig_cl_ord_id) == (ExecType.CANCELED, OrdStatus.CANCELED, "A2", "A")
    assert book.resting() == []
    late = om.cancel(CancelRequest("S", "A3", "A", 0, "1"), T0)
    assert isinstance(late, CancelReject) and late.reason == 0 and "too late" in late.text
    unknown = om.cancel(CancelRequest("S", "X2", "X", 0, "1"), T0)
    assert isinstance(unknown, CancelReject) and unknown.reason == 1
    other = om.cancel(CancelRequest("OTHER", "A4", "A", 0, "1"), T0)
    assert isinstance(other, CancelReject) and other.reason == 1  # ClOrdIDs are per session


def test_replace_after_partial_fill_sets_leaves_to_new_qty_minus_cum_qty_never_overfills():
    book, om = market()
    o, _ = new(om, "A", qty=3 * M, price=108_502_000)  # 1M fills, 2M rest
    assert o.cum_qty_e2 == M
    reps = om.replace(ReplaceRequest("S", "A2", "A", 0, "1", OrdType.LIMIT, TimeInForce.DAY, 2 * M, 108_501_000), T0)
    r = reps[0]
    assert r.exec_type == ExecType.REPLACE and r.ord_status == OrdStatus.PARTIALLY_FILLED
    assert (r.order_qty_e2, r.cum_qty_e2, r.leaves_qty_e2) == (2 * M, M, M)
    # the venue can now fill at most 1M more: total never exceeds the new order qty
    fills = book.set_ladder(*build_ladder(108_490_000, 108_495_000, 1_000, 1, (10 * M,)))
    om.on_ladder(fills, T0)
    assert o.cum_qty_e2 == 2 * M and o.status == OrdStatus.FILLED


def test_replace_below_the_filled_quantity_fills_the_order_as_fix_appendix_d_says():
    book, om = market()
    o, _ = new(om, "A", qty=3 * M, price=108_502_000)
    (low,) = om.replace(ReplaceRequest("S", "A2", "A", 0, "1", OrdType.LIMIT, TimeInForce.DAY, M // 2, 108_502_000), T0)
    assert (low.exec_type, low.ord_status, low.order_qty_e2, low.cum_qty_e2, low.leaves_qty_e2) == (
        ExecType.REPLACE, OrdStatus.FILLED, M // 2, M, 0)
    assert book.resting() == []
    late = om.replace(ReplaceRequest("S", "A3", "A2", 0, "1", OrdType.LIMIT, TimeInForce.DAY, M, 108_502_000), T0)
    assert isinstance(late[0], CancelReject) and late[0].reason == 0  # done: too late


def test_replace_to_the_filled_quantity_fills_the_order():
    book, om = market()
    o, _ = new(om, "A", qty=3 * M, price=108_502_000)
    eq = om.replace(ReplaceRequest("S", "A3", "A", 0, "1", OrdType.LIMIT, TimeInForce.DAY, M, 108_502_000), T0)
    assert eq[0].ord_status == OrdStatus.FILLED and eq[0].leaves_qty_e2 == 0 and book.resting() == []


def test_replace_through_the_market_fills_at_once():
    _, om = market()
    o, _ = new(om, "A", qty=M, price=108_400_000)
    reps = om.replace(ReplaceRequest("S", "A2", "A", 0, "1", OrdType.LIMIT, TimeInForce.DAY, M, 108_502_000), T0)
    assert [r.exec_type for r in reps] == [ExecType.REPLACE, ExecType.FILL]


def test_status_request_known_and_unknown():
    _, om = market()
    new(om, "A", qty=2 * M, price=108_502_000)
    r = om.status("S", "A", 0, "1", T0)
    assert (r.exec_trans_type, r.exec_type, r.ord_status, r.cum_qty_e2) == (ExecTransType.STATUS, "1", "1", M)
    u = om.status("S", "NOPE", 0, "1", T0)
    assert u.ord_status == OrdStatus.REJECTED and u.ord_rej_reason == 5


def test_day_orders_expire_at_the_new_york_roll_gtc_do_not():
    book, om = market()
    day, _ = new(om, "A", price=108_000_000)
    gtc, _ = new(om, "B", price=108_000_000, tif=TimeInForce.GOOD_TILL_CANCEL)
    roll = next_roll_ns(T0)
    assert om.expire_day_orders(trade_date, roll - 1) == []
    reps = om.expire_day_orders(trade_date, roll)
    assert [(r.cl_ord_id, r.exec_type) for r in reps] == [("A", ExecType.EXPIRED)]
    assert book.resting() == [gtc]


def test_bust_and_correct_adjust_cum_qty_and_avg_px():
    book, om = market()
    o, reps = new(om, "A", qty=3 * M, price=108_503_000)
    first = reps[0]
    b = corrections.bust(om, o, first.exec_id, T0)
    assert (b.exec_trans_type, b.exec_ref_id, b.last_qty_e2) == (ExecTransType.CANCEL, first.exec_id, M)
    assert b.cum_qty_e2 == 2 * M and b.avg_px_e8 == 108_503_000
    assert b.ord_status == OrdStatus.PARTIALLY_FILLED and b.leaves_qty_e2 == M and book.resting() == [o]
    second = reps[1]
    c = corrections.correct(om, o, second.exec_id, 2 * M, 108_500_000, T0)
    assert (c.exec_trans_type, c.exec_ref_id, c.last_px_e8) == (ExecTransType.CORRECT, second.exec_id, 108_500_000)
    assert c.avg_px_e8 == 108_500_000 and c.cum_qty_e2 == 2 * M


def test_overfill_leaves_cum_above_order_qty():
    _, om = market()
    o, reps = new(om, "A", qty=M, ord_type=OrdType.MARKET)
    r = corrections.overfill(om, o, M // 10, 108_502_000, T0)
    assert r.cum_qty_e2 == M + M // 10 and r.ord_status == OrdStatus.FILLED and r.leaves_qty_e2 == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**9), st.integers(1, 10**11)), min_size=1, max_size=12))
def test_avg_px_is_the_exact_mean_rounded_half_even(fills):
    book, om = market()
    total = sum(q for _, q in fills)
    o = om.accept(NewOrder("S", "H", 0, "1", OrdType.LIMIT, TimeInForce.GOOD_TILL_CANCEL, total, 10**9), T0)
    for q, px in ((q, px) for px, q in fills):
        r = om.fill(o, q, px, T0)
    exact = Fraction(sum(px * q for px, q in fills), total)
    assert r.avg_px_e8 == round(exact)  # Python's round of a Fraction is half-even


def test_trade_dates_roll_at_five_pm_new_york_and_value_dates_skip_weekends():
    ny = dt.timezone(dt.timedelta(hours=-5))  # March 1 2024 is standard time in New York
    def ns(y, mo, d, h, mi):
        return int(dt.datetime(y, mo, d, h, mi, tzinfo=ny).timestamp()) * 10**9
    assert trade_date(ns(2024, 2, 29, 16, 59)) == dt.date(2024, 2, 29)
    assert trade_date(ns(2024, 2, 29, 17, 0)) == dt.date(2024, 3, 1)
    assert trade_date(ns(2024, 3, 1, 17, 30)) == dt.date(2024, 3, 4)  # Friday evening -> Monday
    assert value_date(ns(2024, 2, 28, 10, 0), 2) == dt.date(2024, 3, 1)
    assert value_date(ns(2024, 2, 29, 10, 0), 2) == dt.date(2024, 3, 4)
    assert value_date(ns(2024, 2, 29, 10, 0), 1) == dt.date(2024, 3, 1)  # USD/CAD
    assert add_business_days(dt.date(2024, 3, 1), 1) == dt.date(2024, 3, 4)
    # across the March DST change the roll stays at 17:00 local
    edt = dt.timezone(dt.timedelta(hours=-4))
    assert next_roll_ns(ns(2024, 3, 9, 18, 0)) == int(dt.datetime(2024, 3, 10, 17, 0, tzinfo=edt).timestamp()) * 10**9


def test_ladder_sides_stay_positive_and_empty_without_a_quote():
    bids, asks = build_ladder(2_000, 3_000, 1_000, 1, SIZES)
    assert [px for px, _ in bids] == [2_000, 1_000]
    assert build_ladder(0, 0, 1_000, 1, SIZES) == ([], [])
