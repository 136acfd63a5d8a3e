"""The template encoder's out-of-line parts: building a session's pre-rendered header template,
starting a message (MsgType, comp ids, MsgSeqNum, SendingTime) and finishing it (BodyLength
written in place before the body, CheckSum after it). See encoder.pxd for the buffer layout.
"""
from libc.stdint cimport int64_t
from libc.string cimport memcpy

cdef enum:
    BODY_LENGTH_DIGITS = 8


cdef int fix_template_init(FixTemplate* t, const char* begin, Py_ssize_t begin_len,
                           const char* sender, Py_ssize_t sender_len,
                           const char* target, Py_ssize_t target_len,
                           const char* extra, Py_ssize_t extra_len) noexcept nogil:
    """Renders "8=<begin>|9=" and "49=<sender>|56=<target>|<extra>"; -1 if they do not fit.
    extra is already-rendered header fields ("50=DESK|57=FX|"), may be empty."""
    cdef Py_ssize_t need = 3 + sender_len + 1 + 3 + target_len + 1 + extra_len
    if begin_len + 5 > <Py_ssize_t>sizeof(t.begin) or need > FIX_TEMPLATE_MAX:
        return -1
    t.begin[0] = b'8'
    t.begin[1] = b'='
    memcpy(t.begin + 2, begin, begin_len)
    t.begin[2 + begin_len] = 1
    t.begin[3 + begin_len] = b'9'
    t.begin[4 + begin_len] = b'='
    t.begin_len = <int>(5 + begin_len)
    t.reserve = t.begin_len + BODY_LENGTH_DIGITS + 1
    cdef Py_ssize_t k = 0
    memcpy(t.comp, b"49=", 3)
    k = 3
    memcpy(t.comp + k, sender, sender_len)
    k += sender_len
    t.comp[k] = 1
    memcpy(t.comp + k + 1, b"56=", 3)
    k += 4
    memcpy(t.comp + k, target, target_len)
    k += target_len
    t.comp[k] = 1
    k += 1
    memcpy(t.comp + k, extra, extra_len)
    t.comp_len = <int>(k + extra_len)
    t.frac_digits = 3
    return 0


cdef void fix_start(FixWriter* w, char* buf, Py_ssize_t cap, const FixTemplate* t,
                    const char* msg_type, Py_ssize_t msg_type_len,
                    int64_t seq_num, int64_t sending_ns) noexcept nogil:
    """Begins a message in buf[0:cap]: the standard header up to SendingTime."""
    w.buf = buf
    w.cap = cap
    w.pos = t.reserve
    w.body = t.reserve
    w.overflow = cap < t.reserve + FIX_FIELD_SLACK
    if w.overflow:
        return
    fix_put_str(w, 35, msg_type, msg_type_len)
    fix_put_raw(w, t.comp, t.comp_len)
    fix_put_int(w, 34, seq_num)
    fix_put_utc(w, 52, sending_ns, t.frac_digits)


