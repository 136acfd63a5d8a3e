"""The oms stage's hot path in C: an intent through risk and the order book to the request, and
a venue report with its Fill through the book, positions, PnL and risk, each as one call on
the event's bytes, with the stage's output records made straight from the C structs.

It does exactly what fxpipe.oms.stage.OmsStage's Python path does for the common cases, in
the same order, to the same bytes (tests/oms/test_oms_stage*.py and the replay tests hold it
to that). What it does not cover it hands back (None) before changing anything, or, after
the book applied a report, passes the book's outcome to the stage's Python code: venue-0
intents (routing), alarms, corrections, quotes, controls, timers and session edges.

Output records are views into slabs of 256 events per type (one numpy array each), so making
one costs a memcpy and an index instead of an array of its own; a slab is kept alive by the
records that point into it, never reused. A host that takes events as bytes (the runtime's
order gateway: they go on the journal and the exec ring as such) asks for `bytes_out`: the
outputs made here are then bytearrays, no record made and none turned back into bytes; what
the stage's Python code makes stays records."""
from cpython.bytearray cimport PyByteArray_FromStringAndSize
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset

from fxpipe.model.events cimport (
    EVENT_SIZE,
    EVT_FILL,
    EVT_LAST,
    EVT_ORDER_INTENT,
    EVT_ORDER_UPDATE,
    EVT_QUOTE,
    EVT_RISK,
    EXEC_TRANS_CANCEL,
    EXEC_TRANS_CORRECT,
    EXEC_TRANS_NEW,
    EXEC_TYPE_FILL,
    EXEC_TYPE_PARTIAL_FILL,
    Event,
    Fill,
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    MARK_OK,
    ORD_STATUS_CANCELED,
    OrderIntent,
    OrderUpdate,
    POS_BUST,
    POS_FILL,
    PnlEvent,
    PositionUpdate,
    Quote,
    REPORT_EXECUTION,
    RiskEvent,
)
from fxpipe.oms.book cimport (
    ALARM_OVERFILL,
    DISP_APPLIED,
    DISP_DUPLICATE,
    IntentOutcome,
    OrderBook as BookC,
    ReportOutcome,
    VERDICT_SEND,
    cl_ord_id_span,
    event_time_ns,
)
from fxpipe.oms.index cimport id_index_get
from fxpipe.oms.intents cimport book_submit
from fxpipe.oms.reports cimport book_apply_report
from fxpipe.oms.view cimport OrderBook
from fxpipe.positions.book cimport FILL_APPLIED, FILL_DUPLICATE, PositionEngine, strategy_index_of
from fxpipe.risk.engine cimport RiskEngine

import heapq

import numpy as np

from fxpipe.model import events as _events
from fxpipe.oms.results import ReportResult
from fxpipe.oms.enums import Alarm, Disposition

cdef object _heappush = heapq.heappush     # bound once: no module lookup per order

cdef enum:
    SLAB = 256

_DISPOSITIONS = {int(m): m for m in Disposition}


cdef class _Slab:
    cdef object arr
    cdef char* base
    cdef int used


cdef class _Slabs:
    """Slabs of records, one current slab per event type."""
    cdef list slabs
    cdef list dtypes

    def __init__(self):
        self.slabs = [None] * (EVT_LAST + 1)
        self.dtypes = [None] + [_events.dtype_for(t) for t in range(1, EVT_LAST + 1)]

    cdef inline object record(self, const void* p):
        """A record of the event at p (of its own type), in the current slab of that type."""
        cdef uint16_t t = (<const Event*>p).hdr.type
        cdef _Slab s
        if t == 0 or t > EVT_LAST:
            raise ValueError(f"unknown event type {t}")
        s = self.slabs[t]
        if s is None or s.used == SLAB:
            s = _Slab()
            s.arr = np.zeros(SLAB, dtype=self.dtypes[t])
            s.base = <char*><size_t>s.arr.ctypes.data
            s.used = 0
            self.slabs[t] = s
        memcpy(s.base + s.used * EVENT_SIZE, p, EVENT_SIZE)
        s.used += 1
        return s.arr[s.used - 1]


cdef _Slabs _shared = _Slabs()


