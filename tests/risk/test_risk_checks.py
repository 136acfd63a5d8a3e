"""Every pre-trade check on both sides of its limit: the order at the limit passes, one unit
beyond is rejected with a RiskEvent naming the check, the limit, the value and the intent."""
from __future__ import annotations

import pytest
from risk_harness import BUY, MS, SELL, T0, engines, fill, intent, mark, update

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_money, parse_price, parse_qty

L = ev.RiskLimit


def reject_of(risk, it):
    r = risk.check(it)
    return None if r is None else (ev.RiskCheck(int(r["check"])), r)


def test_max_order_qty_both_sides():
    pe, risk = engines()
    risk.set(L.MAX_ORDER_QTY, parse_qty("1000000"), strategy_id=1)
    assert risk.check(intent(BUY, "1000000")) is None
    check, r = reject_of(risk, it := intent(SELL, "1000000.01"))
    assert check == ev.RiskCheck.MAX_ORDER_QTY
    assert int(r["observed"]) == parse_qty("1000000.01") and int(r["limit"]) == parse_qty("1000000")
    assert int(r["value_scale"]) == 2 and int(r["limit_id"]) == L.MAX_ORDER_QTY
    assert int(r["cl_ord_id"]) == int(it["cl_ord_id"]) and int(r["side"]) == SELL
    assert int(r["order_qty_e2"]) == parse_qty("1000000.01") and int(r["action"]) == ev.RiskAction.REJECT_ORDER
    assert int(r["cause_seq"]) == int(it["sequence"]) and int(r["strategy_id"]) == 1


def test_the_stricter_of_strategy_and_global_per_order_limit_applies():
    pe, risk = engines()
    risk.set(L.MAX_ORDER_QTY, parse_qty("500000"))
    risk.set(L.MAX_ORDER_QTY, parse_qty("1000000"), strategy_id=1)
    assert reject_of(risk, intent(BUY, "500000.01"))[0] == ev.RiskCheck.MAX_ORDER_QTY
    assert risk.check(intent(BUY, "500000")) is None


def test_max_order_notional_in_the_reporting_currency_both_sides():
    pe, risk = engines()
    risk.set(L.MAX_ORDER_NOTIONAL, parse_money("1000000"))
    mark(pe, risk, "USD/JPY", "150.000")
    mark(pe, risk, "EUR/USD", "1.25000")
    assert risk.check(intent(BUY, "800000", "1.25")) is None               # 1,000,000.00 USD
    assert reject_of(risk, intent(BUY, "800000.01", "1.25"))[0] == ev.RiskCheck.MAX_ORDER_NOTIONAL
    # USD/JPY: 1,000,000 USD is 150,000,000 JPY at 150, converted back through the mid
    assert risk.check(intent(SELL, "1000000", "150.000", symbol="USD/JPY")) is None
    check, r = reject_of(risk, intent(SELL, "1000000", "150.010", symbol="USD/JPY"))
    assert check == ev.RiskCheck.MAX_ORDER_NOTIONAL and int(r["observed"]) == parse_money("1000066.6667")


def test_notional_without_a_rate_is_rejected_not_guessed():
    pe, risk = engines()
    risk.set(L.MAX_ORDER_NOTIONAL, parse_money("1000000"))
    check, r = reject_of(risk, intent(BUY, "1000", "150.000", symbol="USD/JPY"))
    assert check == ev.RiskCheck.NO_MARK and int(r["limit_id"]) == L.MAX_ORDER_NOTIONAL


def test_position_limit_counts_open_orders_worst_case_per_side():
    pe, risk = engines()
    risk.set(L.MAX_POSITION, parse_qty("1000000"), strategy_id=1, instrument="EUR/USD")
    assert risk.check(intent(BUY, "600000", "1.1")) is None
    assert risk.check(intent(BUY, "400000", "1.1")) is None                 # worst case exactly 1,000,000
    check, r = reject_of(risk, intent(BUY, "0.01", "1.1"))
    assert check == ev.RiskCheck.POSITION_LIMIT and int(r["observed"]) == parse_qty("1000000.01")
    assert risk.check(intent(SELL, "1000000", "1.1")) is None               # the other side: -1,000,000
    assert reject_of(risk, intent(SELL, "0.01", "1.1"))[0] == ev.RiskCheck.POSITION_LIMIT
    assert risk.check(intent(BUY, "2000000", "1.1", symbol="GBP/USD")) is None   # another instrument


