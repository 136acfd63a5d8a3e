"""A market maker: one bid and one offer around the composite mid, the spread fixed in e8,
both quotes shifted against inventory (long: lower both, to sell more and buy less), and
requoted only when the wanted price moves by at least `requote_e8` (every replace costs a
message to the venue and a place in its queue). Prices go on the venue's tick (`tick_e8`, EUR/USD's
0.00001 by default): the bid rounded down, the offer up, so rounding never narrows the spread. No quote on a side whose size would carry the
position past `max_position_e2`."""
from __future__ import annotations

import struct

import fxpipe.model.events as ev
from fxpipe.strategy import Quote, Strategy


class MarketMaker(Strategy):
    def __init__(self, instrument_id: int = 1, half_spread_e8: int = 2_000, size_e2: int = 100_000_00,
                 skew_e8_per_unit: int = 1_000, max_position_e2: int = 500_000_00, requote_e8: int = 1_000,
                 tick_e8: int = 1_000):
        if tick_e8 <= 0:
            raise ValueError(f"tick_e8 must be > 0, got {tick_e8}")
        self.tick_e8 = tick_e8
        self.instrument_id = instrument_id
        self.half_spread_e8 = half_spread_e8
        self.size_e2 = size_e2
        self.skew_e8_per_unit = skew_e8_per_unit    # per `size_e2` of inventory
        self.max_position_e2 = max_position_e2
        self.requote_e8 = requote_e8
        self.bid: int | None = None                 # cl_ord_id of our resting bid
        self.ask: int | None = None

    def on_quote(self, quote: Quote) -> None:
        if quote.instrument_id != self.instrument_id:
            return
        top = self.ctx.book(self.instrument_id)
        if not top.bid_qty_e2 or not top.ask_qty_e2 or top.crossed:
            return
        mid = (top.bid_px_e8 + top.ask_px_e8) // 2
        pos = self.ctx.position(self.instrument_id)
        skew = pos * self.skew_e8_per_unit // self.size_e2
        tick = self.tick_e8
        bid_px = (mid - self.half_spread_e8 - skew) // tick * tick
        ask_px = -(-(mid + self.half_spread_e8 - skew) // tick) * tick
        self.bid = self._quote(self.bid, ev.Side.BUY, bid_px, pos + self.size_e2 <= self.max_position_e2)
        self.ask = self._quote(self.ask, ev.Side.SELL, ask_px, pos - self.size_e2 >= -self.max_position_e2)

    def _quote(self, cl: int | None, side: int, px: int, allowed: bool) -> int | None:
        order = self.ctx.order(cl) if cl is not None else None
        if order is None or order.done:
            return self.ctx.submit(self.instrument_id, side, self.size_e2, px) if allowed else None
        if not allowed:
            self.ctx.cancel(order.cl_ord_id)
            return None
        if abs(order.price_e8 - px) >= self.requote_e8:
            return self.ctx.replace(order.cl_ord_id, price_e8=px)
        return cl

    def state_bytes(self) -> bytes:
        return struct.pack("<qq", self.bid or 0, self.ask or 0)
