"""Venue reports into the book (see reports.pxd): the execution part goes to executions.pyx,
the status part (acks, cancels, replaces, rejects, status answers, cancel rejects) is here."""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.string cimport memcpy

from fxpipe.model.events cimport (
    EVT_FILL,
    EVT_ORDER_UPDATE,
    EXEC_TRANS_CANCEL,
    EXEC_TRANS_CORRECT,
    EXEC_TRANS_NEW,
    EXEC_TRANS_STATUS,
    EXEC_TYPE_CANCELED,
    EXEC_TYPE_REJECTED,
    EXEC_TYPE_REPLACE,
    FIX_ID_LEN,
    Fill,
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORD_STATUS_CANCELED,
    ORD_STATUS_DONE_FOR_DAY,
    ORD_STATUS_EXPIRED,
    ORD_STATUS_PENDING_NEW,
    ORD_STATUS_REJECTED,
    ORD_STATUS_UNKNOWN,
    OrderUpdate,
    REPORT_CANCEL_REJECT,
    REPORT_EXECUTION,
)
from fxpipe.oms.book cimport (
    ALARM_INVALID_REPORT,
    ALARM_OUT_OF_MEMORY,
    ALARM_OVERFILL,
    ALARM_STATE_CONFLICT,
    ALARM_UNKNOWN_ORDER,
    DISP_APPLIED,
    DISP_DUPLICATE,
    DISP_INVALID,
    DISP_STALE,
    DISP_UNKNOWN_ORDER,
    OmsOrder,
    OmsRequest,
    REQ_ACCEPTED,
    REQ_CLOSED,
    REQ_PENDING,
    REQ_REJECTED,
    REQ_REPLACED,
    REQ_UNKNOWN,
    book_add_request,
    book_find,
    book_observe_cl_ord_id,
    book_order_view,
    event_time_ns,
    note_event_time,
    order_status,
    refresh_order,
    report_outcome_reset,
    set_base_status,
    status_is_done,
)
from fxpipe.oms.executions cimport (
    FILL_APPLIED,
    FILL_DUPLICATE,
    FILL_NO_MEMORY,
    FILL_REFUSED,
    FILL_STALE,
    apply_fill,
    raise_alarm,
)
from fxpipe.oms.index cimport id_index_get

cdef struct View:       # what a strategy sees of an order: a change here is published
    int64_t cl_ord_id
    int64_t order_qty_e2
    int64_t price_e8
    int64_t cum_qty_e2
    int64_t leaves_qty_e2
    int64_t avg_px_e8
    uint16_t reject_reason
    uint8_t status


cdef inline void take_view(const OmsOrder* o, View* v) noexcept nogil:
    v.cl_ord_id = o.cl_ord_id
    v.order_qty_e2 = o.order_qty_e2
    v.price_e8 = o.price_e8
    v.cum_qty_e2 = o.cum_qty_e2
    v.leaves_qty_e2 = o.leaves_qty_e2
    v.avg_px_e8 = o.avg_px_e8
    v.reject_reason = o.reject_reason
    v.status = order_status(o)


cdef inline bint same_view(const View* a, const View* c) noexcept nogil:
    return (a.cl_ord_id == c.cl_ord_id and a.order_qty_e2 == c.order_qty_e2
            and a.price_e8 == c.price_e8 and a.cum_qty_e2 == c.cum_qty_e2
            and a.leaves_qty_e2 == c.leaves_qty_e2 and a.avg_px_e8 == c.avg_px_e8
            and a.reject_reason == c.reject_reason and a.status == c.status)


cdef bint valid_report(const OrderUpdate* u, const Fill* f) noexcept nogil:
    if u.hdr.type != EVT_ORDER_UPDATE:
        return False
    if u.report_kind != REPORT_EXECUTION and u.report_kind != REPORT_CANCEL_REJECT:
        return False
    if u.cl_ord_id < 0 or u.orig_cl_ord_id < 0 or u.order_qty_e2 < 0 or u.cum_qty_e2 < 0:
        return False
    if u.leaves_qty_e2 < 0 or u.avg_px_e8 < 0 or u.price_e8 < 0:
        return False
    if f == NULL:
        return True
    if u.report_kind != REPORT_EXECUTION or f.hdr.type != EVT_FILL or f.exec_id[0] == 0:
        return False
    if f.cl_ord_id != u.cl_ord_id:
        return False
    if f.exec_trans_type == EXEC_TRANS_NEW:
        return f.last_qty_e2 > 0 and f.last_px_e8 > 0
    if f.exec_trans_type == EXEC_TRANS_CORRECT:
        return f.exec_ref_id[0] != 0 and f.last_qty_e2 > 0 and f.last_px_e8 > 0
    if f.exec_trans_type == EXEC_TRANS_CANCEL:
        return f.exec_ref_id[0] != 0 and f.last_qty_e2 >= 0 and f.last_px_e8 >= 0
    return False


