"""Daylight saving time: the rules of docs/recurring-tasks.md, for fluent and cron schedules.

Rome, 2024: clocks spring forward on 31 March at 02:00 CET -> 03:00 CEST (01:00 UTC) and fall back on
27 October at 03:00 CEST -> 02:00 CET (01:00 UTC). New York, 2024: 10 March 02:00 EST -> 03:00 EDT (07:00 UTC),
3 November 02:00 EDT -> 01:00 EST (06:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from schedule_strategies import local, utc

from evertask.schedule import SUNDAY, Schedule, cron, every

ROME = "Europe/Rome"
NEW_YORK = "America/New_York"


def series(schedule: Schedule, after: datetime, count: int) -> list[datetime | None]:
    """``count`` occurrences chained with next_run from ``after``."""
    found: list[datetime | None] = []
    while len(found) < count:
        previous = found[-1] if found else after
        assert previous is not None
        found.append(schedule.next_run(previous, runs_done=0))
    return found


def test_daily_time_skipped_by_spring_forward_runs_at_the_jump() -> None:
    schedule = every().day().at(time(2, 30), tz=ROME)

    assert series(schedule, utc(2024, 3, 30, 12), 2) == [
        utc(2024, 3, 31, 1, 0),  # 03:00 CEST, the first valid instant after 02:30
        utc(2024, 4, 1, 0, 30),  # 02:30 CEST
    ]


def test_daily_time_repeated_at_fall_back_runs_once_at_its_first_occurrence() -> None:
    schedule = every().day().at(time(2, 30), tz=ROME)

    assert series(schedule, utc(2024, 10, 26, 12), 2) == [
        utc(2024, 10, 27, 0, 30),  # 02:30 CEST, the first pass
        utc(2024, 10, 28, 1, 30),  # 02:30 CET the next day; the second pass is not run
    ]


def test_next_run_from_the_second_pass_of_the_repeated_hour_never_goes_back() -> None:
    schedule = every().day().at(time(2, 30), tz=ROME)
    second_pass = local(ROME, 2024, 10, 27, 2, 10, fold=1)

    assert schedule.next_run(second_pass, runs_done=0) == utc(2024, 10, 28, 1, 30)


def test_daily_time_keeps_its_wall_clock_time_when_the_offset_changes() -> None:
    schedule = every().day().at(time(9, 0), tz=NEW_YORK)

    assert series(schedule, utc(2024, 3, 9, 0), 2) == [utc(2024, 3, 9, 14), utc(2024, 3, 10, 13)]


def test_new_york_spring_forward_gap_runs_at_three() -> None:
    assert every().day().at(time(2, 15), tz=NEW_YORK).first_run(utc(2024, 3, 10)) == utc(2024, 3, 10, 7)


def test_weekly_and_monthly_times_follow_the_same_rule() -> None:
    weekly = every().week().on(SUNDAY).at(time(2, 30), tz=ROME)
    monthly = every().month().on_last_day().at(time(2, 30), tz=ROME)

    assert weekly.first_run(utc(2024, 3, 30)) == monthly.first_run(utc(2024, 3, 30)) == utc(2024, 3, 31, 1, 0)


def test_midnight_skipped_by_a_midnight_transition_runs_at_one() -> None:
    # São Paulo sprang forward at 00:00 -> 01:00 on 4 November 2018.
    schedule = every().day().at(time(0, 0), tz="America/Sao_Paulo")

    assert schedule.first_run(utc(2018, 11, 3, 12)) == local("America/Sao_Paulo", 2018, 11, 4, 1, 0)


def test_interval_schedules_count_elapsed_time_across_dst_changes() -> None:
    runs = series(every().hour(), utc(2024, 10, 26, 23, 0), 4)

    assert runs == [utc(2024, 10, 27, hour) for hour in range(4)]  # 02:00 CEST and 02:00 CET both run


def test_cron_fixed_time_skipped_by_spring_forward_runs_at_the_jump() -> None:
    assert series(cron("30 2 * * *", tz=ROME), utc(2024, 3, 30, 12), 2) == [
        utc(2024, 3, 31, 1, 0),
        utc(2024, 4, 1, 0, 30),
    ]


def test_cron_fixed_time_repeated_at_fall_back_runs_once() -> None:
    assert series(cron("30 1 * * *", tz=NEW_YORK), utc(2024, 11, 2, 12), 2) == [
        utc(2024, 11, 3, 5, 30),  # 01:30 EDT
        utc(2024, 11, 4, 6, 30),  # 01:30 EST the next day
    ]


def test_six_field_cron_follows_the_same_rule_as_five_fields() -> None:
    # cronsim alone applies the DST rule to 5-field expressions only; evertask applies it to both.
    five, six = cron("30 2 * * *", tz=ROME), cron("0 30 2 * * *", tz=ROME)
    for after in (utc(2024, 3, 30, 12), utc(2024, 10, 26, 12), local(ROME, 2024, 10, 27, 2, 10, fold=1)):
        assert series(six, after, 2) == series(five, after, 2)


def test_cron_with_a_star_in_the_hour_keeps_its_rhythm_through_the_repeated_hour() -> None:
    runs = series(cron("*/30 * * * *", tz=NEW_YORK), utc(2024, 11, 3, 4, 50), 5)

    # 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST, 02:00 EST: every 30 minutes of elapsed time.
    assert runs == [utc(2024, 11, 3, 5) + step * timedelta(minutes=30) for step in range(5)]


def test_cron_with_a_star_in_the_hour_skips_times_that_do_not_exist() -> None:
    # 01:00 EST then 03:00 EDT: one hour of elapsed time, no extra run for the missing 02:00.
    assert series(cron("0 * * * *", tz=NEW_YORK), utc(2024, 3, 10, 5, 30), 2) == [
        utc(2024, 3, 10, 6),
        utc(2024, 3, 10, 7),
    ]
