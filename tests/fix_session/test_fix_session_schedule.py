"""The FX weekly session window: Sunday open, Friday close, in the venue's time zone."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from fxpipe.fix.session.schedule import AlwaysOpen, ScheduleError, WeeklySchedule

NY = ZoneInfo("America/New_York")
FX = WeeklySchedule.parse("America/New_York", "Sunday 17:00", "Friday 17:00")


def ns(y, mo, d, h, mi=0, tz=NY):
    return int(dt.datetime(y, mo, d, h, mi, tzinfo=tz).timestamp()) * 1_000_000_000


@pytest.mark.parametrize("when,open_", [
    (ns(2024, 3, 3, 16, 59), False),   # Sunday before the open
    (ns(2024, 3, 3, 17, 0), True),     # Sunday 17:00 exactly
    (ns(2024, 3, 6, 3, 0), True),      # Wednesday
    (ns(2024, 3, 8, 16, 59), True),    # Friday before the close
    (ns(2024, 3, 8, 17, 0), False),    # Friday close
    (ns(2024, 3, 9, 12, 0), False),    # Saturday
])
def test_fx_week_is_open_sunday_to_friday(when, open_):
    assert FX.is_open(when) is open_


def test_period_start_is_the_last_sunday_open():
    assert FX.period_start_ns(ns(2024, 3, 6, 3, 0)) == ns(2024, 3, 3, 17, 0)
    # closed on Saturday: the period that just ended
    assert FX.period_start_ns(ns(2024, 3, 9, 12, 0)) == ns(2024, 3, 3, 17, 0)
    # Sunday before the open belongs to last week's period
    assert FX.period_start_ns(ns(2024, 3, 10, 16, 0)) == ns(2024, 3, 3, 17, 0)


def test_next_open():
    assert FX.next_open_ns(ns(2024, 3, 9, 12, 0)) == ns(2024, 3, 10, 17, 0)
    t = ns(2024, 3, 6, 3, 0)
    assert FX.next_open_ns(t) == t


def test_window_follows_daylight_saving_in_its_zone():
    # US clocks went forward on Sunday 10 March 2024: 17:00 New York is 21:00 UTC, not 22:00.
    start = FX.period_start_ns(ns(2024, 3, 12, 12, 0))
    assert start == ns(2024, 3, 10, 21, 0, tz=dt.UTC)
    winter = FX.period_start_ns(ns(2024, 3, 5, 12, 0))
    assert winter == ns(2024, 3, 3, 22, 0, tz=dt.UTC)


def test_window_that_wraps_the_week():
    # open Friday 22:00 to Monday 06:00 UTC (a weekend-only session wraps the week boundary)
    s = WeeklySchedule.parse("UTC", "Friday 22:00", "Monday 06:00")
    utc = dt.UTC
    assert s.is_open(ns(2024, 3, 9, 12, 0, tz=utc))
    assert s.is_open(ns(2024, 3, 11, 5, 59, tz=utc))
    assert not s.is_open(ns(2024, 3, 11, 6, 0, tz=utc))
    assert not s.is_open(ns(2024, 3, 13, 6, 0, tz=utc))


@pytest.mark.parametrize("tz,start,end,msg", [
    ("Mars/Olympus", "Sunday 17:00", "Friday 17:00", "not a known IANA zone"),
    ("UTC", "Sun 17:00", "Friday 17:00", "expected 'DAY HH:MM'"),
    ("UTC", "Sunday 25:00", "Friday 17:00", "is not HH:MM"),
    ("UTC", "Sunday 17:00", "Sunday 17:00", "window would be empty"),
])
def test_bad_schedule_settings_are_clear_errors(tz, start, end, msg):
    with pytest.raises(ScheduleError, match=msg):
        WeeklySchedule.parse(tz, start, end)


def test_always_open():
    a = AlwaysOpen()
    assert a.is_open(123) and a.period_start_ns(123) == 0 and a.next_open_ns(5) == 5
    assert "Sunday 17:00 to Friday 17:00 America/New_York" == FX.describe()
