"""The floor under tick to trade on this host: the same pacer, the same loopback wire and the same
arrival stamps, with no trading system behind them.

An echo in C (fxpipe.benchsupport.feed_pacer.echo), in its own process pinned to the trader's
core and spinning on a non-blocking socket as the fused trader does, reads each quote datagram
and, for every Nth, writes an order-sized message on a TCP connection to the harness, which
stamps each order with the kernel's receive time of its bytes, as the FIX acceptor stamps an
order's. Quotes are the feed's own packets, sent open loop at the same rates by the same C
pacer, stamped right before send(). What the desk adds to tick to trade is its figure minus this
one: the kernel's two loopback hops and the harness's own wake-up for the order, which no
layout can go below here.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import select
import socket
import struct
import threading
import time

import numpy as np

from bench._t2t_feed import (
    ACCEPTOR_PRIORITY,
    PACER_PRIORITY,
    PRICES,
    quote_template,
    realtime,
    schedule,
    spin_for,
)
from bench._t2t_venue import recv_stamped, stamp_arrivals
from fxpipe.benchsupport import feed_pacer

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
    try:
        feed_pacer.echo(rx.fileno(), tx.fileno(), every, ORDER_BYTES, _STOP)
    finally:
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
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.setblocking(False)
        self.tx.connect(("127.0.0.1", port.value))
        self.template = quote_template(stream_id=1)
        self.rbuf = bytearray()
        self.g = 1                   # the echo reads a quote's first 8 bytes, its sequence number

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
        due = schedule(rate, seconds)
        n = len(due)
        sent = np.zeros(n, dtype=np.int64)
        progress = np.zeros(1, dtype=np.int64)
        recv_at: dict[int, int] = {}
        g0 = self.g
        out: dict = {}

        least, most = spin_for(due)        # as the desk's phases: the spin follows the wake-ups

        def pace() -> None:
            try:
                out.update(feed_pacer.pace(self.tx.fileno(), self.template, g0 - 1, 0, g0, PRICES, due, sent,
                                           progress, least, PACER_PRIORITY, most))
            except BaseException as exc:    # noqa: BLE001 - raised below, in this thread
                out["error"] = exc

        pacer = threading.Thread(target=pace, name="floor-pacer", daemon=True)
        policy = realtime(ACCEPTOR_PRIORITY)
        try:
            pacer.start()
            end = None
            while end is None or time.monotonic() < end:
                if select.select([self.conn], [], [], 0.001)[0]:
                    self._read(recv_at)
                if end is None and not pacer.is_alive():
                    end = time.monotonic() + drain_s
        finally:
            pacer.join()
            if policy is not None:
                os.sched_setscheduler(0, *policy)
        if "error" in out:
            raise out["error"]
        self.g = g0 + n
        idx = np.array(sorted(g - g0 for g in recv_at if g0 <= g < g0 + n), dtype=np.int64)
        recv = np.array([recv_at[g0 + int(i)] for i in idx], dtype=np.int64)
        return {"rate": rate, "sent": sent[idx], "due": due[idx], "recv": recv, "expected": n // self.every}

    def close(self) -> None:
        self.tx.send(_G.pack(_STOP))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
        for s in (self.conn, self.srv, self.tx):
            s.close()
