"""Positions and PnL by example: flips, busts of a flipping fill, corrections, currency
exposure of direct pairs and crosses, conversion to the reporting currency along explicit
paths (and a missing mark as a visible state), value dates, refused fills, PnL events."""
from __future__ import annotations

import pytest

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_money, parse_price, parse_qty
from fxpipe.model.refdata import load_refdata
from fxpipe.positions import FillResult, PositionEngine, PositionError, check_fill

REFDATA = load_refdata()
BUY, SELL = ev.Side.BUY, ev.Side.SELL


def fill(exec_id, side, qty, px, symbol="EUR/USD", strategy=1, trans=ev.ExecTransType.NEW, ref="", **kw):
    return ev.make(ev.EventType.FILL, instrument_id=REFDATA.instrument(symbol).id, venue_id=kw.pop("venue_id", 1),
                   strategy_id=strategy, side=side, last_qty_e2=parse_qty(qty), last_px_e8=parse_price(px),
                   exec_id=exec_id, exec_ref_id=ref, exec_trans_type=trans, **kw)


def quote(symbol, bid, ask, ts=1):
    return ev.make(ev.EventType.QUOTE, instrument_id=REFDATA.instrument(symbol).id, venue_id=1,
                   bid_px_e8=parse_price(bid), ask_px_e8=parse_price(ask), bid_qty_e2=parse_qty("1000000"),
                   ask_qty_e2=parse_qty("1000000"), quote_cond=ev.QuoteCondition.FIRM, ts_receive_ns=ts)


@pytest.fixture
def pe():
    return PositionEngine(REFDATA)


def test_eur_usd_buy_is_long_eur_short_usd(pe):
    assert pe.apply(fill("E1", BUY, "1000000", "1.0850")) == FillResult.APPLIED
    assert pe.exposure(1) == {"EUR": parse_money("1000000"), "USD": parse_money("-1085000")}


def test_a_cross_moves_both_of_its_currencies_and_exposure_sums_over_pairs(pe):
    pe.apply(fill("E1", BUY, "1000000", "1.0850"))
    pe.apply(fill("E2", SELL, "500000", "162.50", symbol="EUR/JPY"))
    pe.apply(fill("E3", BUY, "200000", "150.00", symbol="USD/JPY"))
    assert pe.exposure(1) == {"EUR": parse_money("500000"), "JPY": parse_money("81250000") - parse_money("30000000"),
                              "USD": parse_money("-1085000") + parse_money("200000")}


def test_a_flip_realizes_exactly_the_closed_part_and_opens_the_rest_at_the_fill_price(pe):
    pe.apply(fill("E1", BUY, "1000000", "1.0800"))
    pe.apply(fill("E2", SELL, "1500000", "1.0900"))
    p = pe.position(1, "EUR/USD")
    assert p["net_qty_e2"] == -parse_qty("500000")
    assert p["realized_pnl_e4"] == parse_money("10000")     # 1,000,000 x 0.0100
    assert p["avg_px_e8"] == parse_price("1.09")


@pytest.mark.parametrize("accounting", ["average", "fifo"])
def test_bust_of_the_fill_that_flipped_leaves_the_book_as_if_it_never_happened(accounting):
    pe = PositionEngine(REFDATA, accounting)
    pe.apply(fill("E1", BUY, "1000000", "1.0800"))
    pe.apply(fill("E2", BUY, "500000", "1.0820"))
    pe.apply(fill("E3", SELL, "2000000", "1.0900"))        # flips to short 500,000
    pe.apply(fill("E4", BUY, "100000", "1.0880"))
    assert pe.apply(fill("B3", SELL, "2000000", "1.0900", trans=ev.ExecTransType.CANCEL, ref="E3")) == 0
    alone = PositionEngine(REFDATA, accounting)
    for e in (fill("E1", BUY, "1000000", "1.0800"), fill("E2", BUY, "500000", "1.0820"),
              fill("E4", BUY, "100000", "1.0880")):
        alone.apply(e)
    assert pe.position(1, "EUR/USD") == alone.position(1, "EUR/USD")
    assert pe.exposure(1) == alone.exposure(1)
    assert pe.fill_state(1, "E3") == "busted"
    # the same bust again, or under another ExecID, changes nothing
    before = pe.state_hash()
    assert pe.apply(fill("B3", SELL, "2000000", "1.0900", trans=ev.ExecTransType.CANCEL, ref="E3")) == 1
    assert pe.apply(fill("B3b", SELL, "2000000", "1.0900", trans=ev.ExecTransType.CANCEL, ref="E3")) == 1
    assert pe.state_hash() == before