cdef Py_ssize_t fix_finish(FixWriter* w, const FixTemplate* t, Py_ssize_t* start) noexcept nogil:
    """Writes BodyLength before the body and CheckSum after it. Returns the message length
    (the message is buf[start[0]:start[0] + length]) or -1 when the buffer was too small."""
    cdef char digits[20]
    cdef Py_ssize_t nd, s, i
    cdef unsigned int total = 0
    cdef const unsigned char* u
    if w.overflow or w.pos + 7 > w.cap:
        w.overflow = True
        return -1
    nd = fix_format_uint(digits, <unsigned long long>(w.pos - w.body))
    if nd > BODY_LENGTH_DIGITS:
        w.overflow = True
        return -1
    s = w.body - 1 - nd - t.begin_len
    memcpy(w.buf + s, t.begin, t.begin_len)
    memcpy(w.buf + s + t.begin_len, digits, nd)
    w.buf[w.body - 1] = 1
    u = <const unsigned char*>(w.buf + s)
    for i in range(w.pos - s):
        total += u[i]
    total &= 255
    w.buf[w.pos] = b'1'
    w.buf[w.pos + 1] = b'0'
    w.buf[w.pos + 2] = b'='
    w.buf[w.pos + 3] = <char>(48 + total // 100)
    w.buf[w.pos + 4] = <char>(48 + total // 10 % 10)
    w.buf[w.pos + 5] = <char>(48 + total % 10)
    w.buf[w.pos + 6] = 1
    w.pos += 7
    start[0] = s
    return w.pos - s


# --- Python API ---------------------------------------------------------------------------

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Realloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t
from libc.string cimport memchr

from fxpipe.fix.scan cimport fix_encoder_writes, fix_is_data_tag
from fxpipe.model.numbers cimport PRICE_SCALE, QTY_SCALE, format_scaled_dp

cdef char* g_scratch = NULL
cdef Py_ssize_t g_scratch_cap = 0


cdef int grow_scratch(Py_ssize_t cap) except -1:
    global g_scratch, g_scratch_cap
    cdef char* p = <char*>PyMem_Realloc(g_scratch, cap)
    if p == NULL:
        raise MemoryError()
    g_scratch = p
    g_scratch_cap = cap
    return 0


cdef int put_value(FixWriter* w, object item, bint in_header) except -1:
    """Writes one (tag, value) pair; value is bytes, str, int or bool (Y/N)."""
    cdef const char* p
    cdef Py_ssize_t n
    cdef int32_t tag
    tag_obj, value = item
    if not (type(tag_obj) is int or (isinstance(tag_obj, int) and type(tag_obj) is not bool)) \
            or not 0 < tag_obj < 1000000000:
        raise ValueError(f"encode: tag {tag_obj!r} is not a positive FIX tag number")
    tag = tag_obj
    if fix_encoder_writes(tag):
        raise ValueError(f"encode: tag {tag} is written by encode itself; pass it as its argument")
    if type(value) is bytes:
        p = PyBytes_AS_STRING(value)
        n = PyBytes_GET_SIZE(value)
    elif type(value) is str:
        p = PyUnicode_AsUTF8AndSize(value, &n)
    elif type(value) is bool:
        fix_put_char(w, tag, b'Y' if value else b'N')
        return 0
    elif isinstance(value, int):
        fix_put_int(w, tag, value)
        return 0
    elif isinstance(value, (bytes, str)):
        return put_value(w, (tag, bytes(value) if isinstance(value, bytes) else str(value)), in_header)
    else:
        raise TypeError(f"encode: tag {tag} value {value!r} is a {type(value).__name__}; FIX values "
                        "are bytes, str or int (prices and quantities as exact decimal text)")
    if n == 0:
        raise ValueError(f"encode: tag {tag} has an empty value; FIX forbids a tag without a value")
    if memchr(p, 1, n) != NULL and not fix_is_data_tag(tag):
        raise ValueError(f"encode: tag {tag} value contains SOH (0x01), allowed only in data fields")
    fix_put_str(w, tag, p, n)
    return 0


cdef int template_from(FixTemplate* t, object begin_string, object sender, object target,
                       bytes extra) except -1:
    b = begin_string.encode("ascii") if isinstance(begin_string, str) else bytes(begin_string)
    s = sender.encode("ascii") if isinstance(sender, str) else bytes(sender)
    d = target.encode("ascii") if isinstance(target, str) else bytes(target)
    for name, v in (("sender_comp_id", s), ("target_comp_id", d), ("begin_string", b)):
        if not v or b"\x01" in v:
            raise ValueError(f"encode: {name} {v!r} must be non-empty and free of SOH")
    if fix_template_init(t, b, len(b), s, len(s), d, len(d), extra, len(extra)) != 0:
        raise ValueError("encode: comp ids and fixed header fields exceed "
                         f"{FIX_TEMPLATE_MAX} bytes")
    return 0


cdef bytes render_fields(object fields):
    """Pre-renders (tag, value) pairs into "tag=value<SOH>..." bytes."""
    cdef FixWriter w
    cdef char buf[FIX_TEMPLATE_MAX]
    w.buf = buf
    w.cap = FIX_TEMPLATE_MAX
    w.pos = 0
    w.body = 0
    w.overflow = False
    for item in fields:
        put_value(&w, item, True)
    if w.overflow:
        raise ValueError(f"encode: fixed header fields exceed {FIX_TEMPLATE_MAX} bytes")
    return PyBytes_FromStringAndSize(buf, w.pos)


def render(fields):
    """(tag, value) pairs as the encoder writes them into a body: "tag=value<SOH>..." bytes,
    which encode() and Encoder.encode() also take as a body, written as they are."""
    return render_fields(fields)


cdef inline void put_scaled(FixWriter* w, int32_t tag, int64_t v, int scale, int min_decimals) noexcept nogil:
    cdef Py_ssize_t k
    if fix_room(w, 24):
        fix_put_tag(w, tag)
        k = format_scaled_dp(v, scale, min_decimals, w.buf + w.pos, 24)
        if k < 0:
            w.overflow = True
            return
        w.pos += k
        w.buf[w.pos] = 1
        w.pos += 1


def order_body(bint new, bint cancel, int64_t orig_cl_ord_id, int64_t cl_ord_id, bytes fixed, int side,
               int64_t transact_ns, int64_t qty_e2, int ord_type, bint limit, int64_t price_e8,
               int price_decimals, int time_in_force):
    """The body of an order request (D, F or G) as the venue adapters lay it out, rendered in one
    call: OrigClOrdID (41, unless new), ClOrdID (11), `fixed` (the fields that depend only on
    the venue, the instrument and the action, see render()), Side (54), TransactTime (60, ms),
    OrderQty (38), then unless a cancel OrdType (40), Price (44, at least price_decimals
    decimals, when limit) and TimeInForce (59)."""
    return order_body_c(new, cancel, orig_cl_ord_id, cl_ord_id, fixed, side, transact_ns, qty_e2, ord_type, limit,
                        price_e8, price_decimals, time_in_force)


cdef bytes order_body_c(bint new, bint cancel, int64_t orig_cl_ord_id, int64_t cl_ord_id, bytes fixed, int side,
                        int64_t transact_ns, int64_t qty_e2, int ord_type, bint limit, int64_t price_e8,
                        int price_decimals, int time_in_force):
    cdef char buf[1024]
    cdef FixWriter w
    if PyBytes_GET_SIZE(fixed) > 512:
        raise ValueError("order_body: more than 512 bytes of fixed fields")
    w.buf = buf
    w.cap = sizeof(buf)
    w.pos = 0
    w.body = 0
    w.overflow = False
    if not new:
        fix_put_int(&w, 41, orig_cl_ord_id)
    fix_put_int(&w, 11, cl_ord_id)
    fix_put_raw(&w, PyBytes_AS_STRING(fixed), PyBytes_GET_SIZE(fixed))
    fix_put_char(&w, 54, <char>side)
    fix_put_utc(&w, 60, transact_ns, 3)
    put_scaled(&w, 38, qty_e2, QTY_SCALE, 0)
    if not cancel:
        fix_put_char(&w, 40, <char>ord_type)
        if limit:
            put_scaled(&w, 44, price_e8, PRICE_SCALE, price_decimals)
        fix_put_char(&w, 59, <char>time_in_force)
    if w.overflow:
        raise ValueError(f"order_body: a value cannot be written (price_decimals {price_decimals}?)")
    return PyBytes_FromStringAndSize(buf, w.pos)


cdef bytes build(const FixTemplate* t, object msg_type, int64_t seq, int64_t sending_ns,
                 object header, object body):
    cdef FixWriter w
    cdef Py_ssize_t n, start, mt_len
    cdef const char* mt
    if isinstance(msg_type, str):
        mt = PyUnicode_AsUTF8AndSize(msg_type, &mt_len)
    else:
        mt = PyBytes_AS_STRING(msg_type)
        mt_len = PyBytes_GET_SIZE(msg_type)
    if mt_len == 0 or memchr(mt, 1, mt_len) != NULL:
        raise ValueError(f"encode: MsgType {msg_type!r} must be non-empty and free of SOH")
    if seq <= 0:
        raise ValueError(f"encode: MsgSeqNum {seq} must be positive")
    if g_scratch_cap == 0:
        grow_scratch(4096)
    while True:
        fix_start(&w, g_scratch, g_scratch_cap, t, mt, mt_len, seq, sending_ns)
        for item in header:
            put_value(&w, item, True)
        if type(body) is bytes:
            # fields rendered already (order_body, render): "tag=value<SOH>..." as they are
            fix_put_raw(&w, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
        else:
            for item in body:
                put_value(&w, item, False)
        n = fix_finish(&w, t, &start)
        if n >= 0:
            return PyBytes_FromStringAndSize(g_scratch + start, n)
        if g_scratch_cap >= (1 << 26):
            raise ValueError("encode: message larger than 64 MiB")
        grow_scratch(g_scratch_cap * 4)


def encode(msg_type, sender_comp_id, target_comp_id, int64_t msg_seq_num, int64_t sending_time_ns,
           body, *, header=(), begin_string="FIX.4.2"):
    """One FIX message as bytes: 8, 9, 35, 49, 56, 34, 52 (millisecond UTCTimestamp), then the
    header pairs (e.g. PossDupFlag, OrigSendingTime), the body pairs, and CheckSum. Values are
    bytes, str, int, or bool (written Y/N); BodyLength and CheckSum are computed."""
    # A session sends with the same comp ids every time: reuse its rendered template.
    key = (sender_comp_id, target_comp_id, begin_string)
    try:
        enc = g_encoders.get(key)
    except TypeError:      # an unhashable comp id (bytearray): no caching
        enc = key = None
    if key is None:
        return Encoder(sender_comp_id, target_comp_id, begin_string=begin_string).encode(
            msg_type, msg_seq_num, sending_time_ns, body, header)
    if enc is None:
        enc = Encoder(sender_comp_id, target_comp_id, begin_string=begin_string)
        if len(g_encoders) >= 256:
            g_encoders.clear()
        g_encoders[key] = enc
    return build(&(<Encoder>enc).t, msg_type, msg_seq_num, sending_time_ns, header, body)


cdef dict g_encoders = {}


cdef class Encoder:
    """A session's encoder: the fixed header (BeginString, comp ids, sub ids...) pre-rendered
    once, so each message costs only its own fields."""

    def __init__(self, sender_comp_id, target_comp_id, *, header=(), begin_string="FIX.4.2",
                 int frac_digits=3):
        if frac_digits not in (0, 3, 6, 9):
            raise ValueError("Encoder: frac_digits is 0, 3, 6 or 9")
        template_from(&self.t, begin_string, sender_comp_id, target_comp_id, render_fields(header))
        self.t.frac_digits = frac_digits

    def encode(self, msg_type, int64_t msg_seq_num, int64_t sending_time_ns, body, header=()):
        return build(&self.t, msg_type, msg_seq_num, sending_time_ns, header, body)

    cdef bytes encode_c(self, object msg_type, int64_t msg_seq_num, int64_t sending_time_ns, object body,
                        object header):
        """encode() for a Cython caller (the session's outbox): no Python call."""
        return build(&self.t, msg_type, msg_seq_num, sending_time_ns, header, body)


def format_utc_timestamp(int64_t ns, bint millis=True):
    """ns since the epoch as a FIX UTCTimestamp: YYYYMMDD-HH:MM:SS.sss (or whole seconds)."""
    cdef char buf[32]
    if ns < -9214560000000000000 or ns > 9214646400000000000:
        raise ValueError(f"format_utc_timestamp: {ns} ns is outside the years 1678..2261")
    return PyBytes_FromStringAndSize(buf, fix_format_utc(buf, ns, 3 if millis else 0)).decode("ascii")
