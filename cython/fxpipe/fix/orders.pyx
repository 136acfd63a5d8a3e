"""Direct paths for the order-entry messages (D, F, G, H, 8, 9): C structs encoded straight
into a caller's buffer and decoded straight from a field index, plus thin Python wrappers (dicts
in, dicts out) for tools and tests. The C functions return -1 when the buffer is too small and
-2 when a field the message type requires is unset; decoders return a SessionRejectReason."""
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memset

from fxpipe.fix.encoder cimport (
    FixWriter,
    fix_finish,
    fix_put_char,
    fix_put_decimal,
    fix_put_int,
    fix_put_utc,
    fix_start,
)
from fxpipe.fix.fields cimport (
    fix_fail,
    fix_missing,
    put_id,
    read_char,
    read_id,
    read_int,
    read_scaled,
    read_utc,
)
from fxpipe.fix.scan cimport REASON_INVALID_MSG_TYPE, fix_value
from fxpipe.model.numbers cimport PRICE_SCALE, QTY_SCALE

cdef enum:
    MISSING = -2


cdef inline bint has_price(char ord_type) noexcept nogil:
    # Limit, stop-limit, limit-with-or-without, limit-on-close, previously quoted: 44 applies.
    return ord_type == b'2' or ord_type == b'4' or ord_type == b'7' or ord_type == b'B' or ord_type == b'D'


cdef Py_ssize_t fix_encode_order(char* buf, Py_ssize_t cap, const FixTemplate* t, char msg_type,
                                 int64_t seq, int64_t sending_ns, const OrderRequest* o,
                                 Py_ssize_t* start) noexcept nogil:
    cdef FixWriter w
    cdef bint new = msg_type == b'D', cancel = msg_type == b'F', replace = msg_type == b'G'
    if not (new or cancel or replace or msg_type == b'H'):
        return MISSING
    if o.cl_ord_id.len == 0 or o.symbol.len == 0 or o.side == 0:
        return MISSING
    if (cancel or replace) and o.orig_cl_ord_id.len == 0:
        return MISSING
    if (new or replace) and (o.ord_type == 0 or o.order_qty_e2 < 0 or
                             (has_price(o.ord_type) and o.price_e8 < 0)):
        return MISSING
    fix_start(&w, buf, cap, t, &msg_type, 1, seq, sending_ns)
    if not new:
        put_id(&w, 37, &o.order_id)
        put_id(&w, 41, &o.orig_cl_ord_id)
    put_id(&w, 11, &o.cl_ord_id)
    if new or replace:
        put_id(&w, 1, &o.account)
        fix_put_char(&w, 21, o.handl_inst if o.handl_inst else b'1')
    put_id(&w, 55, &o.symbol)
    fix_put_char(&w, 54, o.side)
    if msg_type != b'H':
        fix_put_utc(&w, 60, o.transact_time_ns, t.frac_digits)
        if o.order_qty_e2 >= 0:
            fix_put_decimal(&w, 38, o.order_qty_e2, QTY_SCALE)
        put_id(&w, 15, &o.currency)
    if new or replace:
        fix_put_char(&w, 40, o.ord_type)
        if has_price(o.ord_type):
            fix_put_decimal(&w, 44, o.price_e8, PRICE_SCALE)
        if o.time_in_force:
            fix_put_char(&w, 59, o.time_in_force)
        if o.expire_time_ns:
            fix_put_utc(&w, 126, o.expire_time_ns, t.frac_digits)
    return fix_finish(&w, t, start)


