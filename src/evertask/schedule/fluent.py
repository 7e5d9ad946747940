"""The fluent schedule: ``every(5).minutes()``, ``every().day().at(time(9, 0))``, ``every().month().on_last_day()``.

Seconds, minutes and hours are intervals of elapsed time; days, weeks and months are wall-clock times in the
schedule's time zone. The occurrence maths lives in :mod:`evertask.schedule.occurrences`.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Self, TypeVar, cast, get_args

from evertask.errors import InvalidScheduleError
from evertask.schedule import occurrences
from evertask.schedule._json import JsonReader
from evertask.schedule.base import MAX_SPAN, Limits, Schedule, Start, positive_int
from evertask.schedule.units import (
    APPROXIMATE_LENGTH,
    LAST_DAY,
    WALL_CLOCK_UNITS,
    Unit,
    Weekday,
    parse_time,
    parse_weekday,
    time_of_day,
    time_text,
    weekday,
    whole,
)
from evertask.schedule.zones import zone

Sortable = TypeVar("Sortable", int, time)


@dataclass(frozen=True)
class Every:
    """What :func:`every` returns: name the unit next (``every(5).minutes()``, ``every().day()``)."""

    n: int = 1

    def __post_init__(self) -> None:
        positive_int(self.n, "every(n)")

    def _unit(self, unit: Unit) -> FluentSchedule:
        return FluentSchedule(every=self.n, unit=unit)

    def seconds(self) -> FluentSchedule:
        """Every n seconds, counted from the first run."""
        return self._unit("second")

    def minutes(self) -> FluentSchedule:
        """Every n minutes, counted from the first run (``at_second`` pins the second instead)."""
        return self._unit("minute")

    def hours(self) -> FluentSchedule:
        """Every n hours, counted from the first run (``at_minute`` pins the minute instead)."""
        return self._unit("hour")

    def days(self) -> FluentSchedule:
        """Every n days, at midnight unless ``at`` gives times of day."""
        return self._unit("day")

    def weeks(self) -> FluentSchedule:
        """Every n weeks, on Monday unless ``on`` names weekdays, at midnight unless ``at`` gives times."""
        return self._unit("week")

    def months(self) -> FluentSchedule:
        """Every n months, on day 1 unless a day is chosen, at midnight unless ``at`` gives times."""
        return self._unit("month")

    second, minute, hour, day, week, month = seconds, minutes, hours, days, weeks, months


def every(n: int = 1) -> Every:
    """Start a fluent schedule: ``every(10).seconds()``, ``every().week().on(MONDAY).at(time(8, 0))``."""
    return Every(n)


@dataclass(frozen=True, kw_only=True)
class FluentSchedule(Schedule):
    """A schedule built with :func:`every`. Each builder call returns a new, validated schedule.

    Seconds, minutes and hours are intervals of elapsed time anchored to the first run, so they never drift
    (``at_second``/``at_minute`` pin them to a second of the UTC minute or a minute of the UTC hour instead).
    Days, weeks and months run at wall-clock times in ``tz``, DST-aware (see :func:`zones.wall_to_utc`).
    """

    kind = "every"
    every: int
    unit: Unit
    times: tuple[time, ...] = ()
    weekdays: tuple[Weekday, ...] = ()
    days: tuple[int, ...] = ()
    first_weekday: Weekday | None = None
    months: tuple[int, ...] = ()
    minute: int | None = None
    second: int | None = None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.unit not in get_args(Unit):
            raise InvalidScheduleError(self.unit, f"unit must be one of {', '.join(get_args(Unit))}")
        positive_int(self.every, "every(n)")
        if self.every > MAX_SPAN / APPROXIMATE_LENGTH[self.unit]:
            raise InvalidScheduleError(self.every, f"every {self.every} {self.unit}s is more than 100 years")
        self._only_for(self.times, WALL_CLOCK_UNITS, "at() (times of day)")
        self._only_for(self.weekdays, ("week",), "on() (weekdays)")
        self._only_for(self.days, ("month",), "on_day()/on_days() (days of the month)")
        self._only_for(self.first_weekday, ("month",), "on_first() (first weekday of the month)")
        self._only_for(self.months, ("month",), "in_months()")
        self._only_for(self.minute, ("hour",), "at_minute()")
        self._only_for(self.second, ("minute", "hour"), "at_second()")
        if self.days and self.first_weekday is not None:
            raise InvalidScheduleError(self.days, "choose days of the month or on_first(weekday), not both")
        if self.months and self.every != 1:
            raise InvalidScheduleError(self.months, "in_months() picks the months itself: use every().month()")
        self._normalise("times", [time_of_day(value) for value in self.times])
        self._normalise("weekdays", [weekday(value) for value in self.weekdays])
        self._normalise("days", [whole(value, 1, 31, "a day of the month", LAST_DAY) for value in self.days])
        self._normalise("months", [whole(value, 1, 12, "a month") for value in self.months])
        if self.first_weekday is not None:
            object.__setattr__(self, "first_weekday", weekday(self.first_weekday))
        for value, what in ((self.minute, "at_minute()"), (self.second, "at_second()")):
            if value is not None:
                whole(value, 0, 59, what)
        zone(self.tz)
        if self.tz != "UTC" and self.unit not in WALL_CLOCK_UNITS:
            raise InvalidScheduleError(
                self.tz,
                f"'{self._period_text()}' runs on elapsed time: a time zone "
                "applies only to day, week and month schedules",
            )

    def _only_for(self, value: object, units: tuple[Unit, ...], what: str) -> None:
        if value not in (None, ()) and self.unit not in units:
            allowed = " or ".join(f"every().{unit}()" for unit in units)
            raise InvalidScheduleError(value, f"{what} needs {allowed}; it makes no sense for '{self._period_text()}'")

    def _normalise(self, name: str, values: Iterable[Sortable]) -> None:
        # Sorted and without duplicates, so equal schedules compare (and serialise) equal.
        object.__setattr__(self, name, tuple(sorted(set(values))))

    # -- builder ------------------------------------------------------------------------------------------

    def at(self, *times: time, tz: str = "UTC") -> Self:
        """Run at these times of day (naive ``time`` values, whole seconds) in ``tz`` (default UTC)."""
        self._not_given_twice(bool(self.times), "at()")
        if not times:
            raise InvalidScheduleError(times, "at() needs at least one time of day")
        return dataclasses.replace(self, times=times, tz=tz)

    def at_minute(self, minute: int) -> Self:
        """For hourly schedules: run at this minute (0-59) of the UTC hour instead of counting from the start."""
        self._not_given_twice(self.minute is not None, "at_minute()")
        return dataclasses.replace(self, minute=minute)

    def at_second(self, second: int) -> Self:
        """For minute or hourly schedules: run at this second (0-59) of the minute."""
        self._not_given_twice(self.second is not None, "at_second()")
        return dataclasses.replace(self, second=second)

    def on(self, *weekdays: Weekday) -> Self:
        """For weekly schedules: run on these weekdays (``on(MONDAY, FRIDAY)``)."""
        self._not_given_twice(bool(self.weekdays), "on()")
        if not weekdays:
            raise InvalidScheduleError(weekdays, "on() needs at least one weekday")
        return dataclasses.replace(self, weekdays=weekdays)

    def on_days(self, *days: int) -> Self:
        """For monthly schedules: run on these days (1-31, or ``LAST_DAY``).

        A day the month does not have runs on its last day instead (31 runs on the 30th in April and on the
        28th or 29th in February), so no month is skipped.
        """
        self._not_given_twice(bool(self.days) or self.first_weekday is not None, "the day of the month")
        if not days:
            raise InvalidScheduleError(days, "on_days() needs at least one day")
        return dataclasses.replace(self, days=days)

    def on_day(self, day: int) -> Self:
        """For monthly schedules: run on this day (1-31; see :meth:`on_days` for short months)."""
        return self.on_days(day)

    def on_first_day(self) -> Self:
        """For monthly schedules: run on the first day of the month."""
        return self.on_days(1)

    def on_last_day(self) -> Self:
        """For monthly schedules: run on the last day of the month (28th to 31st)."""
        return self.on_days(LAST_DAY)

    def on_first(self, weekday: Weekday) -> Self:
        """For monthly schedules: run on the first given weekday of the month (``on_first(MONDAY)``)."""
        self._not_given_twice(bool(self.days) or self.first_weekday is not None, "the day of the month")
        return dataclasses.replace(self, first_weekday=weekday)

    def in_months(self, *months: int) -> Self:
        """For ``every().month()``: run only in these months (1-12), e.g. ``in_months(1, 4, 7, 10)``."""
        self._not_given_twice(bool(self.months), "in_months()")
        if not months:
            raise InvalidScheduleError(months, "in_months() needs at least one month")
        return dataclasses.replace(self, months=months)

    # -- Schedule ---------------------------------------------------------------------------------------

    def _occurrence_after(self, after: datetime, anchor: datetime | None) -> datetime | None:
        if self.unit in WALL_CLOCK_UNITS:
            return occurrences.wall_clock_after(self, after, anchor)
        return occurrences.interval_after(self, after, anchor)

    def _period_text(self) -> str:
        return f"every {self.unit}" if self.every == 1 else f"every {self.every} {self.unit}s"

    def _describe_occurrences(self) -> str:
        parts = [self._period_text()]
        if self.minute is not None:
            parts.append(f"at minute {self.minute}")
        if self.second is not None:
            parts.append(f"at second {self.second}")
        if self.unit not in WALL_CLOCK_UNITS:
            return " ".join(parts)
        if self.months:
            parts.append("in " + ", ".join(calendar.month_abbr[month] for month in self.months))
        if self.weekdays:
            parts.append("on " + ", ".join(day.name.title() for day in self.weekdays))
        if self.first_weekday is not None:
            parts.append(f"on the first {self.first_weekday.name.title()}")
        if self.days == (LAST_DAY,):
            parts.append("on the last day")
        elif self.days:
            labels = [str(day) for day in self.days if day != LAST_DAY] + ["last"] * (LAST_DAY in self.days)
            parts.append(f"on day{'s' if len(labels) > 1 else ''} {', '.join(labels)}")
        times = ", ".join(time_text(value) for value in self.times or (time(0),))
        parts.append(f"at {times} {self.tz}")
        return " ".join(parts)

    def _json_fields(self) -> dict[str, object]:
        return {
            "every": self.every,
            "unit": self.unit,
            "times": [value.isoformat() for value in self.times],
            "weekdays": [day.name.lower() for day in self.weekdays],
            "days": list(self.days),
            "first_weekday": None if self.first_weekday is None else self.first_weekday.name.lower(),
            "months": list(self.months),
            "minute": self.minute,
            "second": self.second,
            "tz": self.tz,
        }

    @classmethod
    def _build_from_json(cls, reader: JsonReader, limits: Limits, start: Start) -> Self:
        first_weekday = reader.optional_text("first_weekday")
        return cls(
            every=reader.integer("every"),
            unit=cast(Unit, reader.text("unit")),  # checked by __post_init__
            times=tuple(parse_time(text) for text in reader.items("times", str, "times like '09:00:00'")),
            weekdays=tuple(parse_weekday(name) for name in reader.items("weekdays", str, "weekday names")),
            days=reader.items("days", int, "days of the month"),
            first_weekday=None if first_weekday is None else parse_weekday(first_weekday),
            months=reader.items("months", int, "months"),
            minute=reader.optional_integer("minute"),
            second=reader.optional_integer("second"),
            tz=reader.text("tz"),
            limits=limits,
            start=start,
        )
