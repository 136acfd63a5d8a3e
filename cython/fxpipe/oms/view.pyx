"""Python view of the OMS order book (book.pxd) for tests, tools, replay and status: each call
is one C call on the book plus the conversion of its outcome to numpy event records. The oms
stage's Cython code uses the C API directly and never goes through here."""
from libc.stdint cimport int32_t, int64_t, uint16_t, uint64_t
from libc.string cimport memcpy

from fxpipe.model.events cimport (
    EVENT_SIZE,
    EVT_FILL,
    EVT_ORDER_INTENT,
    EVT_ORDER_UPDATE,
    EVT_SESSION,
    EVT_TIMER,
    Event,
    SESSION_ACTIVE,
    SESSION_DISCONNECTED,
    SESSION_ORDERS,
    TIMER_ORDER_TIMEOUT,
)
from fxpipe.oms.book cimport (
    IntentOutcome,
    OmsOrder,
    OmsRequest,
    OrderBook as BookC,
    ReportOutcome,
    book_find,
    book_free,
    book_init,
    book_observe_cl_ord_id,
    book_order_view,
    book_state_hash,
    cl_ord_id_span,
    event_time_ns,
    order_status,
    status_is_done,
)
from fxpipe.oms.index cimport id_index_get
from fxpipe.oms.intents cimport book_cancel, book_new_order, book_refuse_intent, book_replace, book_submit
from fxpipe.oms.reports cimport book_apply_report
from fxpipe.oms.sessions cimport (
    book_next_unknown,
    book_on_timeout,
    book_session_down,
    book_session_up,
)

cimport fxpipe.oms.book as cbook

import numpy as np

from fxpipe.model import events as _events
from fxpipe.oms.enums import (
    Alarm,
    Disposition,
    ExecState,
    Refusal,
    RequestState,
    VenueState,
    Verdict,
)
from fxpipe.oms.results import IntentResult, OrderView, ReportResult, RequestView

# The C values, for the test that keeps fxpipe.oms.enums equal to book.pxd.
C_CONSTANTS = {
    "Verdict": {"SEND": cbook.VERDICT_SEND, "REFUSED": cbook.VERDICT_REFUSED},
    "Refusal": {
        "NONE": cbook.REFUSE_NONE, "INVALID": cbook.REFUSE_INVALID,
        "DUPLICATE_CL_ORD_ID": cbook.REFUSE_DUPLICATE_CL_ORD_ID,
        "UNKNOWN_ORDER": cbook.REFUSE_UNKNOWN_ORDER, "ORDER_DONE": cbook.REFUSE_ORDER_DONE,
        "CANCEL_PENDING": cbook.REFUSE_CANCEL_PENDING,
        "REPLACE_PENDING": cbook.REFUSE_REPLACE_PENDING,
        "NOT_ACKNOWLEDGED": cbook.REFUSE_NOT_ACKNOWLEDGED,
        "STATUS_UNKNOWN": cbook.REFUSE_STATUS_UNKNOWN,
        "QTY_BELOW_FILLED": cbook.REFUSE_QTY_BELOW_FILLED, "NO_CHANGE": cbook.REFUSE_NO_CHANGE,
        "VENUE_DOWN": cbook.REFUSE_VENUE_DOWN,
        "VENUE_UNRECONCILED": cbook.REFUSE_VENUE_UNRECONCILED,
        "IDS_EXHAUSTED": cbook.REFUSE_IDS_EXHAUSTED, "OUT_OF_MEMORY": cbook.REFUSE_OUT_OF_MEMORY,
        "VENUE_MISMATCH": cbook.REFUSE_VENUE_MISMATCH, "NO_ROUTE": cbook.REFUSE_NO_ROUTE},
    "Disposition": {
        "APPLIED": cbook.DISP_APPLIED, "DUPLICATE": cbook.DISP_DUPLICATE,
        "STALE": cbook.DISP_STALE, "UNKNOWN_ORDER": cbook.DISP_UNKNOWN_ORDER,
        "INVALID": cbook.DISP_INVALID},
    "Alarm": {
        "OVERFILL": cbook.ALARM_OVERFILL, "UNKNOWN_ORDER": cbook.ALARM_UNKNOWN_ORDER,
        "DUPLICATE_MISMATCH": cbook.ALARM_DUPLICATE_MISMATCH,
        "EXEC_REF_CONFLICT": cbook.ALARM_EXEC_REF_CONFLICT,
        "STATE_CONFLICT": cbook.ALARM_STATE_CONFLICT,
        "INVALID_REPORT": cbook.ALARM_INVALID_REPORT,
        "OUT_OF_MEMORY": cbook.ALARM_OUT_OF_MEMORY},
    "RequestState": {
        "PENDING": cbook.REQ_PENDING, "ACCEPTED": cbook.REQ_ACCEPTED,
        "REJECTED": cbook.REQ_REJECTED, "REPLACED": cbook.REQ_REPLACED,
        "UNKNOWN": cbook.REQ_UNKNOWN, "CLOSED": cbook.REQ_CLOSED},
    "ExecState": {
        "STANDING": cbook.EXEC_STANDING, "BUSTED": cbook.EXEC_BUSTED,
        "CORRECTED": cbook.EXEC_CORRECTED, "BUST": cbook.EXEC_BUST},
    "VenueState": {"UP": cbook.VENUE_UP, "DOWN": cbook.VENUE_DOWN,
                   "RECONCILING": cbook.VENUE_RECONCILING},
    "CL_ORD_ID_SPAN": cl_ord_id_span(),
    "MAX_OMS_PREFIX": cbook.MAX_OMS_PREFIX,
}


