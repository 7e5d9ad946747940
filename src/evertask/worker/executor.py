"""Runs one claimed attempt: build the handler, run hooks and ``handle`` under timeout and cancellation, turn
its return value into the stored result, then decide the outcome (completed, retry, failed, cancelled,
stopped) and record it fenced by the claim."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor as ThreadPool
from concurrent.futures import Future as ThreadFuture
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID

from evertask.context import TaskContext
from evertask.di import Container
from evertask.errors import (
    EverTaskError,
    RateLimitExceededError,
    TaskCancelledError,
    TaskResultError,
    TaskTimeoutError,
)
from evertask.events import EventBus, TaskStarted
from evertask.queues import DEFAULT_QUEUE, ResolvedQueue
from evertask.ratelimit import RateLimit
from evertask.registry import Registration, Registry
from evertask.results import dump_result
from evertask.serialization import load_payload
from evertask.task import Task, TaskRecord
from evertask.worker.outcomes import OutcomeRecorder, Verdict

logger = logging.getLogger("evertask.worker")
StopReason = Literal["cancel", "shutdown", "lost"]


class TakeToken(Protocol):
    """Storage's :meth:`~evertask.storage.base.Storage.take_token`."""

    def __call__(self, bucket: str, *, now: datetime, rate: float, capacity: int) -> Awaitable[float]: ...


SYNC_STOP_GRACE = 5.0
"""Seconds a sync handler gets to notice a cancellation or timeout before its outcome is recorded anyway."""


@dataclass(slots=True)
class Running:
    """A running attempt as the worker sees it: enough to cancel it and to heartbeat its lease."""

    record: TaskRecord
    ctx: TaskContext
    task: asyncio.Task[Any] | None = None
    in_handle: bool = False
    handled: bool = False
    """Whether ``handle`` was called: an attempt stopped before that never ran, and leaves no attempt row."""
    stop: StopReason | None = None

    def request_stop(self, reason: StopReason) -> None:
        """Signal the handler; an async handler already inside ``handle`` is cancelled at its next await."""
        if self.stop is None:
            self.stop = reason
        self.ctx.signal_cancel()
        if self.in_handle and self.task is not None:
            self.task.cancel()


