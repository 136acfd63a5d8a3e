"""The binary feed's wire format (docs/binary-feed.md) and the receiver's books, no sockets.

The layout test packs each message with `struct` from the documented offsets and compares
bytes with what the Cython encoder writes, then decodes hand-packed bytes: the document, the
encoder and the decoder cannot drift apart silently.
"""
import struct

import pytest

from fxpipe.feed import books as fb
from fxpipe.feed import sbe
from fxpipe.model import events

PKT = struct.Struct("<QQIHBB")  # seq, sending_ns, stream_id, channel_id, channel_type, msg_count
MSG = struct.Struct("<HHHHH")  # size, block_length, template_id, schema_id, version
GRP = struct.Struct("<HH")  # entry length, count
LVL = struct.Struct("<qq")  # price_e8, qty_e2
BOOK = struct.Struct("<IIq")  # instrument_id, rpt_seq, transact_ns
SNAP = struct.Struct("<IIqQIHH")  # + last_seq, request_id, tot_num_reports, pad
INSTR = struct.Struct("<IBBHqq8sII")  # id, decimals, settle_days, pad, pip, tick, symbol, request_id, pad
REQ = struct.Struct("<II")
DONE = struct.Struct("<IIQ")
BIDS = [(108_500_000, 100_000_000), (108_499_000, 200_000_000)]
ASKS = [(108_502_000, 150_000_050)]


def test_documented_sizes():
    assert (sbe.PACKET_HEADER_BYTES, sbe.MESSAGE_HEADER_BYTES, sbe.GROUP_HEADER_BYTES, sbe.LEVEL_BYTES) == (
        PKT.size, MSG.size, GRP.size, LVL.size)
    assert sbe.BLOCK_LENGTHS == {1: 0, 2: BOOK.size, 3: SNAP.size, 4: INSTR.size, 5: REQ.size, 6: DONE.size}
    assert sbe.SCHEMA_ID == 0x4658 and sbe.SCHEMA_VERSION == 1
    assert sbe.TEMPLATES == {"heartbeat": 1, "book_refresh": 2, "snapshot": 3, "instrument": 4,
                             "snapshot_request": 5, "snapshot_complete": 6}


def group(levels):
    return GRP.pack(LVL.size, len(levels)) + b"".join(LVL.pack(*lv) for lv in levels)


def sized(template, root, rest=b""):
    body = root + rest
    return MSG.pack(MSG.size + len(body), len(root), template, 0x4658, 1) + body


def test_encoder_writes_exactly_the_documented_bytes():
    w = sbe.PacketWriter()
    w.start(7, 1_700_000_000_000_000_123, 0xDEADBEEF, 3, 1)
    assert w.add_book(1, 42, 555, BIDS, ASKS)
    assert w.add_heartbeat()
    assert w.add_snapshot(2, 9, 666, 7, 11, 5, [], ASKS)
    assert w.add_instrument(1, "EUR/USD", 10_000, 1_000, 5, 2, 11)
    assert w.add_snapshot_request(11, 0)
    assert w.add_snapshot_complete(11, 5, 7)
    got = w.finish()
    want = PKT.pack(7, 1_700_000_000_000_000_123, 0xDEADBEEF, 3, 1, 6)
    want += sized(2, BOOK.pack(1, 42, 555), group(BIDS) + group(ASKS))
    want += sized(1, b"")
    want += sized(3, SNAP.pack(2, 9, 666, 7, 11, 5, 0), group([]) + group(ASKS))
    want += sized(4, INSTR.pack(1, 5, 2, 0, 10_000, 1_000, b"EUR/USD", 11, 0))
    want += sized(5, REQ.pack(11, 0))
    want += sized(6, DONE.pack(11, 5, 7))
    assert got == want


def test_decoder_reads_hand_packed_bytes_and_steps_over_what_it_does_not_know():
    # a newer version's BookRefresh with 8 extra root bytes and 24-byte levels, then an unknown template
    root = BOOK.pack(4, 3, 99) + b"\xff" * 8
    wide = GRP.pack(24, 1) + LVL.pack(*BIDS[0]) + b"\xee" * 8
    data = PKT.pack(1, 2, 3, 4, 1, 2) + sized(2, root, wide + GRP.pack(24, 0)) + sized(77, b"\x01\x02")
    pkt = sbe.decode_packet(data)
    book, unknown = pkt["messages"]
    assert book == {"template": "book_refresh", "instrument_id": 4, "rpt_seq": 3, "transact_ns": 99,
                    "bids": [BIDS[0]], "asks": []}
    assert unknown == {"template": "unknown", "unknown_template": 77}


