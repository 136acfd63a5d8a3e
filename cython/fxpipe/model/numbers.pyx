"""Exact numbers for money: scaled int64 prices/quantities/amounts, decimal text in and out,
and 128-bit arithmetic with explicit rounding.

Prices are int64 scaled 1e8 (price_e8), quantities 1e2 (qty_e2), money 1e4 (money_e4, in one
currency). Text conversion is exact: input that the scale cannot hold (too many decimals, out
of range, exponent forms, NaN/inf, garbage) is refused, never rounded. Products such as
notional and PnL are computed in 128 bits and rounded once, by a mode the caller names; a
result that does not fit in int64 is an error (NUM_ERR_OVERFLOW in C, OverflowError in
Python), never a wrapped value. Every scaled value lives in [-(2**63-1), 2**63-1], so negating
one is always safe. The C functions are declared in numbers.pxd; the Python API below wraps
them one to one.
"""
from enum import IntEnum

from libc.stdint cimport INT64_MAX, int64_t, uint64_t

from fxpipe.includes.int128 cimport FX_INT128_MAX, FX_INT128_MIN, fx_int128

# 10**k for k in 0..18, every one exact in int64.
cdef int64_t[19] _POW10
cdef int _k
_POW10[0] = 1
for _k in range(1, 19):
    _POW10[_k] = _POW10[_k - 1] * 10


# ---------------------------------------------------------------- C level: text

cdef inline bint _word_is(const char* s, Py_ssize_t n, const char* word) noexcept nogil:
    """Case-insensitive: are the n bytes at s exactly `word` (ASCII, lower case)?"""
    cdef Py_ssize_t i = 0
    while i < n:
        if word[i] == 0 or (s[i] | 0x20) != word[i]:
            return False
        i += 1
    return word[n] == 0


