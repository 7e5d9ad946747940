"""Cron schedules: the syntax accepted, and agreement with croniter (the reference implementation)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from schedule_strategies import ZONES, cron_expressions, instants, near_dst_transition, utc

from evertask.schedule import cron

NOON = utc(2024, 5, 15, 12, 0, 0)  # a Wednesday


def test_every_fifteen_minutes_runs_at_the_quarter_hours() -> None:
    schedule = cron("*/15 * * * *")

    assert schedule.first_run(utc(2024, 5, 15, 12, 7)) == utc(2024, 5, 15, 12, 15)
    assert schedule.next_run(utc(2024, 5, 15, 12, 15), runs_done=1) == utc(2024, 5, 15, 12, 30)


def test_six_fields_start_with_a_seconds_field() -> None:
    assert cron("30 */15 * * * *").first_run(utc(2024, 5, 15, 12, 7)) == utc(2024, 5, 15, 12, 15, 30)


def test_weekday_names_and_ranges_are_accepted() -> None:
    schedule = cron("0 9 * * MON-FRI")

    assert schedule.first_run(utc(2024, 5, 17, 10)) == utc(2024, 5, 20, 9)  # Friday after 9 -> Monday


def test_month_names_and_lists_are_accepted() -> None:
    assert cron("0 0 1 jan,jul *").first_run(NOON) == utc(2024, 7, 1)


def test_seven_is_sunday_as_well_as_zero() -> None:
    assert cron("0 0 * * 7").first_run(NOON) == cron("0 0 * * 0").first_run(NOON) == utc(2024, 5, 19)


def test_a_range_of_one_value_means_that_value() -> None:
    assert cron("0 9 * * 1-1").first_run(NOON) == utc(2024, 5, 20, 9)


def test_last_day_of_month_and_nth_weekday_are_accepted() -> None:
    assert cron("0 0 L * *").first_run(NOON) == utc(2024, 5, 31)
    assert cron("0 0 * * MON#1").first_run(NOON) == utc(2024, 6, 3)


def test_when_both_day_fields_are_restricted_either_one_matching_runs() -> None:
    assert cron("0 0 20 * FRI").first_run(NOON) == utc(2024, 5, 17)  # Friday 17th, before the 20th


def test_a_day_field_starting_with_a_star_counts_as_unrestricted_as_in_debian_cron() -> None:
    # "*/2" in day-of-month AND Friday: odd days that are Fridays (croniter would run any Friday or odd day).
    assert cron("0 0 */2 * FRI").first_run(NOON) == utc(2024, 5, 17)
    assert cron("0 0 */2 * FRI").next_run(utc(2024, 5, 17), runs_done=1) == utc(2024, 5, 31)


def test_cron_is_evaluated_in_its_time_zone() -> None:
    schedule = cron("0 9 * * *", tz="America/New_York")

    assert schedule.first_run(NOON) == utc(2024, 5, 15, 13)  # 09:00 EDT, an hour after noon UTC


def test_results_are_in_utc() -> None:
    first = cron("0 9 * * *", tz="Europe/Rome").first_run(NOON)

    assert first is not None
    assert first.tzinfo is UTC


def test_february_29th_waits_for_the_next_leap_year() -> None:
    assert cron("0 0 29 2 *").next_run(utc(2024, 3, 1), runs_done=1) == utc(2028, 2, 29)


def test_whitespace_is_normalised() -> None:
    assert cron("  */5   *  * * *\t").expression == "*/5 * * * *"


def test_describe_names_the_expression_and_the_time_zone() -> None:
    assert cron("*/15 * * * *").describe() == "cron */15 * * * * (UTC)"
    assert cron("0 9 * * MON-FRI", tz="America/New_York").max_runs(10).describe() == (
        "cron 0 9 * * MON-FRI (America/New_York), at most 10 runs"
    )


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("seconds", [False, True], ids=["5-fields", "6-fields"])
@settings(max_examples=80, deadline=None)
@given(data=st.data(), after=instants)
def test_next_run_equals_croniter_outside_dst_transitions(
    zone: str, seconds: bool, data: st.DataObject, after: datetime
) -> None:
    expression = data.draw(cron_expressions(seconds=seconds), label="expression")

    ours = cron(expression, tz=zone).next_run(after, runs_done=0)
    theirs = croniter(expression, after.astimezone(ZoneInfo(zone)), second_at_beginning=True).get_next(datetime)

    assert ours is not None
    # Within a transition the libraries follow different DST rules (see test_schedule_dst.py).
    assume(not any(near_dst_transition(zone, instant) for instant in (after, ours, theirs)))
    assert ours == theirs
