"""The FIX tag scanner: framing (BeginString, BodyLength, CheckSum), the field index and the
standard-header checks every message gets, validation on or off.

Framing follows the FIX definition of a garbled message: BeginString first, BodyLength second
and counting the bytes up to CheckSum, CheckSum last with the right sum. The index records
(tag, offset, length) per field; data fields (RawData, Signature, EncodedText...) are read by
the length their preceding length field gives, so they may contain SOH, as FIX allows.
"""
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memchr, memcmp

from fxpipe.fix.values cimport (
    VALUE_OK,
    fix_is_digit,
    fix_parse_uint,
    fix_parse_utc_ns,
)

cdef enum:
    SOH = 1
    MAX_BEGIN_STRING = 16
    MAX_BODY_LENGTH_DIGITS = 8


cdef int32_t fix_data_length_tag(int32_t tag) noexcept nogil:
    """The length tag that must precede a FIX 4.2 data field, or 0 when tag is no data field."""
    return fix42_data_length_tag(tag)


cdef bint fix_is_data_tag(int32_t tag) noexcept nogil:
    return fix42_data_length_tag(tag) != 0


cdef Py_ssize_t fix_frame(const char* p, Py_ssize_t n, Py_ssize_t max_body, int* reason) noexcept nogil:
    """Bytes of the complete message at p, 0 while more bytes are needed, -1 (reason set)
    when the bytes there cannot be a FIX message. Reads only p[0:n]."""
    cdef Py_ssize_t i, k, body_len = 0, end, total
    cdef const char* prefix = b"8=FIX"
    cdef const char* trailer = b"10="
    k = n if n < 5 else 5
    if memcmp(p, prefix, k) != 0:
        reason[0] = GARBLED_BEGIN_STRING
        return -1
    i = 5
    while i < n and p[i] != SOH:
        if i >= 2 + MAX_BEGIN_STRING or p[i] <= 32 or p[i] >= 127:
            reason[0] = GARBLED_BEGIN_STRING
            return -1
        i += 1
    if i + 2 >= n:
        return 0
    i += 1
    if p[i] != b'9' or p[i + 1] != b'=':
        reason[0] = GARBLED_BODY_LENGTH
        return -1
    i += 2
    k = i
    while i < n and fix_is_digit(p[i]):
        if i - k >= MAX_BODY_LENGTH_DIGITS:
            reason[0] = GARBLED_TOO_LARGE
            return -1
        body_len = body_len * 10 + (p[i] - 48)
        i += 1
    if i == n:
        return 0
    if p[i] != SOH or i == k:
        reason[0] = GARBLED_BODY_LENGTH
        return -1
    if body_len > max_body:
        reason[0] = GARBLED_TOO_LARGE
        return -1
    end = i + 1 + body_len
    total = end + 7
    # Check as much of "10=NNN<SOH>" as has arrived, so a wrong BodyLength is seen early.
    for i in range(end, (total if total < n else n)):
        k = i - end
        if k < 3:
            if p[i] != trailer[k]:
                reason[0] = GARBLED_BODY_LENGTH
                return -1
        elif k < 6:
            if not fix_is_digit(p[i]):
                reason[0] = GARBLED_CHECKSUM
                return -1
        elif p[i] != SOH:
            reason[0] = GARBLED_CHECKSUM
            return -1
    if n < total:
        return 0
    return total


