"""Properties every schedule keeps, checked on random schedules and instants (DST changes included)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_strategies import (
    ZONES,
    any_instants,
    bare_schedules,
    fluent_schedules,
    schedules,
    times_of_day,
    weekdays,
)

from evertask.schedule import LAST_DAY, FluentSchedule, Schedule, cron, every


@settings(max_examples=150, deadline=None)
@given(schedule=bare_schedules, after=any_instants)
def test_next_run_is_strictly_later_than_after_so_a_series_strictly_increases(
    schedule: Schedule, after: datetime
) -> None:
    previous = after
    for runs_done in range(4):
        following = schedule.next_run(previous, runs_done)
        assert following is not None
        assert following > previous
        assert following.tzinfo is UTC
        previous = following


@settings(max_examples=100, deadline=None)
@given(schedule=schedules(), now=any_instants)
def test_first_run_is_never_before_dispatch_nor_after_until(schedule: Schedule, now: datetime) -> None:
    first = schedule.first_run(now)

    if first is not None:
        assert first >= now
        assert schedule.limits.until is None or first <= schedule.limits.until


@settings(max_examples=100, deadline=None)
@given(
    schedule=bare_schedules,
    previous=any_instants,
    downtime=st.one_of(
        st.timedeltas(timedelta(0), timedelta(minutes=10)), st.timedeltas(timedelta(0), timedelta(days=60))
    ),
)
def test_skip_missed_gives_the_first_occurrence_of_the_series_after_now(
    schedule: Schedule, previous: datetime, downtime: timedelta
) -> None:
    now = previous + downtime
    resumed = schedule.skip_missed(previous, now, runs_done=1)

    # Walking the series from `previous` one occurrence at a time reaches the same instant.
    walked = previous
    for _ in range(2_000):
        following = schedule.next_run(walked, runs_done=1)
        assert following is not None
        walked = following
        if walked > now:
            break
    else:
        return  # too many missed occurrences to walk in a test
    assert resumed == walked


@settings(max_examples=60, deadline=None)
@given(
    schedule=fluent_schedules().filter(lambda schedule: schedule.unit in ("second", "minute", "hour")),
    now=any_instants,
)
def test_intervals_never_drift(schedule: FluentSchedule, now: datetime) -> None:
    step = timedelta(**{f"{schedule.unit}s": schedule.every})
    first = schedule.first_run(now)
    assert first is not None
    occurrence = first
    for runs_done in range(1, 51):
        following = schedule.next_run(occurrence, runs_done)
        assert following is not None
        occurrence = following

    assert occurrence - first == 50 * step


def _cron_time(at: time) -> str:
    return f"{at.second} {at.minute} {at.hour}"


@st.composite
def fluent_and_cron_twins(draw: st.DrawFn) -> tuple[Schedule, Schedule]:
    """A fluent schedule and the cron expression that names the same occurrences."""
    zone, at = draw(st.sampled_from(ZONES)), draw(times_of_day)
    kind = draw(st.sampled_from(["day", "week", "month days", "last day", "first weekday", "months", "hour"]))
    if kind == "day":
        return every().day().at(at, tz=zone), cron(f"{_cron_time(at)} * * *", tz=zone)
    if kind == "week":
        on = draw(st.lists(weekdays, min_size=1, max_size=4, unique=True))
        cron_days = ",".join(str((day + 1) % 7) for day in on)  # cron counts from Sunday = 0
        return every().week().on(*on).at(at, tz=zone), cron(f"{_cron_time(at)} * * {cron_days}", tz=zone)
    if kind == "month days":
        days = draw(st.lists(st.integers(1, 28), min_size=1, max_size=4, unique=True))
        fluent = every().month().on_days(*days).at(at, tz=zone)
        return fluent, cron(f"{_cron_time(at)} {','.join(map(str, days))} * *", tz=zone)
    if kind == "last day":
        return every().month().on_days(LAST_DAY).at(at, tz=zone), cron(f"{_cron_time(at)} L * *", tz=zone)
    if kind == "first weekday":
        day = draw(weekdays)
        fluent = every().month().on_first(day).at(at, tz=zone)
        return fluent, cron(f"{_cron_time(at)} * * {(day + 1) % 7}#1", tz=zone)
    if kind == "months":
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
        fluent = every().month().in_months(*months).on_day(3).at(at, tz=zone)
        return fluent, cron(f"{_cron_time(at)} 3 {','.join(map(str, months))} *", tz=zone)
    return every().hour().at_minute(at.minute).at_second(at.second), cron(f"{at.second} {at.minute} * * * *")


@settings(max_examples=200, deadline=None)
@given(twins=fluent_and_cron_twins(), after=any_instants)
def test_fluent_schedules_agree_with_the_equivalent_cron_expression(
    twins: tuple[Schedule, Schedule], after: datetime
) -> None:
    fluent, equivalent = twins

    assert fluent.next_run(after, runs_done=0) == equivalent.next_run(after, runs_done=0)
