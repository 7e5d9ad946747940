"""take_token: token buckets shared by every process on the storage, never granting more than they hold."""

from __future__ import annotations

import asyncio

import pytest

from evertask.storage import RetentionPolicy, Storage
from tests.contract.helpers import T0, at


async def test_a_new_bucket_gives_its_burst_then_reports_the_wait(storage: Storage) -> None:
    waits = [await storage.take_token("mail", now=T0, rate=1.0, capacity=2) for _ in range(3)]

    assert waits == [0.0, 0.0, 1.0]


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
