"""The tick-to-trade harness's market: EUR/USD quotes on the binary feed whose prices are unique
within a cycle, so an order's price names the quote it was made from, and the moment each
datagram is handed to the kernel.

Quote g has ask = BASE + (g mod CYCLE) * TICK and bid = ask - SPREAD (one level each side).
StampingPublisher is fxpipe's FeedPublisher noting `sent_ns` right before the sendto() of each
packet: the quote is on the feed socket from then (loopback UDP hands it to the receiver's
socket inside that call).
"""
from __future__ import annotations

import time

import numpy as np

from fxpipe.feed.publisher import FeedPublisher, InstrumentDef

INSTRUMENT = 1                      # EUR/USD in config/refdata.toml
EURUSD = InstrumentDef(INSTRUMENT, "EUR/USD", 10_000, 1_000, 5, 2)
BASE = 105_000_000                  # 1.05000
TICK = 1_000                        # 0.00001, EUR/USD's tick
SPREAD = 2 * TICK
CYCLE = 32768                       # prices repeat every CYCLE quotes (1.05000 .. 1.37767)
SIZE_E2 = 5_000_000_00              # 5,000,000 on each side


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
