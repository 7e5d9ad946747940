"""Recurring series end to end: one row per series, no drift, failures do not stop it, missed runs, managing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from evertask import EverTask, Handler, RetryPolicy, Task, TaskContext, TaskQuery, TaskStatus, cron, every
from evertask.errors import InvalidScheduleError
from evertask.events import TaskCompleted
from evertask.storage import MemoryStorage
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Probe


class Tick(Task):
    name: str = "tick"


class TickHandler(Handler[Tick]):
    retry = RetryPolicy.none()

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Tick, ctx: TaskContext) -> None:
        self.probe.saw("tick", ctx.run_count)
        if task.name == "fail-first" and ctx.run_count == 0:
            raise RuntimeError("first run fails")
        if task.name == "slow-first" and ctx.run_count == 0:
            await asyncio.sleep(0.5)


def tick_app(make_app: AppFactory, probe: Probe, **kwargs: object) -> EverTask:
    app = make_app(**kwargs)
    app.register(TickHandler)
    app.container.provide_value(Probe, probe)
    return app


async def test_a_series_runs_on_one_row_until_max_runs(make_app: AppFactory, probe: Probe) -> None:
    app = tick_app(make_app, probe)
    async with app:
        task_id = await app.dispatch(Tick(), recurring=every(1).seconds().run_now().max_runs(3))
        record = await app.wait(task_id, timeout=10)
        history = await app.history(task_id)
    assert record.status is TaskStatus.completed
    assert record.run_count == 3
    assert record.queue == "recurring"
    assert [detail for _, detail in probe.calls] == [0, 1, 2]
    assert [c.to_status for c in history].count(TaskStatus.in_progress) == 3
    assert len(await app.storage.list_tasks(TaskQuery())) == 1


async def test_the_next_run_follows_the_schedule_not_the_end_of_a_slow_run(make_app: AppFactory, probe: Probe) -> None:
    app = tick_app(make_app, probe)
    async with app:
        task_id = await app.dispatch(Tick(name="slow-first"), recurring=every(1).seconds().max_runs(2))
        first = await app.get(task_id)
        assert first is not None
        record = await app.wait(task_id, timeout=10)
        history = await app.history(task_id)
    starts = [c.at for c in history if c.to_status is TaskStatus.in_progress]
    assert record.run_count == 2
    # The second run is due one second after the first was due, though the first took half of it.
    assert timedelta(seconds=0.9) <= starts[1] - first.scheduled_at <= timedelta(seconds=1.2)


async def test_a_failed_run_does_not_stop_the_series(make_app: AppFactory, probe: Probe) -> None:
    app = tick_app(make_app, probe)
    async with app:
        task_id = await app.dispatch(Tick(name="fail-first"), recurring=every(1).seconds().run_now().max_runs(2))
        record = await app.wait(task_id, timeout=10)
        history = await app.history(task_id)
    assert record.status is TaskStatus.completed
    assert record.run_count == 2
    errors = [c.error for c in history if c.error]
    assert any("first run fails" in e for e in errors)


async def test_runs_missed_while_down_run_once_at_start_then_the_series_continues(
    make_app: AppFactory, probe: Probe
) -> None:
    storage = MemoryStorage()
    with time_machine.travel(datetime(2030, 1, 1, 8, 0, tzinfo=UTC), tick=True) as traveller:
        client = tick_app(make_app, probe, storage=storage, run_worker=False)
        async with client:
            task_id = await client.dispatch(Tick(), recurring=every().hour().at_minute(30))
        traveller.shift(timedelta(hours=5))  # down from 08:00 to 13:00: five occurrences missed
        worker = tick_app(make_app, probe, storage=storage)
        ran = asyncio.Event()
        worker.events.subscribe(lambda event: ran.set(), TaskCompleted)
        async with worker:
            await asyncio.wait_for(ran.wait(), timeout=5)
            record = await worker.get(task_id)
    assert record is not None
    assert record.run_count == 1
    assert record.status is TaskStatus.pending
    assert record.scheduled_at == datetime(2030, 1, 1, 13, 30, tzinfo=UTC)
    assert len(probe.calls) == 1


async def test_an_invalid_schedule_is_refused_at_dispatch(make_app: AppFactory, probe: Probe) -> None:
    app = tick_app(make_app, probe)
    async with app:
        with pytest.raises(InvalidScheduleError):
            await app.dispatch(Tick(), recurring=cron("61 * * * *"))
        with pytest.raises(InvalidScheduleError, match="at most one"):
            await app.dispatch(Tick(), recurring=every(5).minutes(), delay=timedelta(seconds=1))
        assert await app.list_tasks() == []


async def test_a_series_can_be_listed_paused_resumed_and_run_now(make_app: AppFactory, probe: Probe) -> None:
    app = tick_app(make_app, probe)
    async with app:
        series = await app.dispatch(Tick(), recurring=every().day().at(time(9, 0)))
        (listed,) = await app.recurring.list()
        assert listed.record.id == series
        assert listed.description.startswith("every day at 09:00")
        assert listed.next_run is not None
        assert listed.next_run > datetime.now(UTC)
        assert await app.recurring.pause(series) is True
        assert (await app.recurring.get(series)).paused
        one_off = await app.recurring.trigger(series)
        await app.wait(one_off, timeout=5)
        assert await app.recurring.resume(series) is True
        resumed = await app.recurring.get(series)
        assert resumed.paused is False
        assert resumed.next_run == listed.next_run
        assert await app.cancel(series) is True
        assert await app.recurring.list() == []
    assert len(probe.calls) == 1  # only the one-off ran
