"""``EverTask``: configuration and wiring in one object, the one users hold."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, overload
from uuid import UUID

from evertask.di import Container, Lifetime
from evertask.dispatcher import Dispatcher
from evertask.errors import ConfigurationError, NotStartedError, TaskNotFoundError, UnknownQueueError
from evertask.events import EventBus, TaskCancelled
from evertask.functions import TaskFunction, make_task_function
from evertask.mediator import DeferredMessageHandler, Mediator, is_mediator_component
from evertask.queues import DROPPING_MODES, Queue, default_capacity, default_parallelism, resolve_queues
from evertask.recurrence import RecurringTasks, next_occurrence
from evertask.registry import Registration, Registry
from evertask.results import DEFAULT_MAX_RESULT_SIZE, check_limit, load_result
from evertask.retry import DEFAULT_RETRY, RetryPolicy
from evertask.storage.base import Storage, TaskQuery
from evertask.storage.memory import MemoryStorage
from evertask.storage.urls import storage_from_url
from evertask.task import StatusChange, Task, TaskRecord, TaskStatus
from evertask.waiting import Waiters
from evertask.worker import Worker, WorkerSettings

if TYPE_CHECKING:
    from evertask.schedule import Schedule

logger = logging.getLogger("evertask")
P = ParamSpec("P")
R = TypeVar("R")


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


class Wakeups(Protocol):
    """A listener for tasks stored by other processes (``Storage.wakeups``, where the storage has one)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class TaskDecorator(Protocol):
    """What ``app.task(...)`` returns: a decorator turning a function into a :class:`TaskFunction`."""

    def __call__(self, fn: Callable[P, R], /) -> TaskFunction[P, R]: ...


