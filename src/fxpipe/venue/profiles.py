"""Venue profiles: how one simulated venue behaves, read from a `[venues.NAME]` table.

A profile is the set of habits an OMS has to cope with: the symbol format (`EUR/USD` or
`EURUSD`), which tags an order must carry, the order types and times in force accepted,
whether an order may count the terms currency, whether a new order is acknowledged before it
fills, whether cancels and replaces are acknowledged first (Pending Cancel / Pending Replace),
last look (hold-time distribution, tolerance, what price improvement is passed on), how an IOC
remainder is cancelled, whether working orders are cancelled when the session drops, whether
reports carry a settlement date, the depth and sizes of the liquidity shown and how fast taken
liquidity refills, and the latency of acks and fills. Latencies and hold times are drawn from
seeded distributions so two runs with the same seed wait the same times.
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
    def parse(cls, where: str, spec, unit: str = "us") -> LatencyDist:
        """`250` (fixed, in `unit`) or a table: {dist="lognormal", median_us=200, sigma=0.5},
        {dist="uniform", min_us=50, max_us=400}, {dist="exponential", mean_us=300},
        {dist="fixed", us=100}; any may add cap_us. With unit "ms" the keys say ms
        (median_ms, ...) and the values are milliseconds."""
        scale = 1000.0 if unit == "ms" else 1.0
        if is_number(spec):
            return cls("fixed", _nonneg(where, spec) * scale)
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: give {unit} or a table like "
                              f"{{dist=\"lognormal\", median_{unit}=20, sigma=0.5}}")
        d = spec.get("dist", "fixed")
        cap = _nonneg(f"{where}.cap_{unit}", spec.get(f"cap_{unit}", 1e9 / scale)) * scale
        keys = {"fixed": (unit,), "uniform": (f"min_{unit}", f"max_{unit}"), "exponential": (f"mean_{unit}",),
                "lognormal": (f"median_{unit}", "sigma")}
        if d not in keys:
            raise ConfigError(f"{where}.dist: {d!r} is not one of {', '.join(keys)}")
        unknown = set(spec) - set(keys[d]) - {"dist", f"cap_{unit}"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} for dist {d!r} (expected {keys[d]})")
        vals = []
        for k in keys[d]:
            if k not in spec:
                raise ConfigError(f"{where}: dist {d!r} needs {k}")
            vals.append(_nonneg(f"{where}.{k}", spec[k]) * (1.0 if k == "sigma" else scale))
        if d == "uniform" and vals[1] < vals[0]:
            raise ConfigError(f"{where}: max_{unit} {vals[1] / scale} is below min_{unit} {vals[0] / scale}")
        return cls(d, vals[0], vals[1] if len(vals) > 1 else 0.0, cap)


def _nonneg(where: str, v) -> float:
    if not is_number(v) or v < 0 or math.isnan(v):
        raise ConfigError(f"{where}: expected a number >= 0, got {v!r}")
    return float(v)


PRICE_IMPROVEMENT = ("none", "symmetric")
LAST_LOOK_ACK = ("decision", "hold")
REFUSED_AFTER_ACK = ("canceled", "rejected")


@dataclass(frozen=True)
class LastLook:
    """How an LP holds and decides an order. It fills at the requested price (the order's
    limit; a market order's: the price it could deal at on arrival) or rejects; never at a
    worse price. `tolerance_pips`: how far its own price may have moved against the request
    by the decision and it still fills. `price_improvement`: "none" keeps a favourable move
    (the fill is at the requested price: asymmetric), "symmetric" passes it on (each level
    fills at its own price when better than requested). `ack`: with ack_new, "decision" sends
    the New right before the fills and none before a refusal; "hold" sends it on arrival, and
    then a refusal is a Canceled (or a Rejected with refused_after_ack = "rejected")."""

    hold: LatencyDist
    tolerance_pips: float
    price_improvement: str = "none"
    ack: str = "decision"
    refused_after_ack: str = "canceled"


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
    terms_currency: str = "reject"  # "deal": an order may count OrderQty in the terms currency
    refill_ns: int = 0  # how long an emptied ladder level takes to refill (0: at the next price update)
    ack_requests: bool = False  # Pending Cancel / Pending Replace before a cancel or replace is applied
    cancel_on_disconnect: bool = False  # a session's working orders are cancelled when it drops
    stale_orig_unknown: bool = False  # OrigClOrdID of an earlier link of a replace chain: "unknown order"
    last_look: LastLook | None = None
    ack_latency: LatencyDist = LatencyDist()
    fill_latency: LatencyDist = LatencyDist()


_PROFILE_KEYS = {
    "port", "comp_id", "clients", "symbol_format", "pairs", "depth", "level_step_ticks", "level_sizes",
    "markup_ticks", "required_tags", "order_types", "time_in_force", "ack_new", "ioc_remainder",
    "settlement_date", "max_order_qty", "last_look", "ack_latency_us", "fill_latency_us", "feed",
    "faults", "session", "terms_currency", "refill_ms", "ack_requests", "cancel_on_disconnect", "stale_orig_cl_ord_id",
}
LAST_LOOK_KEYS = {"hold_ms", "tolerance_pips", "price_improvement", "ack", "refused_after_ack"}


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
    last_look = _last_look(where, _get(t, where, "last_look", dict))
    max_qty = _get(t, where, "max_order_qty", int, 50_000_000)
    terms = _choice(where, t, "terms_currency", ("reject", "deal"))
    stale = _choice(where, t, "stale_orig_cl_ord_id", ("accept", "unknown"))
    refill_ms = _nonneg(f"{where}.refill_ms", t.get("refill_ms", 0))
    return Profile(
        name=name, port=port, comp_id=_get(t, where, "comp_id", str, name.upper()), clients=clients,
        symbol_format=symbol_format, pairs=tuple(pairs) if pairs else None, depth=depth,
        level_step_ticks=step, level_sizes_e2=tuple(s * 100 for s in sizes[:depth]), markup_ticks=markup,
        required_tags=req, order_types=ords, time_in_force=tifs, ack_new=_get(t, where, "ack_new", bool, True),
        ioc_cancel_report=ioc == "cancel_report", settlement_tags=_get(t, where, "settlement_date", bool, False),
        max_order_qty_e2=max_qty * 100, last_look=last_look, terms_currency=terms,
        refill_ns=int(refill_ms * 1_000_000), ack_requests=_get(t, where, "ack_requests", bool, False),
        cancel_on_disconnect=_get(t, where, "cancel_on_disconnect", bool, False),
        stale_orig_unknown=stale == "unknown",
        ack_latency=LatencyDist.parse(f"{where}.ack_latency_us", t.get("ack_latency_us", 0)),
        fill_latency=LatencyDist.parse(f"{where}.fill_latency_us", t.get("fill_latency_us", 0)),
    )


def _choice(where: str, t: dict, key: str, allowed: tuple[str, ...]) -> str:
    v = t.get(key, allowed[0])
    if v not in allowed:
        raise ConfigError(f"{where}.{key}: {v!r}; choose one of {', '.join(repr(a) for a in allowed)}")
    return v


def _last_look(where: str, ll: dict | None) -> LastLook | None:
    if ll is None:
        return None
    where = f"{where}.last_look"
    extra = set(ll) - LAST_LOOK_KEYS
    if extra:
        raise ConfigError(f"{where}: unknown keys {sorted(extra)} ({', '.join(sorted(LAST_LOOK_KEYS))})")
    return LastLook(LatencyDist.parse(f"{where}.hold_ms", ll.get("hold_ms", 0), unit="ms"),
                    _nonneg(f"{where}.tolerance_pips", ll.get("tolerance_pips", 0)),
                    _choice(where, ll, "price_improvement", PRICE_IMPROVEMENT),
                    _choice(where, ll, "ack", LAST_LOOK_ACK),
                    _choice(where, ll, "refused_after_ack", REFUSED_AFTER_ACK))


def _names(where: str, key: str, values: list, table: dict) -> frozenset[str]:
    bad = [v for v in values if v not in table]
    if bad or not values:
        raise ConfigError(f"{where}.{key}: {bad or 'empty'}; choose from {', '.join(table)}")
    return frozenset(table[v] for v in values)
