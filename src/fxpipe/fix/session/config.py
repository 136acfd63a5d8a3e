"""FIX session settings from TOML: one [[session]] table per session, [defaults] for all.

    [defaults]                 # any session key; each [[session]] may override it
    heartbeat_s = 30
    store_dir = "var/fix/store"
    [schedules.fx]             # named weekly windows, referred to by `schedule = "fx"`
    timezone = "America/New_York"
    start = "Sunday 17:00"
    end = "Friday 17:00"
    [[session]]
    name = "lp1-orders"
    role = "initiator"         # or "acceptor" (listens on host:port; sessions may share a port)
    sender_comp_id = "FXPIPE"
    target_comp_id = "LP1"
    host = "127.0.0.1"
    port = 9876

Every mistake (unknown key, wrong type, value out of range, duplicate session) is a ConfigError
that names the file, the session and the key, and says what is expected.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from fxpipe.tomlcheck import is_int, is_number, read_toml

from .schedule import AlwaysOpen, ScheduleError, WeeklySchedule
from .store import FsyncPolicy


class ConfigError(ValueError):
    """A settings file that cannot be used; the message says where and what to change."""


@dataclass(frozen=True)
class SessionConfig:
    name: str
    role: str
    sender_comp_id: str
    target_comp_id: str
    host: str
    port: int
    begin_string: str = "FIX.4.2"
    heartbeat_s: int = 30
    reset_on_logon: bool = False
    reset_on_logout: bool = False
    reset_on_disconnect: bool = False
    schedule: WeeklySchedule | AlwaysOpen = AlwaysOpen()
    store_dir: str = "var/fix/store"
    log_dir: str = "var/fix/log"
    fsync: str = "interval"
    fsync_interval_ms: int = 50
    validate: bool = True
    max_latency_s: int = 120      # SendingTime accuracy; 0 turns the check off
    logon_timeout_s: int = 10
    logout_timeout_s: int = 2
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0
    resend_chunk: int = 500       # messages resent per chunk: no resend storm
    max_queued: int = 10_000      # out-of-order messages kept while a gap is filled

    @property
    def store_path(self) -> Path:
        return Path(self.store_dir) / f"{self.sender_comp_id}-{self.target_comp_id}"

    @property
    def is_initiator(self) -> bool:
        return self.role == "initiator"

    @classmethod
    def initiator(cls, sender_comp_id: str, target_comp_id: str, host: str, port: int, state_dir: str | Path,
                  **kw) -> SessionConfig:
        """An initiator session named SENDER-TARGET, its store and message log under
        state_dir/fix-store and state_dir/fix-log (the order gateway's and the feed's way)."""
        return cls(name=f"{sender_comp_id}-{target_comp_id}", role="initiator", sender_comp_id=sender_comp_id,
                   target_comp_id=target_comp_id, host=host, port=port,
                   store_dir=str(Path(state_dir) / "fix-store"), log_dir=str(Path(state_dir) / "fix-log"), **kw)


_TYPES = {
    "name": str, "role": str, "sender_comp_id": str, "target_comp_id": str, "host": str, "port": int,
    "begin_string": str, "heartbeat_s": int, "reset_on_logon": bool, "reset_on_logout": bool,
    "reset_on_disconnect": bool, "schedule": str, "store_dir": str, "log_dir": str, "fsync": str,
    "fsync_interval_ms": int, "validate": bool, "max_latency_s": int, "logon_timeout_s": int,
    "logout_timeout_s": int, "reconnect_min_s": float, "reconnect_max_s": float, "resend_chunk": int,
    "max_queued": int,
}
_REQUIRED = ("name", "role", "sender_comp_id", "target_comp_id", "port")
_BEGIN_STRINGS = ("FIX.4.2",)
assert set(_TYPES) == {f.name for f in fields(SessionConfig)}


def load(path: str | Path) -> list[SessionConfig]:
    """Every session in a settings file, checked."""
    path = Path(path)
    doc = read_toml(path, ConfigError, "no such settings file")
    return parse(doc, str(path))


def parse(doc: dict, where: str = "<settings>") -> list[SessionConfig]:
    unknown = set(doc) - {"defaults", "schedules", "session"}
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {sorted(unknown)}; expected [defaults], [schedules.NAME], [[session]]")
    schedules = {name: _schedule(sched, f"{where} [schedules.{name}]")
                 for name, sched in doc.get("schedules", {}).items()}
    defaults = doc.get("defaults", {})
    _check_keys(defaults, f"{where} [defaults]")
    sessions = doc.get("session", [])
    if not isinstance(sessions, list) or not sessions:
        raise ConfigError(f"{where}: no [[session]] tables; add one per FIX session")
    out: list[SessionConfig] = []
    for i, table in enumerate(sessions, 1):
        label = f"{where} [[session]] #{i}" + (f" {table['name']!r}" if isinstance(table.get("name"), str) else "")
        _check_keys(table, label)
        out.append(_session({**defaults, **table}, schedules, label))
    _check_unique(out, where)
    return out


def _check_keys(table: dict, label: str) -> None:
    for key, value in table.items():
        if key not in _TYPES:
            raise ConfigError(f"{label}: unknown key {key!r}; known keys: {', '.join(sorted(_TYPES))}")
        want = _TYPES[key]
        ok = is_number(value) if want is float else is_int(value) if want is int else isinstance(value, want)
        if not ok:
            raise ConfigError(f"{label}: {key} must be {want.__name__}, got {value!r}")


def _schedule(table: dict, label: str) -> WeeklySchedule:
    missing = [k for k in ("timezone", "start", "end") if k not in table]
    extra = set(table) - {"timezone", "start", "end"}
    if missing or extra:
        raise ConfigError(f"{label}: needs exactly timezone, start and end (missing {missing}, unknown {sorted(extra)})")
    try:
        return WeeklySchedule.parse(table["timezone"], table["start"], table["end"])
    except ScheduleError as exc:
        raise ConfigError(f"{label}: {exc}") from None


def _session(values: dict, schedules: dict, label: str) -> SessionConfig:
    missing = [k for k in _REQUIRED if k not in values]
    if missing:
        raise ConfigError(f"{label}: missing required key(s) {', '.join(missing)}")
    v = dict(values)
    if v["role"] not in ("initiator", "acceptor"):
        raise ConfigError(f"{label}: role must be 'initiator' or 'acceptor', got {v['role']!r}")
    if "host" not in v:
        if v["role"] == "initiator":
            raise ConfigError(f"{label}: an initiator needs host (the venue's address)")
        v["host"] = "127.0.0.1"
    if not 1 <= v["port"] <= 65535:
        raise ConfigError(f"{label}: port must be 1..65535, got {v['port']}")
    for key in ("name", "sender_comp_id", "target_comp_id", "host"):
        if not v[key].strip() or "\x01" in v[key] or ("=" in v[key] and key != "name"):
            raise ConfigError(f"{label}: {key} must be non-empty text without SOH or '=', got {v[key]!r}")
    if v.get("begin_string", "FIX.4.2") not in _BEGIN_STRINGS:
        raise ConfigError(f"{label}: begin_string must be one of {_BEGIN_STRINGS}, got {v['begin_string']!r}")
    if v.get("fsync", "interval") not in [p.value for p in FsyncPolicy]:
        raise ConfigError(f"{label}: fsync must be always, interval or never, got {v['fsync']!r}")
    for key, low in (("heartbeat_s", 1), ("fsync_interval_ms", 1), ("max_latency_s", 0), ("logon_timeout_s", 1),
                     ("logout_timeout_s", 1), ("resend_chunk", 1), ("max_queued", 1)):
        if key in v and v[key] < low:
            raise ConfigError(f"{label}: {key} must be >= {low}, got {v[key]}")
    if v.get("reconnect_min_s", 1.0) <= 0 or v.get("reconnect_max_s", 30.0) < v.get("reconnect_min_s", 1.0):
        raise ConfigError(f"{label}: need 0 < reconnect_min_s <= reconnect_max_s")
    if "schedule" in v:
        name = v["schedule"]
        if name == "always":
            v["schedule"] = AlwaysOpen()
        elif name in schedules:
            v["schedule"] = schedules[name]
        else:
            raise ConfigError(f"{label}: schedule {name!r} is not defined; add [schedules.{name}] or use 'always'")
    v = {k: float(x) if _TYPES[k] is float else x for k, x in v.items()}
    return SessionConfig(**v)


def _check_unique(sessions: list[SessionConfig], where: str) -> None:
    names, pairs = set(), set()
    for s in sessions:
        if s.name in names:
            raise ConfigError(f"{where}: session name {s.name!r} is used twice")
        pair = (s.sender_comp_id, s.target_comp_id)
        if pair in pairs:
            raise ConfigError(f"{where}: two sessions are {pair[0]} -> {pair[1]}; comp id pairs must be unique")
        names.add(s.name)
        pairs.add(pair)
