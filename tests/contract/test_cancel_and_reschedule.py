"""cancel and reschedule: what each does to a task in each status."""

from __future__ import annotations

import uuid

import pytest

from evertask.storage import CancelResult, Storage
from evertask.task import TaskStatus
from tests.contract.helpers import FINAL, WAITING, add_in_status, add_one, at, claim

NOT_RUNNING = (*WAITING, TaskStatus.paused)


@pytest.mark.parametrize("status", NOT_RUNNING)
async def test_cancelled_waiting_task_is_cancelled_at_once_and_never_runs(storage: Storage, status: TaskStatus) -> None:
    task_id = await add_in_status(storage, status)

    assert await storage.cancel(task_id, now=at(5)) == CancelResult(status, cancelled=True)

    record = await storage.get(task_id)
    assert record is not None
    assert (record.status, record.finished_at) == (TaskStatus.cancelled, at(5))
    last = (await storage.history(task_id))[-1]
    assert (last.from_status, last.to_status, last.at) == (status, TaskStatus.cancelled, at(5))
    assert await claim(storage, now=at(7200)) == []


async def test_cancelling_a_running_task_asks_its_worker(storage: Storage) -> None:
    task_id = await add_in_status(storage, TaskStatus.in_progress)

    assert await storage.cancel(task_id, now=at(5)) == CancelResult(TaskStatus.in_progress, cancel_requested=True)

    record = await storage.get(task_id)
    assert record is not None
    assert (record.status, record.cancel_requested) == (TaskStatus.in_progress, True)


@pytest.mark.parametrize("status", FINAL)
async def test_cancelling_a_final_task_changes_nothing(storage: Storage, status: TaskStatus) -> None:
    task_id = await add_in_status(storage, status)
    before = await storage.get(task_id)

    assert await storage.cancel(task_id, now=at(5)) == CancelResult(status)
    assert await storage.get(task_id) == before


async def test_cancelling_an_unknown_task_finds_nothing(storage: Storage) -> None:
    assert await storage.cancel(uuid.uuid4(), now=at(5)) == CancelResult(None)


@pytest.mark.parametrize("status", NOT_RUNNING)
async def test_reschedule_moves_a_task_that_is_not_running(storage: Storage, status: TaskStatus) -> None:
    task_id = await add_in_status(storage, status)

    assert await storage.reschedule(task_id, now=at(1), scheduled_at=at(90))

    record = await storage.get(task_id)
    assert record is not None
    assert (record.status, record.scheduled_at) == (TaskStatus.pending, at(90))
    assert [r.id for r in await claim(storage, now=at(90))] == [task_id]


async def test_reschedule_records_a_change_of_status_only(storage: Storage) -> None:
    task_id = await add_one(storage)

    await storage.reschedule(task_id, now=at(1), scheduled_at=at(10), status=TaskStatus.paused)
    await storage.reschedule(task_id, now=at(2), scheduled_at=at(20), status=TaskStatus.paused)
    await storage.reschedule(task_id, now=at(3), scheduled_at=at(30))

    changes = [(c.from_status, c.to_status, c.at) for c in await storage.history(task_id)][1:]
    assert changes == [(TaskStatus.queued, TaskStatus.paused, at(1)), (TaskStatus.paused, TaskStatus.pending, at(3))]


async def test_reschedule_records_who_asked(storage: Storage) -> None:
    task_id = await add_one(storage)

    await storage.reschedule(task_id, now=at(1), scheduled_at=at(10), status=TaskStatus.paused, actor="ops:alice")
    await storage.reschedule(task_id, now=at(2), scheduled_at=at(20))

    actors = [(c.to_status, c.actor) for c in await storage.history(task_id)][1:]
    assert actors == [(TaskStatus.paused, "ops:alice"), (TaskStatus.pending, None)]


async def test_paused_task_waits_until_resumed(storage: Storage) -> None:
    task_id = await add_one(storage)
    await storage.reschedule(task_id, now=at(1), scheduled_at=at(1), status=TaskStatus.paused)
    assert await claim(storage, now=at(60)) == []

    await storage.reschedule(task_id, now=at(60), scheduled_at=at(60))

    assert [r.id for r in await claim(storage, now=at(60))] == [task_id]


@pytest.mark.parametrize("status", [TaskStatus.in_progress, *FINAL])
async def test_reschedule_refuses_running_and_final_tasks(storage: Storage, status: TaskStatus) -> None:
    task_id = await add_in_status(storage, status)
    before = await storage.get(task_id)

    assert not await storage.reschedule(task_id, now=at(1), scheduled_at=at(90))
    assert await storage.get(task_id) == before


async def test_reschedule_of_an_unknown_task_is_refused(storage: Storage) -> None:
    assert not await storage.reschedule(uuid.uuid4(), now=at(1), scheduled_at=at(90))
