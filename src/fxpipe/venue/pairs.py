"""The currency pairs a simulated venue quotes: pip and tick sizes, typical spreads, start
mids, settlement lag, and how a cross is built from its two legs.

Sizes are the market's: a pip is 0.0001 (0.01 for JPY quotes) and venues quote in tenths of a
pip, so the tick is a tenth of the pip. Typical spreads are inter-bank ECN spreads at liquid
hours, in ticks (EUR/USD 0.2 pip = 2 ticks). All prices are scaled integers `*_e8`.
A symbol travels as `EUR/USD` or `EURUSD` depending on the venue; `SymbolFormat` converts.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

E8 = 100_000_000


class SymbolFormat(enum.Enum):
    SLASH = "slash"  # EUR/USD
    CONCAT = "concat"  # EURUSD

    def render(self, pair: Pair) -> str:
        return pair.symbol if self is SymbolFormat.SLASH else pair.base + pair.quote


@dataclass(frozen=True, slots=True)
class Pair:
    """One currency pair. `legs` is set for a cross: (first, second, op) where the cross mid
    is first * second (op "mul") or first / second (op "div")."""

    instrument_id: int
    base: str
    quote: str
    pip_e8: int
    tick_e8: int
    spread_ticks: int
    start_mid_e8: int
    settle_days: int = 2
    legs: tuple[str, str, str] | None = None

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def price_decimals(self) -> int:
        """Decimals a quote carries: 5 for EUR/USD, 3 for USD/JPY."""
        d, t = 8, self.tick_e8
        while t % 10 == 0:
            t //= 10
            d -= 1
        return d


def _pair(iid, sym, pip_e8, spread_ticks, mid, settle=2, legs=None) -> Pair:
    base, quote = sym.split("/")
    return Pair(iid, base, quote, pip_e8, pip_e8 // 10, spread_ticks, mid, settle, legs)


# The majors walk on their own; the crosses follow their legs (see prices.py).
PAIRS: tuple[Pair, ...] = (
    _pair(1, "EUR/USD", 10_000, 2, 108_500_000),
    _pair(2, "GBP/USD", 10_000, 5, 126_500_000),
    _pair(3, "USD/JPY", 1_000_000, 3, 14_950_000_000),
    _pair(4, "USD/CHF", 10_000, 5, 88_000_000),
    _pair(5, "AUD/USD", 10_000, 3, 65_500_000),
    _pair(6, "USD/CAD", 10_000, 5, 136_000_000, settle=1),  # USD/CAD settles T+1
    _pair(7, "NZD/USD", 10_000, 6, 60_000_000),
    _pair(8, "EUR/JPY", 1_000_000, 6, 0, legs=("EUR/USD", "USD/JPY", "mul")),
    _pair(9, "EUR/GBP", 10_000, 5, 0, legs=("EUR/USD", "GBP/USD", "div")),
    _pair(10, "EUR/CHF", 10_000, 8, 0, legs=("EUR/USD", "USD/CHF", "mul")),
    _pair(11, "GBP/JPY", 1_000_000, 12, 0, legs=("GBP/USD", "USD/JPY", "mul")),
)

BY_SYMBOL: dict[str, Pair] = {p.symbol: p for p in PAIRS}


class UnknownSymbol(ValueError):
    """A symbol the venue does not quote, or one written in another venue's format."""


def select(symbols: list[str] | None) -> tuple[Pair, ...]:
    """The pairs named (in EUR/USD form), in table order, with every cross's legs included;
    None means all of them."""
    if symbols is None:
        return PAIRS
    wanted = set()
    for s in symbols:
        if s not in BY_SYMBOL:
            raise UnknownSymbol(f"unknown pair {s!r}: known pairs are {', '.join(BY_SYMBOL)}")
        wanted.add(s)
        legs = BY_SYMBOL[s].legs
        if legs:
            wanted.update(legs[:2])
    return tuple(p for p in PAIRS if p.symbol in wanted)


def symbol_index(pairs: tuple[Pair, ...], fmt: SymbolFormat) -> dict[str, int]:
    """Wire symbol -> position in `pairs`, for one venue's format only: a venue that quotes
    `EURUSD` does not know `EUR/USD`, as real ones do not."""
    return {fmt.render(p): i for i, p in enumerate(pairs)}

