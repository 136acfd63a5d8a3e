"""A FIX connection's write (fxpipe.fix.session.linkwriter, in C): the bytes go to the kernel at
once; what it does not take is queued in order and the engine asked to watch the socket; a
socket that fails tells the engine the connection is lost; nothing is sent once closing."""
from __future__ import annotations

import socket

import pytest

from fxpipe.fix.session.connection import Connection


class Engine:
    def __init__(self):
        self.watched: list[Connection] = []
        self.lost_reasons: list[str] = []

    def watch(self, conn):
        self.watched.append(conn)

    def lost(self, conn, reason):
        self.lost_reasons.append(reason)

    def close_now(self, conn):
        conn.open = False


@pytest.fixture
def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.setblocking(False)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    yield a, b
    a.close()
    b.close()


def read_all(sock) -> bytes:
    sock.setblocking(False)
    out = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def test_a_write_goes_to_the_socket_at_once(pair):
    a, b = pair
    engine = Engine()
    conn = Connection(engine, a, None)
    conn.write(b"8=FIX.4.2\x01hello")
    conn.write(bytearray(b" and more"))
    assert read_all(b) == b"8=FIX.4.2\x01hello and more"
    assert conn.backlog() == 0 and engine.watched == [] and engine.lost_reasons == []


def test_what_the_kernel_does_not_take_is_queued_in_order_and_watched_for(pair):
    a, b = pair
    engine = Engine()
    conn = Connection(engine, a, None)
    big = bytes(range(256)) * 4096                      # 1 MiB: far more than the buffers hold
    conn.write(big)
    assert 0 < conn.backlog() < len(big) and engine.watched == [conn]
    conn.write(b"tail")                                  # never overtakes what waits
    assert conn.backlog() > 0 and bytes(conn.wbuf).endswith(b"tail")
    got = bytearray(read_all(b))
    while conn.backlog():
        conn.flush()
        got += read_all(b)
    got += read_all(b)
    assert bytes(got) == big + b"tail"


def test_a_failed_socket_tells_the_engine_the_connection_is_lost(pair):
    a, b = pair
    engine = Engine()
    conn = Connection(engine, a, None)
    b.close()
    conn.write(b"8=FIX.4.2\x01")
    assert len(engine.lost_reasons) == 1 and engine.lost_reasons[0].startswith("send failed: ")
    assert "pipe" in engine.lost_reasons[0].lower() or "reset" in engine.lost_reasons[0].lower()


def test_nothing_is_sent_once_closing_or_closed(pair):
    a, b = pair
    engine = Engine()
    conn = Connection(engine, a, None)
    conn.closing_since = 1.0
    conn.write(b"late")
    conn.closing_since = None
    conn.open = False
    conn.write(b"later")
    assert read_all(b) == b"" and conn.backlog() == 0
