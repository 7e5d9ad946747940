"""Cancellation: a waiting task never runs; a running one is cancelled and on_error sees it."""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta
from uuid import uuid4

import pytest

from evertask import EverTask, TaskStatus
from evertask.errors import TaskCancelledError, TaskNotFoundError
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Block, BlockHandler, Blocking, Echo, EchoHandler, Probe


async def test_cancelled_delayed_task_never_runs(app: EverTask, probe: Probe) -> None:
    async with app:
        doomed = await app.dispatch(Echo(text="doomed"), delay=timedelta(milliseconds=100))
        assert await app.cancel(doomed) is True
        # Dispatched after, due at the same time: once it has run, the cancelled one would have run too.
        witness = await app.dispatch(Echo(text="witness"), delay=timedelta(milliseconds=100))
        await app.wait(witness, timeout=5)
        record = await app.get(doomed)
    assert record is not None
    assert record.status is TaskStatus.cancelled
    assert ("handle", "doomed") not in probe.calls
    assert ("handle", "witness") in probe.calls


async def test_cancelling_a_running_async_task_cancels_its_handler(app: EverTask, probe: Probe) -> None:
    async with app:
        task_id = await app.dispatch(Block(name="long"))
        await probe.started.wait()
        assert await app.cancel(task_id) is True
        record = await app.wait(task_id, timeout=5)
    assert record.status is TaskStatus.cancelled
    (error,) = [detail for name, detail in probe.calls if name == "on_error"]
    assert isinstance(error, TaskCancelledError)
    assert ("handle", "long") not in probe.calls


async def test_cancelling_a_running_sync_task_sets_its_context_signal(app: EverTask, probe: Probe) -> None:
    async with app:
        task_id = await app.dispatch(Blocking())
        assert await asyncio.to_thread(probe.thread_started.wait, 5)
        await app.cancel(task_id)
        record = await app.wait(task_id, timeout=5)
    assert record.status is TaskStatus.cancelled
    (error,) = [detail for name, detail in probe.calls if name == "on_error"]
    assert isinstance(error, TaskCancelledError)


async def test_cancelled_running_task_is_not_retried(app: EverTask, probe: Probe) -> None:
    async with app:
        task_id = await app.dispatch(Block())
        await probe.started.wait()
        await app.cancel(task_id)
        record = await app.wait(task_id, timeout=5)
    assert record.attempts == 1


async def test_cancelling_a_finished_task_changes_nothing(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Echo(text="x"))
        await app.wait(task_id, timeout=5)
        assert await app.cancel(task_id) is False
        record = await app.get(task_id)
    assert record is not None
    assert record.status is TaskStatus.completed


async def test_cancelling_an_unknown_id_is_an_error(app: EverTask) -> None:
    async with app:
        with pytest.raises(TaskNotFoundError):
            await app.cancel(uuid4())


async def test_cancelling_a_task_claimed_ahead_but_not_started_stops_it_before_it_runs(
    make_app: AppFactory, probe: Probe
) -> None:
    app = make_app(max_parallelism=1)
    for handler in (BlockHandler, EchoHandler):
        app.register(handler)
    app.container.provide_value(Probe, probe)
    async with app:
        for i in range(5):  # short tasks turn prefetching on
            await app.wait(await app.dispatch(Echo(text=str(i))), timeout=5)
        _, waiting = await app.dispatch_many([Block(name="gate"), Echo(text="prefetched")])
        await probe.started.wait()
        record = await app.get(waiting)
        assert record is not None
        assert record.status is TaskStatus.in_progress  # claimed into the local channel behind the gate
        assert await app.cancel(waiting) is True
        probe.release.set()
        final = await app.wait(waiting, timeout=5)
    assert final.status is TaskStatus.cancelled
    assert ("handle", "prefetched") not in probe.calls


async def test_cancelling_a_sync_task_that_raises_on_the_signal_reports_nothing_to_asyncio(
    app: EverTask, probe: Probe
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        async with app:
            task_id = await app.dispatch(Blocking())  # raises TaskCancelledError in its thread once told
            assert await asyncio.to_thread(probe.thread_started.wait, 5)
            await app.cancel(task_id)
            record = await app.wait(task_id, timeout=5)
        gc.collect()  # an unretrieved exception is reported when its future is collected
    finally:
        loop.set_exception_handler(previous)
    assert record.status is TaskStatus.cancelled
    assert reported == []
