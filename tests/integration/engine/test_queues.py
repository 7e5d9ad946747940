"""Named queues: isolation, overrides, full-modes, priorities, serving a subset."""

from __future__ import annotations

import asyncio

import pytest

from evertask import EverTask, Handler, Queue, Task, TaskContext, TaskStatus
from evertask.errors import ConfigurationError
from evertask.events import TaskDropped, TaskEvent
from evertask.storage import MemoryStorage
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Block, BlockHandler, Echo, EchoHandler, Probe


class Report(Task):
    n: int


class ReportHandler(Handler[Report]):
    queue = "background"

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Report, ctx: TaskContext) -> None:
        await self.probe.release.wait()


class Reset(Task):
    n: int


class ResetHandler(Handler[Reset]):
    queue = "critical"

    async def handle(self, task: Reset, ctx: TaskContext) -> None:
        pass


async def test_a_flood_of_slow_tasks_never_delays_another_queue(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(
        queues={
            "critical": Queue(max_parallelism=8),
            "background": Queue(max_parallelism=2, capacity=5000),
        }
    )
    app.register(ReportHandler)
    app.register(ResetHandler)
    app.container.provide_value(Probe, probe)
    async with app:
        await app.dispatch_many([Report(n=i) for i in range(1000)])
        fast = [await app.dispatch(Reset(n=i)) for i in range(50)]
        async with asyncio.timeout(5):
            records = [await app.wait(task_id) for task_id in fast]
        assert all(r.status is TaskStatus.completed for r in records)
        assert all(r.queue == "critical" for r in records)
        counts = await app.storage.count_by_status("background")
        assert counts[TaskStatus.in_progress] == 2  # the slow queue kept to its own parallelism
        probe.release.set()


async def test_dispatch_can_override_the_handler_queue(make_app: AppFactory) -> None:
    app = make_app(queues={"critical": Queue(), "background": Queue()})
    app.register(ResetHandler)
    async with app:
        record = await app.wait(await app.dispatch(Reset(n=1), queue="background"), timeout=5)
    assert record.queue == "background"
    assert record.status is TaskStatus.completed


def queue_app(make_app: AppFactory, probe: Probe, **queue: object) -> EverTask:
    app = make_app(max_parallelism=1, queues={"default": Queue(capacity=2, **queue)})  # type: ignore[arg-type]
    app.register(BlockHandler)
    app.register(EchoHandler)
    app.container.provide_value(Probe, probe)
    return app


@pytest.mark.parametrize(("mode", "victim"), [("drop_oldest", "a"), ("drop_newest", "b")])
async def test_dropping_modes_cancel_and_report_their_victim(
    make_app: AppFactory, probe: Probe, mode: str, victim: str
) -> None:
    app = queue_app(make_app, probe, when_full=mode)
    dropped: list[TaskEvent] = []
    app.events.subscribe(dropped.append, TaskDropped)
    async with app:
        await app.dispatch(Block(name="running"))
        await probe.started.wait()
        ids = {name: await app.dispatch(Echo(text=name)) for name in ("a", "b", "c")}
        record = await app.get(ids[victim])
        assert record is not None
        assert record.status is TaskStatus.cancelled
        probe.release.set()
        survivors = [await app.wait(ids[n], timeout=5) for n in ("a", "b", "c") if n != victim]
        await app.events.flush()
    assert all(r.status is TaskStatus.completed for r in survivors)
    assert [e.task_id for e in dropped] == [ids[victim]]
    assert isinstance(dropped[0], TaskDropped)
    assert mode in dropped[0].reason


async def test_fallback_to_default_sends_overflow_to_the_default_queue(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(queues={"background": Queue(max_parallelism=1, capacity=1, when_full="fallback_to_default")})
    app.register(BlockHandler)
    app.container.provide_value(Probe, probe)
    async with app:
        await app.dispatch(Block(name="running"), queue="background")
        await probe.started.wait()
        await app.dispatch(Block(name="waiting"), queue="background")
        overflow = await app.dispatch(Block(name="overflow"), queue="background")
        record = await app.get(overflow)
        assert record is not None
        assert record.queue == "default"
        probe.release.set()


class Ordered(Task):
    name: str


class OrderedHandler(Handler[Ordered]):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Ordered, ctx: TaskContext) -> None:
        self.probe.saw("ran", task.name)


async def test_higher_priority_runs_first_and_equals_keep_dispatch_order(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(max_parallelism=1)
    for handler in (BlockHandler, OrderedHandler):
        app.register(handler)
    app.container.provide_value(Probe, probe)
    async with app:
        await app.dispatch(Block(name="gate"))
        await probe.started.wait()
        ids = [
            await app.dispatch(Ordered(name=name), priority=priority)
            for name, priority in [("low", 0), ("high-1", 10), ("mid", 5), ("high-2", 10)]
        ]
        probe.release.set()
        for task_id in ids:
            await app.wait(task_id, timeout=5)
    assert [detail for name, detail in probe.calls if name == "ran"] == ["high-1", "high-2", "mid", "low"]


async def test_a_worker_serving_some_queues_leaves_the_others_alone(make_app: AppFactory) -> None:
    app = make_app(queues={"critical": Queue()}, serve_queues=["critical"])
    app.register(ResetHandler)
    async with app:
        elsewhere = await app.dispatch(Reset(n=1), queue="default")
        here = await app.dispatch(Reset(n=2))
        await app.wait(here, timeout=5)
        record = await app.get(elsewhere)
    assert record is not None
    assert record.status is TaskStatus.queued


def test_dropping_modes_are_refused_on_durable_storage() -> None:
    with pytest.raises(ConfigurationError, match="only MemoryStorage allows"):
        EverTask(_NotMemory(), queues={"default": Queue(when_full="drop_oldest")})


class _NotMemory:
    """Any storage that is not MemoryStorage (the check is by type, before anything is opened)."""


def test_unknown_when_full_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="when_full"):
        Queue(when_full="explode")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "problem"),
    [("q\ud800", "not valid Unicode"), ("q\x00", "NUL"), ("q" * 201, "201 characters; the limit is 200")],
    ids=["surrogate", "nul", "too-long"],
)
def test_a_queue_name_no_database_can_store_is_a_configuration_error(name: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        EverTask(MemoryStorage(), queues={name: Queue()})
