"""The binary feed source over loopback UDP: packets become Quote events with hop stamps; a
lost packet withdraws the venue's prices (a SessionEvent the market state acts on) until the
snapshot brings them back fresh."""
from __future__ import annotations

import time

import pytest

import fxpipe.model.events as ev
from fxpipe.feed.publisher import FeedPublisher, InstrumentDef
from fxpipe.stages.feed import BinaryFeedSource
from fxpipe.stages.market_state import MarketStateStage

EURUSD = InstrumentDef(1, "EUR/USD", 1_000, 100, 5, 2)
VENUE = 3


@pytest.fixture
def link():
    pub = FeedPublisher(1, [], 0, [EURUSD], stream_id=1, heartbeat_ms=20.0)
    src = BinaryFeedSource(1, VENUE, 0, ("127.0.0.1", pub.snapshot_port), snapshot_timeout_ms=50)
    pub.destinations = [("127.0.0.1", src.port)]
    yield pub, src
    pub.close()
    src.close()


def collect(pub, src, until, seconds=20.0):
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pub.on_readable(time.time_ns())
        pub.heartbeat(time.time_ns())
        got += src.poll(0.005)
        if until(got):
            return got
    raise AssertionError(f"timed out; got {[int(e['type']) for e in got]}")


def ladder(k):
    bid = 108_500_000 + k * 1_000
    return [(bid, 100_000_000), (bid - 1_000, 200_000_000)], [(bid + 2_000, 100_000_000)]


def recovered(g):
    return any(int(e["type"]) == ev.EventType.SESSION and int(e["reason"]) == ev.SessionReason.RESEND_COMPLETE
               for e in g) and bool(quotes(g))


def quotes(events):
    return [e for e in events if int(e["type"]) == ev.EventType.QUOTE]


