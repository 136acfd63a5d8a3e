"""Hostile input: arbitrary bytes in every field of a report or an intent never crash the book,
never break its arithmetic, and anything that is not an event of the right size and type is
refused with a clear error before it reaches the C code."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oms_venue import ScriptedVenue, intent

from fxpipe.model import events as ev
from fxpipe.oms import Alarm, Disposition, OrderBook

PX = 108_500_000
SLOT = ev.dtype_for(ev.EventType.ORDER_UPDATE).itemsize


def book_with_orders():
    book, venue = OrderBook(1), ScriptedVenue()
    cls = []
    for _ in range(3):
        r = book.submit(intent("D"))
        venue.take(r.send)
        cls.append(int(r.send["cl_ord_id"]))
    book.apply_report(venue.ack(cls[0]).update)
    f = venue.fill(cls[1], 30_000_000, PX)
    book.apply_report(f.update, f.fill)
    return book, venue, cls


def typed(raw: bytes, t: int) -> bytes:
    return bytes([t & 0xFF, t >> 8]) + raw[2:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(min_size=SLOT, max_size=SLOT), fill=st.none() | st.binary(min_size=SLOT, max_size=SLOT),
       keep=st.integers(0, 2), which=st.integers(0, 2))
def test_random_reports_never_crash_and_keep_cum_equal_to_the_deltas(body, fill, keep, which):
    book, venue, cls = book_with_orders()
    u = bytearray(typed(body, ev.EventType.ORDER_UPDATE))
    if keep:  # aim at a real order so the deeper paths run, not only "unknown order"
        rec = ev.read(bytes(u)).copy()
        rec["cl_ord_id"] = cls[which]
        u = bytearray(rec.tobytes())
    f = None
    if fill is not None:
        f = typed(fill, ev.EventType.FILL)
        if keep == 2:
            fr = ev.read(f).copy()
            fr["cl_ord_id"] = cls[which]
            f = fr.tobytes()
    before = {o.root_cl_ord_id: o.cum_qty_e2 for o in book.orders()}
    res = book.apply_report(bytes(u), f)
    assert isinstance(res.disposition, Disposition) and isinstance(res.alarms, Alarm)
    for o in book.orders():
        delta = sum(int(x["last_qty_e2"]) for x in res.fills) if res.order_index == o.index else 0
        assert o.cum_qty_e2 == before[o.root_cl_ord_id] + delta
        assert o.leaves_qty_e2 >= 0
    book.state_hash()


@settings(max_examples=200, deadline=None)
@given(body=st.binary(min_size=SLOT, max_size=SLOT))
def test_random_intents_are_sent_or_refused_never_crash(body):
    book, venue, cls = book_with_orders()
    res = book.submit(typed(body, ev.EventType.ORDER_INTENT))
    assert res.sent or res.send is None


@pytest.mark.parametrize("bad", [b"", b"\x03\x00" + bytes(10), bytes(193), 42, "text"])
def test_what_is_not_an_event_is_refused_with_a_clear_error(bad):
    book = OrderBook(1)
    with pytest.raises((TypeError, ValueError), match="event|report|bytes"):
        book.apply_report(bad)


def test_an_event_of_the_wrong_type_is_refused_with_its_name():
    book = OrderBook(1)
    with pytest.raises(ValueError, match="ORDER_UPDATE"):
        book.apply_report(intent("D").tobytes())
    with pytest.raises(ValueError, match="ORDER_INTENT"):
        book.submit(ev.make(ev.EventType.QUOTE).tobytes())


def test_a_fill_that_would_wrap_cum_qty_is_refused():
    book, venue, cls = book_with_orders()
    f = venue.fill(cls[1], 10_000_000, PX)
    rec = ev.read(f.fill).copy()
    rec["last_qty_e2"] = 2**63 - 1
    res = book.apply_report(f.update, rec.tobytes())
    assert res.alarms & Alarm.INVALID_REPORT and not res.fills
    assert book.order(cls[1]).cum_qty_e2 == 30_000_000
