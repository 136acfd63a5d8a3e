"""The tick-to-trade harness's C pacer and echo (fxpipe.benchsupport.feed_pacer): the packets it
patches are the feed's own PacketWriter's, byte for byte; a paced phase sends every quote, in
order, never before its time; a burst numbers its packets one after another; the echo
answers every Nth datagram with its name; and the publisher's state follows what the pacer sent,
so a snapshot served mid-phase tells the truth. No timing is asserted."""
import socket
import threading
import time

import numpy as np
import pytest

from bench._t2t_feed import (
    INSTRUMENT,
    PRICES,
    SIZE_E2,
    QuoteStream,
    ask_of,
    make_publisher,
    quote_template,
)
from fxpipe.benchsupport import feed_pacer
from fxpipe.feed.sbe import CHANNELS, PacketWriter, decode_packet


def _writer_packet(seq: int, now: int, rpt: int, g: int, stream_id: int) -> bytes:
    w = PacketWriter()
    w.start(seq, now, stream_id, 1, CHANNELS["incremental"])
    ask = ask_of(g)
    w.add_book(INSTRUMENT, rpt, now, [(ask - PRICES[2], SIZE_E2)], [(ask, SIZE_E2)])
    return bytes(w.finish())


@pytest.mark.parametrize("g0", [0, 1, 32_760, 1_000_003])
def test_every_patched_packet_is_the_packet_writers_own(g0):
    template = quote_template(stream_id=0xBEEF)
    assert len(template) == feed_pacer.QUOTE_PACKET_BYTES
    for j in (0, 1, 7, 8, 31, 1000):
        now = 1_700_000_000_000_000_000 + 977 * j
        got = feed_pacer.render(template, 41, 9, g0, PRICES, j, now)
        assert got == _writer_packet(41 + j + 1, now, 9 + j + 1, g0 + j, 0xBEEF), (g0, j)


def test_a_template_that_is_not_a_one_level_book_is_refused():
    with pytest.raises(ValueError, match="one-level BookRefresh"):
        feed_pacer.render(quote_template(1)[:-1], 0, 0, 0, PRICES, 0, 0)


def _udp_pair():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setblocking(False)
    tx.connect(rx.getsockname())
    return rx, tx


def _drain(rx) -> list[dict]:
    rx.setblocking(False)
    out = []
    while True:
        try:
            out.append(decode_packet(rx.recv(2048)))
        except BlockingIOError:
            return out


def _paced(n: int, step: int, seq0: int, rpt0: int, g0: int, *spin: int):
    """A paced phase of n quotes `step` ns apart over loopback (priority 0: no FIFO); the
    pacer's result, what arrived, and the due, sent and progress arrays."""
    rx, tx = _udp_pair()
    due = time.time_ns() + 2_000_000 + np.arange(n, dtype=np.int64) * step
    sent = np.zeros(n, dtype=np.int64)
    progress = np.zeros(1, dtype=np.int64)
    with rx, tx:
        r = feed_pacer.pace(tx.fileno(), quote_template(7), seq0, rpt0, g0, PRICES, due, sent, progress,
                            spin[0], 0, *spin[1:])
        pkts = _drain(rx)
    return r, pkts, due, sent, progress


def test_a_paced_phase_sends_every_quote_in_order_and_never_early():
    n = 400
    r, pkts, due, sent, progress = _paced(n, 50_000, 100, 3, 500, 10_000)
    assert r["lost"] == 0 and progress[0] == n
    assert (sent >= due).all() and (np.diff(sent) > 0).all()
    assert [p["header"]["seq_num"] for p in pkts] == list(range(101, 101 + n))
    for j, p in enumerate(pkts):
        book = p["messages"][0]
        assert book["rpt_seq"] == 4 + j and book["asks"][0][0] == ask_of(500 + j)
        assert p["header"]["sending_ns"] == book["transact_ns"] <= sent[j]
    assert r["spin_ns"] == 10_000, "without a larger max_spin_ns the spin does not move"


def test_the_spin_follows_the_wake_ups_within_its_bounds_and_never_sends_early():
    n = 300
    r, pkts, due, sent, _ = _paced(n, 200_000, 0, 0, 0, 1_000, 60_000)
    assert r["lost"] == 0 and len(pkts) == n and (sent >= due).all()
    # a wake-up is never early, and the spin it sets stays within the bounds asked for
    assert r["wake_late_max_ns"] >= 0
    assert 1_000 <= r["spin_ns"] <= 60_000
    # at least the 2 us margin above the least: a thread never wakes before its time
    assert r["spin_ns"] >= 2_000


def test_a_burst_numbers_its_packets_one_after_another():
    rx, tx = _udp_pair()
    progress = np.zeros(1, dtype=np.int64)
    with rx, tx:
        r = feed_pacer.burst(tx.fileno(), quote_template(7), 0, 0, 0, PRICES, 20_000_000, progress)
        pkts = _drain(rx)
    assert r["sent"] == progress[0] > 0 and r["t1"] >= r["t0"]
    seqs = [p["header"]["seq_num"] for p in pkts]
    # the receiver's buffer may overflow in a burst: what arrives is in order, from the first
    assert seqs and seqs[0] == 1 and len(set(seqs)) == len(seqs) == len(pkts)
    assert seqs == sorted(seqs) and seqs[-1] <= r["sent"] and len(seqs) + r["lost"] <= r["sent"]


def test_the_echo_answers_every_nth_datagram_with_its_name_and_stops_on_the_marker():
    rx, tx = _udp_pair()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    out = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(feed_pacer.echo(rx.fileno(), out.fileno(), 3, 64, -1)))
    with rx, tx, srv, out, conn:
        t.start()
        for g in range(1, 10):
            tx.send(g.to_bytes(8, "little") + b"x" * 20)
        tx.send((-1).to_bytes(8, "little", signed=True))
        t.join(10)
        conn.settimeout(5)
        data = b""
        while len(data) < 3 * 64:
            data += conn.recv(4096)
    assert seen == [9]
    assert [int.from_bytes(data[k:k + 8], "little") for k in range(0, len(data), 64)] == [3, 6, 9]


def test_the_publisher_follows_the_pacer_so_a_snapshot_names_the_last_quote_sent():
    rx, _tx = _udp_pair()
    _tx.close()
    with rx:
        pub = make_publisher(rx.getsockname()[1])
        try:
            pub.quote(0)                        # the book and sequence the stream starts from
            seq0, rpt0 = pub.seq, pub.books[INSTRUMENT][0]
            stream = QuoteStream(pub, 1)
            n = 50
            due = time.time_ns() + 1_000_000 + np.arange(n, dtype=np.int64) * 20_000
            sent = np.zeros(n, dtype=np.int64)
            stream.paced(due, sent, priority=0)
            result = stream.done()
            pkts = _drain(rx)
        finally:
            pub.close()
    assert result["lost"] == 0
    assert pub.seq == seq0 + n == pkts[-1]["header"]["seq_num"]
    rpt, _, bids, asks = pub.books[INSTRUMENT]
    assert rpt == rpt0 + n and asks == [(ask_of(n), SIZE_E2)] and bids == [(ask_of(n) - PRICES[2], SIZE_E2)]
    assert pkts[-1]["header"]["stream_id"] == pub.stream_id