cdef bytes event_bytes(object ev, uint16_t want, str what):
    """The 192 bytes of one event (bytes, bytearray, memoryview or numpy record), checked."""
    cdef bytes raw
    if isinstance(ev, bytes):
        raw = <bytes>ev
    else:
        try:
            raw = bytes(memoryview(ev).cast("B"))
        except TypeError:
            raise TypeError(f"{what}: expected one {EVENT_SIZE}-byte event (bytes or a numpy "
                            f"record of fxpipe.model.events), got {type(ev).__name__}") from None
    if len(raw) != EVENT_SIZE:
        raise ValueError(f"{what}: an event is {EVENT_SIZE} bytes, got {len(raw)}")
    t = raw[0] | (raw[1] << 8)
    if want and t != want:
        raise ValueError(f"{what}: expected an event of type {want} "
                         f"({_events.EventType(want).name}), got type {t}")
    return raw


cdef inline void load(Event* ev, bytes raw) noexcept:
    memcpy(ev, <const char*>raw, EVENT_SIZE)


cdef object record(const void* p):
    return _events.read((<const char*>p)[:EVENT_SIZE])


cdef inline bytes raw(const void* p):
    return (<const char*>p)[:EVENT_SIZE]


# Enum members by value, looked up instead of constructed (an Enum call costs a microsecond).
_VERDICTS = {int(m): m for m in Verdict}
_REFUSALS = {int(m): m for m in Refusal}
_DISPOSITIONS = {int(m): m for m in Disposition}
_ALARMS = {0: Alarm(0)}


cdef object _alarm(unsigned int bits):
    a = _ALARMS.get(bits)
    if a is None:
        a = _ALARMS[bits] = Alarm(bits)
    return a


cdef object text(const char* s, Py_ssize_t n):
    cdef Py_ssize_t k = 0
    while k < n and s[k] != 0:
        k += 1
    return s[:k].decode("ascii", "replace")


