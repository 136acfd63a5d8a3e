"""The tick-to-trade harness's venue: a FIX 4.2 acceptor (fxpipe's session Engine) that stamps
each NewOrderSingle as early as the harness can see it and fills it in full at once.

Where the stamp is taken: `recv_ns` is the kernel's receive time of the bytes on the
acceptor's socket (SO_TIMESTAMPNS, read with recvmsg): when the order arrived from the wire,
not when this Python process, which also publishes the quotes and shares its core with the
desk's journal, got round to reading it. For a read that carries several orders the kernel
gives the time of the last segment read, so an earlier order in it is stamped no earlier than
it arrived (never flattering the desk). Without a kernel time (not Linux) the stamp is taken
right after recvmsg() returns, and `clock_stamps` counts those reads. Every order in one read
gets that read's stamp. `deliver_ns` is read when the order reaches the application
(on_message); the difference is the acceptor's own delay and cost in handling an order,
reported on its own row; the codec's parse of the same frames is measured apart
(parse_cost_ns) so neither is charged to fxpipe's tick to trade.

The answer is one ExecutionReport, ExecType/OrdStatus FILLED, with what the ECN adapter reads
(OrderID, ExecID, ExecTransType, ExecType, OrdStatus, Symbol, Side, OrderQty, LastShares,
LastPx, LeavesQty, CumQty, AvgPx, TransactTime), so orders complete and positions move.
"""
from __future__ import annotations

import socket
import struct
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxpipe.fix.codec import FixParseError, format_utc_timestamp, frame_length, parse
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.session import Application
from fxpipe.fix.session.transport import Engine
from fxpipe.loopback import unused_port

SAMPLE_FRAMES = 256


def free_port() -> int:
    return unused_port(socket.SOCK_STREAM)


def free_udp_port() -> int:
    """The desk's feed port: below the ephemeral range, so the harness's own UDP sockets (the
    pacer's, the snapshot server's) cannot be given it before the desk binds it."""
    return unused_port(socket.SOCK_DGRAM)


# Linux's SO_TIMESTAMPNS (asm-generic value; the socket module does not name it): each read's
# ancillary data carries the receive time of its data, CLOCK_REALTIME as a struct timespec.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")
_ANC_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


def stamp_arrivals(sock: socket.socket) -> bool:
    """Ask the kernel to stamp what arrives on sock; False where it cannot."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def recv_stamped(sock: socket.socket, size: int = 1 << 16) -> tuple[bytes, int, bool]:
    """One read: (data, its receive time in ns, whether the kernel gave that time). Without a
    kernel time the stamp is this process's clock right after the read."""
    data, anc, _, _ = sock.recvmsg(size, _ANC_SPACE)
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
            secs, ns = _TIMESPEC.unpack_from(raw)
            return data, secs * 1_000_000_000 + ns, True
    return data, time.time_ns(), False


class StampingEngine(Engine):
    """The Engine, noting when each read's bytes arrived on the socket (and keeping a sample)."""

    recv_ns = 0

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.sample: list[bytes] = []
        self.clock_stamps = 0            # reads stamped by this process's clock, not the kernel's
        self._stamping: weakref.WeakSet = weakref.WeakSet()   # connections asked to stamp

    def _recv(self, conn) -> bytes:
        if conn not in self._stamping:
            stamp_arrivals(conn.sock)
            self._stamping.add(conn)
        data, self.recv_ns, by_kernel = recv_stamped(conn.sock)
        self.clock_stamps += not by_kernel
        return data

    def _feed(self, conn, session, data: bytes) -> None:
        if len(self.sample) < SAMPLE_FRAMES and b"\x0135=D\x01" in data:
            self.sample.append(data)
        super()._feed(conn, session, data)


@dataclass
class Orders:
    """One row per NewOrderSingle: stamps (ns, the wall clock the desk stamps with), ids, price."""
    recv_ns: list[int] = field(default_factory=list)
    deliver_ns: list[int] = field(default_factory=list)
    cl_ord_id: list[int] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    price_e8: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.recv_ns)

    def arrays(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)[start:stop], dtype=np.int64)
                for k in ("recv_ns", "deliver_ns", "cl_ord_id", "side", "price_e8")}


class FillingVenue(Application):
    def __init__(self, engine: StampingEngine):
        self.engine = engine
        self.orders = Orders()
        self.logged_on = False
        self.exec_id = 0
        self.other: dict[str, int] = {}

    def on_logon(self, session) -> None:
        self.logged_on = True

    def on_logout(self, session, reason) -> None:
        self.logged_on = False

    def on_message(self, session, msg) -> None:
        if msg.msg_type != "D":
            self.other[msg.msg_type] = self.other.get(msg.msg_type, 0) + 1
            return
        o = self.orders
        o.deliver_ns.append(time.time_ns())
        o.recv_ns.append(self.engine.recv_ns)
        cl = msg.get(11)
        o.cl_ord_id.append(int(cl))
        side = msg.get(54)
        o.side.append(int(side))
        px = msg.get(44)
        o.price_e8.append(int(msg.get_scaled(44, 8)))
        qty = msg.get(38)
        self.exec_id += 1
        session.send("8", [(37, f"T2T-{self.exec_id}"), (11, cl), (17, f"T2TE-{self.exec_id}"), (20, "0"),
                           (150, "2"), (39, "2"), (55, msg.get(55)), (54, side), (38, qty), (32, qty),
                           (31, px), (151, "0"), (14, qty), (6, px), (60, format_utc_timestamp(time.time_ns()))])


def make_venue(work: Path, sender: str = "ECN1", target: str = "FXPIPE") -> tuple[StampingEngine, FillingVenue, int]:
    """The acceptor, listening on a free loopback port (returned); spins (wait="spin")."""
    port = free_port()
    cfg = SessionConfig(name=f"{sender}-{target}", role="acceptor", sender_comp_id=sender, target_comp_id=target,
                        host="127.0.0.1", port=port, store_dir=str(work / "venue-store"),
                        log_dir=str(work / "venue-log"), heartbeat_s=30, fsync="never", reset_on_logon=True)
    engine = StampingEngine(wait="spin")
    app = FillingVenue(engine)
    engine.add_session(cfg, app)
    engine.start()
    return engine, app, port


def parse_cost_ns(frames: list[bytes], rounds: int = 20) -> np.ndarray:
    """The codec's parse (with validation) of sampled NewOrderSingle bytes, ns per message."""
    msgs: list[bytes] = []
    for data in frames:
        pos = data.find(b"8=FIX")          # a read may start or end inside a message
        while 0 <= pos < len(data):
            try:
                n = frame_length(data, pos)
            except FixParseError:
                break
            if n <= 0:
                break
            if b"\x0135=D\x01" in data[pos:pos + n]:
                msgs.append(bytes(data[pos:pos + n]))
            pos += n
    out = np.zeros(len(msgs) * rounds, dtype=np.int64)
    clock = time.perf_counter_ns
    k = 0
    for _ in range(rounds):
        for m in msgs:
            t0 = clock()
            parse(m)
            out[k] = clock() - t0
            k += 1
    return out[:k]
