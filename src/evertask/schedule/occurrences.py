"""When a fluent schedule's occurrences fall: interval grids and wall-clock calendars.

Both answer one question: the first occurrence strictly after ``after``, given an ``anchor`` (an instant of
the series) that fixes the phase, or no anchor for a first run, whose phase is then set by ``after`` itself.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from evertask.schedule.units import Weekday
from evertask.schedule.zones import wall_to_utc, zone

if TYPE_CHECKING:
    from evertask.schedule.fluent import FluentSchedule

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PERIOD = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1)}


def interval_after(schedule: FluentSchedule, after: datetime, anchor: datetime | None) -> datetime:
    """Seconds, minutes, hours: a grid of equal steps of elapsed time, so DST never shifts it.

    A plain interval's grid goes through its anchor (the first run), so runs never drift. With
    ``at_minute``/``at_second`` the grid goes through that minute of the UTC hour (second of the UTC minute)
    instead; a first run then takes the next such instant, whatever the step.
    """
    period = _PERIOD[schedule.unit]
    step = schedule.every * period
    origin = after if anchor is None else anchor
    if schedule.minute is not None or schedule.second is not None:
        offset = timedelta(minutes=schedule.minute or 0, seconds=schedule.second or 0)
        origin = _EPOCH + (origin - _EPOCH) // period * period + offset
        if anchor is None:
            step = period
    return origin + ((after - origin) // step + 1) * step


def wall_clock_after(schedule: FluentSchedule, after: datetime, anchor: datetime | None) -> datetime:
    """Days, weeks, months: wall-clock times in the schedule's zone, in every ``every``-th period.

    Periods (local days, Monday-to-Sunday weeks, months) are counted from the anchor's period; a first run
    takes the first slot in any period. Wall times become instants by :func:`zones.wall_to_utc`, whose DST
    rule keeps one run per slot: a repeated time runs at its first occurrence, a skipped one at the jump.
    """
    tz = zone(schedule.tz)
    period = _period_of(schedule, after.astimezone(tz).date())
    step = 1 if anchor is None else schedule.every
    if anchor is not None:
        period -= (period - _period_of(schedule, anchor.astimezone(tz).date())) % step
    # Every period has a slot, except months left out by in_months(), which requires every().month(): this
    # loop ends within a year.
    while True:
        for wall in _walls(schedule, period):
            occurrence = wall_to_utc(wall, tz)
            if occurrence > after:
                return occurrence
        period += step


def _period_of(schedule: FluentSchedule, day: date) -> int:
    """A running number for the day, week or month holding ``day``."""
    if schedule.unit == "day":
        return day.toordinal()
    if schedule.unit == "week":
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
    return day.year * 12 + day.month - 1


def _walls(schedule: FluentSchedule, period: int) -> list[datetime]:
    """The slots of one period as naive wall-clock times, in order."""
    times = schedule.times or (time(0),)
    return [datetime.combine(day, at) for day in _dates(schedule, period) for at in times]


def _dates(schedule: FluentSchedule, period: int) -> list[date]:
    if schedule.unit == "day":
        return [date.fromordinal(period)]
    if schedule.unit == "week":
        monday = date.fromordinal(period * 7 + 1)
        return [monday + timedelta(days=weekday) for weekday in schedule.weekdays or (Weekday.MONDAY,)]
    year, month = divmod(period, 12)
    month += 1
    if schedule.months and month not in schedule.months:
        return []
    if schedule.first_weekday is not None:
        first = date(year, month, 1)
        return [first + timedelta(days=(schedule.first_weekday - first.weekday()) % 7)]
    length = calendar.monthrange(year, month)[1]
    # A day the month lacks (and LAST_DAY, which is negative) means the month's last day.
    days = {length if day < 1 else min(day, length) for day in schedule.days or (1,)}
    return [date(year, month, day) for day in sorted(days)]
