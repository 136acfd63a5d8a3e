# FIX value text <-> C numbers: the primitives every codec path uses, inline so a cimporting
# module compiles them into its own loops. Decimal text <-> scaled int64 is the shared exact
# conversion of fxpipe.model.numbers (parse_scaled / format_scaled). No Python objects; all nogil. Each parser returns
# 0 on success or a negative VALUE_* code and never reads outside [p, p + n).
from libc.stdint cimport int64_t, uint64_t

cdef enum:
    VALUE_OK = 0
    VALUE_BAD_FORMAT = -1     # not the FIX data type's syntax
    VALUE_OUT_OF_RANGE = -3   # syntax fine, but does not fit int64 (or the ns range)

cdef inline bint fix_is_digit(char c) noexcept nogil:
    return <unsigned char>(c - 48) < 10

cdef inline int fix_parse_uint(const char* p, Py_ssize_t n, int64_t* out) noexcept nogil:
    """Digits only (leading zeros allowed, as FIX permits); at most 18 significant digits."""
    cdef Py_ssize_t i = 0
    cdef uint64_t v = 0
    if n <= 0:
        return VALUE_BAD_FORMAT
    while i < n and p[i] == b'0':
        i += 1
    if n - i > 18:
        for j in range(i, n):
            if not fix_is_digit(p[j]):
                return VALUE_BAD_FORMAT
        return VALUE_OUT_OF_RANGE
    while i < n:
        if not fix_is_digit(p[i]):
            return VALUE_BAD_FORMAT
        v = v * 10 + <uint64_t>(p[i] - 48)
        i += 1
    out[0] = <int64_t>v
    return VALUE_OK

cdef inline int fix_parse_int(const char* p, Py_ssize_t n, int64_t* out) noexcept nogil:
    """FIX int: optional '-' then digits."""
    cdef int rc
    if n > 0 and p[0] == b'-':
        rc = fix_parse_uint(p + 1, n - 1, out)
        if rc == VALUE_OK:
            out[0] = -out[0]
        return rc
    return fix_parse_uint(p, n, out)

cdef inline bint fix_check_float(const char* p, Py_ssize_t n) noexcept nogil:
    """FIX float syntax: optional '-', digits, at most one '.', at least one digit."""
    cdef Py_ssize_t i = 0
    cdef int digits = 0, dots = 0
    if n > 0 and p[0] == b'-':
        i = 1
    while i < n:
        if fix_is_digit(p[i]):
            digits += 1
        elif p[i] == b'.' and dots == 0:
            dots = 1
        else:
            return False
        i += 1
    return digits > 0

cdef int fix_parse_utc_ns(const char* p, Py_ssize_t n, int64_t* out) noexcept nogil
cdef bint fix_check_utc_date(const char* p, Py_ssize_t n) noexcept nogil
cdef bint fix_check_utc_time_only(const char* p, Py_ssize_t n) noexcept nogil
cdef bint fix_check_month_year(const char* p, Py_ssize_t n) noexcept nogil

cdef Py_ssize_t fix_format_uint(char* dst, uint64_t v) noexcept nogil
cdef Py_ssize_t fix_format_int(char* dst, int64_t v) noexcept nogil
cdef Py_ssize_t fix_format_utc(char* dst, int64_t ns, int frac_digits) noexcept nogil
