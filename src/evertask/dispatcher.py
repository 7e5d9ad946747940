"""The client side: validate a dispatch, store it (group commit), wake the local worker."""

from __future__ import annotations

import json
import logging
import reprlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypedDict
from uuid import UUID

from evertask.batching import GroupCommitter
from evertask.errors import (
    InvalidScheduleError,
    InvalidTaskKeyError,
    PayloadTooLargeError,
    QueueFullError,
    StorageBusyError,
    StorageError,
    StorageUnavailableError,
    TaskValidationError,
    UnknownQueueError,
)
from evertask.events import EventBus, TaskDispatched, TaskDropped
from evertask.ids import new_task_id
from evertask.limits import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    LATEST_DUE_TIME,
    MAX_KEY_LENGTH,
    MAX_PRIORITY,
    MIN_PRIORITY,
    text_problem,
)
from evertask.queues import DEFAULT_QUEUE, RECURRING_QUEUE, ResolvedQueue
from evertask.registry import Registry, storable_task_name
from evertask.serialization import dump_payload
from evertask.storage.base import NewTask, Storage
from evertask.task import Task, TaskStatus

if TYPE_CHECKING:
    from evertask.schedule import Schedule
    from evertask.worker import Worker


class BatchOptions(TypedDict, total=False):
    """The options ``dispatch_many`` takes (for facades that pass them through)."""

    delay: timedelta | None
    at: datetime | None
    queue: str | None
    priority: int


class DispatchOptions(BatchOptions, total=False):
    """The options ``dispatch`` takes (for facades that pass them through)."""

    recurring: Schedule | None
    key: str | None


logger = logging.getLogger("evertask")


