# 128-bit helpers for positions and risk: exact division with half-even rounding that stays in
# 128 bits (numbers.div_round returns int64; a cost basis at 1e-10 does not fit in int64), and
# the bridge from an e10 amount to money_e4. Every division rounds half to even, once.
#
# Each helper first tries 64 bits: a desk's amounts (a cost of 10 million EUR is 1e17 at 1e-10)
# nearly always fit, and a 64-bit division by a constant is a multiplication, where a 128-bit
# one is a libgcc call. The 64-bit path computes the same quotient and remainder as the 128-bit
# one, so the result is the same bit for bit; anything that does not fit takes the 128-bit path.
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.numbers cimport NUM_OK, ROUND_HALF_EVEN, div_round

cdef extern from *:
    """
    #include <stdint.h>
    /* num / den rounded half to even when the quotient fits in int64: one 128-by-64 divq on
       x86-64 (a libgcc __divmodti4 call otherwise). 0 with *out set, -1 when it does not fit
       (the caller then takes the general 128-bit path, which reports overflow). */
    static inline int fx_div_even_wide(__int128 num, int64_t den, int64_t* out) {
        unsigned __int128 un = num < 0 ? -(unsigned __int128)num : (unsigned __int128)num;
        uint64_t ud = den < 0 ? -(uint64_t)den : (uint64_t)den;
        uint64_t hi = (uint64_t)(un >> 64), lo = (uint64_t)un, q, r;
        if (ud == 0 || hi >= ud) return -1;
    #if defined(__x86_64__)
        __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(ud));
    #else
        q = (uint64_t)(un / ud); r = (uint64_t)(un % ud);
    #endif
        if (r > ud - r || (r == ud - r && (q & 1))) q += 1;
        if (q > (uint64_t)INT64_MAX) return -1;
        *out = ((num < 0) != (den < 0)) ? -(int64_t)q : (int64_t)q;
        return 0;
    }
    /* num / den truncated toward zero and its remainder (the sign of num), as C's / and % on
       128 bits give them, when the quotient fits in int64: one divq. 0, or -1 (the caller then
       takes the 128-bit path). */
    static inline int fx_divmod_wide(__int128 num, int64_t den, int64_t* q, int64_t* r) {
        unsigned __int128 un = num < 0 ? -(unsigned __int128)num : (unsigned __int128)num;
        uint64_t ud = den < 0 ? -(uint64_t)den : (uint64_t)den;
        uint64_t hi = (uint64_t)(un >> 64), lo = (uint64_t)un, uq, ur;
        if (ud == 0 || hi >= ud) return -1;
    #if defined(__x86_64__)
        __asm__("divq %4" : "=a"(uq), "=d"(ur) : "a"(lo), "d"(hi), "rm"(ud));
    #else
        uq = (uint64_t)(un / ud); ur = (uint64_t)(un % ud);
    #endif
        if (uq > (uint64_t)INT64_MAX || ur > (uint64_t)INT64_MAX) return -1;
        *q = ((num < 0) != (den < 0)) ? -(int64_t)uq : (int64_t)uq;
        *r = num < 0 ? -(int64_t)ur : (int64_t)ur;
        return 0;
    }
    """
    # GCC and Clang: the exact product, and whether it overflowed int64.
    bint mul_overflow_i64 "__builtin_mul_overflow"(int64_t a, int64_t b, int64_t* out) noexcept nogil
    int fx_div_even_wide(fx_int128 num, int64_t den, int64_t* out) noexcept nogil
    int fx_divmod_wide(fx_int128 num, int64_t den, int64_t* q, int64_t* r) noexcept nogil


cdef inline fx_int128 abs128(fx_int128 v) noexcept nogil:
    return -v if v < 0 else v


cdef inline bint fits64(fx_int128 v) noexcept nogil:
    """In int64 and not INT64_MIN (whose negation and division by -1 overflow)."""
    return v > INT64_MIN and v <= INT64_MAX


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


cdef inline int64_t div_even64(int64_t num, int64_t den) noexcept nogil:
    """num / den (den != 0, num != INT64_MIN) rounded half to even, in 64 bits."""
    cdef int64_t q = num / den, r = num % den, ar, ad
    if r == 0:
        return q
    ar = -r if r < 0 else r
    ad = -den if den < 0 else den
    if ar > ad - ar or (ar == ad - ar and (q & 1) != 0):
        q += -1 if (num < 0) != (den < 0) else 1
    return q


cdef inline fx_int128 div_even128(fx_int128 num, fx_int128 den) noexcept nogil:
    """num / den (den != 0) rounded half to even, in 128 bits."""
    return round_quotient(num / den, num % den, den, (num < 0) != (den < 0))


cdef inline fx_int128 share_of(fx_int128 total, int64_t part, int64_t whole) noexcept nogil:
    """total * part / whole rounded half to even, without forming total * part (which can pass
    2**127): total = a * whole + b, so the result is a * part + (b * part) / whole."""
    cdef fx_int128 a, b, bp
    cdef int64_t t, a64, b64, bp64
    cdef bint negative = (total < 0) != ((part < 0) != (whole < 0)) and total != 0 and part != 0
    if fits64(total):
        t = <int64_t>total
        a64 = t / whole
        b64 = t - a64 * whole            # |b64| < |whole|, so b64 * part rarely overflows
        if not mul_overflow_i64(b64, part, &bp64):
            return round_quotient(<fx_int128>a64 * part + bp64 / whole, bp64 % whole, whole, negative)
    if fx_divmod_wide(total, whole, &a64, &b64) == 0:      # one divq each when the quotients fit
        bp = <fx_int128>b64 * part
        if fx_divmod_wide(bp, whole, &t, &bp64) == 0:
            return round_quotient(<fx_int128>a64 * part + t, bp64, whole, negative)
    a = total / whole
    b = total - a * whole
    bp = b * part
    return round_quotient(a * part + bp / whole, bp % whole, whole, negative)


cdef inline int e10_to_e4(fx_int128 v, int64_t* out) noexcept nogil:
    """An amount at 1e-10 as money_e4 (half to even); NUM_ERR_OVERFLOW beyond int64."""
    if fits64(v):
        out[0] = div_even64(<int64_t>v, 1000000)
        return NUM_OK
    if fx_div_even_wide(v, 1000000, out) == 0:
        return NUM_OK
    return div_round(v, 1000000, ROUND_HALF_EVEN, out)


cdef inline int mul_div_even(int64_t a, int64_t b, int64_t d, int64_t* out) noexcept nogil:
    """a * b / d (d != 0) rounded half to even, as numbers.mul_div(..., ROUND_HALF_EVEN): in
    64 bits when the product fits, else numbers' 128-bit path (which reports overflow)."""
    cdef int64_t p
    if d != 0 and not mul_overflow_i64(a, b, &p) and p != INT64_MIN:
        out[0] = div_even64(p, d)
        return NUM_OK
    if fx_div_even_wide(<fx_int128>a * b, d, out) == 0:
        return NUM_OK
    return div_round(<fx_int128>a * b, d, ROUND_HALF_EVEN, out)
