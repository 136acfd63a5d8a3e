"""The FIX source's books (fxpipe.fix.bridge.MarketDataBooks) on messages written as a venue
writes them: snapshots and incrementals by MDEntryPositionNo give exact levels; a message
the book cannot take drops that book (never quoted crossed or stale) until its next snapshot;
another subscription's messages change nothing; the same messages give the same bytes; a bad
market-data link is refused before anything connects."""
from __future__ import annotations

import pytest

import fxpipe.model.events as ev
from fxpipe.fix import bridge, codec
from fxpipe.stages.fix_feed import FixFeedSource, MarketDataLink

T0 = 1_700_000_000_000_000_000
VENUE = 1
EURUSD, USDJPY = 1, 3


def books(depth=5):
    return bridge.MarketDataBooks({"EUR/USD": EURUSD, "USD/JPY": USDJPY}, depth)


def px(v: int) -> str:
    return f"{v // 10**8}.{v % 10**8:08d}"


def snapshot(seq, symbol, bids, asks, req="MD-1-1"):
    body: list = [(262, req), (55, symbol), (268, len(bids) + len(asks))]
    for kind, side in (("0", bids), ("1", asks)):
        for pos, (p, q) in enumerate(side, 1):
            body += [(269, kind), (270, px(p)), (271, f"{q // 100}.{q % 100:02d}"), (290, pos)]
    return codec.encode("W", "ECN1", "FXPIPE-MD", seq, T0 + seq * 1_000_000, body)


def incremental(seq, changes, req="MD-1-1"):
    """changes: (action, kind, symbol, position, px, qty)."""
    body: list = [(262, req), (268, len(changes))]
    for action, kind, symbol, pos, p, q in changes:
        body += [(279, action), (269, kind), (55, symbol)]
        if action != "2":
            body += [(270, px(p)), (271, f"{q // 100}.{q % 100:02d}")]
        body.append((290, pos))
    return codec.encode("X", "ECN1", "FXPIPE-MD", seq, T0 + seq * 1_000_000, body)


BIDS = [(108_500_000, 100_000_000), (108_499_000, 200_000_000)]
ASKS = [(108_502_000, 100_000_000), (108_503_000, 200_000_000)]


def quotes(buf):
    return [(int(q["instrument_id"]), int(q["level"]), int(q["bid_px_e8"]), int(q["bid_qty_e2"]),
             int(q["ask_px_e8"]), int(q["ask_qty_e2"])) for q in ev.view(buf, ev.EventType.QUOTE)]


