"""What dispatch refuses, on every backend: each bad value is a typed error and stores nothing, and a value at the
edge of each documented range is stored and read back as it was. (These run through an app, because dispatch is
where the checks live; the backends are the contract suite's.)"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from evertask import EverTask, Handler, Task, TaskContext, TaskStatus
from evertask.errors import (
    InvalidScheduleError,
    InvalidTaskKeyError,
    PayloadTooLargeError,
    StorageBusyError,
    StorageError,
    StorageUnavailableError,
    TaskValidationError,
)
from evertask.limits import LATEST_DUE_TIME, MAX_PRIORITY, MIN_PRIORITY
from evertask.storage import NewTask, Storage
from tests.contract.conftest import Backend


class Measure(Task):
    value: float = 0.0


class Anything(Task):
    value: Any = None


class MeasureHandler(Handler[Measure]):
    async def handle(self, task: Measure, ctx: TaskContext) -> None:
        pass


class AnythingHandler(Handler[Anything]):
    async def handle(self, task: Anything, ctx: TaskContext) -> None:
        pass


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.fixture
async def app(backend: Backend) -> AsyncIterator[EverTask]:
    """A started app on the backend under test that only dispatches (nothing runs, so what is stored stays)."""
    app = EverTask(backend.build(), run_worker=False)
    app.register(MeasureHandler)
    app.register(AnythingHandler)
    async with app:
        yield app


async def nothing_stored(app: EverTask) -> bool:
    return await app.storage.count_by_status() == {}


@pytest.mark.parametrize(
    ("task", "field"),
    [
        (Measure(value=math.nan), "value"),
        (Measure(value=math.inf), "value"),
        (Anything(value=-math.inf), "value"),
        (Anything(value={"reading": math.nan}), "value"),
        (Anything(value=nested(200)), "value"),
        (Anything(value=nested(254)), "value"),
        (Anything(value=(1, 2)), "value"),
    ],
    ids=["nan-float", "inf-float", "inf-any", "nan-in-dict", "nested-200", "nested-254", "tuple-any"],
)
async def test_a_payload_that_would_not_come_back_from_json_is_refused_naming_its_field(
    app: EverTask, task: Task, field: str
) -> None:
    with pytest.raises(TaskValidationError, match=f"field '{field}'"):
        await app.dispatch(task)
    with pytest.raises(TaskValidationError, match=f"field '{field}'"):
        await app.dispatch_many([Measure(value=1.0), task])
    assert await nothing_stored(app)


async def test_the_error_for_a_payload_names_the_field_but_never_its_value(app: EverTask) -> None:
    with pytest.raises(TaskValidationError) as raised:
        await app.dispatch(Anything(value={"secret-name": math.nan}))
    assert "secret-name" not in str(raised.value)
    assert raised.value.__cause__ is None  # pydantic's error, which quotes the input, is not chained


async def test_a_payload_nested_as_deep_as_json_loads_back_is_stored_as_it_was(app: EverTask) -> None:
    record = await app.get(await app.dispatch(Anything(value=nested(198))))
    assert record is not None
    assert Anything.model_validate_json(record.payload) == Anything(value=nested(198))


async def test_a_due_time_past_the_storable_range_is_refused(app: EverTask) -> None:
    with pytest.raises(InvalidScheduleError, match="9999-12-30"):
        await app.dispatch(Measure(), delay=timedelta.max)
    with pytest.raises(InvalidScheduleError, match="9999-12-30"):
        await app.dispatch(Measure(), at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
    with pytest.raises(InvalidScheduleError, match="9999-12-30"):
        await app.dispatch(Measure(), at=LATEST_DUE_TIME + timedelta(microseconds=1))
    assert await nothing_stored(app)


async def test_the_latest_storable_due_time_is_stored_and_read_back_exactly(app: EverTask) -> None:
    late = LATEST_DUE_TIME.astimezone(timezone(timedelta(hours=14)))  # the same instant, in the last zone
    record = await app.get(await app.dispatch(Measure(), at=late))
    assert record is not None
    assert record.scheduled_at == LATEST_DUE_TIME
    assert record.status is TaskStatus.pending


async def test_a_due_time_before_year_one_in_utc_is_due_now(app: EverTask) -> None:
    record = await app.get(await app.dispatch(Measure(), at=datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))))
    assert record is not None
    assert record.scheduled_at == record.created_at
    assert record.status is TaskStatus.queued


@pytest.mark.parametrize("priority", [2**63, MAX_PRIORITY + 1, MIN_PRIORITY - 1, 1.5])
async def test_a_priority_outside_32_bits_is_refused(app: EverTask, priority: Any) -> None:
    with pytest.raises(TaskValidationError, match="priority must be an int from -2147483648 to 2147483647"):
        await app.dispatch(Measure(), priority=priority)
    with pytest.raises(TaskValidationError, match="priority"):
        await app.dispatch_many([Measure()], priority=priority)
    assert await nothing_stored(app)


async def test_the_extreme_priorities_are_stored_and_read_back(app: EverTask) -> None:
    for priority in (MIN_PRIORITY, MAX_PRIORITY):
        record = await app.get(await app.dispatch(Measure(), priority=priority))
        assert record is not None
        assert record.priority == priority


@pytest.mark.parametrize("key", ["\ud800", "tenant-\udfff", "a\x00b", 42], ids=["surrogate", "low", "nul", "int"])
async def test_a_key_no_database_can_store_is_refused(app: EverTask, key: Any) -> None:
    with pytest.raises(InvalidTaskKeyError):
        await app.dispatch(Measure(), key=key)
    assert await nothing_stored(app)


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"], ids=["empty", "spaces", "tab-newline"])
async def test_a_blank_key_is_no_key(app: EverTask, blank: str) -> None:
    first = await app.dispatch(Measure(value=1.0), key=blank)
    second = await app.dispatch(Measure(value=2.0), key=blank)
    assert first != second
    records = [await app.get(task_id) for task_id in (first, second)]
    assert [r.key for r in records if r is not None] == [None, None]


async def test_one_bad_dispatch_among_concurrent_ones_fails_alone(app: EverTask) -> None:
    good = [app.dispatch(Measure(value=float(i))) for i in range(20)]
    results = await asyncio.gather(*good, app.dispatch(Measure(), priority=2**63), return_exceptions=True)
    assert isinstance(results[-1], TaskValidationError)
    assert not any(isinstance(result, BaseException) for result in results[:-1])
    assert await app.storage.count_by_status() == {TaskStatus.queued: 20}


async def test_a_task_due_at_the_latest_time_does_not_upset_a_running_worker(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    app = EverTask(backend.build())
    app.register(MeasureHandler)
    async with app:
        late = await app.dispatch(Measure(), at=LATEST_DUE_TIME)
        now = await app.wait(await app.dispatch(Measure()), timeout=10)
        assert now.status is TaskStatus.completed
        record = await app.get(late)
        assert record is not None
        assert record.status is TaskStatus.pending
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


class Refuses:
    """The backend under test, failing any write that holds a task with "poison" in its payload with ``error``:
    a database refusing a row that passed every check at dispatch."""

    def __init__(self, inner: Storage, error: StorageError) -> None:
        self._inner = inner
        self._error = error
        self.writes = 0

    async def add(self, tasks: Sequence[NewTask]) -> list[UUID]:
        self.writes += 1
        if any("poison" in task.payload for task in tasks):
            raise self._error
        return await self._inner.add(tasks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def dispatch_twenty_and_poison(app: EverTask) -> list[Any]:
    dispatches = [app.dispatch(Anything(value=i)) for i in range(20)]
    return await asyncio.gather(*dispatches, app.dispatch(Anything(value="poison")), return_exceptions=True)


async def test_a_write_refused_for_one_dispatch_fails_only_that_dispatch(backend: Backend) -> None:
    storage = Refuses(backend.build(), StorageError("the database refused a row"))
    app = EverTask(storage, run_worker=False)  # type: ignore[arg-type]
    app.register(AnythingHandler)
    async with app:
        results = await dispatch_twenty_and_poison(app)
        assert isinstance(results[-1], StorageError)
        assert not any(isinstance(result, BaseException) for result in results[:-1])
        assert await app.storage.count_by_status() == {TaskStatus.queued: 20}


@pytest.mark.parametrize(
    "error",
    [StorageUnavailableError("db", "connection refused"), StorageBusyError("tasks.db", 30.0, 30.0)],
    ids=["unavailable", "busy"],
)
async def test_a_write_failing_for_the_whole_database_is_not_retried_dispatch_by_dispatch(
    backend: Backend, error: StorageError
) -> None:
    if backend.name == "memory":
        pytest.skip("memory storage writes each dispatch on its own: there is no shared write")
    storage = Refuses(backend.build(), error)
    app = EverTask(storage, run_worker=False)  # type: ignore[arg-type]
    app.register(AnythingHandler)
    async with app:
        results = await dispatch_twenty_and_poison(app)
        assert all(result is error for result in results)
        assert storage.writes == 1  # each retry alone would have waited as long, and failed too


def json_of_size(size: int) -> Measure | Anything:
    """A task whose payload JSON is ``size`` bytes of the worst case for a SQL statement: quotes, which JSON
    escapes once and the driver may escape again."""
    overhead = len(b'{"value":""}')
    quotes, odd = divmod(size - overhead, 2)  # each quote is two bytes of JSON
    return Anything(value='"' * quotes + "x" * odd)


async def test_a_payload_of_the_storage_limit_is_stored_and_one_byte_more_is_refused(app: EverTask) -> None:
    limit: int = app.storage.max_payload_bytes
    at_limit = json_of_size(limit)
    record = await app.get(await app.dispatch(at_limit))
    assert record is not None
    assert len(record.payload.encode()) == limit
    assert Anything.model_validate_json(record.payload) == at_limit

    with pytest.raises(PayloadTooLargeError, match=f"{limit + 1:,} bytes"):
        await app.dispatch(json_of_size(limit + 1))
    assert await app.storage.count_by_status() == {TaskStatus.queued: 1}


async def test_the_payload_limit_counts_utf8_bytes(backend: Backend) -> None:
    app = EverTask(backend.build(max_payload_bytes=64), run_worker=False)
    app.register(AnythingHandler)
    async with app:
        assert await app.dispatch(Anything(value="é" * 26))  # 12 + 52 bytes
        with pytest.raises(PayloadTooLargeError, match="65 bytes"):
            await app.dispatch(Anything(value="é" * 26 + "x"))
        assert await app.storage.count_by_status() == {TaskStatus.queued: 1}
