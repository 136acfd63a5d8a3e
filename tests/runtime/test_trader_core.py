"""The trading worker's flow in C (fxpipe.runtime.tradercore), with stand-in stages: what an
input causes is handled in the order made; a quote's own decisions go to the oms at once (with
the quote's mark first) only when nothing waits in the work queue; each hop is stamped; a
strategy and an oms that feed each other without end are stopped with a clear error."""
from __future__ import annotations

import struct
from collections import deque
from types import SimpleNamespace

import pytest

import fxpipe.model.events as ev
from fxpipe.runtime.tradercore import MAX_CASCADE, CascadeError, TraderCore

INTENT_FIELDS = ev.dtype_for(ev.EventType.ORDER_INTENT).fields
DECIDE_AT, RISK_AT = INTENT_FIELDS["ts_decide_ns"][1], INTENT_FIELDS["ts_risk_ns"][1]


def quote(seq, instrument=1, venue=1, level=0):
    return bytearray(ev.make(ev.EventType.QUOTE, venue_id=venue, instrument_id=instrument, sequence=seq,
                             level=level, bid_px_e8=100, ask_px_e8=101).tobytes())


def intent(cl, instrument=1):
    return bytearray(ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=instrument, cl_ord_id=cl,
                             action=ev.IntentAction.NEW).tobytes())


def seq_of(raw):
    return int(ev.read(bytearray(raw))["sequence"])


class Decision:
    """Two intents on every top-of-book quote; an intent for every fill (until `fills_left`)."""

    def __init__(self, log):
        self.log, self.next_cl, self.fills_left = log, 1, 0

    def quote_path(self, raw):
        self.log.append(("decide", seq_of(raw)))
        if raw[ev.dtype_for(ev.EventType.QUOTE).fields["level"][1]]:
            return []
        out = [intent(self.next_cl), intent(self.next_cl + 1)]
        self.next_cl += 2
        return out

    def on_event(self, raw):
        t = raw[0] | raw[1] << 8
        self.log.append(("decision sees", ev.EventType(t).name))
        if t == ev.EventType.FILL and self.fills_left:
            self.fills_left -= 1
            self.next_cl += 1
            return [intent(self.next_cl)]
        return []


class Gateway:
    """Records marks and intents; answers each intent with an update and a fill."""

    def __init__(self, log, core):
        self.log, self.core = log, core
        self.stage = SimpleNamespace(book=SimpleNamespace(request=lambda cl: None))

    def quote(self, raw):
        self.log.append(("mark", seq_of(raw)))

    def submit(self, raw):
        r = ev.read(bytearray(raw))
        self.log.append(("submit", int(r["cl_ord_id"]), int(r["ts_decide_ns"]), int(r["ts_risk_ns"])))
        self.core._from_oms(bytearray(ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=int(r["cl_ord_id"])).tobytes()))
        self.core._from_oms(bytearray(ev.make(ev.EventType.FILL, cl_ord_id=int(r["cl_ord_id"])).tobytes()))


def core():
    log = []
    c = TraderCore()
    c.work = deque()
    c._marks = {}
    ticks = iter(range(1_000, 10**9, 10))
    c.clock = lambda: next(ticks)
    c.spec = SimpleNamespace(name="trader")
    c.bind_producers({})
    c.decision = Decision(log)
    c._decide_quote = c.decision.quote_path
    c.gateway = Gateway(log, c)
    return c, log


def test_a_quotes_decisions_go_to_the_oms_at_once_mark_first_in_the_order_made_then_what_they_caused():
    c, log = core()
    c._handle(quote(7), "feed")
    assert log == [
        ("decide", 7),
        ("mark", 7), ("submit", 1, 1_000, 1_010),      # the mark, then the intent stamped risk after decide
        ("submit", 2, 1_000, 1_020),                   # both decisions before what the first caused
        ("decision sees", "ORDER_UPDATE"), ("decision sees", "FILL"),
        ("decision sees", "ORDER_UPDATE"), ("decision sees", "FILL")]
    assert c.counts == {"md": 1, "intents": 2, "exec": 4} and not c.work


def test_a_deeper_level_is_not_a_mark_and_decisions_made_while_others_wait_are_queued_behind_them():
    c, log = core()
    c._handle(quote(8, level=1), "feed")
    assert log == [("decide", 8)] and c._marks == {}
    c.decision.fills_left = 1
    c._handle(quote(9), "feed")
    # the fill of intent 1 makes intent 4 (decided at 1_040): it waits behind the second intent's
    # update and fill (each read the clock once: 1_050, 1_060) and is sent after them
    assert [x for x in log if x[0] == "submit"] == [("submit", 1, 1_000, 1_010), ("submit", 2, 1_000, 1_020),
                                                    ("submit", 4, 1_040, 1_070)]
    i4 = log.index(("submit", 4, 1_040, 1_070))
    assert log[i4 - 1] == ("decision sees", "FILL")       # the second intent's fill came first
    assert log.count(("mark", 9)) == 1                    # the mark once: no new quote since


def test_decisions_that_do_not_end_are_stopped_with_a_clear_error():
    c, log = core()
    c.decision.fills_left = 10**9
    with pytest.raises(CascadeError, match=f"more than {MAX_CASCADE} events in process trader"):
        c._handle(quote(1), "feed")


def test_an_event_shorter_than_its_header_is_refused():
    c, _ = core()
    with pytest.raises(ValueError, match="an event is 192 bytes, got 10"):
        c._handle(bytearray(10), "feed")


def test_stamps_are_written_into_the_intents_own_bytes():
    c, log = core()
    got = []
    c.gateway.submit = lambda raw: got.append(bytes(raw))
    c._handle(quote(3), "feed")
    (decide, risk), = {(struct.unpack_from("<q", g, DECIDE_AT)[0], struct.unpack_from("<q", g, RISK_AT)[0])
                       for g in got[:1]}
    assert (decide, risk) == (1_000, 1_010)


class Fed:
    """A write-ahead step that only writes down the type of each event fed to it."""

    def __init__(self):
        self.fed: list[str] = []

    def feed(self, raw):
        self.fed.append(ev.EventType(raw[0] | raw[1] << 8).name)
        return None


def test_the_gateway_core_is_called_in_c_and_a_submit_or_quote_its_class_replaces_is_honoured():
    """OrderGateway's submit and quote are GatewayCore._feed: the worker calls the core in C
    while the gateway's class keeps them so, and the class's own method once it has one,
    replaced before or after the first call."""
    from fxpipe.oms.gatewaycore import GatewayCore

    class CoreGateway(GatewayCore):
        submit = quote = GatewayCore._feed

    c, _ = core()
    gw = c.gateway = CoreGateway()
    gw._write_ahead = Fed()
    c._handle(quote(7), "feed")
    assert gw._write_ahead.fed == ["QUOTE", "ORDER_INTENT", "ORDER_INTENT"]

    own: list[str] = []

    def submit(self, raw):
        own.append("submit")
        return GatewayCore._feed(self, raw)
    CoreGateway.submit = submit                  # replaced after the C path was taken
    c._handle(quote(8), "feed")
    assert own == ["submit", "submit"]
    assert gw._write_ahead.fed[3:] == ["QUOTE", "ORDER_INTENT", "ORDER_INTENT"]
    CoreGateway.submit = GatewayCore._feed
    c._handle(quote(9), "feed")
    assert own == ["submit", "submit"] and len(gw._write_ahead.fed) == 9
