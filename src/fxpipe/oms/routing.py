"""Best-price routing: where an OrderIntent with venue_id 0 goes.

The oms stage keeps each venue's top of book per instrument from the Quote events it already
receives (level 0, firm, in event time: the receive stamp, else the venue's). For an intent to
route, a venue is a candidate when it is in the routing table, its order session is up and
reconciled (the book takes new orders there), and its quote on the side the order takes
(the ask for a buy, the bid for a sell) is present, firm and at most `stale_ms` old at the
stage's event time.

Candidates are ranked by the price the order can expect, with a last-look venue's reject
risk priced in. A venue that holds orders for `hold_ms` and rejects a share `reject_rate_bp`
of them (basis points) fills at its quote with probability 1 - p; otherwise the order comes
back after the hold and is retried at the best firm price among the other candidates (its
own quote when there is none), which by then has moved against the order by the hold's
adverse drift (`adverse_pips_per_s` × hold, in the instrument's pips). For a buy:

    expected = (1 - p) × quote + p × (retry price + drift)          (a sell: - drift, higher wins)

A firm venue (p = 0) expects its quote. So a last-look price that is better than the firm one
by less than what a reject-and-retry costs on average loses to the firm price. Everything is
exact: the comparison is made on `expected × 10_000 × 10_000_000` in integers, no rounding.

Tie-break, in this order (documented, deterministic): the better expected price; then the
lower reject rate; then the shorter hold; then the larger quoted quantity on that side; then
the lower venue id. One order goes to one venue (no split); the quoted size only breaks ties.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fxpipe.model import numbers

BP = 10_000                       # reject rates are in basis points
_DRIFT_SCALE = 1_000 * 10_000     # ms per s × the e4 scale of adverse_pips_per_s
MAX_HOLD_MS = 60_000


class RoutingConfigError(ValueError):
    """A routing table that cannot be used; the message names the field."""


@dataclass(frozen=True)
class VenueRoute:
    """A venue the oms may route to: its last-look hold (0 for a firm venue) and the share of
    orders it rejects, in basis points (500 = 5 %)."""

    venue_id: int
    hold_ms: int = 0
    reject_rate_bp: int = 0


@dataclass(frozen=True)
class RoutingConfig:
    venues: tuple[VenueRoute, ...]
    stale_ms: int = 2000
    adverse_pips_per_s_e4: int = 0     # pips per second of hold, at 1e-4

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RoutingConfig:
        """The stage-config form (JSON-safe): {"stale_ms": 2000, "adverse_pips_per_s": "0.2",
        "venues": [{"venue_id": 2, "hold_ms": 8, "reject_rate_bp": 500}, ...]}."""
        if not isinstance(d, Mapping):
            raise RoutingConfigError(f"routing must be a table, got {type(d).__name__}")
        unknown = sorted(set(d) - {"stale_ms", "adverse_pips_per_s", "venues"})
        if unknown:
            raise RoutingConfigError(f"routing: unknown key {unknown[0]!r}; allowed: adverse_pips_per_s, "
                                     "stale_ms, venues")
        stale = d.get("stale_ms", 2000)
        if type(stale) is not int or stale <= 0:
            raise RoutingConfigError(f"routing.stale_ms must be a whole number of ms > 0, got {stale!r}")
        drift = d.get("adverse_pips_per_s", "0")
        if not isinstance(drift, str):
            raise RoutingConfigError(f"routing.adverse_pips_per_s must be a quoted decimal such as \"0.2\", "
                                     f"got {drift!r}")
        try:
            drift_e4 = numbers.parse_decimal(drift, 4, signed=False, what="adverse_pips_per_s")
        except ValueError as exc:
            raise RoutingConfigError(f"routing.adverse_pips_per_s: {exc}") from None
        venues = d.get("venues", [])
        if not isinstance(venues, list | tuple):
            raise RoutingConfigError(f"routing.venues must be a list, got {type(venues).__name__}")
        routes: list[VenueRoute] = []
        for k, v in enumerate(venues):
            where = f"routing.venues[{k}]"
            if not isinstance(v, Mapping):
                raise RoutingConfigError(f"{where} must be a table, got {type(v).__name__}")
            bad = sorted(set(v) - {"venue_id", "hold_ms", "reject_rate_bp"})
            if bad:
                raise RoutingConfigError(f"{where}: unknown key {bad[0]!r}; allowed: hold_ms, reject_rate_bp, venue_id")
            vid, hold, rate = v.get("venue_id"), v.get("hold_ms", 0), v.get("reject_rate_bp", 0)
            if type(vid) is not int or not 1 <= vid <= 0xFFFF:
                raise RoutingConfigError(f"{where}.venue_id must be a venue id 1..65535, got {vid!r}")
            if type(hold) is not int or not 0 <= hold <= MAX_HOLD_MS:
                raise RoutingConfigError(f"{where}.hold_ms must be a whole number of ms 0..{MAX_HOLD_MS}, "
                                         f"got {hold!r}")
            if type(rate) is not int or not 0 <= rate < BP:
                raise RoutingConfigError(f"{where}.reject_rate_bp must be 0..{BP - 1} basis points, got {rate!r}")
            if any(r.venue_id == vid for r in routes):
                raise RoutingConfigError(f"{where}.venue_id {vid} is listed twice")
            routes.append(VenueRoute(vid, hold, rate))
        return cls(tuple(routes), stale, drift_e4)

    def to_dict(self) -> dict:
        return {"stale_ms": self.stale_ms,
                "adverse_pips_per_s": numbers.format_decimal(self.adverse_pips_per_s_e4, 4),
                "venues": [{"venue_id": r.venue_id, "hold_ms": r.hold_ms, "reject_rate_bp": r.reject_rate_bp}
                           for r in self.venues]}


@dataclass
class _Top:
    bid_px_e8: int
    bid_qty_e2: int
    ask_px_e8: int
    ask_qty_e2: int
    ts_ns: int


class Router:
    """Per-venue top of book and the choice of a venue; pure and deterministic (its state is in
    the oms stage's hash). pip_e8(instrument_id) gives an instrument's pip at 1e-8."""

    def __init__(self, config: RoutingConfig, pip_e8: Callable[[int], int]):
        self.config = config
        self.routes = {r.venue_id: r for r in config.venues}
        self.stale_ns = config.stale_ms * 1_000_000
        self._pip_e8 = pip_e8
        self.now_ns = 0
        self.tops: dict[int, dict[int, _Top]] = {}     # instrument -> venue -> top of book

    def note_time(self, ts_ns: int) -> None:
        if ts_ns > self.now_ns:
            self.now_ns = ts_ns

    def on_quote(self, venue_id: int, instrument_id: int, level: int, indicative: bool, bid_px: int,
                 bid_qty: int, ask_px: int, ask_qty: int, ts_ns: int) -> None:
        self.note_time(ts_ns)
        if level != 0 or venue_id not in self.routes:
            return
        book = self.tops.setdefault(instrument_id, {})
        if indicative:
            book.pop(venue_id, None)      # not a price to trade on
            return
        book[venue_id] = _Top(bid_px, bid_qty, ask_px, ask_qty, ts_ns)

    def market_data_down(self, venue_id: int, ts_ns: int) -> None:
        """A venue's market data stopped: its prices must not survive the reconnect."""
        self.note_time(ts_ns)
        for book in self.tops.values():
            book.pop(venue_id, None)

    def choose(self, instrument_id: int, buy: bool, takes_orders: Callable[[int], bool]) -> int:
        """The venue for an order (0: none can take it)."""
        cands = []
        for venue, top in sorted(self.tops.get(instrument_id, {}).items()):
            px, qty = (top.ask_px_e8, top.ask_qty_e2) if buy else (top.bid_px_e8, top.bid_qty_e2)
            if qty <= 0 or px <= 0 or self.now_ns - top.ts_ns > self.stale_ns or not takes_orders(venue):
                continue
            cands.append((venue, px, qty, self.routes[venue]))
        if not cands:
            return 0
        pip = self._pip_e8(instrument_id)
        best_key: tuple | None = None
        best = 0
        for venue, px, qty, r in cands:
            firm = [p for v, p, _, o in cands if v != venue and o.reject_rate_bp == 0 and o.hold_ms == 0]
            retry = (min(firm) if buy else max(firm)) if firm else px
            drift = r.hold_ms * self.config.adverse_pips_per_s_e4 * pip     # e8 × _DRIFT_SCALE
            p = r.reject_rate_bp
            retry_scaled = retry * _DRIFT_SCALE + (drift if buy else -drift)
            expected = (BP - p) * px * _DRIFT_SCALE + p * retry_scaled      # e8 × BP × _DRIFT_SCALE
            key = (expected if buy else -expected, r.reject_rate_bp, r.hold_ms, -qty, venue)
            if best_key is None or key < best_key:
                best_key, best = key, venue
        return best

    def state_items(self) -> Iterable[tuple[int, int, _Top]]:
        for instr, book in sorted(self.tops.items()):
            for venue, top in sorted(book.items()):
                yield instr, venue, top
