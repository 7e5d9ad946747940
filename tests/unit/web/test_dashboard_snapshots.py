"""Snapshots of costly aggregates: exact while cheap, kept and refreshed behind the pages when costly."""

from __future__ import annotations

import asyncio

import pytest

from evertask.web.dashboard import snapshots
from evertask.web.dashboard.snapshots import Snapshot


class Counter:
    """An aggregate whose every read returns the next number; ``cost`` seconds of (fake) time each."""

    def __init__(self, cost: float, clock: list[float]) -> None:
        self.cost = cost
        self.clock = clock
        self.reads = 0

    async def read(self) -> int:
        self.clock[0] += self.cost
        self.reads += 1
        return self.reads


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(snapshots.time, "monotonic", lambda: now[0])
    return now


async def test_a_cheap_aggregate_is_read_for_every_page(clock: list[float]) -> None:
    counter = Counter(0.001, clock)
    snapshot = Snapshot("counter", counter.read, refreshed=lambda: None)

    assert [await snapshot.get() for _ in range(3)] == [1, 2, 3]


async def test_a_costly_aggregate_is_kept_then_refreshed_behind_the_pages(clock: list[float]) -> None:
    counter = Counter(1.0, clock)
    told: list[str] = []
    snapshot = Snapshot("counter", counter.read, refreshed=lambda: told.append("fresh"))

    assert await snapshot.get() == 1  # the first page waits: there is nothing to show yet
    clock[0] += 2
    assert await snapshot.get() == 1  # kept: younger than five times its cost
    assert counter.reads == 1
    clock[0] += 4
    assert await snapshot.get() == 1  # old now: served, and read again behind it
    await asyncio.sleep(0)
    assert (counter.reads, told) == (2, ["fresh"])
    assert await snapshot.get() == 2


async def test_an_action_drops_the_kept_value(clock: list[float]) -> None:
    counter = Counter(1.0, clock)
    snapshot = Snapshot("counter", counter.read, refreshed=lambda: None)
    await snapshot.get()

    snapshot.drop()

    assert await snapshot.get() == 2