class Dispatcher:
    """Turns dispatch calls into stored tasks. Nothing is stored unless every check passes."""

    def __init__(
        self,
        *,
        storage: Storage,
        registry: Registry,
        queues: dict[str, ResolvedQueue],
        events: EventBus,
        now: Callable[[], datetime],
        worker: Callable[[], Worker | None],
    ) -> None:
        self._storage = storage
        self._registry = registry
        self._queues = queues
        self._events = events
        self._now = now
        self._worker = worker
        self._committer: GroupCommitter[NewTask, UUID] = GroupCommitter(storage.add, isolate=_isolate)
        self.throw_if_unable_to_persist = True
        """Whether a storage failure at dispatch raises (else the task runs in this process's memory only)."""
        self.require_handlers = True
        """Whether a task type must have a registered handler here (a pure client may dispatch any)."""
        # Group commit pays off when a write costs I/O; a storage without I/O says so and is called directly.
        self._group_commit = getattr(storage, "group_commit", True)

    def prepare(
        self,
        task: Task,
        *,
        now: datetime,
        delay: timedelta | None = None,
        at: datetime | None = None,
        recurring: Schedule | None = None,
        key: str | None = None,
        queue: str | None = None,
        priority: int = 0,
    ) -> NewTask:
        """Validate a dispatch and build the row to store; raises a clear error and stores nothing.

        Every value is checked against what all backends store (:mod:`evertask.limits`), so a bad one fails
        here, alone, instead of failing the group commit it would have joined.
        """
        task_type, handler_queue = self._type_of(task)
        payload = dump_payload(task, task_type)
        limit = getattr(self._storage, "max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES)
        if len(payload) > limit:
            raise PayloadTooLargeError(task_type, len(payload), limit)
        scheduled_at, schedule_json = _due_time(now, delay, at, recurring)
        queue_name = queue or handler_queue or (RECURRING_QUEUE if recurring is not None else DEFAULT_QUEUE)
        if queue_name not in self._queues:
            raise UnknownQueueError(queue_name)
        if key is not None:
            key = _key(key)
        if not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise TaskValidationError(
                task_type,
                f"priority must be an int from {MIN_PRIORITY} to {MAX_PRIORITY} (32 bits, what every backend "
                f"stores), not {_shown(priority)}",
            )
        return NewTask(
            id=new_task_id(),
            type=task_type,
            payload=payload.decode(),
            queue=queue_name,
            created_at=now,
            scheduled_at=scheduled_at,
            status=TaskStatus.queued if scheduled_at <= now else TaskStatus.pending,
            priority=priority,
            key=key,
            schedule=schedule_json,
        )

    def _type_of(self, task: Task) -> tuple[str, str | None]:
        name = type(task).task_name
        if name in self._registry or self.require_handlers:
            registration = self._registry.get(name)
            return registration.name, registration.queue
        return storable_task_name(type(task)), None

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
        """Store one task durably and return its id (an existing task's id under the key rules)."""
        now = self._now()
        new = self.prepare(
            task, now=now, delay=delay, at=at, recurring=recurring, key=key, queue=queue, priority=priority
        )
        return await self.store(new, now)

    async def store(self, new: NewTask, now: datetime) -> UUID:
        """Store a prepared row (waiting for room in its queue if need be) and wake the local worker."""
        new = await self._make_room(new)
        try:
            if self._group_commit:
                task_id = await self._committer.submit(new)
            else:
                (task_id,) = await self._storage.add((new,))
        except StorageError:
            worker = self._worker()
            if self.throw_if_unable_to_persist or worker is None:
                raise
            logger.exception("task %s could not be stored; it runs in memory only", new.id)
            worker.run_unstored(new, now)
            return new.id
        self._stored([new], [task_id], now)
        return task_id

    async def dispatch_many(
        self,
        tasks: Sequence[Task],
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
        queue: str | None = None,
        priority: int = 0,
    ) -> list[UUID]:
        """Store a batch in one transaction and return the ids in order; all or nothing."""
        now = self._now()
        rows = [self.prepare(t, now=now, delay=delay, at=at, queue=queue, priority=priority) for t in tasks]
        rows = await self._admit_batch(rows)
        ids = await self._storage.add(rows)
        self._stored(rows, ids, now)
        return ids

    async def _admit_batch(self, rows: list[NewTask]) -> list[NewTask]:
        """Apply each queue's full-mode once per batch: once there is room, the batch's rows for that queue are
        admitted entire (they may overshoot the capacity), and a fallback moves them all."""
        targets: dict[str, str] = {}
        for row in rows:
            if row.queue not in targets:
                targets[row.queue] = (await self._make_room(row)).queue
        return [row if targets[row.queue] == row.queue else replace(row, queue=targets[row.queue]) for row in rows]

    async def _make_room(self, new: NewTask) -> NewTask:
        worker = self._worker()
        local = worker.queues.get(new.queue) if worker is not None else None
        if local is None or new.status is not TaskStatus.queued or not local.backlog.full:
            return new
        mode = local.queue.when_full
        if mode == "raise":
            raise QueueFullError(new.queue, local.queue.capacity)
        if mode == "fallback_to_default" and new.queue != DEFAULT_QUEUE:
            return await self._make_room(replace(new, queue=DEFAULT_QUEUE))
        if mode in ("drop_oldest", "drop_newest"):
            victim = local.backlog.oldest() if mode == "drop_oldest" else local.backlog.newest()
            if victim is not None:
                local.backlog.discard(victim)
                await self._drop(victim, new.queue, mode)
            return new
        await local.backlog.wait_for_room()
        return new

    async def _drop(self, task_id: UUID, queue: str, mode: str) -> None:
        now = self._now()
        result = await self._storage.cancel(task_id, now=now)
        if not result.cancelled:
            return  # it started or finished meanwhile: nothing was lost
        logger.warning("queue %r is full: task %s dropped (%s)", queue, task_id, mode, extra={"task_id": str(task_id)})
        if self._events.active:
            record = await self._storage.get(task_id)
            task_type = record.type if record is not None else ""
            self._events.publish(TaskDropped(task_id, task_type, queue, 0, now, reason=f"queue full ({mode})"))

    def _stored(self, rows: Sequence[NewTask], ids: Sequence[UUID], now: datetime) -> None:
        worker = self._worker()
        publish = self._events.active
        for row, task_id in zip(rows, ids, strict=True):
            if worker is not None:
                local = worker.queues.get(row.queue)
                if local is not None:
                    if row.status is TaskStatus.queued and task_id == row.id:
                        local.backlog.add(task_id)
                    local.notify(row.scheduled_at, now)
            if publish and task_id == row.id:  # a keyed dispatch that matched an existing task stored nothing new
                self._events.publish(TaskDispatched(task_id, row.type, row.queue, 0, now, row.scheduled_at))

    async def drain(self) -> None:
        """Wait until every dispatch in flight is stored."""
        await self._committer.drain()


def _due_time(
    now: datetime, delay: timedelta | None, at: datetime | None, recurring: Schedule | None
) -> tuple[datetime, str | None]:
    if delay is None and at is None and recurring is None:
        return now, None  # the common case first: it runs on every dispatch
    if (delay is not None) + (at is not None) + (recurring is not None) > 1:
        raise InvalidScheduleError(
            (delay, at, recurring),
            "give at most one of delay=, at= and recurring= (a recurring schedule has its own "
            "starting_after() and starting_at())",
        )
    if delay is not None:
        if not isinstance(delay, timedelta):
            raise InvalidScheduleError(delay, "delay must be a datetime.timedelta")
        if delay < timedelta(0):
            raise InvalidScheduleError(delay, "a delay cannot be negative")
        if delay > LATEST_DUE_TIME - now:
            raise InvalidScheduleError(delay, _TOO_LATE)
        return now + delay, None
    if at is not None:
        if not isinstance(at, datetime):
            raise InvalidScheduleError(at, "at must be a datetime.datetime")
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidScheduleError(at, "a naive datetime is ambiguous; give it a tzinfo (e.g. UTC)")
        if at > LATEST_DUE_TIME:  # compared before any conversion: near year 1 or 9999 that would overflow
            raise InvalidScheduleError(at, _TOO_LATE)
        return (now if at <= now else at.astimezone(UTC)), None
    assert recurring is not None  # neither delay nor at, and not all three None
    first = recurring.first_run(now)
    if first is None:
        raise InvalidScheduleError(recurring.describe(), "the schedule has no occurrence after now")
    return max(first, now), _schedule_json(recurring)


_TOO_LATE = f"the task would be due after {LATEST_DUE_TIME.isoformat()}, the latest time storage keeps"


def _key(key: str) -> str | None:
    """The key to store: None for a blank one (as in EverTask, an empty or all-whitespace key is no key)."""
    if isinstance(key, str) and not key.strip():
        return None
    problem = text_problem(key, MAX_KEY_LENGTH)
    if problem is not None:
        raise InvalidTaskKeyError(key, problem)
    return key


def _shown(value: object) -> str:
    return reprlib.repr(value) if isinstance(value, int) else type(value).__name__


def _isolate(exc: Exception) -> bool:
    """Whether a group commit that failed with ``exc`` is retried one dispatch at a time, so that only the
    dispatch at fault fails. Not when the database is out of reach or (SQLite) locked by another process past
    ``busy_timeout``: every retry would wait as long and fail too."""
    return not isinstance(exc, StorageUnavailableError | StorageBusyError)


def _schedule_json(schedule: Schedule) -> str:
    return json.dumps(schedule.to_json(), separators=(",", ":"), sort_keys=True)
