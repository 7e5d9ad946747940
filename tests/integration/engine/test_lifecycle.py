"""Lifecycle: statuses and their history, hooks and their order, continuations, injection, sync handlers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from evertask import EverTask, Handler, RetryPolicy, SyncHandler, Task, TaskContext, TaskStatus
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Echo, Flaky, Probe


async def test_every_transition_is_recorded_with_its_time(app: EverTask) -> None:
    async with app:
        task_id = await app.dispatch(Echo(text="x"))
        await app.wait(task_id, timeout=5)
        history = await app.history(task_id)
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, TaskStatus.queued),
        (TaskStatus.queued, TaskStatus.in_progress),
        (TaskStatus.in_progress, TaskStatus.completed),
    ]
    assert [c.at for c in history] == sorted(c.at for c in history)


async def test_hooks_run_in_order_around_a_successful_handle(app: EverTask, probe: Probe) -> None:
    async with app:
        await app.wait(await app.dispatch(Echo(text="x")), timeout=5)
    assert probe.names() == ["on_started", "handle", "on_completed"]


async def test_state_set_in_handle_is_seen_by_on_completed(app: EverTask, probe: Probe) -> None:
    async with app:
        await app.wait(await app.dispatch(Echo(text="kept")), timeout=5)
    assert ("on_completed", "kept") in probe.calls


async def test_on_error_fires_once_after_the_last_retry(app: EverTask, probe: Probe) -> None:
    async with app:
        record = await app.wait(await app.dispatch(Flaky(fail_times=10)), timeout=5)
    assert record.status is TaskStatus.failed
    assert probe.attempts == [1, 2, 3, 4]  # linear(3, ...) = three retries, four executions
    errors = [detail for name, detail in probe.calls if name == "on_error"]
    assert len(errors) == 1
    assert isinstance(errors[0], ValueError)
    assert str(errors[0]) == "boom 4"
    assert record.last_error is not None
    assert "ValueError: boom 4" in record.last_error


async def test_a_retried_task_that_succeeds_never_sees_on_error(app: EverTask, probe: Probe) -> None:
    async with app:
        record = await app.wait(await app.dispatch(Flaky(fail_times=2)), timeout=5)
    assert record.status is TaskStatus.completed
    assert probe.attempts == [1, 2, 3]
    assert "on_error" not in probe.names()
    history = await app.history(record.id)
    assert [c.to_status for c in history].count(TaskStatus.pending) == 2  # each retry waits as pending


class Fragile(Task):
    where: str


class FragileHooks(Handler[Fragile]):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Fragile, ctx: TaskContext) -> None:
        self.probe.saw("handle")
        if task.where == "handle":
            raise RuntimeError("handler fails")

    async def on_started(self, task_id: UUID) -> None:
        raise RuntimeError("on_started hook fails")

    async def on_completed(self, task_id: UUID) -> None:
        raise RuntimeError("on_completed hook fails")

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        raise RuntimeError("on_error hook fails")


@pytest.mark.parametrize(("where", "status"), [("none", TaskStatus.completed), ("handle", TaskStatus.failed)])
async def test_a_failing_hook_is_logged_and_never_changes_the_outcome(
    app: EverTask, probe: Probe, caplog: pytest.LogCaptureFixture, where: str, status: TaskStatus
) -> None:
    app.register(FragileHooks)
    async with app:
        record = await app.wait(await app.dispatch(Fragile(where=where)), timeout=5)
        second = await app.wait(await app.dispatch(Fragile(where=where)), timeout=5)
    assert record.status is status
    assert second.status is status
    assert "on_started hook fails" in caplog.text
    assert ("on_completed hook fails" if status is TaskStatus.completed else "on_error hook fails") in caplog.text


class First(Task):
    pass


class Second(Task):
    parent: UUID


class FirstHandler(Handler[First]):
    retry = RetryPolicy.none()

    def __init__(self, app: EverTask) -> None:
        self.app = app

    async def handle(self, task: First, ctx: TaskContext) -> None:
        pass

    async def on_completed(self, task_id: UUID) -> None:
        await self.app.dispatch(Second(parent=task_id))


class SecondHandler(Handler[Second]):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Second, ctx: TaskContext) -> None:
        self.probe.saw("second", task.parent)
        self.probe.release.set()


async def test_on_completed_can_dispatch_a_continuation(app: EverTask, probe: Probe) -> None:
    app.register(FirstHandler)
    app.register(SecondHandler)
    async with app:
        first = await app.dispatch(First())
        await probe.release.wait()
    assert probe.calls == [("second", first)]


class Resource:
    instances = 0

    def __init__(self) -> None:
        Resource.instances += 1
        self.closed = False


class UsesResource(Task):
    pass


class ResourceHandler(Handler[UsesResource]):
    def __init__(self, resource: Resource, probe: Probe) -> None:
        self.resource = resource
        self.probe = probe

    async def handle(self, task: UsesResource, ctx: TaskContext) -> None:
        self.probe.saw("resource", self.resource)


async def test_generator_provider_gives_each_task_its_own_instance_and_cleans_up(app: EverTask, probe: Probe) -> None:
    closed: list[Resource] = []

    async def make_resource() -> AsyncIterator[Resource]:
        resource = Resource()
        yield resource
        resource.closed = True
        closed.append(resource)

    app.register(ResourceHandler)
    app.provide(Resource, make_resource)
    async with app:
        for _ in range(2):
            await app.wait(await app.dispatch(UsesResource()), timeout=5)
    seen = [detail for _, detail in probe.calls]
    assert len(seen) == 2
    assert seen[0] is not seen[1]
    assert closed == seen


async def test_singleton_provider_is_built_once(app: EverTask, probe: Probe) -> None:
    app.register(ResourceHandler)
    app.provide(Resource, Resource, lifetime="singleton")
    async with app:
        for _ in range(3):
            await app.wait(await app.dispatch(UsesResource()), timeout=5)
    seen = {id(detail) for _, detail in probe.calls}
    assert len(seen) == 1


async def test_a_missing_dependency_fails_the_task_with_a_clear_error_and_no_retry(
    make_app: AppFactory,
) -> None:
    app = make_app()
    app.register(ResourceHandler)  # neither Resource nor Probe is provided
    async with app:
        record = await app.wait(await app.dispatch(UsesResource()), timeout=5)
    assert record.status is TaskStatus.failed
    assert record.attempts == 1
    assert record.last_error is not None
    assert "ResourceHandler needs Resource" in record.last_error


class Threaded(Task):
    pass


class ThreadedHandler(SyncHandler[Threaded]):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def handle(self, task: Threaded, ctx: TaskContext) -> None:
        self.probe.threads.append(threading.current_thread().name)
        ctx.logger.info("working in a thread")


async def test_sync_handler_runs_in_a_worker_thread_with_a_bound_logger(
    app: EverTask, probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    app.register(ThreadedHandler)
    caplog.set_level(logging.INFO, logger="evertask")
    async with app:
        task_id = await app.dispatch(Threaded())
        record = await app.wait(task_id, timeout=5)
    assert record.status is TaskStatus.completed
    assert probe.threads
    assert probe.threads[0].startswith("evertask")
    logged = next(r for r in caplog.records if r.getMessage() == "working in a thread")
    assert logged.task_id == str(task_id)  # type: ignore[attr-defined]
    assert logged.task_type == Threaded.task_name  # type: ignore[attr-defined]
    assert logged.attempt == 1  # type: ignore[attr-defined]


async def test_failure_is_logged_with_structured_extras(app: EverTask, caplog: pytest.LogCaptureFixture) -> None:
    async with app:
        task_id = await app.dispatch(Flaky(fail_times=99))
        await app.wait(task_id, timeout=5)
    failed = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "evertask.worker"]
    assert failed
    assert failed[-1].task_id == str(task_id)
    assert failed[-1].queue == "default"  # type: ignore[attr-defined]


async def test_a_stored_payload_that_no_longer_fits_its_class_fails_that_task_not_the_worker(app: EverTask) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from evertask.storage import NewTask

    async with app:
        now = datetime.now(UTC)
        (stale,) = await app.storage.add(
            [NewTask(uuid4(), Echo.task_name, '{"txt": "an older field name"}', "default", now, now)]
        )
        # Stored behind the app's back (as an older deployment would have), so the worker finds it by polling.
        record = await app.wait(stale, timeout=5)
        healthy = await app.wait(await app.dispatch(Echo(text="still works")), timeout=5)
    assert record.status is TaskStatus.failed
    assert record.attempts == 1
    assert record.last_error is not None
    assert "stored payload no longer matches Echo" in record.last_error
    assert healthy.status is TaskStatus.completed