def test_position_limit_counts_fills_and_lets_a_reduction_through():
    pe, risk = engines()
    risk.set(L.MAX_POSITION, parse_qty("1000000"), strategy_id=1)          # any instrument
    pe.apply(fill("F1", BUY, "1500000", "1.1"))                            # already beyond (an overfill)
    assert reject_of(risk, intent(BUY, "1", "1.1"))[0] == ev.RiskCheck.POSITION_LIMIT
    assert risk.check(intent(SELL, "500000", "1.1")) is None               # reduces: passes
    assert risk.check(intent(SELL, "2000000", "1.1")) is None               # worst case -1,000,000
    assert reject_of(risk, intent(SELL, "0.01", "1.1"))[0] == ev.RiskCheck.POSITION_LIMIT


def test_global_position_limit_adds_up_every_strategy():
    pe, risk = engines()
    risk.set(L.MAX_POSITION, parse_qty("1000000"), instrument="EUR/USD")
    pe.apply(fill("F1", BUY, "700000", "1.1", strategy=1))
    assert risk.check(intent(BUY, "300000", "1.1", strategy=2)) is None
    check, r = reject_of(risk, intent(BUY, "0.01", "1.1", strategy=3))
    assert check == ev.RiskCheck.POSITION_LIMIT and int(r["strategy_id"]) == 3


def test_currency_exposure_limit_sees_crosses():
    pe, risk = engines()
    risk.set(L.MAX_CCY_EXPOSURE, parse_money("1000000"), strategy_id=1, ccy="EUR")
    pe.apply(fill("F1", BUY, "600000", "1.1"))
    assert risk.check(intent(BUY, "400000", "160.000", symbol="EUR/JPY")) is None
    check, r = reject_of(risk, intent(BUY, "0.01", "0.85", symbol="EUR/GBP"))
    assert check == ev.RiskCheck.CURRENCY_LIMIT and bytes(r["ccy"]) == b"EUR"
    assert int(r["observed"]) == parse_money("1000000.01") and int(r["limit"]) == parse_money("1000000")
    assert risk.check(intent(SELL, "1600000", "1.1")) is None               # open buys may not fill: -1,000,000
    assert reject_of(risk, intent(SELL, "0.01", "1.1"))[0] == ev.RiskCheck.CURRENCY_LIMIT


def test_currency_exposure_limit_on_the_quote_currency():
    pe, risk = engines()
    risk.set(L.MAX_CCY_EXPOSURE, parse_money("1100000"), strategy_id=1, ccy="USD")
    assert risk.check(intent(BUY, "1000000", "1.1")) is None                # -1,100,000 USD
    check, r = reject_of(risk, intent(BUY, "0.01", "1.1"))
    assert check == ev.RiskCheck.CURRENCY_LIMIT and bytes(r["ccy"]) == b"USD"


def test_gross_exposure_both_sides():
    pe, risk = engines()
    risk.set(L.MAX_GROSS_EXPOSURE, parse_money("2000000"), strategy_id=1)
    mark(pe, risk, "EUR/USD", "1.25")
    pe.apply(fill("F1", SELL, "800000", "1.25"))                           # |EUR| 800,000 = 1,000,000 USD
    assert risk.check(intent(BUY, "1000000", "1.0", symbol="USD/CHF")) is None   # + 1,000,000 USD
    check, r = reject_of(risk, intent(BUY, "0.01", "1.0", symbol="USD/CHF"))
    assert check == ev.RiskCheck.GROSS_EXPOSURE and int(r["observed"]) == parse_money("2000000.01")


def test_price_collar_in_bps_and_pips_both_sides():
    pe, risk = engines()
    mark(pe, risk, "EUR/USD", "1.00000")
    risk.set(L.PRICE_COLLAR_BPS, 50, strategy_id=1)                        # 0.0050
    assert risk.check(intent(BUY, "1000", "1.00500")) is None
    assert risk.check(intent(SELL, "1000", "0.99500")) is None
    check, r = reject_of(risk, intent(BUY, "1000", "1.00501"))
    assert check == ev.RiskCheck.PRICE_COLLAR and int(r["observed"]) == parse_price("0.00501")
    assert int(r["limit"]) == parse_price("0.005") and int(r["value_scale"]) == 8
    risk.set(L.PRICE_COLLAR_BPS, None, strategy_id=1)
    risk.set(L.PRICE_COLLAR_PIPS, 20, strategy_id=1)                       # 0.0020
    assert risk.check(intent(SELL, "1000", "0.99800")) is None
    assert reject_of(risk, intent(SELL, "1000", "0.99799"))[0] == ev.RiskCheck.PRICE_COLLAR
    assert risk.check(intent(SELL, "1000")) is None                          # a market order has no price to collar


