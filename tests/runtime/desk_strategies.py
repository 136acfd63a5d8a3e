"""Strategies for the runtime's live tests: small, deterministic, bounded."""
from __future__ import annotations

import fxpipe.model.events as ev
from fxpipe.strategy import Quote, Strategy


class Taker(Strategy):
    """Every `every`-th quote of the instrument on `venue_id`, an IOC at the touch (buy at the
    ask, then sell at the bid, alternating), at most `max_orders` in all."""

    def __init__(self, every: int = 10, max_orders: int = 40, venue_id: int = 1, instrument_id: int = 1,
                 size_e2: int = 100_000_00):
        self.every, self.max_orders = every, max_orders
        self.venue_id, self.instrument_id, self.size_e2 = venue_id, instrument_id, size_e2
        self.seen = 0
        self.sent = 0

    def on_quote(self, q: Quote) -> None:
        if q.instrument_id != self.instrument_id or q.venue_id != 1:
            return
        self.seen += 1
        if self.seen % self.every or self.sent >= self.max_orders:
            return
        buy = self.sent % 2 == 0
        px = q.ask_px_e8 if buy else q.bid_px_e8
        if px <= 0:
            return
        self.ctx.submit(self.instrument_id, ev.Side.BUY if buy else ev.Side.SELL, self.size_e2, px,
                        time_in_force=ev.TimeInForce.IOC, venue_id=self.venue_id)
        self.sent += 1

    def state_bytes(self) -> bytes:
        return self.sent.to_bytes(8, "little") + self.seen.to_bytes(8, "little")
