"""A market maker: one bid and one offer around the composite mid, the spread fixed in e8,
both quotes shifted against inventory (long: lower both, to sell more and buy less), and
requoted only when the wanted price moves by at least `requote_e8` (every replace costs a
message to the venue and a place in its queue). Prices go on the venue's tick (`tick_e8`, EUR/USD's
0.00001 by default): the bid rounded down, the offer up, so rounding never narrows the spread. No quote on a side whose size would carry the
position past `max_position_e2`."""
from __future__ import annotations

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
        self._quote(ev.Side.BUY, bid_px, pos + self.size_e2 <= self.max_position_e2)
        self._quote(ev.Side.SELL, ask_px, pos - self.size_e2 >= -self.max_position_e2)

    def _quote(self, side: int, px: int, allowed: bool) -> None:
        """One resting order a side. While a request on that side waits for its answer, nothing
        more is asked (stacked replaces race each other at the venue); an order the strategy does
        not mean to have (a second one on a side) is cancelled."""
        mine = [o for o in self.ctx.open_orders(self.instrument_id) if o.side == side]
        if any(o.status in _PENDING for o in mine):
            return
        live = max(mine, key=lambda o: o.cl_ord_id) if mine else None
        for o in mine:
            if o is not live:
                self.ctx.cancel(o.cl_ord_id)
        if live is None:
            if allowed:
                self.ctx.submit(self.instrument_id, side, self.size_e2, px)
        elif not allowed:
            self.ctx.cancel(live.cl_ord_id)
        elif abs(live.price_e8 - px) >= self.requote_e8:
            self.ctx.replace(live.cl_ord_id, price_e8=px)


_PENDING = {int(ev.OrdStatus.PENDING_NEW), int(ev.OrdStatus.PENDING_REPLACE), int(ev.OrdStatus.PENDING_CANCEL)}
