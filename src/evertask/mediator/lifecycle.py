"""Lifecycle events around every command and query, delivered in the background.

Each request publishes :class:`RequestInitiated`, then exactly one of :class:`RequestCompleted` or
:class:`RequestFailed` (cancellation and rejection included); queued requests also publish
:class:`RequestEnqueued` when the queue accepts them, or :class:`RequestRejected` just before the failure.

Subscribe with ``mediator.lifecycle.subscribe(callback, *kinds)``: the same bus and the same contract as the
task events of ``app.events`` (:class:`evertask.events.EventBus`). Publishing never waits: each subscriber has
its own bounded buffer drained by its own task, so a slow subscriber delays only itself, and when its buffer
is full new events for it are dropped and counted. On top of the bus, a callback that raises is retried a
bounded number of times before the event is given up (and logged). With no subscriber no event is built.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from evertask.errors import ConfigurationError
from evertask.events import EventBus, Subscription
from evertask.mediator.messages import Request


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """Base of the lifecycle events: ``request_id`` (unique per mediator) ties one request's events together."""

    request_id: int
    request: Request[object]

    @property
    def request_type(self) -> str:
        """The request's stable ``message_name``."""
        return self.request.message_name


@dataclass(frozen=True, slots=True)
class RequestInitiated(LifecycleEvent):
    """The request was sent; its handler may not have started yet."""


@dataclass(frozen=True, slots=True)
class RequestEnqueued(LifecycleEvent):
    """Queued mode: the queue accepted the request (after waiting for room, in ``wait`` mode)."""


@dataclass(frozen=True, slots=True)
class RequestRejected(LifecycleEvent):
    """Queued mode: the queue refused or evicted the request (``reason`` as in ``Rejected``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class RequestCompleted(LifecycleEvent):
    """The caller received ``result``, ``duration`` seconds after it sent the request."""

    duration: float
    result: object


@dataclass(frozen=True, slots=True)
class RequestFailed(LifecycleEvent):
    """The caller received ``error`` (a cancellation or ``Rejected`` included), ``duration`` s after sending."""

    duration: float
    error: BaseException


Subscriber = Callable[[LifecycleEvent], Awaitable[None] | None]


class RequestTrace:
    """The events of one request in flight: created by :meth:`Lifecycle.begin`, told each step."""

    __slots__ = ("_lifecycle", "_request", "_request_id", "_started")

    def __init__(self, lifecycle: Lifecycle, request_id: int, request: Request[object]) -> None:
        self._lifecycle = lifecycle
        self._request_id = request_id
        self._request = request
        self._started = time.perf_counter()
        lifecycle.publish(RequestInitiated(request_id, request))

    def enqueued(self) -> None:
        """The queue accepted the request."""
        self._lifecycle.publish(RequestEnqueued(self._request_id, self._request))

    def rejected(self, reason: str) -> None:
        """The queue refused or evicted the request; :meth:`failed` follows."""
        self._lifecycle.publish(RequestRejected(self._request_id, self._request, reason))

    def completed(self, result: object) -> None:
        """The caller got ``result``."""
        duration = time.perf_counter() - self._started
        self._lifecycle.publish(RequestCompleted(self._request_id, self._request, duration, result))

    def failed(self, error: BaseException) -> None:
        """The caller got ``error`` (an exception, a cancellation or ``Rejected``)."""
        duration = time.perf_counter() - self._started
        self._lifecycle.publish(RequestFailed(self._request_id, self._request, duration, error))


class Lifecycle:
    """Publishes lifecycle events to subscribers without ever making the request wait for them.

    ``buffer`` events may wait per subscriber; a failing delivery is tried ``attempts`` times in all,
    ``retry_delay`` seconds apart.
    """

    def __init__(self, *, buffer: int = 10_000, attempts: int = 3, retry_delay: float = 0.1) -> None:
        if buffer < 1 or attempts < 1 or retry_delay < 0:
            raise ConfigurationError("lifecycle buffer and attempts must be >= 1 and retry_delay >= 0")
        self._bus = EventBus(buffer)
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._ids = itertools.count(1)
        self._subscriptions: list[Subscription] = []

    @property
    def active(self) -> bool:
        """Whether anyone subscribes; the mediator builds no event when nobody does."""
        return self._bus.active

    @property
    def dropped(self) -> int:
        """Events dropped because a subscriber's buffer was full."""
        return self._bus.dropped

    def subscribe(self, callback: Subscriber, *kinds: type[LifecycleEvent]) -> Subscription:
        """Call ``callback(event)`` (sync or async) for every later event, or only for events of ``kinds``.

        Returns the subscription; ``subscription.close()`` ends it.
        """
        # The bus is annotated for task events but carries any event object unchanged.
        subscription = self._bus.subscribe(self._retrying(callback), *cast(Any, kinds))
        self._subscriptions.append(subscription)
        return subscription

    def begin(self, request: Request[object]) -> RequestTrace:
        """Publish :class:`RequestInitiated` for ``request`` and return the trace for its next events."""
        return RequestTrace(self, next(self._ids), request)

    def publish(self, event: LifecycleEvent) -> None:
        """Hand ``event`` to every subscriber's buffer; returns at once."""
        self._bus.publish(cast(Any, event))

    async def flush(self) -> None:
        """Wait until every subscriber has handled what was published so far."""
        await self._bus.flush()

    async def aclose(self, timeout: float) -> None:
        """Deliver what is buffered for up to ``timeout`` seconds, then stop delivering (as ``app.events``
        does when the app stops); subscriptions stay for a mediator that is used again."""
        await self._bus.stop(timeout)

    def _retrying(self, callback: Subscriber) -> Callable[[LifecycleEvent], Awaitable[None]]:
        attempts, delay = self._attempts, self._retry_delay

        @functools.wraps(callback)  # the bus names the callback when it logs the final failure
        async def deliver(event: LifecycleEvent) -> None:
            for attempt in range(1, attempts + 1):
                try:
                    outcome = callback(event)
                    if inspect.isawaitable(outcome):
                        await outcome
                    return
                except Exception:
                    if attempt == attempts:
                        raise
                await asyncio.sleep(delay)

        return deliver
