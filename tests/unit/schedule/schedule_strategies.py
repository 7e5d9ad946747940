"""Hypothesis strategies and helpers shared by the schedule tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from evertask.schedule import LAST_DAY, FluentSchedule, Schedule, Weekday, cron, every

ZONES = ["UTC", "Europe/Rome", "America/New_York"]
DST_ZONES = ["Europe/Rome", "America/New_York"]

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
times_of_day = st.times().map(lambda value: value.replace(microsecond=0))
weekdays = st.sampled_from(list(Weekday))
zones = st.sampled_from(ZONES)

_DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A UTC datetime: ``utc(2024, 3, 31, 1, 0)``."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int, *, fold: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as an aware datetime (``fold=1``: the second pass of a repeated time)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)


def near_dst_transition(zone: str, instant: datetime) -> bool:
    """Whether a UTC-offset change of ``zone`` lies within three hours of ``instant``."""
    tz = ZoneInfo(zone)
    return (instant - timedelta(hours=3)).astimezone(tz).utcoffset() != (instant + timedelta(hours=3)).astimezone(
        tz
    ).utcoffset()


@st.composite
def _cron_field(draw: st.DrawFn, low: int, high: int, names: list[str] | None = None) -> str:
    kind = draw(st.sampled_from(["*", "*/step", "range", "range/step", "list", "value"]))
    if kind == "*":
        return "*"
    if kind == "*/step":
        return f"*/{draw(st.integers(1, high - low + 1))}"
    if kind in ("range", "range/step"):
        # Strictly increasing ranges only: croniter 7 reads a one-value range "5-5" as "*" (its bug).
        first = draw(st.integers(low, high - 1))
        text = f"{first}-{draw(st.integers(first + 1, high))}"
        return text if kind == "range" else f"{text}/{draw(st.integers(1, 5))}"
    if kind == "list":
        values = draw(st.lists(st.integers(low, high), min_size=2, max_size=4, unique=True))
        return ",".join(map(str, sorted(values)))
    value = draw(st.integers(low, high))
    return names[value - low] if names is not None and draw(st.booleans()) else str(value)


@st.composite
def cron_expressions(draw: st.DrawFn, *, seconds: bool) -> str:
    """Valid cron text that cronsim and croniter read alike (see the comments for what is left out)."""
    day_of_month = draw(_cron_field(1, 28))  # 29-31 can make cronsim reject "30 2" style combinations
    day_of_week = draw(_cron_field(0, 6, _DAY_NAMES))
    # The two libraries differ when one day field is "*/n" and the other is restricted: Debian cron (and
    # cronsim, and evertask) treat "*/n" as unrestricted, croniter does not. Covered by its own unit test.
    if day_of_week.startswith("*/"):
        day_of_month = "*"
    elif day_of_month.startswith("*/"):
        day_of_week = "*"
    fields = [
        draw(_cron_field(0, 59)),
        draw(_cron_field(0, 23)),
        day_of_month,
        draw(_cron_field(1, 12, _MONTH_NAMES)),
        day_of_week,
    ]
    if seconds:
        fields.insert(0, draw(_cron_field(0, 59)))
    return " ".join(fields)


@st.composite
def fluent_schedules(draw: st.DrawFn) -> FluentSchedule:
    """Any valid fluent schedule."""
    unit = draw(st.sampled_from(["seconds", "minutes", "hours", "days", "weeks", "months"]))
    n = draw(st.integers(1, 90 if unit in ("seconds", "minutes") else 5))
    schedule: FluentSchedule = getattr(every(n), unit)()
    if unit == "hours" and draw(st.booleans()):
        schedule = schedule.at_minute(draw(st.integers(0, 59)))
    if unit in ("minutes", "hours") and draw(st.booleans()):
        schedule = schedule.at_second(draw(st.integers(0, 59)))
    if unit in ("days", "weeks", "months") and draw(st.booleans()):
        schedule = schedule.at(*draw(st.lists(times_of_day, min_size=1, max_size=3)), tz=draw(zones))
    if unit == "weeks" and draw(st.booleans()):
        schedule = schedule.on(*draw(st.lists(weekdays, min_size=1, max_size=3)))
    if unit == "months":
        day = st.one_of(st.integers(1, 31), st.just(LAST_DAY))
        choice = draw(st.sampled_from(["default", "days", "first weekday"]))
        if choice == "days":
            schedule = schedule.on_days(*draw(st.lists(day, min_size=1, max_size=3)))
        elif choice == "first weekday":
            schedule = schedule.on_first(draw(weekdays))
        if n == 1 and draw(st.booleans()):
            schedule = schedule.in_months(*draw(st.lists(st.integers(1, 12), min_size=1, max_size=4)))
    return schedule


cron_schedules = st.builds(cron, st.booleans().flatmap(lambda six: cron_expressions(seconds=six)), tz=zones)
bare_schedules: st.SearchStrategy[Schedule] = st.one_of(fluent_schedules(), cron_schedules)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """Any valid schedule, with or without limits and a first-run choice."""
    schedule = draw(bare_schedules)
    if draw(st.booleans()):
        schedule = schedule.max_runs(draw(st.integers(1, 10_000)))
    until = draw(st.none() | instants)
    if until is not None:
        schedule = schedule.until(until)
    start = draw(st.sampled_from(["schedule", "now", "at", "after"]))
    if start == "now":
        schedule = schedule.run_now()
    elif start == "at":
        first = draw(instants)
        if until is None or first <= until:
            schedule = schedule.starting_at(first)
    elif start == "after":
        schedule = schedule.starting_after(draw(st.timedeltas(timedelta(0), timedelta(days=36_525))))
    return schedule


def _transitions(zone: str, years: range) -> list[datetime]:
    """The instants at which ``zone`` changes its UTC offset in ``years``, found by bisection."""
    tz = ZoneInfo(zone)
    found = []
    for year in years:
        for low, high in (
            (datetime(year, 1, 1, tzinfo=UTC), datetime(year, 7, 1, tzinfo=UTC)),
            (datetime(year, 7, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)),
        ):
            while high - low > timedelta(microseconds=1):
                middle = low + (high - low) // 2
                same = middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high)
    return found


_TRANSITIONS = [instant for zone in DST_ZONES for instant in _transitions(zone, range(2000, 2040))]
around_transitions = st.tuples(
    st.sampled_from(_TRANSITIONS), st.integers(-36 * 3600, 36 * 3600), st.integers(0, 999_999)
).map(lambda t: t[0] + timedelta(seconds=t[1], microseconds=t[2]))
"""Instants within a day and a half of a DST change in Rome or New York."""
any_instants = st.one_of(instants, around_transitions)