cdef inline bint _parse_common(const char* s, Py_ssize_t n, int scale, int64_t* out) noexcept nogil:
    """The shape nearly every FIX price and quantity has: an optional '-', at most 18 digits,
    at most one '.', no more decimals than the scale. 18 digits cannot overflow uint64, so the
    loop needs no range checks; anything else (errors included) returns False and goes to the
    general parser below, which gives the same results with full checking."""
    cdef Py_ssize_t i = 0, dot = -1, digits = 0
    cdef uint64_t mag = 0, d
    cdef int frac
    if n <= 0 or scale < 0 or scale > MAX_SCALE:
        return False
    if s[0] == c'-':
        i = 1
    while i < n:
        d = <uint64_t>(<unsigned char>s[i]) - 48
        if d < 10:
            mag = mag * 10 + d
            digits += 1
        elif s[i] == c'.' and dot < 0:
            dot = i
        else:
            return False
        i += 1
    if digits == 0 or digits > 18:
        return False
    frac = 0 if dot < 0 else <int>(n - 1 - dot)
    if frac > scale or mag > <uint64_t>(INT64_MAX // _POW10[scale - frac]):
        return False
    mag *= <uint64_t>_POW10[scale - frac]
    out[0] = -<int64_t>mag if s[0] == c'-' else <int64_t>mag
    return True


cdef int parse_scaled(const char* s, Py_ssize_t n, int scale, int64_t* out) noexcept nogil:
    if s != NULL and _parse_common(s, n, scale, out):
        return NUM_OK
    cdef Py_ssize_t i = 0, digits = 0
    cdef bint neg = False, seen_dot = False, inexact = False, too_big = False
    cdef uint64_t mag = 0
    cdef uint64_t limit = (<uint64_t>0xFFFFFFFFFFFFFFFF) // 10
    cdef int kept = 0, d
    cdef char c
    if scale < 0 or scale > MAX_SCALE:
        return NUM_ERR_SCALE
    if s == NULL or n <= 0:
        return NUM_ERR_EMPTY
    if s[0] == c'-':
        neg = True
        i = 1
    elif s[0] == c'+':
        return NUM_ERR_SIGN
    if i < n and ((s[i] | 0x20) == c'n' or (s[i] | 0x20) == c'i'):
        if _word_is(s + i, n - i, b"nan") or _word_is(s + i, n - i, b"inf") \
                or _word_is(s + i, n - i, b"infinity"):
            return NUM_ERR_NOT_FINITE
        return NUM_ERR_SYNTAX
    while i < n:
        c = s[i]
        if c'0' <= c <= c'9':
            d = c - c'0'
            digits += 1
            if seen_dot and kept == scale:
                # beyond the scale only zeros are exact
                if d != 0:
                    inexact = True
            else:
                if seen_dot:
                    kept += 1
                if mag > limit or (mag == limit and d > 5):
                    too_big = True
                else:
                    mag = mag * 10 + d
        elif c == c'.' and not seen_dot:
            seen_dot = True
        elif (c == c'e' or c == c'E') and digits > 0:
            return NUM_ERR_EXPONENT
        else:
            return NUM_ERR_SYNTAX
        i += 1
    if digits == 0:
        return NUM_ERR_SYNTAX
    while kept < scale and not too_big:
        if mag > limit:
            too_big = True
        else:
            mag *= 10
        kept += 1
    if too_big or mag > <uint64_t>INT64_MAX:
        return NUM_ERR_RANGE
    if inexact:
        return NUM_ERR_PRECISION
    out[0] = -<int64_t>mag if neg else <int64_t>mag
    return NUM_OK


cdef Py_ssize_t format_scaled_dp(int64_t v, int scale, int min_decimals, char* out,
                                 Py_ssize_t cap) noexcept nogil:
    cdef char digs[24]
    cdef uint64_t mag
    cdef int nd = 0, width, int_len, frac_len, i
    cdef Py_ssize_t pos = 0
    if scale < 0 or scale > MAX_SCALE:
        return NUM_ERR_SCALE
    if min_decimals < 0 or min_decimals > scale:
        return NUM_ERR_ARGUMENT
    # magnitude without negating INT64_MIN in signed arithmetic
    mag = (<uint64_t>(-(v + 1))) + 1 if v < 0 else <uint64_t>v
    while True:  # digits, least significant first
        digs[nd] = <char>(c'0' + mag % 10)
        mag //= 10
        nd += 1
        if mag == 0:
            break
    width = nd if nd > scale else scale + 1  # at least one digit before the point
    while nd < width:
        digs[nd] = c'0'
        nd += 1
    int_len = width - scale
    frac_len = scale
    while frac_len > min_decimals and digs[scale - frac_len] == c'0':
        frac_len -= 1
    if (v < 0) + int_len + (frac_len + 1 if frac_len else 0) > cap:
        return NUM_ERR_BUFFER
    if v < 0:
        out[pos] = c'-'
        pos += 1
    for i in range(width - 1, scale - 1, -1):
        out[pos] = digs[i]
        pos += 1
    if frac_len:
        out[pos] = c'.'
        pos += 1
        for i in range(scale - 1, scale - 1 - frac_len, -1):
            out[pos] = digs[i]
            pos += 1
    return pos


cdef Py_ssize_t format_scaled(int64_t v, int scale, char* out, Py_ssize_t cap) noexcept nogil:
    return format_scaled_dp(v, scale, 0, out, cap)


# ---------------------------------------------------------------- C level: arithmetic

cdef inline int _to_int64(fx_int128 v, int64_t* out) noexcept nogil:
    if v > INT64_MAX or v < -<fx_int128>INT64_MAX:
        return NUM_ERR_OVERFLOW
    out[0] = <int64_t>v
    return NUM_OK


cdef int checked_add(int64_t a, int64_t b, int64_t* out) noexcept nogil:
    return _to_int64(<fx_int128>a + b, out)


cdef int checked_sub(int64_t a, int64_t b, int64_t* out) noexcept nogil:
    return _to_int64(<fx_int128>a - b, out)


cdef int checked_mul(int64_t a, int64_t b, int64_t* out) noexcept nogil:
    return _to_int64(<fx_int128>a * b, out)


cdef int div_round(fx_int128 num, fx_int128 den, int mode, int64_t* out) noexcept nogil:
    cdef fx_int128 q, r, ar
    cdef int sign
    if mode < ROUND_HALF_EVEN or mode > ROUND_EXACT:
        return NUM_ERR_ROUNDING
    if den == 0:
        return NUM_ERR_DIV_ZERO
    if num == FX_INT128_MIN or den == FX_INT128_MIN:
        return NUM_ERR_OVERFLOW
    if den < 0:
        num = -num
        den = -den
    q = num / den   # C division truncates toward zero; r takes the sign of num
    r = num % den
    if r != 0:
        sign = -1 if num < 0 else 1
        ar = -r if r < 0 else r
        if mode == ROUND_EXACT:
            return NUM_ERR_INEXACT
        elif mode == ROUND_FLOOR:
            if sign < 0:
                q -= 1
        elif mode == ROUND_CEILING:
            if sign > 0:
                q += 1
        elif mode == ROUND_HALF_UP:
            if ar >= den - ar:
                q += sign
        elif mode == ROUND_HALF_EVEN:
            if ar > den - ar or (ar == den - ar and (q & 1) != 0):
                q += sign
        # ROUND_DOWN keeps the truncated quotient
    return _to_int64(q, out)


cdef int mul_div(int64_t a, int64_t b, int64_t d, int mode, int64_t* out) noexcept nogil:
    return div_round(<fx_int128>a * b, d, mode, out)


cdef int rescale(int64_t v, int from_scale, int to_scale, int mode, int64_t* out) noexcept nogil:
    if from_scale < 0 or from_scale > MAX_SCALE or to_scale < 0 or to_scale > MAX_SCALE:
        return NUM_ERR_SCALE
    if to_scale >= from_scale:
        return checked_mul(v, _POW10[to_scale - from_scale], out)
    return div_round(v, _POW10[from_scale - to_scale], mode, out)


cdef fx_int128 notional_e10(int64_t price_e8, int64_t qty_e2) noexcept nogil:
    return <fx_int128>price_e8 * qty_e2


cdef int notional_money(int64_t price_e8, int64_t qty_e2, int mode, int64_t* out) noexcept nogil:
    # scale 1e-10 -> 1e-4
    return div_round(<fx_int128>price_e8 * qty_e2,
                     _POW10[PRICE_SCALE + QTY_SCALE - MONEY_SCALE], mode, out)


cdef int pnl_money(int64_t qty_e2, int64_t open_px_e8, int64_t close_px_e8, int mode,
                   int64_t* out) noexcept nogil:
    # |close - open| < 2**64 and |qty| < 2**63, so the product stays below 2**127
    cdef fx_int128 move = <fx_int128>close_px_e8 - open_px_e8
    return div_round(move * qty_e2, _POW10[PRICE_SCALE + QTY_SCALE - MONEY_SCALE], mode, out)


cdef int convert_money(int64_t money, int64_t rate_e8, int mode, int64_t* out) noexcept nogil:
    return div_round(<fx_int128>money * rate_e8, _POW10[PRICE_SCALE], mode, out)


cdef int avg_price(int64_t avg_px_e8, int64_t qty_e2, int64_t px_e8, int64_t add_qty_e2,
                   int mode, int64_t* out) noexcept nogil:
    if (qty_e2 > 0 and add_qty_e2 < 0) or (qty_e2 < 0 and add_qty_e2 > 0):
        return NUM_ERR_ARGUMENT
    # each product < 2**126, so the sum of two stays inside 128 bits
    return div_round(<fx_int128>avg_px_e8 * qty_e2 + <fx_int128>px_e8 * add_qty_e2,
                     <fx_int128>qty_e2 + add_qty_e2, mode, out)


cdef int round_to_increment(int64_t v, int64_t increment, int mode, int64_t* out) noexcept nogil:
    cdef int64_t steps
    cdef int rc
    if increment <= 0:
        return NUM_ERR_ARGUMENT
    rc = div_round(v, increment, mode, &steps)
    if rc != NUM_OK:
        return rc
    return checked_mul(steps, increment, out)


# ---------------------------------------------------------------- Python API

class Rounding(IntEnum):
    """Rounding modes of the C API (see numbers.pxd)."""
    HALF_EVEN = ROUND_HALF_EVEN
    HALF_UP = ROUND_HALF_UP
    DOWN = ROUND_DOWN
    FLOOR = ROUND_FLOOR
    CEILING = ROUND_CEILING
    EXACT = ROUND_EXACT


class NumErrorCode(IntEnum):
    """Error codes of the C API, for callers that map them (e.g. to a FIX reject reason)."""
    OK = NUM_OK
    EMPTY = NUM_ERR_EMPTY
    SYNTAX = NUM_ERR_SYNTAX
    SIGN = NUM_ERR_SIGN
    EXPONENT = NUM_ERR_EXPONENT
    NOT_FINITE = NUM_ERR_NOT_FINITE
    PRECISION = NUM_ERR_PRECISION
    RANGE = NUM_ERR_RANGE
    OVERFLOW = NUM_ERR_OVERFLOW
    BUFFER = NUM_ERR_BUFFER
    SCALE = NUM_ERR_SCALE
    DIV_ZERO = NUM_ERR_DIV_ZERO
    ROUNDING = NUM_ERR_ROUNDING
    INEXACT = NUM_ERR_INEXACT
    ARGUMENT = NUM_ERR_ARGUMENT


PRICE_DECIMALS = PRICE_SCALE
QTY_DECIMALS = QTY_SCALE
MONEY_DECIMALS = MONEY_SCALE
INT64_LIMIT = INT64_MAX  # |every scaled value| <= this


class DecimalTextError(ValueError):
    """Decimal text that cannot be converted exactly; .code is the NumErrorCode."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = NumErrorCode(code)



cdef int64_t _int64(str name, object value) except? -1:
    """value as an int64 in the symmetric range, or a clear TypeError/OverflowError."""
    if type(value) is int and -INT64_MAX <= value <= INT64_MAX:  # the common case
        return value
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an integer (a scaled int64), got "
                        f"{type(value).__name__} {value!r}; convert text with parse_price/parse_qty")
    v = value.__index__()
    if not -INT64_MAX <= v <= INT64_MAX:
        raise OverflowError(f"{name}={v} does not fit in int64 (|value| <= {INT64_MAX})")
    return v


cdef int _rounding(object rounding) except -1:
    if type(rounding) is Rounding:  # the common case, without an enum lookup
        return rounding
    try:
        return Rounding(rounding)
    except ValueError:
        names = ", ".join(f"Rounding.{r.name}" for r in Rounding)
        raise ValueError(f"unknown rounding {rounding!r}; use one of {names}") from None


def _check(int rc, what, *args):
    """Raise the Python error for a C error code; what.format(*args) names the operation
    (formatted only on error, so the success path pays nothing for the message)."""
    if rc == NUM_OK:
        return
    what = what.format(*args)
    if rc == NUM_ERR_OVERFLOW:
        raise OverflowError(f"{what}: the result does not fit in int64 (|value| <= {INT64_MAX})")
    if rc == NUM_ERR_DIV_ZERO:
        raise ZeroDivisionError(f"{what}: division by zero")
    if rc == NUM_ERR_INEXACT:
        raise ValueError(f"{what}: the result is not exact; pass a rounding mode other than "
                         f"Rounding.EXACT to round it")
    if rc == NUM_ERR_SCALE:
        raise ValueError(f"{what}: a scale must be 0..{MAX_SCALE}")
    raise ValueError(f"{what}: {NumErrorCode(rc).name.lower()} error")


def _ascii(text, what):
    if isinstance(text, str):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise DecimalTextError(
                f"{what} {text!r}: non-ASCII character {text[exc.start]!r} at position {exc.start}; "
                f"use the digits 0-9, '-' and '.'", NUM_ERR_SYNTAX) from None
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError(f"{what} must be decimal text (str or bytes), got {type(text).__name__} "
                    f"{text!r}; write it as a string such as '1.08505' so it stays exact")


def _first_bad_char(bytes raw):
    """(position, character) of the first character a decimal cannot hold, or None."""
    seen_dot = False
    for i, ch in enumerate(raw.decode("ascii")):
        if ch.isdigit() or (ch == "-" and i == 0) or (ch == "." and not seen_dot):
            seen_dot = seen_dot or ch == "."
            continue
        return i, ch
    return None


def _text_error(text, bytes raw, int rc, int scale, what):
    shown = repr(text)
    if rc == NUM_ERR_EMPTY:
        return f"{what} is empty; expected a decimal number such as '1.08505'"
    if rc == NUM_ERR_SYNTAX:
        bad = _first_bad_char(raw)
        if bad is None:
            return f"{what} {shown} has no digits; expected a decimal number such as '1.08505'"
        return (f"{what} {shown} is not a decimal number: unexpected {bad[1]!r} at position {bad[0]}; "
                f"write digits with an optional leading '-' and at most one '.'")
    if rc == NUM_ERR_SIGN:
        return f"{what} {shown}: a leading '+' is not accepted; write the number without it"
    if rc == NUM_ERR_EXPONENT:
        return (f"{what} {shown}: exponent notation is not accepted; write the digits out "
                f"(e.g. '0.00001', not '1e-5')")
    if rc == NUM_ERR_NOT_FINITE:
        return f"{what} {shown} is not a finite number"
    if rc == NUM_ERR_PRECISION:
        return (f"{what} {shown} has more than {scale} decimal places; it is kept exact to "
                f"1e-{scale}, so round it before passing it in")
    if rc == NUM_ERR_RANGE:
        return (f"{what} {shown} is out of range: scaled by 1e{scale} it must lie within "
                f"±{format_decimal(INT64_MAX, scale)}")
    return f"scale {scale} is outside 0..{MAX_SCALE}"


def parse_decimal(text, int scale, *, bint signed=True, what="value"):
    """Exact decimal text -> int scaled by 10**scale; DecimalTextError (a ValueError) if the text
    is not [-]digits[.digits] or needs rounding or does not fit in int64."""
    cdef int64_t v = 0
    cdef bytes raw = _ascii(text, what)
    cdef int rc = parse_scaled(raw, len(raw), scale, &v)
    if rc != NUM_OK:
        raise DecimalTextError(_text_error(text, raw, rc, scale, what), rc)
    if not signed and raw.startswith(b"-"):
        raise DecimalTextError(f"{what} {text!r} is negative; a {what} is never negative",
                               NUM_ERR_SIGN)
    return v


def format_decimal(value, int scale, int min_decimals=0):
    """int scaled by 10**scale -> shortest exact decimal text, with at least min_decimals decimals."""
    cdef char buf[FORMAT_CAP]
    cdef Py_ssize_t n
    v = _int64("value", value)
    n = format_scaled_dp(v, scale, min_decimals, buf, FORMAT_CAP)
    if n == NUM_ERR_ARGUMENT:
        raise ValueError(f"min_decimals={min_decimals} must be 0..scale ({scale})")
    _check(<int>n if n < 0 else NUM_OK, "format_decimal")
    return buf[:n].decode("ascii")


def parse_price(text):
    """Price text ('1.08505') -> price_e8; negative prices are refused."""
    return parse_decimal(text, PRICE_SCALE, signed=False, what="price")


def format_price(price_e8, int min_decimals=0):
    return format_decimal(price_e8, PRICE_SCALE, min_decimals)


def parse_qty(text):
    """Quantity text ('1000000.50') -> qty_e2; negative quantities are refused (side says it)."""
    return parse_decimal(text, QTY_SCALE, signed=False, what="quantity")


def format_qty(qty_e2, int min_decimals=0):
    return format_decimal(qty_e2, QTY_SCALE, min_decimals)


def parse_money(text):
    """Amount text ('-1234.5') -> money_e4 (signed)."""
    return parse_decimal(text, MONEY_SCALE, signed=True, what="amount")


def format_money(money_e4, int min_decimals=0):
    return format_decimal(money_e4, MONEY_SCALE, min_decimals)


def int64_add(a, b):
    cdef int64_t out = 0
    _check(checked_add(_int64("a", a), _int64("b", b), &out), "{} + {}", a, b)
    return out


def int64_sub(a, b):
    cdef int64_t out = 0
    _check(checked_sub(_int64("a", a), _int64("b", b), &out), "{} - {}", a, b)
    return out


def int64_mul(a, b):
    cdef int64_t out = 0
    _check(checked_mul(_int64("a", a), _int64("b", b), &out), "{} * {}", a, b)
    return out


cdef fx_int128 _int128(object v):
    # hi * 2**64 + lo is defined arithmetic for every |v| < 2**127 (no signed shift)
    cdef int64_t hi = v >> 64
    cdef uint64_t lo = v & 0xFFFFFFFFFFFFFFFF
    return (<fx_int128>hi) * ((<fx_int128>1) << 64) + <fx_int128>lo


cdef object _from_int128(fx_int128 v):
    return (<object>(<int64_t>(v >> 64)) << 64) | <object>(<uint64_t>v)


def divide(num, den, rounding=Rounding.HALF_EVEN):
    """num / den rounded once (|num|, |den| < 2**127); the result must fit in int64."""
    cdef int64_t out = 0
    mode = _rounding(rounding)
    for name, v in (("num", num), ("den", den)):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"{name} must be an integer, got {type(v).__name__} {v!r}")
        if not -(1 << 127) < v.__index__() < (1 << 127):
            raise OverflowError(f"{name}={v} does not fit in 128 bits")
    _check(div_round(_int128(num.__index__()), _int128(den.__index__()), mode, &out),
           "{} / {}", num, den)
    return out


def muldiv(a, b, d, rounding=Rounding.HALF_EVEN):
    """a * b / d with a 128-bit product, rounded once."""
    cdef int64_t out = 0
    _check(mul_div(_int64("a", a), _int64("b", b), _int64("d", d), _rounding(rounding), &out),
           "{} * {} / {}", a, b, d)
    return out


def change_scale(value, int from_scale, int to_scale, rounding=Rounding.HALF_EVEN):
    """value at 10**-from_scale -> 10**-to_scale (rounded when digits are dropped)."""
    cdef int64_t out = 0
    _check(rescale(_int64("value", value), from_scale, to_scale, _rounding(rounding), &out),
           "change_scale({}, {}, {})", value, from_scale, to_scale)
    return out


def exact_notional_e10(price_e8, qty_e2):
    """price_e8 * qty_e2 at scale 1e-10, exact (the 128-bit intermediate as a Python int)."""
    return _from_int128(notional_e10(_int64("price_e8", price_e8), _int64("qty_e2", qty_e2)))


def notional(price_e8, qty_e2, rounding=Rounding.HALF_EVEN):
    """price * quantity in money_e4 of the quote currency."""
    cdef int64_t out = 0
    _check(notional_money(_int64("price_e8", price_e8), _int64("qty_e2", qty_e2),
                          _rounding(rounding), &out),
           "notional of price_e8={} qty_e2={}", price_e8, qty_e2)
    return out


def pnl(qty_e2, open_px_e8, close_px_e8, rounding=Rounding.HALF_EVEN):
    """(close - open) * signed quantity in money_e4 of the quote currency."""
    cdef int64_t out = 0
    _check(pnl_money(_int64("qty_e2", qty_e2), _int64("open_px_e8", open_px_e8),
                     _int64("close_px_e8", close_px_e8), _rounding(rounding), &out),
           "pnl of qty_e2={} from {} to {}", qty_e2, open_px_e8, close_px_e8)
    return out


def convert(money_e4, rate_e8, rounding=Rounding.HALF_EVEN):
    """An amount converted at rate_e8 (target units per source unit)."""
    cdef int64_t out = 0
    _check(convert_money(_int64("money_e4", money_e4), _int64("rate_e8", rate_e8),
                         _rounding(rounding), &out),
           "convert {} at rate_e8={}", money_e4, rate_e8)
    return out


def average_price(avg_px_e8, qty_e2, px_e8, add_qty_e2, rounding=Rounding.HALF_EVEN):
    """Average price of qty at avg_px plus add_qty at px (same-signed quantities)."""
    cdef int64_t out = 0
    cdef int rc = avg_price(_int64("avg_px_e8", avg_px_e8), _int64("qty_e2", qty_e2),
                            _int64("px_e8", px_e8), _int64("add_qty_e2", add_qty_e2),
                            _rounding(rounding), &out)
    if rc == NUM_ERR_ARGUMENT:
        raise ValueError(f"average_price: qty_e2={qty_e2} and add_qty_e2={add_qty_e2} have "
                         f"opposite signs; a reduction keeps the average price, split flips first")
    _check(rc, "average price of {}@{} + {}@{}", qty_e2, avg_px_e8, add_qty_e2, px_e8)
    return out


def round_to_multiple(value, increment, rounding=Rounding.HALF_EVEN):
    """value rounded to a multiple of increment (> 0), e.g. a price to its tick."""
    cdef int64_t out = 0
    cdef int rc = round_to_increment(_int64("value", value), _int64("increment", increment),
                                     _rounding(rounding), &out)
    if rc == NUM_ERR_ARGUMENT:
        raise ValueError(f"round_to_multiple: increment must be > 0, got {increment}")
    _check(rc, "round {} to a multiple of {}", value, increment)
    return out


def c_parse(data, int scale):
    """(NumError code, value) straight from the C parse_scaled, for tests and error mapping."""
    cdef int64_t v = 0
    cdef bytes raw = bytes(data)
    cdef int rc = parse_scaled(raw, len(raw), scale, &v)
    return rc, (v if rc == NUM_OK else None)


def c_format(value, int scale, int min_decimals=0, Py_ssize_t cap=FORMAT_CAP):
    """(length or NumError code, text) straight from the C format_scaled_dp into a cap-byte buffer."""
    cdef char buf[64]
    cdef int64_t v = value
    cdef Py_ssize_t n
    if not 0 <= cap <= 64:
        raise ValueError("cap must be 0..64")
    n = format_scaled_dp(v, scale, min_decimals, buf, cap)
    return n, (buf[:n].decode("ascii") if n >= 0 else None)
