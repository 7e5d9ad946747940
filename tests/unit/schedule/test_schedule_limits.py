"""How a series starts (run now, initial delay, start time), ends (max runs, until) and resumes after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_strategies import bare_schedules, instants, utc

from evertask.schedule import MONDAY, Schedule, cron, every

NOW = utc(2024, 5, 15, 12, 0, 3)


def test_max_runs_ends_the_series_once_that_many_runs_are_done() -> None:
    schedule = every(10).seconds().max_runs(3)

    assert schedule.next_run(NOW, runs_done=2) == NOW + timedelta(seconds=10)
    assert schedule.next_run(NOW, runs_done=3) is None


def test_until_ends_the_series_when_the_next_occurrence_would_pass_it() -> None:
    schedule = every().day().at(time(9)).until(utc(2024, 5, 17, 9))

    assert schedule.next_run(utc(2024, 5, 16, 9), runs_done=1) == utc(2024, 5, 17, 9)  # inclusive
    assert schedule.next_run(utc(2024, 5, 17, 9), runs_done=2) is None


def test_the_same_limits_apply_to_cron_schedules() -> None:
    schedule = cron("0 * * * *").max_runs(10).until(utc(2024, 5, 15, 14))

    assert schedule.next_run(utc(2024, 5, 15, 12), runs_done=9) == utc(2024, 5, 15, 13)
    assert schedule.next_run(utc(2024, 5, 15, 12), runs_done=10) is None
    assert schedule.next_run(utc(2024, 5, 15, 14), runs_done=3) is None


def test_a_series_dispatched_after_its_until_has_no_first_run() -> None:
    assert every().hour().until(NOW - timedelta(seconds=1)).first_run(NOW) is None


@settings(max_examples=60, deadline=None)
@given(schedule=bare_schedules, now=instants, max_runs=st.integers(1, 12))
def test_a_series_chained_like_a_worker_runs_exactly_max_runs_times(
    schedule: Schedule, now: datetime, max_runs: int
) -> None:
    limited = schedule.max_runs(max_runs)
    runs = [limited.first_run(now)]
    while runs[-1] is not None and len(runs) <= max_runs:
        runs.append(limited.next_run(runs[-1], runs_done=len(runs)))

    assert len(runs) == max_runs + 1
    assert runs[-1] is None


@settings(max_examples=60, deadline=None)
@given(
    schedule=bare_schedules,
    now=instants,
    span=st.one_of(st.timedeltas(timedelta(0), timedelta(minutes=10)), st.timedeltas(timedelta(0), timedelta(days=90))),
)
def test_a_series_chained_like_a_worker_never_runs_after_until(
    schedule: Schedule, now: datetime, span: timedelta
) -> None:
    until = now + span
    limited = schedule.until(until)
    occurrence, runs = limited.first_run(now), 0
    while occurrence is not None and runs < 1_000:
        assert occurrence <= until
        occurrence, runs = limited.next_run(occurrence, runs_done=runs + 1), runs + 1


def test_limits_are_readable() -> None:
    schedule = every().day().max_runs(5).until(datetime.fromisoformat("2025-01-01T01:00:00+01:00"))

    assert schedule.limits.max_runs == 5
    assert schedule.limits.until == utc(2025, 1, 1)
    assert schedule.limits.until.tzinfo is UTC


def test_run_now_runs_at_dispatch_then_follows_the_schedule() -> None:
    schedule = every().day().at(time(9)).run_now()

    assert schedule.first_run(NOW) == NOW
    assert schedule.next_run(NOW, runs_done=1) == utc(2024, 5, 16, 9)


def test_run_now_applies_to_cron_schedules_too() -> None:
    assert cron("0 0 1 1 *").run_now().first_run(NOW) == NOW


def test_starting_after_delays_the_first_run_and_anchors_an_interval_there() -> None:
    schedule = every(10).seconds().starting_after(timedelta(minutes=1))

    first = schedule.first_run(NOW)
    assert first == NOW + timedelta(minutes=1)
    assert schedule.next_run(first, runs_done=1) == NOW + timedelta(minutes=1, seconds=10)


def test_starting_at_a_future_time_runs_first_at_that_time() -> None:
    start = utc(2024, 6, 1, 8, 30)

    assert every().day().at(time(9)).starting_at(start).first_run(NOW) == start


def test_starting_at_a_past_time_skips_to_the_first_occurrence_after_now_on_its_grid() -> None:
    schedule = every(15).minutes().starting_at(utc(2024, 5, 15, 11, 5))

    assert schedule.first_run(NOW) == utc(2024, 5, 15, 12, 5)


def test_skip_missed_skips_overdue_occurrences_in_one_step_and_keeps_the_phase() -> None:
    schedule = every(10).minutes()
    last_scheduled = utc(2024, 5, 15, 8, 3)  # then the app was down until NOW (12:00:03)

    assert schedule.skip_missed(last_scheduled, NOW, runs_done=1) == utc(2024, 5, 15, 12, 3)


def test_skip_missed_equals_next_run_when_nothing_was_missed() -> None:
    schedule = every(2).weeks().on(MONDAY).at(time(9))
    previous = utc(2024, 5, 13, 9)

    assert schedule.skip_missed(previous, utc(2024, 5, 14), runs_done=1) == schedule.next_run(previous, 1)


def test_skip_missed_for_calendar_schedules_gives_the_next_slot_after_now() -> None:
    schedule = every().day().at(time(9), time(17))

    assert schedule.skip_missed(utc(2024, 5, 1, 9), NOW, runs_done=1) == utc(2024, 5, 15, 17)


def test_skip_missed_keeps_the_phase_of_every_n_weeks() -> None:
    schedule = every(2).weeks().on(MONDAY).at(time(9))  # Mondays of alternate weeks, from 6 May

    assert schedule.skip_missed(utc(2024, 5, 6, 9), utc(2024, 5, 28), runs_done=1) == utc(2024, 6, 3, 9)


def test_skip_missed_honours_the_limits() -> None:
    schedule = every(10).minutes().max_runs(2).until(utc(2024, 5, 15, 12, 2))

    assert schedule.skip_missed(utc(2024, 5, 15, 8, 3), NOW, runs_done=2) is None
    assert schedule.skip_missed(utc(2024, 5, 15, 8, 3), NOW, runs_done=1) is None  # 12:03 passes until


@pytest.mark.parametrize(
    "schedule",
    [every().day().max_runs(1), every().hour().until(utc(2030, 1, 1)), cron("* * * * *").max_runs(3)],
)
def test_limits_survive_other_builder_calls(schedule: Schedule) -> None:
    assert schedule.run_now().limits == schedule.limits
