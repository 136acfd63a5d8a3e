"""The tick-to-trade harness's market: EUR/USD quotes on the binary feed whose prices are unique
within a cycle, so an order's price names the quote it was made from, and the moment each
datagram is handed to the kernel.

Quote g has ask = BASE + (g mod CYCLE) * TICK and bid = ask - SPREAD (one level each side).
StampingPublisher is fxpipe's FeedPublisher noting `sent_ns` right before the sendto() of each
packet: the quote is on the feed socket from then (loopback UDP hands it to the receiver's
socket inside that call). It publishes while the desk comes up; the measured phases are sent by
QuoteStream, the C pacer (fxpipe.benchsupport.feed_pacer) on its own thread, on the same
channel, with the publisher's state kept in step with what went out.
"""
from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np

from fxpipe.benchsupport import feed_pacer
from fxpipe.feed.publisher import FeedPublisher, InstrumentDef
from fxpipe.feed.sbe import CHANNELS, PacketWriter

INSTRUMENT = 1                      # EUR/USD in config/refdata.toml
EURUSD = InstrumentDef(INSTRUMENT, "EUR/USD", 10_000, 1_000, 5, 2)
BASE = 105_000_000                  # 1.05000
TICK = 1_000                        # 0.00001, EUR/USD's tick
SPREAD = 2 * TICK
CYCLE = 32768                       # prices repeat every CYCLE quotes (1.05000 .. 1.37767)
SIZE_E2 = 5_000_000_00              # 5,000,000 on each side
PRICES = (BASE, TICK, SPREAD, CYCLE)
# SCHED_FIFO priorities, where permitted, of the harness's threads while a phase is sent: the
# pacer above the venue, so answering an order never delays a quote; the venue above the
# journal, so an order is read (and stamped by the kernel's receive time of the last segment
# of each read) when it arrives, not when the journal yields the core
PACER_PRIORITY, ACCEPTOR_PRIORITY = 2, 1


def realtime(priority: int) -> tuple[int, os.sched_param] | None:
    """The calling thread to SCHED_FIFO at priority where permitted; its old policy to restore
    (None when not granted)."""
    old = (os.sched_getscheduler(0), os.sched_getparam(0))
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError:
        return None
    return old


def schedule(rate: int, seconds: float, lead_ns: int = 5_000_000) -> np.ndarray:
    """Due times (CLOCK_REALTIME ns) of an open-loop phase: quote j at start + j/rate, the start
    lead_ns from now (the pacer's thread needs a moment to start)."""
    n = max(1, int(rate * seconds))
    return time.time_ns() + lead_ns + (np.arange(n, dtype=np.float64) * (1e9 / rate)).astype(np.int64)


def spin_for(due: np.ndarray) -> tuple[int, int]:
    """How long before each due time the pacer stops sleeping and spins, at least and at most:
    20 us or a tenth of the interval when that is shorter; at most 50 us or a fifth of the
    interval. Between the two the pacer follows how late its own wake-ups from clock_nanosleep
    are (~7 us at the median on a quiet host, ~20 us on others), so quotes go out on time while
    the pacer takes little of the core it shares with the journal."""
    if len(due) < 2:
        return 20_000, 50_000
    interval = (int(due[-1]) - int(due[0])) / (len(due) - 1)
    return int(min(20_000, interval / 10)), int(min(50_000, interval / 5))


def ask_of(g: int) -> int:
    return BASE + (g % CYCLE) * TICK


def price_index(side: np.ndarray, price_e8: np.ndarray) -> np.ndarray:
    """g mod CYCLE of the quote an order's price came from (buys at its ask, sells at its bid);
    -1 where the price is not one the harness sent."""
    ask = np.where(side == 1, price_e8, price_e8 + SPREAD)
    k, rem = np.divmod(ask - BASE, TICK)
    return np.where((rem == 0) & (k >= 0) & (k < CYCLE), k, -1)


def latest_with_index(g0: int, sent_ns: np.ndarray, recv_ns: np.ndarray, k: np.ndarray) -> np.ndarray:
    """For each order (its quote seen at recv_ns, price index k): the position in this phase's quotes
    (global numbers g0, g0+1, ...; sent at sent_ns, non-decreasing) of the latest quote with that
    price sent before the order arrived; -1 when there is none in this phase."""
    last = np.searchsorted(sent_ns, recv_ns, side="right") - 1
    j = last - ((g0 + last - k) % CYCLE)
    return np.where((k >= 0) & (last >= 0) & (j >= 0), j, -1)