class EverTask:
    """A task application: handlers, dependency providers, storage, queues and the in-process worker.

    ``async with app:`` opens storage and starts the worker; leaving it stops claiming, lets running tasks
    finish for ``worker.shutdown_grace`` seconds, then interrupts the rest as ``service_stopped`` (they run
    again at the next start).

    A process that only dispatches (a web app beside worker processes) is a *producer*: say so with
    ``run_worker=False`` (then ``async with app`` and :meth:`lifespan` never run a task here, while the
    ``evertask worker`` command still runs this app's worker) or at the call site with ``async with
    app.producer():``.

    ``max_result_size`` bounds the JSON of a handler's return value, in bytes (see :meth:`result`).
    """

    def __init__(
        self,
        storage: Storage | None = None,
        *,
        max_parallelism: int | None = None,
        channel_capacity: int | None = None,
        default_timeout: timedelta | None = None,
        default_retry: RetryPolicy = DEFAULT_RETRY,
        queues: dict[str, Queue] | None = None,
        serve_queues: Sequence[str] | None = None,
        run_worker: bool = True,
        worker: WorkerSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
        throw_if_unable_to_persist: bool = True,
        max_result_size: int = DEFAULT_MAX_RESULT_SIZE,
    ) -> None:
        if max_parallelism is not None and max_parallelism < 1:
            raise ConfigurationError(f"max_parallelism must be >= 1, got {max_parallelism}")
        if channel_capacity is not None and channel_capacity < 1:
            raise ConfigurationError(f"channel_capacity must be >= 1, got {channel_capacity}")
        if storage is None:
            logger.warning("no storage given: tasks are kept in memory and lost when the process ends")
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.registry = Registry()
        self.container = Container()
        self.events = EventBus()
        self.queues = resolve_queues(
            queues,
            max_parallelism=max_parallelism or default_parallelism(),
            capacity=channel_capacity or default_capacity(),
            default_timeout=default_timeout,
            default_retry=default_retry,
        )
        for resolved in self.queues.values():
            if resolved.when_full in DROPPING_MODES and not isinstance(self.storage, MemoryStorage):
                raise ConfigurationError(
                    f"queue {resolved.name!r}: when_full={resolved.when_full!r} drops tasks, which only "
                    "MemoryStorage allows; durable storage keeps every task (use wait, raise or fallback_to_default)"
                )
        self.worker_settings = worker or WorkerSettings()
        self.max_result_size = check_limit(max_result_size)
        self._serve = list(self.queues)
        if serve_queues is not None:
            self.serve_only(serve_queues)
        self._run_worker = run_worker
        self._now = clock
        self._worker: Worker | None = None
        self._wakeups: Wakeups | None = None
        self._started = False
        self._stopping = False
        self._waiters = Waiters(self.storage.get)
        self.dispatcher = Dispatcher(
            storage=self.storage,
            registry=self.registry,
            queues=self.queues,
            events=self.events,
            now=clock,
            worker=lambda: self._worker,
        )
        self.recurring = RecurringTasks(
            storage=self.storage, store=self.dispatcher.store, now=clock, wake=self._wake_worker
        )
        """Managing recurring series: list with next runs, pause, resume, run one now."""
        self.dispatcher.throw_if_unable_to_persist = throw_if_unable_to_persist
        self.container.provide_value(EverTask, self)
        self.mediator = Mediator(container=self.container)
        """Commands, queries and notifications sharing this app's providers; ``mediator.defer`` stores a
        message as a task of this app (see docs/mediator.md)."""
        self.registry.register(DeferredMessageHandler)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> EverTask:
        """An app on the storage a URL names: ``memory://``, ``sqlite:///tasks.db``,
        ``postgresql://host/db`` or ``mysql://user@host/db`` (the SQL ones need their extra installed).
        Other keyword arguments are those of the constructor. A malformed URL raises
        :class:`~evertask.errors.InvalidStorageUrlError`; a backend whose extra is not installed,
        :class:`~evertask.errors.MissingExtraError`."""
        return cls(storage_from_url(url), **kwargs)

    # -- configuration -------------------------------------------------------------------------------------

    def register(self, handler_cls: type[Any]) -> None:
        """Register a task handler (``Handler[SomeTask]``, ``SyncHandler[SomeTask]``), or a mediator handler
        or validator (``CommandHandler``, ``QueryHandler``, ``NotificationHandler``, ``Validator``)."""
        self.container.parameters(handler_cls)  # unresolvable constructor hints fail here, not at first run
        if is_mediator_component(handler_cls):
            self.mediator.register(handler_cls)
        else:
            self.registry.register(handler_cls)

    def register_module(self, module: ModuleType) -> list[Registration]:
        """Register every handler class defined in ``module``."""
        registrations = self.registry.register_module(module)
        for registration in registrations:
            self.container.parameters(registration.handler_cls)
        return registrations

    def provide(self, dependency: Any, provider: Any, *, lifetime: Lifetime = "scoped") -> None:
        """Tell the app how to build ``dependency`` for handlers that ask for it (see :class:`Container`).

        A callable ``provider`` is called to build it (a class, function, coroutine function or generator);
        anything else is shared as is. Use :meth:`provide_value` to share a callable object itself.
        """
        self.container.provide(dependency, provider, lifetime=lifetime)

    def provide_value(self, dependency: Any, value: Any) -> None:
        """Inject ``value`` itself (even a callable one) wherever ``dependency`` is asked for."""
        self.container.provide_value(dependency, value)

    @overload
    def task(self, fn: Callable[P, R], /) -> TaskFunction[P, R]: ...

    @overload
    def task(
        self,
        *,
        name: str | None = None,
        queue: str | None = None,
        timeout: timedelta | None = None,
        retry: RetryPolicy | None = None,
    ) -> TaskDecorator: ...

    def task(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        queue: str | None = None,
        timeout: timedelta | None = None,
        retry: RetryPolicy | None = None,
    ) -> Any:
        """Decorator (``@app.task`` or ``@app.task(queue=...)``): make a function a task type;
        ``await f.dispatch(...)`` stores a call to it."""

        def decorate(fn: Callable[..., Any]) -> TaskFunction[..., Any]:
            return make_task_function(self, fn, name=name, queue=queue, timeout=timeout, retry=retry)

        return decorate if fn is None else decorate(fn)

    def serve_only(self, queues: Sequence[str]) -> None:
        """Make this process's worker serve only ``queues`` (others are left to other processes)."""
        unknown = [name for name in queues if name not in self.queues]
        if unknown:
            raise UnknownQueueError(unknown[0])
        self._serve = list(queues)

    # -- lifecycle -----------------------------------------------------------------------------------------

    @property
    def run_worker(self) -> bool:
        """Whether :meth:`start` (and so ``async with app`` and :meth:`lifespan`) runs the worker in this process;
        False for a producer (``EverTask(..., run_worker=False)``)."""
        return self._run_worker

    async def start(self, *, with_worker: bool | None = None) -> None:
        """Open storage and start the worker (unless ``with_worker``, else ``run_worker``, is False).

        Logs which of the two this process is: a worker (naming the queues it serves) or a producer."""
        if self._started:
            return
        await self.storage.open()
        if self._run_worker if with_worker is None else with_worker:
            self._worker = Worker(
                storage=self.storage,
                registry=self.registry,
                container=self.container,
                queues=self.queues,
                serve=self._serve,
                events=self.events,
                now=self._now,
                settings=self.worker_settings,
                next_occurrence=next_occurrence,
                on_finished=self._waiters.finished,
                max_result_size=self.max_result_size,
            )
            await self._worker.start()
            make_wakeups = getattr(self.storage, "wakeups", None)  # optional: see Storage's docs
            self._wakeups = make_wakeups(self._woken) if make_wakeups is not None else None
            if self._wakeups is not None:
                self._wakeups.start()
            logger.info("evertask: running tasks in this process (queues: %s)", ", ".join(self._serve))
        else:
            logger.info("evertask: producer only: tasks dispatched here run in worker processes (evertask worker)")
        self._started = True

    async def stop(self, grace: float | None = None) -> None:
        """Graceful stop: the worker stops claiming and finishes or interrupts its tasks (dispatching, say
        from a continuation, still works meanwhile), then the mediator drains, stores in flight complete,
        events are delivered, and storage is closed."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        try:
            if self._wakeups is not None:
                await self._wakeups.stop()
                self._wakeups = None
            if self._worker is not None:
                await self._worker.stop(grace)
                self._worker = None
            await self.mediator.aclose()
            self._started = False
            await self.dispatcher.drain()
            await self.events.stop()
            await self.container.aclose()
            await self.storage.close()
        finally:
            self._started = self._stopping = False

    @property
    def started(self) -> bool:
        """Whether the app is started (storage open; the worker running unless started without it)."""
        return self._started

    @property
    def runs_worker(self) -> bool:
        """Whether the worker runs in this process now (started, and not without its worker)."""
        return self._worker is not None

    @asynccontextmanager
    async def producer(self) -> AsyncIterator[EverTask]:
        """``async with app.producer():`` opens the app to dispatch, query and cancel, and runs no task in this
        process whatever ``run_worker`` says: the tasks wait in storage for a worker process (``evertask worker
        module:app``). Leaving it stores the dispatches in flight and closes storage. Raises
        :class:`~evertask.errors.ConfigurationError` if the app is already started."""
        if self._started:
            raise ConfigurationError("this app is already started: app.producer() opens an app that is not")
        await self.start(with_worker=False)
        try:
            yield self
        finally:
            await self.stop()

    @asynccontextmanager
    async def lifespan(self, web_app: object = None) -> AsyncIterator[dict[str, EverTask]]:
        """The lifespan of an ASGI web app: ``FastAPI(lifespan=app.lifespan)``, ``Starlette(lifespan=...)``.

        The web app's start-up starts this app: storage opened, and the worker started unless ``run_worker``
        is False (a producer, beside worker processes). Its shutdown stops it as leaving ``async with app``
        does: dispatches in flight stored, running tasks given ``worker.shutdown_grace`` to finish. ``web_app``
        (the framework passes it) is not used. Yields the lifespan state ``{"evertask": app}``, so a request
        handler finds the app as ``request.state.evertask`` (FastAPI: the ``EverTaskApp`` dependency of
        :mod:`evertask.contrib.fastapi`). Within a lifespan of your own: ``async with app.lifespan() as state:
        yield state``.
        """
        async with self:
            yield {"evertask": self}

    async def __aenter__(self) -> EverTask:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- dispatching and querying --------------------------------------------------------------------------

    async def dispatch(
        self,
        task: Task,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
        recurring: Schedule | None = None,
        key: str | None = None,
        queue: str | None = None,
        priority: int = 0,
    ) -> UUID:
        """Store ``task`` durably and return its id; it runs now, after ``delay``, at ``at``, or on a schedule.

        ``key`` makes the dispatch idempotent (see the task-keys guide); ``queue`` overrides the handler's
        queue; higher ``priority`` runs first among due tasks of a queue.
        """
        self._require_started()
        return await self.dispatcher.dispatch(
            task, delay=delay, at=at, recurring=recurring, key=key, queue=queue, priority=priority
        )

    async def dispatch_many(
        self,
        tasks: Sequence[Task],
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
        queue: str | None = None,
        priority: int = 0,
    ) -> list[UUID]:
        """Store a batch of tasks in one transaction; returns their ids in order."""
        self._require_started()
        return await self.dispatcher.dispatch_many(tasks, delay=delay, at=at, queue=queue, priority=priority)

    async def cancel(self, task_id: UUID) -> bool:
        """Cancel a task. A waiting one never runs; a running one has its handler cancelled.

        Returns False if the task had already finished. Raises :class:`TaskNotFoundError` for an unknown id.
        """
        self._require_started()
        now = self._now()
        result = await self.storage.cancel(task_id, now=now)
        if result.previous is None:
            raise TaskNotFoundError(task_id)
        if result.cancel_requested:
            if self._worker is not None:
                self._worker.request_stop(task_id, "cancel")
            return True
        if result.cancelled:
            if self._worker is not None:
                self._worker.forget(task_id)
            record = await self.storage.get(task_id)
            if record is not None and self.events.active:
                self.events.publish(TaskCancelled(task_id, record.type, record.queue, record.attempts, now))
            self._waiters.finished(task_id, TaskStatus.cancelled)
        return result.cancelled

    async def get(self, task_id: UUID) -> TaskRecord | None:
        """The stored task, or None."""
        return await self.storage.get(task_id)

    async def result(self, task_id: UUID) -> Any:
        """The value the task's handler returned, as decoded JSON (a model comes back as a dict), or None: it
        returned None, or has not completed (yet). A recurring series keeps the value of its last completed run.

        It does not wait: ``await app.wait(task_id)`` first. Raises :class:`TaskNotFoundError` for an unknown id.
        """
        text = await self.storage.result(task_id)
        if text is None and await self.storage.get(task_id) is None:
            raise TaskNotFoundError(task_id)
        return load_result(text)

    async def history(self, task_id: UUID) -> list[StatusChange]:
        """The recorded status changes of a task, oldest first."""
        return await self.storage.history(task_id)

    async def list_tasks(self, query: TaskQuery | None = None) -> list[TaskRecord]:
        """Stored tasks, newest first (see :class:`TaskQuery` for filters)."""
        return await self.storage.list_tasks(query or TaskQuery())

    async def wait(self, task_id: UUID, timeout: float | None = None, poll_interval: float = 0.5) -> TaskRecord:
        """Wait until the task reaches a final status and return it.

        Tasks run by this process wake the waiter at once; for tasks run elsewhere, storage is polled every
        ``poll_interval`` seconds. Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        return await self._waiters.wait(task_id, timeout, poll_interval)

    def _woken(self, queue: str) -> None:
        """Another process stored tasks in ``queue``: let the local fetch loop look now."""
        now = self._now()
        self._wake_worker(queue, now, now)

    def _wake_worker(self, queue: str, due: datetime, now: datetime) -> None:
        if self._worker is not None:
            self._worker.notify_due(queue, due, now)

    def _require_started(self) -> None:
        if not self._started:
            raise NotStartedError("start the app first: `async with app:` or `await app.start()`")
