"""Every unusable schedule fails where it is written, with an InvalidScheduleError that names the problem."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_strategies import utc

from evertask.errors import InvalidScheduleError
from evertask.schedule import MONDAY, CronSchedule, cron, every

NAIVE = datetime(2025, 1, 1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: every(0), "every(n) must be a whole number >= 1"),
        (lambda: every(-3), "every(n) must be a whole number >= 1"),
        (lambda: every(1.5), "every(n) must be a whole number >= 1"),  # type: ignore[arg-type]
        (lambda: every(True), "every(n) must be a whole number >= 1"),
        (lambda: every(2_000).months(), "more than 100 years"),
        (lambda: every().day().at("09:00"), "datetime.time values"),  # type: ignore[arg-type]
        (lambda: every().day().at(time(9, 0, 0, 500)), "whole seconds"),
        (lambda: every().day().at(time(9, tzinfo=utc(2025, 1, 1).tzinfo)), "tz="),
        (lambda: every().day().at(), "at least one time"),
        (lambda: every().day().at(time(9)).at(time(17)), "at() is already set"),
        (lambda: every().seconds().at(time(9)), "it makes no sense for 'every second'"),
        (lambda: every(10).minutes().at(time(9)), "it makes no sense for 'every 10 minutes'"),
        (lambda: every().day().at_minute(15), "at_minute() needs every().hour()"),
        (lambda: every().day().at_second(15), "at_second() needs"),
        (lambda: every().hour().at_minute(60), "at_minute() must be a whole number from 0 to 59"),
        (lambda: every().minute().at_second(-1), "at_second() must be a whole number from 0 to 59"),
        (lambda: every().day().on(MONDAY), "on() (weekdays) needs every().week()"),
        (lambda: every().week().on(), "at least one weekday"),
        (lambda: every().week().on(7), "a weekday is MONDAY ... SUNDAY"),  # type: ignore[arg-type]
        (lambda: every().month().on_day(32), "day of the month must be a whole number from 1 to 31"),
        (lambda: every().month().on_day(0), "day of the month must be a whole number from 1 to 31"),
        (lambda: every().month().on_days(), "at least one day"),
        (lambda: every().week().on_day(1), "needs every().month()"),
        (lambda: every().month().on_day(1).on_last_day(), "the day of the month is already set"),
        (lambda: every().month().on_first_day().on_first(MONDAY), "the day of the month is already set"),
        (lambda: every().month().in_months(13), "a month must be a whole number from 1 to 12"),
        (lambda: every(3).months().in_months(1, 7), "use every().month()"),
        (lambda: every().day().at(time(9), tz="Mars/Olympus"), "unknown time zone"),
        (lambda: every().day().at(time(9), tz=""), "unknown time zone"),
        (lambda: every().day().until(NAIVE), "until must be timezone-aware"),
        (lambda: every().day().until("2025-01-01"), "until must be a datetime"),  # type: ignore[arg-type]
        (lambda: every().day().max_runs(0), "max_runs must be a whole number >= 1"),
        (lambda: every().day().max_runs(2).max_runs(3), "max_runs() is already set"),
        (lambda: every().day().starting_at(NAIVE), "starting_at must be timezone-aware"),
        (lambda: every().day().starting_after(timedelta(seconds=-1)), "starting_after needs a timedelta"),
        (lambda: every().day().starting_after(60), "starting_after needs a timedelta"),  # type: ignore[arg-type]
        (lambda: every().day().run_now().starting_at(utc(2025, 1, 1)), "the first run"),
        (lambda: every().day().starting_at(utc(2025, 2, 1)).until(utc(2025, 1, 1)), "until is before starting_at"),
        (lambda: cron("*/15 * * *"), "5 fields"),
        (lambda: cron("0 0 * * * * *"), "not 7"),
        (lambda: cron(""), "not 0"),
        (lambda: cron("60 * * * *"), "bad minute field"),
        (lambda: cron("0 24 * * *"), "bad hour field"),
        (lambda: cron("0 0 32 * *"), "bad day-of-month field"),
        (lambda: cron("0 0 * 13 *"), "bad month field"),
        (lambda: cron("0 0 * * FUNDAY"), "bad day-of-week field"),
        (lambda: cron("*/0 * * * *"), "bad minute field"),
        (lambda: cron("0 0 30 2 *"), "bad day-of-month field"),  # February never has a 30th
        (lambda: cron(15), "a cron expression is a string"),  # type: ignore[arg-type]
        (lambda: cron("* * * * *", tz="Nowhere/Special"), "unknown time zone"),
        (lambda: cron("* * * * *").until(NAIVE), "until must be timezone-aware"),
        (lambda: every().seconds().first_run(NAIVE), "now must be timezone-aware"),
        (lambda: every().seconds().next_run(NAIVE, 0), "after must be timezone-aware"),
        (lambda: every().seconds().next_run(utc(2025, 1, 1), -1), "runs_done must be a whole number >= 0"),
        (lambda: every().seconds().next_run(utc(9999, 1, 1), 0), "between years 1900 and 9000"),
        (lambda: every().seconds().skip_missed(utc(2025, 1, 1), NAIVE, 0), "now must be timezone-aware"),
    ],
)
def test_invalid_input_raises_invalid_schedule_error_naming_the_problem(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidScheduleError) as raised:
        build()

    assert message in raised.value.reason


def test_the_error_carries_the_offending_value() -> None:
    with pytest.raises(InvalidScheduleError) as raised:
        every().month().on_day(32)

    assert raised.value.value == 32


def test_a_time_zone_is_meaningless_for_intervals() -> None:
    with pytest.raises(InvalidScheduleError, match="a time zone applies only to day, week and month"):
        type(every().hour())(every=1, unit="hour", tz="Europe/Rome")


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(alphabet="0123456789*/-,#LW?MONFRIJA ", max_size=30), st.text(max_size=20)))
def test_any_cron_text_either_builds_or_raises_invalid_schedule_error(text: str) -> None:
    try:
        schedule = cron(text)
    except InvalidScheduleError:
        return
    assert isinstance(schedule, CronSchedule)
