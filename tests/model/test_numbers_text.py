"""Decimal text <-> scaled int64 (fxpipe.model.numbers), checked against fractions.Fraction."""
import re
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fxpipe.model import numbers as n

# no per-example deadline: a loaded 2-core box must not turn slowness into failures
RELAXED = settings(deadline=None)

INT64_MAX = 2**63 - 1
DECIMAL_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def reference_parse(text: str, scale: int):
    """The exact value of text at 10**-scale, or None where fxpipe must refuse it."""
    if not DECIMAL_RE.fullmatch(text):
        return None
    scaled = Fraction(text) * 10**scale
    if scaled.denominator != 1 or abs(scaled) > INT64_MAX:
        return None
    return int(scaled)


scales = st.integers(min_value=0, max_value=18)
values = st.integers(min_value=-INT64_MAX, max_value=INT64_MAX)


@RELAXED
@given(values, scales)
@example(INT64_MAX, 8)
@example(-INT64_MAX, 18)
@example(0, 0)
def test_format_then_parse_is_identity_and_exact(v, scale):
    text = n.format_decimal(v, scale)
    assert Fraction(text) == Fraction(v, 10**scale)
    assert n.parse_decimal(text, scale) == v
    # canonical: no trailing fractional zeros, no bare point, no "-0"
    assert not text.endswith(".") and text != "-0"
    if "." in text:
        assert not text.endswith("0")


@RELAXED
@given(values, scales, st.data())
def test_min_decimals_pads_without_changing_the_value(v, scale, data):
    min_dp = data.draw(st.integers(min_value=0, max_value=scale))
    text = n.format_decimal(v, scale, min_dp)
    assert Fraction(text) == Fraction(v, 10**scale)
    assert len(text.partition(".")[2]) >= min_dp


decimal_text = st.builds(
    lambda sign, whole, frac, zeros: f"{sign}{whole}{'.' if frac or zeros else ''}{frac}{'0' * zeros}",
    st.sampled_from(["", "-"]),
    st.text("0123456789", min_size=1, max_size=22),
    st.text("0123456789", max_size=22),
    st.integers(min_value=0, max_value=25),
)


@RELAXED
@given(decimal_text, scales)
@example("9223372036854775807", 0)
@example("9223372036854775808", 0)
@example("-9223372036854775808", 0)
@example("92233720368.54775807", 8)
@example("92233720368.54775808", 8)
@example("0000000000000000000000000001.5", 1)
@example("1.0000000000000000000000000000000", 0)
def test_well_formed_decimals_match_fraction(text, scale):
    expected = reference_parse(text, scale)
    if expected is None:
        with pytest.raises(n.DecimalTextError):
            n.parse_decimal(text, scale)
    else:
        assert n.parse_decimal(text, scale) == expected


@RELAXED
@given(st.text("0123456789.-+eEnaifINF x_,", max_size=12), scales)
def test_any_text_is_either_exact_or_refused(text, scale):
    expected = reference_parse(text, scale)
    if expected is None:
        with pytest.raises(n.DecimalTextError) as err:
            n.parse_decimal(text, scale)
        assert text == "" or repr(text) in str(err.value)
    else:
        assert n.parse_decimal(text, scale) == expected


