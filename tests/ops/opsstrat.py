"""A strategy that counts what it is given and bids once per quote (tiny, inside every limit)."""
from __future__ import annotations

import fxpipe.model.events as ev


class Counter:
    def __init__(self, bid: bool = True):
        self.bid = bid
        self.quotes = self.timers = self.fills = self.updates = 0

    def on_start(self, ctx) -> None:
        self.ctx = ctx

    def on_quote(self, q) -> None:
        self.quotes += 1
        if self.bid and q.bid_px_e8:
            self.ctx.submit(q.instrument_id, ev.Side.BUY, 100_000, q.bid_px_e8)

    def on_fill(self, f) -> None:
        self.fills += 1

    def on_order_update(self, u) -> None:
        self.updates += 1

    def on_timer(self, now_ns: int) -> None:
        self.timers += 1
