"""Reference data: the instruments fxpipe trades and the venues it trades them at, with the ids
that events carry (header venue_id / instrument_id), loaded from a TOML file and validated.

Every decimal (tick size, pip, lot size, quantities) is read exactly: as a TOML string
("0.00001"), an integer, or a TOML float whose literal text is parsed by fxpipe's own exact
decimal parser (never through a binary float). Every problem is reported as a RefDataError
naming the file, the key and what to write instead. The default file is config/refdata.toml,
or the one FXPIPE_REFDATA names.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from fxpipe.configdir import config_file
from fxpipe.model import numbers
from fxpipe.tomlcheck import read_text

DEFAULT_PATH = config_file("refdata.toml")
MAX_ID = 65535  # ids travel as uint16 in every event header; 0 means "none"
VENUE_KINDS = ("ecn", "lp")
_CCY = re.compile(r"[A-Z]{3}")
_VALUE_DATE = re.compile(r"T\+([0-2])")
_VENUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,16}")
_INSTRUMENT_KEYS = {"id", "base", "quote", "price_decimals", "tick_size", "pip_size", "lot_size",
                    "min_qty", "qty_increment", "value_date"}
_VENUE_KEYS = {"id", "kind", "instruments"}
_TOP_KEYS = {"reporting_currency", "instruments", "venues"}


class RefDataError(ValueError):
    """Reference data that cannot be used; the message names file, key and the fix."""


class _TomlFloat(str):
    """The literal text of a TOML float, kept so it can be parsed exactly."""


@dataclass(frozen=True)
class Instrument:
    id: int
    symbol: str              # "EUR/USD"
    base: str                # currency of the quantity
    quote: str               # currency of the price and of PnL
    price_decimals: int      # decimals a venue quotes (5 for EUR/USD, 3 for USD/JPY)
    tick_size_e8: int
    pip_size_e8: int
    lot_size_e2: int         # one standard lot in base units
    min_qty_e2: int
    qty_increment_e2: int
    spot_days: int           # value date convention: T+spot_days business days

    def format_price(self, price_e8: int) -> str:
        return numbers.format_price(price_e8, min_decimals=self.price_decimals)

    def is_on_tick(self, price_e8: int) -> bool:
        return price_e8 % self.tick_size_e8 == 0

    def round_to_tick(self, price_e8: int, rounding=numbers.Rounding.HALF_EVEN) -> int:
        return numbers.round_to_multiple(price_e8, self.tick_size_e8, rounding)

    def check_qty(self, qty_e2: int) -> None:
        """ValueError unless qty_e2 is a tradable quantity of this instrument."""
        if qty_e2 < self.min_qty_e2:
            raise ValueError(f"{self.symbol}: quantity {numbers.format_qty(qty_e2)} is below the "
                             f"minimum {numbers.format_qty(self.min_qty_e2)}")
        if qty_e2 % self.qty_increment_e2:
            raise ValueError(f"{self.symbol}: quantity {numbers.format_qty(qty_e2)} is not a "
                             f"multiple of {numbers.format_qty(self.qty_increment_e2)}")


@dataclass(frozen=True)
class Venue:
    id: int
    name: str
    kind: str                        # "ecn" (firm liquidity) or "lp" (may last-look)
    instrument_ids: tuple[int, ...]  # what it trades


# Per-instrument numbers for Cython stages, indexed by instrument id (row 0 unused).
INSTRUMENT_TABLE_DTYPE = np.dtype([
    ("tick_size_e8", "<i8"), ("pip_size_e8", "<i8"), ("lot_size_e2", "<i8"), ("min_qty_e2", "<i8"),
    ("qty_increment_e2", "<i8"), ("price_decimals", "u1"), ("spot_days", "u1"),
])


class RefData:
    """Instruments and venues by name and by id."""

    def __init__(self, source: str, reporting_currency: str, instruments: list[Instrument],
                 venues: list[Venue]):
        self.source = source
        self.reporting_currency = reporting_currency
        self.instruments = {i.symbol: i for i in instruments}
        self.venues = {v.name: v for v in venues}
        self._instrument_ids = {i.id: i for i in instruments}
        self._venue_ids = {v.id: v for v in venues}

    def instrument(self, key: str | int) -> Instrument:
        found = self._instrument_ids.get(key) if isinstance(key, int) else self.instruments.get(key)
        if found is None:
            raise KeyError(f"unknown instrument {key!r} in {self.source}; known: "
                           f"{', '.join(f'{i.symbol} (id {i.id})' for i in self.instruments.values())}")
        return found

    def venue(self, key: str | int) -> Venue:
        found = self._venue_ids.get(key) if isinstance(key, int) else self.venues.get(key)
        if found is None:
            raise KeyError(f"unknown venue {key!r} in {self.source}; known: "
                           f"{', '.join(f'{v.name} (id {v.id})' for v in self.venues.values())}")
        return found

    def currencies(self) -> set[str]:
        return {c for i in self.instruments.values() for c in (i.base, i.quote)}

    def instrument_table(self) -> np.ndarray:
        """A row per instrument id (INSTRUMENT_TABLE_DTYPE), for lookups without Python objects."""
        table = np.zeros(max(self._instrument_ids, default=0) + 1, dtype=INSTRUMENT_TABLE_DTYPE)
        for i in self.instruments.values():
            table[i.id] = (i.tick_size_e8, i.pip_size_e8, i.lot_size_e2, i.min_qty_e2,
                           i.qty_increment_e2, i.price_decimals, i.spot_days)
        return table


def load_refdata(path: str | os.PathLike | None = None) -> RefData:
    """Read and validate a reference-data TOML file (default: $FXPIPE_REFDATA or
    config/refdata.toml)."""
    path = Path(path or os.environ.get("FXPIPE_REFDATA") or DEFAULT_PATH)
    text = read_text(path, RefDataError, "no such reference-data file; pass another path or set FXPIPE_REFDATA")
    return parse_refdata(text, str(path))


def parse_refdata(text: str, source: str = "<string>") -> RefData:
    try:
        doc = tomllib.loads(text, parse_float=_TomlFloat)
    except tomllib.TOMLDecodeError as exc:
        raise RefDataError(f"{source}: not valid TOML: {exc}") from None
    return _Reader(source).read(doc)


class _Reader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str) -> NoReturn:
        raise RefDataError(f"{self.source}: {key}: {problem}")

    def table(self, value, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}]), got {type(value).__name__}")
        return value

    def keys(self, table: dict, key: str, allowed: set[str], required: set[str]) -> None:
        def at(k: str) -> str:
            return f"{key}.{k}" if key else k

        unknown = sorted(set(table) - allowed)
        if unknown:
            self.fail(at(unknown[0]), f"unknown key; allowed keys: {', '.join(sorted(allowed))}")
        missing = sorted(required - set(table))
        if missing:
            self.fail(at(missing[0]), "missing; it is required")

    def ident(self, value, key: str) -> int:
        if type(value) is not int or not 1 <= value <= MAX_ID:
            self.fail(key, f"must be an integer 1..{MAX_ID} (events carry it as uint16), got {value!r}")
        return value

    def currency(self, value, key: str) -> str:
        if not isinstance(value, str) or not _CCY.fullmatch(value):
            self.fail(key, f"must be a three-letter ISO 4217 code in capitals like \"USD\", got {value!r}")
        return value

    def decimal(self, value, key: str, scale: int, what: str) -> int:
        """An exact positive decimal at scale from a TOML string, integer or float literal."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(key, f"must be a decimal such as \"0.00001\", got {type(value).__name__} {value!r}")
        text = str(value)
        if isinstance(value, _TomlFloat):
            text = text.replace("_", "")  # TOML digit separators
        try:
            scaled = numbers.parse_decimal(text, scale, signed=False, what=what)
        except ValueError as exc:
            self.fail(key, f"{exc} (write it as a quoted decimal such as \"0.00001\")")
        if scaled <= 0:
            self.fail(key, f"must be greater than zero, got {value!r}")
        return scaled

    def read(self, doc: dict) -> RefData:
        self.keys(doc, "", _TOP_KEYS, _TOP_KEYS)
        rpt = self.currency(doc["reporting_currency"], "reporting_currency")
        instruments_t = self.table(doc["instruments"], "instruments")
        if not instruments_t:
            self.fail("instruments", "no instruments; add at least one [instruments.\"EUR/USD\"] table")
        instruments = [self.instrument(sym, self.table(t, f'instruments."{sym}"'))
                       for sym, t in instruments_t.items()]
        self.unique([(i.id, f'instruments."{i.symbol}".id') for i in instruments], "instrument")
        by_symbol = {i.symbol: i for i in instruments}
        venues_t = self.table(doc["venues"], "venues")
        if not venues_t:
            self.fail("venues", "no venues; add at least one [venues.NAME] table")
        venues = [self.venue(name, self.table(t, f"venues.{name}"), by_symbol) for name, t in venues_t.items()]
        self.unique([(v.id, f"venues.{v.name}.id") for v in venues], "venue")
        currencies = {c for i in instruments for c in (i.base, i.quote)}
        if rpt not in currencies:
            self.fail("reporting_currency", f"{rpt} is not the base or quote of any instrument, so PnL "
                                            f"cannot be converted to it; use one of {', '.join(sorted(currencies))}")
        return RefData(self.source, rpt, instruments, venues)

    def unique(self, ids: list[tuple[int, str]], what: str) -> None:
        seen: dict[int, str] = {}
        for ident, key in ids:
            if ident in seen:
                self.fail(key, f"{what} id {ident} is already used by {seen[ident]}; ids must be unique")
            seen[ident] = key

    def instrument(self, symbol: str, t: dict) -> Instrument:
        key = f'instruments."{symbol}"'
        self.keys(t, key, _INSTRUMENT_KEYS, _INSTRUMENT_KEYS)
        base = self.currency(t["base"], f"{key}.base")
        quote = self.currency(t["quote"], f"{key}.quote")
        if base == quote:
            self.fail(f"{key}.quote", f"base and quote are both {base}")
        if symbol != f"{base}/{quote}":
            self.fail(key, f"the name must be \"{base}/{quote}\" (BASE/QUOTE of its base and quote)")
        decimals = t["price_decimals"]
        if type(decimals) is not int or not 0 <= decimals <= numbers.PRICE_DECIMALS:
            self.fail(f"{key}.price_decimals", f"must be an integer 0..{numbers.PRICE_DECIMALS}, got {decimals!r}")
        tick = self.decimal(t["tick_size"], f"{key}.tick_size", numbers.PRICE_DECIMALS, "tick size")
        if tick % 10 ** (numbers.PRICE_DECIMALS - decimals):
            self.fail(f"{key}.tick_size", f"{numbers.format_price(tick)} has more decimals than "
                                          f"price_decimals = {decimals}")
        pip = self.decimal(t["pip_size"], f"{key}.pip_size", numbers.PRICE_DECIMALS, "pip size")
        if pip % tick:
            self.fail(f"{key}.pip_size", f"{numbers.format_price(pip)} is not a whole number of ticks "
                                         f"({numbers.format_price(tick)})")
        lot = self.decimal(t["lot_size"], f"{key}.lot_size", numbers.QTY_DECIMALS, "lot size")
        min_qty = self.decimal(t["min_qty"], f"{key}.min_qty", numbers.QTY_DECIMALS, "quantity")
        step = self.decimal(t["qty_increment"], f"{key}.qty_increment", numbers.QTY_DECIMALS, "quantity")
        if min_qty % step:
            self.fail(f"{key}.min_qty", f"{numbers.format_qty(min_qty)} is not a multiple of "
                                        f"qty_increment {numbers.format_qty(step)}")
        m = _VALUE_DATE.fullmatch(t["value_date"]) if isinstance(t["value_date"], str) else None
        if m is None:
            self.fail(f"{key}.value_date", f"must be \"T+0\", \"T+1\" or \"T+2\" (spot), got {t['value_date']!r}")
        return Instrument(self.ident(t["id"], f"{key}.id"), symbol, base, quote, decimals, tick, pip,
                          lot, min_qty, step, int(m[1]))

    def venue(self, name: str, t: dict, instruments: dict[str, Instrument]) -> Venue:
        key = f"venues.{name}"
        if not _VENUE_NAME.fullmatch(name):
            self.fail(key, "a venue name is 1-16 letters, digits, '_' or '-'")
        self.keys(t, key, _VENUE_KEYS, {"id", "kind"})
        ident = self.ident(t["id"], f"{key}.id")
        if t["kind"] not in VENUE_KINDS:
            self.fail(f"{key}.kind", f"must be one of {', '.join(map(repr, VENUE_KINDS))}, got {t['kind']!r}")
        symbols = t.get("instruments", list(instruments))
        if not isinstance(symbols, list) or not symbols:
            self.fail(f"{key}.instruments", "must be a non-empty list of instrument names such as [\"EUR/USD\"]")
        for sym in symbols:
            if sym not in instruments:
                self.fail(f"{key}.instruments", f"unknown instrument {sym!r}; defined: {', '.join(instruments)}")
        if len(set(symbols)) != len(symbols):
            self.fail(f"{key}.instruments", "lists an instrument twice")
        return Venue(ident, name, t["kind"], tuple(instruments[s].id for s in symbols))
