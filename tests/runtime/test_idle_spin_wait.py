"""spin_wait_fd: a spinning worker's idle wait in C ends when a socket or a ring has something for
it, and at its bound otherwise; it never reports a ring ready for events already released."""
import select
import socket

import pytest

from fxpipe.ring import Ring
from fxpipe.runtime.idle import spin_wait_fd


@pytest.fixture
def udp_epoll():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    ep = select.epoll()
    ep.register(rx.fileno(), select.EPOLLIN)
    yield rx, ep
    ep.close()
    rx.close()


def test_nothing_ready_returns_at_the_bound(udp_epoll):
    _, ep = udp_epoll
    assert spin_wait_fd(ep.fileno(), [], 2_000_000) == -2
    assert spin_wait_fd(-1, [], 1_000_000) == -2


def test_a_datagram_on_a_watched_socket_ends_the_wait(udp_epoll):
    rx, ep = udp_epoll
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tx.sendto(b"quote", rx.getsockname())
        assert spin_wait_fd(ep.fileno(), [], 5_000_000_000) == rx.fileno()
        assert rx.recv(64) == b"quote"
        assert spin_wait_fd(ep.fileno(), [], 1_000_000) == -2     # read: nothing waits any more
    finally:
        tx.close()


def test_an_epoll_set_inside_the_watched_set_counts(udp_epoll):
    """The order sessions' own epoll set is watched as one descriptor."""
    rx, inner = udp_epoll
    outer = select.epoll()
    outer.register(inner.fileno(), select.EPOLLIN)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert spin_wait_fd(outer.fileno(), [], 1_000_000) == -2
        tx.sendto(b"fill", rx.getsockname())
        assert spin_wait_fd(outer.fileno(), [], 5_000_000_000) == inner.fileno()
    finally:
        tx.close()
        outer.close()


def test_an_unread_event_on_a_ring_ends_the_wait_and_a_released_one_does_not(ring_name):
    with Ring.create(ring_name, consumers=["oms"]) as r:
        c = r.consumer("oms")
        p = r.producer()
        assert spin_wait_fd(-1, [c], 1_000_000) == -2
        p.send(b"intent".ljust(64, b"\0"))
        assert spin_wait_fd(-1, [c], 5_000_000_000) == -1
        c.read_batch(16, 0)
        c.release()
        assert spin_wait_fd(-1, [c], 1_000_000) == -2


def test_only_ring_consumers_are_taken():
    with pytest.raises(TypeError):
        spin_wait_fd(-1, ["not a consumer"], 1_000)


def test_spin_wait_fd_names_the_socket_that_ended_the_wait(udp_epoll, ring_name):
    """What the worker then reads without asking the epoll set again: the readable socket's fd;
    -1 for a ring; -2 at the bound."""
    rx, ep = udp_epoll
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    ep.register(other.fileno(), select.EPOLLIN)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert spin_wait_fd(ep.fileno(), [], 1_000_000) == -2
        tx.sendto(b"quote", other.getsockname())
        assert spin_wait_fd(ep.fileno(), [], 5_000_000_000) == other.fileno()
        other.recv(64)
        tx.sendto(b"quote", rx.getsockname())
        assert spin_wait_fd(ep.fileno(), [], 5_000_000_000) == rx.fileno()
        rx.recv(64)
        with Ring.create(ring_name, consumers=["oms"]) as r:
            c = r.consumer("oms")
            r.producer().send(b"intent".ljust(64, b"\0"))
            assert spin_wait_fd(ep.fileno(), [c], 5_000_000_000) == -1
    finally:
        tx.close()
        other.close()


def test_a_feed_socket_is_read_by_the_wait_itself_and_what_it_read_is_held():
    """A feed given to the wait is read, not asked about: the datagram that ends the wait is
    off the socket and held in the feed's books for its next drain; until that drain, the wait
    ends at once on the same feed (the epoll set can no longer see it)."""
    from fxpipe.feed.books import FeedBooks

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    books = FeedBooks(1)
    feeds = [(books, rx.fileno())]
    try:
        assert spin_wait_fd(-1, [], 1_000_000, feeds) == -2
        assert books.held_datagrams == 0
        tx.sendto(b"not a packet", rx.getsockname())
        assert spin_wait_fd(-1, [], 5_000_000_000, feeds) == rx.fileno()
        assert books.held_datagrams == 1
        with pytest.raises(BlockingIOError):
            rx.recv(64)
        assert spin_wait_fd(-1, [], 5_000_000_000, feeds) == rx.fileno()
        assert books.drain(rx.fileno(), 64) == (1, 0, [])      # applied (it did not decode)
        assert books.stats()["errors"] == 1 and books.held_datagrams == 0
        assert spin_wait_fd(-1, [], 1_000_000, feeds) == -2
    finally:
        tx.close()
        rx.close()


def test_feeds_must_be_feed_books():
    with pytest.raises(TypeError):
        spin_wait_fd(-1, [], 1_000, [(object(), 0)])


def test_the_order_path_is_warmed_at_its_period_while_the_wait_lasts():
    """warm is called with the GIL every warm_every_ns of the wait (first after one period), and
    not at all without a period; what ends the wait is unchanged."""
    calls = []
    assert spin_wait_fd(-1, [], 20_000_000, (), lambda: calls.append(1), 1_000_000) == -2
    assert 5 <= len(calls) <= 20
    calls.clear()
    assert spin_wait_fd(-1, [], 5_000_000, (), lambda: calls.append(1), 0) == -2
    assert spin_wait_fd(-1, [], 500_000, (), lambda: calls.append(1), 1_000_000) == -2
    assert calls == []