class StampingPublisher(FeedPublisher):
    sent_ns = 0

    def _flush(self) -> None:
        self.sent_ns = time.time_ns()
        super()._flush()

    def quote(self, g: int) -> int:
        """Publishes quote g; returns when its datagram went to the socket (ns)."""
        ask = ask_of(g)
        now = time.time_ns()
        self.publish(((INSTRUMENT, now, ((ask - SPREAD, SIZE_E2),), ((ask, SIZE_E2),)),), now)
        return self.sent_ns


def make_publisher(listen_port: int) -> StampingPublisher:
    """Channel 1, sending to the desk's feed port; its snapshot server on a free port."""
    return StampingPublisher(1, [("127.0.0.1", listen_port)], 0, [EURUSD], stream_id=int(time.time()) & 0xFFFF,
                             heartbeat_ms=100.0)


def quote_template(stream_id: int, channel_id: int = 1) -> bytes:
    """A one-level BookRefresh packet of the channel and stream, which the pacer patches per
    quote (sequence number, stamps, RptSeq, prices)."""
    w = PacketWriter()
    w.start(0, 0, stream_id, channel_id, CHANNELS["incremental"])
    w.add_book(INSTRUMENT, 0, 0, [(0, SIZE_E2)], [(0, SIZE_E2)])
    return bytes(w.finish())


class QuoteStream:
    """Quotes g0, g0+1, ... of pub's channel sent by the C pacer on a thread of its own (a paced
    schedule, or a burst as fast as the kernel takes them), while the caller's thread answers
    orders. sync() keeps the publisher's state (sequence number, book) at the last quote sent, so
    its snapshot server answers a gap with the truth and its heartbeat stays quiet; call it
    before serving snapshot requests and once the stream is done."""

    def __init__(self, pub: StampingPublisher, g0: int):
        self.pub, self.g0 = pub, g0
        self.seq0 = pub.seq
        self.rpt0 = pub.books[INSTRUMENT][0] if INSTRUMENT in pub.books else 0
        self.template = quote_template(pub.stream_id, pub.channel_id)
        self.progress = np.zeros(1, dtype=np.int64)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect(pub.destinations[0])
        self.result: dict = {}
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._synced = 0

    def _run(self, fn, *args) -> None:
        def body() -> None:
            try:
                self.result = fn(self.sock.fileno(), self.template, self.seq0, self.rpt0, self.g0, PRICES, *args)
            except BaseException as exc:        # noqa: BLE001 - raised in the caller's thread by done()
                self._error = exc
        self._thread = threading.Thread(target=body, name="quote-pacer", daemon=True)
        self._thread.start()

    def paced(self, due: np.ndarray, sent: np.ndarray, priority: int = 1, spin: bool = True,
              follow_wake_ups: bool = True) -> None:
        """Quote j at due[j] (ns); sent[j] gets the stamp right before its send(). spin: False
        sleeps to each due time and never spins (a core shared with a trading stage).
        follow_wake_ups: the spin follows how late the pacer's wake-ups are (spin_for's range),
        else it is the least of that range."""
        least, most = spin_for(due) if spin else (0, 0)
        if not follow_wake_ups:
            most = least
        self._run(feed_pacer.pace, due, sent, self.progress, least, priority, most)

    def burst(self, seconds: float) -> None:
        self._run(feed_pacer.burst, int(seconds * 1e9), self.progress)

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def sync(self, now_ns: int) -> None:
        k = int(self.progress[0])
        pub = self.pub
        pub.last_send_ns = now_ns            # quotes are flowing: no heartbeat in between
        if k == self._synced:
            return
        pub.packets_sent += k - self._synced
        self._synced = k
        pub.seq = self.seq0 + k
        ask = ask_of(self.g0 + k - 1)
        pub.books[INSTRUMENT] = (self.rpt0 + k, now_ns, [(ask - SPREAD, SIZE_E2)], [(ask, SIZE_E2)])

    def done(self) -> dict:
        """Waits for the stream's end; its result (pace(): fifo, lost; burst(): sent, lost, t0, t1)."""
        if self._thread is not None:
            self._thread.join()
        self.sync(time.time_ns())
        self.sock.close()
        if self._error is not None:
            raise self._error
        return self.result
