# The template encoder: writes a FIX message into a caller's buffer with no Python objects.
#
#   buf: [ reserve .................. ][ 35=D|49=..|56=..|34=..|52=..|body... ][10=NNN|]
#                      ^ start        ^ body
#   fix_start leaves `reserve` bytes before the body; fix_finish writes "8=FIX.4.2|9=LEN|"
#   right-aligned into them (BodyLength known only then), so the message starts at `start`, and
#   appends the CheckSum. Nothing is moved or copied twice.
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy

from fxpipe.fix.values cimport fix_format_int, fix_format_uint, fix_format_utc
from fxpipe.model.numbers cimport format_scaled

cdef enum:
    FIX_TEMPLATE_MAX = 512     # pre-rendered header bytes (comp ids and fixed header fields)
    FIX_FIELD_SLACK = 40       # bytes beyond a value a put may need: tag, '=', SOH, number text

ctypedef struct FixTemplate:
    char begin[24]             # "8=FIX.4.2<SOH>9="
    int begin_len
    int reserve                # bytes kept before the body: begin + 8 length digits + SOH
    char comp[FIX_TEMPLATE_MAX]    # "49=SENDER<SOH>56=TARGET<SOH>" + fixed header fields
    int comp_len
    int frac_digits            # SendingTime precision: 3 (FIX 4.2 millis), 0, 6 or 9

ctypedef struct FixWriter:
    char* buf
    Py_ssize_t cap
    Py_ssize_t pos
    Py_ssize_t body
    bint overflow

cdef int fix_template_init(FixTemplate* t, const char* begin, Py_ssize_t begin_len,
                           const char* sender, Py_ssize_t sender_len,
                           const char* target, Py_ssize_t target_len,
                           const char* extra, Py_ssize_t extra_len) noexcept nogil
cdef void fix_start(FixWriter* w, char* buf, Py_ssize_t cap, const FixTemplate* t,
                    const char* msg_type, Py_ssize_t msg_type_len,
                    int64_t seq_num, int64_t sending_ns) noexcept nogil
cdef Py_ssize_t fix_finish(FixWriter* w, const FixTemplate* t, Py_ssize_t* start) noexcept nogil

cdef inline bint fix_room(FixWriter* w, Py_ssize_t n) noexcept nogil:
    if w.pos + n + FIX_FIELD_SLACK > w.cap:
        w.overflow = True
        return False
    return True

cdef inline void fix_put_tag(FixWriter* w, int32_t tag) noexcept nogil:
    # Caller checked room; a tag is at most 10 digits.
    w.pos += fix_format_uint(w.buf + w.pos, <unsigned long long>tag)
    w.buf[w.pos] = b'='
    w.pos += 1

cdef inline void fix_put_raw(FixWriter* w, const char* p, Py_ssize_t n) noexcept nogil:
    """Pre-rendered bytes, e.g. b"54=1\\x01" or a whole block of fixed fields."""
    if fix_room(w, n):
        memcpy(w.buf + w.pos, p, n)
        w.pos += n

cdef inline void fix_put_str(FixWriter* w, int32_t tag, const char* p, Py_ssize_t n) noexcept nogil:
    if fix_room(w, n):
        fix_put_tag(w, tag)
        memcpy(w.buf + w.pos, p, n)
        w.pos += n
        w.buf[w.pos] = 1
        w.pos += 1

cdef inline void fix_put_char(FixWriter* w, int32_t tag, char c) noexcept nogil:
    if fix_room(w, 1):
        fix_put_tag(w, tag)
        w.buf[w.pos] = c
        w.buf[w.pos + 1] = 1
        w.pos += 2

cdef inline void fix_put_int(FixWriter* w, int32_t tag, int64_t v) noexcept nogil:
    if fix_room(w, 21):
        fix_put_tag(w, tag)
        w.pos += fix_format_int(w.buf + w.pos, v)
        w.buf[w.pos] = 1
        w.pos += 1

cdef inline void fix_put_decimal(FixWriter* w, int32_t tag, int64_t v, int scale) noexcept nogil:
    """An exact scaled integer as decimal text: price_e8 108345000 -> "1.08345"."""
    cdef Py_ssize_t k
    if fix_room(w, 22):
        fix_put_tag(w, tag)
        k = format_scaled(v, scale, w.buf + w.pos, 24)
        if k < 0:
            w.overflow = True      # a scale outside 0..18: refuse the message, never guess
            return
        w.pos += k
        w.buf[w.pos] = 1
        w.pos += 1

cdef inline void fix_put_utc(FixWriter* w, int32_t tag, int64_t ns, int frac_digits) noexcept nogil:
    if fix_room(w, 28):
        fix_put_tag(w, tag)
        w.pos += fix_format_utc(w.buf + w.pos, ns, frac_digits)
        w.buf[w.pos] = 1
        w.pos += 1


# an order request's body (D, F, G) as the venue adapters lay it out (order_body())
cdef bytes order_body_c(bint new, bint cancel, int64_t orig_cl_ord_id, int64_t cl_ord_id, bytes fixed, int side,
                        int64_t transact_ns, int64_t qty_e2, int ord_type, bint limit, int64_t price_e8,
                        int price_decimals, int time_in_force)

cdef class Encoder:
    cdef FixTemplate t
    cdef bytes encode_c(self, object msg_type, int64_t msg_seq_num, int64_t sending_time_ns, object body,
                        object header)
