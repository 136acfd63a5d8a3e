# The OMS order book: every order, every request (ClOrdID) and every execution the OMS knows,
# as plain C arrays in creation order, with exact hash indexes beside them (index.pxd). It is
# a pure state machine: intents (intents.pxd), venue reports (reports.pxd), timeouts and
# session edges (sessions.pxd) change it; time enters only as event timestamps; nothing
# iterates a hash table, so the same events always give the same book, outputs and hash.
#
#   requests[]  one per ClOrdID: new / cancel / replace, each pointing at its order; every
#               ClOrdID of a cancel/replace chain maps to the same order
#   orders[]    the order as the OMS sees it: FIX 4.2 status, OrderQty, CumQty (the sum of the
#               fills it applied, never the venue's claim), LeavesQty, AvgPx (exact)
#   execs[]     one per (venue, ExecID): a fill, a bust, a correction, or a fill known only
#               from a bust/correction that named it (so its late arrival changes nothing)
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport FIX_ID_LEN, Fill, OrderIntent, OrderUpdate
from fxpipe.oms.index cimport ExecIndex, ExecKey, IdIndex

# ClOrdID = prefix * CL_ORD_ID_SPAN + counter: decimal on the wire, so "7000000000042" reads as
# OMS 7, request 42. The counter never comes from a clock: recovery restores it from the
# highest ClOrdID of this prefix seen in the journal.
cdef inline int64_t cl_ord_id_span() noexcept nogil:
    return 1000000000000
cdef enum:
    MAX_OMS_PREFIX = 9223370     # (prefix + 1) * span still fits in int64

cdef enum:  # RequestState: where one ClOrdID's request stands
    REQ_PENDING = 1     # sent, no answer yet
    REQ_ACCEPTED = 2    # new order acknowledged, cancel done, replace done
    REQ_REJECTED = 3    # order reject, cancel reject, replace reject
    REQ_REPLACED = 4    # a later replace took over this ClOrdID (closed; still maps to the order)
    REQ_UNKNOWN = 5     # past its timeout or in flight at a session drop: venue evidence decides
    REQ_CLOSED = 6      # the order ended, or a status answer did not know it, before an answer

cdef enum:  # ExecState
    EXEC_STANDING = 1   # a fill counted in CumQty
    EXEC_BUSTED = 2     # a fill a bust undid
    EXEC_CORRECTED = 3  # a fill a correction replaced (the new fill is its own record)
    EXEC_BUST = 4       # the bust report itself, kept so a repeat of it is recognised

cdef enum:  # VenueState: may new orders go to the venue?
    VENUE_UP = 0
    VENUE_DOWN = 1          # order session dropped
    VENUE_RECONCILING = 2   # back up; orders in UNKNOWN still wait for venue evidence

cdef enum:  # Disposition: what applying one report (or timer) did
    DISP_APPLIED = 1        # the order changed
    DISP_DUPLICATE = 2      # already applied: same ExecID and content, or the same news again
    DISP_STALE = 3          # older than what the order knows (out of order); nothing changed
    DISP_UNKNOWN_ORDER = 4  # no order has this ClOrdID or OrigClOrdID
    DISP_INVALID = 5        # not a report the OMS can apply (ALARM_INVALID_REPORT says so)

cdef enum:  # OmsAlarm bits: the stage turns each into a RiskEvent and acts on it
    ALARM_OVERFILL = 1              # CumQty > OrderQty: recorded as the venue says; stop the strategy
    ALARM_UNKNOWN_ORDER = 2         # a report for an order the OMS never had
    ALARM_DUPLICATE_MISMATCH = 4    # an ExecID seen before, with different content
    ALARM_EXEC_REF_CONFLICT = 8     # bust/correction of a fill already busted or corrected
    ALARM_STATE_CONFLICT = 16       # a fill on a rejected order, a reject of a filled one
    ALARM_INVALID_REPORT = 32       # negative quantities, no ExecID on a fill, unknown kind
    ALARM_OUT_OF_MEMORY = 64        # the book could not grow; the report was not applied

cdef enum:  # IntentVerdict
    VERDICT_SEND = 1        # send outcome.send to the venue, arm the timer at deadline_ns
    VERDICT_REFUSED = 2     # nothing to send; outcome.update tells the strategy why

