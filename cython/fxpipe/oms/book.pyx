"""The OMS order book's storage, ClOrdIDs, derived status, views and state hash (see
book.pxd). Intents are in intents.pyx, venue reports in reports.pyx and executions.pyx,
session edges and request timeouts in sessions.pyx.

Status is kept in two parts so no report can move it backwards by accident: base_status is
what the venue's evidence and the OMS's own fills say (PENDING_NEW, NEW, PARTIALLY_FILLED,
FILLED, a terminal state, or UNKNOWN), and the pending cancel/replace requests overlay it.
While an order is live, its base status is derived from CumQty and whether the venue has
acknowledged it, never copied from a report, so a late report cannot regress it."""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, memset

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport (
    EVT_ORDER_UPDATE,
    FIX_ID_LEN,
    ORD_STATUS_CANCELED,
    ORD_STATUS_DONE_FOR_DAY,
    ORD_STATUS_EXPIRED,
    ORD_STATUS_FILLED,
    ORD_STATUS_NEW,
    ORD_STATUS_PARTIALLY_FILLED,
    ORD_STATUS_PENDING_CANCEL,
    ORD_STATUS_PENDING_NEW,
    ORD_STATUS_PENDING_REPLACE,
    ORD_STATUS_REJECTED,
    ORD_STATUS_UNKNOWN,
    REPORT_EXECUTION,
    OrderUpdate,
    event_init,
)
from fxpipe.model.numbers cimport ROUND_HALF_EVEN, div_round
from fxpipe.oms.index cimport (
    ExecKey,
    ExecSlot,
    IdSlot,
    exec_index_free,
    exec_index_get,
    exec_index_init,
    exec_index_put,
    exec_key_hash,
    fnv1a,
    fnv1a_i64,
    fnv_basis,
    id_index_free,
    id_index_get,
    id_index_init,
    id_index_put,
)

cdef enum:
    N_VENUES = 65536


cdef int book_init(OrderBook* b, int64_t prefix, int64_t request_timeout_ns,
                   int32_t capacity) noexcept nogil:
    memset(b, 0, sizeof(OrderBook))
    if prefix < 1 or prefix > MAX_OMS_PREFIX or request_timeout_ns < 0:
        return -1
    if capacity < 16:
        capacity = 16
    b.prefix = prefix
    b.request_timeout_ns = request_timeout_ns
    b.cap_orders = capacity
    b.cap_requests = capacity * 2
    b.cap_execs = capacity * 2
    b.orders = <OmsOrder*>calloc(b.cap_orders, sizeof(OmsOrder))
    b.requests = <OmsRequest*>calloc(b.cap_requests, sizeof(OmsRequest))
    b.execs = <ExecRecord*>calloc(b.cap_execs, sizeof(ExecRecord))
    b.exec_keys = <ExecKey*>calloc(b.cap_execs, sizeof(ExecKey))
    b.venue_state = <uint8_t*>calloc(N_VENUES, sizeof(uint8_t))
    b.venue_unknown = <int32_t*>calloc(N_VENUES, sizeof(int32_t))
    if (b.orders == NULL or b.requests == NULL or b.execs == NULL or b.exec_keys == NULL
            or b.venue_state == NULL or b.venue_unknown == NULL
            or id_index_init(&b.by_cl_ord_id, b.cap_requests) != 0
            or exec_index_init(&b.by_exec_id, b.cap_execs) != 0):
        book_free(b)
        return -1
    # Write every page now: calloc hands out untouched zero pages, and the first write to each
    # would be a page fault inside an order's processing instead of here at start-up.
    memset(b.orders, 0, <size_t>b.cap_orders * sizeof(OmsOrder))
    memset(b.requests, 0, <size_t>b.cap_requests * sizeof(OmsRequest))
    memset(b.execs, 0, <size_t>b.cap_execs * sizeof(ExecRecord))
    memset(b.exec_keys, 0, <size_t>b.cap_execs * sizeof(ExecKey))
    memset(b.by_cl_ord_id.slots, 0, <size_t>(b.by_cl_ord_id.mask + 1) * sizeof(IdSlot))
    memset(b.by_exec_id.slots, 0, <size_t>(b.by_exec_id.mask + 1) * sizeof(ExecSlot))
    return 0


cdef void book_free(OrderBook* b) noexcept nogil:
    free(b.orders)
    free(b.requests)
    free(b.execs)
    free(b.exec_keys)
    free(b.venue_state)
    free(b.venue_unknown)
    id_index_free(&b.by_cl_ord_id)
    exec_index_free(&b.by_exec_id)
    memset(b, 0, sizeof(OrderBook))


