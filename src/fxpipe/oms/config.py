"""The desk's OMS configuration (config/oms.toml): the order sessions with the venues, routing,
the request timeout and the journal's fsync policy, validated on load with errors that name the
file, the key and what to write instead.

    [oms]
    prefix = 1                      # ClOrdID prefix of this OMS, 1..9223370
    request_timeout_ms = 2000       # no answer in this time: the order is UNKNOWN (0: never)
    fsync = "every:64/10ms"         # the journal: never | every-record | every:N | every:/Tms | every:N/Tms
    session_fsync = "interval"      # the FIX session stores: always | interval | never
    refdata = "refdata.toml"        # relative to this file
    risk = "risk.toml"
    accounting = "average"          # average | fifo

    [routing]                       # where an intent with venue_id 0 goes (fxpipe.oms.routing)
    stale_ms = 2000                 # a quote older than this (event time) is no route
    adverse_pips_per_s = "0.16"     # how far the market moves against an order per second of hold

    [venues.LP1]                    # a venue of the reference data, by name
    id = 2                          # its id there (checked)
    kind = "lp"                     # ecn | lp, as in the reference data (checked)
    host = "127.0.0.1"
    port = 9879
    sender_comp_id = "FXPIPE"
    target_comp_id = "LP1"
    account = "FXPIPE"              # Account (1) on new orders (lp)
    heartbeat_s = 30
    route = true                    # a candidate for venue-0 intents
    last_look_hold_ms = 8           # routing: the venue's hold (0: firm)
    reject_rate = "0.05"            # routing: the share of orders it rejects after the hold

`load_oms_config(path)` returns an `OmsConfig`: `.venues` (VenueLinks for the OrderGateway),
`.stage_config` (the OmsStage keyword arguments, reference data and limits text included),
`.request_timeout_ms`, `.fsync` (the journal's policy), `.session_fsync`.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from fxpipe.configdir import config_file
from fxpipe.journal.policy import FsyncPolicy
from fxpipe.model import numbers
from fxpipe.model.refdata import RefData, parse_refdata
from fxpipe.oms.enums import MAX_OMS_PREFIX
from fxpipe.oms.gateway import VenueLink
from fxpipe.oms.routing import BP, MAX_HOLD_MS
from fxpipe.oms.venues.adapters import ADAPTERS
from fxpipe.risk.limits import RiskConfigError, parse_limits
from fxpipe.tomlcheck import is_int, read_text

DEFAULT_PATH = config_file("oms.toml")
_OMS_KEYS = {"prefix", "request_timeout_ms", "fsync", "session_fsync", "refdata", "risk", "accounting"}
_ROUTING_KEYS = {"stale_ms", "adverse_pips_per_s"}
_VENUE_KEYS = {"id", "kind", "host", "port", "sender_comp_id", "target_comp_id", "account",
               "heartbeat_s", "route", "last_look_hold_ms", "reject_rate"}
_SESSION_FSYNC = ("always", "interval", "never")
_ACCOUNTING = ("average", "fifo")


class OmsConfigError(ValueError):
    """An OMS configuration that cannot be used; the message names file, key and the fix."""


@dataclass(frozen=True)
class OmsConfig:
    venues: list[VenueLink]
    stage_config: dict[str, Any]
    request_timeout_ms: int
    fsync: str
    session_fsync: str = "interval"
    source: str = ""
    routes: list[dict[str, int]] = field(default_factory=list)


def load_oms_config(path: str | os.PathLike | None = None) -> OmsConfig:
    """Read and validate an OMS configuration (default: $FXPIPE_OMS or config/oms.toml)."""
    path = Path(path or os.environ.get("FXPIPE_OMS") or DEFAULT_PATH)
    text = read_text(path, OmsConfigError, "no such OMS configuration file; pass another path or set FXPIPE_OMS")
    return parse_oms_config(text, str(path), base_dir=path.parent)


def parse_oms_config(text: str, source: str = "<string>", base_dir: Path | None = None) -> OmsConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OmsConfigError(f"{source}: not valid TOML: {exc}") from None
    return _Reader(source, base_dir or Path.cwd()).read(doc)


class _Reader:
    def __init__(self, source: str, base_dir: Path):
        self.source = source
        self.base_dir = base_dir

    def fail(self, key: str, problem: str) -> NoReturn:
        raise OmsConfigError(f"{self.source}: {key}: {problem}")

    def table(self, t: Any, key: str, allowed: set[str], required: bool = False) -> dict:
        if t is None:
            if required:
                self.fail(key, f"missing table [{key}]")
            return {}
        if not isinstance(t, dict):
            self.fail(key, f"must be a table ([{key}]), got {type(t).__name__} {t!r}")
        for k in sorted(t):
            if k not in allowed:
                self.fail(f"{key}.{k}", f"unknown key; allowed keys: {', '.join(sorted(allowed))}")
        return t

    def integer(self, t: dict, key: str, name: str, default: int | None, low: int, high: int) -> int:
        v = t.get(name, default)
        if v is None:
            self.fail(f"{key}.{name}", f"missing; write a whole number {low}..{high}")
        if not is_int(v) or not low <= v <= high:
            self.fail(f"{key}.{name}", f"must be a whole number {low}..{high}, got {v!r}")
        return int(v)

    def text(self, t: dict, key: str, name: str, default: str | None) -> str:
        v = t.get(name, default)
        if v is None:
            self.fail(f"{key}.{name}", "missing; write a quoted string")
        if not isinstance(v, str):
            self.fail(f"{key}.{name}", f"must be a quoted string, got {v!r}")
        return v

    def file_text(self, t: dict, name: str, default: str) -> tuple[str, str]:
        rel = self.text(t, "oms", name, default)
        p = Path(rel) if Path(rel).is_absolute() else self.base_dir / rel
        try:
            return p.read_text(encoding="utf-8"), str(p)
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(f"oms.{name}", f"cannot read {p}: {exc.strerror if isinstance(exc, OSError) else exc}")

    def read(self, doc: dict) -> OmsConfig:
        unknown = sorted(set(doc) - {"oms", "routing", "venues"})
        if unknown:
            self.fail(unknown[0], "unknown table; allowed: [oms], [routing], [venues.NAME]")
        oms = self.table(doc.get("oms"), "oms", _OMS_KEYS, required=True)
        prefix = self.integer(oms, "oms", "prefix", None, 1, MAX_OMS_PREFIX)
        timeout = self.integer(oms, "oms", "request_timeout_ms", 2000, 0, 3_600_000)
        fsync = self.text(oms, "oms", "fsync", "never")
        try:
            FsyncPolicy.parse(fsync)
        except ValueError as exc:
            self.fail("oms.fsync", str(exc))
        session_fsync = self.text(oms, "oms", "session_fsync", "interval")
        if session_fsync not in _SESSION_FSYNC:
            self.fail("oms.session_fsync", f"must be one of {', '.join(_SESSION_FSYNC)}, got {session_fsync!r}")
        accounting = self.text(oms, "oms", "accounting", "average")
        if accounting not in _ACCOUNTING:
            self.fail("oms.accounting", f"must be one of {', '.join(_ACCOUNTING)}, got {accounting!r}")
        refdata_text, refdata_path = self.file_text(oms, "refdata", "refdata.toml")
        try:
            refdata = parse_refdata(refdata_text, refdata_path)
        except ValueError as exc:
            self.fail("oms.refdata", str(exc))
        limits_text, limits_path = self.file_text(oms, "risk", "risk.toml")
        try:
            parse_limits(limits_text, refdata, limits_path)
        except RiskConfigError as exc:
            self.fail("oms.risk", str(exc))
        routing = self.table(doc.get("routing"), "routing", _ROUTING_KEYS)
        stale = self.integer(routing, "routing", "stale_ms", 2000, 1, 3_600_000)
        drift = routing.get("adverse_pips_per_s", "0")
        if not isinstance(drift, str | int) or isinstance(drift, bool):
            self.fail("routing.adverse_pips_per_s", f"must be a quoted decimal such as \"0.16\", got {drift!r}")
        try:
            numbers.parse_decimal(str(drift), 4, signed=False, what="pips per second")
        except ValueError as exc:
            self.fail("routing.adverse_pips_per_s", f"{exc} (write it as a quoted decimal such as \"0.16\")")
        venues_t = doc.get("venues", {})
        if not isinstance(venues_t, dict) or not venues_t:
            self.fail("venues", "at least one venue table is needed ([venues.NAME], NAME from the reference data)")
        links: list[VenueLink] = []
        routes: list[dict[str, int]] = []
        for name in sorted(venues_t):
            link, route = self.venue(name, venues_t[name], refdata)
            if any(v.port == link.port and v.host == link.host for v in links):
                self.fail(f"venues.{name}.port", f"{link.host}:{link.port} is already another venue's")
            links.append(link)
            if route is not None:
                routes.append(route)
        links.sort(key=lambda v: v.venue_id)
        routes.sort(key=lambda r: r["venue_id"])
        stage_config: dict[str, Any] = {
            "refdata_text": refdata_text, "limits_text": limits_text, "prefix": prefix,
            "request_timeout_ms": timeout, "accounting": accounting,
            "routing": {"stale_ms": stale, "adverse_pips_per_s": str(drift), "venues": routes}}
        return OmsConfig(links, stage_config, timeout, fsync, session_fsync, self.source, routes)

    def venue(self, name: str, t: Any, refdata: RefData) -> tuple[VenueLink, dict[str, int] | None]:
        key = f"venues.{name}"
        if name not in refdata.venues:
            self.fail(key, f"unknown venue; the reference data defines {', '.join(refdata.venues)}")
        if not isinstance(t, dict):
            self.fail(key, f"must be a table ([{key}]), got {type(t).__name__} {t!r}")
        self.table(t, key, _VENUE_KEYS)
        ref = refdata.venues[name]
        vid = self.integer(t, key, "id", None, 1, 0xFFFF)
        if vid != ref.id:
            self.fail(f"{key}.id", f"the reference data gives {name} id {ref.id}, not {vid}")
        kind = self.text(t, key, "kind", None)
        if kind not in ADAPTERS:
            self.fail(f"{key}.kind", f"must be one of {', '.join(ADAPTERS)}, got {kind!r}")
        if kind != ref.kind:
            self.fail(f"{key}.kind", f"the reference data says {name} is {ref.kind!r}, not {kind!r}")
        host = self.text(t, key, "host", "127.0.0.1")
        port = self.integer(t, key, "port", None, 1, 65535)
        sender = self.text(t, key, "sender_comp_id", "FXPIPE")
        target = self.text(t, key, "target_comp_id", None)
        for k, v in (("host", host), ("sender_comp_id", sender), ("target_comp_id", target)):
            if not v or any(c.isspace() or c == "\x01" for c in v):
                self.fail(f"{key}.{k}", f"must be a non-empty name without spaces, got {v!r}")
        account = self.text(t, key, "account", "FXPIPE" if kind == "lp" else "")
        heartbeat = self.integer(t, key, "heartbeat_s", 30, 1, 3600)
        route = t.get("route", True)
        if not isinstance(route, bool):
            self.fail(f"{key}.route", f"must be true or false, got {route!r}")
        hold = self.integer(t, key, "last_look_hold_ms", 0, 0, MAX_HOLD_MS)
        rate = t.get("reject_rate", "0")
        if not isinstance(rate, str | int) or isinstance(rate, bool):
            self.fail(f"{key}.reject_rate", f"must be a quoted decimal share such as \"0.05\", got {rate!r}")
        try:
            rate_bp = numbers.parse_decimal(str(rate), 4, signed=False, what="reject rate")
        except ValueError as exc:
            self.fail(f"{key}.reject_rate", f"{exc} (a share with at most 4 decimals, such as \"0.05\")")
        if rate_bp >= BP:
            self.fail(f"{key}.reject_rate", f"must be below 1 (every order rejected is no route), got {rate!r}")
        link = VenueLink(vid, port, target, sender_comp_id=sender, kind=kind, host=host,
                         heartbeat_s=heartbeat, account=account)
        if not route:
            return link, None
        return link, {"venue_id": vid, "hold_ms": hold, "reject_rate_bp": rate_bp}