class Executor:
    """Executes attempts for one worker (``owner``)."""

    def __init__(
        self,
        *,
        owner: str,
        registry: Registry,
        container: Container,
        queues: dict[str, ResolvedQueue],
        recorder: OutcomeRecorder,
        take_token: TakeToken,
        events: EventBus,
        now: Callable[[], datetime],
        threads: ThreadPool | None,
        max_result_size: int,
    ) -> None:
        self.owner = owner
        self.running: dict[UUID, Running] = {}
        self._stopped_queues: set[str] = set()
        self._early_stops: dict[UUID, StopReason] = {}
        self._registry = registry
        self._container = container
        self._queues = queues
        self._recorder = recorder
        self._take_token = take_token
        self._events = events
        self._now = now
        self._threads = threads
        self._max_result_size = max_result_size

    async def execute(self, record: TaskRecord) -> None:
        """Run one claimed attempt to its recorded outcome. Never raises: a task cannot kill the worker."""
        ctx = TaskContext(record.id, record.type, record.queue, record.attempts, record.scheduled_at, record.run_count)
        running = Running(record, ctx, asyncio.current_task())
        early = self._early_stops.pop(record.id, None) if self._early_stops else None
        if early is not None:
            running.stop = early
        elif record.queue in self._stopped_queues:
            running.stop = "shutdown"
        self.running[record.id] = running
        started_at = self._now()
        if self._events.active:
            self._events.publish(TaskStarted(record.id, record.type, record.queue, record.attempts, started_at))
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            verdict = await self._attempt(running)
        except Exception as exc:  # a bug in evertask itself: fail the task, keep the worker
            logger.exception("internal error while running task %s", record.id)
            verdict = Verdict(error=exc)
        finally:
            del self.running[record.id]
        verdict.started_at = started_at
        self._recorder.submit(record, verdict, loop.time() - started)

    def stop_all(self, queue: str) -> None:
        """Shutdown past its grace period: interrupt every attempt of ``queue``, and any that starts later."""
        self._stopped_queues.add(queue)
        for running in list(self.running.values()):
            if running.record.queue == queue:
                running.request_stop("shutdown")

    def stop_running(self, task_id: UUID, reason: StopReason) -> bool:
        """Stop the attempt of ``task_id`` running here; False if it does not run here."""
        running = self.running.get(task_id)
        if running is None:
            return False
        running.request_stop(reason)
        return True

    def stop_when_started(self, task_id: UUID, reason: StopReason) -> None:
        """A task claimed here but not started yet: stop it as it starts, before any hook runs."""
        self._early_stops[task_id] = reason

    async def _attempt(self, running: Running) -> Verdict:
        record = running.record
        if running.stop is not None:  # cancelled or interrupted while claimed ahead: never started, no hooks
            return _stopped(running)
        try:
            registration = self._registry.get(record.type)
            task = load_payload(registration.task_cls, record.payload)
        except EverTaskError as exc:
            return Verdict(error=exc, retryable=False)
        if not self._container.parameters(registration.handler_cls):
            # Nothing to inject, so nothing to clean up: skip the scope on this hot path.
            return await self._run(running, registration, registration.handler_cls(), task)
        async with self._container.scope() as scope:
            try:
                handler = await scope.build(registration.handler_cls)
            except EverTaskError as exc:  # a missing dependency will not appear by retrying
                return Verdict(error=exc, retryable=False)
            return await self._run(running, registration, handler, task)

    async def _run(self, running: Running, registration: Registration, handler: Any, task: Task) -> Verdict:
        """Hooks around ``handle``, then the retry decision for a failure."""
        record = running.record
        queue = self._queues.get(record.queue) or self._queues[DEFAULT_QUEUE]
        timeout = registration.timeout if registration.timeout is not None else queue.default_timeout
        if timeout is not None and timeout <= timedelta(0):
            timeout = None  # an explicit zero switches off a timeout inherited from the queue or the app
        hooks = registration.hooks
        if registration.rate_limit is not None:
            over = await self._over_rate_limit(registration.rate_limit, record, task)
            if over is not None:
                if over.error is not None and "on_error" in hooks:
                    await _safe_hook(handler.on_error, record, record.id, over.error, str(over.error))
                return over
        if "on_started" in hooks and record.attempts <= 1:
            await _safe_hook(handler.on_started, record, record.id)
        verdict = await self._handle(running, registration, handler, task, timeout)
        if verdict.error is None and verdict.stop is None:
            if "on_completed" in hooks:
                await _safe_hook(handler.on_completed, record, record.id)
            return verdict
        if verdict.stop in ("shutdown", "lost"):
            return verdict
        if verdict.stop is None and verdict.error is not None and verdict.retryable:
            retry = registration.retry or queue.default_retry
            verdict.retry_in = retry.next_delay(record.attempts, verdict.error)
        if verdict.retry_in is None and "on_error" in hooks:
            error = verdict.error
            await _safe_hook(handler.on_error, record, record.id, error, str(error) if error else None)
        return verdict

    async def _over_rate_limit(self, limit: RateLimit, record: TaskRecord, task: Task) -> Verdict | None:
        """None if the attempt may run; else how it ends: deferred to its next permit, or discarded."""
        bucket = limit.bucket_for(record.type, task)
        wait = await self._take_token(bucket, now=self._now(), rate=limit.rate, capacity=limit.capacity)
        if wait <= 0:
            return None
        if limit.when_exceeded == "wait":
            return Verdict(deferred_for=timedelta(seconds=wait))
        return Verdict(error=RateLimitExceededError(bucket, wait), retryable=False)

    async def _handle(
        self,
        running: Running,
        registration: Registration,
        handler: Any,
        task: Task,
        timeout: timedelta | None,
    ) -> Verdict:
        record, ctx = running.record, running.ctx
        if running.stop is not None:  # asked to stop while on_started ran
            return _stopped(running)
        running.in_handle = running.handled = True
        thread: ThreadFuture[Any] | None = None
        deadline: asyncio.Timeout | None = None
        try:
            if registration.is_async:
                call: Awaitable[Any] = handler.handle(task, ctx)
            else:
                thread = self._start_thread(handler, task, ctx)
                call = asyncio.wrap_future(thread)
            if timeout is None:
                value = await call
            else:
                async with asyncio.timeout(timeout.total_seconds()) as deadline:
                    value = await call
        except TimeoutError as exc:
            if deadline is None or not deadline.expired() or running.stop is not None:
                return Verdict(error=exc)  # the handler's own TimeoutError (an HTTP client's, say)
            ctx.signal_cancel()
            return Verdict(error=TaskTimeoutError(record.id, timeout.total_seconds()), timed_out=timeout)  # type: ignore[union-attr]
        except asyncio.CancelledError:
            if running.stop is None:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            return _stopped(running)
        except TaskCancelledError as exc:
            return Verdict(error=exc, stop="cancel") if running.stop == "cancel" else Verdict(error=exc)
        except Exception as exc:
            return Verdict(error=exc)
        finally:
            running.in_handle = False
            if thread is not None and not thread.done():
                await _let_thread_stop(thread, record)
        if value is None:
            return Verdict()
        try:
            return Verdict(result=dump_result(value, task_type=record.type, limit=self._max_result_size))
        except TaskResultError as exc:  # fails the attempt like an error in handle: the retry policy applies
            return Verdict(error=exc)

    def _start_thread(self, handler: Any, task: Task, ctx: TaskContext) -> ThreadFuture[Any]:
        ctx.enable_blocking_wait()
        context = contextvars.copy_context()  # request ids and tracing flow into the thread
        if self._threads is None:
            raise RuntimeError("sync handlers need the worker's thread pool")
        return self._threads.submit(context.run, handler.handle, task, ctx)


async def _let_thread_stop(thread: ThreadFuture[Any], record: TaskRecord) -> None:
    """A thread cannot be killed: after signalling it, give it a moment to notice before its outcome is
    recorded, so that a retry does not start while the previous attempt still runs."""
    await asyncio.wait([asyncio.wrap_future(thread)], timeout=SYNC_STOP_GRACE)
    if not thread.done():
        logger.warning(
            "sync handler of task %s still runs %.0f s after it was told to stop; it cannot be killed, "
            "only asked (poll ctx.cancelled)",
            record.id,
            SYNC_STOP_GRACE,
            extra=_extra(record),
        )


def _stopped(running: Running) -> Verdict:
    reason = running.stop
    if reason == "cancel":
        return Verdict(error=TaskCancelledError(running.record.id), stop="cancel", ran=running.handled)
    return Verdict(stop=reason, ran=running.handled)


async def _safe_hook(hook: Callable[..., Any], record: TaskRecord, *args: Any) -> None:
    """Run a lifecycle hook (sync or async): its failure is logged and never changes the task's outcome."""
    try:
        result = hook(*args)
        if asyncio.iscoroutine(result):
            await result
    except Exception:
        logger.exception(
            "%s hook of %s failed for task %s",
            hook.__name__,
            record.type,
            record.id,
            extra=_extra(record),
        )


def _extra(record: TaskRecord) -> dict[str, object]:
    return {"task_id": str(record.id), "task_type": record.type, "queue": record.queue, "attempt": record.attempts}
