"""Typed task events and the in-process bus that fans them out.

Every transition publishes one event. Subscribers (the dashboard, logs, metrics, your code) each get their own
bounded buffer drained by their own coroutine, so a slow subscriber never slows the worker: when its buffer is
full, further events for it are dropped and counted in :attr:`EventBus.dropped`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

logger = logging.getLogger("evertask.events")


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """Base class: what every event says about its task."""

    task_id: UUID
    task_type: str
    queue: str
    attempt: int
    at: datetime


@dataclass(frozen=True, slots=True)
class TaskDispatched(TaskEvent):
    """A task was stored; ``scheduled_at`` is when it is due."""

    scheduled_at: datetime


@dataclass(frozen=True, slots=True)
class TaskStarted(TaskEvent):
    """An attempt started on a worker."""


@dataclass(frozen=True, slots=True)
class TaskCompleted(TaskEvent):
    """The task succeeded; ``duration`` is the attempt's run time in seconds."""

    duration: float


@dataclass(frozen=True, slots=True)
class TaskRetrying(TaskEvent):
    """An attempt failed and another is scheduled at ``next_attempt_at``."""

    duration: float
    error: str
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class TaskFailed(TaskEvent):
    """The task failed for good (retries exhausted or not allowed)."""

    duration: float
    error: str


@dataclass(frozen=True, slots=True)
class TaskTimedOut(TaskEvent):
    """An attempt exceeded its timeout; a :class:`TaskRetrying` or :class:`TaskFailed` follows."""

    duration: float
    timeout: float


@dataclass(frozen=True, slots=True)
class TaskCancelled(TaskEvent):
    """The task was cancelled, before it started or while it ran."""


@dataclass(frozen=True, slots=True)
class TaskDeferred(TaskEvent):
    """An attempt was over its rate limit and waits, without a worker slot, until ``until``."""

    until: datetime


@dataclass(frozen=True, slots=True)
class TaskDropped(TaskEvent):
    """A waiting task was evicted from a full in-memory queue (``drop_oldest``/``drop_newest``); it is
    ``cancelled``, never silently lost."""

    reason: str


@dataclass(frozen=True, slots=True)
class TaskRecovered(TaskEvent):
    """A task whose worker stopped responding was returned to pending (or failed, if it kept doing so)."""

    error: str | None


@dataclass(frozen=True, slots=True)
class TaskServiceStopped(TaskEvent):
    """A running task was interrupted by shutdown; it runs again at the next start."""


E = TypeVar("E", bound=TaskEvent)
Callback = Callable[[Any], Awaitable[None] | None]


class Subscription:
    """One subscriber's bounded buffer and the coroutine draining it; call :meth:`close` to unsubscribe."""

    def __init__(self, bus: EventBus, callback: Callback, kinds: tuple[type[TaskEvent], ...], size: int) -> None:
        self._bus = bus
        self.callback = callback
        self.kinds = kinds
        self.buffer: asyncio.Queue[TaskEvent] = asyncio.Queue(size)
        self.dropped = 0
        self._is_async = inspect.iscoroutinefunction(callback)
        self._runner: asyncio.Task[None] | None = None

    def offer(self, event: TaskEvent) -> None:
        if self.kinds and not isinstance(event, self.kinds):
            return
        try:
            self.buffer.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            self._bus.dropped += 1
            return
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._drain(), name="evertask-events")

    async def _drain(self) -> None:
        while True:
            event = await self.buffer.get()
            try:
                result = self.callback(event)
                if self._is_async and result is not None:
                    await result
            except Exception:
                logger.exception("event subscriber %r failed on %s", self.callback, type(event).__name__)
            finally:
                self.buffer.task_done()

    async def flush(self) -> None:
        """Wait until every event buffered so far has been handled."""
        if self._runner is not None:
            await self.buffer.join()

    def close(self) -> None:
        """Stop receiving events."""
        self._bus.unsubscribe(self)
        self.halt()

    def halt(self) -> None:
        """Stop the delivering coroutine; the next event starts a new one."""
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        self.buffer = asyncio.Queue(self.buffer.maxsize)


class EventBus:
    """Publishes events to subscribers without ever blocking the publisher."""

    def __init__(self, buffer_size: int = 10_000) -> None:
        self._subscriptions: list[Subscription] = []
        self._buffer_size = buffer_size
        self.dropped = 0
        """Events dropped, across all subscribers, because a subscriber's buffer was full."""

    @property
    def active(self) -> bool:
        """Whether anyone listens (the worker skips building events when nobody does)."""
        return bool(self._subscriptions)

    def subscribe(self, callback: Callback, *kinds: type[TaskEvent], buffer_size: int | None = None) -> Subscription:
        """Call ``callback(event)`` (sync or async) for every event, or only for events of ``kinds``."""
        sub = Subscription(self, callback, kinds, buffer_size or self._buffer_size)
        self._subscriptions.append(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a subscription (no error if already gone)."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: TaskEvent) -> None:
        """Hand ``event`` to every subscriber's buffer; never waits."""
        for sub in self._subscriptions:
            sub.offer(event)

    async def flush(self) -> None:
        """Wait until every subscriber has handled what was published so far."""
        for sub in list(self._subscriptions):
            await sub.flush()

    async def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is buffered (for up to ``timeout`` seconds), then stop the delivering coroutines.

        Subscriptions stay: if the app starts again, they receive its events.
        """
        try:
            async with asyncio.timeout(timeout):
                await self.flush()
        except TimeoutError:
            logger.warning("event subscribers did not catch up within %.0f s; the rest is dropped", timeout)
        for sub in self._subscriptions:
            sub.halt()
