"""Intents into requests (see intents.pxd for the rules)."""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t

from fxpipe.model.events cimport (
    CXL_REJ_TO_CANCEL,
    CXL_REJ_TO_REPLACE,
    EVT_ORDER_INTENT,
    EVT_ORDER_UPDATE,
    EXEC_TRANS_NEW,
    EXEC_TYPE_PENDING_CANCEL,
    EXEC_TYPE_PENDING_NEW,
    EXEC_TYPE_PENDING_REPLACE,
    EXEC_TYPE_REJECTED,
    EventHeader,
    FLAG_SYNTHETIC,
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORD_STATUS_PENDING_NEW,
    ORD_STATUS_REJECTED,
    ORD_STATUS_UNKNOWN,
    ORD_TYPE_LIMIT,
    ORD_TYPE_MARKET,
    OrderIntent,
    OrderUpdate,
    REPORT_CANCEL_REJECT,
    REPORT_EXECUTION,
    SIDE_BUY,
    SIDE_SELL,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
    event_init,
)
from fxpipe.oms.book cimport (
    OmsOrder,
    REFUSE_CANCEL_PENDING,
    REFUSE_DUPLICATE_CL_ORD_ID,
    REFUSE_IDS_EXHAUSTED,
    REFUSE_INVALID,
    REFUSE_NO_CHANGE,
    REFUSE_NONE,
    REFUSE_NOT_ACKNOWLEDGED,
    REFUSE_ORDER_DONE,
    REFUSE_OUT_OF_MEMORY,
    REFUSE_QTY_BELOW_FILLED,
    REFUSE_REPLACE_PENDING,
    REFUSE_STATUS_UNKNOWN,
    REFUSE_UNKNOWN_ORDER,
    REFUSE_VENUE_DOWN,
    REFUSE_VENUE_MISMATCH,
    REFUSE_VENUE_UNRECONCILED,
    VENUE_DOWN,
    VENUE_RECONCILING,
    VERDICT_REFUSED,
    VERDICT_SEND,
    book_add_order,
    book_add_request,
    book_allocate_cl_ord_id,
    book_find,
    book_order_view,
    note_event_time,
    status_is_done,
)


cdef inline void copy_stamps(EventHeader* dst, const EventHeader* src) noexcept nogil:
    """The hop timestamps travel on: the latency of a decision is measured end to end."""
    dst.sequence = src.sequence
    dst.ts_venue_ns = src.ts_venue_ns
    dst.ts_receive_ns = src.ts_receive_ns
    dst.ts_decode_ns = src.ts_decode_ns
    dst.ts_decide_ns = src.ts_decide_ns
    dst.ts_risk_ns = src.ts_risk_ns
    dst.ts_send_ns = src.ts_send_ns


cdef void start(OrderBook* b, int64_t now_ns, IntentOutcome* out) noexcept nogil:
    note_event_time(b, now_ns)
    out.order_index = -1
    out.verdict = VERDICT_REFUSED
    out.refusal = REFUSE_NONE
    out.deadline_ns = 0


