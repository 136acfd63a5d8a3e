"""An independent model of books and currency flows in fractions.Fraction, for the property
tests: plain Python over a list of trades, nothing shared with the Cython engine.

Amounts are Fractions of whole units (1.0850 is Fraction(217, 200)). Busts and corrections
are applied the way the desk defines them: the book is what it would be had the busted fill
never happened, or had the corrected fill been done at its corrected quantity and price, in
the original's place in trade order. Average cost rounds the one place the engine documents
(the share of cost a reduction takes, half to even at 1e-10 of the quote currency), and can
also run fully exact to bound that rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

E10 = Fraction(1, 10**10)


def round_e10(x: Fraction) -> Fraction:
    """x rounded half to even to a multiple of 1e-10 (Fraction.__round__ is half-even)."""
    return Fraction(round(x / E10)) * E10


@dataclass
class Trade:
    key: str                 # ExecID (venue 1)
    strategy: int
    symbol: str
    qty: Fraction            # signed: buy > 0
    px: Fraction
    commission: Fraction = Fraction(0)
    commission_ccy: str = ""
    value_date: int = 0
    live: bool = True


@dataclass
class RefBook:
    net: Fraction = Fraction(0)
    cost: Fraction = Fraction(0)
    realized: Fraction = Fraction(0)
    turnover: Fraction = Fraction(0)
    fills: int = 0
    lots: list[list[Fraction]] = field(default_factory=list)


def run_book(trades: list[Trade], fifo: bool, exact: bool = False) -> RefBook:
    b = RefBook()
    for t in trades:
        if not t.live:
            continue
        b.fills += 1
        b.turnover += abs(t.qty) * t.px
        q = t.qty
        if b.net == 0 or (b.net > 0) == (q > 0):
            b.cost += q * t.px
            b.net += q
            if fifo:
                b.lots.append([q, t.px])
            continue
        if not fifo:
            closing = b.net if abs(q) >= abs(b.net) else -q
            if closing == b.net:
                removed = b.cost
            else:
                removed = b.cost * closing / b.net
                removed = removed if exact else round_e10(removed)
            b.realized += closing * t.px - removed
            b.cost -= removed
            b.net -= closing
            q += closing
        else:
            while q != 0 and b.lots:
                lot = b.lots[0]
                take = lot[0] if abs(q) >= abs(lot[0]) else -q
                b.realized += take * (t.px - lot[1])
                b.cost -= take * lot[1]
                lot[0] -= take
                b.net -= take
                q += take
                if lot[0] == 0:
                    b.lots.pop(0)
        if q != 0:
            b.cost += q * t.px
            b.net += q
            if fifo:
                b.lots.append([q, t.px])
    return b


class Reference:
    """Trades in order; busts and corrections edit the list, every query recomputes."""

    def __init__(self, pairs: dict[str, tuple[str, str]]):
        self.pairs = pairs               # symbol -> (base, quote)
        self.trades: list[Trade] = []
        self.by_key: dict[str, Trade] = {}

    def fill(self, t: Trade) -> None:
        self.trades.append(t)
        self.by_key[t.key] = t

    def bust(self, key: str) -> None:
        self.by_key[key].live = False

    def correct(self, key: str, new: Trade) -> None:
        old = self.by_key[key]
        old.live = False
        self.trades.insert(self.trades.index(old) + 1, new)
        self.by_key[new.key] = new

    def book(self, strategy: int, symbol: str, fifo: bool, exact: bool = False) -> RefBook:
        return run_book([t for t in self.trades if t.strategy == strategy and t.symbol == symbol], fifo, exact)

    def flows(self, strategy: int | None = None) -> dict[tuple[str, int], Fraction]:
        """(currency, value date) -> the sum of every live fill's cash flow."""
        out: dict[tuple[str, int], Fraction] = {}
        for t in self.trades:
            if not t.live or (strategy is not None and t.strategy != strategy):
                continue
            base, quote = self.pairs[t.symbol]
            out[(base, t.value_date)] = out.get((base, t.value_date), Fraction(0)) + t.qty
            out[(quote, t.value_date)] = out.get((quote, t.value_date), Fraction(0)) - t.qty * t.px
        return {k: v for k, v in sorted(out.items()) if v != 0}

    def commissions(self, strategy: int | None = None) -> dict[str, Fraction]:
        out: dict[str, Fraction] = {}
        for t in self.trades:
            if t.live and t.commission and (strategy is None or t.strategy == strategy):
                out[t.commission_ccy] = out.get(t.commission_ccy, Fraction(0)) + t.commission
        return {k: v for k, v in sorted(out.items()) if v != 0}
