"""The operations side of :class:`~evertask.storage.memory.MemoryStorage`: queries, bulk actions and statistics.

:class:`MemoryOperations` holds the methods, over the rows, keys and paused queues the storage keeps, and
through the storage's own steps for a change (history, heaps, deletion); the plain functions beside it decide
which rows match and what a page or a statistic is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from evertask.storage import windows
from evertask.storage.base import CancelResult, TaskQuery
from evertask.storage.paging import (
    CHUNK,
    RETRYABLE,
    Position,
    check_filter,
    check_page,
    check_payload,
    encode_cursor,
    matching_statuses,
)
from evertask.storage.records import (
    AttemptRecord,
    PageRequest,
    QueueStats,
    SortField,
    TaskFilter,
    TaskPage,
    ThroughputBucket,
    TypeStats,
)
from evertask.task import CLAIMABLE_STATUSES, FINAL_STATUSES, TaskRecord, TaskStatus

if TYPE_CHECKING:
    from evertask.storage.memory import _Row

_NOT_FINAL = frozenset(TaskStatus) - FINAL_STATUSES

_SORT_COLUMNS: dict[SortField, str] = {"created": "created_at", "scheduled": "scheduled_at", "finished": "finished_at"}


def list_tasks(rows: Iterable[_Row], query: TaskQuery) -> list[TaskRecord]:
    """:meth:`Storage.list_tasks` over ``rows``: newest first, then latest dispatched first."""
    found = [
        row
        for row in rows
        if (query.statuses is None or row.status in query.statuses)
        and (query.queue is None or row.queue == query.queue)
        and (query.type is None or row.type == query.type)
        and (query.recurring is None or (row.schedule is not None) == query.recurring)
    ]
    found.sort(key=lambda r: (r.created_at, r.seq), reverse=True)
    return [row.record() for row in found[query.offset : query.offset + query.limit]]


def count_by_status(rows: Iterable[_Row], queue: str | None) -> dict[TaskStatus, int]:
    """:meth:`Storage.count_by_status` over ``rows``."""
    counts: dict[TaskStatus, int] = {}
    for row in rows:
        if queue is None or row.queue == queue:
            counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def matches(row: _Row, filter: TaskFilter) -> bool:
    """Whether ``row`` is one of the tasks ``filter`` names (see :class:`TaskFilter`)."""
    f = filter
    if f.ids is not None and row.id not in f.ids:
        return False
    if f.statuses is not None and row.status not in f.statuses:
        return False
    if (f.queues is not None and row.queue not in f.queues) or (f.types is not None and row.type not in f.types):
        return False
    if (f.key is not None and row.key != f.key) or (f.recurring is not None and (row.schedule is None) == f.recurring):
        return False
    if not _within(row.created_at, f.created_after, f.created_before):
        return False
    if (f.finished_after is not None or f.finished_before is not None) and (
        row.finished_at is None or not _within(row.finished_at, f.finished_after, f.finished_before)
    ):
        return False
    if f.search is not None:
        needle = f.search.lower()
        return any(needle in text.lower() for text in (row.type, row.key, row.last_error, row.payload) if text)
    return True


def _within(value: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or value >= after) and (before is None or value < before)


def matching(rows: Iterable[_Row], filter: TaskFilter, statuses: frozenset[TaskStatus]) -> list[_Row]:
    """The rows ``filter`` names whose status is one of ``statuses``, in dispatch order."""
    return sorted((row for row in rows if row.status in statuses and matches(row, filter)), key=lambda r: r.seq)


def page(rows: Iterable[_Row], request: PageRequest) -> TaskPage:
    """One page of :meth:`Storage.query`."""
    position = check_page(request)
    statuses = matching_statuses(request.filter, request.sort)
    column = _SORT_COLUMNS[request.sort]
    found: list[tuple[datetime, int, _Row]] = []
    for row in rows:
        value: datetime | None = getattr(row, column)
        if value is None or (statuses is not None and row.status not in statuses):
            continue
        if position is not None and not _after(value, row.seq, position, request.descending):
            continue
        if matches(row, request.filter):
            found.append((value, row.seq, row))
    found.sort(key=lambda entry: (entry[0], entry[1]), reverse=request.descending)
    shown = found[: request.limit]
    cursor = None
    if len(found) > request.limit:
        last_value, last_seq, _ = shown[-1]
        cursor = encode_cursor(request.sort, request.descending, Position(last_value, last_seq))
    return TaskPage([row.record() for _, _, row in shown], cursor)


def _after(value: datetime, seq: int, position: Position, descending: bool) -> bool:
    if descending:
        return (value, seq) < (position.value, position.seq)
    return (value, seq) > (position.value, position.seq)


async def in_chunks(rows: list[_Row], stored: dict[UUID, _Row], change: Callable[[_Row], bool]) -> int:
    """Apply ``change`` to those of ``rows`` still ``stored``, ``CHUNK`` at a time, giving the loop back between
    chunks as the SQL backends commit each chunk on its own; how many it changed."""
    changed = 0
    for start in range(0, len(rows), CHUNK):
        if start:
            await asyncio.sleep(0)
        changed += sum(1 for row in rows[start : start + CHUNK] if stored.get(row.id) is row and change(row))
    return changed


def requeue(row: _Row, now: datetime, payload: str | None) -> None:
    """Turn a failed or cancelled row into a task due at ``now`` with a fresh retry budget (see
    :meth:`Storage.retry`); the caller records the change and queues the row again."""
    row.status, row.scheduled_at, row.finished_at = TaskStatus.queued, now, None
    row.attempts, row.recoveries = 0, 0
    row.owner, row.lease_until, row.cancel_requested = None, None, False
    if payload is not None:
        row.payload = payload
    row.version += 1


def queue_stats(rows: Iterable[_Row], paused: Iterable[str], now: datetime) -> list[QueueStats]:
    """:meth:`Storage.queue_stats` over ``rows``; ``paused`` queues are listed even when they hold no task."""
    counts: dict[str, dict[TaskStatus, int]] = {name: {} for name in paused}
    oldest: dict[str, datetime] = {}
    for row in rows:
        in_queue = counts.setdefault(row.queue, {})
        in_queue[row.status] = in_queue.get(row.status, 0) + 1
        if row.status in CLAIMABLE_STATUSES and row.scheduled_at <= now:
            known = oldest.get(row.queue)
            oldest[row.queue] = row.scheduled_at if known is None or row.scheduled_at < known else known
    return [QueueStats(name, counts[name], oldest.get(name)) for name in sorted(counts)]


def throughput(
    attempts: Iterable[AttemptRecord], *, since: datetime, until: datetime, width: timedelta
) -> list[ThroughputBucket]:
    """:meth:`Storage.throughput` over ``attempts``."""
    count = windows.bucket_count(since, until, width)
    completed, failed = [0] * count, [0] * count
    for attempt in attempts:
        if since <= attempt.finished_at < until:
            bucket = (attempt.finished_at - since) // width
            if attempt.outcome == "completed":
                completed[bucket] += 1
            elif attempt.outcome in windows.FAILED_OUTCOMES:
                failed[bucket] += 1
    return [ThroughputBucket(since + i * width, completed[i], failed[i]) for i in range(count)]


def type_stats(attempts: Iterable[tuple[str, AttemptRecord]], *, since: datetime) -> list[TypeStats]:
    """:meth:`Storage.type_stats` over ``attempts``, each with its task's type."""
    windows.check_since(since)
    durations: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    for task_type, attempt in attempts:
        if attempt.finished_at >= since:
            durations.setdefault(task_type, []).append(attempt.duration)
            failed = attempt.outcome in windows.FAILED_OUTCOMES
            failures[task_type] = failures.get(task_type, 0) + failed
    found = []
    for task_type in sorted(durations):
        ordered = sorted(durations[task_type])
        p50, p95, p99 = (windows.percentile(ordered, percent) for percent in windows.PERCENTILES)
        found.append(TypeStats(task_type, len(ordered), failures[task_type], p50, p95, p99))
    return found


