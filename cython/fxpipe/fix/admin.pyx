"""Direct paths for the session messages (A, 0, 1, 2, 3, 4, 5): one AdminMessage struct,
encoded into a caller's buffer (PossDupFlag and OrigSendingTime in the header when set, for
resent gap fills) and decoded from a field index with each type's required fields checked."""
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset

from fxpipe.fix.encoder cimport (
    FixWriter,
    fix_finish,
    fix_put_char,
    fix_put_int,
    fix_put_str,
    fix_put_utc,
    fix_start,
)
from fxpipe.fix.fields cimport fix_fail, fix_missing, put_id, read_char, read_id, read_int
from fxpipe.fix.scan cimport REASON_INVALID_MSG_TYPE, REASON_VALUE_OUT_OF_RANGE, fix_value

cdef enum:
    MISSING = -2


cdef inline bint is_admin(char c) noexcept nogil:
    return c == b'A' or (b'0' <= c <= b'5')


cdef void fix_admin_init(AdminMessage* m, char msg_type) noexcept nogil:
    """Zeroes m and marks the optional numbers absent."""
    memset(m, 0, sizeof(AdminMessage))
    m.msg_type = msg_type
    m.ref_tag_id = -1
    m.session_reject_reason = -1
    m.encrypt_method = -1
    m.heart_bt_int = -1
    m.begin_seq_no = -1
    m.end_seq_no = -1
    m.ref_seq_num = -1
    m.new_seq_no = -1


cdef int fix_text_set(FixText* t, const char* p, Py_ssize_t n) noexcept nogil:
    if n > FIX_TEXT_MAX:
        return -1
    memcpy(t.s, p, n)
    t.s[n] = 0
    t.len = <uint16_t>n
    return 0


cdef Py_ssize_t fix_encode_admin(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                 int64_t sending_ns, const AdminMessage* m, Py_ssize_t* start) noexcept nogil:
    cdef FixWriter w
    cdef char mt = m.msg_type
    if not is_admin(mt):
        return MISSING
    if ((mt == b'A' and m.heart_bt_int < 0) or (mt == b'1' and m.test_req_id.len == 0)
            or (mt == b'2' and (m.begin_seq_no < 0 or m.end_seq_no < 0))
            or (mt == b'3' and m.ref_seq_num < 0) or (mt == b'4' and m.new_seq_no < 0)):
        return MISSING
    fix_start(&w, buf, cap, t, &mt, 1, seq, sending_ns)
    if m.poss_dup:
        fix_put_char(&w, 43, m.poss_dup)
    if m.orig_sending_time_ns > 0:
        fix_put_utc(&w, 122, m.orig_sending_time_ns, t.frac_digits)
    if mt == b'A':
        fix_put_int(&w, 98, m.encrypt_method if m.encrypt_method >= 0 else 0)
        fix_put_int(&w, 108, m.heart_bt_int)
        if m.reset_seq_num_flag:
            fix_put_char(&w, 141, m.reset_seq_num_flag)
    elif mt == b'0' or mt == b'1':
        put_id(&w, 112, &m.test_req_id)
    elif mt == b'2':
        fix_put_int(&w, 7, m.begin_seq_no)
        fix_put_int(&w, 16, m.end_seq_no)
    elif mt == b'3':
        fix_put_int(&w, 45, m.ref_seq_num)
        if m.ref_tag_id >= 0:
            fix_put_int(&w, 371, m.ref_tag_id)
        put_id(&w, 372, &m.ref_msg_type)
        if m.session_reject_reason >= 0:
            fix_put_int(&w, 373, m.session_reject_reason)
    elif mt == b'4':
        if m.gap_fill_flag:
            fix_put_char(&w, 123, m.gap_fill_flag)
        fix_put_int(&w, 36, m.new_seq_no)
    if (mt == b'3' or mt == b'5') and m.text.len:
        fix_put_str(&w, 58, m.text.s, m.text.len)
    return fix_finish(&w, t, start)


cdef int fix_decode_admin(FixIndex* ix, AdminMessage* m) noexcept nogil:
    cdef uint32_t i
    cdef int rc = 0
    cdef int32_t tag
    cdef char mt = fix_value(ix, 2)[0]
    if ix.fields[2].len != 1 or not is_admin(mt):
        return fix_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    fix_admin_init(m, mt)
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        if tag == 98:
            rc = read_int(ix, i, &m.encrypt_method)
        elif tag == 108:
            rc = read_int(ix, i, &m.heart_bt_int)
        elif tag == 141:
            rc = read_char(ix, i, &m.reset_seq_num_flag)
        elif tag == 112:
            rc = read_id(ix, i, &m.test_req_id)
        elif tag == 7:
            rc = read_int(ix, i, &m.begin_seq_no)
        elif tag == 16:
            rc = read_int(ix, i, &m.end_seq_no)
        elif tag == 45:
            rc = read_int(ix, i, &m.ref_seq_num)
        elif tag == 371:
            rc = read_int(ix, i, &m.ref_tag_id)
        elif tag == 372:
            rc = read_id(ix, i, &m.ref_msg_type)
        elif tag == 373:
            rc = read_int(ix, i, &m.session_reject_reason)
        elif tag == 123:
            rc = read_char(ix, i, &m.gap_fill_flag)
        elif tag == 36:
            rc = read_int(ix, i, &m.new_seq_no)
        elif tag == 43:
            rc = read_char(ix, i, &m.poss_dup)
        elif tag == 58:
            if fix_text_set(&m.text, fix_value(ix, i), ix.fields[i].len) != 0:
                rc = fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, 58, i)
        if rc:
            return rc
    if mt == b'A':
        if m.encrypt_method < 0:
            return fix_missing(ix, 98)
        if m.heart_bt_int < 0:
            return fix_missing(ix, 108)
    elif mt == b'1' and m.test_req_id.len == 0:
        return fix_missing(ix, 112)
    elif mt == b'2':
        if m.begin_seq_no < 0:
            return fix_missing(ix, 7)
        if m.end_seq_no < 0:
            return fix_missing(ix, 16)
    elif mt == b'3' and m.ref_seq_num < 0:
        return fix_missing(ix, 45)
    elif mt == b'4' and m.new_seq_no < 0:
        return fix_missing(ix, 36)
    return 0
