"""One pair's book at one venue: the venue's own liquidity ladder and the clients' resting orders.

The ladder is what the venue's (simulated) participants show: a few price levels per side,
each with a quantity, rebuilt from the market on every price update. Taking liquidity lowers a
level's quantity, and the level stays short until it refills: by `refill_ns` an emptied level
is whole again (it refills linearly in between); with refill_ns = 0 it is whole again at the
next rebuild. The shortfall belongs to the level's position (best, second best, ...), so a
price update moves the levels but not what was taken from them. Client orders never trade with
each other: the ladder is the other side of every trade, as with a liquidity provider or an ECN
whose other participants are simulated. A client's limit order that does not cross rests here,
by price then time, and fills at its own limit when a later ladder crosses it.

Everything is an integer: prices `*_e8`, quantities `*_e2`. An order dealt in the pair's terms
currency (USD for EUR/USD) counts its quantity in that currency: a level of base quantity Q at
price P can deal Q x P of it, and dealing D takes D / P of the level (half to even, on the
cent). A fill is (order, qty_e2, px_e8), in the order's own currency. Orders are any object with
`side` ("1" buy, "2" sell), `price_e8`, `leaves_qty_e2`, `seq` and optionally `terms`.
"""
from __future__ import annotations

import bisect

from fxpipe.model.numbers import divide

BUY = "1"
SELL = "2"
E8 = 100_000_000


class PairBook:
    __slots__ = ("pair_index", "bids", "asks", "_buys", "_buy_keys", "_sells", "_sell_keys", "refill_ns",
                 "_bid_taken", "_ask_taken", "_refilled_ns")

    def __init__(self, pair_index: int, refill_ns: int = 0):
        self.pair_index = pair_index
        # [[px_e8, qty_e2], ...], best first; a level taken to zero stays until it refills
        self.bids: list[list[int]] = []
        self.asks: list[list[int]] = []
        self._buys: list = []  # resting client buys, best (highest) first
        self._buy_keys: list[tuple[int, int]] = []
        self._sells: list = []
        self._sell_keys: list[tuple[int, int]] = []
        self.refill_ns = refill_ns
        # base quantity taken from each level position and not refilled yet
        self._bid_taken: list[int] = []
        self._ask_taken: list[int] = []
        self._refilled_ns = 0

    # -- the ladder ----------------------------------------------------------------------
    def set_ladder(self, bids: list[list[int]], asks: list[list[int]], now: int = 0) -> list[tuple]:
        """Replaces the venue's levels (full sizes, as the market quotes them; the lists become
        the book's) and takes off what clients took and has not refilled by `now`; returns the
        fills of resting orders the new ladder crosses (each at the resting order's limit)."""
        if self.refill_ns <= 0:
            if self._bid_taken or self._ask_taken:  # whole again at every update
                self._bid_taken, self._ask_taken = [], []
        else:
            elapsed = max(0, now - self._refilled_ns)
            self._refilled_ns = now
            self._bid_taken = _refilled(self._bid_taken, bids, elapsed, self.refill_ns)
            self._ask_taken = _refilled(self._ask_taken, asks, elapsed, self.refill_ns)
            _short(bids, self._bid_taken)
            _short(asks, self._ask_taken)
        self.bids = bids
        self.asks = asks
        fills: list[tuple] = []
        if self._buys and asks and self._buys[0].price_e8 >= asks[0][0]:
            fills += self._fill_resting(self._buys, self._buy_keys, asks, self._ask_taken, BUY)
        if self._sells and bids and self._sells[0].price_e8 <= bids[0][0]:
            fills += self._fill_resting(self._sells, self._sell_keys, bids, self._bid_taken, SELL)
        return fills

    @property
    def depleted(self) -> bool:
        """Some level is short of what the market quotes (it will refill)."""
        return any(self._bid_taken) or any(self._ask_taken)

    def shown(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The levels a subscriber sees: what is left on each, empty levels left out."""
        return ([(p, q) for p, q in self.bids if q], [(p, q) for p, q in self.asks if q])

    def _fill_resting(self, orders: list, keys: list, levels: list[list[int]], taken: list[int],
                      side: str) -> list[tuple]:
        fills = []
        while orders:
            o = orders[0]
            got = self._take(levels, taken, side, o.leaves_qty_e2, o.price_e8, getattr(o, "terms", False))
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

    def _take(self, levels: list[list[int]], taken: list[int], side: str, qty: int, limit: int | None,
              terms: bool) -> list[tuple[int, int]]:
        got = []
        for k, lvl in enumerate(levels):
            if qty == 0 or not self._crosses(side, lvl[0], limit):
                break
            dealt, base = _deal(lvl, qty, terms)
            if dealt:
                lvl[1] -= base
                if k >= len(taken):
                    taken.extend([0] * (k + 1 - len(taken)))
                taken[k] += base
                qty -= dealt
                got.append((lvl[0], dealt))
        return got

    def available(self, side: str, limit: int | None, terms: bool = False) -> int:
        """Quantity an order of `side` could take now at `limit` (None: market), in the order's
        currency."""
        levels = self.asks if side == BUY else self.bids
        return sum(_capacity(px, q, terms) for px, q in levels if self._crosses(side, px, limit))

    def take(self, side: str, qty: int, limit: int | None, terms: bool = False) -> list[tuple[int, int]]:
        """Consumes up to `qty` from the opposite ladder at prices within `limit`, best level
        first; returns [(px_e8, qty_e2)] per level touched, qty in the order's currency."""
        if side == BUY:
            return self._take(self.asks, self._ask_taken, side, qty, limit, terms)
        return self._take(self.bids, self._bid_taken, side, qty, limit, terms)

    def best(self, side: str) -> int | None:
        """Best price an order of `side` would trade at now (the best ask for a buy)."""
        levels = self.asks if side == BUY else self.bids
        for px, q in levels:
            if q:
                return px
        return None

    def price_for(self, side: str, qty: int, terms: bool = False) -> int | None:
        """The worst level price an order of `side` for `qty` would reach now (None: the
        ladder cannot fill it)."""
        levels = self.asks if side == BUY else self.bids
        left = qty
        for px, q in levels:
            left -= _capacity(px, q, terms)
            if left <= 0:
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


def _capacity(px: int, base_qty: int, terms: bool) -> int:
    return base_qty * px // E8 if terms else base_qty


def _deal(level: list[int], qty: int, terms: bool) -> tuple[int, int]:
    """(quantity dealt in the order's currency, base quantity it takes from the level)."""
    px, base_qty = level
    if not terms:
        q = base_qty if base_qty < qty else qty
        return q, q
    dealt = min(qty, base_qty * px // E8)
    return dealt, min(base_qty, divide(dealt * E8, px))


def _short(levels: list[list[int]], taken: list[int]) -> None:
    for k, t in enumerate(taken[:len(levels)]):
        if t:
            levels[k][1] = max(0, levels[k][1] - t)


def _refilled(taken: list[int], levels: list[list[int]], elapsed_ns: int, refill_ns: int) -> list[int]:
    """What stays taken after elapsed_ns: each level regains its full size per refill_ns."""
    if not any(taken):
        return []
    return [max(0, t - levels[k][1] * elapsed_ns // refill_ns) if t else 0
            for k, t in enumerate(taken[:len(levels)])]


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
