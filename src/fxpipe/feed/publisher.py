"""Publishes a venue's ladders on the binary feed: UDP datagrams on loopback, one sequence
number per packet, heartbeats when idle, and a snapshot server for gap recovery.

Incremental packets go to every configured destination. The snapshot server listens on its own
UDP port: a SnapshotRequest there is answered, to the address it came from, with the
instrument definitions, one Snapshot per instrument that has a book (all reflecting the last
incremental packet sent) and a SnapshotComplete naming that packet's sequence number. It is
driven from the owner's event loop: publish(), heartbeat() and on_readable() never block.
"""
from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fxpipe.feed.sbe import (
    CHANNELS,
    FeedDecodeError,
    PacketWriter,
    decode_packet,
)

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class InstrumentDef:
    instrument_id: int
    symbol: str
    pip_e8: int
    tick_e8: int
    price_decimals: int
    settle_days: int


class FeedPublisher:
    """One channel. `drop` (seq -> bool) loses chosen incremental packets on purpose: the
    sequence number is used but nothing is sent, as when a switch drops a datagram."""

    def __init__(self, channel_id: int, destinations: Iterable[tuple[str, int]], snapshot_port: int,
                 instruments: Iterable[InstrumentDef], stream_id: int, heartbeat_ms: float = 500.0,
                 drop: Callable[[int], bool] | None = None):
        self.channel_id = channel_id
        self.destinations = [check_loopback(h, p) for h, p in destinations]
        self.instruments = {d.instrument_id: d for d in instruments}
        self.stream_id = stream_id & 0xFFFFFFFF
        self.heartbeat_ns = int(heartbeat_ms * 1_000_000)
        self.drop = drop
        self._lose = 0  # packets still to lose (the feed_loss fault)
        self.seq = 0  # last incremental sequence number used
        self.snapshot_seq = 0
        self.last_send_ns = 0
        self.books: dict[int, tuple[int, int, list, list]] = {}  # iid -> (rpt_seq, ts, bids, asks)
        self.packets_sent = 0
        self.refreshes = 0  # BookRefresh messages built (sent or lost)
        self.packets_dropped = 0
        self.snapshots_served = 0
        self.bad_requests = 0
        self._w = PacketWriter()
        self._open = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.snap_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.snap_sock.setblocking(False)
        try:
            self.snap_sock.bind((LOOPBACK, snapshot_port))
        except OSError as exc:
            self.close()
            raise OSError(exc.errno, f"feed channel {channel_id}: cannot listen for snapshot requests on "
                          f"{LOOPBACK}:{snapshot_port}: {exc.strerror}") from None
        self.snapshot_port = self.snap_sock.getsockname()[1]

    # -- incrementals -----------------------------------------------------------------------------
    def _start(self, now_ns: int) -> None:
        self.seq += 1
        self._w.start(self.seq, now_ns, self.stream_id, self.channel_id, CHANNELS["incremental"])
        self._open = True

    def _flush(self) -> None:
        if not self._open:
            return
        data = self._w.finish()
        self._open = False
        if self._lose or (self.drop is not None and self.drop(self.seq)):
            self._lose = max(0, self._lose - 1)
            self.packets_dropped += 1
            return
        for dest in self.destinations:
            try:
                self.sock.sendto(data, dest)
            except OSError as exc:
                # a full socket buffer loses the datagram like a congested link would; the
                # receiver sees the gap and recovers from a snapshot
                if exc.errno not in (errno.EAGAIN, errno.ECONNREFUSED, errno.ENOBUFS):
                    raise
        self.packets_sent += 1

    def publish(self, updates: Iterable[tuple[int, int, list, list]], now_ns: int) -> None:
        """Sends (instrument_id, transact_ns, bids, asks) ladders, as many per packet as fit."""
        for iid, ts, bids, asks in updates:
            prev = self.books.get(iid)
            rpt = prev[0] + 1 if prev else 1
            bids = [tuple(lv) for lv in bids]
            asks = [tuple(lv) for lv in asks]
            self.books[iid] = (rpt, ts, bids, asks)
            self.refreshes += 1
            if not self._open:
                self._start(now_ns)
            if not self._w.add_book(iid, rpt, ts, bids, asks):
                self._flush()
                self._start(now_ns)
                self._w.add_book(iid, rpt, ts, bids, asks)
        self._flush()
        self.last_send_ns = now_ns

    def lose_next(self, count: int) -> None:
        """Loses the next `count` incremental packets on purpose (their numbers are used)."""
        self._lose += count

    def heartbeat(self, now_ns: int) -> bool:
        """Sends a heartbeat packet when nothing went out for the heartbeat interval."""
        if now_ns - self.last_send_ns < self.heartbeat_ns:
            return False
        self._start(now_ns)
        self._w.add_heartbeat()
        self._flush()
        self.last_send_ns = now_ns
        return True

    # -- snapshot server ----------------------------------------------------------------------------
    def fileno(self) -> int:
        return self.snap_sock.fileno()

    def on_readable(self, now_ns: int) -> int:
        """Answers every pending SnapshotRequest; returns how many were served."""
        served = 0
        while True:
            try:
                data, addr = self.snap_sock.recvfrom(2048)
            except BlockingIOError:
                return served
            except ConnectionRefusedError:
                continue  # an ICMP error from an earlier reply to a receiver that went away
            try:
                pkt = decode_packet(data)
            except FeedDecodeError:
                self.bad_requests += 1
                continue
            for msg in pkt["messages"]:
                if msg["template"] == "snapshot_request":
                    self.serve_snapshot(msg["request_id"], msg["instrument_id"], addr, now_ns)
                    served += 1

    def serve_snapshot(self, request_id: int, instrument_id: int, addr: tuple[str, int], now_ns: int) -> None:
        w = self._w
        ids = sorted(self.instruments) if instrument_id == 0 else [instrument_id]
        ids = [i for i in ids if i in self.instruments]
        with_book = [i for i in ids if i in self.books]
        packets: list[bytes] = []

        def start():
            self.snapshot_seq += 1
            w.start(self.snapshot_seq, now_ns, self.stream_id, self.channel_id, CHANNELS["snapshot"])

        def add(fn, *args):
            if not fn(*args):
                packets.append(w.finish())
                start()
                fn(*args)

        start()
        for i in ids:
            d = self.instruments[i]
            add(w.add_instrument, i, d.symbol, d.pip_e8, d.tick_e8, d.price_decimals, d.settle_days, request_id)
        for i in with_book:
            rpt, ts, bids, asks = self.books[i]
            add(w.add_snapshot, i, rpt, ts, self.seq, request_id, len(with_book), bids, asks)
        add(w.add_snapshot_complete, request_id, len(with_book), self.seq)
        packets.append(w.finish())
        for data in packets:
            try:
                self.snap_sock.sendto(data, addr)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.ECONNREFUSED, errno.ENOBUFS):
                    raise
        self.snapshots_served += 1

    def stats(self) -> dict:
        return {"seq": self.seq, "packets_sent": self.packets_sent, "packets_dropped": self.packets_dropped,
                "refreshes": self.refreshes,
                "snapshots_served": self.snapshots_served, "bad_requests": self.bad_requests}

    def close(self) -> None:
        for s in (self.sock, self.snap_sock):
            s.close()


def check_loopback(host: str, port: int) -> tuple[str, int]:
    """The simulator talks on loopback only: anything else is refused here, not discovered on
    the network later."""
    if host not in (LOOPBACK, "localhost"):
        raise ValueError(f"feed address {host}:{port}: the venue simulator only sends to {LOOPBACK}")
    if not 0 < port < 65536:
        raise ValueError(f"feed address {host}:{port}: port must be 1..65535")
    return (LOOPBACK, port)