cdef void* grow(void* p, int32_t* cap, int32_t used, Py_ssize_t item) noexcept nogil:
    """p with room for one more item (doubling, new part zeroed); NULL if out of memory."""
    cdef int32_t n
    cdef void* q
    if used < cap[0]:
        return p
    n = cap[0] * 2
    q = realloc(p, <size_t>n * item)
    if q == NULL:
        return NULL
    memset(<char*>q + <size_t>used * item, 0, <size_t>(n - used) * item)
    cap[0] = n
    return q


# ------------------------------------------------------------------ ClOrdIDs

cdef int64_t book_allocate_cl_ord_id(OrderBook* b) noexcept nogil:
    if b.counter + 1 >= cl_ord_id_span():
        return 0
    b.counter += 1
    return b.prefix * cl_ord_id_span() + b.counter


cdef void book_observe_cl_ord_id(OrderBook* b, int64_t cl_ord_id) noexcept nogil:
    cdef int64_t c
    if cl_ord_id > 0 and cl_ord_id // cl_ord_id_span() == b.prefix:
        c = cl_ord_id % cl_ord_id_span()
        if c > b.counter:
            b.counter = c


# ------------------------------------------------------------------ storage

cdef int32_t book_add_order(OrderBook* b) noexcept nogil:
    cdef void* p = grow(b.orders, &b.cap_orders, b.n_orders, sizeof(OmsOrder))
    cdef OmsOrder* o
    if p == NULL:
        return -1
    b.orders = <OmsOrder*>p
    o = &b.orders[b.n_orders]
    memset(o, 0, sizeof(OmsOrder))
    o.new_req = -1
    o.cancel_req = -1
    o.replace_req = -1
    o.base_status = ORD_STATUS_PENDING_NEW
    b.n_orders += 1
    return b.n_orders - 1


cdef int32_t book_add_request(OrderBook* b, int64_t cl_ord_id, int64_t orig, int32_t order_index,
                              uint8_t kind, int64_t qty_e2, int64_t price_e8,
                              int64_t deadline_ns) noexcept nogil:
    """A new ClOrdID of order_index (pending); -1 if out of memory."""
    cdef void* p = grow(b.requests, &b.cap_requests, b.n_requests, sizeof(OmsRequest))
    cdef OmsRequest* r
    if p == NULL:
        return -1
    b.requests = <OmsRequest*>p
    if id_index_put(&b.by_cl_ord_id, cl_ord_id, b.n_requests) != 0:
        return -1
    r = &b.requests[b.n_requests]
    r.cl_ord_id = cl_ord_id
    r.orig_cl_ord_id = orig
    r.order_index = order_index
    r.kind = kind
    r.state = REQ_PENDING
    r.qty_e2 = qty_e2
    r.price_e8 = price_e8
    r.deadline_ns = deadline_ns
    b.n_requests += 1
    book_observe_cl_ord_id(b, cl_ord_id)
    return b.n_requests - 1


cdef int32_t book_find_exec(const OrderBook* b, uint16_t venue_id, const char* exec_id) noexcept nogil:
    return exec_index_get(&b.by_exec_id, b.exec_keys, venue_id, exec_id)


cdef int32_t book_add_exec(OrderBook* b, uint16_t venue_id, const char* exec_id) noexcept nogil:
    """A new, zeroed execution record for a key known to be absent; -1 if out of memory."""
    cdef int32_t cap = b.cap_execs
    cdef void* p = grow(b.execs, &cap, b.n_execs, sizeof(ExecRecord))
    if p == NULL:
        return -1
    b.execs = <ExecRecord*>p
    cap = b.cap_execs
    p = grow(b.exec_keys, &cap, b.n_execs, sizeof(ExecKey))
    if p == NULL:
        return -1
    b.exec_keys = <ExecKey*>p
    b.cap_execs = cap
    if exec_index_put(&b.by_exec_id, exec_key_hash(venue_id, exec_id), b.n_execs) != 0:
        return -1
    b.exec_keys[b.n_execs].venue_id = venue_id
    memcpy(b.exec_keys[b.n_execs].exec_id, exec_id, FIX_ID_LEN)
    b.n_execs += 1
    return b.n_execs - 1


cdef int32_t book_find(const OrderBook* b, int64_t cl_ord_id) noexcept nogil:
    cdef int32_t r
    if cl_ord_id <= 0:
        return -1
    r = id_index_get(&b.by_cl_ord_id, cl_ord_id)
    return b.requests[r].order_index if r >= 0 else -1


cdef void note_event_time(OrderBook* b, int64_t t) noexcept nogil:
    if t > b.last_event_ns:
        b.last_event_ns = t


# ------------------------------------------------------------------ status

