"""Risk limits from TOML: global, per strategy and per venue, validated on load with errors that
name the file, the key and what to write instead.

Decimals are exact (quantities at 1e-2 of base, money at 1e-4): write them quoted ("5000000")
or as integers; a TOML float is read from its literal text, never through a binary float.
Counts (bps, pips, ms, orders per second) are integers. A limit left out is no limit.

    [global]                           # the desk as a whole
    max_order_qty = "5000000"          # base units, per order
    max_order_notional = "10000000"    # reporting currency, per order
    max_gross_exposure = "50000000"    # reporting currency
    price_collar_bps = 50              # |price - mid| <= 50 bps of the mid
    price_collar_pips = 30
    stale_quote_ms = 2000              # no order on a mark older than this (event time)
    order_rate = 50                    # orders per second (token bucket) ...
    order_burst = 100                  # ... and its depth
    max_open_orders = 200
    max_loss = "250000"                # realized + unrealized - commissions, reporting currency
    reject_storm_count = 10            # this many venue rejects ...
    reject_storm_window_ms = 1000      # ... within this window trip the kill switch
    kill_on_overfill = true
    [global.max_position]              # net base quantity per instrument, worst case
    "EUR/USD" = "20000000"
    "*" = "10000000"                   # every other instrument
    [global.max_currency_exposure]     # per currency, in that currency
    EUR = "25000000"
    [strategies.7]                     # the same keys, for strategy 7 (its own book)
    [venues.ECN1]
    order_rate = 100
    order_burst = 200
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from fxpipe.configdir import config_file
from fxpipe.model import numbers
from fxpipe.model.events import RiskLimit
from fxpipe.model.refdata import RefData
from fxpipe.tomlcheck import read_text

DEFAULT_PATH = config_file("risk.toml")


class RiskConfigError(ValueError):
    """Limits that cannot be used; the message names file, key and the fix."""


class _TomlFloat(str):
    """The literal text of a TOML float, kept so it is parsed exactly."""


# key -> (RiskLimit, kind): "qty" (e2), "money" (e4), "count", "bool"
SCALARS: dict[str, tuple[RiskLimit, str]] = {
    "max_order_qty": (RiskLimit.MAX_ORDER_QTY, "qty"),
    "max_order_notional": (RiskLimit.MAX_ORDER_NOTIONAL, "money"),
    "max_gross_exposure": (RiskLimit.MAX_GROSS_EXPOSURE, "money"),
    "price_collar_bps": (RiskLimit.PRICE_COLLAR_BPS, "count"),
    "price_collar_pips": (RiskLimit.PRICE_COLLAR_PIPS, "count"),
    "stale_quote_ms": (RiskLimit.STALE_QUOTE_MS, "count"),
    "order_rate": (RiskLimit.ORDER_RATE, "count"),
    "order_burst": (RiskLimit.ORDER_BURST, "count"),
    "max_open_orders": (RiskLimit.MAX_OPEN_ORDERS, "count"),
    "max_loss": (RiskLimit.MAX_LOSS, "money"),
    "reject_storm_count": (RiskLimit.REJECT_STORM_COUNT, "count"),
    "reject_storm_window_ms": (RiskLimit.REJECT_STORM_WINDOW_MS, "count"),
}
GLOBAL_ONLY = {"kill_on_overfill": (RiskLimit.KILL_ON_OVERFILL, "bool")}
VENUE_KEYS = {"order_rate": (RiskLimit.VENUE_ORDER_RATE, "count"),
              "order_burst": (RiskLimit.VENUE_ORDER_BURST, "count")}
TABLES = {"max_position", "max_currency_exposure"}
STORM_MAX = 64
MAX_STRATEGY_ID = 2**32 - 1


@dataclass(frozen=True)
class LimitSetting:
    """One limit as the engine takes it: RiskEngine.set(limit, value, strategy_id, ...)."""
    limit: RiskLimit
    value: int | None
    strategy_id: int = 0
    instrument: str | None = None
    ccy: str | None = None
    venue: str | None = None

    def apply(self, engine) -> None:
        engine.set(self.limit, self.value, strategy_id=self.strategy_id, instrument=self.instrument,
                   ccy=self.ccy, venue=self.venue)


def load_limits(path: str | os.PathLike | None, refdata: RefData) -> list[LimitSetting]:
    """Read and validate a limits file (default: $FXPIPE_RISK or config/risk.toml)."""
    path = Path(path or os.environ.get("FXPIPE_RISK") or DEFAULT_PATH)
    text = read_text(path, RiskConfigError, "no such risk limits file; pass another path or set FXPIPE_RISK")
    return parse_limits(text, refdata, str(path))


def parse_limits(text: str, refdata: RefData, source: str = "<string>") -> list[LimitSetting]:
    try:
        doc = tomllib.loads(text, parse_float=_TomlFloat)
    except tomllib.TOMLDecodeError as exc:
        raise RiskConfigError(f"{source}: not valid TOML: {exc}") from None
    return _Reader(source, refdata).read(doc)


class _Reader:
    def __init__(self, source: str, refdata: RefData):
        self.source = source
        self.refdata = refdata

    def fail(self, key: str, problem: str) -> NoReturn:
        raise RiskConfigError(f"{self.source}: {key}: {problem}")

    def table(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}]), got {type(value).__name__} {value!r}")
        return value

    def value(self, raw: Any, kind: str, key: str) -> int:
        if kind == "bool":
            if not isinstance(raw, bool):
                self.fail(key, f"must be true or false, got {raw!r}")
            return int(raw)
        if kind == "count":
            if type(raw) is not int or raw <= 0:
                self.fail(key, f"must be a whole number > 0, got {raw!r}")
            return raw
        scale = numbers.QTY_DECIMALS if kind == "qty" else numbers.MONEY_DECIMALS
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            self.fail(key, f"must be a decimal such as \"5000000\", got {type(raw).__name__} {raw!r}")
        text = str(raw).replace("_", "") if isinstance(raw, _TomlFloat) else str(raw)
        try:
            scaled = numbers.parse_decimal(text, scale, signed=False,
                                           what="quantity" if kind == "qty" else "amount")
        except ValueError as exc:
            self.fail(key, f"{exc} (write it as a quoted decimal such as \"5000000\")")
        if scaled <= 0:
            self.fail(key, f"must be greater than zero, got {raw!r}; leave the key out for no limit")
        return scaled

    def scope(self, t: dict, key: str, strategy_id: int) -> list[LimitSetting]:
        allowed = set(SCALARS) | TABLES | (set(GLOBAL_ONLY) if strategy_id == 0 else set())
        out = []
        for name in sorted(t):
            k = f"{key}.{name}"
            if name not in allowed:
                hint = " (a global setting only)" if name in GLOBAL_ONLY else ""
                self.fail(k, f"unknown key{hint}; allowed keys: {', '.join(sorted(allowed))}")
            if name == "max_position":
                for sym, raw in sorted(self.table(t[name], k).items()):
                    if sym != "*" and sym not in self.refdata.instruments:
                        self.fail(f'{k}."{sym}"', f"unknown instrument; defined: "
                                                  f"{', '.join(self.refdata.instruments)}, or \"*\" for any")
                    out.append(LimitSetting(RiskLimit.MAX_POSITION, self.value(raw, "qty", f'{k}."{sym}"'),
                                            strategy_id, None if sym == "*" else sym))
            elif name == "max_currency_exposure":
                ccys = self.refdata.currencies()
                for ccy, raw in sorted(self.table(t[name], k).items()):
                    if ccy not in ccys:
                        self.fail(f"{k}.{ccy}", f"not a currency of any instrument; use one of {', '.join(sorted(ccys))}")
                    out.append(LimitSetting(RiskLimit.MAX_CCY_EXPOSURE, self.value(raw, "money", f"{k}.{ccy}"),
                                            strategy_id, ccy=ccy))
            else:
                limit, kind = SCALARS.get(name) or GLOBAL_ONLY[name]
                out.append(LimitSetting(limit, self.value(t[name], kind, k), strategy_id))
        count = next((s.value for s in out if s.limit == RiskLimit.REJECT_STORM_COUNT), None)
        window = any(s.limit == RiskLimit.REJECT_STORM_WINDOW_MS for s in out)
        if (count is None) != (not window):
            self.fail(key, "reject_storm_count and reject_storm_window_ms go together; set both or neither")
        if count is not None and count > STORM_MAX:
            self.fail(f"{key}.reject_storm_count", f"at most {STORM_MAX}, got {count}")
        if any(s.limit == RiskLimit.ORDER_BURST for s in out) and not any(s.limit == RiskLimit.ORDER_RATE for s in out):
            self.fail(f"{key}.order_burst", "needs order_rate (the bucket's refill rate)")
        return out

    def read(self, doc: dict) -> list[LimitSetting]:
        unknown = sorted(set(doc) - {"global", "strategies", "venues"})
        if unknown:
            self.fail(unknown[0], "unknown table; allowed: [global], [strategies.ID], [venues.NAME]")
        out = self.scope(self.table(doc.get("global", {}), "global"), "global", 0)
        for sid, t in sorted(self.table(doc.get("strategies", {}), "strategies").items(), key=lambda kv: kv[0]):
            if not sid.isdigit() or not 1 <= int(sid) <= MAX_STRATEGY_ID:
                self.fail(f"strategies.{sid}", f"a strategy is named by its id, an integer 1..{MAX_STRATEGY_ID}")
            out += self.scope(self.table(t, f"strategies.{sid}"), f"strategies.{sid}", int(sid))
        for name, t in sorted(self.table(doc.get("venues", {}), "venues").items()):
            if name not in self.refdata.venues:
                self.fail(f"venues.{name}", f"unknown venue; defined: {', '.join(self.refdata.venues)}")
            t = self.table(t, f"venues.{name}")
            for k in sorted(t):
                if k not in VENUE_KEYS:
                    self.fail(f"venues.{name}.{k}", f"unknown key; allowed keys: {', '.join(sorted(VENUE_KEYS))}")
                limit, kind = VENUE_KEYS[k]
                out.append(LimitSetting(limit, self.value(t[k], kind, f"venues.{name}.{k}"), venue=name))
            if "order_burst" in t and "order_rate" not in t:
                self.fail(f"venues.{name}.order_burst", "needs order_rate (the bucket's refill rate)")
        return out
