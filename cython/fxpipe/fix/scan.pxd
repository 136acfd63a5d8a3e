# The FIX tag scanner: frames a message, checks BodyLength and CheckSum, and indexes its
# tag=value fields into a caller-owned FixIndex without copying. C-level API, all nogil.
#
#   buf:  8=FIX.4.2|9=178|35=8|49=LP|56=FXPIPE|34=12|52=...|...|10=128|
#         ^ field 0  ^ 1   ^ 2                                  ^ n-1 (always CheckSum)
#   FixField{tag, off, len} points into buf; the index never owns the bytes.
from libc.stdint cimport int32_t, int64_t, uint32_t

# Codes a failed scan or validation returns (0 is success). 1..17 are FIX SessionRejectReason
# values (13..17 are the numbers FIX 4.3 gave to checks FIX 4.2 already implies); reason 0,
# "invalid tag number", is coded 3000 so that 0 can mean success (fix_reason maps it back).
# The 1000s are framing problems, for which FIX says "garbled: drop without a Reject".
cdef enum:
    REASON_INVALID_TAG_NUMBER = 3000
    REASON_REQUIRED_TAG_MISSING = 1
    REASON_TAG_NOT_DEFINED_FOR_MSG_TYPE = 2
    REASON_UNDEFINED_TAG = 3
    REASON_TAG_WITHOUT_VALUE = 4
    REASON_VALUE_OUT_OF_RANGE = 5
    REASON_INCORRECT_DATA_FORMAT = 6
    REASON_COMP_ID_PROBLEM = 9
    REASON_SENDING_TIME_ACCURACY = 10
    REASON_INVALID_MSG_TYPE = 11
    REASON_TAG_APPEARS_MORE_THAN_ONCE = 13
    REASON_TAG_OUT_OF_ORDER = 14
    REASON_GROUP_FIELDS_OUT_OF_ORDER = 15
    REASON_INCORRECT_NUM_IN_GROUP = 16
    REASON_SOH_IN_VALUE = 17
    GARBLED_BEGIN_STRING = 1000     # does not start with 8=FIX...<SOH>
    GARBLED_BODY_LENGTH = 1001      # 9 not second, not digits, or CheckSum not where it says
    GARBLED_CHECKSUM = 1002         # 10 malformed or the sum differs
    GARBLED_MSG_TYPE_NOT_THIRD = 1003
    GARBLED_TOO_LARGE = 1004        # BodyLength beyond the configured maximum
    GARBLED_TRAILING_BYTES = 1005   # bytes after CheckSum in what was given as one message
    GARBLED_INCOMPLETE = 1006       # fewer bytes than BodyLength promises
    UNSUPPORTED_BEGIN_STRING = 1100  # well framed, another FIX version: Logout, not drop
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