cdef enum:  # Refusal: why an intent was refused (in a refusal update's reject_reason)
    REFUSE_NONE = 0
    REFUSE_INVALID = 1              # action, side, type, TIF, quantity or price not valid
    REFUSE_DUPLICATE_CL_ORD_ID = 2  # that ClOrdID is already in use
    REFUSE_UNKNOWN_ORDER = 3        # OrigClOrdID names no order
    REFUSE_ORDER_DONE = 4           # filled, canceled, rejected, expired or done for day
    REFUSE_CANCEL_PENDING = 5       # a cancel is already in flight
    REFUSE_REPLACE_PENDING = 6      # a replace is already in flight (replaces are not queued)
    REFUSE_NOT_ACKNOWLEDGED = 7     # replace before the venue accepted the order
    REFUSE_STATUS_UNKNOWN = 8       # replace of an order in UNKNOWN
    REFUSE_QTY_BELOW_FILLED = 9     # replace to less than CumQty
    REFUSE_NO_CHANGE = 10           # replace to the same quantity and price
    REFUSE_VENUE_DOWN = 11          # order session down
    REFUSE_VENUE_UNRECONCILED = 12  # session back, orders still UNKNOWN there: no new orders
    REFUSE_IDS_EXHAUSTED = 13       # the ClOrdID counter of this prefix is used up
    REFUSE_OUT_OF_MEMORY = 14
    REFUSE_VENUE_MISMATCH = 15      # cancel/replace names another venue than the order's
    REFUSE_NO_ROUTE = 16            # venue 0 and no venue can take it (the oms stage's router)

cdef struct OmsRequest:         # one ClOrdID
    int64_t cl_ord_id
    int64_t orig_cl_ord_id      # the ClOrdID it changes (FIX OrigClOrdID), 0 for a new order
    int64_t qty_e2              # OrderQty asked for (new, replace)
    int64_t price_e8
    int64_t deadline_ns         # answer due (event time); 0 = not timed
    int32_t order_index
    uint8_t kind                # IntentAction: D new, F cancel, G replace
    uint8_t state               # RequestState

cdef struct OmsOrder:
    int64_t root_cl_ord_id      # first ClOrdID: the order's stable key for strategies
    int64_t cl_ord_id           # ClOrdID the venue knows it by now (last accepted)
    int64_t order_qty_e2
    int64_t price_e8            # 0 for market
    int64_t cum_qty_e2          # sum of the fill deltas applied (busts and corrections included)
    int64_t leaves_qty_e2       # order_qty - cum while live, 0 when done
    int64_t avg_px_e8           # notional / cum, half-even; 0 with nothing filled
    int64_t venue_cum_qty_e2    # CumQty of the venue's latest word (reconciliation)
    int64_t max_qty_e2          # largest OrderQty the venue ever accepted (new or replace)
    int64_t last_event_ns
    fx_int128 notional_e10      # sum of qty_e2 * px_e8 of standing fills: AvgPx never drifts
    int32_t new_req             # request index of the NewOrderSingle
    int32_t cancel_req          # pending cancel, -1 if none
    int32_t replace_req         # pending replace, -1 if none
    uint32_t strategy_id
    uint16_t venue_id
    uint16_t instrument_id
    uint16_t reject_reason      # last OrdRejReason / CxlRejReason the venue gave
    uint8_t base_status         # OrdStatus without the pending-cancel/replace overlay
    uint8_t acked               # the venue has shown it knows the order
    uint8_t overfilled
    uint8_t side
    uint8_t ord_type
    uint8_t time_in_force
    char order_id[FIX_ID_LEN]   # venue OrderID, once a report carried one

cdef struct ExecRecord:
    int64_t qty_e2
    int64_t px_e8
    int32_t order_index
    uint8_t trans               # ExecTransType it came with
    uint8_t state               # ExecState
    uint8_t seen                # 0: known only as the ExecRefID of a bust/correction
    char ref[FIX_ID_LEN]        # its ExecRefID (bust, correction)

cdef struct OrderBook:
    OmsOrder* orders
    OmsRequest* requests
    ExecRecord* execs
    ExecKey* exec_keys
    int32_t n_orders
    int32_t cap_orders
    int32_t n_requests
    int32_t cap_requests
    int32_t n_execs
    int32_t cap_execs
    IdIndex by_cl_ord_id
    ExecIndex by_exec_id
    int64_t prefix
    int64_t counter             # last ClOrdID counter handed out or seen
    int64_t request_timeout_ns  # 0: requests are not timed
    int64_t last_event_ns       # latest event time seen (time only moves forward)
    uint8_t* venue_state        # per venue id
    int32_t* venue_unknown      # orders in UNKNOWN per venue id

