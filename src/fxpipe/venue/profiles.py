"""Venue profiles: how one simulated venue behaves, read from a `[venues.NAME]` table.

A profile is the set of habits an OMS has to cope with: the symbol format (`EUR/USD` or
`EURUSD`), which tags an order must carry, the order types and times in force accepted,
whether a new order is acknowledged before it fills, last look (hold time and tolerance),
how an IOC remainder is cancelled, whether reports carry a settlement date, the depth and sizes
of the liquidity shown, and the latency of acks and fills. Latencies are drawn from seeded
distributions so two runs with the same seed wait the same times.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from fxpipe.fix.enums import OrdType, TimeInForce
from fxpipe.tomlcheck import is_int, is_number
from fxpipe.venue.pairs import SymbolFormat


class ConfigError(ValueError):
    """A venue configuration that cannot be used; says which key and what to write."""


ORD_TYPES = {"market": OrdType.MARKET, "limit": OrdType.LIMIT}
TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GOOD_TILL_CANCEL, "ioc": TimeInForce.IMMEDIATE_OR_CANCEL,
        "fok": TimeInForce.FILL_OR_KILL}


@dataclass(frozen=True)
class LatencyDist:
    """A delay distribution in microseconds: fixed, uniform, exponential or lognormal."""

    kind: str = "fixed"
    a_us: float = 0.0  # fixed: value; uniform: min; exponential: mean; lognormal: median
    b_us: float = 0.0  # uniform: max; lognormal: sigma of the log
    cap_us: float = 1e9

    def sample_ns(self, rng: random.Random) -> int:
        k = self.kind
        if k == "fixed":
            us = self.a_us
        elif k == "uniform":
            us = rng.uniform(self.a_us, self.b_us)
        elif k == "exponential":
            us = rng.expovariate(1.0 / self.a_us) if self.a_us > 0 else 0.0
        else:
            us = rng.lognormvariate(math.log(self.a_us), self.b_us) if self.a_us > 0 else 0.0
        return int(min(us, self.cap_us) * 1000)

    @classmethod
    def parse(cls, where: str, spec) -> LatencyDist:
        """`250` (fixed µs) or a table: {dist="lognormal", median_us=200, sigma=0.5},
        {dist="uniform", min_us=50, max_us=400}, {dist="exponential", mean_us=300},
        {dist="fixed", us=100}; any may add cap_us."""
        if is_number(spec):
            return cls("fixed", _nonneg(where, spec))
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: give microseconds or a table like {{dist=\"lognormal\", median_us=200, sigma=0.5}}")
        d = spec.get("dist", "fixed")
        cap = _nonneg(f"{where}.cap_us", spec.get("cap_us", 1e9))
        keys = {"fixed": ("us",), "uniform": ("min_us", "max_us"), "exponential": ("mean_us",),
                "lognormal": ("median_us", "sigma")}
        if d not in keys:
            raise ConfigError(f"{where}.dist: {d!r} is not one of {', '.join(keys)}")
        unknown = set(spec) - set(keys[d]) - {"dist", "cap_us"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} for dist {d!r} (expected {keys[d]})")
        vals = []
        for k in keys[d]:
            if k not in spec:
                raise ConfigError(f"{where}: dist {d!r} needs {k}")
            vals.append(_nonneg(f"{where}.{k}", spec[k]))
        if d == "uniform" and vals[1] < vals[0]:
            raise ConfigError(f"{where}: max_us {vals[1]} is below min_us {vals[0]}")
        return cls(d, vals[0], vals[1] if len(vals) > 1 else 0.0, cap)


def _nonneg(where: str, v) -> float:
    if not is_number(v) or v < 0 or math.isnan(v):
        raise ConfigError(f"{where}: expected a number >= 0, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class LastLook:
    hold_ms: float
    tolerance_pips: float  # an adverse move beyond this during the hold rejects the order


@dataclass(frozen=True)
class Profile:
    name: str
    port: int
    comp_id: str
    clients: tuple[str, ...]
    symbol_format: SymbolFormat = SymbolFormat.SLASH
    pairs: tuple[str, ...] | None = None
    depth: int = 5
    level_step_ticks: int = 1
    level_sizes_e2: tuple[int, ...] = (100_000_000, 200_000_000, 300_000_000, 500_000_000, 1_000_000_000)
    markup_ticks: int = 0
    required_tags: dict[str, tuple[int, ...]] = field(default_factory=dict)
    order_types: frozenset[str] = frozenset(ORD_TYPES.values())
    time_in_force: frozenset[str] = frozenset(TIFS.values())
    ack_new: bool = True
    ioc_cancel_report: bool = True
    settlement_tags: bool = False
    max_order_qty_e2: int = 5_000_000_000
    last_look: LastLook | None = None
    ack_latency: LatencyDist = LatencyDist()
    fill_latency: LatencyDist = LatencyDist()


_PROFILE_KEYS = {
    "port", "comp_id", "clients", "symbol_format", "pairs", "depth", "level_step_ticks", "level_sizes",
    "markup_ticks", "required_tags", "order_types", "time_in_force", "ack_new", "ioc_remainder",
    "settlement_date", "max_order_qty", "last_look", "ack_latency_us", "fill_latency_us", "feed",
    "faults", "session",
}


def _get(t: dict, where: str, key: str, typ, default=None, required=False):
    if key not in t:
        if required:
            raise ConfigError(f"{where}: missing {key}")
        return default
    v = t[key]
    if typ is int and not is_int(v):
        raise ConfigError(f"{where}.{key}: expected an integer, got {v!r}")
    if typ is not int and not isinstance(v, typ):
        raise ConfigError(f"{where}.{key}: expected {getattr(typ, '__name__', typ)}, got {v!r}")
    return v


def parse_profile(name: str, t: dict) -> Profile:
    where = f"venues.{name}"
    unknown = set(t) - _PROFILE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_PROFILE_KEYS)}")
    port = _get(t, where, "port", int, required=True)
    if not 0 < port < 65536:
        raise ConfigError(f"{where}.port: {port} is not a TCP port (1..65535)")
    clients = tuple(_get(t, where, "clients", list, required=True))
    if not clients or not all(isinstance(c, str) and c for c in clients):
        raise ConfigError(f"{where}.clients: list the SenderCompIDs allowed to log on, e.g. [\"FXPIPE\"]")
    fmt = _get(t, where, "symbol_format", str, "slash")
    try:
        symbol_format = SymbolFormat(fmt)
    except ValueError:
        raise ConfigError(f"{where}.symbol_format: {fmt!r} is not \"slash\" (EUR/USD) or \"concat\" (EURUSD)") from None
    pairs = _get(t, where, "pairs", list)
    sizes = _get(t, where, "level_sizes", list, [1_000_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000])
    depth = _get(t, where, "depth", int, len(sizes))
    if not 1 <= depth <= len(sizes) or depth > 10:
        raise ConfigError(f"{where}.depth: {depth} must be between 1 and 10 and at most len(level_sizes)={len(sizes)}")
    for s in sizes:
        if not is_int(s) or s <= 0:
            raise ConfigError(f"{where}.level_sizes: sizes are whole units of base currency > 0, got {s!r}")
    step = _get(t, where, "level_step_ticks", int, 1)
    markup = _get(t, where, "markup_ticks", int, 0)
    if step < 1 or markup < 0:
        raise ConfigError(f"{where}: level_step_ticks must be >= 1 and markup_ticks >= 0")
    req: dict[str, tuple[int, ...]] = {}
    for mt, tags in _get(t, where, "required_tags", dict, {}).items():
        if mt not in ("D", "F", "G", "H", "V") or not isinstance(tags, list) or not all(
                isinstance(x, int) and x > 0 for x in tags):
            raise ConfigError(f"{where}.required_tags.{mt}: use a message type D/F/G/H/V and a list of tag numbers")
        req[mt] = tuple(tags)
    ords = _names(where, "order_types", _get(t, where, "order_types", list, list(ORD_TYPES)), ORD_TYPES)
    tifs = _names(where, "time_in_force", _get(t, where, "time_in_force", list, list(TIFS)), TIFS)
    ioc = _get(t, where, "ioc_remainder", str, "cancel_report")
    if ioc not in ("cancel_report", "on_fill"):
        raise ConfigError(f"{where}.ioc_remainder: \"cancel_report\" (its own unsolicited report) or \"on_fill\"")
    ll = _get(t, where, "last_look", dict)
    last_look = None
    if ll is not None:
        extra = set(ll) - {"hold_ms", "tolerance_pips"}
        if extra:
            raise ConfigError(f"{where}.last_look: unknown keys {sorted(extra)} (hold_ms, tolerance_pips)")
        last_look = LastLook(_nonneg(f"{where}.last_look.hold_ms", ll.get("hold_ms", 0)),
                             _nonneg(f"{where}.last_look.tolerance_pips", ll.get("tolerance_pips", 0)))
    max_qty = _get(t, where, "max_order_qty", int, 50_000_000)
    return Profile(
        name=name, port=port, comp_id=_get(t, where, "comp_id", str, name.upper()), clients=clients,
        symbol_format=symbol_format, pairs=tuple(pairs) if pairs else None, depth=depth,
        level_step_ticks=step, level_sizes_e2=tuple(s * 100 for s in sizes[:depth]), markup_ticks=markup,
        required_tags=req, order_types=ords, time_in_force=tifs, ack_new=_get(t, where, "ack_new", bool, True),
        ioc_cancel_report=ioc == "cancel_report", settlement_tags=_get(t, where, "settlement_date", bool, False),
        max_order_qty_e2=max_qty * 100, last_look=last_look,
        ack_latency=LatencyDist.parse(f"{where}.ack_latency_us", t.get("ack_latency_us", 0)),
        fill_latency=LatencyDist.parse(f"{where}.fill_latency_us", t.get("fill_latency_us", 0)),
    )


def _names(where: str, key: str, values: list, table: dict) -> frozenset[str]:
    bad = [v for v in values if v not in table]
    if bad or not values:
        raise ConfigError(f"{where}.{key}: {bad or 'empty'}; choose from {', '.join(table)}")
    return frozenset(table[v] for v in values)
