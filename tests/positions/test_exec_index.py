"""The ExecID index and the history it points into: de-duplication by (venue, ExecID) stays exact
when hashes collide, the index sized up front or grown on the way gives the same state, and the
64-bit fast paths of the exact arithmetic agree with the 128-bit ones past the int64 range."""
from __future__ import annotations

import numpy as np
import pytest

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_price, parse_qty
from fxpipe.model.refdata import load_refdata
from fxpipe.positions import FillResult, PositionEngine

REFDATA = load_refdata()
BUY, SELL = ev.Side.BUY, ev.Side.SELL


def fill(exec_id, side, qty, px, symbol="EUR/USD", strategy=1, trans=ev.ExecTransType.NEW, ref="", venue=1):
    return ev.make(ev.EventType.FILL, instrument_id=REFDATA.instrument(symbol).id, venue_id=venue,
                   strategy_id=strategy, side=side, last_qty_e2=parse_qty(qty), last_px_e8=parse_price(px),
                   exec_id=exec_id, exec_ref_id=ref, exec_trans_type=trans)


def stream(n):
    """n fills, every tenth one a duplicate, every 25th a bust, every 40th a correction, on two
    venues that reuse each other's ExecIDs (the key is the pair)."""
    out = []
    for i in range(n):
        side = BUY if (i * 7) % 3 else SELL
        out.append(fill(f"X{i}", side, str(10000 + 1000 * (i % 13)), f"1.08{i % 90:02d}", venue=1 + i % 2))
        if i % 10 == 9:
            out.append(fill(f"X{i - 4}", BUY, "1", "1.0", venue=1 + (i - 4) % 2))        # duplicate: ignored
        if i % 25 == 24:
            v = 1 + (i - 3) % 2
            side = BUY if ((i - 3) * 7) % 3 else SELL
            out.append(fill(f"B{i}", side, "1", "1.0", trans=ev.ExecTransType.CANCEL, ref=f"X{i - 3}", venue=v))
        if i % 40 == 39:
            v = 1 + (i - 6) % 2
            side = BUY if ((i - 6) * 7) % 3 else SELL
            out.append(fill(f"C{i}", side, "5000", "1.0777", trans=ev.ExecTransType.CORRECT, ref=f"X{i - 6}",
                            venue=v))
    return out


def run(events, **kw):
    pe = PositionEngine(REFDATA, **kw)
    codes = [pe.apply(e) for e in events]
    return pe, codes


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_exec_ids_whose_hashes_collide_are_told_apart_by_the_full_id(bits):
    events = stream(600)
    exact, codes = run(events)
    colliding, codes_c = run(events, exec_hash_bits=bits)     # 2, 8 or 256 hash values for 600+ ids
    assert codes_c == codes
    assert codes.count(FillResult.DUPLICATE) == 60 and FillResult.APPLIED in codes
    assert all(c >= 0 for c in codes)
    assert colliding.state_hash() == exact.state_hash()
    assert colliding.fill_state(1, "X0") == "live" and colliding.fill_state(2, "X0") is None
    assert colliding.fill_state(1 + 21 % 2, "X21") == "busted"
    assert colliding.fill_state(1 + 33 % 2, "X33") == "superseded"


def test_the_same_exec_id_on_another_venue_is_another_fill_even_on_one_hash():
    pe = PositionEngine(REFDATA, exec_hash_bits=1)
    assert pe.apply(fill("SAME", BUY, "1000", "1.1", venue=1)) == FillResult.APPLIED
    assert pe.apply(fill("SAME", BUY, "1000", "1.1", venue=2)) == FillResult.APPLIED
    assert pe.apply(fill("SAME", BUY, "1000", "1.1", venue=2)) == FillResult.DUPLICATE
    assert pe.net_qty(1, "EUR/USD") == parse_qty("2000")


@pytest.mark.parametrize("capacity", [1, 100, 5000])
def test_the_history_sized_up_front_or_grown_gives_the_same_state(capacity):
    events = stream(2500)                    # past the smallest arena and index: both grow
    grown, codes = run(events)
    sized, codes_s = run(events, fill_capacity=capacity)
    assert codes_s == codes
    assert sized.state_hash() == grown.state_hash()