def test_packets_become_quotes_with_hop_stamps(link):
    pub, src = link
    bids, asks = ladder(0)
    pub.publish([(1, 1, bids, asks)], time.time_ns())
    got = collect(pub, src, recovered)
    top = [q for q in quotes(got) if int(q["level"]) == 0][-1]
    assert (int(top["bid_px_e8"]), int(top["ask_px_e8"])) == (108_500_000, 108_502_000)
    assert int(top["venue_id"]) == VENUE and int(top["instrument_id"]) == 1
    assert 0 < int(top["ts_receive_ns"]) <= int(top["ts_decode_ns"])
    seqs = [int(e["sequence"]) for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_a_raw_source_hands_on_the_very_bytes_of_the_records(link):
    pub, src = link
    bids, asks = ladder(0)
    pub.publish([(1, 1, bids, asks)], time.time_ns())
    collect(pub, src, recovered)
    books = src.rx.books
    records = books.quotes(1, VENUE, 111, 40, 222)
    raw = books.quote_events(1, VENUE, 111, 40, 222)
    assert len(raw) == len(records) == 2 and all(isinstance(b, bytearray) for b in raw)
    assert raw == [bytearray(r.tobytes()) for r in records]
    assert [int(ev.read(bytes(b))["sequence"]) for b in raw] == [40, 41]
    raw_src = BinaryFeedSource(1, VENUE, 0, ("127.0.0.1", pub.snapshot_port), snapshot_timeout_ms=50, raw=True)
    try:
        pub.destinations = [("127.0.0.1", raw_src.port)]
        got = []
        end = time.monotonic() + 20
        while not any(isinstance(e, bytearray) for e in got) and time.monotonic() < end:
            pub.publish([(1, 1, *ladder(len(got)))], time.time_ns())
            pub.on_readable(time.time_ns())
            got += raw_src.poll(0.005)
        q = [e for e in got if isinstance(e, bytearray)]
        assert q and int(ev.read(bytes(q[0]))["type"]) == ev.EventType.QUOTE
        assert all(isinstance(e, bytearray) or int(e["type"]) == ev.EventType.SESSION for e in got)
    finally:
        raw_src.close()


def test_a_lost_packet_withdraws_prices_until_the_snapshot(link):
    pub, src = link
    ms = MarketStateStage()
    pub.publish([(1, 1, *ladder(0))], time.time_ns())
    for e in collect(pub, src, recovered):      # a new stream starts with a snapshot too
        ms.on_event(e)
    assert ms.composite(1).bid_px_e8 == 108_500_000
    pub.lose_next(1)
    pub.publish([(1, 2, *ladder(1))], time.time_ns())        # lost
    pub.publish([(1, 3, *ladder(2))], time.time_ns())        # reveals the gap
    got = collect(pub, src, recovered)
    kinds = [(int(e["type"]), int(e["state"]) if int(e["type"]) == ev.EventType.SESSION else 0) for e in got]
    gap_at = kinds.index((int(ev.EventType.SESSION), int(ev.SessionState.RESENDING)))
    ms.on_event(got[gap_at])
    assert ms.composite(1).bid_qty_e2 == 0                     # withdrawn: no stale price to trade on
    for e in got[gap_at + 1:]:
        ms.on_event(e)
    assert ms.composite(1).bid_px_e8 == 108_502_000            # fresh from the snapshot


def test_a_backlog_on_the_socket_is_handed_on_in_bounded_steps(link):
    """A sender as fast as we are must not hold the source in its read loop: one poll applies
    at most MAX_PACKETS_PER_POLL packets and hands on the quote they left, the next polls the rest."""
    from fxpipe.feed.receiver import MAX_PACKETS_PER_POLL

    pub, src = link
    pub.publish([(1, 1, *ladder(0))], time.time_ns())
    collect(pub, src, recovered)
    backlog = 3 * MAX_PACKETS_PER_POLL
    first = src.rx.books.expected_seq
    for k in range(1, backlog + 1):
        pub.publish([(1, 1 + k, *ladder(k))], time.time_ns())
    got = []
    end = time.monotonic() + 5
    while not got and time.monotonic() < end:
        got = quotes(src.poll(0.05))
    assert src.rx.books.expected_seq - first == MAX_PACKETS_PER_POLL
    assert int(got[0]["bid_px_e8"]) == ladder(MAX_PACKETS_PER_POLL)[0][0][0]
    rest = collect(pub, src, lambda g: any(int(q["bid_px_e8"]) == ladder(backlog)[0][0][0] for q in quotes(g)))
    assert src.rx.books.expected_seq - first == backlog and quotes(rest)


def _resending(events):
    return sum(1 for e in events if int(e["type"]) == ev.EventType.SESSION
               and int(e["state"]) == ev.SessionState.RESENDING)


def test_gaps_while_a_snapshot_is_awaited_say_resending_once(link):
    """Under sustained loss every batch has a gap: the venue's feed is RESENDING from the first
    until a snapshot completes, and saying so again for each gap made every poll carry a session
    event through the desk (and the journal), which slowed the reader that was losing packets."""
    pub, src = link
    pub.publish([(1, 1, *ladder(0))], time.time_ns())
    collect(pub, src, recovered)
    got = []
    for k in range(1, 8):                   # no snapshot served meanwhile (no pub.on_readable)
        pub.lose_next(1)
        pub.publish([(1, 2 * k, *ladder(2 * k))], time.time_ns())         # lost
        pub.publish([(1, 2 * k + 1, *ladder(2 * k + 1))], time.time_ns())  # reveals the gap
        time.sleep(0.002)
        got += src.poll(0.0)
    assert src.rx.books.stats()["gaps"] >= 7
    assert _resending(got) == 1
    got = collect(pub, src, recovered)      # the snapshot comes: ACTIVE again
    pub.lose_next(1)
    pub.publish([(1, 100, *ladder(100))], time.time_ns())
    pub.publish([(1, 101, *ladder(101))], time.time_ns())
    assert _resending(collect(pub, src, lambda g: _resending(g) > 0)) == 1     # a new episode says so
