"""The vocabulary of fluent schedules (units, weekdays, days of the month, times of day) and its checks."""

from __future__ import annotations

from datetime import time, timedelta
from enum import IntEnum
from typing import Final, Literal

from evertask.errors import InvalidScheduleError

Unit = Literal["second", "minute", "hour", "day", "week", "month"]
WALL_CLOCK_UNITS: Final[tuple[Unit, ...]] = ("day", "week", "month")

APPROXIMATE_LENGTH: Final[dict[Unit, timedelta]] = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30.436875),
}
"""Only to bound a step at 100 years: occurrences never use the average month."""

LAST_DAY: Final = -1
"""For ``on_days``: the last day of each month, whatever its length."""


class Weekday(IntEnum):
    """Days of the week, numbered like :meth:`datetime.date.weekday` (Monday is 0)."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


def whole(value: object, low: int, high: int, what: str, *also: int) -> int:
    """``value`` if it is an int from ``low`` to ``high`` (or one of ``also``), else InvalidScheduleError."""
    if isinstance(value, int) and not isinstance(value, bool) and (low <= value <= high or value in also):
        return value
    raise InvalidScheduleError(value, f"{what} must be a whole number from {low} to {high}")


def time_of_day(value: object) -> time:
    """``value`` if it is a naive ``datetime.time`` of whole seconds, else InvalidScheduleError."""
    if not isinstance(value, time):
        raise InvalidScheduleError(value, "at() takes datetime.time values, e.g. time(9, 0)")
    if value.tzinfo is not None:
        raise InvalidScheduleError(value, "give the time zone as at(..., tz='Europe/Rome'), not on the time")
    if value.microsecond:
        raise InvalidScheduleError(value, "times of day are whole seconds")
    return value


def weekday(value: object) -> Weekday:
    """``value`` as a Weekday (an int from 0, Monday, to 6, Sunday), else InvalidScheduleError."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return Weekday(value)
    raise InvalidScheduleError(value, "a weekday is MONDAY ... SUNDAY (0-6, Monday first)")


def parse_time(text: str) -> time:
    """A stored time of day ("09:00:00")."""
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidScheduleError(text, "stored time of day is not HH:MM:SS") from None


def parse_weekday(name: str) -> Weekday:
    """A stored weekday name ("monday")."""
    try:
        return Weekday[name.upper()]
    except KeyError:
        raise InvalidScheduleError(name, "stored weekday is not a day name such as 'monday'") from None


def time_text(value: time) -> str:
    """09:00, or 09:00:30 when there are seconds."""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")
