"""The order gateway's hot path in C (fxpipe.oms.gatewaycore) with stand-in parts: a request
among the stage's outputs is sent through its venue's adapter and session and handed to on_sent
stamped with when its bytes left (or, not sent, with the clock); every other output goes to
on_output in order; an order in doubt asks its venue for its status; what is not a whole event
is refused before a field of it is read."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

import fxpipe.model.events as ev
from fxpipe.fix.session.application import SessionNotLoggedOn
from fxpipe.oms.gatewaycore import GatewayCore


class Session:
    def __init__(self, logged_on=True):
        self.outbox = SimpleNamespace(last_sent=0)
        self.logged_on = logged_on
        self.sent = []

    def send(self, msg_type, body):
        if not self.logged_on:
            raise SessionNotLoggedOn("not logged on")
        self.sent.append((msg_type, body))
        self.outbox.last_sent = 5_000


class Gateway(GatewayCore):
    def __init__(self, outputs, session):
        self.status_asked = []
        self.emitted = []
        self.sent_reqs = []
        self._write_ahead = SimpleNamespace(feed=lambda event: outputs)
        self.stage = SimpleNamespace(book=SimpleNamespace(order=lambda cl: SimpleNamespace(venue_id=1, cl=cl)))
        self.links = {1: SimpleNamespace(adapter=SimpleNamespace(
            request_body=lambda refdata, raw, now: ("D", b"11=%d\x01" % int(ev.read(bytearray(raw))["cl_ord_id"]))))}
        self.sessions = {1: session}
        self.refdata = None
        self.clock = lambda: 9_000
        self.on_output = self.emitted.append
        self.on_sent = self.sent_reqs.append

    def _status_request(self, venue, view):
        self.status_asked.append((venue, view.cl))


def event(t, **kw):
    return bytearray(ev.make(t, venue_id=1, **kw).tobytes())


def test_requests_go_out_stamped_and_the_other_outputs_in_order():
    update = event(ev.EventType.ORDER_UPDATE, cl_ord_id=7, ord_status=ev.OrdStatus.PENDING_NEW)
    request = event(ev.EventType.ORDER_INTENT, cl_ord_id=7)
    doubt = event(ev.EventType.ORDER_UPDATE, cl_ord_id=3, ord_status=ev.OrdStatus.UNKNOWN)
    session = Session()
    gw = Gateway(([update, request, doubt], [update, request, doubt]), session)
    out = gw._feed(b"ignored")
    assert out == [update, request, doubt]
    assert session.sent == [("D", b"11=7\x01")] and gw.sent == 1
    assert gw.sent_reqs == [request] and int(ev.read(bytearray(request))["ts_send_ns"]) == 5_000
    assert gw.emitted == [update, doubt] and gw.status_asked == [(1, 3)]
    assert gw._write_ahead.feed is not None


def test_a_request_not_sent_is_still_handed_on_stamped_with_the_clock(caplog):
    request = event(ev.EventType.ORDER_INTENT, cl_ord_id=8)
    session = Session(logged_on=False)
    gw = Gateway(([request], [request]), session)
    with caplog.at_level(logging.WARNING, "fxpipe.oms.gateway"):
        gw._feed(b"ignored")
    assert gw.sent == 0 and "request 8 to venue 1 not sent: session not logged on" in caplog.text
    assert gw.sent_reqs == [request] and int(ev.read(bytearray(request))["ts_send_ns"]) == 9_000
    other = bytes(ev.make(ev.EventType.ORDER_INTENT, venue_id=2, cl_ord_id=9).tobytes())
    with caplog.at_level(logging.ERROR, "fxpipe.oms.gateway"):
        assert gw._send(bytearray(other)) == 0
    assert "request 9 names venue 2, which has no order session here" in caplog.text
    assert gw._send(bytes(request)) == 0          # bytes are taken as they are, a stamped copy handed on
    assert type(gw.sent_reqs[-1]) is bytearray and int(ev.read(gw.sent_reqs[-1])["ts_send_ns"]) == 9_000


def test_what_is_not_a_whole_event_is_refused_before_its_fields_are_read():
    short = bytearray(ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=1).tobytes()[:40])
    gw = Gateway(([short], [short]), Session())
    with pytest.raises(ValueError, match="an event is 192 bytes, got 40"):
        gw._feed(b"ignored")
    with pytest.raises(ValueError, match="an event is 192 bytes, got 3"):
        gw._send(bytearray(3))


class EncodingSession(Session):
    """A session whose outbox encodes (as the real one: a pure function of its arguments)."""

    def __init__(self):
        super().__init__()
        self.encoded = []
        self.outbox.store = SimpleNamespace(next_sender=41)
        self.outbox.encode = lambda mt, seq, body: self.encoded.append((mt, seq, body)) or b"8=FIX.4.2\x01" + body


def test_warming_renders_the_last_request_again_and_sends_nothing():
    """warm(): the last request through the adapter's rendering, the outbox's encoding (at the
    session's next number, read and not taken) and the store's checksum; nothing is sent or
    handed on, and before any request there is nothing to warm."""
    request = event(ev.EventType.ORDER_INTENT, cl_ord_id=7)
    session = EncodingSession()
    gw = Gateway(([request], [request]), session)
    assert gw.warm() == 0 and gw.warmed == 0
    gw._feed(b"ignored")
    sent, handed = list(session.sent), list(gw.sent_reqs)
    assert gw.warm() == 1 and gw.warm() == 1 and gw.warmed == 2
    assert session.encoded == [("D", 41, b"11=7\x01")] * 2
    assert session.sent == sent and gw.sent_reqs == handed and gw.sent == 1
    assert session.outbox.store.next_sender == 41 and gw.warm_error is None


def test_a_warming_that_fails_stops_for_good_and_the_order_path_goes_on(caplog):
    request = event(ev.EventType.ORDER_INTENT, cl_ord_id=7)
    session = EncodingSession()
    gw = Gateway(([request], [request]), session)
    gw._feed(b"ignored")

    def broken(mt, seq, body):
        raise RuntimeError("encoder gone")

    session.outbox.encode = broken
    with caplog.at_level(logging.WARNING, "fxpipe.oms.gateway"):
        assert gw.warm() == 0 and gw.warm() == 0
    assert gw.warm_error == "RuntimeError: encoder gone"
    assert caplog.text.count("order path warming stopped: RuntimeError: encoder gone") == 1
    gw._feed(b"ignored")                       # the next order goes out as before
    assert len(session.sent) == 2 and gw.sent == 2
