"""The fluent schedule, one behaviour per test, in the words of the user guide (docs/recurring-tasks.md)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from schedule_strategies import utc

from evertask.schedule import FRIDAY, LAST_DAY, MONDAY, WEDNESDAY, Schedule, every


def occurrences(schedule: Schedule, now: datetime, count: int) -> list[datetime]:
    """The first ``count`` occurrences of a series dispatched at ``now``, chained like a worker does."""
    found = [schedule.first_run(now)]
    while len(found) < count:
        previous = found[-1]
        assert previous is not None
        found.append(schedule.next_run(previous, runs_done=len(found)))
    return [value for value in found if value is not None]


NOON = utc(2024, 5, 15, 12, 0, 0)  # a Wednesday


def test_every_five_minutes_first_runs_five_minutes_after_dispatch() -> None:
    assert every(5).minutes().first_run(NOON) == utc(2024, 5, 15, 12, 5)


def test_intervals_are_anchored_to_the_previous_scheduled_occurrence_not_to_when_it_finished() -> None:
    schedule = every(10).seconds()
    scheduled = utc(2024, 5, 15, 12, 0, 3)

    assert schedule.next_run(scheduled, runs_done=1) == utc(2024, 5, 15, 12, 0, 13)


def test_interval_occurrences_never_drift_from_the_first_run() -> None:
    runs = occurrences(every(7).minutes(), NOON + timedelta(microseconds=250), 200)

    assert runs[-1] - runs[0] == 199 * timedelta(minutes=7)


@pytest.mark.parametrize(
    ("schedule", "step"),
    [
        (every().second(), timedelta(seconds=1)),
        (every(90).seconds(), timedelta(seconds=90)),
        (every().minute(), timedelta(minutes=1)),
        (every().hour(), timedelta(hours=1)),
        (every(6).hours(), timedelta(hours=6)),
    ],
)
def test_interval_units_step_by_their_length(schedule: Schedule, step: timedelta) -> None:
    assert occurrences(schedule, NOON, 2) == [NOON + step, NOON + 2 * step]


def test_daily_schedule_dispatched_before_its_time_runs_the_same_day() -> None:
    assert every().day().at(time(13, 0)).first_run(NOON) == utc(2024, 5, 15, 13, 0)


def test_daily_schedule_dispatched_after_its_time_runs_the_next_day() -> None:
    assert every().day().at(time(9, 0)).first_run(NOON) == utc(2024, 5, 16, 9, 0)


def test_daily_schedule_without_a_time_runs_at_midnight() -> None:
    assert occurrences(every().day(), NOON, 2) == [utc(2024, 5, 16), utc(2024, 5, 17)]


def test_several_times_a_day_run_in_order_every_day() -> None:
    schedule = every().day().at(time(17, 0), time(9, 0))

    assert occurrences(schedule, NOON, 4) == [
        utc(2024, 5, 15, 17),
        utc(2024, 5, 16, 9),
        utc(2024, 5, 16, 17),
        utc(2024, 5, 17, 9),
    ]


def test_every_two_days_skips_a_day_after_each_run() -> None:
    assert occurrences(every(2).days().at(time(8, 0)), NOON, 3) == [
        utc(2024, 5, 16, 8),
        utc(2024, 5, 18, 8),
        utc(2024, 5, 20, 8),
    ]


def test_weekly_schedule_runs_on_each_listed_weekday() -> None:
    schedule = every().week().on(MONDAY, FRIDAY).at(time(8, 0))

    assert occurrences(schedule, NOON, 3) == [utc(2024, 5, 17, 8), utc(2024, 5, 20, 8), utc(2024, 5, 24, 8)]


def test_weekly_schedule_without_weekdays_runs_on_monday_at_midnight() -> None:
    assert every().week().first_run(NOON) == utc(2024, 5, 20)


def test_every_two_weeks_runs_in_alternate_weeks_from_the_first_run() -> None:
    schedule = every(2).weeks().on(MONDAY, WEDNESDAY).at(time(9, 0))

    assert occurrences(schedule, NOON, 4) == [
        utc(2024, 5, 20, 9),
        utc(2024, 5, 22, 9),
        utc(2024, 6, 3, 9),
        utc(2024, 6, 5, 9),
    ]


def test_monthly_schedule_runs_on_the_given_day() -> None:
    assert occurrences(every().month().on_day(15).at(time(6, 0)), NOON, 2) == [
        utc(2024, 6, 15, 6),
        utc(2024, 7, 15, 6),
    ]


def test_monthly_schedule_without_a_day_runs_on_the_first() -> None:
    assert every().month().first_run(NOON) == every().month().on_first_day().first_run(NOON) == utc(2024, 6, 1)


def test_last_day_of_the_month_follows_the_length_of_each_month() -> None:
    schedule = every().month().on_last_day()

    assert occurrences(schedule, utc(2024, 1, 15), 4) == [
        utc(2024, 1, 31),
        utc(2024, 2, 29),
        utc(2024, 3, 31),
        utc(2024, 4, 30),
    ]


def test_a_day_the_month_lacks_runs_on_its_last_day_instead_of_skipping_the_month() -> None:
    schedule = every().month().on_day(31)

    assert occurrences(schedule, utc(2023, 1, 31, 12), 3) == [utc(2023, 2, 28), utc(2023, 3, 31), utc(2023, 4, 30)]


def test_several_days_of_the_month_run_in_order_and_once_each() -> None:
    schedule = every().month().on_days(15, 1, LAST_DAY, 31)

    assert occurrences(schedule, utc(2024, 4, 10), 4) == [
        utc(2024, 4, 15),
        utc(2024, 4, 30),
        utc(2024, 5, 1),
        utc(2024, 5, 15),
    ]


def test_every_three_months_counts_months_from_the_first_run() -> None:
    assert occurrences(every(3).months().on_day(1), NOON, 3) == [utc(2024, 6, 1), utc(2024, 9, 1), utc(2024, 12, 1)]


def test_first_weekday_of_the_month() -> None:
    assert occurrences(every().month().on_first(MONDAY).at(time(9)), NOON, 2) == [
        utc(2024, 6, 3, 9),
        utc(2024, 7, 1, 9),
    ]


def test_in_months_runs_only_in_the_listed_months() -> None:
    schedule = every().month().in_months(1, 4, 7, 10).on_day(1)

    assert occurrences(schedule, NOON, 3) == [utc(2024, 7, 1), utc(2024, 10, 1), utc(2025, 1, 1)]


def test_hourly_schedule_at_a_minute_runs_at_that_minute_of_every_hour() -> None:
    assert occurrences(every().hour().at_minute(15), utc(2024, 5, 15, 10, 10), 3) == [
        utc(2024, 5, 15, 10, 15),
        utc(2024, 5, 15, 11, 15),
        utc(2024, 5, 15, 12, 15),
    ]


def test_every_two_hours_at_a_minute_keeps_the_two_hour_step() -> None:
    assert occurrences(every(2).hours().at_minute(15).at_second(30), utc(2024, 5, 15, 10, 20), 3) == [
        utc(2024, 5, 15, 11, 15, 30),
        utc(2024, 5, 15, 13, 15, 30),
        utc(2024, 5, 15, 15, 15, 30),
    ]


def test_minute_schedule_at_a_second_runs_at_that_second() -> None:
    assert every().minute().at_second(30).first_run(utc(2024, 5, 15, 10, 0, 45)) == utc(2024, 5, 15, 10, 1, 30)


def test_times_of_day_are_wall_clock_times_in_the_schedule_time_zone() -> None:
    schedule = every().day().at(time(9, 0), tz="Europe/Rome")

    assert schedule.first_run(utc(2024, 1, 10)) == utc(2024, 1, 10, 8)  # CET, UTC+1
    assert schedule.first_run(utc(2024, 7, 10)) == utc(2024, 7, 10, 7)  # CEST, UTC+2


def test_results_are_in_utc_whatever_the_schedule_time_zone() -> None:
    first = every().day().at(time(9, 0), tz="America/New_York").first_run(NOON)

    assert first is not None
    assert first.tzinfo is UTC


def test_now_may_be_given_in_any_time_zone() -> None:
    schedule = every().day().at(time(13, 0))

    assert schedule.first_run(NOON.astimezone(timezone(timedelta(hours=5, minutes=30)))) == utc(2024, 5, 15, 13)


def test_builder_calls_return_new_schedules_and_leave_the_original_unchanged() -> None:
    daily = every().day()
    at_nine = daily.at(time(9, 0))

    assert daily.times == ()
    assert at_nine.times == (time(9, 0),)


def test_equal_schedules_compare_equal_whatever_the_order_of_their_arguments() -> None:
    assert every().day().at(time(17), time(9), time(9)) == every().day().at(time(9), time(17))
    assert every().week().on(FRIDAY, MONDAY) == every().week().on(MONDAY, FRIDAY)


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (every(5).minutes(), "every 5 minutes"),
        (every().second(), "every second"),
        (every().hour().at_minute(15), "every hour at minute 15"),
        (every().minute().at_second(30), "every minute at second 30"),
        (every().day().at(time(9, 0)), "every day at 09:00 UTC"),
        (every().day().at(time(9), time(17, 30, 15)), "every day at 09:00, 17:30:15 UTC"),
        (every(2).weeks().on(MONDAY, FRIDAY).at(time(8)), "every 2 weeks on Monday, Friday at 08:00 UTC"),
        (every().month().on_day(1).at(time(0), tz="Europe/Rome"), "every month on day 1 at 00:00 Europe/Rome"),
        (every().month().on_last_day(), "every month on the last day at 00:00 UTC"),
        (every().month().on_days(15, 1, LAST_DAY), "every month on days 1, 15, last at 00:00 UTC"),
        (every().month().on_first(MONDAY).in_months(1, 7), "every month in Jan, Jul on the first Monday at 00:00 UTC"),
        (
            every(10).seconds().max_runs(3).until(utc(2025, 1, 1)).starting_after(timedelta(minutes=1)),
            "every 10 seconds, first run after 0:01:00, at most 3 runs, until 2025-01-01 00:00:00 UTC",
        ),
        (every().hour().run_now().max_runs(1), "every hour, first run now, at most 1 run"),
    ],
)
def test_describe_gives_short_human_text(schedule: Schedule, text: str) -> None:
    assert schedule.describe() == text