class MemoryOperations:
    """The operations methods of :class:`~evertask.storage.memory.MemoryStorage` (see :class:`Storage`)."""

    if TYPE_CHECKING:  # what MemoryStorage keeps and does, which these methods use
        _rows: dict[UUID, _Row]
        _keys: dict[str, UUID]
        _paused: set[str]

        def _record(
            self,
            row: _Row,
            before: TaskStatus | None,
            after: TaskStatus,
            at: datetime,
            error: str | None,
            actor: str | None = None,
        ) -> None: ...
        def _enqueue(self, row: _Row) -> None: ...
        def _delete(self, row: _Row) -> None: ...
        def _cancel(self, row: _Row, now: datetime, actor: str | None) -> CancelResult: ...
        async def get(self, task_id: UUID) -> TaskRecord | None: ...

    async def query(self, request: PageRequest) -> TaskPage:
        """One page of the tasks a filter matches; see :meth:`evertask.storage.base.Storage.query`."""
        return page(self._rows.values(), request)

    async def count(self, filter: TaskFilter) -> int:
        """How many tasks ``filter`` matches."""
        check_filter(filter)
        return sum(1 for row in self._rows.values() if matches(row, filter))

    async def find_by_key(self, key: str) -> TaskRecord | None:
        """The task holding ``key``, or None."""
        task_id = self._keys.get(key)
        return None if task_id is None else await self.get(task_id)

    async def retry(
        self, filter: TaskFilter, *, now: datetime, actor: str | None, payload: str | None = None, dry_run: bool = False
    ) -> int:
        """Send failed and cancelled tasks back to ``queued``; see :meth:`evertask.storage.base.Storage.retry`."""
        check_filter(filter)
        check_payload(filter, payload)
        targets = matching(self._rows.values(), filter, RETRYABLE)

        def retry_one(row: _Row) -> bool:
            if row.status not in RETRYABLE:
                return False
            self._record(row, row.status, TaskStatus.queued, now, None, actor)
            requeue(row, now, payload)
            self._enqueue(row)
            return True

        return len(targets) if dry_run else await in_chunks(targets, self._rows, retry_one)

    async def cancel_matching(
        self, filter: TaskFilter, *, now: datetime, actor: str | None, dry_run: bool = False
    ) -> int:
        """Cancel waiting tasks and flag running ones that ``filter`` matches."""
        check_filter(filter)
        targets = matching(self._rows.values(), filter, _NOT_FINAL)

        def cancel_one(row: _Row) -> bool:
            result = self._cancel(row, now, actor)
            return result.cancelled or result.cancel_requested

        return len(targets) if dry_run else await in_chunks(targets, self._rows, cancel_one)

    async def purge_matching(self, filter: TaskFilter, *, dry_run: bool = False) -> int:
        """Delete the final tasks ``filter`` matches, with their history and attempts."""
        check_filter(filter)
        targets = matching(self._rows.values(), filter, FINAL_STATUSES)

        def purge_one(row: _Row) -> bool:
            if not row.status.is_final:
                return False
            self._delete(row)
            return True

        return len(targets) if dry_run else await in_chunks(targets, self._rows, purge_one)

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        """Per queue: tasks by status and the oldest due waiting task."""
        return queue_stats(self._rows.values(), self._paused, now)

    async def throughput(self, *, since: datetime, until: datetime, width: timedelta) -> list[ThroughputBucket]:
        """Completed and failed attempts per bucket of ``width``."""
        attempts = (attempt for _, attempt in self._attempts())
        return throughput(attempts, since=since, until=until, width=width)

    async def type_stats(self, *, since: datetime) -> list[TypeStats]:
        """Attempts, failures and duration percentiles per task type."""
        return type_stats(self._attempts(), since=since)

    def _attempts(self) -> Iterator[tuple[str, AttemptRecord]]:
        return ((row.type, attempt) for row in self._rows.values() for attempt in row.executions)
