"""Durations typed on the command line (`--older-than 7d`): what they mean, and how bad ones are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evertask.cli.durations import parse_duration
from evertask.errors import InvalidDurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 90M ", timedelta(minutes=90)),
    ],
)
def test_a_number_and_a_unit_is_that_long(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 d", "7days", "-7d", "1.5h", "0d", "0h0m", "7y", "99999999999999d"])
def test_anything_else_is_refused_with_the_text_and_the_expected_form(text: str) -> None:
    with pytest.raises(InvalidDurationError) as caught:
        parse_duration(text)
    assert caught.value.text == text
    assert repr(text) in str(caught.value)
    assert "e.g. 30m, 12h, 7d" in str(caught.value)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=23), st.integers(1, 59))
def test_parts_add_up(days: int, hours: int, minutes: int) -> None:
    assert parse_duration(f"{days}d{hours}h{minutes}m") == timedelta(days=days, hours=hours, minutes=minutes)