def test_correction_replaces_quantity_and_price_in_the_original_place(pe):
    pe.apply(fill("E1", BUY, "1000000", "1.0800"))
    pe.apply(fill("E2", SELL, "400000", "1.0900"))
    pe.apply(fill("C1", BUY, "800000", "1.0810", trans=ev.ExecTransType.CORRECT, ref="E1"))
    p = pe.position(1, "EUR/USD")
    assert p["net_qty_e2"] == parse_qty("400000")
    assert p["realized_pnl_e4"] == parse_money("3600")      # 400,000 x (1.0900 - 1.0810)
    assert pe.fill_state(1, "E1") == "superseded" and pe.fill_state(1, "C1") == "live"
    # the venue busts the corrected trade by its new ExecID; naming the old one is refused
    with pytest.raises(PositionError, match="replaced by a correction"):
        check_fill(pe.apply(f := fill("B1", BUY, "800000", "1.0810", trans=ev.ExecTransType.CANCEL, ref="E1")), f)
    assert pe.apply(fill("B1", BUY, "800000", "1.0810", trans=ev.ExecTransType.CANCEL, ref="C1")) == 0
    assert pe.position(1, "EUR/USD")["net_qty_e2"] == -parse_qty("400000")


@pytest.mark.parametrize("bad, code", [
    (dict(instrument_id=99), FillResult.ERR_INSTRUMENT),
    (dict(last_qty_e2=0), FillResult.ERR_QTY),
    (dict(last_px_e8=-5), FillResult.ERR_PRICE),
    (dict(exec_id=""), FillResult.ERR_EXEC_ID),
    (dict(exec_trans_type=ev.ExecTransType.STATUS), FillResult.ERR_TRANS_TYPE),
    (dict(exec_trans_type=ev.ExecTransType.CANCEL, exec_ref_id="NOPE"), FillResult.ERR_UNKNOWN_REF),
    (dict(commission_e4=100), FillResult.ERR_COMMISSION),
])
def test_a_bad_fill_is_refused_with_a_clear_error_and_changes_nothing(pe, bad, code):
    pe.apply(fill("E0", BUY, "1000", "1.08"))
    before = pe.state_hash()
    f = fill("E1", BUY, "1000000", "1.0850")
    for k, v in bad.items():
        f[k] = v.encode() if isinstance(v, str) else v
    rc = pe.apply(f)
    assert rc == code
    with pytest.raises(PositionError) as info:
        check_fill(rc, f)
    assert "refused" in str(info.value) and info.value.result == code
    assert pe.state_hash() == before


def test_a_bust_for_another_strategy_than_the_fill_is_refused(pe):
    pe.apply(fill("E1", BUY, "1000000", "1.0850"))
    assert pe.apply(fill("B1", BUY, "1000000", "1.0850", strategy=2, trans=ev.ExecTransType.CANCEL,
                         ref="E1")) == FillResult.ERR_MISMATCH


def test_exec_ids_are_per_venue(pe):
    assert pe.apply(fill("E1", BUY, "1000", "1.08")) == FillResult.APPLIED
    assert pe.apply(fill("E1", BUY, "1000", "1.08", venue_id=2)) == FillResult.APPLIED
    assert pe.apply(fill("E1", BUY, "1000", "1.08", venue_id=2)) == FillResult.DUPLICATE
    assert pe.net_qty(1, "EUR/USD") == parse_qty("2000")


def test_unrealized_pnl_follows_each_mark_and_a_missing_mark_is_visible(pe):
    pe.apply(fill("E1", BUY, "1000000", "1.0850"))
    assert pe.position(1, "EUR/USD")["unrealized_pnl_e4"] is None
    assert pe.position(1, "EUR/USD")["mark_status"] == ev.MarkStatus.MISSING
    assert pe.apply(quote("EUR/USD", "1.08600", "1.08610")) == 1
    assert pe.mid("EUR/USD") == parse_price("1.08605")
    assert pe.position(1, "EUR/USD")["unrealized_pnl_e4"] == parse_money("1050")
    assert pe.apply(quote("EUR/USD", "1.08600", "1.08610")) == 0   # same mid: nothing moved
    # a one-sided quote is no mid: the mark stands
    one_sided = quote("EUR/USD", "1.07", "1.08")
    one_sided["ask_qty_e2"] = 0
    assert pe.apply(one_sided) == 0 and pe.mid("EUR/USD") == parse_price("1.08605")


