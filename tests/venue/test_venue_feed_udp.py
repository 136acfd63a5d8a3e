"""The binary feed over UDP on 127.0.0.1: publisher to receiver with packets lost on purpose,
snapshot recovery, heartbeats, a publisher restart, and the feed of a running simulator."""
import errno as errno_mod
import random
import time

import numpy as np
import pytest
from venue_harness import VenueProcess, free_port

import fxpipe.model.events as ev
from fxpipe.feed import books as fb
from fxpipe.feed.publisher import FeedPublisher, InstrumentDef, check_loopback
from fxpipe.feed.receiver import FeedReceiver
from fxpipe.venue.book import build_ladder
from fxpipe.venue.pairs import load
from fxpipe.venue.prices import PriceProcess

PAIRS = load()
DEFS = [InstrumentDef(p.instrument_id, p.symbol, p.pip_e8, p.tick_e8, p.price_decimals, p.settle_days) for p in PAIRS]
SIZES = (100_000_000, 200_000_000, 300_000_000, 500_000_000, 1_000_000_000)


@pytest.fixture
def link():
    made = []

    def make(drop=None, stream_id=1, heartbeat_ms=50.0):
        pub = FeedPublisher(1, [], 0, DEFS, stream_id=stream_id, heartbeat_ms=heartbeat_ms, drop=drop)
        rx = FeedReceiver(1, 0, ("127.0.0.1", pub.snapshot_port), snapshot_timeout_ms=50)
        pub.destinations = [("127.0.0.1", rx.port)]
        made.extend([pub, rx])
        return pub, rx

    yield make
    for x in made:
        x.close()


def play(pub, rx, n, seed=1):
    pp = PriceProcess(PAIRS, seed)
    for k in range(n):
        ups = []
        for i in pp.advance():
            b, a = build_ladder(pp.bid_e8[i], pp.ask_e8[i], PAIRS[i].tick_e8, 1, SIZES)
            ups.append((PAIRS[i].instrument_id, k, b, a))
        pub.publish(ups, time.time_ns())
        pub.on_readable(time.time_ns())
        rx.poll(0)


