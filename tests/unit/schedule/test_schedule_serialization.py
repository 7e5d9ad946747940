"""The stored JSON form: stable, versioned, exact round trip, and loud about anything it cannot read."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_strategies import schedules, utc

from evertask.errors import InvalidScheduleError
from evertask.schedule import MONDAY, Schedule, cron, every, schedule_from_json


@settings(max_examples=200, deadline=None)
@given(schedule=schedules())
def test_json_round_trip_is_exact(schedule: Schedule) -> None:
    stored = json.loads(json.dumps(schedule.to_json()))

    restored = schedule_from_json(stored)

    assert restored == schedule
    assert restored.to_json() == schedule.to_json()
    assert restored.describe() == schedule.describe()


def test_fluent_json_form_is_stable() -> None:
    schedule = every(2).weeks().on(MONDAY).at(time(9), tz="Europe/Rome").max_runs(3).run_now()

    assert schedule.to_json() == {
        "version": 1,
        "kind": "every",
        "every": 2,
        "unit": "week",
        "times": ["09:00:00"],
        "weekdays": ["monday"],
        "days": [],
        "first_weekday": None,
        "months": [],
        "minute": None,
        "second": None,
        "tz": "Europe/Rome",
        "max_runs": 3,
        "until": None,
        "run_now": True,
        "starting_at": None,
        "starting_after": None,
    }


def test_cron_json_form_is_stable() -> None:
    schedule = cron("*/15 * * * *").until(utc(2025, 1, 1)).starting_after(timedelta(minutes=1, microseconds=5))

    assert schedule.to_json() == {
        "version": 1,
        "kind": "cron",
        "expression": "*/15 * * * *",
        "tz": "UTC",
        "max_runs": None,
        "until": "2025-01-01T00:00:00+00:00",
        "run_now": False,
        "starting_at": None,
        "starting_after": 60.000005,
    }


def _stored(**changes: object) -> dict[str, object]:
    data = cron("0 9 * * *").to_json()
    data.update(changes)
    return {key: value for key, value in data.items() if value is not ...}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        (_stored(version=2), "format version 2"),
        (_stored(version="1"), "'version' must be an integer"),
        (_stored(kind="interval"), "unknown kind"),
        (_stored(expression=...), "no 'expression' field"),
        (_stored(colour="blue"), "unknown fields ['colour']"),
        (_stored(expression="0 9 * *"), "5 fields"),
        (_stored(tz="Mars/Olympus"), "unknown time zone"),
        (_stored(max_runs=True), "'max_runs' must be an integer"),
        (_stored(max_runs=0), "max_runs must be a whole number >= 1"),
        (_stored(until="tomorrow"), "is not a date-time"),
        (_stored(until="2025-01-01T00:00:00"), "timezone-aware"),
        (_stored(run_now=1), "'run_now' must be true or false"),
        (_stored(starting_after="60"), "number of seconds"),
        (_stored(starting_after=-1), "starting_after needs a timedelta"),
        (_stored(run_now=True, starting_after=60), "choose one of"),
        ({**every().day().to_json(), "times": ["9 o'clock"]}, "not HH:MM:SS"),
        ({**every().day().to_json(), "times": [900]}, "'times' must be a list of times"),
        ({**every().week().to_json(), "weekdays": ["funday"]}, "day name"),
        ({**every().day().to_json(), "unit": "fortnight"}, "unit must be one of"),
        ({**every().day().to_json(), "weekdays": ["monday"]}, "needs every().week()"),
    ],
)
def test_malformed_stored_schedules_raise_invalid_schedule_error(data: object, message: str) -> None:
    with pytest.raises(InvalidScheduleError) as raised:
        schedule_from_json(data)

    assert message in str(raised.value)


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules(),
    key=st.sampled_from(sorted(every().day().to_json().keys() | cron("* * * * *").to_json().keys())),
    value=st.one_of(
        st.sampled_from([None, float("nan"), float("inf"), 10**30, -1, 0, "", "UTC", "9999-12-31T23:59:59-05:00"]),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=5),
        st.lists(st.integers()),
    ),
)
def test_any_corrupted_field_either_reads_or_raises_invalid_schedule_error(
    schedule: Schedule, key: str, value: object
) -> None:
    data = {**schedule.to_json(), key: value}
    try:
        restored = schedule_from_json(data)
    except InvalidScheduleError:
        return
    assert isinstance(restored, Schedule)