cdef Py_ssize_t fix_encode_execution_report(char* buf, Py_ssize_t cap, const FixTemplate* t,
                                            int64_t seq, int64_t sending_ns, const ExecutionReport* e,
                                            Py_ssize_t* start) noexcept nogil:
    cdef FixWriter w
    if (e.order_id.len == 0 or e.exec_id.len == 0 or e.symbol.len == 0 or e.exec_trans_type == 0
            or e.exec_type == 0 or e.ord_status == 0 or e.side == 0):
        return MISSING
    fix_start(&w, buf, cap, t, b"8", 1, seq, sending_ns)
    put_id(&w, 37, &e.order_id)
    put_id(&w, 11, &e.cl_ord_id)
    put_id(&w, 41, &e.orig_cl_ord_id)
    put_id(&w, 17, &e.exec_id)
    fix_put_char(&w, 20, e.exec_trans_type)
    put_id(&w, 19, &e.exec_ref_id)
    fix_put_char(&w, 150, e.exec_type)
    fix_put_char(&w, 39, e.ord_status)
    if e.ord_rej_reason >= 0:
        fix_put_int(&w, 103, e.ord_rej_reason)
    put_id(&w, 55, &e.symbol)
    fix_put_char(&w, 54, e.side)
    if e.order_qty_e2 >= 0:
        fix_put_decimal(&w, 38, e.order_qty_e2, QTY_SCALE)
    if e.ord_type:
        fix_put_char(&w, 40, e.ord_type)
    if e.price_e8 >= 0:
        fix_put_decimal(&w, 44, e.price_e8, PRICE_SCALE)
    if e.time_in_force:
        fix_put_char(&w, 59, e.time_in_force)
    fix_put_decimal(&w, 32, e.last_qty_e2, QTY_SCALE)
    fix_put_decimal(&w, 31, e.last_px_e8, PRICE_SCALE)
    fix_put_decimal(&w, 151, e.leaves_qty_e2, QTY_SCALE)
    fix_put_decimal(&w, 14, e.cum_qty_e2, QTY_SCALE)
    fix_put_decimal(&w, 6, e.avg_px_e8, PRICE_SCALE)
    if e.transact_time_ns:
        fix_put_utc(&w, 60, e.transact_time_ns, t.frac_digits)
    put_id(&w, 15, &e.currency)
    return fix_finish(&w, t, start)


cdef Py_ssize_t fix_encode_order_cancel_reject(char* buf, Py_ssize_t cap, const FixTemplate* t,
                                               int64_t seq, int64_t sending_ns,
                                               const OrderCancelReject* r, Py_ssize_t* start) noexcept nogil:
    cdef FixWriter w
    if (r.order_id.len == 0 or r.cl_ord_id.len == 0 or r.orig_cl_ord_id.len == 0 or r.ord_status == 0
            or r.cxl_rej_response_to == 0):
        return MISSING
    fix_start(&w, buf, cap, t, b"9", 1, seq, sending_ns)
    put_id(&w, 37, &r.order_id)
    put_id(&w, 11, &r.cl_ord_id)
    put_id(&w, 41, &r.orig_cl_ord_id)
    fix_put_char(&w, 39, r.ord_status)
    fix_put_char(&w, 434, r.cxl_rej_response_to)
    if r.cxl_rej_reason >= 0:
        fix_put_int(&w, 102, r.cxl_rej_reason)
    return fix_finish(&w, t, start)


cdef int fix_decode_order(FixIndex* ix, OrderRequest* o) noexcept nogil:
    cdef uint32_t i
    cdef int r = 0
    cdef int32_t tag
    cdef char mt = fix_value(ix, 2)[0]
    if ix.fields[2].len != 1 or not (mt == b'D' or mt == b'F' or mt == b'G' or mt == b'H'):
        return fix_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    memset(o, 0, sizeof(OrderRequest))
    o.order_qty_e2 = -1
    o.price_e8 = -1
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        if tag == 11:
            r = read_id(ix, i, &o.cl_ord_id)
        elif tag == 41:
            r = read_id(ix, i, &o.orig_cl_ord_id)
        elif tag == 37:
            r = read_id(ix, i, &o.order_id)
        elif tag == 55:
            r = read_id(ix, i, &o.symbol)
        elif tag == 1:
            r = read_id(ix, i, &o.account)
        elif tag == 15:
            r = read_id(ix, i, &o.currency)
        elif tag == 54:
            r = read_char(ix, i, &o.side)
        elif tag == 40:
            r = read_char(ix, i, &o.ord_type)
        elif tag == 59:
            r = read_char(ix, i, &o.time_in_force)
        elif tag == 21:
            r = read_char(ix, i, &o.handl_inst)
        elif tag == 38:
            r = read_scaled(ix, i, QTY_SCALE, &o.order_qty_e2)
        elif tag == 44:
            r = read_scaled(ix, i, PRICE_SCALE, &o.price_e8)
        elif tag == 60:
            r = read_utc(ix, i, &o.transact_time_ns)
        elif tag == 126:
            r = read_utc(ix, i, &o.expire_time_ns)
        if r:
            return r
    if o.cl_ord_id.len == 0:
        return fix_missing(ix, 11)
    if o.symbol.len == 0:
        return fix_missing(ix, 55)
    if o.side == 0:
        return fix_missing(ix, 54)
    if (mt == b'F' or mt == b'G') and o.orig_cl_ord_id.len == 0:
        return fix_missing(ix, 41)
    if mt == b'D' or mt == b'G':
        if o.ord_type == 0:
            return fix_missing(ix, 40)
        if o.order_qty_e2 < 0:
            return fix_missing(ix, 38)     # FX orders always carry OrderQty (not CashOrderQty)
        if has_price(o.ord_type) and o.price_e8 < 0:
            return fix_missing(ix, 44)
    return 0


