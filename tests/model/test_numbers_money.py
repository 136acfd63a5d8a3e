"""128-bit money arithmetic with explicit rounding (fxpipe.model.numbers), against Fraction."""
import math
from fractions import Fraction

import pytest
from fxpipe.model.numbers import Rounding
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fxpipe.model import numbers as n

# no per-example deadline: a loaded 2-core box must not turn slowness into failures
RELAXED = settings(deadline=None)

INT64_MAX = 2**63 - 1
i64 = st.integers(min_value=-INT64_MAX, max_value=INT64_MAX)
modes = st.sampled_from(list(Rounding))
# realistic magnitudes as well as the edges, so both paths get exercised
prices = st.one_of(st.integers(min_value=1, max_value=500 * 10**8), i64)
qtys = st.one_of(st.integers(min_value=-(10**12), max_value=10**12), i64)


def reference_round(x: Fraction, mode: Rounding):
    """x rounded to an integer by mode; None for EXACT when x is not an integer."""
    floor = math.floor(x)
    rest = x - floor
    if rest == 0:
        return floor
    if mode is Rounding.EXACT:
        return None
    if mode is Rounding.FLOOR:
        return floor
    if mode is Rounding.CEILING:
        return floor + 1
    if mode is Rounding.DOWN:
        return floor if x > 0 else floor + 1
    if rest != Fraction(1, 2):
        return floor if rest < Fraction(1, 2) else floor + 1
    if mode is Rounding.HALF_UP:
        return floor + 1 if x > 0 else floor
    return floor if floor % 2 == 0 else floor + 1  # HALF_EVEN


def check(fn, exact: Fraction, mode: Rounding):
    """fn() must equal exact rounded by mode, or raise the error the reference predicts."""
    expected = reference_round(exact, mode)
    if expected is None:
        with pytest.raises(ValueError, match="not exact"):
            fn()
    elif abs(expected) > INT64_MAX:
        with pytest.raises(OverflowError, match="does not fit in int64"):
            fn()
    else:
        assert fn() == expected


@RELAXED
@given(prices, qtys, modes)
@example(108505000, 100000050, Rounding.HALF_EVEN)
@example(INT64_MAX, INT64_MAX, Rounding.HALF_EVEN)
@example(-INT64_MAX, INT64_MAX, Rounding.FLOOR)
def test_notional(px, qty, mode):
    assert n.exact_notional_e10(px, qty) == px * qty  # the 128-bit intermediate, bit for bit
    check(lambda: n.notional(px, qty, mode), Fraction(px * qty, 10**6), mode)


@RELAXED
@given(qtys, prices, prices, modes)
@example(INT64_MAX, -INT64_MAX, INT64_MAX, Rounding.HALF_EVEN)  # the largest 128-bit product
@example(-INT64_MAX, INT64_MAX, -INT64_MAX, Rounding.CEILING)
def test_pnl(qty, open_px, close_px, mode):
    check(lambda: n.pnl(qty, open_px, close_px, mode), Fraction((close_px - open_px) * qty, 10**6), mode)


@RELAXED
@given(i64, prices, modes)
def test_convert(money, rate, mode):
    check(lambda: n.convert(money, rate, mode), Fraction(money * rate, 10**8), mode)


@RELAXED
@given(prices, qtys, prices, qtys, modes)
def test_average_price(avg, qty, px, add, mode):
    if (qty > 0 > add) or (qty < 0 < add):
        with pytest.raises(ValueError, match="opposite signs"):
            n.average_price(avg, qty, px, add, mode)
    elif qty + add == 0:
        with pytest.raises(ZeroDivisionError):
            n.average_price(avg, qty, px, add, mode)
    else:
        check(lambda: n.average_price(avg, qty, px, add, mode), Fraction(avg * qty + px * add, qty + add), mode)


@RELAXED
@given(i64, i64, i64, modes)
def test_muldiv(a, b, d, mode):
    if d == 0:
        with pytest.raises(ZeroDivisionError):
            n.muldiv(a, b, d, mode)
    else:
        check(lambda: n.muldiv(a, b, d, mode), Fraction(a * b, d), mode)


wide = st.integers(min_value=-(2**127) + 1, max_value=2**127 - 1)


@RELAXED
@given(wide, st.one_of(i64, wide), modes)
@example(2**127 - 1, -1, Rounding.HALF_EVEN)
@example(-(2**126), 2**63, Rounding.HALF_EVEN)
@example(-5, 2, Rounding.HALF_EVEN)
@example(-5, -2, Rounding.HALF_UP)
def test_divide_128_bit_numerators(num, den, mode):
    if den == 0:
        with pytest.raises(ZeroDivisionError):
            n.divide(num, den, mode)
    else:
        check(lambda: n.divide(num, den, mode), Fraction(num, den), mode)


