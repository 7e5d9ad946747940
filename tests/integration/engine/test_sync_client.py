"""The blocking client: dispatch and look up tasks from code without an event loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from evertask import SyncClient, Task, TaskStatus
from evertask.errors import InvalidScheduleError, TaskNotFoundError, TaskValidationError
from evertask.storage import MemoryStorage, Outcome


class Invoice(Task):
    number: int


def test_sync_client_stores_a_task_without_an_event_loop_of_the_callers() -> None:
    storage = MemoryStorage()
    with SyncClient(storage) as client:
        task_id = client.dispatch(Invoice(number=7), delay=timedelta(hours=1))
        record = client.get(task_id)
        assert record is not None
        assert record.status is TaskStatus.pending
        assert record.type == Invoice.task_name
        assert client.cancel(task_id) is True


def test_sync_client_reads_a_result_stored_by_a_worker() -> None:
    storage = MemoryStorage()
    with SyncClient(storage) as client:
        task_id = client.dispatch(Invoice(number=7))
        asyncio.run(complete_with(storage, '{"paid": true}'))

        assert client.result(task_id) == {"paid": True}
        with pytest.raises(TaskNotFoundError):
            client.result(uuid4())


async def complete_with(storage: MemoryStorage, result: str) -> None:
    """What a worker elsewhere does: claim the task and store its outcome and result."""
    now = datetime.now(UTC)
    [record] = (await storage.claim(owner="w", queues=["default"], now=now, limit=1, lease_until=now)).tasks
    outcome = Outcome(record.id, "w", record.fence, TaskStatus.completed, now, ending="completed", result=result)
    assert await storage.finish([outcome]) == [True]


def test_sync_client_reports_bad_input_like_the_async_app() -> None:
    with SyncClient(MemoryStorage()) as client, pytest.raises(InvalidScheduleError, match="negative"):
        client.dispatch(Invoice(number=1), delay=timedelta(seconds=-5))


def test_a_closed_sync_client_says_so() -> None:
    client = SyncClient(MemoryStorage())
    client.close()
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        client.get(uuid4())


class Reading(Task):
    value: float


def test_sync_client_refuses_a_payload_that_json_cannot_hold() -> None:
    storage = MemoryStorage()
    with SyncClient(storage) as client:
        with pytest.raises(TaskValidationError, match="field 'value'"):
            client.dispatch(Reading(value=float("nan")))
        with pytest.raises(TaskValidationError, match="field 'value'"):
            client.dispatch_many([Reading(value=1.0), Reading(value=float("-inf"))])
    assert asyncio.run(storage.count_by_status()) == {}
