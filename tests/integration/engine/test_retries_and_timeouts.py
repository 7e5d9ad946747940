"""Retries (rescheduled, not holding a slot) and per-attempt timeouts with their settings chain."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from evertask import EverTask, Handler, Queue, RetryPolicy, SyncHandler, Task, TaskContext, TaskStatus
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


class Watchful(Task):
    pass


class WatchfulHandler(Handler[Watchful]):
    """Records what its context says at the moment the timeout's cancellation reaches it."""

    timeout = timedelta(milliseconds=50)
    retry = RetryPolicy.none()

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Watchful, ctx: TaskContext) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.probe.saw("cancelled while handling", ctx.cancelled)
            ctx.raise_if_cancelled()  # a handler may turn the cancellation into its own exception
            raise

    async def on_error(self, task_id: object, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


async def test_a_timeout_sets_ctx_cancelled_before_the_handler_sees_its_cancellation(
    app: EverTask, probe: Probe
) -> None:
    app.register(WatchfulHandler)
    async with app:
        record = await app.wait(await app.dispatch(Watchful()), timeout=5)
    assert probe.calls[0] == ("cancelled while handling", True)
    # raise_if_cancelled turned it into TaskCancelledError: still a timeout, not a cancellation or a plain error.
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    assert "timed out after 0.05 s" in record.last_error
    (error,) = [detail for name, detail in probe.calls if name == "on_error"]
    assert isinstance(error, TaskTimeoutError)


class WatchfulSync(Task):
    pass


class WatchfulSyncHandler(SyncHandler[WatchfulSync]):
    timeout = timedelta(milliseconds=50)
    retry = RetryPolicy.none()

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def handle(self, task: WatchfulSync, ctx: TaskContext) -> None:
        signalled = ctx.wait_cancelled(timeout=30)
        self.probe.saw("signalled", (signalled, ctx.cancelled))
        self.probe.thread_started.set()
        ctx.raise_if_cancelled()


async def test_a_timeout_signals_a_sync_handler_in_its_thread(app: EverTask, probe: Probe) -> None:
    app.register(WatchfulSyncHandler)
    async with app:
        record = await app.wait(await app.dispatch(WatchfulSync()), timeout=5)
        assert await asyncio.to_thread(probe.thread_started.wait, 5)
    assert probe.calls == [("signalled", (True, True))]
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    assert "timed out after 0.05 s" in record.last_error


class OwnTimeout(Task):
    pass


class OwnTimeoutHandler(Handler[OwnTimeout]):
    timeout = timedelta(seconds=30)
    retry = RetryPolicy.none()

    async def handle(self, task: OwnTimeout, ctx: TaskContext) -> None:
        raise TimeoutError("the partner API did not answer")


async def test_a_handlers_own_timeout_error_is_not_reported_as_its_time_limit(app: EverTask) -> None:
    app.register(OwnTimeoutHandler)
    async with app:
        record = await app.wait(await app.dispatch(OwnTimeout()), timeout=5)
    assert record.status is TaskStatus.failed
    assert record.last_error is not None
    assert "the partner API did not answer" in record.last_error
    assert "timed out after" not in record.last_error
