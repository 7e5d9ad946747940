"""take_token: buckets shared by every process on the storage, never granting more than they hold, and the
slots that over-budget holders reserve in them."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from evertask.ratelimit import RESERVATION_TTL
from evertask.storage import RetentionPolicy, Storage
from tests.contract.helpers import T0, at


async def test_a_new_bucket_gives_its_burst_then_reports_the_wait(storage: Storage) -> None:
    waits = [await storage.take_token("mail", now=T0, rate=1.0, capacity=2) for _ in range(4)]

    assert waits == [0.0, 0.0, 1.0, 1.0]  # without a holder, nothing is reserved


async def test_tokens_come_back_at_the_rate(storage: Storage) -> None:
    for _ in range(2):
        await storage.take_token("mail", now=T0, rate=2.0, capacity=2)

    assert await storage.take_token("mail", now=at(0.25), rate=2.0, capacity=2) == pytest.approx(0.25)
    assert await storage.take_token("mail", now=at(0.5), rate=2.0, capacity=2) == 0.0


async def test_buckets_are_independent(storage: Storage) -> None:
    assert await storage.take_token("tenant:a", now=T0, rate=1.0, capacity=1) == 0.0
    assert await storage.take_token("tenant:b", now=T0, rate=1.0, capacity=1) == 0.0
    assert await storage.take_token("tenant:a", now=T0, rate=1.0, capacity=1) == 1.0


async def test_long_bucket_names_stay_distinct(storage: Storage) -> None:
    prefix = "reports:" + "x" * 600
    assert await storage.take_token(prefix + "1", now=T0, rate=1.0, capacity=1) == 0.0
    assert await storage.take_token(prefix + "2", now=T0, rate=1.0, capacity=1) == 0.0
    assert await storage.take_token(prefix + "1", now=T0, rate=1.0, capacity=1) == 1.0


async def test_concurrent_takes_never_grant_more_than_the_bucket_holds(
    storage: Storage, second_storage: Storage
) -> None:
    takes = [s.take_token("api", now=T0, rate=0.001, capacity=5) for _ in range(10) for s in (storage, second_storage)]

    waits = await asyncio.gather(*takes)

    assert sum(wait == 0.0 for wait in waits) == 5


async def test_purge_keeps_what_buckets_know(storage: Storage) -> None:
    for _ in range(2):
        await storage.take_token("mail", now=T0, rate=1.0, capacity=2)

    await storage.purge(now=at(1), policy=RetentionPolicy())
    assert await storage.take_token("mail", now=at(1), rate=1.0, capacity=2) == 0.0
    assert await storage.take_token("mail", now=at(1), rate=1.0, capacity=2) == 1.0
    await storage.purge(now=at(60), policy=RetentionPolicy())
    assert await storage.take_token("mail", now=at(60), rate=1.0, capacity=2) == 0.0


async def reserve(storage: Storage, holder: uuid.UUID, *, now: float = 0, horizon: float = 60) -> float:
    """A take by ``holder`` at ``at(now)`` from a bucket of one permit a second."""
    return await storage.take_token("api", now=at(now), rate=1.0, capacity=1, holder=holder, horizon=horizon)


async def test_over_budget_holders_reserve_consecutive_slots(storage: Storage) -> None:
    holders = [uuid.uuid4() for _ in range(4)]

    assert [await reserve(storage, holder) for holder in holders] == [0.0, 1.0, 2.0, 3.0]


async def test_a_holder_runs_on_its_slot_without_taking_again(storage: Storage) -> None:
    first, second, late = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await reserve(storage, first)
    assert await reserve(storage, second) == 1.0

    assert await reserve(storage, second, now=1) == 0.0
    assert await reserve(storage, late, now=1) == 1.0  # the slot after the second's: it took nothing at 1
    assert await reserve(storage, second, now=1) == 2.0  # its reservation is used up: it stands in line again


async def test_a_holder_back_early_waits_for_the_same_slot(storage: Storage) -> None:
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for holder in (first, second):
        await reserve(storage, holder)

    assert await reserve(storage, second, now=0.25) == pytest.approx(0.75)
    assert await reserve(storage, third, now=0.25) == pytest.approx(1.75)  # no second slot for the second


async def test_nothing_is_reserved_beyond_the_horizon(storage: Storage) -> None:
    holders = [uuid.uuid4() for _ in range(4)]

    waits = [await reserve(storage, holder, horizon=1.5) for holder in holders]

    assert waits == [0.0, 1.0, 2.0, 2.0]  # the last two wait for the reserved slots to run out, reserving none
    assert await reserve(storage, holders[2], now=2) == 0.0
    assert await reserve(storage, holders[3], now=2) == 1.0


async def test_concurrent_holders_never_share_a_slot(storage: Storage, second_storage: Storage) -> None:
    takes = [reserve(s, uuid.uuid4(), horizon=100) for _ in range(5) for s in (storage, second_storage)]

    waits = await asyncio.gather(*takes)

    assert sorted(waits) == [float(n) for n in range(10)]


async def test_a_reservation_is_forgotten_after_its_ttl(storage: Storage) -> None:
    first, holder = uuid.uuid4(), uuid.uuid4()
    await reserve(storage, first)
    await reserve(storage, holder)  # reserves the slot at 1
    late = 1 + RESERVATION_TTL.total_seconds() + 10

    assert await reserve(storage, holder, now=late) == 0.0  # a full bucket by then: it takes a permit
    assert await reserve(storage, uuid.uuid4(), now=late) == 1.0  # which shows: it did not run on the old slot


async def test_purge_keeps_reservations_until_their_ttl(storage: Storage) -> None:
    first, holder = uuid.uuid4(), uuid.uuid4()
    await reserve(storage, first)
    await reserve(storage, holder, horizon=7200)  # the slot at 1
    await reserve(storage, uuid.uuid4(), horizon=7200)  # the slot at 2

    await storage.purge(now=at(1.5), policy=RetentionPolicy())

    assert await reserve(storage, holder, now=1.5) == 0.0
    assert await reserve(storage, uuid.uuid4(), now=1.5) == pytest.approx(1.5)  # after the slot at 2: none taken


async def test_a_take_without_a_holder_reserves_nothing_and_never_fails(storage: Storage) -> None:
    # Found by the differential test on PostgreSQL and MySQL: an over-budget take with a horizon but no holder
    # stored a reservation with a NULL holder, which the schema refuses.
    waits = [await storage.take_token("nobody", now=T0, rate=1.0, capacity=1, horizon=60) for _ in range(3)]

    assert waits[0] == 0.0
    assert all(wait > 0 for wait in waits[1:])
