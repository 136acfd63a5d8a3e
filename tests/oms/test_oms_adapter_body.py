"""The order path renders a request's FIX body in one call (VenueAdapter.request_body); what
goes on the wire must be byte for byte what the encoder makes of the adapter's (tag, value)
pairs (VenueAdapter.request), for every venue profile, action, order type and instrument."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

import fxpipe.model.events as ev
from fxpipe.fix.encoder import Encoder, render
from fxpipe.model.refdata import load_refdata, parse_refdata
from fxpipe.oms.venues.adapters import ADAPTERS

REFDATA = load_refdata(Path(__file__).resolve().parents[2] / "config" / "refdata.toml")
ACTIONS = (ev.IntentAction.NEW, ev.IntentAction.CANCEL, ev.IntentAction.REPLACE)
ORD_TYPES = (ev.OrdType.LIMIT, ev.OrdType.MARKET)
TIFS = (ev.TimeInForce.DAY, ev.TimeInForce.IOC, ev.TimeInForce.FOK, ev.TimeInForce.GTC)


def intent(rng: random.Random, instrument_id: int) -> bytes:
    return ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=instrument_id,
                   cl_ord_id=rng.randrange(1, 1 << 62), orig_cl_ord_id=rng.randrange(1, 1 << 62),
                   price_e8=rng.choice([1, 100_000_000, 105_002_000, 15_125_300_000, rng.randrange(1, 10**12)]),
                   qty_e2=rng.choice([1, 100, 1_000_000_00, 123_456_789, rng.randrange(1, 10**14)]),
                   action=rng.choice(ACTIONS), side=rng.choice((ev.Side.BUY, ev.Side.SELL)),
                   ord_type=rng.choice(ORD_TYPES), time_in_force=rng.choice(TIFS)).tobytes()


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_the_rendered_body_is_the_pairs_encoded(kind):
    rng = random.Random(kind)
    adapter = ADAPTERS[kind]()
    enc = Encoder("FXPIPE", "VENUE")
    ids = sorted(i.id for i in REFDATA.instruments.values())
    for n in range(2_000):
        raw = intent(rng, rng.choice(ids))
        now = rng.randrange(0, 4_000_000_000_000_000_000)
        mt, pairs = adapter.request(REFDATA, raw, now)
        mt2, body = adapter.request_body(REFDATA, raw, now)
        assert mt2 == mt
        assert body == render(pairs), (n, pairs)
        assert enc.encode(mt, n + 1, now, body) == enc.encode(mt, n + 1, now, pairs)


def test_a_new_reference_data_is_not_served_from_the_old_ones_fields():
    """The rendered fixed fields are kept per reference data: a desk given new reference data
    (here EUR/USD quoted to 6 decimals) writes what the new data says."""
    adapter = ADAPTERS["lp"]()
    raw = ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=1, cl_ord_id=7, price_e8=105_000_000,
                  qty_e2=1_000_000_00, action=ev.IntentAction.NEW, side=ev.Side.BUY,
                  ord_type=ev.OrdType.LIMIT, time_in_force=ev.TimeInForce.IOC).tobytes()
    _, body = adapter.request_body(REFDATA, raw, 0)
    assert b"44=1.05000\x01" in body
    text = (Path(__file__).resolve().parents[2] / "config" / "refdata.toml").read_text()
    assert 'id = 1\nbase = "EUR"\nquote = "USD"\nprice_decimals = 5' in text
    other = parse_refdata(text.replace('id = 1\nbase = "EUR"\nquote = "USD"\nprice_decimals = 5',
                                       'id = 1\nbase = "EUR"\nquote = "USD"\nprice_decimals = 6'))
    _, again = adapter.request_body(other, raw, 0)
    assert b"44=1.050000\x01" in again and again == render(adapter.request(other, raw, 0)[1])


def test_a_request_that_is_not_a_new_order_cancel_or_replace_is_refused_by_name():
    adapter = ADAPTERS["ecn"]()
    raw = bytearray(ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=1, cl_ord_id=7, price_e8=1,
                            qty_e2=1, action=ev.IntentAction.NEW, side=ev.Side.BUY).tobytes())
    raw[ev.dtype_for(ev.EventType.ORDER_INTENT).fields["action"][1]] = ord("Z")
    with pytest.raises(ValueError, match="request 7: action 90 is not a new order, a cancel or a replace"):
        adapter.request_body(REFDATA, raw, 0)
    with pytest.raises(ValueError, match="a request is 192 bytes, got 10"):
        adapter.request_body(REFDATA, bytes(10), 0)
