"""add and get: what is stored is what comes back, times as aware UTC, ids in the order given."""

from __future__ import annotations

import uuid
from datetime import UTC

from evertask.storage import Storage, TaskQuery
from evertask.task import TaskStatus
from tests.contract.helpers import T0, add_one, at, new_task


async def test_added_task_reads_back_with_every_field(storage: Storage) -> None:
    task = new_task(priority=7, key="welcome:ann", schedule='{"cron": "0 * * * *"}', scheduled_at=at(60))
    await storage.add([task])

    record = await storage.get(task.id)

    assert record is not None
    assert (record.id, record.type, record.payload, record.queue) == (task.id, task.type, task.payload, task.queue)
    assert (record.priority, record.key, record.schedule) == (7, "welcome:ann", task.schedule)
    assert record.status is TaskStatus.queued
    assert (record.attempts, record.run_count, record.fence, record.recoveries) == (0, 0, 0, 0)
    assert (record.owner, record.lease_until, record.started_at, record.finished_at) == (None, None, None, None)
    assert record.last_error is None
    assert record.last_run_at is None
    assert record.cancel_requested is False


async def test_times_come_back_aware_utc_to_the_microsecond(storage: Storage) -> None:
    task_id = await add_one(storage, scheduled_at=at(0.000001))

    record = await storage.get(task_id)

    assert record is not None
    assert record.created_at == T0
    assert record.created_at.tzinfo is UTC
    assert record.scheduled_at == at(0.000001)
    assert record.scheduled_at.tzinfo is UTC


async def test_unknown_id_is_none(storage: Storage) -> None:
    assert await storage.get(uuid.uuid4()) is None


async def test_batch_add_returns_ids_in_order(storage: Storage) -> None:
    tasks = [new_task(created_at=at(i)) for i in range(50)]

    assert await storage.add(tasks) == [task.id for task in tasks]
    assert [record.id for record in await storage.list_tasks(TaskQuery())] == [task.id for task in reversed(tasks)]


async def test_empty_batch_stores_nothing(storage: Storage) -> None:
    assert await storage.add([]) == []
    assert await storage.count_by_status() == {}


async def test_large_unicode_payload_is_kept_exactly(storage: Storage) -> None:
    payload = '{"text": "' + "naïve café ✓ 日本 🚀 " * 10_000 + '"}'  # ~200 KB, past MySQL's plain TEXT

    task_id = await add_one(storage, payload=payload)

    record = await storage.get(task_id)
    assert record is not None
    assert record.payload == payload