cdef struct ReportOutcome:
    int32_t order_index         # -1 when no order is concerned
    uint16_t disposition        # Disposition
    uint16_t n_fills            # fills[:n_fills] are position deltas (a correction has two)
    uint32_t alarms             # OmsAlarm bits
    uint8_t publish             # update holds the order's new view for the exec ring
    uint8_t status_request      # send an OrderStatusRequest for update.cl_ord_id
    int64_t alarm_observed      # overfill: CumQty; conflicts: the quantity concerned
    int64_t alarm_limit         # overfill: OrderQty
    OrderUpdate update
    # A delta: side-signed by the order's side, last_qty_e2 < 0 undoes (a bust, the old half
    # of a correction). Sum of last_qty_e2 over an order's deltas == its cum_qty_e2.
    Fill fills[2]

cdef struct IntentOutcome:
    int32_t order_index
    uint16_t verdict            # IntentVerdict
    uint16_t refusal            # Refusal
    int64_t deadline_ns         # arm TIMER_ORDER_TIMEOUT(ref_id=send.cl_ord_id); 0 = none
    OrderIntent send            # the request for the venue (cl_ord_id / orig filled in)
    OrderUpdate update          # the order's view after it, or the refusal (FLAG_SYNTHETIC)

# Life of a book. 0 / -1 (out of memory, or prefix outside 1..MAX_OMS_PREFIX).
cdef int book_init(OrderBook* b, int64_t prefix, int64_t request_timeout_ns,
                   int32_t capacity) noexcept nogil
cdef void book_free(OrderBook* b) noexcept nogil

# ClOrdIDs: the next one (advancing the counter), 0 when exhausted; observe() moves the
# counter past any ClOrdID of this prefix seen in the journal or on the wire.
cdef int64_t book_allocate_cl_ord_id(OrderBook* b) noexcept nogil
cdef void book_observe_cl_ord_id(OrderBook* b, int64_t cl_ord_id) noexcept nogil

cdef int32_t book_find(const OrderBook* b, int64_t cl_ord_id) noexcept nogil  # order index, -1
cdef uint8_t order_status(const OmsOrder* o) noexcept nogil   # the OrdStatus the OMS publishes
cdef bint status_is_done(uint8_t s) noexcept nogil
cdef void book_order_view(const OrderBook* b, int32_t index, OrderUpdate* out) noexcept nogil
cdef uint64_t book_state_hash(const OrderBook* b) noexcept nogil

# Internal to the oms package (intents, reports, executions, sessions).
cdef int32_t book_add_request(OrderBook* b, int64_t cl_ord_id, int64_t orig, int32_t order_index,
                              uint8_t kind, int64_t qty_e2, int64_t price_e8,
                              int64_t deadline_ns) noexcept nogil
cdef int32_t book_add_order(OrderBook* b) noexcept nogil
cdef int32_t book_add_exec(OrderBook* b, uint16_t venue_id, const char* exec_id) noexcept nogil
cdef int32_t book_find_exec(const OrderBook* b, uint16_t venue_id, const char* exec_id) noexcept nogil
cdef void set_base_status(OrderBook* b, OmsOrder* o, uint8_t s) noexcept nogil
cdef void refresh_order(OrderBook* b, OmsOrder* o) noexcept nogil
cdef void close_pending(OrderBook* b, OmsOrder* o) noexcept nogil
cdef void note_event_time(OrderBook* b, int64_t t) noexcept nogil

cdef inline int64_t event_time_ns(const void* ev) noexcept nogil:
    """An event's time for the book: the latest hop stamp it carries (journaled with it, so a
    replay sees the same time). Never the wall clock."""
    cdef const int64_t* ts = &(<const OrderUpdate*>ev).hdr.ts_venue_ns
    cdef int64_t t = 0
    cdef int i
    for i in range(6):
        if ts[i] > t:
            t = ts[i]
    return t


cdef inline void report_outcome_reset(ReportOutcome* out, uint16_t disposition) noexcept nogil:
    """An outcome that concerns no order yet, says nothing and asks for nothing."""
    out.order_index = -1
    out.disposition = disposition
    out.n_fills = 0
    out.alarms = 0
    out.publish = 0
    out.status_request = 0
    out.alarm_observed = 0
    out.alarm_limit = 0
