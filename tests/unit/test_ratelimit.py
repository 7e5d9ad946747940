"""Token buckets: permits per window per key, bursts, and the waits they report (clock passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evertask.errors import ConfigurationError
from evertask.ratelimit import RateLimit, take_token
from evertask.storage import MemoryStorage

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_full_bucket_gives_its_burst_then_reports_the_wait_for_the_next_permit() -> None:
    bucket = None
    waits = []
    for _ in range(3):
        bucket, wait = take_token(bucket, now=T0, rate=1.0, capacity=2)
        waits.append(wait)
    assert waits == [0.0, 0.0, 1.0]


def test_tokens_come_back_at_the_rate_and_never_beyond_capacity() -> None:
    bucket, _ = take_token(None, now=T0, rate=2.0, capacity=2)
    bucket, _ = take_token(bucket, now=T0, rate=2.0, capacity=2)
    bucket, wait = take_token(bucket, now=T0 + timedelta(seconds=0.25), rate=2.0, capacity=2)
    assert wait == pytest.approx(0.25)
    bucket, wait = take_token(bucket, now=T0 + timedelta(hours=1), rate=2.0, capacity=2)
    assert wait == 0.0
    assert bucket.tokens == pytest.approx(1.0)  # refilled to capacity (2), then one taken


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=20))
def test_no_more_than_permits_plus_burst_are_granted_in_one_window(permits: int, extra_requests: int) -> None:
    limit = RateLimit(permits=permits, per=timedelta(seconds=10))
    bucket = None
    granted = 0
    for i in range(permits + extra_requests):
        now = T0 + timedelta(seconds=10 * i / (permits + extra_requests))  # all inside one 10 s window
        bucket, wait = take_token(bucket, now=now, rate=limit.rate, capacity=limit.capacity)
        granted += wait == 0.0
    assert granted <= 2 * permits  # a full bucket (burst) plus what refills within the window


async def test_storage_buckets_are_independent_per_key() -> None:
    storage = MemoryStorage()
    limit = RateLimit(permits=1, per=timedelta(minutes=1), key=lambda task: task)
    first = await storage.take_token(limit.bucket_for("sync", "tenant-a"), now=T0, rate=limit.rate, capacity=1)
    second = await storage.take_token(limit.bucket_for("sync", "tenant-a"), now=T0, rate=limit.rate, capacity=1)
    other = await storage.take_token(limit.bucket_for("sync", "tenant-b"), now=T0, rate=limit.rate, capacity=1)
    assert (first, other) == (0.0, 0.0)
    assert second == pytest.approx(60.0)


async def test_memory_storage_tracks_a_bounded_number_of_buckets() -> None:
    storage = MemoryStorage()
    storage.max_buckets = 3
    for key in "abcde":
        await storage.take_token(key, now=T0, rate=1.0, capacity=1)
    assert len(storage._buckets) == 3


@pytest.mark.parametrize(
    "settings",
    [
        {"permits": 0, "per": timedelta(seconds=1)},
        {"permits": 1, "per": timedelta(0)},
        {"permits": 1, "per": timedelta(seconds=1), "burst": 0},
        {"permits": 1, "per": timedelta(seconds=1), "when_exceeded": "explode"},
    ],
)
def test_nonsense_limits_are_configuration_errors(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimit(**settings)  # type: ignore[arg-type]
