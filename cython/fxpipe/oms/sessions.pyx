"""Order-session edges and request timeouts (see sessions.pxd). An order with a request in
flight when its session drops, or whose request outlives its timeout, is UNKNOWN: never taken
for rejected, resolved only by what the venue says next (reports.pyx)."""
from libc.stdint cimport int32_t, int64_t, uint16_t

from fxpipe.model.events cimport (
    EXEC_TRANS_STATUS,
    EXEC_TYPE_RESTATED,
    FLAG_SYNTHETIC,
    ORD_STATUS_UNKNOWN,
)
from fxpipe.oms.book cimport (
    DISP_APPLIED,
    DISP_STALE,
    OmsOrder,
    OrderBook,
    REQ_PENDING,
    REQ_UNKNOWN,
    ReportOutcome,
    VENUE_DOWN,
    VENUE_RECONCILING,
    VENUE_UP,
    book_order_view,
    note_event_time,
    report_outcome_reset,
    set_base_status,
    status_is_done,
)
from fxpipe.oms.index cimport id_index_get


cdef inline void mark_unknown(OrderBook* b, OmsOrder* o, int32_t req) noexcept nogil:
    if req >= 0 and b.requests[req].state == REQ_PENDING:
        b.requests[req].state = REQ_UNKNOWN


cdef bint in_flight(const OrderBook* b, const OmsOrder* o) noexcept nogil:
    return (o.cancel_req >= 0 or o.replace_req >= 0
            or (not o.acked and o.new_req >= 0 and b.requests[o.new_req].state == REQ_PENDING))


cdef int32_t book_session_down(OrderBook* b, uint16_t venue_id, int64_t now_ns) noexcept nogil:
    cdef int32_t i, n = 0
    cdef OmsOrder* o
    note_event_time(b, now_ns)
    b.venue_state[venue_id] = VENUE_DOWN
    for i in range(b.n_orders):
        o = &b.orders[i]
        if (o.venue_id != venue_id or status_is_done(o.base_status)
                or o.base_status == ORD_STATUS_UNKNOWN or not in_flight(b, o)):
            continue
        if not o.acked:
            mark_unknown(b, o, o.new_req)
        mark_unknown(b, o, o.cancel_req)
        mark_unknown(b, o, o.replace_req)
        set_base_status(b, o, ORD_STATUS_UNKNOWN)
        o.last_event_ns = now_ns
        n += 1
    return n


cdef void book_session_up(OrderBook* b, uint16_t venue_id, int64_t now_ns) noexcept nogil:
    note_event_time(b, now_ns)
    if b.venue_state[venue_id] == VENUE_DOWN:
        b.venue_state[venue_id] = VENUE_RECONCILING if b.venue_unknown[venue_id] else VENUE_UP


cdef int32_t book_next_unknown(const OrderBook* b, uint16_t venue_id, int32_t start) noexcept nogil:
    cdef int32_t i
    for i in range(start if start > 0 else 0, b.n_orders):
        if b.orders[i].venue_id == venue_id and b.orders[i].base_status == ORD_STATUS_UNKNOWN:
            return i
    return -1


cdef int32_t book_next_open(const OrderBook* b, uint16_t venue_id, int32_t start) noexcept nogil:
    """Orders a reconciliation asks about: not done (UNKNOWN included)."""
    cdef int32_t i
    for i in range(start if start > 0 else 0, b.n_orders):
        if b.orders[i].venue_id == venue_id and not status_is_done(b.orders[i].base_status):
            return i
    return -1


cdef void book_on_timeout(OrderBook* b, int64_t cl_ord_id, int64_t now_ns,
                          ReportOutcome* out) noexcept nogil:
    cdef int32_t r = id_index_get(&b.by_cl_ord_id, cl_ord_id) if cl_ord_id > 0 else -1
    cdef OmsOrder* o
    report_outcome_reset(out, DISP_STALE)
    note_event_time(b, now_ns)
    if r < 0 or b.requests[r].state != REQ_PENDING:
        return
    b.requests[r].state = REQ_UNKNOWN
    out.order_index = b.requests[r].order_index
    o = &b.orders[out.order_index]
    if not status_is_done(o.base_status):
        set_base_status(b, o, ORD_STATUS_UNKNOWN)
    o.last_event_ns = now_ns
    out.disposition = DISP_APPLIED
    out.publish = 1
    out.status_request = 1
    book_order_view(b, out.order_index, &out.update)
    out.update.cl_ord_id = cl_ord_id
    out.update.hdr.flags = FLAG_SYNTHETIC
    out.update.hdr.ts_venue_ns = 0
    out.update.exec_type = EXEC_TYPE_RESTATED
    out.update.exec_trans_type = EXEC_TRANS_STATUS
