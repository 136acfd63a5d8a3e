"""Structured logs for the people who run the book: one JSON object per line (ts, level,
logger, msg, fields), so a log shipper or `jq` reads them without a parser of our own, and
alarms: a named kind, a line at ERROR level and every registered hook called (the runtime and
the persistence sink raise consumer_lag, session_down, questdb_down, worker_dead through it).

Logging is off the hot path: stages never log per event; the supervisor, the journal process
and the operator tools do."""
from __future__ import annotations

import datetime as _dt
import enum
import json
import logging
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

ROOT = "fxpipe"
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class AlarmKind(enum.Enum):
    """What an operator must look at; the value is the name in logs, status and metrics."""

    CONSUMER_LAG = "consumer_lag"        # a ring consumer fell behind: its stage is slow or stuck
    SESSION_DOWN = "session_down"        # a FIX session left ACTIVE
    QUESTDB_DOWN = "questdb_down"        # the time-series sink cannot write (the journal still does)
    WORKER_DEAD = "worker_dead"          # a stage process died (the supervisor restarts or detaches it)
    KILL_SWITCH = "kill_switch"          # trading stopped, globally or for a strategy
    RISK_ALARM = "risk_alarm"            # the oms or risk raised an ALARM (overfill, unknown order, ...)
    STRATEGY_STOPPED = "strategy_stopped"  # a strategy raised and was stopped by the decision stage
    RING_BACKPRESSURE = "ring_backpressure"  # a producer waited for a full ring

    @classmethod
    def parse(cls, text: str) -> AlarmKind:
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown alarm kind {text!r} (known: {known})") from None


def _ts(created: float) -> str:
    return _dt.datetime.fromtimestamp(created, _dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _plain(v: Any) -> Any:
    """JSON for what a field may hold: exact ints stay ints, enums by name, bytes as text."""
    if isinstance(v, enum.Enum):
        return v.name if isinstance(v, enum.IntEnum) else v.value
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).rstrip(b"\0").decode("ascii", "replace")
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and callable(v.item):       # numpy scalars
        return _plain(v.item())
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


class JsonLineFormatter(logging.Formatter):
    """ts (UTC, ISO-8601, µs), level, logger, msg, fields (the record's `extra` keys, or
    `fields=` passed in extra), exc when an exception is attached."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _RESERVED and k != "fields"}
        fields.update(getattr(record, "fields", None) or {})
        doc: dict[str, Any] = {"ts": _ts(record.created), "level": record.levelname, "logger": record.name,
                               "msg": record.getMessage(), "fields": _plain(fields)}
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, sort_keys=False, separators=(",", ":"))


_configured: list[logging.Handler] = []


def configure_logging(path: str | None = None, level: int | str = logging.INFO,
                      stream: IO[str] | None = None) -> logging.Handler:
    """Send the `fxpipe` loggers to one JSON line per record: to `path` (appended) or to
    `stream` (default stderr). Calling again replaces the previous handler. Returns it."""
    if isinstance(level, str):
        name = level.upper()
        if name not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {level!r}")
        level = logging.getLevelNamesMapping()[name]
    handler: logging.Handler = (logging.FileHandler(path, encoding="utf-8") if path
                                else logging.StreamHandler(stream or sys.stderr))
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger(ROOT)
    for old in _configured:
        root.removeHandler(old)
        old.close()
    _configured[:] = [handler]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return handler


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """A log line with named fields (`fields` in the JSON)."""
    logger.log(level, msg, extra={"fields": fields})


AlarmHook = Callable[[AlarmKind, str, dict[str, Any]], None]
_hooks: list[AlarmHook] = []
_hooks_lock = threading.Lock()
_alarm_log = get_logger("alarm")


def add_alarm_hook(hook: AlarmHook) -> None:
    with _hooks_lock:
        _hooks.append(hook)


def remove_alarm_hook(hook: AlarmHook) -> None:
    with _hooks_lock:
        if hook in _hooks:
            _hooks.remove(hook)


def alarm(kind: AlarmKind | str, text: str, **fields: Any) -> list[Exception]:
    """Log an alarm (ERROR, logger fxpipe.alarm, fields with `alarm` = the kind) and call every
    hook with (kind, text, fields). A hook that raises is logged and skipped, never stops the
    others or the caller: the errors are returned."""
    k = kind if isinstance(kind, AlarmKind) else AlarmKind.parse(kind)
    _alarm_log.error(text, extra={"fields": {"alarm": k.value, **fields}})
    with _hooks_lock:
        hooks = list(_hooks)
    errors: list[Exception] = []
    for hook in hooks:
        try:
            hook(k, text, dict(fields))
        except Exception as exc:  # noqa: BLE001 - one broken hook must not silence the alarm
            errors.append(exc)
            _alarm_log.exception("alarm hook failed", extra={"fields": {"alarm": k.value, "hook": repr(hook)}})
    return errors
