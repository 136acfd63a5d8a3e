"""FIX value text <-> C numbers: UTCTimestamp as int64 ns since the epoch, float syntax, and the
date/time formats FIX 4.2 validation checks (decimals go through fxpipe.model.numbers). The inline integer parsers live
in values.pxd; the longer routines are here. Nothing here allocates or touches Python objects.
"""
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

cdef uint64_t[19] POW10 = [
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
    10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
    1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
]
cdef int64_t NS_PER_DAY = 86400000000000
cdef int[13] DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef inline int two(const char* p) noexcept nogil:
    if not (fix_is_digit(p[0]) and fix_is_digit(p[1])):
        return -1
    return (p[0] - 48) * 10 + (p[1] - 48)


cdef inline int64_t days_from_civil(int64_t y, int m, int d) noexcept nogil:
    # Proleptic Gregorian day number (1970-01-01 = 0), H. Hinnant's algorithm.
    y -= m <= 2
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline bint leap(int64_t y) noexcept nogil:
    return (y % 4 == 0 and y % 100 != 0) or y % 400 == 0


cdef int parse_date(const char* p, int64_t* days) noexcept nogil:
    """YYYYMMDD (8 bytes, caller checked the length) -> day number; -1 on a bad date."""
    cdef int hi = two(p), lo = two(p + 2), m = two(p + 4), d = two(p + 6)
    if hi < 0 or lo < 0 or m < 1 or m > 12 or d < 1:
        return -1
    cdef int64_t y = hi * 100 + lo
    if d > DAYS_IN_MONTH[m] or (m == 2 and d == 29 and not leap(y)):
        return -1
    days[0] = days_from_civil(y, m, d)
    return 0


cdef int parse_time(const char* p, Py_ssize_t n, int64_t* ns) noexcept nogil:
    """HH:MM:SS[.sss|.ssssss|.sssssssss] -> ns of the day; -1 on bad syntax or values."""
    cdef int h, mi, s
    cdef int64_t f = 0
    if n != 8 and n != 12 and n != 15 and n != 18:
        return -1
    h = two(p)
    mi = two(p + 3)
    s = two(p + 6)
    # Second 60 is a leap second, which FIX allows.
    if p[2] != b':' or p[5] != b':' or h < 0 or h > 23 or mi < 0 or mi > 59 or s < 0 or s > 60:
        return -1
    if n > 8:
        if p[8] != b'.':
            return -1
        for i in range(9, n):
            if not fix_is_digit(p[i]):
                return -1
            f = f * 10 + (p[i] - 48)
        f *= <int64_t>POW10[18 - n]
    ns[0] = ((<int64_t>h * 60 + mi) * 60 + s) * 1000000000 + f
    return 0


cdef int fix_parse_utc_ns(const char* p, Py_ssize_t n, int64_t* out) noexcept nogil:
    """UTCTimestamp YYYYMMDD-HH:MM:SS[.sss] (also 6 or 9 fraction digits) -> ns since epoch."""
    cdef int64_t days, tod
    if n < 17 or p[8] != b'-':
        return VALUE_BAD_FORMAT
    if parse_date(p, &days) < 0 or parse_time(p + 9, n - 9, &tod) < 0:
        return VALUE_BAD_FORMAT
    # int64 ns spans 1677-09-21 .. 2262-04-11; keep to whole years inside it.
    if days < -106751 or days > 106650:
        return VALUE_OUT_OF_RANGE
    out[0] = days * NS_PER_DAY + tod
    return VALUE_OK


cdef bint fix_check_utc_date(const char* p, Py_ssize_t n) noexcept nogil:
    cdef int64_t days
    return n == 8 and parse_date(p, &days) == 0


cdef bint fix_check_utc_time_only(const char* p, Py_ssize_t n) noexcept nogil:
    cdef int64_t ns
    return parse_time(p, n, &ns) == 0


