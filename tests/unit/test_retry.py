"""Retry policies: counts, delays, filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evertask import RetryPolicy
from evertask.errors import ConfigurationError, TaskCancelledError, TaskTimeoutError


def test_linear_means_that_many_retries_after_the_first_attempt() -> None:
    policy = RetryPolicy.linear(3, timedelta(milliseconds=500))
    error = ValueError()
    assert [policy.next_delay(attempt, error) for attempt in (1, 2, 3, 4)] == [timedelta(milliseconds=500)] * 3 + [None]


def test_exponential_grows_by_factor_up_to_the_cap() -> None:
    policy = RetryPolicy.exponential(6, timedelta(seconds=1), factor=2, max_delay=timedelta(seconds=5), jitter=False)
    delays = [policy.next_delay(a, ValueError()) for a in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (1, 2, 4, 5, 5, 5)]


@given(st.integers(min_value=1, max_value=10))
def test_jitter_stays_between_half_and_the_full_delay(attempt: int) -> None:
    policy = RetryPolicy.exponential(10, timedelta(seconds=1), max_delay=timedelta(seconds=60))
    full = min(2 ** (attempt - 1), 60)
    delay = policy.next_delay(attempt, ValueError())
    assert delay is not None
    assert full / 2 <= delay.total_seconds() <= full


def test_retry_on_limits_retries_to_those_types() -> None:
    policy = RetryPolicy.linear(3).retry_on(ConnectionError)
    assert policy.next_delay(1, ConnectionResetError()) is not None
    assert policy.next_delay(1, ValueError()) is None


def test_never_on_wins_over_retry_on() -> None:
    policy = RetryPolicy.linear(3).retry_on(OSError).never_on(PermissionError)
    assert policy.next_delay(1, PermissionError()) is None
    assert policy.next_delay(1, OSError()) is not None


def test_callback_has_the_last_word_and_sees_the_attempt() -> None:
    asked: list[int] = []

    def only_first(error: BaseException, attempt: int) -> bool:
        asked.append(attempt)
        return attempt == 1

    policy = RetryPolicy.linear(5).when(only_first)
    assert policy.next_delay(1, ValueError()) is not None
    assert policy.next_delay(2, ValueError()) is None
    assert asked == [1, 2]


def test_cancellation_is_never_retried_but_timeouts_are() -> None:
    from uuid import uuid4

    policy = RetryPolicy.linear(3)
    assert policy.next_delay(1, TaskCancelledError(uuid4())) is None
    assert policy.next_delay(1, TaskTimeoutError(uuid4(), 1.0)) is not None


def test_none_is_a_single_attempt() -> None:
    assert RetryPolicy.none().next_delay(1, ValueError()) is None


@pytest.mark.parametrize(
    "build",
    [
        lambda: RetryPolicy.linear(-1),
        lambda: RetryPolicy.linear(1, timedelta(seconds=-1)),
        lambda: RetryPolicy.exponential(1, factor=0.5),
    ],
)
def test_nonsense_policies_are_configuration_errors(build: object) -> None:
    with pytest.raises(ConfigurationError):
        build()  # type: ignore[operator]