cdef bint status_is_done(uint8_t s) noexcept nogil:
    return (s == ORD_STATUS_FILLED or s == ORD_STATUS_CANCELED or s == ORD_STATUS_REJECTED
            or s == ORD_STATUS_EXPIRED or s == ORD_STATUS_DONE_FOR_DAY)


cdef inline bint base_is_live(uint8_t s) noexcept nogil:
    return s == ORD_STATUS_PENDING_NEW or s == ORD_STATUS_NEW or s == ORD_STATUS_PARTIALLY_FILLED


cdef uint8_t order_status(const OmsOrder* o) noexcept nogil:
    if o.base_status == ORD_STATUS_UNKNOWN or status_is_done(o.base_status):
        return o.base_status
    if o.cancel_req >= 0:
        return ORD_STATUS_PENDING_CANCEL
    if o.replace_req >= 0:
        return ORD_STATUS_PENDING_REPLACE
    return o.base_status


cdef void set_base_status(OrderBook* b, OmsOrder* o, uint8_t s) noexcept nogil:
    """The only writer of base_status: keeps the per-venue UNKNOWN count, and lets a venue
    that is reconciling take new orders once its last UNKNOWN order is resolved."""
    cdef uint16_t v = o.venue_id
    if o.base_status == ORD_STATUS_UNKNOWN and s != ORD_STATUS_UNKNOWN:
        b.venue_unknown[v] -= 1
        if b.venue_unknown[v] == 0 and b.venue_state[v] == VENUE_RECONCILING:
            b.venue_state[v] = VENUE_UP
    elif s == ORD_STATUS_UNKNOWN and o.base_status != ORD_STATUS_UNKNOWN:
        b.venue_unknown[v] += 1
    o.base_status = s


cdef void close_pending(OrderBook* b, OmsOrder* o) noexcept nogil:
    """The order is done: requests still in flight for it can no longer do anything (their
    answers, if any, still reach the order through the chain and change nothing)."""
    cdef OmsRequest* r
    if o.cancel_req >= 0:
        r = &b.requests[o.cancel_req]
        if r.state == REQ_PENDING or r.state == REQ_UNKNOWN:
            r.state = REQ_CLOSED
        o.cancel_req = -1
    if o.replace_req >= 0:
        r = &b.requests[o.replace_req]
        if r.state == REQ_PENDING or r.state == REQ_UNKNOWN:
            r.state = REQ_CLOSED
        o.replace_req = -1
    if o.new_req >= 0:
        r = &b.requests[o.new_req]
        if r.state == REQ_PENDING or r.state == REQ_UNKNOWN:
            r.state = REQ_ACCEPTED if o.acked else REQ_CLOSED


cdef void refresh_order(OrderBook* b, OmsOrder* o) noexcept nogil:
    """Derive the live status from CumQty and the ack; LeavesQty and AvgPx from the fills."""
    cdef int64_t avg = 0
    cdef int64_t target = o.order_qty_e2
    cdef OmsRequest* r
    if o.replace_req >= 0:
        r = &b.requests[o.replace_req]
        if (r.state == REQ_PENDING or r.state == REQ_UNKNOWN) and r.qty_e2 > target:
            target = r.qty_e2   # a replace up in flight: the venue may fill beyond OrderQty
    if base_is_live(o.base_status):
        if target > 0 and o.cum_qty_e2 >= target:
            set_base_status(b, o, ORD_STATUS_FILLED)
        elif o.cum_qty_e2 > 0:
            set_base_status(b, o, ORD_STATUS_PARTIALLY_FILLED)
        elif o.acked:
            set_base_status(b, o, ORD_STATUS_NEW)
        else:
            set_base_status(b, o, ORD_STATUS_PENDING_NEW)
    if o.acked and o.new_req >= 0:
        r = &b.requests[o.new_req]
        if r.state == REQ_PENDING or r.state == REQ_UNKNOWN:
            r.state = REQ_ACCEPTED
    if status_is_done(o.base_status):
        o.leaves_qty_e2 = 0
        close_pending(b, o)
    else:
        o.leaves_qty_e2 = o.order_qty_e2 - o.cum_qty_e2 if o.order_qty_e2 > o.cum_qty_e2 else 0
    if o.cum_qty_e2 > 0 and div_round(o.notional_e10, <fx_int128>o.cum_qty_e2, ROUND_HALF_EVEN,
                                      &avg) == 0:
        o.avg_px_e8 = avg
    else:
        o.avg_px_e8 = 0


# ------------------------------------------------------------------ views and hash

