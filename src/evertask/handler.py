"""Handlers: the code that runs a task, its lifecycle hooks, and its per-handler settings.

A handler instance is built for each execution (an attempt), with its constructor's typed parameters injected,
so state set in ``handle`` is there for ``on_completed`` / ``on_error`` of the same attempt.
"""

from __future__ import annotations

import typing
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from evertask.context import TaskContext
from evertask.errors import ConfigurationError
from evertask.ratelimit import RateLimit
from evertask.retry import RetryPolicy
from evertask.task import Task

T = TypeVar("T", bound=Task)


class _HandlerSettings:
    """Per-handler settings; None means "inherit from the queue, then from the app"."""

    timeout: ClassVar[timedelta | None] = None
    """Longest time one attempt may run before it is cancelled and counted as failed."""
    retry: ClassVar[RetryPolicy | None] = None
    """How failed attempts are retried."""
    queue: ClassVar[str | None] = None
    """The queue this handler's tasks go to unless a dispatch names another."""
    rate_limit: ClassVar[RateLimit | None] = None
    """A keyed token-bucket limit on this handler's attempts (see :class:`~evertask.ratelimit.RateLimit`)."""

    async def on_started(self, task_id: UUID) -> None:
        """Called once before the first attempt's ``handle``. Errors here are logged and ignored."""

    async def on_completed(self, task_id: UUID) -> None:
        """Called after ``handle`` succeeds: the place for continuations. Errors are logged and ignored."""

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        """Called once after the final failure (also timeout or cancellation), not per retried attempt.

        The place for compensation. Errors here are logged and ignored.
        """


class Handler(_HandlerSettings, Generic[T]):
    """Base class of async handlers: subclass ``Handler[MyTask]`` and implement ``handle``.

    A subclass may define ``def handle`` (not async) instead; it then runs in a thread pool. For type
    checkers prefer :class:`SyncHandler` in that case.
    """

    async def handle(self, task: T, ctx: TaskContext) -> object:
        """Run the task. Raise to fail the attempt (the retry policy decides what comes next). A value returned
        (JSON-serialisable, see ``max_result_size``) is stored as the task's result; None stores nothing."""
        raise NotImplementedError


class SyncHandler(_HandlerSettings, Generic[T]):
    """Base class of blocking handlers: ``handle`` runs in a worker thread; poll ``ctx.cancelled``."""

    def handle(self, task: T, ctx: TaskContext) -> object:
        """Run the task in a thread. Raise to fail the attempt. A value returned is stored as its result."""
        raise NotImplementedError


AnyHandler = Handler[Any] | SyncHandler[Any]


def task_type_of(handler_cls: type[Any]) -> type[Task]:
    """The task class a handler class handles, read from its ``Handler[...]`` base (or from a generic base of
    its own, such as ``class Step(Handler[T])`` subclassed as ``Step[MyTask]``)."""
    for klass in handler_cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, (Handler, SyncHandler)):
                for arg in typing.get_args(base):
                    if isinstance(arg, type) and issubclass(arg, Task):
                        return arg
    raise ConfigurationError(
        f"{handler_cls.__qualname__} must subclass Handler[SomeTask] or SyncHandler[SomeTask] "
        "with a concrete Task subclass"
    )
