# cython: language_level=3, boundscheck=False, wraparound=False
"""The order gateway's hot path in C: one input through the write-ahead step, then what its
outputs ask for (a request sent through its venue's adapter and order session, a status asked
for an order in doubt, the outputs handed on).

An order goes through here twice (its mark, then its intent) and a venue's report once; in
Python the loop over the outputs, the request's send and their bookkeeping were some 30
interpreted lines on the order path. What they mean is unchanged and stays documented in
fxpipe.oms.gateway, whose OrderGateway is this class with its I/O and recovery around it.
"""
from libc.stdint cimport int64_t

from fxpipe.fix.session.outbox cimport Outbox
from fxpipe.includes.wallclock cimport read_clock
from fxpipe.oms.writeahead cimport WriteAhead
from fxpipe.model.events cimport event_bytes, event_i64, event_set_i64

import logging
import time

from fxpipe.fix.session.admin import ADMIN_TYPES as _ADMIN_TYPES
from fxpipe.fix.session.application import SessionNotLoggedOn, State
from fxpipe.fix.storelog import crc32 as _store_crc
from fxpipe.model import events as ev

log = logging.getLogger("fxpipe.oms.gateway")

cdef object _WALL = time.time_ns
cdef object _ACTIVE = State.ACTIVE

cdef int _INTENT = int(ev.EventType.ORDER_INTENT)
cdef int _UPDATE = int(ev.EventType.ORDER_UPDATE)
cdef int _UNKNOWN = int(ev.OrdStatus.UNKNOWN)
_HDR = ev.dtype_for(ev.EventType.ORDER_UPDATE).fields
cdef Py_ssize_t _VENUE_AT = _HDR["venue_id"][1]
cdef Py_ssize_t _ORD_STATUS_AT = _HDR["ord_status"][1]
cdef Py_ssize_t _CL_ORD_ID_AT = _HDR["cl_ord_id"][1]
cdef Py_ssize_t _SEND_AT = ev.dtype_for(ev.EventType.ORDER_INTENT).fields["ts_send_ns"][1]
assert _CL_ORD_ID_AT == ev.dtype_for(ev.EventType.ORDER_INTENT).fields["cl_ord_id"][1]


