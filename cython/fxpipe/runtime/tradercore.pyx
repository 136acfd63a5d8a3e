# cython: language_level=3, boundscheck=False, wraparound=False
"""The trading worker's flow between its stages, in C: each input event, then everything it
causes in the process, in the order made (fxpipe.runtime.trading documents the flow; its
TradingWorker is this class with the loop, the I/O and recovery around it).

Every quote goes through here (on the md ring, its mark kept, to the decision stage) and every
order (on the intent ring, the marks and the intent to the oms, stamped at each hop); in Python
that glue was some sixty interpreted lines between a quote's arrival and its order's send. The
stages themselves are called as before: the decision's C quote path (the strategy's own code is
Python), the order gateway's C path; the rings' producers are driven through their C API.
"""
from libc.stdint cimport int64_t

from fxpipe.includes.overrides cimport OverrideCheck, keeps_method
from fxpipe.includes.wallclock cimport read_clock
from fxpipe.oms.gatewaycore cimport GatewayCore
from fxpipe.model.events cimport (
    EVT_FILL,
    EVT_ORDER_INTENT,
    EVT_ORDER_UPDATE,
    EVT_POSITION_UPDATE,
    EVT_QUOTE,
    EVT_RISK,
    event_bytes,
    event_i64,
    event_set_i64,
)
from fxpipe.ring.endpoints cimport Producer

import logging
import time

from fxpipe.model import events as _events

log = logging.getLogger("fxpipe.runtime.trading")

cdef object _WALL = time.time_ns
cdef object _FEED = getattr(GatewayCore, "_feed")     # OrderGateway's submit and quote
cdef OverrideCheck _submit_check, _quote_check        # fxpipe.includes.overrides


cdef inline object _to_oms(gw, event, bint mark):
    """The order gateway's submit (an intent) or quote (a mark): a C call into its core while
    the gateway's class has GatewayCore._feed as that method (OrderGateway does), through
    Python for anything else."""
    if isinstance(gw, GatewayCore):
        if mark:
            if keeps_method(&_quote_check, gw, "quote", _FEED):
                return (<GatewayCore>gw).feed_c(event)
        elif keeps_method(&_submit_check, gw, "submit", _FEED):
            return (<GatewayCore>gw).feed_c(event)
    return gw.quote(event) if mark else gw.submit(event)


MAX_CASCADE = 10_000          # events one input may cause in one process before it is a loop

_QUOTE_FIELDS = _events.dtype_for(_events.EventType.QUOTE).fields
_INTENT_FIELDS = _events.dtype_for(_events.EventType.ORDER_INTENT).fields
cdef Py_ssize_t _LEVEL_AT = _QUOTE_FIELDS["level"][1]
cdef Py_ssize_t _CL_ORD_ID_AT = _INTENT_FIELDS["cl_ord_id"][1]
cdef Py_ssize_t _RISK_AT = _INTENT_FIELDS["ts_risk_ns"][1]
cdef Py_ssize_t _DECIDE_AT = _INTENT_FIELDS["ts_decide_ns"][1]    # a header field: the same in every type


class CascadeError(RuntimeError):
    pass


