"""Retries (rescheduled, not holding a slot) and per-attempt timeouts with their settings chain."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from evertask import EverTask, Handler, Queue, RetryPolicy, Task, TaskContext, TaskStatus
from evertask.errors import TaskTimeoutError
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Echo, EchoHandler, Flaky, FlakyHandler, Probe


class SlowRetry(Task):
    pass


class SlowRetryHandler(Handler[SlowRetry]):
    retry = RetryPolicy.linear(1, timedelta(seconds=30))

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: SlowRetry, ctx: TaskContext) -> None:
        self.probe.saw("slow", ctx.attempt)
        raise ValueError("first attempt fails")


async def test_a_task_waiting_to_retry_does_not_hold_a_worker_slot(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(max_parallelism=1)
    app.register(SlowRetryHandler)
    app.register(EchoHandler)
    app.container.provide_value(Probe, probe)
    async with app:
        retrying = await app.dispatch(SlowRetry())
        echo = await app.dispatch(Echo(text="next"))
        assert (await app.wait(echo, timeout=5)).status is TaskStatus.completed
        record = await app.get(retrying)
        assert record is not None
        assert record.status is TaskStatus.pending
        assert record.scheduled_at > record.created_at + timedelta(seconds=20)
        assert record.last_error is not None
        assert "first attempt fails" in record.last_error


class Sleepy(Task):
    seconds: float


class SleepyHandler(Handler[Sleepy]):
    timeout = timedelta(milliseconds=50)
    retry = RetryPolicy.none()

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Sleepy, ctx: TaskContext) -> None:
        await asyncio.sleep(task.seconds)

    async def on_error(self, task_id: object, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


async def test_an_attempt_over_its_timeout_fails_with_a_timeout_error(app: EverTask, probe: Probe) -> None:
    app.register(SleepyHandler)
    async with app:
        record = await app.wait(await app.dispatch(Sleepy(seconds=30)), timeout=5)
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    assert "timed out after 0.05 s" in record.last_error
    (error,) = [detail for name, detail in probe.calls if name == "on_error"]
    assert isinstance(error, TaskTimeoutError)
    assert isinstance(error, TimeoutError)


async def test_an_attempt_within_its_timeout_completes(app: EverTask) -> None:
    app.register(SleepyHandler)
    async with app:
        record = await app.wait(await app.dispatch(Sleepy(seconds=0.001)), timeout=5)
    assert record.status is TaskStatus.completed


async def test_a_timed_out_attempt_is_retried_by_the_policy(make_app: AppFactory) -> None:
    class Once(Task):
        pass

    class OnceHandler(Handler[Once]):
        timeout = timedelta(milliseconds=30)
        retry = RetryPolicy.linear(2, timedelta(milliseconds=1))

        async def handle(self, task: Once, ctx: TaskContext) -> None:
            if ctx.attempt == 1:
                await asyncio.sleep(30)

    app = make_app()
    app.register(OnceHandler)
    async with app:
        record = await app.wait(await app.dispatch(Once()), timeout=5)
    assert record.status is TaskStatus.completed
    assert record.attempts == 2


class Unbounded(Task):
    pass


class UnboundedHandler(Handler[Unbounded]):
    retry = RetryPolicy.none()

    async def handle(self, task: Unbounded, ctx: TaskContext) -> None:
        await asyncio.sleep(30)


async def test_queue_default_timeout_applies_when_the_handler_sets_none(make_app: AppFactory) -> None:
    app = make_app(
        default_timeout=timedelta(seconds=60),
        queues={"default": Queue(default_timeout=timedelta(milliseconds=40))},
    )
    app.register(UnboundedHandler)
    async with app:
        record = await app.wait(await app.dispatch(Unbounded()), timeout=5)
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    assert "timed out after 0.04 s" in record.last_error


async def test_app_default_timeout_applies_when_handler_and_queue_set_none(make_app: AppFactory) -> None:
    app = make_app(default_timeout=timedelta(milliseconds=40))
    app.register(UnboundedHandler)
    async with app:
        record = await app.wait(await app.dispatch(Unbounded()), timeout=5)
    assert record.last_error is not None
    assert "timed out after 0.04 s" in record.last_error


async def test_handler_retry_policy_wins_over_queue_and_app(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(
        default_retry=RetryPolicy.linear(5, timedelta(milliseconds=1)),
        queues={"default": Queue(default_retry=RetryPolicy.linear(4, timedelta(milliseconds=1)))},
    )

    class OneRetry(FlakyHandler):
        retry = RetryPolicy.linear(1, timedelta(milliseconds=1))

    app.register(OneRetry)
    app.container.provide_value(Probe, probe)
    async with app:
        await app.wait(await app.dispatch(Flaky(fail_times=99)), timeout=5)
    assert probe.attempts == [1, 2]


async def test_queue_retry_policy_wins_over_the_app_default(make_app: AppFactory, probe: Probe) -> None:
    app = make_app(
        default_retry=RetryPolicy.linear(5, timedelta(milliseconds=1)),
        queues={"default": Queue(default_retry=RetryPolicy.linear(2, timedelta(milliseconds=1)))},
    )
    app.register(FlakyHandler)
    app.container.provide_value(Probe, probe)
    async with app:
        await app.wait(await app.dispatch(Flaky(fail_times=99)), timeout=5)
    assert probe.attempts == [1, 2, 3]


async def test_never_on_makes_a_failure_final_at_once(make_app: AppFactory, probe: Probe) -> None:
    class NoValueErrors(FlakyHandler):
        retry = RetryPolicy.linear(5, timedelta(milliseconds=1)).never_on(ValueError)

    app = make_app()
    app.register(NoValueErrors)
    app.container.provide_value(Probe, probe)
    async with app:
        record = await app.wait(await app.dispatch(Flaky(fail_times=99)), timeout=5)
    assert record.status is TaskStatus.failed
    assert probe.attempts == [1]
