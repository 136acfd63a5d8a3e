# 128-bit helpers for positions and risk: exact division with half-even rounding that stays in
# 128 bits (numbers.div_round returns int64; a cost basis at 1e-10 does not fit in int64), and
# the bridge from an e10 amount to money_e4. Every division rounds half to even, once.
from libc.stdint cimport int64_t

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.numbers cimport ROUND_HALF_EVEN, div_round


cdef inline fx_int128 abs128(fx_int128 v) noexcept nogil:
    return -v if v < 0 else v


cdef inline fx_int128 round_quotient(fx_int128 q, fx_int128 r, fx_int128 den, bint negative) noexcept nogil:
    """q, r: truncated quotient and remainder of a division by den; q rounded half to even."""
    cdef fx_int128 ar, ad
    if r == 0:
        return q
    ar = abs128(r)
    ad = abs128(den)
    if ar > ad - ar or (ar == ad - ar and (q & 1) != 0):
        q += -1 if negative else 1
    return q


cdef inline fx_int128 div_even128(fx_int128 num, fx_int128 den) noexcept nogil:
    """num / den (den != 0) rounded half to even, in 128 bits."""
    return round_quotient(num / den, num % den, den, (num < 0) != (den < 0))


cdef inline fx_int128 share_of(fx_int128 total, int64_t part, int64_t whole) noexcept nogil:
    """total * part / whole rounded half to even, without forming total * part (which can pass
    2**127): total = a * whole + b, so the result is a * part + (b * part) / whole."""
    cdef fx_int128 a = total / whole
    cdef fx_int128 b = total - a * whole
    cdef fx_int128 bp = b * part
    return round_quotient(a * part + bp / whole, bp % whole, whole,
                          (total < 0) != ((part < 0) != (whole < 0)) and total != 0 and part != 0)


cdef inline int e10_to_e4(fx_int128 v, int64_t* out) noexcept nogil:
    """An amount at 1e-10 as money_e4 (half to even); NUM_ERR_OVERFLOW beyond int64."""
    return div_round(v, 1000000, ROUND_HALF_EVEN, out)