cdef bint fix_check_month_year(const char* p, Py_ssize_t n) noexcept nogil:
    """YYYYMM, YYYYMMDD or YYYYMMwN (week 1-5), as FIX 4.2 MonthYear allows."""
    cdef int64_t days
    if n < 6:
        return False
    for i in range(4):
        if not fix_is_digit(p[i]):
            return False
    cdef int m = two(p + 4)
    if m < 1 or m > 12:
        return False
    if n == 6:
        return True
    if n == 8 and p[6] == b'w':
        return b'1' <= p[7] <= b'5'
    return n == 8 and parse_date(p, &days) == 0


cdef Py_ssize_t fix_format_uint(char* dst, uint64_t v) noexcept nogil:
    cdef char tmp[20]
    cdef Py_ssize_t k = 0, i
    while True:
        tmp[k] = <char>(48 + v % 10)
        k += 1
        v //= 10
        if v == 0:
            break
    for i in range(k):
        dst[i] = tmp[k - 1 - i]
    return k


cdef Py_ssize_t fix_format_int(char* dst, int64_t v) noexcept nogil:
    if v < 0:
        dst[0] = b'-'
        return 1 + fix_format_uint(dst + 1, <uint64_t>0 - <uint64_t>v)
    return fix_format_uint(dst, <uint64_t>v)


cdef inline void put2(char* d, int v) noexcept nogil:
    d[0] = <char>(48 + v // 10)
    d[1] = <char>(48 + v % 10)


cdef extern from *:
    """
    #include <stdint.h>
    /* the second fix_format_utc formatted last (in this thread) and its 17 characters: an order's
       TransactTime and SendingTime, and every message of the same second, copy them */
    static __thread int64_t fxv_utc_second = INT64_MIN;
    static __thread char fxv_utc_text[17];
    """
    int64_t fxv_utc_second
    char fxv_utc_text[17]


cdef void _format_utc_second(char* dst, int64_t sec) noexcept nogil:
    """YYYYMMDD-HH:MM:SS of sec seconds since the epoch (17 characters)."""
    cdef int64_t days = sec // 86400            # C division (cdivision): fix it to floor
    cdef int64_t tod = sec - days * 86400
    if tod < 0:
        tod += 86400
        days -= 1
    # civil_from_days (H. Hinnant)
    cdef int64_t z = days + 719468
    cdef int64_t era = (z if z >= 0 else z - 146096) // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t y = yoe + era * 400
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int d = <int>(doy - (153 * mp + 2) // 5 + 1)
    cdef int m = <int>(mp + 3 if mp < 10 else mp - 9)
    if m <= 2:
        y += 1
    put2(dst, <int>(y // 100))
    put2(dst + 2, <int>(y % 100))
    put2(dst + 4, m)
    put2(dst + 6, d)
    dst[8] = b'-'
    put2(dst + 9, <int>(tod // 3600))
    dst[11] = b':'
    put2(dst + 12, <int>(tod // 60 % 60))
    dst[14] = b':'
    put2(dst + 15, <int>(tod % 60))


cdef Py_ssize_t fix_format_utc(char* dst, int64_t ns, int frac_digits) noexcept nogil:
    """ns since epoch -> YYYYMMDD-HH:MM:SS[.fff...] with 0, 3, 6 or 9 fraction digits
    (truncated, never rounded up into the next second). Years 1678..2261. The calendar part is
    worked out once a second (per thread) and copied after that: an order formats two stamps."""
    global fxv_utc_second
    cdef int64_t sec = ns // 1000000000         # C division (cdivision): fix it to floor
    cdef int64_t frac = ns - sec * 1000000000
    cdef int i
    if frac < 0:
        frac += 1000000000
        sec -= 1
    if sec == fxv_utc_second:
        memcpy(dst, fxv_utc_text, 17)
    else:
        _format_utc_second(dst, sec)
        memcpy(fxv_utc_text, dst, 17)
        fxv_utc_second = sec
    if frac_digits <= 0:
        return 17
    dst[17] = b'.'
    if frac_digits == 3:
        frac //= 1000000                        # FIX 4.2's millis: a constant divisor
    else:
        frac //= <int64_t>POW10[9 - frac_digits]
    for i in range(frac_digits - 1, -1, -1):
        dst[18 + i] = <char>(48 + frac % 10)
        frac //= 10
    return 18 + frac_digits