def test_mid_rounds_half_to_even_at_1e_8(pe):
    pe.apply(quote("EUR/USD", "1.00000001", "1.00000002"))
    assert pe.mid("EUR/USD") == parse_price("1.00000002")     # 1.000000015 -> even
    pe.apply(quote("EUR/USD", "1.00000002", "1.00000003"))
    assert pe.mid("EUR/USD") == parse_price("1.00000002")     # 1.000000025 -> even


def test_conversion_paths_are_fixed_from_reference_data():
    pe = PositionEngine(REFDATA)
    assert pe.conversion_path("USD") == []
    assert pe.conversion_path("EUR") == [("EUR/USD", "mul")]
    assert pe.conversion_path("JPY") == [("USD/JPY", "div")]
    assert pe.conversion_path("CHF") == [("USD/CHF", "div")]
    eur = PositionEngine(REFDATA, reporting_currency="EUR")
    assert eur.conversion_path("GBP") == [("EUR/GBP", "div")]
    assert eur.conversion_path("CHF") == [("USD/CHF", "div"), ("EUR/USD", "div")]   # through USD
    assert eur.conversion_path("JPY") == [("EUR/JPY", "div")]


def test_conversion_uses_the_current_mids_one_rounding_per_leg():
    pe = PositionEngine(REFDATA, reporting_currency="EUR")
    amount, status, rates = pe.to_reporting("CHF", parse_money("1000"))
    assert amount is None and status == ev.MarkStatus.MISSING      # no mark for USD/CHF yet: no silent zero
    pe.apply(quote("USD/CHF", "0.88000", "0.88002"))
    assert pe.to_reporting("CHF", parse_money("1000"))[1] == ev.MarkStatus.MISSING   # EUR/USD still missing
    pe.apply(quote("EUR/USD", "1.08500", "1.08500"))
    amount, status, rates = pe.to_reporting("CHF", parse_money("1000"))
    assert status == ev.MarkStatus.OK and rates == (parse_price("0.88001"), parse_price("1.085"))
    usd = round(parse_money("1000") * 10**8 / parse_price("0.88001"))          # 1000 CHF -> USD
    assert usd == 11363507
    assert amount == round(usd * 10**8 / parse_price("1.085")) == 10473278      # -> EUR


def test_totals_in_the_reporting_currency_leave_out_a_currency_without_a_mark_and_say_so():
    pe = PositionEngine(REFDATA)
    pe.apply(fill("E1", BUY, "1000000", "1.0850"))
    pe.apply(fill("E2", SELL, "1000000", "1.0860"))           # +1,000 USD realized
    pe.apply(fill("E3", BUY, "1000000", "150.00", symbol="USD/JPY"))
    pe.apply(fill("E4", SELL, "1000000", "150.10", symbol="USD/JPY"))   # +100,000 JPY realized
    events = pe.pnl_events(1, cause_seq=9)
    total = events[-1]
    assert [bytes(e["ccy"]) for e in events] == [b"JPY", b"USD", b"USD"]
    assert int(total["pnl_kind"]) == ev.PnlKind.TOTAL
    assert int(total["mark_status"]) == ev.MarkStatus.MISSING and bytes(total["missing_ccy"]) == b"JPY"
    assert int(total["missing_count"]) == 1 and int(total["realized_rpt_e4"]) == parse_money("1000")
    pe.apply(quote("USD/JPY", "150.000", "150.000"))
    jpy, usd, total = pe.pnl_events(1, cause_seq=10)
    assert int(jpy["realized_e4"]) == parse_money("100000")
    assert int(jpy["leg1_instrument_id"]) == REFDATA.instrument("USD/JPY").id
    assert int(jpy["leg1_op"]) == ev.ConvOp.DIV and int(jpy["leg1_rate_e8"]) == parse_price("150")
    assert int(jpy["realized_rpt_e4"]) == 6666667                  # 666.6666.. USD, half to even
    assert int(total["mark_status"]) == ev.MarkStatus.OK
    assert int(total["realized_rpt_e4"]) == parse_money("1000") + 6666667
    assert pe.total_pnl(1) == (parse_money("1000") + 6666667, ev.MarkStatus.OK)


