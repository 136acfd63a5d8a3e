"""FX trade dates and spot value dates, from event timestamps (never the wall clock).

The FX trading day rolls at 17:00 New York time: a trade at 17:05 New York on a Tuesday
belongs to Wednesday's trade date. Spot settles two business days after the trade date (one
for USD/CAD), skipping Saturdays and Sundays. Bank holidays are not modelled: the venue has no
holiday calendar, so a value date may fall on a holiday a real venue would skip.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
ROLL_HOUR = 17


def trade_date(ts_ns: int) -> dt.date:
    """The FX trade date of an instant: the New York calendar date, plus one from 17:00 on;
    a Saturday or Sunday trade date moves to Monday (the week opens Sunday 17:00 New York)."""
    local = dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=NEW_YORK)
    d = local.date()
    if local.hour >= ROLL_HOUR:
        d += dt.timedelta(days=1)
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def add_business_days(d: dt.date, n: int) -> dt.date:
    while n > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def value_date(ts_ns: int, settle_days: int) -> dt.date:
    return add_business_days(trade_date(ts_ns), settle_days)


def fix_date(d: dt.date) -> str:
    """LocalMktDate as FIX writes it: YYYYMMDD."""
    return d.strftime("%Y%m%d")


def next_roll_ns(ts_ns: int) -> int:
    """The first 17:00 New York instant after ts_ns (when DAY orders expire)."""
    local = dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=NEW_YORK)
    roll = local.replace(hour=ROLL_HOUR, minute=0, second=0, microsecond=0)
    if local >= roll:
        # wall-clock arithmetic on an aware datetime keeps 17:00 across a DST change
        roll = (roll + dt.timedelta(days=1)).replace(hour=ROLL_HOUR)
    return int(roll.timestamp()) * 1_000_000_000
