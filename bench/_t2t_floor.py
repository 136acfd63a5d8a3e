"""The floor under tick to trade on this host: the same harness loop and the same loopback wire,
with no trading system behind them.

An echo process, pinned to the trader's core and spinning on a non-blocking socket as the fused
trader does, reads each quote datagram and, for every Nth, writes an order-sized message on a
TCP connection to the harness, which stamps each order with the kernel's receive time of its
bytes, as the FIX acceptor stamps an order's. Quotes go out open loop at the same rates,
stamped right before sendto(). What the desk adds to tick to trade is its figure minus this
one; no layout can go below it here.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import socket
import struct
import time

import numpy as np

from bench._t2t_venue import recv_stamped, stamp_arrivals

QUOTE_BYTES = 96            # about a one-instrument incremental packet of the binary feed
ORDER_BYTES = 224           # about a NewOrderSingle on the wire
_G = struct.Struct("<q")
_STOP = -1


def _echo(core: int, every: int, udp_port: mp.sharedctypes.Synchronized, tcp_port: int) -> None:
    os.sched_setaffinity(0, {core})
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    tx = socket.create_connection(("127.0.0.1", tcp_port))
    tx.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    udp_port.value = rx.getsockname()[1]
    buf = bytearray(2048)
    out = bytearray(ORDER_BYTES)
    seen = 0
    while True:
        try:
            rx.recv_into(buf)
        except BlockingIOError:
            continue
        g = _G.unpack_from(buf)[0]
        if g == _STOP:
            break
        seen += 1
        if seen % every == 0:
            out[:8] = buf[:8]
            tx.sendall(out)
    tx.close()
    rx.close()


class Floor:
    """The echo on `core` and the harness's two sockets; run() paces one phase."""

    def __init__(self, core: int, every: int):
        self.every = every
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        port = mp.Value("i", 0)
        self.proc = mp.get_context("fork").Process(target=_echo, args=(core, every, port, self.srv.getsockname()[1]),
                                                   daemon=True)
        self.proc.start()
        self.conn, _ = self.srv.accept()
        self.conn.setblocking(False)
        stamp_arrivals(self.conn)
        self.clock_stamps = 0        # reads stamped by this process's clock, not the kernel's
        deadline = time.monotonic() + 10
        while not port.value and time.monotonic() < deadline:
            time.sleep(0.001)
        self.dest = ("127.0.0.1", port.value)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.pkt = bytearray(QUOTE_BYTES)
        self.rbuf = bytearray()
        self.g = 0

    def _read(self, recv_at: dict[int, int]) -> None:
        try:
            data, now, by_kernel = recv_stamped(self.conn, 65536)
        except BlockingIOError:
            return
        self.clock_stamps += not by_kernel
        self.rbuf += data
        while len(self.rbuf) >= ORDER_BYTES:
            recv_at[_G.unpack_from(self.rbuf)[0]] = now
            del self.rbuf[:ORDER_BYTES]

    def run(self, rate: int, seconds: float, drain_s: float = 0.2) -> dict:
        """Quotes at `rate` for `seconds`; (sent, due, recv) ns of each echoed quote."""
        n = max(1, int(rate * seconds))
        step = 1e9 / rate
        t0 = time.time_ns() + 2_000_000
        due = [t0 + int(j * step) for j in range(n)]
        sent = [0] * n
        recv_at: dict[int, int] = {}
        g0 = self.g
        j = 0
        while j < n:
            now = time.time_ns()
            if now >= due[j]:
                _G.pack_into(self.pkt, 0, g0 + j)
                sent[j] = time.time_ns()
                self.tx.sendto(self.pkt, self.dest)
                j += 1
            self._read(recv_at)
            os.sched_yield()         # as the desk's harness: spinning, the core shared when asked
        end = time.monotonic() + drain_s
        while time.monotonic() < end:
            self._read(recv_at)
        self.g = g0 + n
        idx = np.array(sorted(g - g0 for g in recv_at if g0 <= g < g0 + n), dtype=np.int64)
        recv = np.array([recv_at[g0 + int(i)] for i in idx], dtype=np.int64)
        return {"rate": rate, "sent": np.asarray(sent, dtype=np.int64)[idx],
                "due": np.asarray(due, dtype=np.int64)[idx], "recv": recv, "expected": n // self.every}

    def close(self) -> None:
        _G.pack_into(self.pkt, 0, _STOP)
        self.tx.sendto(self.pkt, self.dest)
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
        for s in (self.conn, self.srv, self.tx):
            s.close()
