"""Replays recorded quotes as the venues' market, in place of the price process.

Two sources give the same QuoteRows (source time, pair, bid, ask, top-level sizes): a CSV file
(load_csv, here) and the Quote events of an fxpipe journal (journal_replay.py). ReplaySource
plays them with the same surface as PriceProcess (`pairs`, `bid_e8`, `ask_e8`, `advance()`),
plus the source time of each row (`ts_ns`, `next_ts_ns`) so the Market can pace it.

The CSV file has a header row naming at least `time,symbol,bid,ask`, optionally `bid_size` and
`ask_size` (in units of the base currency). `time` is integer nanoseconds since the epoch or
ISO-8601 UTC (`2024-03-01T12:00:00.000123Z`); rows must not go back in time. Prices are exact
decimals (no more than 8 places) and parsed to `*_e8` integers without floats. The whole file
is checked when loaded: a bad row stops the load with its line number and what to fix.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fxpipe.model.numbers import parse_price, parse_qty
from fxpipe.venue.pairs import Pair

CHUNK = 4096  # rows turned into Python ints at a time: the columns stay compact numpy arrays


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


@dataclass(frozen=True)
class QuoteRows:
    """Recorded quotes in play order, one int64 numpy column each: source time in ns (never
    going back), position of the pair in the market's `pairs`, bid and ask `price_e8`, and the
    top level's sizes `qty_e2` (0: not recorded, the venue's profile sizes apply)."""

    ts_ns: np.ndarray
    pair: np.ndarray
    bid_e8: np.ndarray
    ask_e8: np.ndarray
    bid_qty_e2: np.ndarray
    ask_qty_e2: np.ndarray

    @classmethod
    def from_tuples(cls, rows: list[tuple]) -> QuoteRows:
        cols = list(zip(*rows, strict=True)) if rows else [()] * 6
        return cls(*(np.array(c, dtype=np.int64) for c in cols))

    def __len__(self) -> int:
        return len(self.ts_ns)


def load_csv(path: str | Path, pairs: tuple[Pair, ...]) -> QuoteRows:
    """The rows of a quote CSV, each checked (see the module docstring)."""
    path = Path(path)
    index = {p.symbol: i for i, p in enumerate(pairs)}
    index.update({p.base + p.quote: i for i, p in enumerate(pairs)})
    try:
        f = path.open(newline="")
    except OSError as exc:
        raise ReplayError(f"replay file {path}: {exc.strerror}") from None
    with f:
        reader = csv.DictReader(f)
        need = {"time", "symbol", "bid", "ask"}
        have = set(reader.fieldnames or ())
        if not need <= have:
            raise ReplayError(
                f"{path}: header must name {', '.join(sorted(need))} "
                f"(found {', '.join(reader.fieldnames or ['nothing'])})")
        rows, last = [], None
        for row in reader:
            line = reader.line_num
            try:
                rows.append(_csv_row(row, index, pairs))
            except ValueError as exc:
                raise ReplayError(f"{path}:{line}: {exc}") from None
            if last is not None and rows[-1][0] < last:
                raise ReplayError(f"{path}:{line}: time goes back; sort the file by time")
            last = rows[-1][0]
    if not rows:
        raise ReplayError(f"{path}: no quotes in the file; add rows after the header")
    return QuoteRows.from_tuples(rows)


def _csv_row(row: dict, index: dict[str, int], pairs: tuple[Pair, ...]) -> tuple:
    sym = (row["symbol"] or "").strip()
    if sym not in index:
        known = ", ".join(p.symbol for p in pairs)
        raise ValueError(f"symbol {sym!r} is not quoted by this venue ({known})")
    i = index[sym]
    tick = pairs[i].tick_e8
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
        q = parse_qty(raw) if raw else 0
        if raw and q <= 0:
            raise ValueError(f"{col} must be positive, got {raw}")
        sizes.append(q)
    return (parse_time_ns(row["time"] or ""), i, bid, ask, sizes[0], sizes[1])


class ReplaySource:
    """Plays QuoteRows, one `advance()` per row; `loop` restarts at the end with the timestamps
    shifted so time keeps going forward. `origin` names where the rows came from."""

    def __init__(self, rows: QuoteRows, pairs: tuple[Pair, ...], loop: bool = False, origin: str = ""):
        if not len(rows):
            raise ReplayError(f"{origin or 'replay'}: no quotes to replay")
        self.rows = rows
        self.pairs = pairs
        self.loop = loop
        self.origin = origin
        self.bid_e8 = [0] * len(pairs)
        self.ask_e8 = [0] * len(pairs)
        self.bid_qty_e2: list[int | None] = [None] * len(pairs)
        self.ask_qty_e2: list[int | None] = [None] * len(pairs)
        self._count = len(rows)
        self._first_ts = int(rows.ts_ns[0])
        self._last_ts = int(rows.ts_ns[-1])
        self._chunk_at = -1
        self._chunk: list[tuple] = []
        self._next = 0
        self._offset_ns = 0
        self.ts_ns = self._first_ts
        self.updates = 0

    @classmethod
    def from_csv(cls, path: str | Path, pairs: tuple[Pair, ...], loop: bool = False) -> ReplaySource:
        return cls(load_csv(path, pairs), pairs, loop, str(path))

    def _row(self, k: int) -> tuple:
        at = k - k % CHUNK
        if at != self._chunk_at:
            r = self.rows
            cols = (r.ts_ns, r.pair, r.bid_e8, r.ask_e8, r.bid_qty_e2, r.ask_qty_e2)
            self._chunk = list(zip(*(c[at:at + CHUNK].tolist() for c in cols), strict=True))
            self._chunk_at = at
        return self._chunk[k - at]

    @property
    def exhausted(self) -> bool:
        return self._next >= self._count and not self.loop

    @property
    def next_ts_ns(self) -> int | None:
        """Source time of the row the next advance() plays; None at the end."""
        if self.exhausted:
            return None
        if self._next >= self._count:
            return self._first_ts + self._offset_ns + self._span()
        return self._row(self._next)[0] + self._offset_ns

    def _span(self) -> int:
        # one average row gap after the last row, so a loop does not repeat a timestamp
        first, last = self._first_ts, self._last_ts
        return last - first + max(1, (last - first) // max(1, self._count - 1))

    def advance(self) -> list[int]:
        """Plays the next row; [] when the row repeats the current quote, and [] at the end."""
        if self._next >= self._count:
            if not self.loop:
                return []
            self._offset_ns += self._span()
            self._next = 0
        ts, i, bid, ask, bq, aq = self._row(self._next)
        self._next += 1
        self.updates += 1
        self.ts_ns = ts + self._offset_ns
        self.bid_qty_e2[i] = bq or None
        self.ask_qty_e2[i] = aq or None
        if self.bid_e8[i] == bid and self.ask_e8[i] == ask:
            return []
        self.bid_e8[i] = bid
        self.ask_e8[i] = ask
        return [i]