def test_the_batch_path_with_prefetch_equals_one_fill_at_a_time():
    n = 70_000                                # an index large enough to be prefetched
    arr = ev.empty(ev.EventType.FILL, n)
    arr["instrument_id"] = REFDATA.instrument("EUR/USD").id
    arr["venue_id"] = 1
    arr["strategy_id"] = 1
    arr["side"] = [BUY if i % 3 else SELL for i in range(n)]
    arr["last_qty_e2"] = 100_000
    arr["last_px_e8"] = [108_000_000 + i % 977 for i in range(n)]
    arr["exec_trans_type"] = int(ev.ExecTransType.NEW)
    arr["exec_id"] = [f"P{i % (n - 5)}".encode() for i in range(n)]     # the last five are duplicates
    batch = PositionEngine(REFDATA, fill_capacity=n)
    assert batch.apply_fills(arr) == (n - 5, 5, -1)
    single = PositionEngine(REFDATA)
    for rec in arr[:2000]:
        single.apply(rec)
    head = PositionEngine(REFDATA, fill_capacity=n)
    head.apply_fills(arr[:2000])
    assert head.state_hash() == single.state_hash()


@pytest.mark.parametrize("n", [50, 8_000])        # an output in cache, and one streamed past it
def test_the_batch_path_writes_the_position_updates_of_one_fill_at_a_time(n):
    arr = ev.empty(ev.EventType.FILL, n)
    arr["instrument_id"] = [REFDATA.instrument("EUR/USD" if i % 4 else "USD/JPY").id for i in range(n)]
    arr["venue_id"] = 1
    arr["strategy_id"] = 1 + (np.arange(n) % 3 == 0)
    arr["side"] = [BUY if (i * 7) % 5 < 3 else SELL for i in range(n)]
    arr["last_qty_e2"] = [100_000 * (1 + i % 7) for i in range(n)]
    arr["last_px_e8"] = [(108_000_000 if i % 4 else 15_000_000_000) + i % 977 for i in range(n)]
    arr["exec_trans_type"] = int(ev.ExecTransType.NEW)
    arr["exec_id"] = [f"W{i}".encode() for i in range(n)]
    arr["sequence"] = np.arange(1, n + 1)
    quote = ev.make(ev.EventType.QUOTE, instrument_id=REFDATA.instrument("USD/JPY").id, venue_id=1,
                    bid_px_e8=15_000_000_000, ask_px_e8=15_000_100_000, bid_qty_e2=10**8, ask_qty_e2=10**8)
    batch, single = PositionEngine(REFDATA), PositionEngine(REFDATA)
    batch.apply(quote)
    single.apply(quote)
    out = ev.empty(ev.EventType.POSITION_UPDATE, n)
    assert batch.apply_fills(arr, out) == (n, 0, -1)
    for i, rec in enumerate(arr):
        assert single.apply(rec) == FillResult.APPLIED
        assert out[i].tobytes() == single.last_position_event(ev.PositionReason.FILL, int(rec["sequence"])).tobytes(), i
    assert batch.state_hash() == single.state_hash()


@pytest.mark.parametrize("bad", [{"fill_capacity": 0}, {"fill_capacity": 1 << 30}, {"exec_hash_bits": 0},
                                 {"exec_hash_bits": 65}])
def test_sizes_out_of_range_are_refused_with_a_clear_error(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        PositionEngine(REFDATA, **bad)


def _half_even(num, den):
    q, r = divmod(abs(num), den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return q if num >= 0 else -q


@pytest.mark.parametrize("qty", ["900000000", "9000000000", "1000000000000"])
def test_money_past_the_int64_range_at_1e_10_rounds_as_the_exact_reference(qty):
    """Turnover, realized PnL and conversions of very large amounts leave the 64-bit fast path
    (1e-10 amounts beyond 2**63, then beyond 2**64): the PositionUpdate still equals the exact
    Python rounding of the same amounts."""
    pe = PositionEngine(REFDATA)
    pe.apply(ev.make(ev.EventType.QUOTE, instrument_id=REFDATA.instrument("USD/JPY").id, venue_id=1,
                     bid_px_e8=parse_price("150.123"), ask_px_e8=parse_price("150.124"),
                     bid_qty_e2=100, ask_qty_e2=100, quote_cond=ev.QuoteCondition.FIRM, ts_receive_ns=1))
    for k, (side, px) in enumerate([(BUY, "150.1111"), (BUY, "150.3333"), (SELL, "151.7777"), (SELL, "149.9999")]):
        assert pe.apply(fill(f"J{k}", side, qty, px, symbol="USD/JPY")) == FillResult.APPLIED
    view = pe.position(1, "USD/JPY")
    rec = pe.last_position_event(ev.PositionReason.FILL)
    assert int(rec["realized_pnl_e4"]) == _half_even(view["realized_e10"], 10**6) == view["realized_pnl_e4"]
    assert int(rec["turnover_e4"]) == view["turnover_e4"]
    mid = pe.mid("USD/JPY")
    jpy = int(rec["realized_pnl_e4"])
    assert int(rec["realized_pnl_rpt_e4"]) == _half_even(jpy * 10**8, mid)
    amount, status, rates = pe.to_reporting("JPY", jpy)
    assert status == ev.MarkStatus.OK and rates == (mid,) and amount == _half_even(jpy * 10**8, mid)