cdef class OrderBook:
    """The order book of one OMS: order state, the FIX 4.2 lifecycle and venue reports.

    prefix: this OMS's ClOrdID prefix (1..MAX_OMS_PREFIX); ClOrdIDs are prefix * 10**12 + n.
    request_timeout_ns: deadline given for every request (event time); 0 = not timed.
    """

    def __cinit__(self, int64_t prefix, int64_t request_timeout_ns=0, int32_t capacity=1024):
        if book_init(&self.b, prefix, request_timeout_ns, capacity) != 0:
            if prefix < 1 or prefix > cbook.MAX_OMS_PREFIX:
                raise ValueError(f"OMS ClOrdID prefix {prefix} is outside 1..{cbook.MAX_OMS_PREFIX}")
            if request_timeout_ns < 0:
                raise ValueError(f"request_timeout_ns must be >= 0, got {request_timeout_ns}")
            raise MemoryError("order book: could not allocate its tables")
        self.ready = True

    def __dealloc__(self):
        if self.ready:
            book_free(&self.b)

    # ------------------------------------------------------------------ intents

    cdef object _intent(self, object intent, object now_ns, int which):
        cdef Event ev
        cdef IntentOutcome out
        cdef int64_t t
        load(&ev, event_bytes(intent, EVT_ORDER_INTENT, "intent"))
        t = event_time_ns(&ev) if now_ns is None else now_ns
        if which == 0:
            book_submit(&self.b, &ev.intent, t, &out)
        elif which == 1:
            book_new_order(&self.b, &ev.intent, t, &out)
        elif which == 2:
            book_cancel(&self.b, &ev.intent, t, &out)
        elif which >= 16:
            book_refuse_intent(&self.b, &ev.intent, t, <uint16_t>which, &out)
        else:
            book_replace(&self.b, &ev.intent, t, &out)
        return IntentResult(_VERDICTS[out.verdict], _REFUSALS[out.refusal], out.order_index,
                            out.deadline_ns,
                            raw(&out.send) if out.verdict == cbook.VERDICT_SEND else None,
                            raw(&out.update))

    def submit(self, intent, now_ns=None):
        """An OrderIntent (any action). now_ns defaults to the event's own time."""
        return self._intent(intent, now_ns, 0)

    def new_order(self, intent, now_ns=None):
        return self._intent(intent, now_ns, 1)

    def cancel(self, intent, now_ns=None):
        return self._intent(intent, now_ns, 2)

    def replace(self, intent, now_ns=None):
        return self._intent(intent, now_ns, 3)

    def refuse_no_route(self, intent, now_ns=None):
        """The book's synthetic reject (Refusal.NO_ROUTE) for an intent no venue can take."""
        return self._intent(intent, now_ns, cbook.REFUSE_NO_ROUTE)

    # ------------------------------------------------------------------ reports and time

    cdef object _result(self, ReportOutcome* out):
        fills = tuple([raw(&out.fills[i]) for i in range(out.n_fills)])
        return ReportResult(_DISPOSITIONS[out.disposition], _alarm(out.alarms), out.order_index,
                            out.publish != 0, out.status_request != 0, out.alarm_observed,
                            out.alarm_limit, raw(&out.update), fills)

    def apply_report(self, update, fill=None):
        """One normalised venue report: the OrderUpdate and, for an execution, bust or
        correction, the Fill made of the same message."""
        cdef Event u, f
        cdef ReportOutcome out
        load(&u, event_bytes(update, EVT_ORDER_UPDATE, "report"))
        if fill is None:
            book_apply_report(&self.b, &u.update, NULL, &out)
        else:
            load(&f, event_bytes(fill, EVT_FILL, "report fill"))
            book_apply_report(&self.b, &u.update, &f.fill, &out)
        return self._result(&out)

    def on_timeout(self, int64_t cl_ord_id, int64_t now_ns):
        """TIMER_ORDER_TIMEOUT for the request cl_ord_id, at event time now_ns."""
        cdef ReportOutcome out
        book_on_timeout(&self.b, cl_ord_id, now_ns, &out)
        return self._result(&out)

    def session_down(self, uint16_t venue_id, int64_t now_ns):
        """The order session with venue_id dropped: orders with a request in flight become
        UNKNOWN; returns their views (OrderUpdate records) to publish."""
        cdef int32_t i
        cdef BookC* b = &self.b
        cdef ReportOutcome out
        book_session_down(b, venue_id, now_ns)
        views = []
        i = book_next_unknown(b, venue_id, 0)
        while i >= 0:
            book_order_view(b, i, &out.update)
            out.update.hdr.flags = _events.EventFlag.SYNTHETIC
            views.append(record(&out.update))
            i = book_next_unknown(b, venue_id, i + 1)
        return views

    def session_up(self, uint16_t venue_id, int64_t now_ns):
        book_session_up(&self.b, venue_id, now_ns)

    def venue_state(self, uint16_t venue_id):
        return VenueState(self.b.venue_state[venue_id])

    def on_event(self, event, fill=None):
        """Any journaled input event: an intent, a report (with its fill), an order timeout or
        an order-session edge. Other events change nothing and give None."""
        raw = event_bytes(event, 0, "event")
        t = raw[0] | (raw[1] << 8)
        if t == EVT_ORDER_INTENT:
            return self.submit(raw)
        if t == EVT_ORDER_UPDATE:
            return self.apply_report(raw, fill)
        if t == EVT_FILL:
            raise ValueError("a Fill is applied with the OrderUpdate of the same report: "
                             "pass it as on_event(update, fill)")
        rec = _events.read(raw)
        if t == EVT_TIMER and rec["kind"] == TIMER_ORDER_TIMEOUT:
            now = max(int(rec["deadline_ns"]), _stamp(rec))
            return self.on_timeout(int(rec["ref_id"]), now)
        if t == EVT_SESSION and rec["session_kind"] == SESSION_ORDERS:
            if rec["state"] == SESSION_DISCONNECTED:
                return self.session_down(int(rec["venue_id"]), _stamp(rec))
            if rec["state"] == SESSION_ACTIVE:
                return self.session_up(int(rec["venue_id"]), _stamp(rec))
        return None

    def replay(self, events):
        """Apply a journaled sequence of input events in order (see on_event). A Fill goes with
        the OrderUpdate right before it when both name the same ClOrdID. Returns the results."""
        seq = list(_iter_events(events))
        results = []
        i = 0
        while i < len(seq):
            raw = seq[i]
            t = raw[0] | (raw[1] << 8)
            if t == EVT_ORDER_UPDATE and i + 1 < len(seq) and _pairs(raw, seq[i + 1]):
                results.append(self.apply_report(raw, seq[i + 1]))
                i += 2
                continue
            if t == EVT_FILL:
                raise ValueError(f"event {i}: a Fill with no OrderUpdate of the same ClOrdID "
                                 f"right before it; the journal is not an OMS input stream")
            results.append(self.on_event(raw))
            i += 1
        return results

    @classmethod
    def rebuild(cls, events, int64_t prefix, int64_t request_timeout_ns=0):
        """A book rebuilt from journaled input events: the same orders, the same state hash
        and the same next ClOrdID as the book that processed them."""
        book = cls(prefix, request_timeout_ns)
        book.replay(events)
        return book

    # ------------------------------------------------------------------ reading

    def state_hash(self):
        return book_state_hash(&self.b)

    @property
    def next_cl_ord_id(self):
        """The ClOrdID the next request will get (without taking it)."""
        return self.b.prefix * cl_ord_id_span() + self.b.counter + 1

    def observe_cl_ord_id(self, int64_t cl_ord_id):
        """Move the ClOrdID counter past cl_ord_id if it has this OMS's prefix (a ClOrdID read
        from the journal or the wire)."""
        book_observe_cl_ord_id(&self.b, cl_ord_id)

    def __len__(self):
        return self.b.n_orders

    cdef object _view(self, int32_t i, tuple chain):
        cdef const OmsOrder* o = &self.b.orders[i]
        return OrderView(
            i, o.root_cl_ord_id, o.cl_ord_id, order_status(o), o.base_status, o.order_qty_e2,
            o.price_e8, o.cum_qty_e2, o.leaves_qty_e2, o.avg_px_e8, _int128(o.notional_e10),
            o.venue_cum_qty_e2,
            self.b.requests[o.cancel_req].cl_ord_id if o.cancel_req >= 0 else 0,
            self.b.requests[o.replace_req].cl_ord_id if o.replace_req >= 0 else 0,
            bool(o.acked), bool(o.overfilled), o.venue_id, o.instrument_id, o.strategy_id,
            o.side, o.ord_type, o.time_in_force, o.reject_reason,
            text(o.order_id, 40), o.last_event_ns, chain)

    cdef list _chains(self):
        """Every order's ClOrdIDs in the order they were made, in one pass over the requests."""
        cdef int32_t k
        chains = [[] for _ in range(self.b.n_orders)]
        for k in range(self.b.n_requests):
            chains[self.b.requests[k].order_index].append(self.b.requests[k].cl_ord_id)
        return chains

    cdef list _views(self, object venue_id, bint open_only):
        cdef int32_t i
        cdef const OmsOrder* o
        chains = self._chains()
        out = []
        for i in range(self.b.n_orders):
            o = &self.b.orders[i]
            if open_only and status_is_done(o.base_status):
                continue
            if venue_id is not None and o.venue_id != venue_id:
                continue
            out.append(self._view(i, tuple(chains[i])))
        return out

    def order(self, int64_t cl_ord_id):
        """The order any ClOrdID of its chain names, or None."""
        cdef int32_t i = book_find(&self.b, cl_ord_id)
        cdef int32_t k
        if i < 0:
            return None
        chain = tuple([self.b.requests[k].cl_ord_id for k in range(self.b.n_requests)
                       if self.b.requests[k].order_index == i])
        return self._view(i, chain)

    def orders(self):
        return self._views(None, False)

    def open_orders(self, venue_id=None):
        """Orders not done (UNKNOWN included): what a reconciliation asks the venue about."""
        return self._views(venue_id, True)

    def unknown_orders(self, venue_id=None):
        return [v for v in self.open_orders(venue_id) if v.base_status == _events.OrdStatus.UNKNOWN]

    def pending_requests(self):
        """How many requests were sent and have had no answer yet (timed or not)."""
        cdef int32_t r, n = 0
        for r in range(self.b.n_requests):
            n += self.b.requests[r].state == cbook.REQ_PENDING
        return n

    def request(self, int64_t cl_ord_id):
        cdef int32_t r = id_index_get(&self.b.by_cl_ord_id, cl_ord_id) if cl_ord_id > 0 else -1
        cdef const OmsRequest* q
        if r < 0:
            return None
        q = &self.b.requests[r]
        return RequestView(q.cl_ord_id, q.orig_cl_ord_id, q.kind, RequestState(q.state), q.qty_e2,
                           q.price_e8, q.deadline_ns, self.b.orders[q.order_index].root_cl_ord_id)

    def execution(self, uint16_t venue_id, exec_id):
        """(state, qty_e2, px_e8, seen) of one (venue, ExecID), or None."""
        cdef bytes key = (exec_id.encode("ascii") if isinstance(exec_id, str) else bytes(exec_id))
        cdef char buf[40]
        cdef int32_t e
        if not 0 < len(key) <= 40:
            raise ValueError(f"an ExecID has 1..40 characters, got {len(key)}")
        buf[:] = b"\0" * 40
        memcpy(buf, <const char*>key, len(key))
        e = cbook.book_find_exec(&self.b, venue_id, buf)
        if e < 0:
            return None
        return (ExecState(self.b.execs[e].state), self.b.execs[e].qty_e2,
                self.b.execs[e].px_e8, bool(self.b.execs[e].seen))


