"""Events as numpy records: round trip of every type, zero-copy views, bad input, text forms."""
import mmap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fxpipe.model import events as ev
from fxpipe.model import numbers
from fxpipe.model.eventtext import as_dict, format_event, problems, validate

# no per-example deadline: a loaded 2-core box must not turn slowness into failures
RELAXED = settings(deadline=None)

ASCII = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126))


def field_values(event_type):
    """A strategy for a full set of valid field values of event_type (type excluded)."""
    dt = ev.dtype_for(event_type)
    parts = {}
    for name in dt.names:
        if name == "type":
            continue
        fdt = dt.fields[name][0]
        cls, optional = ev.enum_for(event_type, name)
        if fdt.kind == "S":
            parts[name] = ASCII.filter(lambda s, n=fdt.itemsize: len(s) <= n)
        elif name == "flags":
            parts[name] = st.integers(0, int(ev.EventFlag.POSS_DUP | ev.EventFlag.SNAPSHOT | ev.EventFlag.SYNTHETIC))
        elif cls is not None:
            parts[name] = st.sampled_from([m.value for m in cls] + ([0] if optional else []))
        else:
            info = np.iinfo(fdt)
            parts[name] = st.integers(int(info.min), int(info.max))
    return st.fixed_dictionaries(parts)


@pytest.mark.parametrize("event_type", list(ev.EventType), ids=lambda t: t.name)
@RELAXED
@given(data=st.data())
def test_round_trip_of_every_event_type(event_type, data):
    values = data.draw(field_values(event_type))
    rec = ev.make(event_type, **values)
    assert problems(rec) == []
    image = rec.tobytes()
    assert len(image) == ev.SLOT_SIZE
    back = ev.read(image)
    assert back.dtype == ev.dtype_for(event_type)
    assert back.tobytes() == image
    got = as_dict(back)
    assert got["type"] == event_type
    for name, value in values.items():
        assert got[name] == value, name
    # and through a buffer of several events, read back zero-copy
    buf = bytearray(image * 3)
    arr = ev.view(buf, event_type)
    assert arr.shape == (3,) and all(a.tobytes() == image for a in arr)


def test_views_are_zero_copy_and_write_through():
    buf = bytearray(ev.empty(ev.EventType.QUOTE, 4).tobytes())
    quotes = ev.view(buf, ev.EventType.QUOTE)
    quotes["bid_px_e8"][2] = numbers.parse_price("1.08505")
    assert int.from_bytes(buf[2 * 192 + 64:2 * 192 + 72], "little") == 108505000
    assert ev.view(bytes(buf), ev.EventType.QUOTE).flags.writeable is False


def test_view_of_a_memory_map():
    with mmap.mmap(-1, 192 * 8) as mm:
        mm[:192] = ev.make(ev.EventType.TIMER, timer_id=7, kind=ev.TimerKind.HEARTBEAT).tobytes()
        assert ev.event_type_of(mm) == ev.EventType.TIMER
        hdr = ev.headers(mm)
        assert list(hdr["type"]) == [ev.EventType.TIMER] + [0] * 7
        timers = ev.view(mm, ev.EventType.TIMER, check=False)
        assert int(timers[0]["timer_id"]) == 7
        del hdr, timers  # views must go before the map closes


def test_mixed_buffer_select_by_header():
    q = ev.make(ev.EventType.QUOTE, sequence=1, bid_px_e8=108505000, quote_cond=ev.QuoteCondition.FIRM)
    f = ev.make(ev.EventType.FILL, sequence=2, exec_id="E-1", side=ev.Side.SELL)
    buf = q.tobytes() + f.tobytes() + q.tobytes()
    hdr = ev.headers(buf)
    assert list(hdr["sequence"]) == [1, 2, 1]
    is_quote = hdr["type"] == ev.EventType.QUOTE
    quotes = ev.view(buf, ev.EventType.QUOTE, check=False)[is_quote]
    assert list(quotes["bid_px_e8"]) == [108505000, 108505000]
    assert ev.read(buf, 192)["exec_id"] == b"E-1"
    with pytest.raises(ValueError, match=r"event 1 \(byte offset 192\) has type 4 \(FILL\), not QUOTE"):
        ev.view(buf, ev.EventType.QUOTE)


def test_buffers_that_are_not_whole_events():
    with pytest.raises(ValueError, match="not a whole number of 192-byte events"):
        ev.view(b"\0" * 200, ev.EventType.QUOTE)
    with pytest.raises(ValueError, match="no whole 192-byte event at byte offset 0"):
        ev.event_type_of(b"\x01\x00")
    with pytest.raises(ValueError, match="unknown event type 0 at byte offset 0"):
        ev.event_type_of(bytes(192))
    with pytest.raises(ValueError, match="unknown event type 999"):
        ev.read((999).to_bytes(2, "little") + bytes(190))
    with pytest.raises(TypeError, match="expected a buffer of events"):
        ev.view([1, 2, 3], ev.EventType.QUOTE)
    with pytest.raises(ValueError, match="unknown event type 77; known: QUOTE=1"):
        ev.dtype_for(77)


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"bogus": 1}, ValueError, "ORDER_INTENT has no field 'bogus'"),
    ({"side": 3}, ValueError, "side=3 is not a Side (BUY=49, SELL=50)"),
    ({"side": 0}, ValueError, "side=0 is not a Side"),
    ({"action": ev.RiskAction.ALARM}, ValueError, "action=2 is not a IntentAction"),
    ({"qty_e2": 2**63}, OverflowError, "qty_e2=9223372036854775808 does not fit in int64"),
    ({"strategy_id": -1}, OverflowError, "does not fit in uint32"),
    ({"price_e8": 1.08505}, TypeError, "price_e8 must be an integer"),
    ({"flags": 8}, ValueError, "flags=0x8 sets reserved bits"),
    ({"type": 3}, ValueError, "set by make()"),
])
def test_bad_field_values_are_refused_clearly(kwargs, error, fragment):
    with pytest.raises(error) as err:
        ev.make(ev.EventType.ORDER_INTENT, **kwargs)
    assert fragment in str(err.value)