def test_stale_quote_guard_on_event_time_both_sides():
    pe, risk = engines()
    risk.set(L.STALE_QUOTE_MS, 500)
    check, r = reject_of(risk, intent(BUY, "1000", "1.1"))                  # no mark at all
    assert check == ev.RiskCheck.STALE_QUOTE
    mark(pe, risk, "EUR/USD", "1.1", ts=T0)
    assert risk.check(intent(BUY, "1000", "1.1", ts=T0 + 500 * MS)) is None
    check, r = reject_of(risk, intent(BUY, "1000", "1.1", ts=T0 + 500 * MS + 1))
    assert check == ev.RiskCheck.STALE_QUOTE and int(r["observed"]) == 500 * MS + 1
    mark(pe, risk, "EUR/USD", "1.1", ts=T0 + 600 * MS)                       # same mid, fresh quote
    assert risk.check(intent(BUY, "1000", "1.1", ts=T0 + 600 * MS)) is None


def test_order_rate_token_bucket_per_strategy_on_event_time():
    pe, risk = engines()
    risk.set(L.ORDER_RATE, 2, strategy_id=1)
    risk.set(L.ORDER_BURST, 2, strategy_id=1)
    assert risk.check(intent(BUY, "1000", "1.1", ts=T0)) is None
    assert risk.check(intent(BUY, "1000", "1.1", ts=T0)) is None
    assert reject_of(risk, intent(BUY, "1000", "1.1", ts=T0))[0] == ev.RiskCheck.ORDER_RATE
    assert risk.check(intent(BUY, "1000", "1.1", ts=T0, strategy=2)) is None   # another strategy's own bucket
    assert reject_of(risk, intent(BUY, "1000", "1.1", ts=T0 + 500 * MS - 1))[0] == ev.RiskCheck.ORDER_RATE
    assert risk.check(intent(BUY, "1000", "1.1", ts=T0 + 500 * MS)) is None   # one token back after 0.5 s


def test_order_rate_per_venue_and_for_the_desk():
    pe, risk = engines()
    risk.set(L.VENUE_ORDER_RATE, 1, venue="ECN1")
    assert risk.check(intent(BUY, "1000", "1.1", strategy=1)) is None
    check, r = reject_of(risk, intent(BUY, "1000", "1.1", strategy=2))
    assert check == ev.RiskCheck.ORDER_RATE and int(r["limit_id"]) == L.VENUE_ORDER_RATE
    assert risk.check(intent(BUY, "1000", "1.1", strategy=2, venue=2)) is None
    risk.set(L.ORDER_RATE, 1)                                              # the whole desk: 1 per second
    assert risk.check(intent(BUY, "1000", "1.1", strategy=3, venue=3)) is None
    check, r = reject_of(risk, intent(BUY, "1000", "1.1", strategy=4, venue=3))
    assert check == ev.RiskCheck.ORDER_RATE and int(r["limit_id"]) == L.ORDER_RATE


def test_a_rejected_order_takes_no_token():
    pe, risk = engines()
    risk.set(L.ORDER_RATE, 1, strategy_id=1)
    risk.set(L.MAX_ORDER_QTY, parse_qty("1000"), strategy_id=1)
    assert reject_of(risk, intent(BUY, "2000", "1.1"))[0] == ev.RiskCheck.MAX_ORDER_QTY
    assert risk.check(intent(BUY, "1000", "1.1")) is None


def test_max_open_orders_both_sides_and_a_done_order_frees_its_place():
    pe, risk = engines()
    risk.set(L.MAX_OPEN_ORDERS, 2, strategy_id=1)
    assert risk.check(a := intent(BUY, "1000", "1.1")) is None
    assert risk.check(intent(BUY, "1000", "1.1")) is None
    check, r = reject_of(risk, intent(BUY, "1000", "1.1"))
    assert check == ev.RiskCheck.MAX_OPEN_ORDERS and int(r["observed"]) == 3 and int(r["limit"]) == 2
    risk.apply(update(int(a["cl_ord_id"]), ev.OrdStatus.CANCELED, "1000", exec_type=ev.ExecType.CANCELED))
    assert risk.check(intent(BUY, "1000", "1.1")) is None


