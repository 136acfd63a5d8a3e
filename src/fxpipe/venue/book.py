"""One pair's book at one venue: the venue's own liquidity ladder and the clients' resting orders.

The ladder is what the venue's (simulated) participants show: a few price levels per side,
each with a quantity, rebuilt from the market on every price update; taking liquidity lowers a
level's quantity until the next rebuild. Client orders never trade with each other: the
ladder is the other side of every trade, as with a liquidity provider or an ECN whose other
participants are simulated. A client's limit order that does not cross rests here, by price
then time, and fills at its own limit when a later ladder crosses it.

Everything is an integer: prices `*_e8`, quantities `*_e2`. A fill is (order, qty_e2, px_e8).
Orders are any object with `side` ("1" buy, "2" sell), `price_e8`, `leaves_qty_e2` and `seq`.
"""
from __future__ import annotations

import bisect

BUY = "1"
SELL = "2"


class PairBook:
    __slots__ = ("pair_index", "bids", "asks", "_buys", "_buy_keys", "_sells", "_sell_keys")

    def __init__(self, pair_index: int):
        self.pair_index = pair_index
        # [[px_e8, qty_e2], ...], best first; a level taken to zero stays until the rebuild
        self.bids: list[list[int]] = []
        self.asks: list[list[int]] = []
        self._buys: list = []  # resting client buys, best (highest) first
        self._buy_keys: list[tuple[int, int]] = []
        self._sells: list = []
        self._sell_keys: list[tuple[int, int]] = []

    # -- the ladder ----------------------------------------------------------------------
    def set_ladder(self, bids: list[list[int]], asks: list[list[int]]) -> list[tuple]:
        """Replaces the venue's levels; returns the fills of resting orders the new ladder
        crosses (each at the resting order's limit)."""
        self.bids = bids
        self.asks = asks
        fills: list[tuple] = []
        if self._buys and asks and self._buys[0].price_e8 >= asks[0][0]:
            fills += self._fill_resting(self._buys, self._buy_keys, asks, BUY)
        if self._sells and bids and self._sells[0].price_e8 <= bids[0][0]:
            fills += self._fill_resting(self._sells, self._sell_keys, bids, SELL)
        return fills

    def _fill_resting(self, orders: list, keys: list, levels: list[list[int]], side: str) -> list[tuple]:
        fills = []
        while orders:
            o = orders[0]
            got = self._take(levels, side, o.leaves_qty_e2, o.price_e8)
            qty = sum(q for _, q in got)
            if qty == 0:
                break
            fills.append((o, qty, o.price_e8))
            if qty < o.leaves_qty_e2:
                break  # the ladder is exhausted at this limit; the order keeps its place
            del orders[0]
            del keys[0]
        return fills

    @staticmethod
    def _crosses(side: str, level_px: int, limit: int | None) -> bool:
        if limit is None:
            return True
        return level_px <= limit if side == BUY else level_px >= limit

    def _take(self, levels: list[list[int]], side: str, qty: int, limit: int | None) -> list[tuple[int, int]]:
        got = []
        for lvl in levels:
            if qty == 0 or not self._crosses(side, lvl[0], limit):
                break
            q = lvl[1] if lvl[1] < qty else qty
            if q:
                lvl[1] -= q
                qty -= q
                got.append((lvl[0], q))
        return got

    def available(self, side: str, limit: int | None) -> int:
        """Quantity an order of `side` could take now at `limit` (None: market)."""
        levels = self.asks if side == BUY else self.bids
        return sum(q for px, q in levels if self._crosses(side, px, limit))

    def take(self, side: str, qty: int, limit: int | None) -> list[tuple[int, int]]:
        """Consumes up to `qty` from the opposite ladder at prices within `limit`, best level
        first; returns [(px_e8, qty_e2)] per level touched."""
        return self._take(self.asks if side == BUY else self.bids, side, qty, limit)

    def best(self, side: str) -> int | None:
        """Best price an order of `side` would trade at now (the best ask for a buy)."""
        levels = self.asks if side == BUY else self.bids
        for px, q in levels:
            if q:
                return px
        return None

    # -- resting client orders -------------------------------------------------------------
    def rest(self, order) -> None:
        if order.side == BUY:
            key = (-order.price_e8, order.seq)
            k = bisect.bisect(self._buy_keys, key)
            self._buy_keys.insert(k, key)
            self._buys.insert(k, order)
        else:
            key = (order.price_e8, order.seq)
            k = bisect.bisect(self._sell_keys, key)
            self._sell_keys.insert(k, key)
            self._sells.insert(k, order)

    def remove(self, order) -> bool:
        orders, keys = (self._buys, self._buy_keys) if order.side == BUY else (self._sells, self._sell_keys)
        for k, o in enumerate(orders):
            if o is order:
                del orders[k]
                del keys[k]
                return True
        return False

    def resting(self) -> list:
        return self._buys + self._sells


def build_ladder(bid_e8: int, ask_e8: int, tick_e8: int, step_ticks: int, sizes_e2: tuple[int, ...],
                 top_bid_e2: int | None = None, top_ask_e2: int | None = None):
    """The venue's levels around a top of book: level k sits k*step_ticks ticks behind the
    top, with sizes_e2[k] on it (a recorded top size replaces level 0's). No quote (0) -> no
    levels on that side."""
    gap = step_ticks * tick_e8
    bids = [[bid_e8 - k * gap, q] for k, q in enumerate(sizes_e2)] if bid_e8 > 0 else []
    asks = [[ask_e8 + k * gap, q] for k, q in enumerate(sizes_e2)] if ask_e8 > 0 else []
    if bids and top_bid_e2:
        bids[0][1] = top_bid_e2
    if asks and top_ask_e2:
        asks[0][1] = top_ask_e2
    # deep bids of a low-priced pair must stay positive
    return [lv for lv in bids if lv[0] > 0], asks