@pytest.mark.parametrize("data,error", [
    (b"\x00" * 10, "shorter than the 24-byte header"),
    (PKT.pack(1, 2, 3, 4, 1, 1) + b"\x05\x00", "truncated"),
    (PKT.pack(1, 2, 3, 4, 1, 1) + MSG.pack(10, 0, 1, 0x1234, 1), "unknown schema"),
    (PKT.pack(1, 2, 3, 4, 1, 1) + sized(2, b"\x00" * 8), "shorter than this version"),
    (PKT.pack(1, 2, 3, 4, 1, 1) + sized(2, BOOK.pack(1, 1, 1), GRP.pack(16, 11) + b"\x00" * 176 + GRP.pack(16, 0)),
     "more than 10 levels"),
    (PKT.pack(1, 2, 3, 4, 1, 1) + sized(2, BOOK.pack(1, 1, 1), GRP.pack(16, 2) + b"\x00" * 16), "truncated"),
    (PKT.pack(1, 2, 3, 4, 1, 1) + sized(1, b"") + b"\x00", "bytes after the last"),
])
def test_malformed_packets_are_refused_with_the_rule_they_break(data, error):
    with pytest.raises(sbe.FeedDecodeError, match=error):
        sbe.decode_packet(data)


def test_writer_refuses_what_does_not_fit_and_says_so():
    w = sbe.PacketWriter()
    with pytest.raises(RuntimeError, match="start"):
        w.add_heartbeat()
    w.start(1, 0, 0, 1, 1)
    with pytest.raises(ValueError, match="at most 10 levels"):
        w.add_book(1, 1, 0, [(1, 1)] * 11, [])
    with pytest.raises(ValueError, match="longer than 8"):
        w.add_instrument(1, "EURUSD.SPOT", 1, 1, 5, 2)
    full = [(1, 1)] * 10
    n = 0
    while w.add_book(1, 1, 0, full, full):
        n += 1
    assert n == (sbe.MAX_PACKET_BYTES - 24) // (10 + 16 + 8 + 320)
    assert w.size <= sbe.MAX_PACKET_BYTES


# -- FeedBooks: sequencing, gaps, snapshots ------------------------------------------------------

def incr(seq, updates, stream=1, channel=1):
    w = sbe.PacketWriter()
    w.start(seq, 0, stream, channel, 1)
    for iid, rpt, bids, asks in updates:
        w.add_book(iid, rpt, seq, bids, asks)
    if not updates:
        w.add_heartbeat()
    return w.finish()


def snapshot(request_id, last_seq, books, stream=1, drop=()):
    w = sbe.PacketWriter()
    w.start(1, 0, stream, 1, 2)
    for iid, rpt, bids, asks in books:
        if iid not in drop:
            w.add_snapshot(iid, rpt, 0, last_seq, request_id, len(books), bids, asks)
    w.add_snapshot_complete(request_id, len(books), last_seq)
    return w.finish()


def test_books_apply_in_sequence_and_flag_gaps_and_duplicates():
    b = fb.FeedBooks(1)
    assert b.on_packet(incr(1, [(1, 1, BIDS, ASKS)])) == fb.NEW_STREAM
    assert b.levels(1) == (BIDS, ASKS) and b.is_stale(1) is False and b.changed() == [1]
    assert b.on_packet(incr(2, [(2, 1, BIDS, [])])) == fb.OK
    assert b.on_packet(incr(2, [(2, 1, BIDS, [])])) == fb.DUPLICATE
    assert b.on_packet(incr(5, [(2, 3, [], ASKS)])) == fb.GAP
    assert b.stats()["lost_packets"] == 2
    assert b.is_stale(1) and not b.is_stale(2)  # 2 was just refreshed in full; 1 may have missed one
    assert b.levels(2) == ([], ASKS)
    assert b.on_packet(incr(6, [], channel=9)) == fb.WRONG_CHANNEL
    assert b.on_packet(incr(6, [])) == fb.OK and b.stats()["heartbeats"] == 1


