"""The standard-header facts a session checks (MsgSeqNum, SendingTime, PossDupFlag,
PossResend, OrigSendingTime) read from an index in one pass. The inline readers and writers the
direct message paths share are in fields.pxd."""


cdef int fix_read_header(FixIndex* ix, FixHeaderInfo* h) noexcept nogil:
    """Fills h from a message that passed fix_check_header; 0 or a reason."""
    cdef uint32_t i
    cdef int r
    cdef int32_t tag
    h.seq_num = ix.seq_num
    h.sending_time_ns = 0
    h.orig_sending_time_ns = 0
    h.poss_dup = 0
    h.poss_resend = 0
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        r = 0
        if tag == 52:
            r = read_utc(ix, i, &h.sending_time_ns)
        elif tag == 122:
            r = read_utc(ix, i, &h.orig_sending_time_ns)
        elif tag == 43:
            r = read_char(ix, i, &h.poss_dup)
        elif tag == 97:
            r = read_char(ix, i, &h.poss_resend)
        if r:
            return r
    if h.seq_num <= 0:
        return fix_missing(ix, 34)
    return 0


# --- Python <-> struct helpers for the Python wrappers of the direct paths ----------------

cdef int py_id(FixId* d, object value, str name) except -1:
    """Sets d from str/bytes (None or "" leaves it unset)."""
    if value is None:
        d.len = 0
        d.s[0] = 0
        return 0
    raw = value.encode("ascii") if isinstance(value, str) else bytes(value)
    if b"\x01" in raw or id_set(d, raw, len(raw)) != 0:
        raise ValueError(f"{name}: {value!r} is longer than {FIX_ID_MAX} bytes or holds SOH")
    return 0


cdef char py_char(object value, str name, bint optional) except? -1:
    if value is None or value == "":
        if optional:
            return 0
        raise ValueError(f"{name} is required")
    if not isinstance(value, str) or len(value) != 1 or not 32 < ord(value) < 127:
        raise ValueError(f"{name}: {value!r} is not one printable character")
    return <char>ord(value)


cdef object id_str(const FixId* v):
    return v.s[:v.len].decode("latin-1") if v.len else None


cdef object char_str(char c):
    return chr(<unsigned char>c) if c else None
