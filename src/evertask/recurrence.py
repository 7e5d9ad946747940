"""Recurring tasks: the next run of a series, the policy for missed runs, and managing series.

Missed runs: if the app was down while occurrences fell due, the overdue row runs once when a worker starts,
and the series then continues from the first occurrence after now; the missed ones are not replayed one by
one (a daily report that was down for a week runs once, not seven times).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from uuid import UUID

from evertask.errors import TaskNotFoundError
from evertask.ids import new_task_id
from evertask.schedule import Schedule, schedule_from_json
from evertask.storage.base import NewTask, Storage, TaskQuery
from evertask.task import FINAL_STATUSES, TaskRecord, TaskStatus


@lru_cache(maxsize=1024)
def load_schedule(text: str) -> Schedule:
    """The schedule stored as JSON text (parsed once per distinct text: it is read at every run)."""
    return schedule_from_json(json.loads(text))


def next_occurrence(record: TaskRecord, now: datetime) -> datetime | None:
    """When the series of ``record`` runs next after the run that just ended, or None if it is over."""
    if record.schedule is None:
        return None
    return load_schedule(record.schedule).skip_missed(record.scheduled_at, now, record.run_count + 1)


@dataclass(frozen=True, slots=True)
class RecurringTask:
    """A recurring series as listed for people: its row, its schedule in words, when it runs next."""

    record: TaskRecord
    schedule: Schedule
    description: str
    next_run: datetime | None
    paused: bool


class RecurringTasks:
    """Managing recurring series (``app.recurring``): list, pause, resume, run one now, cancel.

    A series is one stored row: pausing keeps it (status ``paused``) until resumed; resuming continues from the
    first occurrence after now (occurrences missed while paused are skipped, not replayed).

    ``store`` stores a one-off run (the app passes its dispatcher's, which waits for room and wakes the local
    worker; the operations service, with storage alone, stores it directly).
    """

    def __init__(
        self,
        *,
        storage: Storage,
        store: Callable[[NewTask, datetime], Awaitable[UUID]],
        now: Callable[[], datetime],
        wake: Callable[[str, datetime, datetime], None],
    ) -> None:
        self._storage = storage
        self._store = store
        self._now = now
        self._wake = wake

    async def list(self, *, limit: int = 1000) -> list[RecurringTask]:
        """Every recurring series that is not over, soonest next run first (paused ones last)."""
        records = await self._storage.list_tasks(
            TaskQuery(recurring=True, statuses=frozenset(set(TaskStatus) - FINAL_STATUSES), limit=limit)
        )
        listed = [self._describe(record) for record in records]
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(listed, key=lambda r: (r.paused, r.next_run or far))

    async def get(self, task_id: UUID) -> RecurringTask:
        """One series; :class:`TaskNotFoundError` if there is no recurring task with this id."""
        return self._describe(await self._record(task_id))

    async def pause(self, task_id: UUID, *, actor: str | None = None) -> bool:
        """Hold the series: no occurrence runs until :meth:`resume`. False while a run is in progress.
        ``actor`` (who asked) is recorded in the series' history."""
        record = await self._record(task_id)
        return await self._storage.reschedule(
            task_id, now=self._now(), scheduled_at=record.scheduled_at, status=TaskStatus.paused, actor=actor
        )

    async def resume(self, task_id: UUID, *, actor: str | None = None) -> bool:
        """Continue a paused series from its next occurrence (the first after now if some were missed).

        A series whose schedule ran out while it was paused is ended (``cancelled``)."""
        record = await self._record(task_id)
        if record.status is not TaskStatus.paused:
            return False
        now = self._now()
        following: datetime | None = record.scheduled_at
        if record.scheduled_at <= now:
            schedule = load_schedule(_schedule_text(record))
            following = schedule.skip_missed(record.scheduled_at, now, record.run_count)
        if following is None:  # the schedule ran out while paused: the series is over
            return (await self._storage.cancel(task_id, now=now, actor=actor)).cancelled
        resumed = await self._storage.reschedule(task_id, now=now, scheduled_at=following, actor=actor)
        self._wake(record.queue, following, now)
        return resumed

    async def trigger(self, task_id: UUID) -> UUID:
        """Run the series' task once now, as a separate one-off task; the series keeps its schedule."""
        record = await self._record(task_id)
        now = self._now()
        one_off = NewTask(
            id=new_task_id(),
            type=record.type,
            payload=record.payload,
            queue=record.queue,
            created_at=now,
            scheduled_at=now,
            priority=record.priority,
        )
        return await self._store(one_off, now)

    async def _record(self, task_id: UUID) -> TaskRecord:
        record = await self._storage.get(task_id)
        if record is None or record.schedule is None:
            raise TaskNotFoundError(task_id)
        return record

    def _describe(self, record: TaskRecord) -> RecurringTask:
        schedule = load_schedule(_schedule_text(record))
        paused = record.status is TaskStatus.paused
        upcoming = None if paused or record.status.is_final else record.scheduled_at
        return RecurringTask(record, schedule, schedule.describe(), upcoming, paused)


def _schedule_text(record: TaskRecord) -> str:
    if record.schedule is None:
        raise TaskNotFoundError(record.id)
    return record.schedule