def settle(pub, rx, seconds=1.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pub.on_readable(time.time_ns())
        pub.heartbeat(time.time_ns())
        rx.poll(0.005)
        if not rx.recovering and rx.books.expected_seq == pub.seq + 1:
            return


def same_books(pub, rx):
    assert pub.books
    for iid, (_, _, bids, asks) in pub.books.items():
        assert rx.books.levels(iid) == (bids, asks), iid
        assert not rx.books.is_stale(iid), iid


def test_lossless_feed_matches_the_publisher(link):
    pub, rx = link()
    play(pub, rx, 3000)
    settle(pub, rx)
    same_books(pub, rx)
    assert len(pub.books) == len(PAIRS)
    s = rx.stats()
    assert s["gaps"] == 0 and s["snapshots_done"] == 1 and s["requests_sent"] == 1  # the late-join snapshot
    assert rx.books.definition(1)["symbol"] == "EUR/USD"


@pytest.mark.parametrize("drop", [lambda s: s % 5 == 0, lambda s, r=random.Random(3): r.random() < 0.2],
                         ids=["every-5th", "random-20pct"])
def test_lost_packets_are_detected_and_recovered_from_snapshots(link, drop):
    pub, rx = link(drop=drop)
    play(pub, rx, 4000)
    settle(pub, rx)
    same_books(pub, rx)
    s = rx.stats()
    assert 0 < s["lost_packets"] <= pub.packets_dropped  # a snapshot may cover later losses first
    assert s["snapshots_done"] >= 2


def test_a_gap_while_a_snapshot_is_on_its_way_does_not_ask_again(link):
    pub, rx = link()
    play(pub, rx, 30)
    settle(pub, rx)
    asked = rx.stats()["requests_sent"]
    for _ in range(3):                   # three gaps before the publisher gets round to answering
        pub.lose_next(1)
        pub.publish([(1, 0, [(108_400_000, 100)], [(108_410_000, 100)])], time.time_ns())
        pub.publish([(2, 0, [(128_400_000, 100)], [(128_410_000, 100)])], time.time_ns())
        rx.poll(0.05)
    s = rx.stats()
    assert s["gaps"] == 3 and rx.recovering
    assert s["requests_sent"] == asked + 1   # one request: the answer covers every gap so far
    settle(pub, rx)
    assert rx.stats()["requests_sent"] == asked + 1 and not rx.recovering
    same_books(pub, rx)


def test_a_drain_reads_at_most_its_bound_and_names_each_changed_instrument_once(link):
    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    for k in range(40):                  # instruments 3, 1, 2, 3, 1, 2, ... one packet each
        iid = (3, 1, 2)[k % 3]
        pub.publish([(iid, k, [(100_000_000 + k, 100)], [(100_010_000 + k, 100)])], time.time_ns())
    time.sleep(0.01)
    before = rx.books.packets
    read, said, changed = rx.books.drain(rx.sock.fileno(), 25)
    assert (read, said, changed) == (25, 0, [3, 1, 2])
    assert rx.books.packets == before + 25
    read, said, changed = rx.books.drain(rx.sock.fileno(), 64)
    assert read == 15 and said == 0 and changed == [1, 2, 3]
    assert rx.books.drain(rx.sock.fileno(), 64) == (0, 0, [])
    assert rx.books.top(2) == (100_000_000 + 38, 100_010_000 + 38)


def test_a_drain_with_quotes_makes_the_quote_events_of_what_it_changed_stamped_at_the_socket(link):
    """drain_quotes(): what drain() reads and applies, plus the Quote events of each changed
    instrument that has a book and is not stale (first changed first, one per level, numbered
    on), the same events quote_events() / quotes() make of the books afterwards; the receive
    stamp is taken as the first datagram came off the socket, the decode stamp after the last."""
    import fxpipe.model.events as ev

    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    fd = rx.sock.fileno()
    assert rx.books.drain_quotes(fd, 64, 7, 1, True) == (0, 0, [], [], 0)
    for raw in (True, False):
        for iid, k in ((2, 1), (1, 2), (2, 3)):
            pub.publish([(iid, k, [(100_000_000 + k, 100), (99_990_000, 200)], [(100_010_000 + k, 100)])],
                        time.time_ns())
        time.sleep(0.01)
        before = time.time_ns()
        read, said, changed, quotes, t_recv = rx.books.drain_quotes(fd, 64, 7, 41, raw)
        assert (read, said, changed) == (3, 0, [2, 1])
        want = rx.books.quote_events(2, 7, t_recv, 41) + rx.books.quote_events(1, 7, t_recv, 43)
        got = [bytearray(q) if raw else bytearray(q.tobytes()) for q in quotes]
        assert type(quotes[0]) is (bytearray if raw else np.void)
        decode_at = ev.dtype_for(ev.EventType.QUOTE).fields["ts_decode_ns"][1]
        t_dec = int.from_bytes(got[0][decode_at:decode_at + 8], "little")
        assert before - 10_000_000_000 < t_recv <= t_dec <= time.time_ns()
        for g in got:
            g[decode_at:decode_at + 8] = bytes(8)
        assert got == want
        assert [ev.read(g)["level"] for g in got] == [0, 1, 0, 1]
    # instrument 2 changed, then a gap makes every book stale, then 1 is refreshed: both are
    # named as changed, only 1 is quoted (2's quote could be older than what was lost)
    pub.publish([(2, 9, [(100_000_000, 100)], [(100_010_000, 100)])], time.time_ns())
    pub.lose_next(1)
    pub.publish([(3, 9, [(100_000_000, 100)], [(100_010_000, 100)])], time.time_ns())
    pub.publish([(1, 9, [(100_000_000, 100)], [(100_010_000, 100)])], time.time_ns())
    time.sleep(0.01)
    read, said, changed, quotes, _ = rx.books.drain_quotes(fd, 64, 7, 1, True)
    assert read == 2 and said == fb.DRAINED_GAP and changed == [2, 1]
    assert rx.books.is_stale(2) and not rx.books.is_stale(1)
    assert [ev.read(q)["instrument_id"] for q in quotes] == [1]


def test_a_drain_skips_a_datagram_that_does_not_decode_and_reports_a_gap(link):
    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    errors = rx.stats()["errors"]
    pub.publish([(1, 0, [(108_400_000, 100)], [(108_410_000, 100)])], time.time_ns())
    pub.sock.sendto(b"\x00" * 7, ("127.0.0.1", rx.port))          # shorter than a header
    pub.lose_next(1)
    pub.publish([(1, 0, [(108_300_000, 100)], [(108_310_000, 100)])], time.time_ns())
    pub.publish([(2, 0, [(128_400_000, 100)], [(128_410_000, 100)])], time.time_ns())
    time.sleep(0.01)
    read, said, changed = rx.books.drain(rx.sock.fileno(), 64)
    assert read == 3 and said == fb.DRAINED_GAP and changed == [1, 2]
    assert rx.stats()["errors"] == errors + 1
    assert rx.books.levels(1) == ([(108_400_000, 100)], [(108_410_000, 100)])


def test_a_lost_last_packet_is_found_by_the_heartbeat(link):
    pub, rx = link()
    play(pub, rx, 30)
    settle(pub, rx)
    pub.lose_next(1)  # the market's last update before it goes quiet is lost
    last = ([(108_400_000, 100)], [(108_410_000, 100)])
    pub.publish([(1, 0, *last)], time.time_ns())
    rx.poll(0.05)
    assert rx.stats()["gaps"] == 0 and rx.books.levels(1) != last  # nothing tells it yet
    time.sleep(0.06)
    assert pub.heartbeat(time.time_ns())
    settle(pub, rx)
    assert rx.stats()["gaps"] == 1 and rx.stats()["heartbeats"] >= 1
    assert rx.books.levels(1) == last
    same_books(pub, rx)


def test_lost_snapshot_answers_are_asked_for_again(link):
    pub, rx = link()
    real = pub.serve_snapshot
    answered = []

    def lossy(request_id, iid, addr, now):
        answered.append(request_id)
        if len(answered) == 1:
            return  # the first answer is lost on the way
        real(request_id, iid, addr, now)

    pub.serve_snapshot = lossy
    play(pub, rx, 200)
    settle(pub, rx)
    assert len(answered) >= 2 and rx.stats()["snapshots_done"] == 1
    same_books(pub, rx)


def test_a_restarted_publisher_is_followed(link):
    pub, rx = link(stream_id=1)
    play(pub, rx, 300)
    settle(pub, rx)
    pub2 = FeedPublisher(1, [("127.0.0.1", rx.port)], 0, DEFS, stream_id=2)
    try:
        rx.snapshot_server = ("127.0.0.1", pub2.snapshot_port)
        play(pub2, rx, 300, seed=2)
        settle(pub2, rx)
        same_books(pub2, rx)
        assert rx.books.stream_id == 2
    finally:
        pub2.close()


def test_only_loopback_addresses_are_accepted():
    with pytest.raises(ValueError, match="only sends to 127.0.0.1"):
        check_loopback("10.0.0.1", 5000)
    with pytest.raises(ValueError, match="1..65535"):
        check_loopback("127.0.0.1", 0)


def test_the_simulators_feed_recovers_from_an_injected_loss(tmp_path):
    rx_port = free_port()
    snap_port = free_port()
    feed = f"[venues.ecn.feed]\nchannel_id = 7\ndestinations = [\"127.0.0.1:{rx_port}\"]\nsnapshot_port = {snap_port}\nheartbeat_ms = 100\n"
    rx = FeedReceiver(7, rx_port, ("127.0.0.1", snap_port), snapshot_timeout_ms=100)
    v = VenueProcess(tmp_path, pace="wall", rate=400, ecn_extra=feed, with_lp=False)
    try:
        assert v.ready["venues"]["ecn"]["feed"] == {"channel_id": 7, "snapshot_port": snap_port}
        end = time.monotonic() + 10
        while rx.stats()["snapshots_done"] < 1 and time.monotonic() < end:
            rx.poll(0.01)
        before = rx.stats()
        assert before["snapshots_done"] == 1
        v.fault("feed_loss count=3")
        end = time.monotonic() + 10
        while (rx.stats()["snapshots_done"] < 2 or rx.recovering) and time.monotonic() < end:
            rx.poll(0.01)
        s = rx.stats()
        assert s["lost_packets"] >= 3 and s["snapshots_done"] >= 2 and not s["recovering"]
        assert v.status()["venues"]["ecn"]["feed"]["packets_dropped"] == 3
        for p in PAIRS:
            assert rx.books.has_book(p.instrument_id) and not rx.books.is_stale(p.instrument_id)
            bid, ask = rx.books.top(p.instrument_id)
            assert 0 < bid < ask and bid % p.tick_e8 == 0 and ask % p.tick_e8 == 0
            assert rx.books.levels(p.instrument_id)[0][1][1] == 200_000_000
        assert s["errors"] == 0 and s["gaps"] >= 1
        status = rx.books.on_packet(b"")  # an empty datagram is a decode error, not a crash
        assert status < 0 and fb.OK == 0
    finally:
        v.stop()
        rx.close()


def test_a_socket_that_cannot_be_read_is_a_clear_error_naming_the_channel():
    import socket

    books = fb.FeedBooks(4)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:       # never connected
        with pytest.raises(OSError, match="feed channel 4: receiving"):
            books.drain(s.fileno(), 8)
    assert books.packets == 0


def test_datagrams_taken_ahead_are_applied_first_with_the_stamp_of_their_read(link):
    """take_waiting() (the idle wait's read) takes what waits on the socket now and holds it
    in the books, unapplied; the next drain applies it before reading more, stamped as of the
    take, and the quotes it makes equal those of a drain that read the same datagrams itself."""
    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    fd = rx.sock.fileno()
    assert rx.books.take_waiting(fd) == 0 and rx.books.held_datagrams == 0
    for iid, k in ((2, 1), (1, 2)):
        pub.publish([(iid, k, [(100_000_000 + k, 100)], [(100_010_000 + k, 100)])], time.time_ns())
    time.sleep(0.01)
    before = time.time_ns()
    assert rx.books.take_waiting(fd) == 2
    after = time.time_ns()
    assert rx.books.held_datagrams == 2
    assert rx.books.top(1) != (100_000_002, 100_010_002)          # held, not applied
    assert rx.books.take_waiting(fd) == 2                         # holding: no second read
    pub.publish([(3, 3, [(100_000_003, 100)], [(100_010_003, 100)])], time.time_ns())
    time.sleep(0.01)
    read, said, changed, quotes, t_recv = rx.books.drain_quotes(fd, 64, 7, 1, True)
    # the held two alone: the socket was empty when they were taken (the third comes next)
    assert (read, said, changed) == (2, 0, [2, 1]) and rx.books.held_datagrams == 0
    assert before <= t_recv <= after
    decode_at = ev.dtype_for(ev.EventType.QUOTE).fields["ts_decode_ns"][1]
    for q in quotes:
        q[decode_at:decode_at + 8] = bytes(8)
    assert quotes == rx.books.quote_events(2, 7, t_recv, 1) + rx.books.quote_events(1, 7, t_recv, 2)
    assert rx.books.top(1) == (100_000_002, 100_010_002)
    read, said, changed, _, _ = rx.books.drain_quotes(fd, 64, 7, 9, True)
    assert (read, said, changed) == (1, 0, [3])
    assert rx.books.top(3) == (100_000_003, 100_010_003)


def test_a_full_held_batch_is_followed_by_a_read_of_the_rest(link):
    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    fd = rx.sock.fileno()
    for k in range(20):
        pub.publish([(1, k, [(100_000_000 + k, 100)], [(100_010_000 + k, 100)])], time.time_ns())
    time.sleep(0.02)
    assert rx.books.take_waiting(fd) == 16
    read, said, changed = rx.books.drain(fd, 64)
    assert (read, said, changed) == (20, 0, [1])
    assert rx.books.top(1) == (100_000_019, 100_010_019)


def test_a_failed_read_ahead_is_raised_by_the_next_drain_and_loses_nothing(link):
    """The idle wait's read failing (here: a descriptor that is not a socket) is not swallowed:
    the next drain raises it, and the drain after that reads the feed's socket as before."""
    import os

    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    r, w = os.pipe()
    try:
        assert rx.books.take_waiting(r) == 0
        with pytest.raises(OSError) as err:
            rx.books.drain(rx.sock.fileno(), 64)
        assert err.value.errno == errno_mod.ENOTSOCK
    finally:
        os.close(r)
        os.close(w)
    pub.publish([(1, 1, [(100_000_001, 100)], [(100_010_001, 100)])], time.time_ns())
    time.sleep(0.01)
    assert rx.books.drain(rx.sock.fileno(), 64) == (1, 0, [1])


def test_a_receiver_polled_for_other_sockets_still_hands_on_what_was_held(link):
    """A poll told that only other sockets are readable (the epoll set cannot see datagrams
    already taken off the socket) still applies the held ones."""
    pub, rx = link()
    play(pub, rx, 5)
    settle(pub, rx)
    pub.publish([(2, 1, [(100_000_007, 100)], [(100_010_007, 100)])], time.time_ns())
    time.sleep(0.01)
    assert rx.books.take_waiting(rx.sock.fileno()) == 1
    handled, _, changed, quotes, t_recv = rx.poll_quotes(7, 1, True, 0.0, ())
    assert handled == 1 and changed == [2] and len(quotes) >= 1 and t_recv > 0
    assert rx.books.held_datagrams == 0
