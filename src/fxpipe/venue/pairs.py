"""The currency pairs a simulated venue quotes: fxpipe's reference data (ids, pip and tick
sizes, decimals, spot lag: fxpipe.model.refdata) plus what only a simulator needs: a typical
spread, a starting mid, and for a cross the two legs it is built from.

Typical spreads are inter-bank ECN spreads at liquid hours, in ticks (EUR/USD 0.2 pip = 2
ticks of 0.00001). All prices are scaled integers `*_e8`. A symbol travels as `EUR/USD` or
`EURUSD` depending on the venue; SymbolFormat converts.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from fxpipe.model.refdata import RefData, load_refdata

E8 = 100_000_000


class SymbolFormat(enum.Enum):
    SLASH = "slash"  # EUR/USD
    CONCAT = "concat"  # EURUSD

    def render(self, pair: Pair) -> str:
        return pair.symbol if self is SymbolFormat.SLASH else pair.base + pair.quote


@dataclass(frozen=True, slots=True)
class SimParams:
    """A pair's simulation numbers. `legs` is set for a cross: (first, second, op) where the
    cross mid is first * second (op "mul") or first / second (op "div"). `vol_annual` is a
    major's typical annualised realised volatility (0.07 = 7%), the scale of its walk when
    the process is calibrated (prices.ProcessParams.volatility); a cross inherits its legs'."""

    spread_ticks: int
    start_mid_e8: int = 0
    legs: tuple[str, str, str] | None = None
    vol_annual: float = 0.0


# The majors walk on their own; the crosses follow their legs (see prices.py). Volatilities
# are round figures for one-year realised volatility of the majors in 2023-2024 as published
# in public FX volatility statistics (e.g. CME Group's CVOL indices for the currency futures):
# EUR/USD and USD/CHF about 7%, GBP/USD 8%, USD/JPY 10%, AUD/USD and NZD/USD 10-11%, USD/CAD 6%.
SIM: dict[str, SimParams] = {
    "EUR/USD": SimParams(2, 108_500_000, vol_annual=0.07),
    "GBP/USD": SimParams(5, 126_500_000, vol_annual=0.08),
    "USD/JPY": SimParams(3, 14_950_000_000, vol_annual=0.10),
    "USD/CHF": SimParams(5, 88_000_000, vol_annual=0.07),
    "AUD/USD": SimParams(3, 65_500_000, vol_annual=0.10),
    "USD/CAD": SimParams(5, 136_000_000, vol_annual=0.06),
    "NZD/USD": SimParams(6, 60_000_000, vol_annual=0.11),
    "EUR/JPY": SimParams(6, legs=("EUR/USD", "USD/JPY", "mul")),
    "EUR/GBP": SimParams(5, legs=("EUR/USD", "GBP/USD", "div")),
    "EUR/CHF": SimParams(8, legs=("EUR/USD", "USD/CHF", "mul")),
    "GBP/JPY": SimParams(12, legs=("GBP/USD", "USD/JPY", "mul")),
}


@dataclass(frozen=True, slots=True)
class Pair:
    instrument_id: int  # the reference-data id every fxpipe event and the binary feed carry
    base: str
    quote: str
    pip_e8: int
    tick_e8: int
    price_decimals: int
    settle_days: int
    spread_ticks: int
    start_mid_e8: int
    legs: tuple[str, str, str] | None = None
    vol_annual: float = 0.0

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"


class UnknownSymbol(ValueError):
    """A symbol the venue does not quote, or one written in another venue's format."""


def load(refdata: RefData | str | None = None, symbols: list[str] | None = None) -> tuple[Pair, ...]:
    """The pairs to quote: those named (in EUR/USD form; None: every reference-data instrument
    the simulator can model), each cross with its legs, ordered by instrument id."""
    ref = refdata if isinstance(refdata, RefData) else load_refdata(refdata)
    known = [s for s in ref.instruments if s in SIM]
    if symbols is None:
        wanted = set(known)
    else:
        wanted = set()
        for s in symbols:
            if s not in ref.instruments:
                raise UnknownSymbol(f"unknown pair {s!r}: {ref.source} lists {', '.join(ref.instruments)}")
            if s not in SIM:
                raise UnknownSymbol(f"pair {s!r} has no simulation parameters; the simulator models "
                                    f"{', '.join(SIM)}")
            wanted.add(s)
    for s in list(wanted):
        legs = SIM[s].legs
        if legs:
            missing = [leg for leg in legs[:2] if leg not in ref.instruments]
            if missing:
                raise UnknownSymbol(f"cross {s} needs its legs {missing} in {ref.source}")
            wanted.update(legs[:2])
    out = []
    for s in wanted:
        i, p = ref.instrument(s), SIM[s]
        out.append(Pair(i.id, i.base, i.quote, i.pip_size_e8, i.tick_size_e8, i.price_decimals, i.spot_days,
                        p.spread_ticks, p.start_mid_e8, p.legs, p.vol_annual))
    return tuple(sorted(out, key=lambda p: p.instrument_id))


def symbol_index(pairs: tuple[Pair, ...], fmt: SymbolFormat) -> dict[str, int]:
    """Wire symbol -> position in `pairs`, for one venue's format only: a venue that quotes
    `EURUSD` does not know `EUR/USD`, as real ones do not."""
    return {fmt.render(p): i for i, p in enumerate(pairs)}


def subset(pairs: tuple[Pair, ...], symbols: list[str] | None) -> tuple[Pair, ...]:
    """The pairs of `pairs` named (each cross with its legs), in the same order; None: all."""
    if symbols is None:
        return pairs
    have = {p.symbol: p for p in pairs}
    wanted = set()
    for s in symbols:
        if s not in have:
            raise UnknownSymbol(f"pair {s!r} is not in the market ({', '.join(have)})")
        wanted.add(s)
        legs = have[s].legs
        if legs:
            wanted.update(legs[:2])
    return tuple(p for p in pairs if p.symbol in wanted)
