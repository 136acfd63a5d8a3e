"""The venue simulator's settings file (config/venues.toml): the market, the FIX session
settings, the control port, and one `[venues.NAME]` table per venue (profile, binary feed,
faults armed at start).

    [market]    seed, pairs, pace ("wall" | "step"), rate, step_updates, [market.process] (shape of
                the walk, see prices.ProcessParams); recorded quotes instead: replay (a CSV file)
                or replay_journal (an fxpipe journal, with replay_venue, replay_instruments),
                replay_speed, replay_loop; run_id (in every OrderID and ExecID; default: from
                the start time) and start_time (the venue clock's start, ISO-8601 UTC)
    [session]   fxpipe FIX session keys for every venue session (heartbeat_s, store_dir, ...)
    [control]   port: the loopback TCP port that takes fault commands (0 picks one)
    [venues.X]  the profile keys (profiles.py), plus [venues.X.feed] and faults = ["..."]
    [profiles.P] named overrides of any of the above (`[profiles.stress.market.process]`,
                `[profiles.stress.venues.lp]`, ...), applied with `fxpipe venue --profile P`

Every error names the file and key and says what to write instead.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from fxpipe.fix.session import config as fixcfg
from fxpipe.model.refdata import RefData, RefDataError, load_refdata
from fxpipe.tomlcheck import is_int, is_number, read_toml
from fxpipe.venue import faults as faultspec
from fxpipe.venue import pairs as pairdata
from fxpipe.venue.journal_replay import resolve
from fxpipe.venue.pairs import Pair, UnknownSymbol, subset
from fxpipe.venue.prices import ProcessParams
from fxpipe.venue.profiles import ConfigError, Profile, parse_profile
from fxpipe.venue.replay import ReplayError

MARKET_KEYS = {"seed", "refdata", "pairs", "pace", "rate", "step_updates", "replay", "replay_journal", "replay_venue",
               "replay_instruments", "replay_speed", "replay_loop", "process", "run_id", "start_time"}
RUN_ID = re.compile(r"[A-Za-z0-9]{1,16}")
FEED_KEYS = {"channel_id", "destinations", "snapshot_port", "heartbeat_ms", "stream_id"}
SESSION_DEFAULTS = {"heartbeat_s": 30, "store_dir": "var/venue/store", "log_dir": "var/venue/log",
                    "fsync": "never", "reset_on_logon": True, "schedule": "always"}


@dataclass(frozen=True)
class MarketConfig:
    seed: int = 1
    refdata: str | None = None  # reference-data TOML; None: fxpipe's default (config/refdata.toml)
    pairs: tuple[str, ...] | None = None
    pace: str = "wall"
    rate: float = 1000.0
    step_updates: int = 1
    replay: str | None = None  # a quote CSV (replay.py)
    replay_journal: str | None = None  # an fxpipe journal directory (journal_replay.py)
    replay_venue: str | int | None = None  # journal: only this venue's quotes (reference-data name or id)
    replay_instruments: tuple[str, ...] | None = None  # journal: only these instruments
    replay_speed: float = 1.0
    replay_loop: bool = False
    process: ProcessParams = ProcessParams()
    run_id: str | None = None  # None: derived from the start time (unique per run)
    start_time_ns: int | None = None  # the venue clock starts here (None: now)


@dataclass(frozen=True)
class FeedConfig:
    channel_id: int
    destinations: tuple[tuple[str, int], ...]
    snapshot_port: int
    heartbeat_ms: float = 500.0
    stream_id: int | None = None


@dataclass
class VenueConfig:
    profile: Profile
    feed: FeedConfig | None
    faults: list[faultspec.Fault]
    sessions: list  # fxpipe.fix.session.config.SessionConfig, one per client


@dataclass
class SimConfig:
    path: str
    market: MarketConfig
    refdata: RefData
    venues: list[VenueConfig] = field(default_factory=list)
    control_port: int | None = None


def load(path: str | Path, profile_name: str | None = None) -> SimConfig:
    path = Path(path)
    doc = read_toml(path, ConfigError, "no such file; see config/venues.toml for an example")
    try:
        return parse(doc, str(path), profile_name)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def apply_profile(doc: dict, name: str | None) -> dict:
    """The document with named profile `name` ([profiles.NAME]) laid over it, key by key;
    without a name, the document without its profiles."""
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError("[profiles] holds one table per named profile, e.g. [profiles.stress.market.process]")
    base = {k: v for k, v in doc.items() if k != "profiles"}
    if name is None:
        return base
    if name not in profiles or not isinstance(profiles[name], dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"no profile {name!r}; profiles in this file: {known}")
    return _overlay(base, profiles[name], f"profiles.{name}")


def _overlay(base: dict, over: dict, where: str) -> dict:
    out = dict(base)
    for k, v in over.items():
        if where.endswith(".venues") and k not in base:
            raise ConfigError(f"{where}.{k}: no venue {k!r} in this file's [venues]")
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            out[k] = _overlay(base[k], v, f"{where}.{k}")
        else:
            out[k] = v
    return out


def parse(doc: dict, where: str = "<config>", profile_name: str | None = None) -> SimConfig:
    unknown = set(doc) - {"market", "session", "control", "venues", "profiles"}
    if unknown:
        raise ConfigError(f"unknown tables {sorted(unknown)}; expected [market], [session], [control], "
                          "[venues.NAME], [profiles.NAME]")
    doc = apply_profile(doc, profile_name)
    market = _market(doc.get("market", {}))
    try:
        refdata = load_refdata(market.refdata)
        pairs = pairdata.load(refdata, list(market.pairs) if market.pairs else None)
    except RefDataError as exc:
        raise ConfigError(f"market.refdata: {exc}") from None
    except UnknownSymbol as exc:
        raise ConfigError(f"market.pairs: {exc}") from None
    check_replay(market, refdata, pairs)
    venues_doc = doc.get("venues", {})
    if not isinstance(venues_doc, dict) or not venues_doc:
        raise ConfigError("no venues: add at least one [venues.NAME] table")
    session_defaults = {**SESSION_DEFAULTS, **doc.get("session", {})}
    cfg = SimConfig(where, market, refdata)
    ports: dict[int, str] = {}
    comp_ids: set[str] = set()
    channels: dict[int, str] = {}
    for name, table in venues_doc.items():
        if not isinstance(table, dict):
            raise ConfigError(f"venues.{name} must be a table")
        profile = parse_profile(name, {k: v for k, v in table.items()})
        _check_pairs(name, profile, pairs)
        if profile.port in ports:
            raise ConfigError(f"venues.{name}.port {profile.port} is also venue {ports[profile.port]}'s port")
        ports[profile.port] = name
        if profile.comp_id in comp_ids:
            raise ConfigError(f"venues.{name}.comp_id {profile.comp_id!r} is used by another venue")
        comp_ids.add(profile.comp_id)
        feed = _feed(name, table.get("feed"))
        if feed is not None:
            if feed.channel_id in channels:
                raise ConfigError(f"venues.{name}.feed.channel_id {feed.channel_id} is also {channels[feed.channel_id]}'s")
            channels[feed.channel_id] = name
        specs = table.get("faults", [])
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise ConfigError(f"venues.{name}.faults: a list of fault specs, e.g. [\"drop at_s=30\"]")
        armed = []
        for s in specs:
            try:
                armed.append(faultspec.parse(s))
            except faultspec.FaultSpecError as exc:
                raise ConfigError(f"venues.{name}.faults: {exc}") from None
        overrides = table.get("session", {})
        sessions = _sessions(name, profile, {**session_defaults, **overrides})
        cfg.venues.append(VenueConfig(profile, feed, armed, sessions))
    ctl = doc.get("control", {})
    if ctl:
        extra = set(ctl) - {"port"}
        port = ctl.get("port")
        if extra or not is_int(port) or not 0 <= port < 65536:
            raise ConfigError("[control] takes one key, port (0 picks a free port)")
        cfg.control_port = port
    return cfg


def _market(t: dict) -> MarketConfig:
    unknown = set(t) - MARKET_KEYS
    if unknown:
        raise ConfigError(f"market: unknown keys {sorted(unknown)}; known: {sorted(MARKET_KEYS)}")
    m = MarketConfig()
    vals = {}
    for f in fields(MarketConfig):
        if f.name in t and f.name not in ("process", "start_time_ns"):
            vals[f.name] = t[f.name]
    if "run_id" in vals and (not isinstance(vals["run_id"], str) or not RUN_ID.fullmatch(vals["run_id"])):
        raise ConfigError(f"market.run_id: 1 to 16 letters or digits, got {vals['run_id']!r}")
    if "start_time" in t:
        vals["start_time_ns"] = parse_start_time(t["start_time"], "market.start_time")
    if "seed" in vals and (not is_int(vals["seed"]) or vals["seed"] < 0):
        raise ConfigError(f"market.seed must be an integer >= 0, got {vals['seed']!r}")
    if vals.get("pace", "wall") not in ("wall", "step"):
        raise ConfigError(f"market.pace: \"wall\" (rate per second) or \"step\" (moves per inbound message), got {vals['pace']!r}")
    for key in ("rate", "replay_speed"):
        v = vals.get(key, 1.0)
        if not is_number(v) or v < 0:
            raise ConfigError(f"market.{key} must be a number >= 0, got {v!r}")
    if "step_updates" in vals and (not isinstance(vals["step_updates"], int) or vals["step_updates"] < 0):
        raise ConfigError("market.step_updates must be an integer >= 0")
    if "pairs" in vals:
        if not isinstance(vals["pairs"], list) or not all(isinstance(s, str) for s in vals["pairs"]):
            raise ConfigError("market.pairs: a list like [\"EUR/USD\", \"USD/JPY\"]")
        vals["pairs"] = tuple(vals["pairs"])
    if "refdata" in vals and not isinstance(vals["refdata"], str):
        raise ConfigError("market.refdata: the path of a reference-data TOML file")
    for key in ("replay", "replay_journal"):
        if key in vals and not isinstance(vals[key], str):
            raise ConfigError(f"market.{key}: a path, e.g. \"{'quotes.csv' if key == 'replay' else 'var/journal/md'}\"")
    if "replay_venue" in vals and (isinstance(vals["replay_venue"], bool)
                                   or not isinstance(vals["replay_venue"], str | int)):
        raise ConfigError("market.replay_venue: a venue of the reference data, by name (\"ECN1\") or id")
    if "replay_instruments" in vals:
        insts = vals["replay_instruments"]
        if not isinstance(insts, list) or not insts or not all(isinstance(s, str) for s in insts):
            raise ConfigError("market.replay_instruments: a non-empty list like [\"EUR/USD\", \"USD/JPY\"]")
        vals["replay_instruments"] = tuple(insts)
    if "replay_loop" in vals and not isinstance(vals["replay_loop"], bool):
        raise ConfigError("market.replay_loop: true or false")
    proc = t.get("process", {})
    known = {f.name for f in fields(ProcessParams)}
    if set(proc) - known:
        raise ConfigError(f"market.process: unknown keys {sorted(set(proc) - known)}; known: {sorted(known)}")
    try:
        params = ProcessParams(**{k: float(v) for k, v in proc.items()})
        params.check()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"market.process: {exc}") from None
    vals["rate"] = float(vals.get("rate", m.rate))
    vals["replay_speed"] = float(vals.get("replay_speed", m.replay_speed))
    return MarketConfig(**{**vals, "process": params})


def parse_start_time(v, where: str) -> int:
    """An instant as ISO-8601 UTC text ("2024-03-04T21:59:58Z") or integer epoch ns."""
    if is_int(v) and v > 0:
        return int(v)
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, str):
        try:
            d = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            d = None
    else:
        d = None
    if d is None or d.tzinfo is None:
        raise ConfigError(f"{where}: an ISO-8601 UTC time like \"2024-03-04T21:59:58Z\" or epoch ns, got {v!r}")
    return int(d.timestamp() * 1_000_000) * 1000


def check_replay(m: MarketConfig, refdata: RefData, pairs: tuple[Pair, ...] | None = None) -> None:
    """The replay settings fit together and name what the reference data and the market have
    (the sources themselves are read when the simulator starts)."""
    if m.replay and m.replay_journal:
        raise ConfigError("market.replay (a CSV file) and market.replay_journal (a journal): choose one source")
    if not m.replay_journal:
        for key in ("replay_venue", "replay_instruments"):
            if getattr(m, key) is not None:
                raise ConfigError(f"market.{key} selects quotes of market.replay_journal; set that too, or remove it")
        return
    if pairs is None:
        pairs = pairdata.load(refdata, list(m.pairs) if m.pairs else None)
    try:
        resolve(refdata, pairs, m.replay_venue, m.replay_instruments)
    except ReplayError as exc:
        raise ConfigError(f"market.{exc}") from None


def _check_pairs(name: str, profile: Profile, pairs: tuple[Pair, ...]) -> None:
    try:
        subset(pairs, list(profile.pairs) if profile.pairs else None)
    except UnknownSymbol as exc:
        raise ConfigError(f"venues.{name}.pairs: {exc}; add it to market.pairs (and the reference data)") from None


def _feed(name: str, t) -> FeedConfig | None:
    if t is None:
        return None
    where = f"venues.{name}.feed"
    if not isinstance(t, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(t) - FEED_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(FEED_KEYS)}")
    for key in ("channel_id", "destinations", "snapshot_port"):
        if key not in t:
            raise ConfigError(f"{where}: missing {key}")
    ch = t["channel_id"]
    if not is_int(ch) or not 1 <= ch <= 65535:
        raise ConfigError(f"{where}.channel_id must be 1..65535")
    dests = []
    for d in t["destinations"]:
        host, _, port = str(d).rpartition(":")
        if host not in ("127.0.0.1", "localhost") or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{where}.destinations: {d!r}; write \"127.0.0.1:PORT\" (the simulator sends on loopback only)")
        dests.append(("127.0.0.1", int(port)))
    sp = t["snapshot_port"]
    if not is_int(sp) or not 0 <= sp < 65536:
        raise ConfigError(f"{where}.snapshot_port must be 0..65535 (0 picks a free port)")
    hb = t.get("heartbeat_ms", 500.0)
    if not is_number(hb) or hb <= 0:
        raise ConfigError(f"{where}.heartbeat_ms must be a number > 0")
    sid = t.get("stream_id")
    if sid is not None and (not is_int(sid) or not 0 < sid < 2**32):
        raise ConfigError(f"{where}.stream_id must be 1..4294967295 (default: derived from the start time)")
    return FeedConfig(ch, tuple(dests), sp, float(hb), sid)


def _sessions(name: str, profile: Profile, settings: dict) -> list:
    tables = [{**settings, "name": f"{name}-{client}", "role": "acceptor", "sender_comp_id": profile.comp_id,
               "target_comp_id": client, "host": "127.0.0.1", "port": profile.port} for client in profile.clients]
    try:
        return fixcfg.parse({"session": tables}, f"venues.{name}")
    except fixcfg.ConfigError as exc:
        raise ConfigError(f"venues.{name} session settings: {exc}") from None