def test_snapshot_then_incrementals_give_exact_levels_by_position():
    b = books()
    status, buf = b.apply(snapshot(2, "EUR/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    assert status == bridge.APPLIED
    q = ev.view(buf, ev.EventType.QUOTE)
    assert quotes(buf) == [(1, 0, 108_500_000, 100_000_000, 108_502_000, 100_000_000),
                           (1, 1, 108_499_000, 200_000_000, 108_503_000, 200_000_000)]
    assert int(q[0]["flags"]) & ev.EventFlag.SNAPSHOT and int(q[0]["md_seq"]) == 2
    assert int(q[0]["ts_venue_ns"]) == T0 + 2_000_000 and int(q[0]["ts_receive_ns"]) == T0
    assert int(q[0]["venue_id"]) == VENUE
    # a new best bid pushes the others down; the deepest offer goes; the best offer changes size
    status, buf = b.apply(incremental(3, [("2", "1", "EUR/USD", 2, 0, 0),
                                          ("0", "0", "EUR/USD", 1, 108_501_000, 50_000_000),
                                          ("1", "1", "EUR/USD", 1, 108_502_000, 70_000_000)]),
                          "MD-1-1", VENUE, T0 + 10)
    assert status == bridge.APPLIED
    assert b.levels(EURUSD) == ([(108_501_000, 50_000_000), (108_500_000, 100_000_000), (108_499_000, 200_000_000)],
                                [(108_502_000, 70_000_000)])
    assert quotes(buf)[0] == (1, 0, 108_501_000, 50_000_000, 108_502_000, 70_000_000)
    assert quotes(buf)[2] == (1, 2, 108_499_000, 200_000_000, 0, 0)     # no third offer: side absent
    assert not int(ev.view(buf, ev.EventType.QUOTE)[0]["flags"]) & ev.EventFlag.SNAPSHOT


def test_depth_keeps_only_the_levels_asked_for():
    b = books(depth=1)
    b.apply(snapshot(2, "EUR/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    assert b.levels(EURUSD) == ([BIDS[0]], [ASKS[0]])
    _, buf = b.apply(incremental(3, [("1", "0", "EUR/USD", 2, 108_498_000, 1)]), "MD-1-1", VENUE, T0)
    assert quotes(buf) == [(1, 0, 108_500_000, 100_000_000, 108_502_000, 100_000_000)]


def test_incremental_before_its_snapshot_is_never_quoted():
    b = books()
    status, buf = b.apply(incremental(2, [("1", "0", "EUR/USD", 1, 108_500_000, 100)]), "MD-1-1", VENUE, T0)
    assert status == bridge.BROKEN and not buf and "before its snapshot" in b.problem
    assert not b.has_book(EURUSD)


def test_crossing_incremental_drops_the_book_until_the_next_snapshot():
    b = books()
    b.apply(snapshot(2, "EUR/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    b.apply(snapshot(3, "USD/JPY", [(14_950_000_000, 100)], [(14_951_000_000, 100)]), "MD-1-1", VENUE, T0)
    assert b.complete()
    status, buf = b.apply(incremental(4, [("1", "0", "EUR/USD", 1, 108_502_000, 100_000_000)]),
                          "MD-1-1", VENUE, T0)
    assert status == bridge.BROKEN and not buf and "crossed" in b.problem
    assert not b.has_book(EURUSD) and b.has_book(USDJPY) and not b.complete()
    # later incrementals for the dropped book stay silent; the other book goes on
    status, buf = b.apply(incremental(5, [("1", "0", "EUR/USD", 1, 108_500_000, 1),
                                          ("1", "0", "USD/JPY", 1, 14_950_100_000, 100)]), "MD-1-1", VENUE, T0)
    assert status == bridge.BROKEN and [q[0] for q in quotes(buf)] == [USDJPY]
    status, buf = b.apply(snapshot(6, "EUR/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    assert status == bridge.APPLIED and quotes(buf)[0][2] == 108_500_000


def test_change_at_a_position_the_book_lacks_drops_it():
    b = books()
    b.apply(snapshot(2, "EUR/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    status, buf = b.apply(incremental(3, [("1", "1", "EUR/USD", 4, 108_510_000, 100)]), "MD-1-1", VENUE, T0)
    assert status == bridge.BROKEN and not buf and "position 4" in b.problem


def test_another_subscriptions_message_changes_nothing():
    b = books()
    b.apply(snapshot(2, "EUR/USD", BIDS, ASKS, req="MD-1-2"), "MD-1-2", VENUE, T0)
    status, buf = b.apply(snapshot(3, "EUR/USD", ASKS, BIDS, req="MD-1-1"), "MD-1-2", VENUE, T0)
    assert status == bridge.OTHER_REQUEST and not buf
    status, buf = b.apply(incremental(4, [("2", "0", "EUR/USD", 2, 0, 0)], req="MD-1-1"), "MD-1-2", VENUE, T0)
    assert status == bridge.OTHER_REQUEST and not buf
    assert b.levels(EURUSD) == (BIDS, ASKS)


def test_unsubscribed_symbol_is_skipped_and_named():
    b = books()
    status, buf = b.apply(snapshot(2, "GBP/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    assert status == bridge.UNKNOWN_SYMBOL and not buf and "GBP/USD" in b.problem


def test_undecodable_message_raises_and_applies_nothing():
    b = books()
    b.apply(snapshot(2, "EUR/USD", BIDS, ASKS), "MD-1-1", VENUE, T0)
    raw = incremental(3, [("2", "0", "EUR/USD", 2, 0, 0)])
    bad = raw.replace(b"268=1\x01", b"268=2\x01")            # count says 2, one entry follows
    with pytest.raises(codec.FixParseError):
        b.apply(codec.parse(codec.encode("X", "ECN1", "FXPIPE-MD", 3, T0, [(262, "MD-1-1"), (268, 2),
                                                                          (279, "2"), (269, "0"),
                                                                          (55, "EUR/USD"), (290, 2)]),
                            validate=False).raw, "MD-1-1", VENUE, T0, validate=False)
    with pytest.raises(codec.FixParseError):
        b.apply(bad, "MD-1-1", VENUE, T0)
    assert b.levels(EURUSD) == (BIDS, ASKS)


def test_same_messages_give_the_same_quote_bytes():
    msgs = [snapshot(2, "EUR/USD", BIDS, ASKS), snapshot(3, "USD/JPY", [(14_950_000_000, 100)], [(14_951_000_000, 100)]),
            incremental(4, [("0", "0", "EUR/USD", 1, 108_501_000, 5), ("1", "1", "USD/JPY", 1, 14_951_500_000, 7)]),
            incremental(5, [("2", "0", "EUR/USD", 3, 0, 0), ("1", "1", "EUR/USD", 1, 108_502_000, 9)])]

    def run():
        b = books()
        return [bytes(b.apply(m, "MD-1-1", VENUE, T0 + k)[1]) for k, m in enumerate(msgs)] + [bytes(b.quotes(VENUE, T0))]

    assert run() == run()


@pytest.mark.parametrize("link, error", [
    (dict(venue_id=99), "unknown venue 99"),
    (dict(instruments=["EUR/SEK"]), "unknown instrument 'EUR/SEK'"),
    (dict(instruments=["EUR/USD", 1]), "listed twice"),
    (dict(depth=0), "depth 0 outside 1..16"),
    (dict(symbol_format="dotted"), "symbol_format 'dotted'"),
])
def test_bad_market_data_link_is_refused_before_anything_connects(tmp_path, link, error):
    args = dict(venue_id=1, port=1, target_comp_id="ECN1") | link
    with pytest.raises((ValueError, KeyError), match=error):
        FixFeedSource([MarketDataLink(**args)], tmp_path)
    assert not (tmp_path / "fix-store").exists()


def test_two_links_for_one_venue_are_refused(tmp_path):
    with pytest.raises(ValueError, match="two market-data links for one venue"):
        FixFeedSource([MarketDataLink(1, 1, "ECN1"), MarketDataLink(1, 2, "ECN1")], tmp_path)