def test_partial_fills_shrink_the_open_quantity_counted():
    pe, risk = engines()
    risk.set(L.MAX_POSITION, parse_qty("1000000"), strategy_id=1)
    assert risk.check(a := intent(BUY, "1000000", "1.1")) is None
    assert reject_of(risk, intent(BUY, "1", "1.1"))[0] == ev.RiskCheck.POSITION_LIMIT
    pe.apply(fill("F1", BUY, "400000", "1.1"))
    risk.apply(update(int(a["cl_ord_id"]), ev.OrdStatus.PARTIALLY_FILLED, "1000000", "400000", "600000",
                      exec_type=ev.ExecType.PARTIAL_FILL))
    assert reject_of(risk, intent(BUY, "1", "1.1"))[0] == ev.RiskCheck.POSITION_LIMIT   # 400k + 600k open
    risk.apply(update(int(a["cl_ord_id"]), ev.OrdStatus.CANCELED, "1000000", "400000", "0",
                      exec_type=ev.ExecType.CANCELED))
    assert risk.check(intent(BUY, "600000", "1.1")) is None


def test_a_replace_counts_both_until_the_venue_confirms_it():
    pe, risk = engines()
    risk.set(L.MAX_POSITION, parse_qty("1000000"), strategy_id=1)
    assert risk.check(intent(BUY, "500000", "1.1", cl_ord_id=1)) is None
    assert risk.check(intent(BUY, "500000", "1.1", cl_ord_id=2, orig=1, action=ev.IntentAction.REPLACE)) is None
    assert reject_of(risk, intent(BUY, "1", "1.1"))[0] == ev.RiskCheck.POSITION_LIMIT
    risk.apply(update(2, ev.OrdStatus.NEW, "500000", "0", "500000", orig=1, exec_type=ev.ExecType.REPLACE))
    assert risk.open_orders() == {2: (1, BUY, parse_qty("500000"), parse_price("1.1"), 1)}
    assert risk.check(intent(BUY, "500000", "1.1")) is None


@pytest.mark.parametrize("bad", [dict(qty_e2=0), dict(side=0), dict(instrument_id=99),
                                 dict(ord_type=ev.OrdType.LIMIT, price_e8=0)])
def test_a_malformed_intent_is_rejected(bad):
    pe, risk = engines()
    it = intent(BUY, "1000", "1.1")
    for k, v in bad.items():
        it[k] = v
    assert reject_of(risk, it)[0] == ev.RiskCheck.BAD_INTENT


def test_desk_limits_apply_to_orders_without_a_strategy():
    pe, risk = engines()
    risk.set(L.MAX_POSITION, parse_qty("1000000"), instrument="EUR/USD")
    risk.set(L.MAX_CCY_EXPOSURE, parse_money("1500000"), ccy="EUR")
    assert risk.check(intent(BUY, "1000000", "1.1", strategy=0)) is None
    assert reject_of(risk, intent(BUY, "0.01", "1.1", strategy=0))[0] == ev.RiskCheck.POSITION_LIMIT
    assert risk.check(intent(BUY, "500000", "160", symbol="EUR/JPY", strategy=0)) is None
    assert reject_of(risk, intent(BUY, "0.01", "160", symbol="EUR/JPY", strategy=0))[0] == ev.RiskCheck.CURRENCY_LIMIT


def test_a_strategy_without_fills_is_checked_on_its_own_position_not_the_desks():
    pe, risk = engines()
    pe.apply(fill("F1", BUY, "1000000", "1.1", strategy=1))      # the desk is long 1,000,000 EUR
    mark(pe, risk, "EUR/USD", "1.1")
    for sid in (2, 3, 4):
        risk.set(L.MAX_POSITION, parse_qty("1000000"), strategy_id=sid)
    risk.set(L.MAX_CCY_EXPOSURE, parse_money("1000000"), strategy_id=3, ccy="EUR")
    risk.set(L.MAX_GROSS_EXPOSURE, parse_money("1000000"), strategy_id=4)
    # strategy 2, 3 and 4 have never traded: their worst case is the order alone
    assert risk.check(intent(BUY, "600000", "1.1", strategy=2)) is None
    assert risk.check(intent(BUY, "600000", "1.1", strategy=3)) is None
    assert risk.check(intent(BUY, "600000", "1.1", strategy=4)) is None
    check, r = reject_of(risk, intent(BUY, "400000.01", "1.1", strategy=2))
    assert check == ev.RiskCheck.POSITION_LIMIT and int(r["observed"]) == parse_qty("1000000.01")