cdef object _int128(cbook.fx_int128 v):
    cdef uint64_t lo = <uint64_t>v
    cdef int64_t hi = <int64_t>(v >> 64)
    return (int(hi) << 64) | int(lo)


def _stamp(rec):
    return max(int(rec[name]) for name in ("ts_venue_ns", "ts_receive_ns", "ts_decode_ns",
                                           "ts_decide_ns", "ts_risk_ns", "ts_send_ns"))


def _pairs(bytes update, bytes nxt):
    """True when nxt is the Fill of the report update (same ClOrdID, a Fill)."""
    if (nxt[0] | (nxt[1] << 8)) != EVT_FILL:
        return False
    return _events.read(update)["cl_ord_id"] == _events.read(nxt)["cl_ord_id"]


def _iter_events(events):
    """Each event of a buffer of whole events, or of an iterable of single events, as bytes."""
    if isinstance(events, (bytes, bytearray, memoryview)) or (
            isinstance(events, np.ndarray) and events.dtype.names is not None and events.ndim == 1):
        raw = bytes(memoryview(events).cast("B")) if not isinstance(events, bytes) else events
        if len(raw) % EVENT_SIZE:
            raise ValueError(f"a buffer of {len(raw)} bytes is not whole {EVENT_SIZE}-byte events")
        for off in range(0, len(raw), EVENT_SIZE):
            yield raw[off:off + EVENT_SIZE]
        return
    for ev in events:
        yield event_bytes(ev, 0, "event")
