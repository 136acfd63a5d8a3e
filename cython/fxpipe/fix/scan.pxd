# The FIX tag scanner: frames a message, checks BodyLength and CheckSum, and indexes its
# tag=value fields into a caller-owned FixIndex without copying. C-level API, all nogil.
#
#   buf:  8=FIX.4.2|9=178|35=8|49=LP|56=FXPIPE|34=12|52=...|...|10=128|
#         ^ field 0  ^ 1   ^ 2                                  ^ n-1 (always CheckSum)
#   FixField{tag, off, len} points into buf; the index never owns the bytes.
from libc.stdint cimport int32_t, int64_t, uint32_t

# The failure codes (0 is success: SessionRejectReason values, reason 0 coded
# REASON_INVALID_TAG_NUMBER; GARBLED_* framing codes; UNSUPPORTED_BEGIN_STRING) and the tag facts
# the hot paths test (fix42_data_length_tag, fix42_is_length_tag, fix_encoder_writes) are
# generated from FIX42.xml with the Python vocabulary.
include "vocab.pxi"

cdef enum:
    SCAN_INDEX_FULL = 2000          # more fields than the caller's index holds

ctypedef struct FixField:
    int32_t tag
    uint32_t off      # value offset from buf
    uint32_t len      # value length

ctypedef struct FixIndex:
    const char* buf
    uint32_t length       # bytes of the whole message, CheckSum field included
    uint32_t n            # fields indexed
    uint32_t cap          # capacity of fields[]
    FixField* fields      # caller-owned storage
    int64_t seq_num       # MsgSeqNum, -1 until the header check finds it
    int32_t err_tag       # tag the failure refers to, -1 for none
    uint32_t err_field    # index of the field the failure refers to

cdef Py_ssize_t fix_frame(const char* p, Py_ssize_t n, Py_ssize_t max_body, int* reason) noexcept nogil
cdef int fix_scan(FixIndex* ix, const char* p, Py_ssize_t n) noexcept nogil
cdef int fix_check_header(FixIndex* ix, const char* begin, Py_ssize_t begin_len) noexcept nogil
# Out of line on purpose: callers ask only on a rare path (a value holding SOH), and an inlined
# switch would cost their hot code registers.
cdef bint fix_is_data_tag(int32_t tag) noexcept nogil
cdef int32_t fix_data_length_tag(int32_t tag) noexcept nogil

cdef inline int fix_find(const FixIndex* ix, int32_t tag, uint32_t lo, uint32_t hi) noexcept nogil:
    """Index of the first field with this tag in [lo, hi), or -1."""
    cdef uint32_t i
    for i in range(lo, hi):
        if ix.fields[i].tag == tag:
            return <int>i
    return -1

cdef inline int fix_reason(int code) noexcept nogil:
    """The SessionRejectReason (or garble code) a failure code stands for."""
    return 0 if code == REASON_INVALID_TAG_NUMBER else code

cdef inline const char* fix_value(const FixIndex* ix, uint32_t i) noexcept nogil:
    return ix.buf + ix.fields[i].off
