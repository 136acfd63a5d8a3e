# Exact numbers: the C-level API of fxpipe.model.numbers (scales, error codes, rounding modes,
# decimal text <-> scaled int64, and 128-bit money arithmetic). Every function is nogil and
# returns an error code (NUM_OK or a negative NumError) instead of raising, so the FIX codec and
# the order/position state can call it on the hot path; results go through an out pointer.
from libc.stdint cimport int64_t

from fxpipe.includes.int128 cimport fx_int128

cdef enum:
    PRICE_SCALE = 8     # price_e8: 1.08505 -> 108505000; USD/JPY 151.253 -> 15125300000
    QTY_SCALE = 2       # qty_e2: 1,000,000.50 -> 100000050 (base currency units)
    MONEY_SCALE = 4     # money_e4: notional, PnL, commission in one currency; 1/100 of a cent,
                        # range +-922 trillion units (enough for JPY books)
    MAX_SCALE = 18      # parse/format accept scales 0..18 (10**18 still fits in int64)
    FORMAT_CAP = 24     # a buffer this big always holds format_scaled's output (at most 21)

cdef enum NumError:
    NUM_OK = 0
    NUM_ERR_EMPTY = -1        # no characters at all
    NUM_ERR_SYNTAX = -2       # not [-]digits[.digits]: garbage, spaces, two dots, no digits
    NUM_ERR_SIGN = -3         # a '+' sign (FIX and fxpipe config write only '-')
    NUM_ERR_EXPONENT = -4     # 1e-5, 1E3: exponent forms are refused, write the digits
    NUM_ERR_NOT_FINITE = -5   # nan, inf, infinity (any case)
    NUM_ERR_PRECISION = -6    # non-zero digits beyond the scale (would need rounding)
    NUM_ERR_RANGE = -7        # the scaled value does not fit in int64 (|v| <= INT64_MAX)
    NUM_ERR_OVERFLOW = -8     # an arithmetic result does not fit in int64
    NUM_ERR_BUFFER = -9       # the output buffer is too small
    NUM_ERR_SCALE = -10       # a scale outside 0..MAX_SCALE
    NUM_ERR_DIV_ZERO = -11    # division by zero (e.g. average price of zero quantity)
    NUM_ERR_ROUNDING = -12    # an unknown rounding mode
    NUM_ERR_INEXACT = -13     # ROUND_EXACT was asked for and the result needs rounding
    NUM_ERR_ARGUMENT = -14    # an argument outside its domain (increment <= 0, mixed signs)

# How a division result is brought back to an integer. Nothing in fxpipe rounds implicitly:
# every C function that divides takes one of these. HALF_EVEN is the default for money
# (no bias over many fills); DOWN truncates toward zero; FLOOR/CEILING are for passive tick
# rounding (a buy limit rounds down, a sell limit up); EXACT refuses to round at all.
cdef enum RoundingMode:
    ROUND_HALF_EVEN = 0
    ROUND_HALF_UP = 1         # ties away from zero
    ROUND_DOWN = 2            # toward zero (truncation)
    ROUND_FLOOR = 3           # toward -infinity
    ROUND_CEILING = 4         # toward +infinity
    ROUND_EXACT = 5           # NUM_ERR_INEXACT unless the division is exact

# Decimal text -> value scaled by 10**scale. Accepts [-]digits[.digits] (".5" and "5." too);
# more decimals than `scale` are accepted only when the extra digits are zeros.
cdef int parse_scaled(const char* s, Py_ssize_t n, int scale, int64_t* out) noexcept nogil
# value scaled by 10**scale -> shortest exact decimal text (no trailing zeros, no '.' for a
# whole number, no NUL written). Returns the length written, or a negative NumError.
cdef Py_ssize_t format_scaled(int64_t v, int scale, char* out, Py_ssize_t cap) noexcept nogil
# Same, with at least min_decimals digits after the point (e.g. 5 for a EUR/USD price).
cdef Py_ssize_t format_scaled_dp(int64_t v, int scale, int min_decimals, char* out,
                                 Py_ssize_t cap) noexcept nogil

# Checked int64 arithmetic: NUM_ERR_OVERFLOW instead of wrapping.
cdef int checked_add(int64_t a, int64_t b, int64_t* out) noexcept nogil
cdef int checked_sub(int64_t a, int64_t b, int64_t* out) noexcept nogil
cdef int checked_mul(int64_t a, int64_t b, int64_t* out) noexcept nogil

# num / den rounded by `mode` (den != 0), result checked into int64.
cdef int div_round(fx_int128 num, fx_int128 den, int mode, int64_t* out) noexcept nogil
# a * b / d in 128 bits, rounded once.
cdef int mul_div(int64_t a, int64_t b, int64_t d, int mode, int64_t* out) noexcept nogil
# v from 10**-from_scale units to 10**-to_scale units (rounding when the scale shrinks).
cdef int rescale(int64_t v, int from_scale, int to_scale, int mode, int64_t* out) noexcept nogil
# Exact notional at scale 1e-10 (price_e8 * qty_e2); never overflows 128 bits.
cdef fx_int128 notional_e10(int64_t price_e8, int64_t qty_e2) noexcept nogil
# price_e8 * qty_e2 in money_e4 of the quote currency.
cdef int notional_money(int64_t price_e8, int64_t qty_e2, int mode, int64_t* out) noexcept nogil
# (close_px - open_px) * qty in money_e4 of the quote currency; qty_e2 is signed (long > 0),
# so a short position gains when the price falls.
cdef int pnl_money(int64_t qty_e2, int64_t open_px_e8, int64_t close_px_e8, int mode,
                   int64_t* out) noexcept nogil
# money * rate_e8: an amount in one currency converted at a rate (units of the target currency
# per unit of the source currency, scaled 1e8).
cdef int convert_money(int64_t money, int64_t rate_e8, int mode, int64_t* out) noexcept nogil
# Average price after adding add_qty at px to qty at avg_px: (avg*qty + px*add) / (qty + add).
# Quantities have the same sign (adding to a position); a zero total is NUM_ERR_DIV_ZERO.
cdef int avg_price(int64_t avg_px_e8, int64_t qty_e2, int64_t px_e8, int64_t add_qty_e2,
                   int mode, int64_t* out) noexcept nogil
# v rounded to a multiple of increment (> 0): ticks, quantity increments.
cdef int round_to_increment(int64_t v, int64_t increment, int mode, int64_t* out) noexcept nogil
