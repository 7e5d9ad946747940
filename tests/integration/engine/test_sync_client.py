"""The blocking client: dispatch and look up tasks from code without an event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from evertask import EverTask, Handler, SyncClient, Task, TaskContext, TaskQuery, TaskStatus, cron
from evertask.errors import InvalidScheduleError, TaskNotFoundError, TaskValidationError
from evertask.storage import MemoryStorage, Outcome
from evertask.storage.sql import SqliteStorage


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


class Report(Task):
    task_name = "sync.Report"
    day: str


RAN: list[int] = []


class InvoiceHandler(Handler[Invoice]):
    async def handle(self, task: Invoice, ctx: TaskContext) -> str:
        RAN.append(task.number)
        return f"invoice {task.number} sent"


@contextmanager
def worker_thread(app: EverTask) -> Iterator[None]:
    """Run ``app``'s worker on a loop of its own in a thread, as a worker process would beside the client."""
    stop = threading.Event()

    async def serve() -> None:
        async with app:
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def test_sync_client_waits_for_a_task_run_by_a_worker_elsewhere(tmp_path: Path) -> None:
    RAN.clear()
    worker = EverTask(SqliteStorage(str(tmp_path / "tasks.db")))
    worker.register(InvoiceHandler)
    with worker_thread(worker), SyncClient(f"sqlite:///{tmp_path / 'tasks.db'}") as client:
        task_id = client.dispatch(Invoice(number=7))
        assert client.wait(task_id, timeout=30).status is TaskStatus.completed
        assert client.result(task_id) == "invoice 7 sent"
        assert client.history(task_id)[-1].to_status is TaskStatus.completed
    assert RAN == [7]


def test_sync_client_lists_tasks_by_filter() -> None:
    with SyncClient(MemoryStorage()) as client:
        later = client.dispatch(Invoice(number=1), delay=timedelta(hours=1))
        now = client.dispatch(Invoice(number=2))
        assert [record.id for record in client.list()] == [now, later]
        assert [record.id for record in client.list(TaskQuery(statuses=frozenset({TaskStatus.pending})))] == [later]


def test_sync_client_registers_a_recurring_series_once_and_manages_it() -> None:
    with SyncClient(MemoryStorage()) as client:
        first = client.dispatch(Report(day="mon"), recurring=cron("0 7 * * *"), key="daily-report")
        again = client.dispatch(Report(day="mon"), recurring=cron("0 7 * * *"), key="daily-report")
        assert again == first  # registering at every start keeps one series
        [series] = client.recurring.list()
        assert series.record.id == first
        assert client.recurring.pause(first) is True
        assert client.recurring.get(first).paused
        assert client.recurring.resume(first) is True
        one_off = client.recurring.trigger(first)
        record = client.get(one_off)
        assert record is not None
        assert record.schedule is None
        assert record.status is TaskStatus.queued


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
