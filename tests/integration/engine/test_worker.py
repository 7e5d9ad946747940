"""The worker: bounded parallelism, back-pressure, graceful shutdown and resumption, events."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from evertask import EverTask, Queue, TaskStatus
from evertask.errors import QueueFullError
from evertask.events import (
    TaskCancelled,
    TaskCompleted,
    TaskDispatched,
    TaskEvent,
    TaskFailed,
    TaskRetrying,
    TaskStarted,
    TaskTimedOut,
)
from evertask.storage import MemoryStorage
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Block, BlockHandler, Echo, EchoHandler, Flaky, FlakyHandler, Probe


def blocking_app(make_app: AppFactory, probe: Probe, **kwargs: object) -> EverTask:
    app = make_app(**kwargs)
    app.register(BlockHandler)
    app.register(EchoHandler)
    app.container.provide_value(Probe, probe)
    return app


async def test_no_more_than_max_parallelism_tasks_run_at_once(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe, max_parallelism=2)
    async with app:
        ids = [await app.dispatch(Block(name=str(i))) for i in range(6)]
        await probe.started.wait()
        await asyncio.sleep(0.05)  # give the worker every chance to over-claim
        assert probe.running == 2
        probe.release.set()
        for task_id in ids:
            await app.wait(task_id, timeout=5)
    assert probe.peak == 2


async def test_dispatch_waits_for_room_when_the_queue_is_full(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe, max_parallelism=1, channel_capacity=2)
    async with app:
        await app.dispatch(Block(name="running"))
        await probe.started.wait()
        await app.dispatch(Block(name="1"))
        await app.dispatch(Block(name="2"))
        third = asyncio.create_task(app.dispatch(Block(name="3")))
        done, _ = await asyncio.wait([third], timeout=0.1)
        assert not done  # back-pressure: two due tasks already wait for the single slot
        probe.release.set()
        await app.wait(await third, timeout=5)


async def test_dispatch_to_a_full_queue_in_raise_mode_names_the_queue(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe, max_parallelism=1, queues={"default": Queue(capacity=1, when_full="raise")})
    async with app:
        await app.dispatch(Block(name="running"))
        await probe.started.wait()
        await app.dispatch(Block(name="waiting"))
        with pytest.raises(QueueFullError, match="'default' is full"):
            await app.dispatch(Block(name="refused"))
        probe.release.set()


async def test_a_cancelled_waiting_dispatch_stores_nothing(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe, max_parallelism=1, channel_capacity=1)
    async with app:
        await app.dispatch(Block(name="running"))
        await probe.started.wait()
        await app.dispatch(Block(name="waiting"))
        blocked = asyncio.create_task(app.dispatch(Block(name="never")))
        await asyncio.sleep(0.02)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        assert len(await app.list_tasks()) == 2
        probe.release.set()


async def test_leaving_the_context_lets_running_tasks_finish_within_the_grace(
    make_app: AppFactory, probe: Probe
) -> None:
    app = blocking_app(make_app, probe)
    await app.start()
    task_id = await app.dispatch(Block(name="finishing"))
    await probe.started.wait()
    asyncio.get_running_loop().call_later(0.05, probe.release.set)
    await app.stop(grace=5)
    record = await app.storage.get(task_id)
    assert record is not None
    assert record.status is TaskStatus.completed


async def test_tasks_still_running_after_the_grace_are_service_stopped_and_resume_at_next_start(
    make_app: AppFactory, probe: Probe
) -> None:
    storage = MemoryStorage()
    app = blocking_app(make_app, probe, storage=storage)
    await app.start()
    task_id = await app.dispatch(Block(name="interrupted"))
    await probe.started.wait()
    await app.stop(grace=0.05)
    record = await storage.get(task_id)
    assert record is not None
    assert record.status is TaskStatus.service_stopped
    assert "on_error" not in probe.names()  # not a failure: it will run again

    probe.release.set()
    restarted = blocking_app(make_app, probe, storage=storage)
    async with restarted:
        resumed = await restarted.wait(task_id, timeout=5)
    assert resumed.status is TaskStatus.completed


async def test_every_transition_publishes_a_typed_event(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe)
    app.register(FlakyHandler)
    seen: list[TaskEvent] = []
    app.events.subscribe(seen.append)
    async with app:
        ok = await app.dispatch(Echo(text="ok"))
        bad = await app.dispatch(Flaky(fail_times=99))
        await app.wait(ok, timeout=5)
        await app.wait(bad, timeout=5)
        await app.events.flush()
    kinds_ok = [type(e) for e in seen if e.task_id == ok]
    kinds_bad = [type(e) for e in seen if e.task_id == bad]
    assert kinds_ok == [TaskDispatched, TaskStarted, TaskCompleted]
    assert kinds_bad == [TaskDispatched] + [TaskStarted, TaskRetrying] * 3 + [TaskStarted, TaskFailed]
    failed = seen[-1]
    assert isinstance(failed, TaskFailed)
    assert failed.error == "boom 4"
    assert failed.attempt == 4


async def test_timeouts_and_cancellations_publish_events(make_app: AppFactory, probe: Probe) -> None:
    from tests.integration.engine.test_retries_and_timeouts import Sleepy, SleepyHandler

    app = blocking_app(make_app, probe)
    app.register(SleepyHandler)
    seen: list[TaskEvent] = []
    app.events.subscribe(seen.append, TaskTimedOut, TaskCancelled)
    async with app:
        slow = await app.wait(await app.dispatch(Sleepy(seconds=30)), timeout=5)
        cancelled = await app.dispatch(Echo(text="x"), delay=timedelta(hours=1))
        await app.cancel(cancelled)
        await app.events.flush()
    assert [(type(e), e.task_id) for e in seen] == [(TaskTimedOut, slow.id), (TaskCancelled, cancelled)]


async def test_a_slow_subscriber_never_slows_the_worker(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe)
    gate = asyncio.Event()

    async def stuck(event: TaskEvent) -> None:
        await gate.wait()

    app.events.subscribe(stuck, buffer_size=5)
    async with app:
        started = time.perf_counter()
        ids = [await app.dispatch(Echo(text=str(i))) for i in range(50)]
        for task_id in ids:
            await app.wait(task_id, timeout=5)
        elapsed = time.perf_counter() - started
        assert app.events.dropped > 0
        gate.set()
    assert elapsed < 5


async def test_retry_delay_is_honoured(make_app: AppFactory, probe: Probe) -> None:
    from evertask import RetryPolicy

    class SlowRetries(FlakyHandler):
        retry = RetryPolicy.linear(1, timedelta(milliseconds=150))

    app = make_app()
    app.register(SlowRetries)
    app.container.provide_value(Probe, probe)
    async with app:
        task_id = await app.dispatch(Flaky(fail_times=1))
        await app.wait(task_id, timeout=5)
        history = await app.history(task_id)
    retry_wait = [c.at for c in history if c.to_status in (TaskStatus.pending, TaskStatus.in_progress)]
    assert retry_wait[-1] - retry_wait[-2] >= timedelta(milliseconds=150)


async def test_concurrent_batches_larger_than_the_capacity_all_get_through(make_app: AppFactory, probe: Probe) -> None:
    app = blocking_app(make_app, probe, max_parallelism=2, channel_capacity=20)

    async def producer(k: int) -> list[object]:
        ids: list[object] = []
        for batch in range(3):
            ids += await app.dispatch_many([Echo(text=f"{k}-{batch}-{i}") for i in range(50)])
        return ids

    async with app:
        batches = await asyncio.wait_for(asyncio.gather(*(producer(k) for k in range(8))), timeout=10)
        ids = [task_id for batch in batches for task_id in batch]
        for task_id in ids:
            assert (await app.wait(task_id, timeout=10)).status is TaskStatus.completed  # type: ignore[arg-type]
    assert len(ids) == 1200


async def test_the_retention_policy_deletes_old_finished_tasks(make_app: AppFactory, probe: Probe) -> None:
    from datetime import UTC, datetime

    from evertask import RetentionPolicy, WorkerSettings

    offset = timedelta(0)
    settings = WorkerSettings(
        heartbeat_interval=0.02, retention=RetentionPolicy(completed_tasks_days=1), purge_interval=0.0
    )
    app = blocking_app(make_app, probe, worker=settings, clock=lambda: datetime.now(UTC) + offset)
    async with app:
        old = await app.dispatch(Echo(text="old"))
        await app.wait(old, timeout=5)
        waiting = await app.dispatch(Echo(text="not finished"), delay=timedelta(days=30))
        offset = timedelta(days=2)  # two days later, by the app's clock
        async with asyncio.timeout(5):
            while await app.get(old) is not None:  # noqa: ASYNC110 - the purge runs on the worker's heartbeat
                await asyncio.sleep(0.02)
        assert await app.get(waiting) is not None
