"""Journal timestamps are int64 nanoseconds since the Unix epoch (UTC). Parsing what users type
on a command line (integers or ISO-8601 with up to 9 decimals) and printing them back."""
from __future__ import annotations

import datetime as _dt
import re

_ISO_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
                     r"(Z|[+-]\d{2}:?\d{2})?$")


def parse_time_ns(text: str) -> int:
    """'1700000000000000000' (ns) or '2026-11-26T09:30:00.123456789Z' (UTC unless an offset)."""
    t = text.strip()
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    m = _ISO_RE.match(t)
    if not m:
        raise ValueError(f"cannot read time {text!r}: give nanoseconds since the epoch or ISO-8601 "
                         f"like 2026-11-26T09:30:00.5Z")
    date, hh, mm, ss, frac, tz = m.groups()
    base = _dt.datetime.fromisoformat(f"{date}T{hh or '00'}:{mm or '00'}:{ss or '00'}")
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        base = base - sign * offset
    base = base.replace(tzinfo=_dt.UTC)
    ns = int(base.timestamp()) * 1_000_000_000
    if frac:
        ns += int(frac.ljust(9, "0"))
    return ns


def format_time_ns(ns: int) -> str:
    """ISO-8601 UTC with nanoseconds."""
    sec, frac = divmod(int(ns), 1_000_000_000)
    try:
        base = _dt.datetime.fromtimestamp(sec, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return f"{ns}ns"
    return f"{base}.{frac:09d}Z"
