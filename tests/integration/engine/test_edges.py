"""Edge cases a careful user runs into: timeouts that are not ours, threads that must stop, restarts."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Generic, TypeVar

import pytest

from evertask import EverTask, Handler, Queue, RetryPolicy, SyncHandler, Task, TaskContext, TaskStatus
from evertask.errors import ConfigurationError, QueueFullError
from evertask.events import TaskCompleted, TaskEvent, TaskTimedOut
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Block, BlockHandler, Echo, EchoHandler, Probe


class CallsSlowService(Task):
    pass


class CallsSlowServiceHandler(Handler[CallsSlowService]):
    timeout = timedelta(seconds=30)
    retry = RetryPolicy.none()

    async def handle(self, task: CallsSlowService, ctx: TaskContext) -> None:
        raise TimeoutError("the partner API did not answer")  # the handler's own timeout, not evertask's


async def test_a_timeout_error_raised_by_the_handler_is_not_reported_as_its_timeout(make_app: AppFactory) -> None:
    app = make_app()
    app.register(CallsSlowServiceHandler)
    timed_out: list[TaskEvent] = []
    app.events.subscribe(timed_out.append, TaskTimedOut)
    async with app:
        record = await app.wait(await app.dispatch(CallsSlowService()), timeout=5)
        await app.events.flush()
    assert record.last_error is not None
    assert "TimeoutError: the partner API did not answer" in record.last_error
    assert "timed out after" not in record.last_error
    assert timed_out == []


class Cooperative(Task):
    pass


class CooperativeHandler(SyncHandler[Cooperative]):
    timeout = timedelta(milliseconds=50)
    retry = RetryPolicy.linear(1, timedelta(0))
    lock = threading.Lock()
    overlaps: list[int] = []
    active = 0

    def handle(self, task: Cooperative, ctx: TaskContext) -> None:
        with CooperativeHandler.lock:
            CooperativeHandler.active += 1
            CooperativeHandler.overlaps.append(CooperativeHandler.active)
        try:
            ctx.wait_cancelled(timeout=0.3)  # notices the timeout, but only after 0.3 s of clean-up
            threading.Event().wait(0.2 if ctx.attempt == 1 else 0)
        finally:
            with CooperativeHandler.lock:
                CooperativeHandler.active -= 1


async def test_a_timed_out_sync_attempt_ends_before_its_retry_starts(make_app: AppFactory) -> None:
    app = make_app()
    app.register(CooperativeHandler)
    async with app:
        record = await app.wait(await app.dispatch(Cooperative()), timeout=10)
    assert record.status is TaskStatus.failed
    assert record.attempts == 2
    assert CooperativeHandler.overlaps == [1, 1]


async def test_a_zero_timeout_on_a_handler_switches_off_the_app_default(make_app: AppFactory) -> None:
    class Patient(Task):
        pass

    class PatientHandler(Handler[Patient]):
        timeout = timedelta(0)

        async def handle(self, task: Patient, ctx: TaskContext) -> None:
            await asyncio.sleep(0.1)

    app = make_app(default_timeout=timedelta(milliseconds=20))
    app.register(PatientHandler)
    async with app:
        record = await app.wait(await app.dispatch(Patient()), timeout=5)
    assert record.status is TaskStatus.completed


async def test_an_interrupted_attempt_is_given_back_at_restart(make_app: AppFactory, probe: Probe) -> None:
    from evertask.storage import MemoryStorage

    storage = MemoryStorage()
    first = make_app(storage=storage)
    first.register(BlockHandler)
    first.provide_value(Probe, probe)
    await first.start()
    task_id = await first.dispatch(Block(name="long"))
    await probe.started.wait()
    await first.stop(grace=0)
    stopped = await storage.get(task_id)
    assert stopped is not None
    assert stopped.attempts == 0
    probe.release.set()
    second = make_app(storage=storage)
    second.register(BlockHandler)
    second.provide_value(Probe, probe)
    async with second:
        record = await second.wait(task_id, timeout=5)
    assert record.attempts == 1


async def test_a_batch_to_a_full_queue_in_raise_mode_is_refused_whole(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(max_parallelism=1, queues={"default": Queue(capacity=1, when_full="raise")})
    app.register(BlockHandler)
    app.register(EchoHandler)
    app.provide_value(Probe, probe)
    async with app:
        await app.dispatch(Block(name="running"))
        await probe.started.wait()
        await app.dispatch(Echo(text="waiting"))
        with pytest.raises(QueueFullError):
            await app.dispatch_many([Echo(text="a"), Echo(text="b")])
        assert len(await app.list_tasks()) == 2
        probe.release.set()


T = TypeVar("T", bound=Task)


class Audited(Handler[T], Generic[T]):
    """A reusable handler base of the user's own, generic in its task."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: T, ctx: TaskContext) -> None:
        self.probe.saw("audited", type(task).__name__)


class Invoice(Task):
    pass


class InvoiceHandler(Audited[Invoice]):
    pass


async def test_a_handler_may_derive_from_a_generic_base_of_the_users_own(make_app: AppFactory, probe: Probe) -> None:
    app = make_app()
    app.register(InvoiceHandler)
    app.provide_value(Probe, probe)
    async with app:
        await app.wait(await app.dispatch(Invoice()), timeout=5)
    assert probe.calls == [("audited", "Invoice")]


def test_a_handler_whose_constructor_hints_cannot_be_resolved_fails_at_registration(make_app: AppFactory) -> None:
    class Broken(Handler[Echo]):
        def __init__(self, service: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

    with pytest.raises(ConfigurationError, match="type hints of"):
        make_app().register(Broken)


@pytest.mark.parametrize("setting", [{"max_parallelism": 0}, {"channel_capacity": 0}])
def test_nonsense_sizes_are_configuration_errors(setting: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        EverTask(**setting)  # type: ignore[arg-type]


async def test_subscriptions_survive_a_restart_of_the_app(make_app: AppFactory, probe: Probe) -> None:
    app = make_app()
    app.register(EchoHandler)
    app.provide_value(Probe, probe)
    seen: list[TaskEvent] = []
    app.events.subscribe(seen.append, TaskCompleted)
    for text in ("first run", "second run"):
        async with app:
            await app.wait(await app.dispatch(Echo(text=text)), timeout=5)
            await app.events.flush()
    assert len(seen) == 2


async def test_a_cancelled_prefetched_task_runs_no_hooks(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(max_parallelism=1)
    app.register(BlockHandler)
    app.register(EchoHandler)
    app.provide_value(Probe, probe)
    async with app:
        for i in range(5):
            await app.wait(await app.dispatch(Echo(text=str(i))), timeout=5)
        probe.calls.clear()
        _, waiting = await app.dispatch_many([Block(name="gate"), Echo(text="prefetched")])
        await probe.started.wait()
        await app.cancel(waiting)
        probe.release.set()
        await app.wait(waiting, timeout=5)
    assert probe.names() == ["handle"]  # the gate's; nothing at all for the cancelled task
