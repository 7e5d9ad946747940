"""A blocking client for code without an event loop: Django and Flask views, scripts, Celery-style callers.

It is a thin facade, not a second engine: a private event loop in a daemon thread runs an
``EverTask(run_worker=False)`` over the same storage, and each call hands a coroutine to it and waits. A
worker process picks the tasks up (on PostgreSQL at once, through NOTIFY; elsewhere within its poll interval).
"""

from __future__ import annotations

import asyncio
import builtins  # the clients have a method named list: the built-in is builtins.list there
import threading
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack
from uuid import UUID

from evertask.app import EverTask
from evertask.dispatcher import BatchOptions, DispatchOptions
from evertask.recurrence import RecurringTask
from evertask.storage.base import Storage, TaskQuery
from evertask.task import StatusChange, Task, TaskRecord

T = TypeVar("T")


class SyncClient:
    """Dispatch, cancel and look up tasks from synchronous code.

    ``target`` is a storage URL (``"postgresql://host/db"``, ``"sqlite:///tasks.db"``), a :class:`Storage`,
    or an :class:`EverTask` app whose handlers and queues are then used to validate dispatches (the app must not
    be started elsewhere). With a URL or a storage, any :class:`Task` subclass may be dispatched: a task type
    without a registered handler goes to the ``default`` queue (or the one named) for whichever worker has it.

    The client runs no task itself (it is a producer): worker processes do (``evertask worker module:app``).
    One client is meant to be shared by the whole process, threads included; ``close()`` it at exit (or use
    ``with SyncClient(...) as client:``). See docs/sync-client.md.
    """

    def __init__(self, target: str | Storage | EverTask, **app_options: Any) -> None:
        if isinstance(target, EverTask):
            self.app = target
        else:
            self.app = EverTask.from_url(target, **app_options) if isinstance(target, str) else EverTask(target)
            self.app.dispatcher.require_handlers = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="evertask-sync-client", daemon=True)
        self._thread.start()
        try:
            self._call(self.app.start(with_worker=False))
        except BaseException:
            self._shutdown_loop()
            raise
        self.recurring = SyncRecurring(self)
        """Recurring series, blocking: ``list``, ``get``, ``pause``, ``resume``, ``trigger`` (see
        :class:`~evertask.recurrence.RecurringTasks`)."""

    def dispatch(self, task: Task, **options: Unpack[DispatchOptions]) -> UUID:
        """Store ``task`` durably and return its id; the options of :meth:`EverTask.dispatch`."""
        return self._call(self.app.dispatch(task, **options))

    def dispatch_many(self, tasks: Sequence[Task], **options: Unpack[BatchOptions]) -> builtins.list[UUID]:
        """Store a batch in one transaction (see :meth:`EverTask.dispatch_many`)."""
        return self._call(self.app.dispatch_many(tasks, **options))

    def cancel(self, task_id: UUID) -> bool:
        """Cancel a task (see :meth:`EverTask.cancel`)."""
        return self._call(self.app.cancel(task_id))

    def get(self, task_id: UUID) -> TaskRecord | None:
        """The stored task, or None."""
        return self._call(self.app.get(task_id))

    def list(self, query: TaskQuery | None = None) -> builtins.list[TaskRecord]:
        """Stored tasks, newest first, filtered by ``query`` (statuses, queue, type, recurring, limit)."""
        return self._call(self.app.list_tasks(query))

    def history(self, task_id: UUID) -> builtins.list[StatusChange]:
        """The recorded status changes of a task, oldest first."""
        return self._call(self.app.history(task_id))

    def result(self, task_id: UUID) -> Any:
        """The value the task's handler returned, decoded (see :meth:`EverTask.result`)."""
        return self._call(self.app.result(task_id))

    def wait(self, task_id: UUID, timeout: float | None = None) -> TaskRecord:
        """Block until the task reaches a final status (polling storage) and return it."""
        return self._call(self.app.wait(task_id, timeout=timeout, poll_interval=0.2))

    def close(self) -> None:
        """Finish stores in flight, close storage and end the background loop. Idempotent."""
        if self._loop.is_closed():
            return
        try:
            self._call(self.app.stop())
        finally:
            self._shutdown_loop()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` (over :attr:`app`) on the client's loop and return its result: for what the
        blocking methods do not cover, e.g. ``client.call(client.app.storage.count_by_status())``."""
        return self._call(coroutine)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("this SyncClient is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class SyncRecurring:
    """``app.recurring`` for synchronous code (``client.recurring``): managing recurring series.

    A series is registered by dispatching with a schedule and a key, so that running the registration again
    (at every deploy, say) keeps one series: ``client.dispatch(Report(), recurring=cron("0 7 * * *"),
    key="daily-report")``.
    """

    def __init__(self, client: SyncClient) -> None:
        self._client = client

    def list(self, *, limit: int = 1000) -> builtins.list[RecurringTask]:
        """Every series that is not over, soonest next run first (paused ones last)."""
        return self._client.call(self._client.app.recurring.list(limit=limit))

    def get(self, task_id: UUID) -> RecurringTask:
        """One series; :class:`~evertask.errors.TaskNotFoundError` if there is no recurring task with this id."""
        return self._client.call(self._client.app.recurring.get(task_id))

    def pause(self, task_id: UUID) -> bool:
        """Hold the series until :meth:`resume`; False while a run is in progress."""
        return self._client.call(self._client.app.recurring.pause(task_id))

    def resume(self, task_id: UUID) -> bool:
        """Continue a paused series from its next occurrence."""
        return self._client.call(self._client.app.recurring.resume(task_id))

    def trigger(self, task_id: UUID) -> UUID:
        """Run the series' task once now, as a one-off task (returned); the series keeps its schedule."""
        return self._client.call(self._client.app.recurring.trigger(task_id))