def test_commissions_stay_in_their_own_currency_and_count_in_the_total():
    pe = PositionEngine(REFDATA)
    pe.apply(quote("EUR/USD", "1.10", "1.10"))
    pe.apply(fill("E1", BUY, "1000000", "1.10", commission_e4=parse_money("12.5"), commission_ccy="EUR"))
    pe.apply(fill("E2", SELL, "1000000", "1.10", commission_e4=parse_money("20"), commission_ccy="USD"))
    assert pe.commissions(1) == {"EUR": parse_money("12.5"), "USD": parse_money("20")}
    assert pe.position(1, "EUR/USD")["commissions_e4"] == {"EUR": parse_money("12.5"), "USD": parse_money("20")}
    assert pe.total_pnl(1) == (-(parse_money("13.75") + parse_money("20")), ev.MarkStatus.OK)
    assert int(pe.last_position_event(ev.PositionReason.FILL)["commission_e4"]) == parse_money("33.75")


def test_value_dates_ladder_rolls_up_to_the_currency_exposure(pe):
    pe.apply(fill("E1", BUY, "1000000", "1.0850", settl_date=20261204))
    pe.apply(fill("E2", SELL, "400000", "1.0860", settl_date=20261207))
    pe.apply(fill("E3", BUY, "100000", "1.3500", symbol="USD/CAD", settl_date=20261203))
    ladder = pe.value_dates_e10(1)
    assert ladder[("CAD", 20261203)] == -135000 * 10**10
    assert ladder[("USD", 20261203)] == 100000 * 10**10
    assert ladder[("EUR", 20261204)] == 1000000 * 10**10 and ladder[("EUR", 20261207)] == -400000 * 10**10
    for ccy, amount in pe.exposure_exact(1).items():
        assert amount == sum(v for (c, _), v in ladder.items() if c == ccy)


def test_position_update_event_carries_the_book_and_its_conversion():
    pe = PositionEngine(REFDATA)
    pe.apply(quote("USD/JPY", "150.000", "150.010"))
    pe.apply(fill("E1", BUY, "1000000", "150.000", symbol="USD/JPY", sequence=41))
    rec = pe.last_position_event(ev.PositionReason.FILL, cause_seq=41)
    assert int(rec["net_qty_e2"]) == parse_qty("1000000") and int(rec["avg_px_e8"]) == parse_price("150")
    assert int(rec["unrealized_pnl_e4"]) == parse_money("5000")     # JPY
    assert int(rec["rpt_leg1_op"]) == ev.ConvOp.DIV and int(rec["rpt_rate_e8"]) == parse_price("150.005")
    assert int(rec["unrealized_pnl_rpt_e4"]) == round(parse_money("5000") * 10**8 / parse_price("150.005"))
    assert int(rec["cause_seq"]) == 41 and int(rec["fill_count"]) == 1
    assert bytes(rec["rpt_ccy"]) == b"USD" and int(rec["mark_status"]) == ev.MarkStatus.OK
    from fxpipe.model.eventtext import problems
    assert problems(rec) == []


def test_too_many_strategies_is_a_clear_error_not_a_lost_fill():
    pe = PositionEngine(REFDATA, max_strategies=2)
    assert pe.apply(fill("E1", BUY, "1000", "1.08", strategy=1)) == 0
    assert pe.apply(fill("E2", BUY, "1000", "1.08", strategy=2)) == 0
    assert pe.apply(f := fill("E3", BUY, "1000", "1.08", strategy=3)) == FillResult.ERR_STRATEGIES
    with pytest.raises(PositionError, match="max_strategies"):
        check_fill(FillResult.ERR_STRATEGIES, f)


def test_many_fills_grow_the_tables_without_losing_any():
    pe = PositionEngine(REFDATA, "fifo")
    for i in range(5000):
        pe.apply(fill(f"E{i}", BUY if i % 3 else SELL, "1000", "1.08", settl_date=20261204 + i % 7))
    assert pe.net_qty(1, "EUR/USD") == parse_qty("1000") * (3333 - 1667)
    assert all(pe.apply(fill(f"E{i}", BUY, "1000", "1.08")) == FillResult.DUPLICATE for i in range(0, 5000, 97))
