"""What dispatch refuses, on every backend: each bad value is a typed error and stores nothing, and a value at the
edge of each documented range is stored and read back as it was. (These run through an app, because dispatch is
where the checks live; the backends are the contract suite's.)"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from evertask import EverTask, Handler, Task, TaskContext
from evertask.errors import (
    TaskValidationError,
)
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