def test_fill_keeps_venue_exec_id_verbatim_so_duplicates_are_told_apart():
    # ExecIDs are the idempotency key with the venue: never cut, never hashed
    uuid = "3f2b8c1e-9d4a-4e7b-8c21-5a6f0e9d1b7c"
    rec = ev.make(ev.EventType.FILL, venue_id=2, exec_id=uuid, exec_ref_id="X" * 40, side=ev.Side.BUY)
    assert as_dict(ev.read(rec.tobytes()))["exec_id"] == uuid
    with pytest.raises(ValueError, match="holds at most 40 bytes.*would be cut"):
        ev.make(ev.EventType.FILL, exec_id="X" * 41)
    with pytest.raises(ValueError, match="printable ASCII without NUL"):
        ev.make(ev.EventType.FILL, exec_id=b"A\0B")
    # the C helper refuses the same ids and NUL-pads the ones it takes
    assert ev.c_set_fix_id(uuid.encode()) == uuid.encode() + bytes(4)
    assert ev.c_set_fix_id(b"X" * 41) is None and ev.c_set_fix_id(b"") is None


def test_order_status_has_unknown_so_unknown_is_never_rejected():
    assert ev.OrdStatus.UNKNOWN != ev.OrdStatus.REJECTED
    rec = ev.make(ev.EventType.ORDER_UPDATE, ord_status=ev.OrdStatus.UNKNOWN,
                  report_kind=ev.ReportKind.EXECUTION, side=ev.Side.BUY, flags=ev.EventFlag.SYNTHETIC)
    assert problems(rec) == []


def test_position_update_journals_conversion_rate_for_multi_currency_pnl():
    rec = ev.make(ev.EventType.POSITION_UPDATE, reason=ev.PositionReason.FILL, rpt_ccy="USD",
                  realized_pnl_e4=260000000, rpt_rate_e8=661100,
                  realized_pnl_rpt_e4=numbers.convert(260000000, 661100))
    back = ev.read(rec.tobytes())
    assert numbers.convert(int(back["realized_pnl_e4"]), int(back["rpt_rate_e8"])) == int(back["realized_pnl_rpt_e4"])


def test_c_event_init_matches_empty():
    for t in ev.EventType:
        assert ev.c_init_event(t) == ev.empty(t).tobytes()


def test_validate_finds_bad_bytes_in_a_slot():
    good = ev.make(ev.EventType.QUOTE, quote_cond=ev.QuoteCondition.FIRM)
    validate(good)
    raw = bytearray(good.tobytes())
    raw[150] = 0xFF          # inside the pad
    raw[105] = 9             # quote_cond
    raw[2] = 0x80            # reserved flag bit
    found = problems(ev.read(bytes(raw)))
    assert any("non-zero pad byte(s), first at offset 150" in p for p in found)
    assert any("quote_cond=9 is not a QuoteCondition" in p for p in found)
    assert any("flags=0x80 sets reserved bits" in p for p in found)
    with pytest.raises(ValueError, match="invalid event"):
        validate(ev.read(bytes(raw)))


def test_readable_forms():
    rec = ev.make(ev.EventType.ORDER_INTENT, sequence=42, venue_id=1, instrument_id=3,
                  action=ev.IntentAction.NEW, side=ev.Side.BUY, ord_type=ev.OrdType.LIMIT,
                  time_in_force=ev.TimeInForce.IOC, cl_ord_id=1001,
                  price_e8=numbers.parse_price("151.253"), qty_e2=numbers.parse_qty("2000000"),
                  ts_receive_ns=1_700_000_000_123_456_789, flags=ev.EventFlag.SYNTHETIC)
    d = as_dict(rec, readable=True)
    assert d["price_e8"] == "151.253" and d["qty_e2"] == "2000000"
    assert d["side"] == "BUY" and d["time_in_force"] == "IOC" and d["flags"] == "SYNTHETIC"
    assert d["ts_receive_ns"] == "2023-11-14T22:13:20.123456789Z"
    line = format_event(rec)
    assert line.startswith("ORDER_INTENT seq=42 venue=1 instr=3 ")
    assert "price_e8=151.253" in line and "action=NEW" in line and "orig_cl_ord_id" not in line
    risk = ev.make(ev.EventType.RISK, check=ev.RiskCheck.MAX_ORDER_NOTIONAL, action=ev.RiskAction.REJECT_ORDER,
                   value_scale=4, observed=numbers.parse_money("2500000"), limit=numbers.parse_money("2000000"))
    d = as_dict(risk, readable=True)
    assert d["observed"] == "2500000" and d["action"] == "REJECT_ORDER" and d["check"] == "MAX_ORDER_NOTIONAL"