cdef void refuse(OrderBook* b, const OrderIntent* it, int32_t idx, uint16_t why,
                 IntentOutcome* out) noexcept nogil:
    """Nothing to send; the update tells the strategy: an order reject for a new order, a
    cancel reject for a cancel or replace (with the order's view when it exists)."""
    cdef OrderUpdate* u = &out.update
    out.verdict = VERDICT_REFUSED
    out.refusal = why
    out.order_index = idx
    event_init(&out.send, EVT_ORDER_INTENT)
    if idx >= 0:
        book_order_view(b, idx, u)
    else:
        event_init(u, EVT_ORDER_UPDATE)
        u.hdr.venue_id = it.hdr.venue_id
        u.hdr.instrument_id = it.hdr.instrument_id
        u.order_qty_e2 = it.qty_e2
        u.price_e8 = it.price_e8
        u.strategy_id = it.strategy_id
        u.side = it.side
        u.ord_type = it.ord_type
        u.time_in_force = it.time_in_force
        u.ord_status = ORD_STATUS_REJECTED
    copy_stamps(&u.hdr, &it.hdr)
    u.hdr.flags = FLAG_SYNTHETIC
    u.cl_ord_id = it.cl_ord_id
    u.reject_reason = why
    if it.action == INTENT_CANCEL or it.action == INTENT_REPLACE:
        u.orig_cl_ord_id = it.orig_cl_ord_id
        u.report_kind = REPORT_CANCEL_REJECT
        u.cxl_rej_response_to = CXL_REJ_TO_CANCEL if it.action == INTENT_CANCEL else CXL_REJ_TO_REPLACE
        u.exec_type = 0
        u.exec_trans_type = 0
    else:
        u.report_kind = REPORT_EXECUTION
        u.exec_type = EXEC_TYPE_REJECTED
        u.exec_trans_type = EXEC_TRANS_NEW


cdef uint16_t venue_gate(const OrderBook* b, uint16_t venue_id, bint is_new) noexcept nogil:
    if b.venue_state[venue_id] == VENUE_DOWN:
        return REFUSE_VENUE_DOWN
    if is_new and b.venue_state[venue_id] == VENUE_RECONCILING:
        return REFUSE_VENUE_UNRECONCILED
    return REFUSE_NONE


cdef int64_t take_cl_ord_id(OrderBook* b, const OrderIntent* it, uint16_t* why) noexcept nogil:
    """The intent's own ClOrdID if it brings an unused one, else the next of this OMS."""
    cdef int64_t cl = it.cl_ord_id
    if cl < 0:
        why[0] = REFUSE_INVALID
        return 0
    if cl > 0:
        if book_find(b, cl) >= 0:
            why[0] = REFUSE_DUPLICATE_CL_ORD_ID
            return 0
        return cl
    cl = book_allocate_cl_ord_id(b)
    if cl == 0:
        why[0] = REFUSE_IDS_EXHAUSTED
    return cl


cdef void sent(OrderBook* b, const OrderIntent* it, int32_t idx, uint8_t action, int64_t cl,
               int64_t orig, int64_t qty_e2, int64_t price_e8, uint8_t exec_type,
               int64_t now_ns, IntentOutcome* out) noexcept nogil:
    cdef const OmsOrder* o = &b.orders[idx]
    cdef OrderIntent* s = &out.send
    out.verdict = VERDICT_SEND
    out.order_index = idx
    out.deadline_ns = now_ns + b.request_timeout_ns if b.request_timeout_ns > 0 else 0
    event_init(s, EVT_ORDER_INTENT)
    copy_stamps(&s.hdr, &it.hdr)
    s.hdr.flags = it.hdr.flags
    s.hdr.venue_id = o.venue_id
    s.hdr.instrument_id = o.instrument_id
    s.cl_ord_id = cl
    s.orig_cl_ord_id = orig
    s.price_e8 = price_e8
    s.qty_e2 = qty_e2
    s.trigger_seq = it.trigger_seq
    s.strategy_id = o.strategy_id
    s.action = action
    s.side = o.side
    s.ord_type = o.ord_type
    s.time_in_force = o.time_in_force
    book_order_view(b, idx, &out.update)
    copy_stamps(&out.update.hdr, &it.hdr)
    out.update.hdr.flags = FLAG_SYNTHETIC
    out.update.cl_ord_id = cl
    out.update.exec_type = exec_type
    out.update.exec_trans_type = EXEC_TRANS_NEW