cdef int fix_decode_execution_report(FixIndex* ix, ExecutionReport* e) noexcept nogil:
    cdef uint32_t i
    cdef int r = 0
    cdef int32_t tag
    cdef bint leaves = False, cum = False, avg = False
    if ix.fields[2].len != 1 or fix_value(ix, 2)[0] != b'8':
        return fix_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    memset(e, 0, sizeof(ExecutionReport))
    e.ord_rej_reason = -1
    e.order_qty_e2 = -1
    e.price_e8 = -1
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        if tag == 37:
            r = read_id(ix, i, &e.order_id)
        elif tag == 11:
            r = read_id(ix, i, &e.cl_ord_id)
        elif tag == 41:
            r = read_id(ix, i, &e.orig_cl_ord_id)
        elif tag == 17:
            r = read_id(ix, i, &e.exec_id)
        elif tag == 19:
            r = read_id(ix, i, &e.exec_ref_id)
        elif tag == 55:
            r = read_id(ix, i, &e.symbol)
        elif tag == 15:
            r = read_id(ix, i, &e.currency)
        elif tag == 20:
            r = read_char(ix, i, &e.exec_trans_type)
        elif tag == 150:
            r = read_char(ix, i, &e.exec_type)
        elif tag == 39:
            r = read_char(ix, i, &e.ord_status)
        elif tag == 54:
            r = read_char(ix, i, &e.side)
        elif tag == 40:
            r = read_char(ix, i, &e.ord_type)
        elif tag == 59:
            r = read_char(ix, i, &e.time_in_force)
        elif tag == 103:
            r = read_int(ix, i, &e.ord_rej_reason)
        elif tag == 38:
            r = read_scaled(ix, i, QTY_SCALE, &e.order_qty_e2)
        elif tag == 44:
            r = read_scaled(ix, i, PRICE_SCALE, &e.price_e8)
        elif tag == 32:
            r = read_scaled(ix, i, QTY_SCALE, &e.last_qty_e2)
        elif tag == 31:
            r = read_scaled(ix, i, PRICE_SCALE, &e.last_px_e8)
        elif tag == 151:
            r = read_scaled(ix, i, QTY_SCALE, &e.leaves_qty_e2)
            leaves = True
        elif tag == 14:
            r = read_scaled(ix, i, QTY_SCALE, &e.cum_qty_e2)
            cum = True
        elif tag == 6:
            r = read_scaled(ix, i, PRICE_SCALE, &e.avg_px_e8)
            avg = True
        elif tag == 60:
            r = read_utc(ix, i, &e.transact_time_ns)
        if r:
            return r
    if e.order_id.len == 0:
        return fix_missing(ix, 37)
    if e.exec_id.len == 0:
        return fix_missing(ix, 17)
    if e.exec_trans_type == 0:
        return fix_missing(ix, 20)
    if e.exec_type == 0:
        return fix_missing(ix, 150)
    if e.ord_status == 0:
        return fix_missing(ix, 39)
    if e.symbol.len == 0:
        return fix_missing(ix, 55)
    if e.side == 0:
        return fix_missing(ix, 54)
    if not leaves:
        return fix_missing(ix, 151)
    if not cum:
        return fix_missing(ix, 14)
    if not avg:
        return fix_missing(ix, 6)
    return 0


cdef int fix_decode_order_cancel_reject(FixIndex* ix, OrderCancelReject* c) noexcept nogil:
    cdef uint32_t i
    cdef int r = 0
    cdef int32_t tag
    if ix.fields[2].len != 1 or fix_value(ix, 2)[0] != b'9':
        return fix_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    memset(c, 0, sizeof(OrderCancelReject))
    c.cxl_rej_reason = -1
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        if tag == 37:
            r = read_id(ix, i, &c.order_id)
        elif tag == 11:
            r = read_id(ix, i, &c.cl_ord_id)
        elif tag == 41:
            r = read_id(ix, i, &c.orig_cl_ord_id)
        elif tag == 39:
            r = read_char(ix, i, &c.ord_status)
        elif tag == 434:
            r = read_char(ix, i, &c.cxl_rej_response_to)
        elif tag == 102:
            r = read_int(ix, i, &c.cxl_rej_reason)
        if r:
            return r
    if c.order_id.len == 0:
        return fix_missing(ix, 37)
    if c.cl_ord_id.len == 0:
        return fix_missing(ix, 11)
    if c.orig_cl_ord_id.len == 0:
        return fix_missing(ix, 41)
    if c.ord_status == 0:
        return fix_missing(ix, 39)
    if c.cxl_rej_response_to == 0:
        return fix_missing(ix, 434)
    return 0
