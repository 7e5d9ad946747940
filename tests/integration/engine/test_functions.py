"""The `@app.task` shortcut: a function is a task type."""

from __future__ import annotations

from datetime import timedelta

import pytest

from evertask import EverTask, TaskContext, TaskStatus
from evertask.errors import ConfigurationError, TaskValidationError
from tests.integration.conftest import AppFactory


async def test_an_async_function_task_runs_with_its_arguments(make_app: AppFactory) -> None:
    app = make_app()
    seen: list[int] = []

    @app.task(queue="default")
    async def resize(image_id: int, width: int = 100) -> None:
        seen.append(image_id * 1000 + width)

    async with app:
        task_id = await resize.dispatch(image_id=5)
        record = await app.wait(task_id, timeout=5)
    assert record.status is TaskStatus.completed
    assert seen == [5100]
    assert record.type.endswith("resize")


async def test_a_function_task_is_still_callable_directly(make_app: AppFactory) -> None:
    app = make_app()

    @app.task()
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5


async def test_a_sync_function_task_gets_its_context_and_accepts_delay(make_app: AppFactory) -> None:
    app = make_app()
    attempts: list[int] = []

    @app.task()
    def report(name: str, ctx: TaskContext) -> None:
        attempts.append(ctx.attempt)

    async with app:
        task_id = await report.dispatch(name="daily", delay=timedelta(milliseconds=20))
        record = await app.wait(task_id, timeout=5)
    assert record.payload == '{"name":"daily"}'
    assert attempts == [1]


async def test_function_task_arguments_are_validated_at_dispatch(make_app: AppFactory) -> None:
    app = make_app()

    @app.task()
    async def typed(n: int) -> None: ...

    async with app:
        with pytest.raises(TaskValidationError, match=r"n \(int_parsing\)"):
            await typed.dispatch(n="not a number")


def test_a_parameter_named_like_a_dispatch_option_is_refused(make_app: AppFactory) -> None:
    app = make_app()
    with pytest.raises(ConfigurationError, match="'delay' is reserved"):

        @app.task()
        async def bad(delay: int) -> None: ...


def test_function_task_settings_reach_its_handler(make_app: AppFactory) -> None:
    app: EverTask = make_app()

    @app.task(timeout=timedelta(seconds=3), name="jobs.cleanup")
    async def cleanup() -> None: ...

    registration = app.registry.get("jobs.cleanup")
    assert registration.timeout == timedelta(seconds=3)


async def test_the_decorator_also_works_without_parentheses(make_app: AppFactory) -> None:
    app = make_app()
    seen: list[str] = []

    @app.task
    async def greet(name: str) -> None:
        seen.append(name)

    async with app:
        await app.wait(await greet.dispatch("Ann"), timeout=5)
    assert seen == ["Ann"]
