"""Dispatching: ids, durability before return, delays and dates, and bad input that stores nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import ConfigDict

from evertask import EverTask, Handler, Task, TaskContext, TaskStatus
from evertask.errors import (
    ConfigurationError,
    HandlerAlreadyRegisteredError,
    InvalidScheduleError,
    InvalidTaskKeyError,
    NotStartedError,
    SerializationError,
    StorageUnavailableError,
    UnknownQueueError,
    UnknownTaskTypeError,
)
from evertask.storage import MemoryStorage, NewTask
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Echo, EchoHandler, Flaky, FlakyHandler, Probe


async def test_dispatch_returns_an_id_of_a_task_already_stored(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Echo(text="hi"))
        record = await app.get(task_id)
        assert isinstance(task_id, UUID)
        assert record is not None
        assert record.type == Echo.task_name
        assert record.payload == '{"text":"hi"}'
        assert record.queue == "default"
        assert record.created_at.tzinfo is not None


async def test_dispatched_task_runs_and_completes(app: EverTask, probe: Probe) -> None:
    async with app:
        record = await app.wait(await app.dispatch(Echo(text="hi")), timeout=5)
    assert record.status is TaskStatus.completed
    assert record.attempts == 1
    assert record.started_at is not None
    assert record.finished_at is not None
    assert record.finished_at >= record.started_at >= record.created_at
    assert ("handle", "hi") in probe.calls


async def test_delayed_task_waits_pending_then_runs_after_its_delay(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Echo(text="later"), delay=timedelta(milliseconds=150))
        pending = await app.get(task_id)
        assert pending is not None
        assert pending.status is TaskStatus.pending
        done = await app.wait(task_id, timeout=5)
    assert done.status is TaskStatus.completed
    assert done.started_at is not None
    assert done.started_at >= done.scheduled_at
    assert done.scheduled_at - done.created_at == timedelta(milliseconds=150)


async def test_task_scheduled_in_the_past_runs_now(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Echo(text="x"), at=datetime(2000, 1, 1, tzinfo=UTC))
        record = await app.wait(task_id, timeout=5)
    assert record.status is TaskStatus.completed
    assert record.scheduled_at >= record.created_at


async def test_scheduled_time_in_another_zone_is_stored_as_utc(app: EverTask) -> None:
    async with app:
        at = datetime(2099, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
        record = await app.get(await app.dispatch(Echo(text="x"), at=at))
    assert record is not None
    assert record.scheduled_at == at
    assert record.scheduled_at.utcoffset() == timedelta(0)


async def test_naive_datetime_is_rejected_and_nothing_stored(app: EverTask) -> None:
    async with app:
        with pytest.raises(InvalidScheduleError, match="naive"):
            await app.dispatch(Echo(text="x"), at=datetime(2030, 1, 1, 9))
        assert await app.list_tasks() == []


async def test_negative_delay_is_rejected(app: EverTask) -> None:
    async with app:
        with pytest.raises(InvalidScheduleError, match="negative"):
            await app.dispatch(Echo(text="x"), delay=timedelta(seconds=-1))
        assert await app.list_tasks() == []


async def test_delay_and_at_together_are_rejected(app: EverTask) -> None:
    async with app:
        with pytest.raises(InvalidScheduleError, match="at most one"):
            await app.dispatch(Echo(text="x"), delay=timedelta(1), at=datetime.now(UTC))


class Orphan(Task):
    n: int


async def test_task_without_handler_is_an_unknown_task_type(app: EverTask) -> None:
    async with app:
        with pytest.raises(UnknownTaskTypeError, match="Orphan"):
            await app.dispatch(Orphan(n=1))
        assert await app.list_tasks() == []


class Opaque:
    pass


class Unserialisable(Task):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    thing: Opaque


class UnserialisableHandler(Handler[Unserialisable]):
    async def handle(self, task: Unserialisable, ctx: TaskContext) -> None:
        raise AssertionError("never runs")


async def test_payload_that_cannot_be_serialised_is_rejected(app: EverTask) -> None:
    app.register(UnserialisableHandler)
    async with app:
        with pytest.raises(SerializationError, match="Unserialisable"):
            await app.dispatch(Unserialisable(thing=Opaque()))
        assert await app.list_tasks() == []


def test_registering_a_second_handler_for_a_task_type_is_an_error(app: EverTask) -> None:
    class Second(Handler[Echo]):
        async def handle(self, task: Echo, ctx: TaskContext) -> None: ...

    with pytest.raises(HandlerAlreadyRegisteredError, match="Echo"):
        app.register(Second)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("jobs.\ud800", "not valid Unicode"), ("jobs." + "x" * 251, "256 characters; the limit is 255")],
    ids=["surrogate", "too-long"],
)
def test_a_task_type_name_no_database_can_store_is_refused_at_registration(
    app: EverTask, name: str, problem: str
) -> None:
    class Badly(Task):
        task_name = name

    class BadlyHandler(Handler[Badly]):
        async def handle(self, task: Badly, ctx: TaskContext) -> None: ...

    with pytest.raises(ConfigurationError, match=problem):
        app.register(BadlyHandler)


async def test_a_client_without_handlers_checks_the_type_name_at_dispatch(make_app: AppFactory) -> None:
    class Unstorable(Task):
        task_name = "jobs.\x00"

    app = make_app(run_worker=False)
    app.dispatcher.require_handlers = False
    async with app:
        with pytest.raises(ConfigurationError, match="NUL"):
            await app.dispatch(Unstorable())
        assert await app.list_tasks() == []


def test_a_storage_payload_limit_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="max_payload_bytes"):
        MemoryStorage(max_payload_bytes=0)


async def test_key_longer_than_200_characters_is_rejected(app: EverTask) -> None:
    async with app:
        with pytest.raises(InvalidTaskKeyError, match="201 characters"):
            await app.dispatch(Echo(text="x"), key="k" * 201)
        assert await app.list_tasks() == []


async def test_unknown_queue_is_rejected(app: EverTask) -> None:
    async with app:
        with pytest.raises(UnknownQueueError, match="nope"):
            await app.dispatch(Echo(text="x"), queue="nope")


async def test_dispatch_before_start_says_so(app: EverTask) -> None:
    with pytest.raises(NotStartedError):
        await app.dispatch(Echo(text="x"))


async def test_dispatch_many_stores_a_batch_and_returns_ids_in_order(app: EverTask, probe: Probe) -> None:
    async with app:
        ids = await app.dispatch_many([Echo(text=str(i)) for i in range(20)])
        records = [await app.wait(task_id, timeout=5) for task_id in ids]
    assert [r.payload for r in records] == [f'{{"text":"{i}"}}' for i in range(20)]
    assert all(r.status is TaskStatus.completed for r in records)


async def test_concurrent_dispatches_all_get_stored(app: EverTask) -> None:
    async with app:
        ids = await asyncio.gather(*(app.dispatch(Echo(text=str(i))) for i in range(200)))
        assert len(set(ids)) == 200
        for task_id in ids:
            assert (await app.wait(task_id, timeout=5)).status is TaskStatus.completed


async def test_register_module_discovers_the_handlers_a_module_defines(make_app: AppFactory) -> None:
    from tests.integration.engine import tasks

    app = make_app()
    names = {registration.handler_cls for registration in app.register_module(tasks)}
    assert EchoHandler in names
    assert len(names) == 4


class BrokenStorage(MemoryStorage):
    """A storage whose writes fail, as a database that went away would."""

    async def add(self, tasks: Sequence[NewTask]) -> list[UUID]:
        raise StorageUnavailableError("memory://broken", "connection refused")


async def test_a_storage_failure_at_dispatch_raises_by_default(make_app: AppFactory) -> None:
    app = make_app(storage=BrokenStorage())
    app.register(EchoHandler)
    app.provide_value(Probe, Probe())
    async with app:
        with pytest.raises(StorageUnavailableError, match="connection refused"):
            await app.dispatch(Echo(text="x"))


async def test_without_throw_a_task_that_cannot_be_stored_still_runs_in_memory(
    make_app: AppFactory, probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    from evertask.events import TaskCompleted, TaskEvent

    app = make_app(storage=BrokenStorage(), throw_if_unable_to_persist=False)
    app.register(EchoHandler)
    app.register(FlakyHandler)
    app.provide_value(Probe, probe)
    done: list[TaskEvent] = []
    finished = asyncio.Event()

    def completed(event: TaskEvent) -> None:
        done.append(event)
        if len(done) == 2:
            finished.set()

    app.events.subscribe(completed, TaskCompleted)
    async with app:
        echo = await app.dispatch(Echo(text="unstored"))
        flaky = await app.dispatch(Flaky(fail_times=1), delay=timedelta(milliseconds=20))
        await asyncio.wait_for(finished.wait(), timeout=5)
        assert await app.get(echo) is None  # it never reached storage
    assert {e.task_id for e in done} == {echo, flaky}
    assert ("handle", "unstored") in probe.calls
    assert probe.attempts.count(2) == 1  # the flaky one was retried, in memory
    assert "runs in memory only" in caplog.text
