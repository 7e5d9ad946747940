"""The mediator: sends commands and queries to their one handler, publishes notifications to all of theirs."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from uuid import UUID

from evertask.di import Container, Lifetime
from evertask.errors import ConfigurationError
from evertask.mediator.behaviors import LoggingBehavior, RetryBehavior, TimeoutBehavior, ValidationBehavior
from evertask.mediator.handlers import HandlerInvoker
from evertask.mediator.idempotency import IdempotencyBehavior, IdempotencyStore
from evertask.mediator.lifecycle import Lifecycle, RequestTrace
from evertask.mediator.messages import Command, Message, Notification, Query, Request
from evertask.mediator.pipeline import Behavior, Next, build_pipeline
from evertask.mediator.queued import WhenFull, WorkQueue
from evertask.mediator.registry import Registry

if TYPE_CHECKING:
    from evertask.mediator.deferred import TaskDispatcher

R = TypeVar("R")
RunMode = Literal["inline", "queued"]


@dataclass(frozen=True, slots=True)
class _Route:
    """Everything one request type needs per send, computed once (until the next registration)."""

    kind: type[Request[object]]
    entry: Next


class Mediator:
    """Sends commands and queries through their pipeline to their one handler; publishes notifications.

    ``run_mode="inline"`` (default) runs each request on the caller's task. ``"queued"`` hands it to a bounded
    queue (``capacity`` waiting requests, ``when_full`` policy, at most ``consumers`` running, default the CPU
    count); the caller still awaits the result. ``shutdown_timeout`` is the drain budget of :meth:`aclose`.
    ``container`` shares dependency providers (an EverTask app passes its own). ``idempotency_store``
    replaces the in-memory one; ``lifecycle`` sets the event buffer and retries (:class:`Lifecycle`);
    ``default_behaviors=False`` leaves out the built-in behaviours.
    """

    def __init__(
        self,
        *,
        run_mode: RunMode = "inline",
        capacity: int = 1000,
        when_full: WhenFull = "wait",
        consumers: int | None = None,
        shutdown_timeout: float = 30.0,
        container: Container | None = None,
        idempotency_store: IdempotencyStore | None = None,
        lifecycle: Lifecycle | None = None,
        default_behaviors: bool = True,
    ) -> None:
        self.container = container if container is not None else Container()
        self.registry = Registry()
        self.lifecycle = lifecycle if lifecycle is not None else Lifecycle()
        self.shutdown_timeout = shutdown_timeout
        self._behaviors: list[Behavior] = []
        self._routes: dict[type[Message], _Route] = {}
        self._subscribers: dict[type[Message], tuple[HandlerInvoker, ...]] = {}
        self._queue: WorkQueue | None = None
        if run_mode == "queued":
            workers = (os.cpu_count() or 1) if consumers is None else consumers
            self._queue = WorkQueue(capacity=capacity, when_full=when_full, consumers=workers)
        elif run_mode != "inline":
            raise ConfigurationError(f"run_mode must be 'inline' or 'queued', got {run_mode!r}")
        if default_behaviors:
            self.use(
                LoggingBehavior(),
                ValidationBehavior(self.registry, self.container),
                RetryBehavior(),
                IdempotencyBehavior(idempotency_store),
                TimeoutBehavior(),
            )
        if not self.container.has(Mediator):
            # Handlers can then ask for the mediator in their constructor, to send further requests.
            self.container.provide_value(Mediator, self)

    @property
    def queue(self) -> WorkQueue | None:
        """The request queue in queued mode (for its ``depth`` and ``running`` counts); None inline."""
        return self._queue

    def register(self, *handler_classes: type) -> None:
        """Register handler and validator classes (a missing or second handler is a clear error)."""
        for cls in handler_classes:
            self.container.parameters(cls)  # reads constructor hints now: a broken one fails here, not at send
            self.registry.register(cls)
        self._forget_routes()

    def use(self, *behaviors: Behavior) -> None:
        """Add pipeline behaviours; where each runs depends on its ``priority``, not on when it was added."""
        self._behaviors.extend(behaviors)
        self._forget_routes()

    def provide(self, dependency: Any, provider: Any, *, lifetime: Lifetime = "scoped") -> None:
        """Register a dependency provider in the shared container (see :meth:`evertask.di.Container.provide`)."""
        self.container.provide(dependency, provider, lifetime=lifetime)

    async def send(self, command: Command[R]) -> R:
        """Run ``command`` through its pipeline and handler; return the handler's result or raise its error.

        In queued mode the caller may also get :class:`~evertask.errors.Rejected` or a cancellation.
        """
        return cast(R, await self._dispatch(self._route(command, Command), command))

    async def query(self, query: Query[R]) -> R:
        """Answer ``query`` through its pipeline and handler (same run mode and behaviours as :meth:`send`)."""
        return cast(R, await self._dispatch(self._route(query, Query), query))

    async def publish(self, notification: Notification) -> None:
        """Deliver ``notification`` to every handler of its type and of its base types, concurrently.

        Always runs on the caller's task (notifications are not queued). One failing handler does not stop
        the others; when any fail, an ``ExceptionGroup`` holding every failure is raised after all finish.
        """
        invokers = self._subscribers.get(type(notification))
        if invokers is None:
            invokers = self._subscribers[type(notification)] = tuple(
                HandlerInvoker(spec, self.container) for spec in self.registry.subscribers(type(notification))
            )
        if len(invokers) == 1:  # the common case, without the task that gather() would wrap it in
            outcomes: list[object] = [await _outcome(invokers[0](notification))]
        else:
            outcomes = await asyncio.gather(*(i(notification) for i in invokers), return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            failed = f"{len(errors)} of {len(invokers)} handlers of {notification.message_name!r} failed"
            raise BaseExceptionGroup(failed, errors)

    async def defer(
        self,
        message: Command[object] | Notification,
        app: TaskDispatcher,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> UUID:
        """Store ``message`` as a durable task of ``app``: sent (or published) later, even after a restart.

        The command needs a registered handler now, so a mistake shows here, not in the worker.
        """
        # Imported here because deferred.py imports this module (its handler is injected a Mediator).
        from evertask.mediator.deferred import defer

        return await defer(self, message, app, delay=delay, at=at)

    async def aclose(self, timeout: float | None = None) -> None:
        """Shut down: in queued mode refuse new requests, drain within the budget (``timeout``, default
        ``shutdown_timeout``), then answer every remaining caller; finally flush lifecycle events."""
        budget = self.shutdown_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        if self._queue is not None:
            await self._queue.aclose(budget)
        await self.lifecycle.aclose(max(0.0, deadline - loop.time()))

    async def __aenter__(self) -> Mediator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _dispatch(self, route: _Route, request: Request[object]) -> Awaitable[object]:
        if self.lifecycle.active:
            return self._traced(route, request)
        return self._run(route, request, None)

    def _run(self, route: _Route, request: Request[object], trace: RequestTrace | None) -> Awaitable[object]:
        # Returns the pipeline's awaitable rather than awaiting it: no extra coroutine frame per send.
        if self._queue is None:
            return route.entry(request)
        return self._queue.submit(route.entry, request, trace)

    async def _traced(self, route: _Route, request: Request[object]) -> object:
        trace = self.lifecycle.begin(request)
        try:
            result = await self._run(route, request, trace)
        except BaseException as error:
            trace.failed(error)
            raise
        trace.completed(result)
        return result

    def _route(self, request: Request[object], kind: type[Request[object]]) -> _Route:
        """The cached route of ``request``'s type, checked to be a ``kind`` (Command for send, Query for query)."""
        request_type = type(request)
        route = self._routes.get(request_type)
        if route is None:
            if not isinstance(request, (Command, Query)):
                raise TypeError(f"send() takes a Command and query() a Query, not {request_type.__qualname__}")
            invoker = HandlerInvoker(self.registry.handler_for(request_type), self.container)
            actual = Command if isinstance(request, Command) else Query
            route = _Route(actual, build_pipeline(self._behaviors, request_type, invoker))
            self._routes[request_type] = route
        if route.kind is not kind:
            wanted = "send" if route.kind is Command else "query"
            raise TypeError(f"{request_type.__qualname__} is a {route.kind.__name__}: use mediator.{wanted}()")
        return route

    def _forget_routes(self) -> None:
        self._routes.clear()
        self._subscribers.clear()


async def _outcome(awaitable: Awaitable[object]) -> object:
    """The result of ``awaitable``, or the exception it raised (like ``gather(return_exceptions=True)``)."""
    try:
        return await awaitable
    except Exception as error:
        return error
