"""Token buckets: permits per window per key, bursts, and the waits they report (clock passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evertask.errors import ConfigurationError
from evertask.ratelimit import RESERVATION_TTL, Bucket, RateLimit, take_token
from evertask.storage import MemoryStorage

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_full_bucket_gives_its_burst_then_reports_the_wait_for_the_next_permit() -> None:
    bucket = None
    waits = []
    for _ in range(3):
        take = take_token(bucket, now=T0, rate=1.0, capacity=2)
        bucket = take.bucket
        waits.append(take.wait)
    assert waits == [0.0, 0.0, 1.0]
    assert bucket == Bucket(T0 + timedelta(seconds=2))  # the third, over budget, took nothing


def test_tokens_come_back_at_the_rate_and_never_beyond_capacity() -> None:
    bucket = take_token(None, now=T0, rate=2.0, capacity=2).bucket
    bucket = take_token(bucket, now=T0, rate=2.0, capacity=2).bucket
    take = take_token(bucket, now=T0 + timedelta(seconds=0.25), rate=2.0, capacity=2)
    assert take.wait == pytest.approx(0.25)
    later = T0 + timedelta(hours=1)
    take = take_token(take.bucket, now=later, rate=2.0, capacity=2)
    assert take.wait == 0.0
    assert take.bucket == Bucket(later + timedelta(seconds=0.5))  # refilled to capacity (2), then one taken


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=20))
def test_no_more_than_permits_plus_burst_are_granted_in_one_window(permits: int, extra_requests: int) -> None:
    limit = RateLimit(permits=permits, per=timedelta(seconds=10))
    bucket = None
    granted = 0
    for i in range(permits + extra_requests):
        now = T0 + timedelta(seconds=10 * i / (permits + extra_requests))  # all inside one 10 s window
        take = take_token(bucket, now=now, rate=limit.rate, capacity=limit.capacity)
        bucket = take.bucket
        granted += take.wait == 0.0
    assert granted <= 2 * permits  # a full bucket (burst) plus what refills within the window


def test_over_budget_holders_reserve_consecutive_slots_in_the_order_they_ask() -> None:
    bucket = take_token(None, now=T0, rate=1.0, capacity=1).bucket
    waits, slots = [], []
    for _ in range(3):
        take = take_token(bucket, now=T0, rate=1.0, capacity=1, horizon=60)
        bucket = take.bucket
        waits.append(take.wait)
        slots.append(take.reserved)
    assert waits == [1.0, 2.0, 3.0]
    assert slots == [T0 + timedelta(seconds=s) for s in (1, 2, 3)]
    assert bucket == Bucket(T0 + timedelta(seconds=4))


def test_a_holder_runs_on_its_reservation_and_early_it_is_told_to_wait_for_the_same_slot() -> None:
    bucket = Bucket(T0 + timedelta(seconds=4))
    slot = T0 + timedelta(seconds=2)

    early = take_token(bucket, slot, now=T0 + timedelta(seconds=0.5), rate=1.0, capacity=1, horizon=60)
    assert (early.bucket, early.wait, early.reserved) == (bucket, 1.5, slot)
    on_time = take_token(bucket, slot, now=slot + timedelta(seconds=0.1), rate=1.0, capacity=1, horizon=60)
    assert (on_time.bucket, on_time.wait, on_time.reserved) == (bucket, 0.0, None)  # paid when it reserved


def test_a_reservation_past_its_ttl_is_forgotten() -> None:
    slot = T0 + timedelta(seconds=2)
    much_later = slot + RESERVATION_TTL + timedelta(seconds=1)
    bucket = Bucket(much_later + timedelta(seconds=10))  # busy again by then

    take = take_token(bucket, slot, now=much_later, rate=1.0, capacity=1, horizon=60)

    assert take.reserved == much_later + timedelta(seconds=10)  # a new slot, after the others
    assert take.bucket == Bucket(much_later + timedelta(seconds=11))


def test_nothing_is_reserved_beyond_the_horizon_or_without_one() -> None:
    bucket = Bucket(T0 + timedelta(seconds=10))
    for horizon in (0.0, 8.0):
        take = take_token(bucket, now=T0, rate=1.0, capacity=1, horizon=horizon)
        assert (take.bucket, take.wait, take.reserved) == (bucket, 10.0, None)
    assert take_token(bucket, now=T0, rate=1.0, capacity=1, horizon=10.0).reserved == T0 + timedelta(seconds=10)


@given(
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=5),
    st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=40),
)
def test_reserved_slots_keep_the_rate_and_the_order_of_asking(capacity: int, rate: int, gaps_ms: list[int]) -> None:
    bucket, now, runs = None, T0, []
    for gap in gaps_ms:
        now += timedelta(milliseconds=gap)
        take = take_token(bucket, now=now, rate=rate, capacity=capacity, horizon=3600)
        bucket = take.bucket
        assert take.wait == 0.0 or take.reserved is not None  # within the horizon every caller gets a slot
        runs.append(take.reserved or now)
    assert runs == sorted(runs)  # first come, first served
    for i, first in enumerate(runs):
        for j in range(i + 1, len(runs)):
            window = (runs[j] - first).total_seconds()
            assert j - i + 1 <= capacity + window * rate + 1e-6  # GCRA's bound: burst plus the rate


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
        {"permits": 1, "per": timedelta(seconds=1), "horizon": timedelta(0)},
    ],
)
def test_nonsense_limits_are_configuration_errors(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimit(**settings)  # type: ignore[arg-type]
