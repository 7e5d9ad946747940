"""What the engine records for operators: an attempt row per execution, the handler's result, paused queues
honoured by the worker, and the worker's own row in the registry. On memory and on SQLite (its hot path)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from evertask import EverTask, Handler, RetryPolicy, Task, TaskContext, TaskStatus
from evertask.errors import ConfigurationError, TaskNotFoundError
from evertask.storage import MemoryStorage, Storage
from evertask.storage.records import WorkerInfo
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Block, Echo, Flaky, Probe


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "memory":
        return MemoryStorage()
    from evertask.storage.sql import SqliteStorage

    return SqliteStorage(tmp_path / "tasks.db")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until ``check()`` holds: for what another loop of the worker does on its own schedule."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - the heartbeat loop signals nothing; the registry is the signal
            await asyncio.sleep(0.02)


async def test_a_task_failing_then_succeeding_has_both_attempts(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Flaky(fail_times=1))
        await app.wait(task_id, timeout=5)
        first, second = await app.storage.attempts(task_id)

    assert (first.attempt, first.outcome, first.error_type, first.error_message) == (
        1,
        "retrying",
        "ValueError",
        "boom 1",
    )
    assert first.traceback is not None
    assert first.traceback.startswith("Traceback (most recent call last)")
    assert "boom 1" in first.traceback
    assert (second.attempt, second.outcome, second.error_type, second.traceback) == (2, "completed", None, None)
    assert first.worker is not None
    assert first.worker == second.worker
    for attempt in (first, second):
        assert attempt.started_at <= attempt.finished_at
        assert 0 <= attempt.duration < 5
    assert first.finished_at <= second.started_at


class Total(BaseModel):
    count: int
    names: list[str]


class Count(Task):
    names: list[str]


class CountHandler(Handler[Count]):
    async def handle(self, task: Count, ctx: TaskContext) -> Total:
        return Total(count=len(task.names), names=sorted(task.names))


async def test_the_handlers_return_value_is_the_result(app: EverTask) -> None:
    app.register(CountHandler)
    async with app:
        task_id = await app.dispatch(Count(names=["b", "a"]))
        record = await app.wait(task_id, timeout=5)

        assert record.status is TaskStatus.completed
        assert await app.result(task_id) == {"count": 2, "names": ["a", "b"]}


async def test_task_functions_return_results_too(make_app: AppFactory) -> None:
    app = make_app()

    @app.task
    async def add(a: int, b: int) -> int:
        return a + b

    @app.task
    def stamp(day: int) -> datetime:
        return datetime(2030, 1, day, tzinfo=UTC)

    async with app:
        summed = await add.dispatch(2, 3)
        stamped = await stamp.dispatch(7)
        await app.wait(summed, timeout=5)
        await app.wait(stamped, timeout=5)

        assert await app.result(summed) == 5
        assert await app.result(stamped) == "2030-01-07T00:00:00Z"


async def test_no_return_value_no_unknown_task(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Echo(text="hi"))
        await app.wait(task_id, timeout=5)

        assert await app.result(task_id) is None
        with pytest.raises(TaskNotFoundError):
            await app.result(uuid.uuid4())


class Big(Task):
    size: int


class BigHandler(Handler[Big]):
    retry = RetryPolicy.none()

    async def handle(self, task: Big, ctx: TaskContext) -> str:
        return "x" * task.size


async def test_a_result_over_the_limit_fails_the_attempt_with_a_clear_error(make_app: AppFactory) -> None:
    app = make_app(max_result_size=100)
    app.register(BigHandler)
    async with app:
        fits = await app.dispatch(Big(size=98))  # 98 characters and two quotes: exactly 100 bytes of JSON
        too_big = await app.dispatch(Big(size=99))
        assert (await app.wait(fits, timeout=5)).status is TaskStatus.completed
        record = await app.wait(too_big, timeout=5)
        [attempt] = await app.storage.attempts(too_big)

        assert await app.result(fits) == "x" * 98
        assert await app.result(too_big) is None
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    assert "101 bytes, over the limit of 100 (max_result_size)" in record.last_error
    assert (attempt.outcome, attempt.error_type) == ("failed", "evertask.errors.ResultTooLargeError")
    assert "x" * 20 not in record.last_error  # the value itself is never shown


class Odd(Task):
    pass


class OddHandler(Handler[Odd]):
    retry = RetryPolicy.linear(2, timedelta(milliseconds=10))

    async def handle(self, task: Odd, ctx: TaskContext) -> object:
        return object() if ctx.attempt == 1 else {"attempt": ctx.attempt}


async def test_an_unserialisable_result_fails_the_attempt_and_the_retry_policy_applies(app: EverTask) -> None:
    app.register(OddHandler)
    async with app:
        task_id = await app.dispatch(Odd())
        record = await app.wait(task_id, timeout=5)
        first, second = await app.storage.attempts(task_id)

        assert await app.result(task_id) == {"attempt": 2}
    assert record.status is TaskStatus.completed
    assert (first.outcome, first.error_type) == ("retrying", "evertask.errors.TaskResultError")
    assert first.error_message is not None
    assert "not JSON-serialisable" in first.error_message
    assert second.outcome == "completed"


def test_the_result_limit_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="max_result_size"):
        EverTask(MemoryStorage(), max_result_size=0)


async def test_a_task_cancelled_while_running_has_a_cancelled_attempt(app: EverTask, probe: Probe) -> None:
    async with app:
        task_id = await app.dispatch(Block(name="stuck"))
        await probe.started.wait()
        await app.cancel(task_id)
        await app.wait(task_id, timeout=5)

        [attempt] = await app.storage.attempts(task_id)
    assert (attempt.outcome, attempt.error_type) == ("cancelled", "evertask.errors.TaskCancelledError")


async def test_a_paused_queue_is_not_claimed_until_resumed(app: EverTask) -> None:
    async with app:
        await app.storage.set_queue_paused("default", paused=True, now=datetime.now(UTC), actor="test")
        task_id = await app.dispatch(Echo(text="later"))

        with pytest.raises(TimeoutError):  # several poll intervals (0.2 s) and claims go by
            await app.wait(task_id, timeout=1.0)
        record = await app.get(task_id)
        assert record is not None
        assert record.status is TaskStatus.queued

        await app.storage.set_queue_paused("default", paused=False, now=datetime.now(UTC), actor="test")
        assert (await app.wait(task_id, timeout=5)).status is TaskStatus.completed


async def test_the_worker_is_registered_while_it_runs(app: EverTask) -> None:
    before = datetime.now(UTC)
    async with app:
        [worker] = await app.storage.list_workers()

        assert (worker.host, worker.pid, worker.queues) == (socket.gethostname(), os.getpid(), tuple(app.queues))
        assert worker.version
        assert before <= worker.started_at <= worker.last_heartbeat

        async def heartbeat_seen() -> bool:
            [now] = await app.storage.list_workers()
            return now.last_heartbeat > worker.last_heartbeat

        await eventually(heartbeat_seen)
    await app.storage.open()
    try:
        assert await app.storage.list_workers() == []
    finally:
        await app.storage.close()


async def test_a_dead_workers_row_is_pruned_and_a_pruned_live_worker_comes_back(app: EverTask) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    dead = WorkerInfo("dead-worker", "elsewhere", 1, ("default",), long_ago, long_ago, "0.0.1")
    async with app:
        await app.storage.register_worker(dead)
        [ours] = [w for w in await app.storage.list_workers() if w.id != dead.id]

        async def only_ours() -> bool:
            return [w.id for w in await app.storage.list_workers()] == [ours.id]

        await eventually(only_ours)
        await app.storage.unregister_worker(ours.id)  # as if pruned while this worker stalled
        await eventually(only_ours)