def record_of(raw):
    """A writable record (fxpipe.model.events, its own type) over a copy of one event's 192
    bytes (bytes or bytearray): what events.read(bytearray(raw)) gives, without the cost of
    a numpy view per event."""
    cdef const unsigned char[::1] mv = raw
    if mv.shape[0] != EVENT_SIZE:
        raise ValueError(f"an event is {EVENT_SIZE} bytes, got {mv.shape[0]}")
    return _shared.record(&mv[0])


cdef class StageCore:
    """The C path of one OmsStage: its order book, positions and risk engines and its timer
    heap, shared with the stage's Python code."""
    # attributes: stagecore.pxd

    def __init__(self, stage, OrderBook book, PositionEngine positions, RiskEngine risk, list timers):
        self.marked = None
        self.bytes_out = False
        self.stage = stage
        self.view = book
        self.b = &book.b
        self.pe = positions
        self.risk = risk
        self.timers = timers
        self.has_held = False

    # ------------------------------------------------------------------ records

    cdef inline object record(self, const void* p):
        return _shared.record(p)

    cdef inline object output(self, const void* p):
        """One of the stage's outputs: a record, or its bytes when the host asked for bytes."""
        if self.bytes_out:
            return PyByteArray_FromStringAndSize(<const char*>p, EVENT_SIZE)
        return _shared.record(p)

    # ------------------------------------------------------------------ the held report

    def take_held(self):
        """The report waiting for its Fill, as a record (None if none); no longer held."""
        if not self.has_held:
            return None
        self.has_held = False
        return self.record(&self.held)

    def hold(self, rec):
        """Hold a report (an OrderUpdate record) until its Fill; None: hold nothing."""
        cdef bytes raw
        if rec is None:
            self.has_held = False
            return
        raw = rec.tobytes()
        memcpy(&self.held, <const char*>raw, EVENT_SIZE)
        self.has_held = True

    # ------------------------------------------------------------------ events

    cpdef object on_event(self, bytes raw, int64_t seq):
        """The stage's outputs for one event, or None: the Python path takes it (nothing
        has changed)."""
        cdef Event e
        cdef uint16_t t
        if len(raw) != EVENT_SIZE:
            return None
        memcpy(&e, <const char*>raw, EVENT_SIZE)
        if seq:
            e.hdr.sequence = seq
        t = e.hdr.type
        if self.has_held:
            if t == EVT_FILL and e.fill.cl_ord_id == self.held.update.cl_ord_id:
                self.has_held = False
                return self.report(&self.held.update, &e.fill)
            return None
        if t == EVT_ORDER_UPDATE:
            if e.update.report_kind == REPORT_EXECUTION and (
                    e.update.exec_type == EXEC_TYPE_PARTIAL_FILL or e.update.exec_type == EXEC_TYPE_FILL
                    or e.update.exec_trans_type == EXEC_TRANS_CANCEL
                    or e.update.exec_trans_type == EXEC_TRANS_CORRECT):
                memcpy(&self.held, &e, EVENT_SIZE)      # its Fill is the next event
                self.has_held = True
                return []
            return self.report(&e.update, NULL)
        if t == EVT_ORDER_INTENT and e.hdr.venue_id != 0:
            return self.intent(&e.intent)
        if t == EVT_QUOTE and self.marked is not None:
            return self.quote(&e.quote)
        return None

    def quotes_in_c(self, set marked):
        """Marks go through C from now on; the instruments they move are added to `marked`
        (the book stage's set of marks that owe a PositionUpdate at the next timer)."""
        self.marked = marked

    cdef object quote(self, const Quote* q):
        # as BookStage._on_quote with marks on the timer: positions take the mark, then risk
        # (its loss limit), and only what risk made goes back through the stage's Python
        if not self.pe.apply_quote(q):
            return []
        self.marked.add(q.hdr.instrument_id)
        if self.risk.on_mark(q.hdr.instrument_id,
                             q.hdr.ts_receive_ns if q.hdr.ts_receive_ns else q.hdr.ts_venue_ns) == 0:
            return []
        return self.stage._intents_through_book(self.risk.outbox_records())

    cdef object intent(self, OrderIntent* it):
        cdef IntentOutcome io
        cdef RiskEvent rev
        cdef OrderUpdate gone
        cdef int64_t seq = it.hdr.sequence
        cdef int action = it.action
        cdef bint reused = it.cl_ord_id > 0 and id_index_get(&self.b.by_cl_ord_id, it.cl_ord_id) >= 0
        if action != INTENT_CANCEL and not reused:
            if it.cl_ord_id == 0:
                # chosen before risk sees the intent, so both track the same id
                it.cl_ord_id = self.b.prefix * cl_ord_id_span() + self.b.counter + 1
            memset(&rev, 0, EVENT_SIZE)
            rev.hdr.type = EVT_RISK
            if self.risk.check_intent(it, &rev) != 0:
                return [self.output(&rev)]
        book_submit(self.b, it, event_time_ns(it), &io)
        if io.verdict != VERDICT_SEND:
            io.update.hdr.sequence = seq
            out = [self.output(&io.update)]
            if reused or action == INTENT_CANCEL:
                return out
            if action == INTENT_NEW:
                # risk counted the order as open: it never left, so it is done for risk
                memcpy(&gone, &io.update, EVENT_SIZE)
                gone.ord_status = ORD_STATUS_CANCELED
                gone.leaves_qty_e2 = 0
                self.risk.on_update(&gone)
            elif action == INTENT_REPLACE:
                self.risk.on_update(&io.update)
            return out
        if io.deadline_ns:
            _heappush(self.timers, (io.deadline_ns, io.send.cl_ord_id))
        return [self.output(&io.update), self.output(&io.send)]

    cdef object report(self, const OrderUpdate* u, const Fill* f):
        cdef ReportOutcome ro
        cdef int64_t seq = u.hdr.sequence
        cdef Fill* d
        cdef PositionUpdate pu
        cdef PnlEvent pnl
        cdef int rc, sx, c, st
        cdef int64_t r, un, cm
        book_apply_report(self.b, u, f, &ro)
        if (ro.alarms & ~(<uint32_t>ALARM_OVERFILL)) or ro.n_fills > 1 \
                or (ro.n_fills == 1 and ro.fills[0].exec_trans_type == EXEC_TRANS_CORRECT):
            # alarms and corrections: the stage's Python code, from the book's outcome
            fills = tuple([(<const char*>&ro.fills[k])[:EVENT_SIZE] for k in range(ro.n_fills)])
            res = ReportResult(_DISPOSITIONS[ro.disposition], Alarm(ro.alarms), ro.order_index,
                               ro.publish != 0, ro.status_request != 0, ro.alarm_observed,
                               ro.alarm_limit, (<const char*>&ro.update)[:EVENT_SIZE], fills)
            return self.stage._after_report(res, seq)
        out = []
        ro.update.hdr.sequence = seq
        if ro.publish:
            out.append(self.output(&ro.update))
        if ro.n_fills == 1:
            d = &ro.fills[0]
            d.hdr.sequence = seq
            out.append(self.output(d))
            rc = self.pe.apply_fill(d, seq)
            if rc == FILL_APPLIED:
                # write_position and write_pnl start each event from zero themselves
                self.pe.write_position(self.pe.last_book, POS_FILL if d.exec_trans_type == EXEC_TRANS_NEW
                                       else POS_BUST, seq, &pu)
                out.append(self.output(&pu))
                sx = strategy_index_of(self.pe, d.strategy_id)
                for c in range(self.pe.n_ccy):
                    st = self.pe.pnl_in(sx, c, &r, &un, &cm)
                    if r == 0 and un == 0 and cm == 0 and st == MARK_OK:
                        continue
                    self.pe.write_pnl(sx, c, seq, &pnl)
                    out.append(self.output(&pnl))
                self.pe.write_pnl_total(sx, seq, &pnl)
                out.append(self.output(&pnl))
                self.risk.on_fill(d)
                if self.risk.n_out:
                    out += self.stage._intents_through_book(self.outbox())
            elif rc != FILL_DUPLICATE:
                out += self.stage._intents_through_book(self.stage.numbers.on_event(self.record(d)))
        if ro.publish and ro.disposition == DISP_APPLIED:
            self.risk.on_update(&ro.update)
            if self.risk.n_out:
                out += self.stage._intents_through_book(self.outbox())
        return out

    cdef list outbox(self):
        return [self.record(&self.risk.outbox[k]) for k in range(self.risk.n_out)]
