"""Risk limits from TOML: the example file loads and configures an engine; every mistake a user
can make is a clear error naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest
from risk_harness import REFDATA, engines

from fxpipe.model.events import RiskLimit
from fxpipe.model.numbers import parse_money, parse_qty
from fxpipe.risk import RiskConfigError, load_limits, parse_limits

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "risk.toml"


def test_the_example_limits_file_loads_into_an_engine():
    settings = load_limits(EXAMPLE, REFDATA)
    pe, risk = engines()
    for s in settings:
        s.apply(risk)
    assert risk.limit(RiskLimit.MAX_ORDER_QTY) == parse_qty("10000000")
    assert risk.limit(RiskLimit.MAX_ORDER_QTY, strategy_id=1) == parse_qty("2000000")
    assert risk.limit(RiskLimit.MAX_POSITION, instrument="EUR/USD") == parse_qty("50000000")
    assert risk.limit(RiskLimit.MAX_POSITION) == parse_qty("25000000")
    assert risk.limit(RiskLimit.MAX_CCY_EXPOSURE, ccy="JPY") == parse_money("8000000000")
    assert risk.limit(RiskLimit.VENUE_ORDER_RATE, venue="LP1") == 100
    assert risk.limit(RiskLimit.KILL_ON_OVERFILL) == 1


def test_decimals_are_exact_whatever_toml_form_they_take():
    s = parse_limits('[global]\nmax_order_qty = 1_000_000.25\nmax_loss = "0.0001"\n', REFDATA)
    assert {x.limit: x.value for x in s} == {RiskLimit.MAX_ORDER_QTY: parse_qty("1000000.25"),
                                              RiskLimit.MAX_LOSS: 1}


@pytest.mark.parametrize("text, where, what", [
    ("[global]\nmax_order_qtty = 5\n", "global.max_order_qtty", "unknown key"),
    ("[global]\nmax_order_qty = \"-5\"\n", "global.max_order_qty", "negative"),
    ("[global]\nmax_order_qty = \"0.001\"\n", "global.max_order_qty", "decimal places"),
    ("[global]\nmax_order_qty = 0\n", "global.max_order_qty", "greater than zero"),
    ("[global]\nprice_collar_bps = 2.5\n", "global.price_collar_bps", "whole number"),
    ("[global]\nkill_on_overfill = 1\n", "global.kill_on_overfill", "true or false"),
    ("[global.max_position]\n\"EUR/XYZ\" = \"5\"\n", "global.max_position.\"EUR/XYZ\"", "unknown instrument"),
    ("[global.max_currency_exposure]\nXAU = \"5\"\n", "global.max_currency_exposure.XAU", "not a currency"),
    ("[global]\nreject_storm_count = 5\n", "global", "go together"),
    ("[global]\nreject_storm_count = 500\nreject_storm_window_ms = 10\n", "global.reject_storm_count", "at most"),
    ("[global]\norder_burst = 5\n", "global.order_burst", "needs order_rate"),
    ("[strategies.abc]\nmax_order_qty = 5\n", "strategies.abc", "integer"),
    ("[strategies.3]\nkill_on_overfill = true\n", "strategies.3.kill_on_overfill", "global setting only"),
    ("[venues.NOPE]\norder_rate = 5\n", "venues.NOPE", "unknown venue"),
    ("[venues.ECN1]\nmax_loss = \"5\"\n", "venues.ECN1.max_loss", "unknown key"),
    ("[limits]\n", "limits", "unknown table"),
    ("[global\n", "not valid TOML", ""),
])
def test_every_mistake_is_a_clear_error_naming_the_key(text, where, what):
    with pytest.raises(RiskConfigError) as info:
        parse_limits(text, REFDATA, "risk.toml")
    assert where in str(info.value) and what in str(info.value) and "risk.toml" in str(info.value)


def test_a_missing_file_says_how_to_point_at_another(tmp_path):
    with pytest.raises(RiskConfigError, match="FXPIPE_RISK"):
        load_limits(tmp_path / "none.toml", REFDATA)