# ------------------------------------------------------------------ status evidence

cdef bint terminal_venue_status(uint8_t s) noexcept nogil:
    return s == ORD_STATUS_CANCELED or s == ORD_STATUS_EXPIRED or s == ORD_STATUS_DONE_FOR_DAY


cdef void take_evidence(OrderBook* b, OmsOrder* o, uint8_t s, bint reopen,
                        ReportOutcome* out) noexcept nogil:
    """The venue's OrdStatus as evidence. Terminal statuses are believed; live ones only say
    the venue knows the order (the live status itself follows from CumQty). reopen (a bust
    or correction) lets the venue's word move a done order back to live."""
    cdef bint open_ = (not status_is_done(o.base_status)) or reopen
    if s == ORD_STATUS_PENDING_NEW:
        if o.base_status == ORD_STATUS_UNKNOWN:
            set_base_status(b, o, ORD_STATUS_PENDING_NEW)
        return
    if s == ORD_STATUS_REJECTED:
        if o.cum_qty_e2 != 0:
            raise_alarm(out, ALARM_STATE_CONFLICT, o.cum_qty_e2, 0)
            if o.base_status == ORD_STATUS_UNKNOWN or reopen:
                o.acked = 1
                set_base_status(b, o, ORD_STATUS_PENDING_NEW)
        elif open_:
            set_base_status(b, o, ORD_STATUS_REJECTED)
        return
    o.acked = 1
    if terminal_venue_status(s):
        if open_:
            set_base_status(b, o, s)
    elif o.base_status == ORD_STATUS_UNKNOWN or reopen:
        set_base_status(b, o, ORD_STATUS_PENDING_NEW)   # refresh_order derives the live status


cdef int32_t request_of(const OrderBook* b, int64_t cl_ord_id, int32_t idx) noexcept nogil:
    cdef int32_t r
    if cl_ord_id <= 0:
        return -1
    r = id_index_get(&b.by_cl_ord_id, cl_ord_id)
    return r if r >= 0 and b.requests[r].order_index == idx else -1


cdef void accept_replace(OrderBook* b, OmsOrder* o, int32_t ri, const OrderUpdate* u) noexcept nogil:
    """FIX 4.2 Appendix D: the new OrderQty counts from the fills so far (LeavesQty = OrderQty -
    CumQty, FILLED when that is <= 0); an ack never lowers CumQty."""
    cdef OmsRequest* req = &b.requests[ri]
    cdef int32_t prev = request_of(b, o.cl_ord_id, req.order_index)
    if prev >= 0 and prev != ri:
        b.requests[prev].state = REQ_REPLACED
    req.state = REQ_ACCEPTED
    if o.replace_req == ri:
        o.replace_req = -1
    if status_is_done(o.base_status):
        return
    o.cl_ord_id = req.cl_ord_id
    o.order_qty_e2 = u.order_qty_e2 if u.order_qty_e2 > 0 else req.qty_e2
    if o.order_qty_e2 > o.max_qty_e2:
        o.max_qty_e2 = o.order_qty_e2
    if u.price_e8 > 0:
        o.price_e8 = u.price_e8
    elif req.price_e8 > 0:
        o.price_e8 = req.price_e8


cdef void apply_execution(OrderBook* b, int32_t idx, const OrderUpdate* u, bint explicit,
                          ReportOutcome* out) noexcept nogil:
    cdef OmsOrder* o = &b.orders[idx]
    cdef int32_t ri = request_of(b, u.cl_ord_id, idx)
    cdef OmsRequest* req = &b.requests[ri] if ri >= 0 else NULL
    if explicit:
        o.venue_cum_qty_e2 = u.cum_qty_e2
    elif u.cum_qty_e2 > o.venue_cum_qty_e2:
        o.venue_cum_qty_e2 = u.cum_qty_e2
    if req != NULL and u.exec_type == EXEC_TYPE_REPLACE:
        if req.kind == INTENT_REPLACE and req.state != REQ_ACCEPTED and req.state != REQ_REPLACED:
            accept_replace(b, o, ri, u)
    elif req != NULL and u.exec_type == EXEC_TYPE_CANCELED:
        if req.kind == INTENT_CANCEL and req.state != REQ_ACCEPTED:
            req.state = REQ_ACCEPTED
            if o.cancel_req == ri:
                o.cancel_req = -1
    elif u.exec_type == EXEC_TYPE_REJECTED:
        if req != NULL and req.kind == INTENT_NEW and req.state != REQ_ACCEPTED:
            req.state = REQ_REJECTED
        if u.reject_reason != 0:
            o.reject_reason = u.reject_reason
    if u.exec_trans_type == EXEC_TRANS_STATUS:
        forget_lost(b, o, u.cl_ord_id)
    take_evidence(b, o, u.ord_status, explicit, out)