cdef void book_order_view(const OrderBook* b, int32_t index, OrderUpdate* u) noexcept nogil:
    cdef const OmsOrder* o = &b.orders[index]
    event_init(u, EVT_ORDER_UPDATE)
    u.hdr.venue_id = o.venue_id
    u.hdr.instrument_id = o.instrument_id
    u.cl_ord_id = o.cl_ord_id
    u.orig_cl_ord_id = o.root_cl_ord_id
    u.order_qty_e2 = o.order_qty_e2
    u.price_e8 = o.price_e8
    u.cum_qty_e2 = o.cum_qty_e2
    u.leaves_qty_e2 = o.leaves_qty_e2
    u.avg_px_e8 = o.avg_px_e8
    u.strategy_id = o.strategy_id
    u.reject_reason = o.reject_reason
    u.ord_status = order_status(o)
    u.report_kind = REPORT_EXECUTION
    u.side = o.side
    u.ord_type = o.ord_type
    u.time_in_force = o.time_in_force
    memcpy(u.order_id, o.order_id, FIX_ID_LEN)


cdef uint64_t hash_order(uint64_t h, const OmsOrder* o) noexcept nogil:
    cdef uint64_t lo = <uint64_t>o.notional_e10
    cdef int64_t hi = <int64_t>(o.notional_e10 >> 64)
    h = fnv1a_i64(h, o.root_cl_ord_id)
    h = fnv1a_i64(h, o.cl_ord_id)
    h = fnv1a_i64(h, o.order_qty_e2)
    h = fnv1a_i64(h, o.price_e8)
    h = fnv1a_i64(h, o.cum_qty_e2)
    h = fnv1a_i64(h, o.leaves_qty_e2)
    h = fnv1a_i64(h, o.avg_px_e8)
    h = fnv1a_i64(h, o.venue_cum_qty_e2)
    h = fnv1a_i64(h, o.max_qty_e2)
    h = fnv1a_i64(h, o.last_event_ns)
    h = fnv1a_i64(h, <int64_t>lo)
    h = fnv1a_i64(h, hi)
    h = fnv1a_i64(h, o.new_req)
    h = fnv1a_i64(h, o.cancel_req)
    h = fnv1a_i64(h, o.replace_req)
    h = fnv1a_i64(h, o.strategy_id)
    h = fnv1a_i64(h, o.venue_id)
    h = fnv1a_i64(h, o.instrument_id)
    h = fnv1a_i64(h, o.reject_reason)
    h = fnv1a_i64(h, o.base_status)
    h = fnv1a_i64(h, o.acked)
    h = fnv1a_i64(h, o.overfilled)
    h = fnv1a_i64(h, o.side)
    h = fnv1a_i64(h, o.ord_type)
    h = fnv1a_i64(h, o.time_in_force)
    return fnv1a(h, o.order_id, FIX_ID_LEN)


cdef uint64_t book_state_hash(const OrderBook* b) noexcept nogil:
    """Over every field of every order, request and execution in creation order, the ClOrdID
    counter and the venues' states: equal exactly when two books hold the same state."""
    cdef uint64_t h = fnv_basis()
    cdef int32_t i
    cdef const OmsRequest* r
    cdef const ExecRecord* e
    h = fnv1a_i64(h, b.prefix)
    h = fnv1a_i64(h, b.counter)
    h = fnv1a_i64(h, b.last_event_ns)
    h = fnv1a_i64(h, b.n_orders)
    for i in range(b.n_orders):
        h = hash_order(h, &b.orders[i])
    h = fnv1a_i64(h, b.n_requests)
    for i in range(b.n_requests):
        r = &b.requests[i]
        h = fnv1a_i64(h, r.cl_ord_id)
        h = fnv1a_i64(h, r.orig_cl_ord_id)
        h = fnv1a_i64(h, r.qty_e2)
        h = fnv1a_i64(h, r.price_e8)
        h = fnv1a_i64(h, r.deadline_ns)
        h = fnv1a_i64(h, r.order_index)
        h = fnv1a_i64(h, r.kind)
        h = fnv1a_i64(h, r.state)
    h = fnv1a_i64(h, b.n_execs)
    for i in range(b.n_execs):
        e = &b.execs[i]
        h = fnv1a_i64(h, b.exec_keys[i].venue_id)
        h = fnv1a(h, b.exec_keys[i].exec_id, FIX_ID_LEN)
        h = fnv1a_i64(h, e.qty_e2)
        h = fnv1a_i64(h, e.px_e8)
        h = fnv1a_i64(h, e.order_index)
        h = fnv1a_i64(h, e.trans)
        h = fnv1a_i64(h, e.state)
        h = fnv1a_i64(h, e.seen)
        h = fnv1a(h, e.ref, FIX_ID_LEN)
    for i in range(N_VENUES):
        if b.venue_state[i] != VENUE_UP or b.venue_unknown[i] != 0:
            h = fnv1a_i64(h, i)
            h = fnv1a_i64(h, b.venue_state[i])
            h = fnv1a_i64(h, b.venue_unknown[i])
    return h
