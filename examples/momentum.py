"""A momentum taker: when the composite mid has moved `threshold_e8` or more over the last
`lookback` quotes, it crosses the spread with an IOC in the direction of the move, as long as
the position stays within `max_position_e2`, and not more often than `cooldown_ns` in event
time."""
from __future__ import annotations

import struct
from collections import deque

import fxpipe.model.events as ev
from fxpipe.strategy import Quote, Strategy


class Momentum(Strategy):
    def __init__(self, instrument_id: int = 1, lookback: int = 20, threshold_e8: int = 5_000,
                 size_e2: int = 100_000_00, max_position_e2: int = 300_000_00, cooldown_ns: int = 50_000_000):
        self.instrument_id = instrument_id
        self.window = lookback + 1
        self.mids: deque[int] = deque(maxlen=self.window)
        self.threshold_e8 = threshold_e8
        self.size_e2 = size_e2
        self.max_position_e2 = max_position_e2
        self.cooldown_ns = cooldown_ns
        self.last_trade_ns = -(1 << 62)

    def on_quote(self, quote: Quote) -> None:
        if quote.instrument_id != self.instrument_id:
            return
        top = self.ctx.book(self.instrument_id)
        if not top.bid_qty_e2 or not top.ask_qty_e2 or top.crossed:
            return
        self.mids.append((top.bid_px_e8 + top.ask_px_e8) // 2)
        if len(self.mids) < self.window or self.ctx.now_ns - self.last_trade_ns < self.cooldown_ns:
            return
        move = self.mids[-1] - self.mids[0]
        pos = self.ctx.position(self.instrument_id)
        if move >= self.threshold_e8 and pos + self.size_e2 <= self.max_position_e2:
            self.ctx.submit(self.instrument_id, ev.Side.BUY, self.size_e2, top.ask_px_e8,
                            time_in_force=ev.TimeInForce.IOC)
        elif move <= -self.threshold_e8 and pos - self.size_e2 >= -self.max_position_e2:
            self.ctx.submit(self.instrument_id, ev.Side.SELL, self.size_e2, top.bid_px_e8,
                            time_in_force=ev.TimeInForce.IOC)
        else:
            return
        self.last_trade_ns = self.ctx.now_ns

    def state_bytes(self) -> bytes:
        return struct.pack(f"<q{len(self.mids)}q", self.last_trade_ns, *self.mids)