cdef void forget_lost(OrderBook* b, OmsOrder* o, int64_t answered_cl_ord_id) noexcept nogil:
    """A status answer is the venue's whole view of the order: a request that was in UNKNOWN
    and that the answer does not name never reached it. Close it, so the strategy may ask
    again; should it reach the venue after all, its report still finds the order."""
    cdef int32_t* slots[2]
    cdef int k
    slots[0] = &o.cancel_req
    slots[1] = &o.replace_req
    for k in range(2):
        if (slots[k][0] >= 0 and b.requests[slots[k][0]].state == REQ_UNKNOWN
                and b.requests[slots[k][0]].cl_ord_id != answered_cl_ord_id):
            b.requests[slots[k][0]].state = REQ_CLOSED
            slots[k][0] = -1


cdef bint apply_cancel_reject(OrderBook* b, int32_t idx, const OrderUpdate* u,
                              ReportOutcome* out) noexcept nogil:
    """True when the reject answered a request still waiting for its answer."""
    cdef OmsOrder* o = &b.orders[idx]
    cdef int32_t ri = request_of(b, u.cl_ord_id, idx)
    cdef OmsRequest* req
    cdef bint answered = False
    if ri >= 0:
        req = &b.requests[ri]
        if ((req.kind == INTENT_CANCEL or req.kind == INTENT_REPLACE)
                and (req.state == REQ_PENDING or req.state == REQ_UNKNOWN)):
            req.state = REQ_REJECTED
            answered = True
        if o.cancel_req == ri:
            o.cancel_req = -1
        if o.replace_req == ri:
            o.replace_req = -1
    if answered:
        o.reject_reason = u.reject_reason
        # "unknown order" with OrdStatus rejected is evidence only while the venue never
        # showed it knew the order; a reject of a request says nothing else against the order
        if u.ord_status != ORD_STATUS_REJECTED or not o.acked:
            take_evidence(b, o, u.ord_status, False, out)
    return answered


cdef int64_t overfill_limit(const OrderBook* b, const OmsOrder* o) noexcept nogil:
    """The most the venue may have filled: the largest OrderQty it accepted (a replace down may
    have raced fills made under the larger one), or a replace up still in flight (the venue
    may have applied it and filled before its ack reached us)."""
    cdef int64_t limit = o.max_qty_e2 if o.max_qty_e2 > o.order_qty_e2 else o.order_qty_e2
    cdef const OmsRequest* r
    if o.replace_req >= 0:
        r = &b.requests[o.replace_req]
        if (r.state == REQ_PENDING or r.state == REQ_UNKNOWN) and r.qty_e2 > limit:
            limit = r.qty_e2
    return limit


# ------------------------------------------------------------------ entry point

