# Typed field readers and writers shared by the direct message paths (orders, market data,
# admin): fixed-size id strings, the standard-header facts a session needs, and readers that
# turn one indexed field into a C value or a SessionRejectReason (err_tag/err_field set).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.string cimport memcpy

from fxpipe.fix.encoder cimport FixWriter, fix_put_str
from fxpipe.fix.scan cimport (
    REASON_INCORRECT_DATA_FORMAT,
    REASON_REQUIRED_TAG_MISSING,
    REASON_VALUE_OUT_OF_RANGE,
    FixIndex,
    fix_value,
)
from fxpipe.fix.values cimport VALUE_OK, VALUE_OUT_OF_RANGE, fix_parse_int, fix_parse_utc_ns
from fxpipe.model.numbers cimport NUM_ERR_PRECISION, NUM_ERR_RANGE, NUM_OK, parse_scaled

cdef enum:
    FIX_ID_MAX = 46          # longest ClOrdID / OrderID / ExecID / Symbol the structs hold

ctypedef struct FixId:
    char s[FIX_ID_MAX + 1]   # NUL-terminated copy of the value
    uint8_t len

ctypedef struct FixHeaderInfo:
    int64_t seq_num
    int64_t sending_time_ns
    int64_t orig_sending_time_ns     # 0 when absent
    char poss_dup                    # 'Y', 'N' or 0 when absent
    char poss_resend

cdef int fix_read_header(FixIndex* ix, FixHeaderInfo* h) noexcept nogil

cdef inline int fix_fail(FixIndex* ix, int reason, int32_t tag, uint32_t field) noexcept nogil:
    ix.err_tag = tag
    ix.err_field = field
    return reason

cdef inline int fix_missing(FixIndex* ix, int32_t tag) noexcept nogil:
    return fix_fail(ix, REASON_REQUIRED_TAG_MISSING, tag, ix.n)

cdef inline int id_set(FixId* d, const char* p, Py_ssize_t n) noexcept nogil:
    if n > FIX_ID_MAX:
        return -1
    memcpy(d.s, p, n)
    d.s[n] = 0
    d.len = <uint8_t>n
    return 0

cdef inline int read_id(FixIndex* ix, uint32_t i, FixId* d) noexcept nogil:
    if id_set(d, fix_value(ix, i), ix.fields[i].len) != 0:
        return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, ix.fields[i].tag, i)
    return 0

cdef inline int read_char(FixIndex* ix, uint32_t i, char* d) noexcept nogil:
    if ix.fields[i].len != 1:
        return fix_fail(ix, REASON_INCORRECT_DATA_FORMAT, ix.fields[i].tag, i)
    d[0] = fix_value(ix, i)[0]
    return 0

cdef inline int read_int(FixIndex* ix, uint32_t i, int64_t* d) noexcept nogil:
    cdef int rc = fix_parse_int(fix_value(ix, i), ix.fields[i].len, d)
    if rc == VALUE_OK:
        return 0
    return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE if rc == VALUE_OUT_OF_RANGE else
                    REASON_INCORRECT_DATA_FORMAT, ix.fields[i].tag, i)

cdef inline int read_scaled(FixIndex* ix, uint32_t i, int scale, int64_t* d) noexcept nogil:
    cdef int rc = parse_scaled(fix_value(ix, i), ix.fields[i].len, scale, d)
    if rc == NUM_OK:
        return 0
    return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE if rc == NUM_ERR_PRECISION or rc == NUM_ERR_RANGE
                    else REASON_INCORRECT_DATA_FORMAT, ix.fields[i].tag, i)

cdef inline int read_utc(FixIndex* ix, uint32_t i, int64_t* d) noexcept nogil:
    cdef int rc = fix_parse_utc_ns(fix_value(ix, i), ix.fields[i].len, d)
    if rc == VALUE_OK:
        return 0
    return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE if rc == VALUE_OUT_OF_RANGE else
                    REASON_INCORRECT_DATA_FORMAT, ix.fields[i].tag, i)

cdef inline void put_id(FixWriter* w, int32_t tag, const FixId* v) noexcept nogil:
    """Writes the field when the id is set (len > 0); optional ids stay out of the message."""
    if v.len:
        fix_put_str(w, tag, v.s, v.len)

# Python <-> struct helpers (GIL held) for the Python wrappers of the direct paths.
cdef int py_id(FixId* d, object value, str name) except -1
cdef char py_char(object value, str name, bint optional) except? -1
cdef object id_str(const FixId* v)
cdef object char_str(char c)
