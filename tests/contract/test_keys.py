"""Task keys: one task per key, with the rules of EverTask for a key that is already taken."""

from __future__ import annotations

import asyncio
import logging

import pytest

from evertask.storage import Storage
from evertask.task import TaskStatus
from tests.contract.helpers import FINAL, T0, WAITING, add_in_status, add_one, at, new_task

SERIES = '{"every": 60}'


async def test_key_of_running_task_returns_its_id_and_changes_nothing(storage: Storage) -> None:
    running = await add_in_status(storage, TaskStatus.in_progress, key="k")
    before = await storage.get(running)

    assert await add_one(storage, key="k", payload='{"new": 1}') == running
    assert await storage.get(running) == before


@pytest.mark.parametrize("status", WAITING)
async def test_key_of_waiting_task_replaces_it_in_place(storage: Storage, status: TaskStatus) -> None:
    waiting = await add_in_status(storage, status, key="k")
    before = await storage.get(waiting)
    assert before is not None

    again = await add_one(storage, key="k", payload='{"new": 1}', queue="mail", priority=5, scheduled_at=at(10))

    assert again == waiting
    after = await storage.get(waiting)
    assert after is not None
    assert (after.payload, after.queue, after.priority, after.scheduled_at) == ('{"new": 1}', "mail", 5, at(10))
    assert after.status is TaskStatus.queued
    assert (after.type, after.created_at, after.attempts) == (before.type, before.created_at, before.attempts)
    assert await storage.count_by_status() == {TaskStatus.queued: 1}


async def test_key_of_paused_task_replaces_it_but_it_stays_paused(storage: Storage) -> None:
    paused = await add_in_status(storage, TaskStatus.paused, key="k")

    assert await add_one(storage, key="k", payload='{"new": 1}', scheduled_at=at(10)) == paused
    after = await storage.get(paused)
    assert after is not None
    assert (after.status, after.payload, after.scheduled_at) == (TaskStatus.paused, '{"new": 1}', at(10))


@pytest.mark.parametrize("status", FINAL)
async def test_key_of_final_task_replaces_it_with_a_new_task(storage: Storage, status: TaskStatus) -> None:
    finished = await add_in_status(storage, status, key="k")

    replacement = await add_one(storage, key="k")

    assert replacement != finished
    assert await storage.get(finished) is None
    assert await storage.history(finished) == []
    record = await storage.get(replacement)
    assert record is not None
    assert record.status is TaskStatus.queued
    assert record.key == "k"


@pytest.mark.parametrize("key", [None, ""])
async def test_missing_or_empty_key_never_deduplicates(storage: Storage, key: str | None) -> None:
    first = await add_one(storage, key=key)
    second = await add_one(storage, key=key)

    assert first != second
    record = await storage.get(second)
    assert record is not None
    assert record.key is None


async def test_keys_are_case_sensitive(storage: Storage) -> None:
    lower = await add_one(storage, key="report:jan")
    upper = await add_one(storage, key="Report:JAN")

    assert lower != upper
    assert await storage.count_by_status() == {TaskStatus.queued: 2}


async def test_one_key_twice_in_a_batch_is_one_task_updated_by_the_second(storage: Storage) -> None:
    first = new_task(key="k", payload="1")
    second = new_task(key="k", payload="2", status=TaskStatus.pending, scheduled_at=at(5), created_at=at(1))

    assert await storage.add([first, second]) == [first.id, first.id]

    record = await storage.get(first.id)
    assert record is not None
    assert (record.payload, record.status, record.scheduled_at) == ("2", TaskStatus.pending, at(5))
    changes = [(c.from_status, c.to_status, c.at) for c in await storage.history(first.id)]
    assert changes == [(None, TaskStatus.queued, T0), (TaskStatus.queued, TaskStatus.pending, at(1))]


async def test_concurrent_adds_with_one_key_end_with_one_task(storage: Storage) -> None:
    ids = await asyncio.gather(*(add_one(storage, key="only-once", payload=str(i)) for i in range(20)))

    assert len(set(ids)) == 1
    assert await storage.count_by_status() == {TaskStatus.queued: 1}


async def test_concurrent_adds_from_two_storages_end_with_one_task(storage: Storage, second_storage: Storage) -> None:
    adds = [add_one(s, key="only-once", payload=str(i)) for i in range(10) for s in (storage, second_storage)]

    ids = await asyncio.gather(*adds)

    assert len(set(ids)) == 1
    assert await second_storage.count_by_status() == {TaskStatus.queued: 1}


async def test_concurrent_replacements_of_a_final_task_end_with_one_task(
    storage: Storage, second_storage: Storage
) -> None:
    await add_in_status(storage, TaskStatus.completed, key="k")

    ids = await asyncio.gather(*(add_one(s, key="k") for _ in range(5) for s in (storage, second_storage)))

    assert len(set(ids)) == 1
    assert await storage.count_by_status() == {TaskStatus.queued: 1}


@pytest.mark.parametrize("status", [*WAITING, TaskStatus.paused])
async def test_a_one_shot_with_the_key_of_a_series_changes_nothing_and_warns(
    storage: Storage, status: TaskStatus, caplog: pytest.LogCaptureFixture
) -> None:
    series = await add_in_status(storage, status, key="k", schedule=SERIES)
    before = await storage.get(series)

    with caplog.at_level(logging.WARNING, logger="evertask"):
        again = await add_one(storage, key="k", payload='{"secret": "hunter2"}', scheduled_at=at(10))

    assert again == series
    assert await storage.get(series) == before
    assert await storage.count_by_status() == {status: 1}
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "never becomes a one-shot" in warning.getMessage()
    assert "'k'" in warning.getMessage()
    assert str(series) in warning.getMessage()
    assert "hunter2" not in caplog.text


async def test_a_one_shot_after_a_series_in_one_batch_leaves_the_series(storage: Storage) -> None:
    series = new_task(key="k", payload="1", schedule=SERIES)
    one_shot = new_task(key="k", payload="2", scheduled_at=at(5))

    assert await storage.add([series, one_shot]) == [series.id, series.id]

    record = await storage.get(series.id)
    assert record is not None
    assert (record.payload, record.schedule, record.scheduled_at) == ("1", SERIES, T0)


async def test_a_series_with_the_key_of_a_waiting_one_shot_takes_it_over_in_place(storage: Storage) -> None:
    one_shot = await add_in_status(storage, TaskStatus.pending, key="k")

    again = await add_one(storage, key="k", payload='{"new": 1}', schedule=SERIES, scheduled_at=at(60))

    assert again == one_shot
    record = await storage.get(one_shot)
    assert record is not None
    assert (record.payload, record.schedule, record.scheduled_at) == ('{"new": 1}', SERIES, at(60))


@pytest.mark.parametrize("status", FINAL)
async def test_a_one_shot_with_the_key_of_a_finished_series_replaces_it(storage: Storage, status: TaskStatus) -> None:
    series = await add_in_status(storage, status, key="k", schedule=SERIES)

    replacement = await add_one(storage, key="k")

    assert replacement != series
    assert await storage.get(series) is None
    record = await storage.get(replacement)
    assert record is not None
    assert record.schedule is None
