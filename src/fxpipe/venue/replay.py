"""Replays recorded quotes from a CSV file as a venue's market, in place of the price process.

The file has a header row naming at least `time,symbol,bid,ask`, optionally `bid_size` and
`ask_size` (in units of the base currency). `time` is integer nanoseconds since the epoch or
ISO-8601 UTC (`2024-03-01T12:00:00.000123Z`); rows must not go back in time. Prices are exact
decimals (no more than 8 places) and parsed to `*_e8` integers without floats. The whole file
is checked when loaded: a bad row stops the load with its line number and what to fix.

It offers the same surface as PriceProcess (`pairs`, `bid_e8`, `ask_e8`, `advance()`), plus the
source time of each row (`ts_ns`, `next_ts_ns`) so the driver can pace it.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from fxpipe.model.numbers import parse_price, parse_qty
from fxpipe.venue.pairs import Pair


class ReplayError(ValueError):
    """The replay file cannot be used; the message names the file, line and fix."""


def parse_time_ns(text: str) -> int:
    s = text.strip()
    if s.isdigit():
        return int(s)
    if not s.endswith("Z"):
        raise ValueError(f"time {text!r}: give integer nanoseconds or ISO-8601 UTC ending in Z")
    main, _, frac = s[:-1].partition(".")
    if frac and (not frac.isdigit() or len(frac) > 9):
        raise ValueError(f"time {text!r}: at most 9 fractional digits")
    base = dt.datetime.fromisoformat(main).replace(tzinfo=dt.UTC)
    return int(base.timestamp()) * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


class ReplaySource:
    """Rows of a quote CSV, one `advance()` per row; `loop` restarts at the end with the
    timestamps shifted so time keeps going forward."""

    def __init__(self, path: str | Path, pairs: tuple[Pair, ...], loop: bool = False):
        self.path = Path(path)
        self.pairs = pairs
        self.loop = loop
        index = {p.symbol: i for i, p in enumerate(pairs)}
        index.update({p.base + p.quote: i for i, p in enumerate(pairs)})
        self.rows = self._load(index)
        if not self.rows:
            raise ReplayError(f"{self.path}: no quotes in the file; add rows after the header")
        self.bid_e8 = [0] * len(pairs)
        self.ask_e8 = [0] * len(pairs)
        self.bid_qty_e2: list[int | None] = [None] * len(pairs)
        self.ask_qty_e2: list[int | None] = [None] * len(pairs)
        self._next = 0
        self._offset_ns = 0
        self.ts_ns = self.rows[0][0]
        self.updates = 0

    def _load(self, index: dict[str, int]) -> list[tuple]:
        try:
            f = self.path.open(newline="")
        except OSError as exc:
            raise ReplayError(f"replay file {self.path}: {exc.strerror}") from None
        with f:
            reader = csv.DictReader(f)
            need = {"time", "symbol", "bid", "ask"}
            have = set(reader.fieldnames or ())
            if not need <= have:
                raise ReplayError(
                    f"{self.path}: header must name {', '.join(sorted(need))} "
                    f"(found {', '.join(reader.fieldnames or ['nothing'])})")
            rows, last = [], None
            for row in reader:
                line = reader.line_num
                try:
                    rows.append(self._row(row, index))
                except ValueError as exc:
                    raise ReplayError(f"{self.path}:{line}: {exc}") from None
                if last is not None and rows[-1][0] < last:
                    raise ReplayError(f"{self.path}:{line}: time goes back; sort the file by time")
                last = rows[-1][0]
        return rows

    def _row(self, row: dict, index: dict[str, int]) -> tuple:
        sym = (row["symbol"] or "").strip()
        if sym not in index:
            known = ", ".join(p.symbol for p in self.pairs)
            raise ValueError(f"symbol {sym!r} is not quoted by this venue ({known})")
        i = index[sym]
        tick = self.pairs[i].tick_e8
        bid = parse_price(row["bid"] or "")
        ask = parse_price(row["ask"] or "")
        if bid <= 0 or ask <= 0:
            raise ValueError(f"prices must be positive (bid {row['bid']}, ask {row['ask']})")
        if ask <= bid:
            raise ValueError(f"crossed or locked quote: ask {row['ask']} <= bid {row['bid']}")
        if bid % tick or ask % tick:
            raise ValueError(f"{sym} prices must be multiples of its tick {tick / 1e8:g}")
        sizes = []
        for col in ("bid_size", "ask_size"):
            raw = (row.get(col) or "").strip()
            q = parse_qty(raw) if raw else None
            if q is not None and q <= 0:
                raise ValueError(f"{col} must be positive, got {raw}")
            sizes.append(q)
        return (parse_time_ns(row["time"] or ""), i, bid, ask, sizes[0], sizes[1])

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self.rows) and not self.loop

    @property
    def next_ts_ns(self) -> int | None:
        """Source time of the row the next advance() plays; None at the end."""
        if self.exhausted:
            return None
        if self._next >= len(self.rows):
            return self.rows[0][0] + self._offset_ns + self._span()
        return self.rows[self._next][0] + self._offset_ns

    def _span(self) -> int:
        # one average row gap after the last row, so a loop does not repeat a timestamp
        first, last = self.rows[0][0], self.rows[-1][0]
        return last - first + max(1, (last - first) // max(1, len(self.rows) - 1))

    def advance(self) -> list[int]:
        """Plays the next row; [] when the row repeats the current quote, and [] at the end."""
        if self._next >= len(self.rows):
            if not self.loop:
                return []
            self._offset_ns += self._span()
            self._next = 0
        ts, i, bid, ask, bq, aq = self.rows[self._next]
        self._next += 1
        self.updates += 1
        self.ts_ns = ts + self._offset_ns
        self.bid_qty_e2[i] = bq
        self.ask_qty_e2[i] = aq
        if self.bid_e8[i] == bid and self.ask_e8[i] == ask:
            return []
        self.bid_e8[i] = bid
        self.ask_e8[i] = ask
        return [i]
