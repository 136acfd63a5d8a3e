"""When a FIX session may be up: a weekly window in a time zone (FX: Sunday open, Friday close).

FX venues run one session per week, e.g. from Sunday 17:00 to Friday 17:00 New York time, with
sequence numbers reset at each weekly start. A schedule answers, for an event timestamp (ns
since the epoch, UTC), whether the session is open, when the current or last session period
started (the store is reset when its creation time is older than that) and when it next opens.
Local times go through zoneinfo, so the window follows daylight saving in its own zone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UTC = dt.UTC


class ScheduleError(ValueError):
    """A schedule setting that cannot be understood."""


def _parse_point(text: str, what: str) -> tuple[int, dt.time]:
    parts = str(text).split()
    if len(parts) != 2 or parts[0].lower() not in DAYS:
        raise ScheduleError(f"{what} = {text!r}: expected 'DAY HH:MM' such as 'Sunday 17:00'")
    try:
        t = dt.time.fromisoformat(parts[1])
    except ValueError:
        raise ScheduleError(f"{what} = {text!r}: time {parts[1]!r} is not HH:MM[:SS]") from None
    return DAYS.index(parts[0].lower()), t


@dataclass(frozen=True)
class WeeklySchedule:
    """Open from start_day start_time to end_day end_time each week, local to `timezone`."""

    timezone: str
    start_day: int
    start_time: dt.time
    end_day: int
    end_time: dt.time

    @classmethod
    def parse(cls, timezone: str, start: str, end: str) -> WeeklySchedule:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"timezone = {timezone!r} is not a known IANA zone (e.g. 'America/New_York')") from None
        sd, st = _parse_point(start, "start")
        ed, et = _parse_point(end, "end")
        if (sd, st) == (ed, et):
            raise ScheduleError(f"start and end are both {start!r}: the window would be empty")
        return cls(timezone, sd, st, ed, et)

    def _local(self, ns: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ns / 1e9, _UTC).astimezone(ZoneInfo(self.timezone))

    def _at(self, day: dt.date, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, t, tzinfo=ZoneInfo(self.timezone))

    def _last_start(self, local: dt.datetime) -> dt.datetime:
        back = (local.weekday() - self.start_day) % 7
        start = self._at(local.date() - dt.timedelta(days=back), self.start_time)
        if start > local:
            start = self._at(start.date() - dt.timedelta(days=7), self.start_time)
        return start

    def _end_after(self, start: dt.datetime) -> dt.datetime:
        ahead = (self.end_day - self.start_day) % 7
        end = self._at(start.date() + dt.timedelta(days=ahead), self.end_time)
        if end <= start:
            end = self._at(end.date() + dt.timedelta(days=7), self.end_time)
        return end

    def is_open(self, ns: int) -> bool:
        local = self._local(ns)
        return local < self._end_after(self._last_start(local))

    def period_start_ns(self, ns: int) -> int:
        """Start of the session period that `ns` is in, or of the last one if closed now."""
        return _to_ns(self._last_start(self._local(ns)))

    def next_open_ns(self, ns: int) -> int:
        """`ns` itself when open, else the next start."""
        if self.is_open(ns):
            return ns
        start = self._last_start(self._local(ns))
        return _to_ns(self._at(start.date() + dt.timedelta(days=7), self.start_time))

    def describe(self) -> str:
        return (f"{DAYS[self.start_day].title()} {self.start_time:%H:%M} to "
                f"{DAYS[self.end_day].title()} {self.end_time:%H:%M} {self.timezone}")


@dataclass(frozen=True)
class AlwaysOpen:
    """No window: open at all times, one period since the epoch (numbers never reset by time)."""

    def is_open(self, ns: int) -> bool:
        return True

    def period_start_ns(self, ns: int) -> int:
        return 0

    def next_open_ns(self, ns: int) -> int:
        return ns

    def describe(self) -> str:
        return "always open"


def _to_ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000