@pytest.mark.parametrize("text, code, fragment", [
    ("", n.NumErrorCode.EMPTY, "is empty"),
    ("1e5", n.NumErrorCode.EXPONENT, "exponent notation"),
    ("1.5E-3", n.NumErrorCode.EXPONENT, "exponent notation"),
    ("nan", n.NumErrorCode.NOT_FINITE, "not a finite number"),
    ("NaN", n.NumErrorCode.NOT_FINITE, "not a finite number"),
    ("-inf", n.NumErrorCode.NOT_FINITE, "not a finite number"),
    ("Infinity", n.NumErrorCode.NOT_FINITE, "not a finite number"),
    ("+1.5", n.NumErrorCode.SIGN, "'+' is not accepted"),
    ("1.123456789", n.NumErrorCode.PRECISION, "more than 8 decimal places"),
    ("92233720368.54775808", n.NumErrorCode.RANGE, "out of range"),
    ("100000000000000000000000", n.NumErrorCode.RANGE, "out of range"),
    (" 1.5", n.NumErrorCode.SYNTAX, "unexpected ' ' at position 0"),
    ("1.5 ", n.NumErrorCode.SYNTAX, "unexpected ' ' at position 3"),
    ("1,000.5", n.NumErrorCode.SYNTAX, "unexpected ',' at position 1"),
    ("1_000", n.NumErrorCode.SYNTAX, "unexpected '_' at position 1"),
    ("1..5", n.NumErrorCode.SYNTAX, "unexpected '.' at position 2"),
    ("--1", n.NumErrorCode.SYNTAX, "unexpected '-' at position 1"),
    ("0x1F", n.NumErrorCode.SYNTAX, "unexpected 'x' at position 1"),
    ("nano", n.NumErrorCode.SYNTAX, "unexpected 'n'"),
    ("e5", n.NumErrorCode.SYNTAX, "unexpected 'e'"),
    (".", n.NumErrorCode.SYNTAX, "has no digits"),
    ("-", n.NumErrorCode.SYNTAX, "has no digits"),
    ("١٢", n.NumErrorCode.SYNTAX, "non-ASCII character"),
])
def test_bad_text_is_refused_with_a_clear_reason(text, code, fragment):
    with pytest.raises(ValueError) as err:
        n.parse_price(text)
    assert isinstance(err.value, n.DecimalTextError)
    assert err.value.code == code
    assert fragment in str(err.value)
    assert "price" in str(err.value)


def test_the_c_function_returns_the_same_codes():
    assert n.c_parse(b"1.08505", 8) == (0, 108505000)
    assert n.c_parse(b"", 8) == (n.NumErrorCode.EMPTY, None)
    assert n.c_parse(b"1e5", 8) == (n.NumErrorCode.EXPONENT, None)
    assert n.c_parse(b"1.123456789", 8) == (n.NumErrorCode.PRECISION, None)
    assert n.c_parse(b"1", 19) == (n.NumErrorCode.SCALE, None)
    assert n.c_parse(b"1", -1) == (n.NumErrorCode.SCALE, None)
    # the C parser reads exactly n bytes: no NUL terminator needed, none looked for
    assert n.c_parse(memoryview(b"1.5|garbage")[:3], 2) == (0, 150)


def test_signs_where_not_allowed():
    with pytest.raises(n.DecimalTextError, match="price '-1.08505' is negative"):
        n.parse_price("-1.08505")
    with pytest.raises(n.DecimalTextError, match="quantity '-0' is negative"):
        n.parse_qty("-0")
    assert n.parse_money("-12.5") == -125000
    assert n.parse_decimal("-0.00001", 8) == -1000


def test_domain_examples():
    assert n.parse_price("1.08505") == 108505000
    assert n.parse_price("151.253") == 15125300000  # USD/JPY: three decimals, no loss
    assert n.parse_qty("1000000.50") == 100000050
    assert n.parse_price(b"0.6612") == 66120000  # FIX fields arrive as bytes
    assert n.parse_price(".5") == 50000000 and n.parse_price("5.") == 500000000
    assert n.format_price(108505000) == "1.08505"
    assert n.format_price(15125000000, min_decimals=3) == "151.250"
    assert n.format_qty(100000000) == "1000000"
    assert n.format_money(-125000) == "-12.5"
    assert n.format_decimal(5, 3, 3) == "0.005"


def test_non_text_input_is_a_type_error_that_says_why():
    with pytest.raises(TypeError, match="write it as a string"):
        n.parse_price(1.08505)
    with pytest.raises(TypeError, match="must be an integer"):
        n.format_price(1.08505)
    with pytest.raises(OverflowError, match="does not fit in int64"):
        n.format_price(2**63)


def test_format_at_c_level_handles_int64_min_and_small_buffers():
    assert n.c_format(-(2**63), 8) == (21, "-92233720368.54775808")
    assert n.c_format(-1, 18) == (21, "-0.000000000000000001")
    assert n.c_format(108505000, 8, cap=7) == (7, "1.08505")
    assert n.c_format(108505000, 8, cap=6) == (n.NumErrorCode.BUFFER, None)
    assert n.c_format(1, 19) == (n.NumErrorCode.SCALE, None)
    assert n.c_format(1, 2, min_decimals=3) == (n.NumErrorCode.ARGUMENT, None)
    with pytest.raises(ValueError, match="min_decimals=3 must be 0..scale"):
        n.format_decimal(1, 2, 3)