@RELAXED
@given(i64, st.integers(0, 18), st.integers(0, 18), modes)
def test_change_scale(v, frm, to, mode):
    check(lambda: n.change_scale(v, frm, to, mode), Fraction(v * 10**to, 10**frm), mode)


@RELAXED
@given(i64, st.integers(min_value=1, max_value=INT64_MAX), modes)
def test_round_to_multiple(v, inc, mode):
    steps = reference_round(Fraction(v, inc), mode)
    if steps is None:
        with pytest.raises(ValueError, match="not exact"):
            n.round_to_multiple(v, inc, mode)
    elif abs(steps * inc) > INT64_MAX:
        with pytest.raises(OverflowError):
            n.round_to_multiple(v, inc, mode)
    else:
        assert n.round_to_multiple(v, inc, mode) == steps * inc


@RELAXED
@given(i64, i64)
def test_checked_int64_ops_never_wrap(a, b):
    for fn, exact in ((n.int64_add, a + b), (n.int64_sub, a - b), (n.int64_mul, a * b)):
        if abs(exact) > INT64_MAX:
            with pytest.raises(OverflowError):
                fn(a, b)
        else:
            assert fn(a, b) == exact


def test_half_even_is_the_default_and_ties_go_to_even():
    assert n.notional(100000000, 50, Rounding.EXACT) == 5000  # 1.0 * 0.50 = 0.5000
    # 0.0001 * 0.50 = 0.00005: exactly half a money_e4 step, so a tie
    assert n.notional(10000, 50) == 0 and n.notional(30000, 50) == 2
    assert n.notional(10000, 50, Rounding.HALF_UP) == 1
    with pytest.raises(ValueError, match="not exact"):
        n.notional(10000, 50, Rounding.EXACT)
    assert n.muldiv(5, 1, 10) == 0 and n.muldiv(15, 1, 10) == 2 and n.muldiv(-25, 1, 10) == -2
    assert n.muldiv(-25, 1, 10, Rounding.HALF_UP) == -3
    assert n.muldiv(-25, 1, 10, Rounding.DOWN) == -2
    assert n.muldiv(-25, 1, 10, Rounding.FLOOR) == -3
    assert n.muldiv(-25, 1, 10, Rounding.CEILING) == -2


def test_fx_examples():
    # buy 1,000,000.50 EUR at 1.08505: 1,085,050.542525 USD, rounded half-even to 1e-4
    assert n.notional(n.parse_price("1.08505"), n.parse_qty("1000000.50")) == 10850505425
    # long 2m USD/JPY from 151.250 to 151.263: +26,000 JPY
    assert n.pnl(n.parse_qty("2000000"), n.parse_price("151.250"), n.parse_price("151.263")) == 260000000
    # short 1m EUR/USD from 1.08505 to 1.08600 loses 950 USD
    assert n.pnl(-n.parse_qty("1000000"), n.parse_price("1.08505"), n.parse_price("1.086")) == -9500000
    # 26,000 JPY to USD at 1/151.263 (USD per JPY, 0.00661100...)
    assert n.format_money(n.convert(260000000, n.parse_price("0.00661100"))) == "171.886"
    # passive tick rounding: a buy limit rounds down, a sell limit up
    tick = n.parse_price("0.00001")
    assert n.round_to_multiple(108505500, tick, Rounding.FLOOR) == 108505000
    assert n.round_to_multiple(108505500, tick, Rounding.CEILING) == 108506000
    # average price of 1m at 1.08500 plus 3m at 1.08510
    assert n.average_price(108500000, 100000000, 108510000, 300000000) == 108507500


def test_overflow_is_raised_never_wrapped():
    with pytest.raises(OverflowError, match="does not fit in int64"):
        n.notional(n.parse_price("150"), INT64_MAX)
    with pytest.raises(OverflowError):
        n.int64_add(INT64_MAX, 1)
    with pytest.raises(OverflowError):
        n.change_scale(10**18, 0, 8)
    with pytest.raises(OverflowError, match="does not fit in int64"):
        n.notional(2**63, 1)  # an argument out of range is refused too
    with pytest.raises(OverflowError, match="does not fit in 128 bits"):
        n.divide(2**127, 3)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown rounding 9"):
        n.notional(1, 1, 9)
    with pytest.raises(ValueError, match="increment must be > 0"):
        n.round_to_multiple(100, 0)
    with pytest.raises(TypeError, match="price_e8 must be an integer"):
        n.notional(1.08505, 100)
    with pytest.raises(TypeError, match="must be an integer"):
        n.notional(True, 100)
    with pytest.raises(ValueError, match="scale must be 0..18"):
        n.change_scale(1, 0, 19)