cdef class TraderCore:
    """The worker's stages and rings as its flow uses them: `work` the queue of events made
    while handling one (handled in the order made, never recursively), `producers` the rings it
    writes (md, intent, exec: set with bind_producers()), `decision` and `gateway` the stages
    in this process (None: elsewhere), `_marks` the oms's latest top of book per instrument and
    venue, `clock` the wall clock of the hop stamps."""
    cdef public object work
    cdef public dict producers
    cdef public object decision
    cdef public object _decide_quote         # the decision's C quote path
    cdef public object gateway
    cdef public dict _marks
    cdef public object clock
    cdef public bint _in_doubt               # after a restart, until the intent ring is read again
    cdef public bint _stopping
    cdef public object spec
    cdef Producer _md
    cdef Producer _intent
    cdef Producer _exec
    cdef int64_t _n_md, _n_intents, _n_exec

    def bind_producers(self, dict producers) -> None:
        """The rings this process writes: {"md", "intent", "exec"} -> Producer (absent: not here)."""
        self.producers = producers
        self._md = producers.get("md")
        self._intent = producers.get("intent")
        self._exec = producers.get("exec")

    @property
    def counts(self) -> dict:
        """Events this process put on each ring it writes."""
        return {"md": self._n_md, "intents": self._n_intents, "exec": self._n_exec}

    # ------------------------------------------------------------------ for the loop

    def _handle(self, e, str source) -> None:
        """One input event, then everything it causes in this process."""
        self.step(e, source)
        self.drain()

    def _drain(self) -> int:
        return self.drain()

    def _decided(self, outs, bint now=False) -> None:
        self.decided(outs, now)

    def _flush_marks(self, instrument=None) -> None:
        self.flush_marks(-1 if instrument is None else instrument)

    def _from_oms(self, e) -> None:
        self.work.append((e, "oms"))

    def _publish(self, str ring, raw) -> None:
        p = self.producers.get(ring)
        if p is not None:
            p.send(raw)

    # ------------------------------------------------------------------ the flow

    cdef int drain(self) except -1:
        cdef int n = 0
        work = self.work
        while work:
            e, source = work.popleft()
            self.step(e, source)
            n += 1
            if n > MAX_CASCADE:
                raise CascadeError(f"one input caused more than {MAX_CASCADE} events in process "
                                   f"{self.spec.name}: a strategy and the oms are feeding each other")
        return n

    cdef int step(self, e, str source) except -1:
        cdef const unsigned char* p
        cdef int t, venue, instrument
        # once: the ring, the marks and the oms all take the bytes (the decision's outputs
        # come as bytes already, stamped by decided())
        raw = e if type(e) is bytearray else e.tobytes()
        p = event_bytes(raw, "an event")
        t = p[0] | p[1] << 8
        venue = p[4] | p[5] << 8
        instrument = p[6] | p[7] << 8
        if source == "feed":
            self.publish(self._md, raw)
            self._n_md += 1
        if source == "feed" or source == "md":
            # the mark first: an intent this quote causes is handed to the oms with it
            if self.gateway is not None and t == EVT_QUOTE and not p[_LEVEL_AT]:
                by_venue = self._marks.get(instrument)
                if by_venue is None:
                    by_venue = self._marks[instrument] = {}
                by_venue[venue] = raw
            if self.decision is not None:
                outs = self._decide_quote(raw) if t == EVT_QUOTE else self.decision.on_event(e)
                if outs:
                    self.decided(outs, True)
            return 0
        if source == "decision":
            self.from_decision(raw, t, instrument)
            return 0
        if source == "intent":
            if self.gateway is not None and t == EVT_ORDER_INTENT:
                self.submit(raw, instrument, False)
            return 0
        if source == "oms" or source == "exec":
            if source == "oms":
                self.publish(self._exec, raw)
                self._n_exec += 1
            if self.decision is not None and not self._stopping and (
                    t == EVT_FILL or t == EVT_ORDER_UPDATE or t == EVT_POSITION_UPDATE or t == EVT_RISK):
                self.decided(self.decision.on_event(raw), False)
            return 0
        if source == "control":
            if self.gateway is not None:
                self.gateway.control(e)
            if self.decision is not None:
                self.decided(self.decision.on_event(e), False)
        return 0

    cdef int decided(self, outs, bint now) except -1:
        """The decision's outputs, stamped, into the work queue; now: handled at once, in order,
        when nothing waits there (what the queue would do, without going through it: an input's
        own decisions, on the order path)."""
        cdef int64_t at = read_clock(self.clock, _WALL)
        cdef bint direct = now and not self.work
        cdef const unsigned char* p
        for o in outs:
            raw = o if type(o) is bytearray else bytearray(o.tobytes())
            p = event_bytes(raw, "an event")
            event_set_i64(raw, _DECIDE_AT, at)
            if direct:
                self.from_decision(raw, p[0] | p[1] << 8, p[6] | p[7] << 8)
            else:
                self.work.append((raw, "decision"))
        return 0

    cdef int from_decision(self, raw, int t, int instrument) except -1:
        self.publish(self._intent, raw)
        self._n_intents += 1
        if self.gateway is not None and t == EVT_ORDER_INTENT:
            self.submit(raw, instrument, True)
        return 0

    cdef int submit(self, intent, int instrument, bint owned) except -1:
        """owned: `intent` is this worker's own buffer (the decision's output, on its ring
        already), stamped in place; else a copy is stamped."""
        cdef int64_t cl
        gw = self.gateway
        if self._in_doubt:
            cl = event_i64(event_bytes(intent, "an event"), _CL_ORD_ID_AT)
            if cl and gw.stage.book.request(cl) is not None:
                log.warning("intent %d came again after a restart: the oms had it already; not sent twice", cl)
                return 0
        self.flush_marks(instrument)
        raw = intent if owned and type(intent) is bytearray else bytearray(intent)
        event_set_i64(raw, _RISK_AT, read_clock(self.clock, _WALL))
        _to_oms(gw, raw, False)
        return 0

    cdef int flush_marks(self, int instrument) except -1:
        """Hands the oms the latest marks: of one instrument (before an intent on it: its collar
        and stale-price guard see the quote the strategy saw), or all (instrument -1: each timer:
        PnL, and the conversion rates, which are at most one timer period old)."""
        if not self._marks or self.gateway is None:
            return 0
        if instrument >= 0:
            by_venue = self._marks.pop(instrument, None)
            if by_venue is not None:
                if len(by_venue) == 1:          # one venue quotes it: nothing to order
                    for q in by_venue.values():
                        _to_oms(self.gateway, q, True)
                    return 0
                for venue in sorted(by_venue):
                    _to_oms(self.gateway, by_venue[venue], True)
            return 0
        marks, self._marks = self._marks, {}
        for _, q in sorted([((venue, instr), q) for instr, bv in marks.items() for venue, q in bv.items()]):
            self.gateway.quote(q)
        return 0

    cdef inline int publish(self, Producer p, raw) except -1:
        if p is not None:
            p._send(<const char*>event_bytes(raw, "an event"), len(raw), None)
        return 0
