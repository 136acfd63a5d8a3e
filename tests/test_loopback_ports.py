"""Ports for a venue's configuration or a desk's feed channel are chosen below the kernel's
ephemeral range: one from bind(0) can be handed to any connect() before its owner binds it
(a desk's trader then dies on start with `Address already in use`)."""
import socket

import fxpipe.loopback as lb


def test_a_port_is_below_the_ephemeral_range_and_binds_for_tcp_and_udp():
    low, _ = lb.ephemeral_range()
    for _ in range(20):
        port = lb.unused_port()
        assert lb.LOWEST <= port < low
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", port))


def test_a_taken_port_is_never_handed_out(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        other = lb.unused_port(socket.SOCK_DGRAM)
        monkeypatch.setattr(lb, "_candidates", lambda below: iter([busy, busy, other]))
        assert lb.unused_port(socket.SOCK_DGRAM) == other


def test_where_no_room_is_left_below_the_range_the_kernel_chooses(monkeypatch):
    monkeypatch.setattr(lb, "ephemeral_range", lambda: (lb.LOWEST + 10, 60_999))
    port = lb.unused_port(socket.SOCK_STREAM)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