cdef bint valid_new(const OrderIntent* it) noexcept nogil:
    if it.qty_e2 <= 0 or it.hdr.venue_id == 0:
        return False
    if it.side != SIDE_BUY and it.side != SIDE_SELL:
        return False
    if not (it.time_in_force == TIF_DAY or it.time_in_force == TIF_GTC
            or it.time_in_force == TIF_IOC or it.time_in_force == TIF_FOK):
        return False
    if it.ord_type == ORD_TYPE_LIMIT:
        return it.price_e8 > 0
    return it.ord_type == ORD_TYPE_MARKET and it.price_e8 == 0


cdef void book_new_order(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                         IntentOutcome* out) noexcept nogil:
    cdef uint16_t why = REFUSE_NONE
    cdef int64_t cl
    cdef int32_t idx, req
    cdef OmsOrder* o
    start(b, now_ns, out)
    if it.action != INTENT_NEW or not valid_new(it):
        refuse(b, it, -1, REFUSE_INVALID, out)
        return
    why = venue_gate(b, it.hdr.venue_id, True)
    if why == REFUSE_NONE:
        cl = take_cl_ord_id(b, it, &why)
    if why != REFUSE_NONE:
        refuse(b, it, -1, why, out)
        return
    idx = book_add_order(b)
    if idx < 0:
        refuse(b, it, -1, REFUSE_OUT_OF_MEMORY, out)
        return
    req = book_add_request(b, cl, 0, idx, INTENT_NEW, it.qty_e2, it.price_e8,
                           now_ns + b.request_timeout_ns if b.request_timeout_ns > 0 else 0)
    if req < 0:
        b.n_orders -= 1   # the order was never visible: take it back
        refuse(b, it, -1, REFUSE_OUT_OF_MEMORY, out)
        return
    o = &b.orders[idx]
    o.root_cl_ord_id = cl
    o.cl_ord_id = cl
    o.new_req = req
    o.order_qty_e2 = it.qty_e2
    o.max_qty_e2 = it.qty_e2
    o.price_e8 = it.price_e8
    o.leaves_qty_e2 = it.qty_e2
    o.strategy_id = it.strategy_id
    o.venue_id = it.hdr.venue_id
    o.instrument_id = it.hdr.instrument_id
    o.side = it.side
    o.ord_type = it.ord_type
    o.time_in_force = it.time_in_force
    o.base_status = ORD_STATUS_PENDING_NEW
    o.last_event_ns = now_ns
    sent(b, it, idx, INTENT_NEW, cl, 0, it.qty_e2, it.price_e8, EXEC_TYPE_PENDING_NEW, now_ns, out)


cdef int32_t amend_target(OrderBook* b, const OrderIntent* it, uint16_t* why) noexcept nogil:
    """The order a cancel/replace names, or -1 with why set."""
    cdef int32_t idx = book_find(b, it.orig_cl_ord_id)
    cdef const OmsOrder* o
    if idx < 0:
        why[0] = REFUSE_UNKNOWN_ORDER
        return -1
    o = &b.orders[idx]
    if it.hdr.venue_id != 0 and it.hdr.venue_id != o.venue_id:
        why[0] = REFUSE_VENUE_MISMATCH
    elif status_is_done(o.base_status):
        why[0] = REFUSE_ORDER_DONE
    elif o.cancel_req >= 0:
        why[0] = REFUSE_CANCEL_PENDING
    elif it.side != 0 and it.side != o.side:
        why[0] = REFUSE_INVALID
    return idx


