"""The tick-to-trade benchmark's strategy: an IOC on every `every`-th quote of one instrument,
at that quote's own price (buy at the ask, then sell at the bid, alternating, so the position
stays within one order of flat), at most `max_orders` in all (None: no limit). The harness makes
every quote's prices unique, so an order's price names the quote that caused it. The runtime's
live tests trade with it too."""
from __future__ import annotations

import fxpipe.model.events as ev
from fxpipe.strategy import Quote, Strategy

# enum members bound once: on Python 3.11 each `Side.BUY` goes through the enum metaclass's
# attribute hook (~80 ns), twice a submit
BUY, SELL, IOC = ev.Side.BUY, ev.Side.SELL, ev.TimeInForce.IOC


class EveryNthQuote(Strategy):
    def __init__(self, every: int = 10, instrument_id: int = 1, venue_id: int = 1, size_e2: int = 100_000_00,
                 max_orders: int | None = None):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.instrument_id, self.venue_id, self.size_e2 = every, instrument_id, venue_id, size_e2
        self.max_orders = max_orders
        self.seen = 0
        self.sent = 0

    def on_quote(self, q: Quote) -> None:
        if q.instrument_id != self.instrument_id or q.venue_id != self.venue_id:
            return
        self.seen += 1
        if self.seen % self.every or (self.max_orders is not None and self.sent >= self.max_orders):
            return
        buy = not self.sent & 1
        px = q.ask_px_e8 if buy else q.bid_px_e8
        if px <= 0:
            return
        self.ctx.submit(self.instrument_id, BUY if buy else SELL, self.size_e2, px,
                        time_in_force=IOC, venue_id=self.venue_id)
        self.sent += 1

    def state_bytes(self) -> bytes:
        return self.sent.to_bytes(8, "little") + self.seen.to_bytes(8, "little")


class CountQuotes(Strategy):
    """Counts the quotes it sees and does nothing else: the throughput rows' strategy, the same
    as the one NautilusTrader's backtest engine runs beside it (bench/_t2t_nautilus.py)."""

    def __init__(self) -> None:
        self.seen = 0

    def on_quote(self, q: Quote) -> None:
        self.seen += 1
