"""Producer mode: an app that dispatches and never runs a task here, said once (``run_worker=False``) or at the
call site (``app.producer()``); the ``evertask worker`` command runs such an app's worker all the same."""

from __future__ import annotations

import logging
from uuid import UUID

import pytest

from evertask import Handler, Task, TaskContext, TaskStatus
from evertask.errors import ConfigurationError, NotStartedError
from evertask.storage import MemoryStorage, Storage
from tests.integration.conftest import AppFactory

RAN: list[int] = []


class Job(Task):
    task_name = "producer.Job"
    n: int


class JobHandler(Handler[Job]):
    async def handle(self, task: Job, ctx: TaskContext) -> None:
        RAN.append(task.n)


@pytest.fixture(autouse=True)
def ran() -> list[int]:
    RAN.clear()
    return RAN


async def run_stored(storage: Storage, make_app: AppFactory, task_id: UUID) -> TaskStatus:
    """What a worker process does with the stored task: here, a second app on the same storage."""
    worker = make_app(storage=storage)
    worker.register(JobHandler)
    async with worker:
        return (await worker.wait(task_id, timeout=10)).status


async def test_producer_context_runs_nothing_even_on_an_app_that_would(make_app: AppFactory, ran: list[int]) -> None:
    storage = MemoryStorage()
    app = make_app(storage=storage)
    app.register(JobHandler)
    assert app.run_worker
    async with app.producer() as opened:
        assert opened is app
        task_id = await app.dispatch(Job(n=1))
        record = await app.get(task_id)
        assert record is not None
        assert record.status is TaskStatus.queued
    assert ran == []
    assert await run_stored(storage, make_app, task_id) is TaskStatus.completed
    assert ran == [1]


async def test_run_worker_false_makes_async_with_a_producer(make_app: AppFactory, ran: list[int]) -> None:
    app = make_app(run_worker=False)
    app.register(JobHandler)
    async with app:
        task_id = await app.dispatch(Job(n=1))
        with pytest.raises(TimeoutError):
            await app.wait(task_id, timeout=0.3, poll_interval=0.05)
    assert ran == []


async def test_producer_on_a_started_app_is_an_error(make_app: AppFactory) -> None:
    app = make_app()
    async with app:
        with pytest.raises(ConfigurationError, match="already started"):
            async with app.producer():
                pass


async def test_start_says_whether_this_process_runs_tasks(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="evertask")
    async with make_app():
        pass
    async with make_app().producer():
        pass
    messages = [record.getMessage() for record in caplog.records if record.name == "evertask"]
    assert any(message.startswith("evertask: running tasks in this process (queues: default") for message in messages)
    assert any(message.startswith("evertask: producer only") for message in messages)


async def test_the_lifespan_starts_and_stops_the_app(make_app: AppFactory, ran: list[int]) -> None:
    app = make_app()
    app.register(JobHandler)
    async with app.lifespan(object()) as state:
        assert state == {"evertask": app}
        assert (await app.wait(await app.dispatch(Job(n=1)), timeout=10)).status is TaskStatus.completed
    assert ran == [1]
    with pytest.raises(NotStartedError):  # stopped with the web app
        await app.dispatch(Job(n=2))