cdef int fix_scan(FixIndex* ix, const char* p, Py_ssize_t n) noexcept nogil:
    """Index the one message that is exactly p[0:n]. Returns 0 or a reason (err_tag set)."""
    cdef int reason = 0
    cdef Py_ssize_t total, end, pos, start, vend
    cdef unsigned int total_sum = 0
    cdef const unsigned char* u = <const unsigned char*>p
    cdef const char* hit
    cdef int32_t tag, prev_tag = 0
    cdef int64_t prev_len = -1, v
    cdef int expected

    ix.buf = p
    ix.n = 0
    ix.seq_num = -1
    ix.err_tag = -1
    ix.err_field = 0
    ix.length = 0
    if n <= 0:
        return GARBLED_INCOMPLETE
    total = fix_frame(p, n, n, &reason)
    if total < 0:
        return reason
    if total == 0:
        return GARBLED_INCOMPLETE
    if total != n:
        return GARBLED_TRAILING_BYTES
    end = total - 7
    for pos in range(end):
        total_sum += u[pos]
    expected = (p[end + 3] - 48) * 100 + (p[end + 4] - 48) * 10 + (p[end + 5] - 48)
    if <int>(total_sum & 255) != expected:
        return GARBLED_CHECKSUM
    ix.length = <uint32_t>total

    pos = 0
    while pos < end:
        start = pos
        tag = 0
        while pos < end and fix_is_digit(p[pos]) and pos - start < 9:
            tag = tag * 10 + (p[pos] - 48)
            pos += 1
        if pos >= end or p[pos] != b'=' or pos == start or p[start] == b'0':
            ix.err_field = ix.n
            ix.err_tag = -1
            return REASON_INVALID_TAG_NUMBER
        pos += 1
        if prev_len >= 0 and prev_tag != 0 and fix_data_length_tag(tag) == prev_tag:
            vend = pos + prev_len
            if vend >= end or p[vend] != SOH:
                ix.err_field = ix.n
                ix.err_tag = tag
                return REASON_INCORRECT_DATA_FORMAT
        else:
            hit = <const char*>memchr(p + pos, SOH, end - pos)
            if hit == NULL:
                # The last value runs into CheckSum: BodyLength did not end on a field.
                return GARBLED_BODY_LENGTH
            vend = hit - p
        if ix.n >= ix.cap:
            return SCAN_INDEX_FULL
        ix.fields[ix.n].tag = tag
        ix.fields[ix.n].off = <uint32_t>pos
        ix.fields[ix.n].len = <uint32_t>(vend - pos)
        ix.n += 1
        prev_len = -1
        if fix42_is_length_tag(tag) and fix_parse_uint(p + pos, vend - pos, &v) == VALUE_OK:
            prev_len = v
        prev_tag = tag
        pos = vend + 1
    if ix.n >= ix.cap:
        return SCAN_INDEX_FULL
    ix.fields[ix.n].tag = 10
    ix.fields[ix.n].off = <uint32_t>(end + 3)
    ix.fields[ix.n].len = 3
    ix.n += 1
    return 0


cdef inline int header_fail(FixIndex* ix, int reason, int32_t tag, int field) noexcept nogil:
    ix.err_tag = tag
    ix.err_field = <uint32_t>(field if field >= 0 else ix.n)
    return reason


cdef int fix_check_header(FixIndex* ix, const char* begin, Py_ssize_t begin_len) noexcept nogil:
    """Checks every message gets: MsgType third, the BeginString wanted, and SenderCompID,
    TargetCompID, MsgSeqNum, SendingTime present with values of the right form. Sets seq_num."""
    cdef int i, k
    cdef int64_t seq
    cdef int32_t tag
    cdef int32_t[4] required = [49, 56, 34, 52]
    if ix.n < 4 or ix.fields[2].tag != 35:
        return GARBLED_MSG_TYPE_NOT_THIRD
    if ix.fields[0].len != begin_len or memcmp(fix_value(ix, 0), begin, begin_len) != 0:
        return header_fail(ix, UNSUPPORTED_BEGIN_STRING, 8, 0)
    if ix.fields[2].len == 0:
        return header_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    # MsgSeqNum first, so every later failure can name the sequence number it refers to.
    i = fix_find(ix, 34, 3, ix.n - 1)
    if i >= 0 and fix_parse_uint(fix_value(ix, i), ix.fields[i].len, &seq) == VALUE_OK and seq > 0:
        ix.seq_num = seq
    for k in range(4):
        tag = required[k]
        i = fix_find(ix, tag, 3, ix.n - 1)
        if i < 0:
            return header_fail(ix, REASON_REQUIRED_TAG_MISSING, tag, -1)
        if ix.fields[i].len == 0:
            return header_fail(ix, REASON_TAG_WITHOUT_VALUE, tag, i)
        if tag == 34 and ix.seq_num < 0:
            if fix_parse_uint(fix_value(ix, i), ix.fields[i].len, &seq) == VALUE_OK:
                return header_fail(ix, REASON_VALUE_OUT_OF_RANGE, tag, i)
            return header_fail(ix, REASON_INCORRECT_DATA_FORMAT, tag, i)
        if tag == 52 and fix_parse_utc_ns(fix_value(ix, i), ix.fields[i].len, &seq) != VALUE_OK:
            return header_fail(ix, REASON_INCORRECT_DATA_FORMAT, tag, i)
    return 0


# The failure codes as compiled, by the Python enum member each stands for (a test compares them
# with fxpipe.fix.enums), and the compiled tag facts, for the same check against fxpipe.fix.tags.
include "vocab_table.pxi"

C_DATA_LENGTH_TAG = {tag: fix_data_length_tag(tag) for tag in range(1, 10000) if fix_is_data_tag(tag)}
C_LENGTH_TAGS = frozenset(tag for tag in range(1, 10000) if fix42_is_length_tag(tag))
C_ENCODER_TAGS = frozenset(tag for tag in range(1, 10000) if fix_encoder_writes(tag))