cdef void book_cancel(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                      IntentOutcome* out) noexcept nogil:
    cdef uint16_t why = REFUSE_NONE
    cdef int64_t cl
    cdef int32_t idx, req
    cdef OmsOrder* o
    start(b, now_ns, out)
    if it.action != INTENT_CANCEL:
        refuse(b, it, -1, REFUSE_INVALID, out)
        return
    idx = amend_target(b, it, &why)
    if why == REFUSE_NONE:
        why = venue_gate(b, b.orders[idx].venue_id, False)
    if why == REFUSE_NONE:
        cl = take_cl_ord_id(b, it, &why)
    if why != REFUSE_NONE:
        refuse(b, it, idx, why, out)
        return
    o = &b.orders[idx]
    req = book_add_request(b, cl, o.cl_ord_id, idx, INTENT_CANCEL, o.order_qty_e2, o.price_e8,
                           now_ns + b.request_timeout_ns if b.request_timeout_ns > 0 else 0)
    if req < 0:
        refuse(b, it, idx, REFUSE_OUT_OF_MEMORY, out)
        return
    o = &b.orders[idx]
    o.cancel_req = req
    o.last_event_ns = now_ns
    sent(b, it, idx, INTENT_CANCEL, cl, o.cl_ord_id, o.order_qty_e2, o.price_e8,
         EXEC_TYPE_PENDING_CANCEL, now_ns, out)


cdef void book_replace(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                       IntentOutcome* out) noexcept nogil:
    cdef uint16_t why = REFUSE_NONE
    cdef int64_t cl = 0, price
    cdef int32_t idx, req
    cdef OmsOrder* o
    start(b, now_ns, out)
    if it.action != INTENT_REPLACE or it.qty_e2 <= 0 or it.price_e8 < 0:
        refuse(b, it, book_find(b, it.orig_cl_ord_id), REFUSE_INVALID, out)
        return
    idx = amend_target(b, it, &why)
    if why == REFUSE_NONE:
        o = &b.orders[idx]
        price = it.price_e8 if it.price_e8 > 0 else o.price_e8
        if ((it.ord_type != 0 and it.ord_type != o.ord_type)
                or (it.time_in_force != 0 and it.time_in_force != o.time_in_force)
                or (o.ord_type == ORD_TYPE_MARKET and it.price_e8 != 0)):
            why = REFUSE_INVALID
        elif o.base_status == ORD_STATUS_UNKNOWN:
            why = REFUSE_STATUS_UNKNOWN
        elif o.replace_req >= 0:
            why = REFUSE_REPLACE_PENDING
        elif not o.acked:
            why = REFUSE_NOT_ACKNOWLEDGED
        elif it.qty_e2 < o.cum_qty_e2:
            why = REFUSE_QTY_BELOW_FILLED
        elif it.qty_e2 == o.order_qty_e2 and price == o.price_e8:
            why = REFUSE_NO_CHANGE
        else:
            why = venue_gate(b, o.venue_id, False)
    if why == REFUSE_NONE:
        cl = take_cl_ord_id(b, it, &why)
    if why != REFUSE_NONE:
        refuse(b, it, idx, why, out)
        return
    o = &b.orders[idx]
    req = book_add_request(b, cl, o.cl_ord_id, idx, INTENT_REPLACE, it.qty_e2, price,
                           now_ns + b.request_timeout_ns if b.request_timeout_ns > 0 else 0)
    if req < 0:
        refuse(b, it, idx, REFUSE_OUT_OF_MEMORY, out)
        return
    o = &b.orders[idx]
    o.replace_req = req
    o.last_event_ns = now_ns
    sent(b, it, idx, INTENT_REPLACE, cl, o.cl_ord_id, it.qty_e2, price,
         EXEC_TYPE_PENDING_REPLACE, now_ns, out)


cdef void book_submit(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                      IntentOutcome* out) noexcept nogil:
    if it.action == INTENT_NEW:
        book_new_order(b, it, now_ns, out)
    elif it.action == INTENT_CANCEL:
        book_cancel(b, it, now_ns, out)
    elif it.action == INTENT_REPLACE:
        book_replace(b, it, now_ns, out)
    else:
        start(b, now_ns, out)
        refuse(b, it, -1, REFUSE_INVALID, out)


cdef void book_refuse_intent(OrderBook* b, const OrderIntent* it, int64_t now_ns, uint16_t why,
                             IntentOutcome* out) noexcept nogil:
    start(b, now_ns, out)
    refuse(b, it, -1, why, out)