cdef class GatewayCore:
    """The gateway's state the hot path reads: the write-ahead step, the stage, the venues'
    links (adapters) and order sessions, the clock. on_output(event): every output that is not
    a request; on_sent(request): every request that went out (or was refused a session),
    stamped with ts_send_ns, for a host that journals and publishes requests too (None: not
    called)."""
    # attributes: gatewaycore.pxd

    cpdef list _feed(self, event):
        """One input through the write-ahead step (fxpipe.oms.writeahead), then what its
        outputs ask for: a request sent, a status asked for an order in doubt, the outputs
        handed on. Returns what the stage made of the event."""
        return self.feed_c(event)

    cdef list feed_c(self, event):
        """_feed() for a Cython caller (the trading worker): a C call without the instance
        look-up a cpdef call makes; the caller uses it only while the object's type keeps
        GatewayCore._feed (fxpipe.includes.overrides)."""
        cdef list outputs, out_raw
        cdef Py_ssize_t k
        cdef const unsigned char* p
        cdef int t
        wa = self._write_ahead
        fed = (<WriteAhead>wa).feed(event) if type(wa) is WriteAhead else wa.feed(event)
        if fed is None:
            return []           # most often a mark: nothing to journal or send
        outputs, out_raw = fed
        for k in range(len(outputs)):
            out = outputs[k]
            b = out_raw[k]
            p = event_bytes(b, "an event")
            t = p[0] | p[1] << 8
            if t == _INTENT:
                self._send(out, b)
                continue
            if t == _UPDATE and p[_ORD_STATUS_AT] == _UNKNOWN:
                view = self.stage.book.order(event_i64(p, _CL_ORD_ID_AT))
                if view is not None:
                    self._status_request(int(view.venue_id), view)
            if self.on_output is not None:
                self.on_output(out)
        return list(outputs)

    cpdef int64_t _send(self, req, raw=None) except? -1:
        """Send one request of the stage (its OrderIntent record or bytes; raw: its bytes, when
        the caller has them) through its venue's adapter. Returns when its bytes were handed to
        the socket (the session's wall clock), 0 when they were not (not logged on, or held
        behind a resend)."""
        cdef const unsigned char* p
        cdef int venue
        cdef int64_t before, after, sent_at = 0
        cdef bint fast
        if raw is None:
            raw = req if type(req) is bytearray or type(req) is bytes else req.tobytes()
        p = event_bytes(raw, "an event")
        venue = p[_VENUE_AT] | p[_VENUE_AT + 1] << 8
        link = self.links.get(venue)
        if link is None:
            log.error("request %d names venue %d, which has no order session here", event_i64(p, _CL_ORD_ID_AT), venue)
        else:
            msg_type, body = link.adapter.request_body(self.refdata, raw, read_clock(self.clock, _WALL))
            self._warm_request, self._warm_venue = raw, venue
            session = self.sessions[venue]
            outbox = session.outbox
            fast = type(outbox) is Outbox
            before = (<Outbox>outbox).last_sent if fast else outbox.last_sent
            try:
                if fast and session.state is _ACTIVE and msg_type not in _ADMIN_TYPES:
                    # Session.send's two checks, then its outbox: a Python frame less per order
                    (<Outbox>outbox).send(msg_type, body, ())
                else:
                    session.send(msg_type, body)    # raises as the session says why
                self.sent += 1
                after = (<Outbox>outbox).last_sent if fast else outbox.last_sent
                sent_at = after if after != before else 0
            except SessionNotLoggedOn:
                # its timer makes the order UNKNOWN and the status request after the logon settles it
                log.warning("request %d to venue %d not sent: session not logged on", event_i64(p, _CL_ORD_ID_AT),
                            venue)
        if self.on_sent is not None:
            if type(req) is bytes:
                req = bytearray(req)        # immutable: a stamped copy is handed on
            self._stamp_sent(req, sent_at if sent_at else read_clock(self.clock, _WALL))
            self.on_sent(req)
        return sent_at

    cpdef int warm(self):
        """Runs the request's rendering, the session's encoding and the store's checksum on the
        last request sent, as _send would, and throws the bytes away: called while the worker
        idles, so the next order finds that code and its data in the core's caches (on the
        2-core VM, in process, risk → send 6.1 → 4.9 us with a pass every 20 us). Nothing is
        sent, stored, numbered or journaled: the adapter's rendering and the encoder are pure
        functions of their arguments, and the session's next number is read, not taken. Returns
        1 when a pass was made; an error stops the warming for good (warm_error says why, once
        in the log), never the worker."""
        if self._warm_request is None or self.warm_error is not None:
            return 0
        try:
            link = self.links.get(self._warm_venue)
            session = self.sessions.get(self._warm_venue)
            if link is None or session is None:
                return 0
            msg_type, body = link.adapter.request_body(self.refdata, self._warm_request, read_clock(self.clock, _WALL))
            outbox = session.outbox
            _store_crc(outbox.encode(msg_type, outbox.store.next_sender, body))
        except Exception as exc:         # noqa: BLE001 - warming is an optimisation, never a failure
            self.warm_error = f"{type(exc).__name__}: {exc}"
            log.warning("order path warming stopped: %s", self.warm_error)
            return 0
        self.warmed += 1
        return 1

    cdef int _stamp_sent(self, req, int64_t at) except -1:
        # ts_send_ns: the moment the request's bytes were handed to the socket, after the adapter,
        # the encoder and the session's store; a request not written now is stamped now
        if type(req) is bytearray:
            event_set_i64(req, _SEND_AT, at)
        else:
            req["ts_send_ns"] = at
        return 0