cdef void book_apply_report(OrderBook* b, const OrderUpdate* u, const Fill* f,
                            ReportOutcome* out) noexcept nogil:
    cdef int64_t now = event_time_ns(u)
    cdef int32_t idx
    cdef OmsOrder* o
    cdef View before, after
    cdef int fill_rc = FILL_APPLIED
    cdef bint answered = False, explicit = False, known_cl
    cdef uint8_t kind
    cdef int32_t ri
    cdef int64_t limit
    report_outcome_reset(out, DISP_APPLIED)
    note_event_time(b, now)
    if not valid_report(u, f):
        out.disposition = DISP_INVALID
        raise_alarm(out, ALARM_INVALID_REPORT, 0, 0)
        memcpy(&out.update, u, sizeof(OrderUpdate))
        return
    book_observe_cl_ord_id(b, u.cl_ord_id)
    book_observe_cl_ord_id(b, u.orig_cl_ord_id)
    idx = book_find(b, u.cl_ord_id)
    known_cl = idx >= 0
    if idx < 0:
        idx = book_find(b, u.orig_cl_ord_id)
    if idx >= 0 and u.hdr.venue_id != 0 and u.hdr.venue_id != b.orders[idx].venue_id:
        idx = -1
    if idx < 0:
        out.disposition = DISP_UNKNOWN_ORDER
        raise_alarm(out, ALARM_UNKNOWN_ORDER, f.last_qty_e2 if f != NULL else 0, 0)
        memcpy(&out.update, u, sizeof(OrderUpdate))
        return
    out.order_index = idx
    if u.cl_ord_id > 0 and not known_cl:
        # a ClOrdID the OMS did not send, on a report naming one of its orders (a cancel or
        # replace made at the venue): join it to the chain so later reports find the order
        kind = (INTENT_REPLACE if u.exec_type == EXEC_TYPE_REPLACE
                else INTENT_CANCEL if u.exec_type == EXEC_TYPE_CANCELED else 0)
        if book_add_request(b, u.cl_ord_id, u.orig_cl_ord_id, idx, kind, u.order_qty_e2,
                            u.price_e8, 0) < 0:
            out.disposition = DISP_INVALID
            raise_alarm(out, ALARM_OUT_OF_MEMORY, 0, 0)
            memcpy(&out.update, u, sizeof(OrderUpdate))
            return
    o = &b.orders[idx]
    take_view(o, &before)
    if o.order_id[0] == 0 and u.order_id[0] != 0:
        memcpy(o.order_id, u.order_id, FIX_ID_LEN)
    limit = overfill_limit(b, o)
    if f != NULL:
        fill_rc = apply_fill(b, idx, f, out)
        if fill_rc == FILL_NO_MEMORY:
            raise_alarm(out, ALARM_OUT_OF_MEMORY, 0, 0)
        explicit = fill_rc == FILL_APPLIED and f.exec_trans_type != EXEC_TRANS_NEW
    o = &b.orders[idx]
    if fill_rc == FILL_DUPLICATE or fill_rc == FILL_REFUSED or fill_rc == FILL_NO_MEMORY:
        # the same report again (or one the alarm rejects): its status part is not news either
        out.disposition = DISP_DUPLICATE if fill_rc == FILL_DUPLICATE else DISP_INVALID
        memcpy(&out.update, u, sizeof(OrderUpdate))
        return
    if u.report_kind == REPORT_CANCEL_REJECT:
        answered = apply_cancel_reject(b, idx, u, out)
    else:
        apply_execution(b, idx, u, explicit, out)
    o = &b.orders[idx]
    refresh_order(b, o)
    if (out.n_fills > 0 and o.cum_qty_e2 > limit) or (
            not o.overfilled and o.cum_qty_e2 > overfill_limit(b, o)):
        # believe the venue: the fills stand, the order is FILLED beyond its quantity. The
        # second test catches fills a pending replace up seemed to cover, once that replace is
        # closed without being applied (the order ended, or the venue refused it)
        o.overfilled = 1
        raise_alarm(out, ALARM_OVERFILL, o.cum_qty_e2, o.order_qty_e2)
    take_view(o, &after)
    if same_view(&before, &after) and out.n_fills == 0 and not answered:
        if fill_rc == FILL_STALE:
            out.disposition = DISP_STALE
        elif u.report_kind == REPORT_CANCEL_REJECT:
            # a repeat of a reject already taken, or the late answer to a request that the
            # order's end had closed
            ri = request_of(b, u.cl_ord_id, idx)
            out.disposition = (DISP_DUPLICATE if ri >= 0 and b.requests[ri].state == REQ_REJECTED
                               else DISP_STALE)
        else:
            out.disposition = DISP_DUPLICATE if u.ord_status == after.status else DISP_STALE
        memcpy(&out.update, u, sizeof(OrderUpdate))
        return
    o.last_event_ns = now
    out.publish = 1
    book_order_view(b, idx, &out.update)
    out.update.hdr.flags = u.hdr.flags
    out.update.hdr.sequence = u.hdr.sequence
    out.update.hdr.ts_venue_ns = u.hdr.ts_venue_ns
    out.update.hdr.ts_receive_ns = u.hdr.ts_receive_ns
    out.update.hdr.ts_decode_ns = u.hdr.ts_decode_ns
    out.update.hdr.ts_decide_ns = u.hdr.ts_decide_ns
    out.update.hdr.ts_risk_ns = u.hdr.ts_risk_ns
    out.update.hdr.ts_send_ns = u.hdr.ts_send_ns
    if u.cl_ord_id > 0:
        out.update.cl_ord_id = u.cl_ord_id
    out.update.exec_type = u.exec_type
    out.update.exec_trans_type = u.exec_trans_type
    out.update.report_kind = u.report_kind
    out.update.cxl_rej_response_to = u.cxl_rej_response_to
    if u.reject_reason != 0:
        out.update.reject_reason = u.reject_reason