def test_stale_after_a_gap_until_a_snapshot_and_never_rolled_back():
    b = fb.FeedBooks(1)
    b.on_packet(incr(1, [(1, 1, BIDS, ASKS), (2, 1, BIDS, ASKS)]))
    b.on_packet(incr(4, [(2, 3, [], ASKS)]))  # gap; 2 refreshed (rpt 3), 1 stale
    b.begin_snapshot(7)
    newer1 = (1, 2, [(108_400_000, 1)], ASKS)
    older2 = (2, 2, BIDS, BIDS)  # the snapshot was cut before 2's latest refresh
    assert b.on_snapshot_packet(snapshot(6, 4, [newer1, older2])) == fb.IGNORED  # another request's answer
    assert b.on_snapshot_packet(snapshot(7, 4, [newer1, older2])) == fb.DONE
    assert b.levels(1) == (newer1[2], ASKS) and b.rpt_seq(1) == 2
    assert b.levels(2) == ([], ASKS) and b.rpt_seq(2) == 3  # kept: newer than the snapshot
    assert not b.is_stale(1) and not b.is_stale(2)


def test_incomplete_or_too_old_snapshot_asks_again():
    b = fb.FeedBooks(1)
    b.on_packet(incr(1, [(1, 1, BIDS, ASKS), (2, 1, BIDS, ASKS)]))
    b.on_packet(incr(9, []))
    b.begin_snapshot(1)
    assert b.on_snapshot_packet(snapshot(1, 9, [(1, 2, BIDS, ASKS), (2, 2, BIDS, ASKS)], drop={2})) == fb.INCOMPLETE
    b.begin_snapshot(2)
    assert b.on_snapshot_packet(snapshot(2, 3, [(1, 2, BIDS, ASKS), (2, 2, BIDS, ASKS)])) == fb.INCOMPLETE
    b.begin_snapshot(3)
    assert b.on_snapshot_packet(snapshot(3, 9, [(1, 2, BIDS, ASKS), (2, 2, BIDS, ASKS)])) == fb.DONE
    assert b.expected_seq == 10


def test_a_publisher_restart_resets_update_numbers():
    b = fb.FeedBooks(1)
    b.on_packet(incr(1, [(1, 50, BIDS, ASKS)], stream=1))
    assert b.on_packet(incr(1, [(1, 1, [], ASKS)], stream=2)) == fb.NEW_STREAM
    assert b.levels(1) == ([], ASKS) and b.rpt_seq(1) == 1
    assert b.on_snapshot_packet(snapshot(0, 1, [], stream=1)) == fb.IGNORED


def test_books_give_fxpipe_quote_events_per_level():
    b = fb.FeedBooks(1)
    b.on_packet(incr(1, [(3, 1, BIDS, ASKS)]))
    q = b.quotes(3, venue_id=2, ts_receive_ns=555)
    assert len(q) == 2 and (q["type"] == events.EventType.QUOTE).all()
    assert list(q["level"]) == [0, 1] and list(q["venue_id"]) == [2, 2] and list(q["instrument_id"]) == [3, 3]
    assert list(q["bid_px_e8"]) == [p for p, _ in BIDS] and list(q["bid_qty_e2"]) == [s for _, s in BIDS]
    assert list(q["ask_px_e8"]) == [ASKS[0][0], 0] and list(q["ask_qty_e2"]) == [ASKS[0][1], 0]  # no 2nd offer
    assert list(q["md_seq"]) == [1, 1] and list(q["ts_venue_ns"]) == [1, 1] and list(q["ts_receive_ns"]) == [555, 555]
    assert (q["quote_cond"] == events.QuoteCondition.FIRM).all()
    assert len(b.quotes(4, 2)) == 0


def test_instrument_definitions_arrive_with_the_snapshot():
    b = fb.FeedBooks(1)
    w = sbe.PacketWriter()
    w.start(1, 0, 5, 1, 2)
    w.add_instrument(3, "USD/JPY", 1_000_000, 100_000, 3, 2, 1)
    b.begin_snapshot(1)
    b.on_snapshot_packet(w.finish())
    assert b.definition(3) == {"symbol": "USD/JPY", "pip_e8": 1_000_000, "tick_e8": 100_000,
                               "price_decimals": 3, "settle_days": 2}
    assert b.definition(4) is None
    with pytest.raises(KeyError, match="outside 1..255"):
        b.levels(0)
    with pytest.raises(ValueError, match="reserved"):
        b.begin_snapshot(0)
