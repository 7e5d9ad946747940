"""In-memory storage: the twin of the database backends, for tests and for work that may be lost on exit.

It keeps the whole contract (claims, leases, fencing, key rules, history) so that code tested against it
behaves the same on a database. Due tasks wait in two heaps per queue: one ordered by due time for tasks not
yet due, one ordered by priority for due ones, so neither claiming nor dispatching slows down with many
delayed tasks. Heap entries are invalidated lazily by a per-row version number.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from itertools import count
from operator import attrgetter
from typing import Any
from uuid import UUID

from evertask.limits import DEFAULT_MAX_PAYLOAD_BYTES, payload_limit
from evertask.ratelimit import RESERVATION_TTL, Bucket, take_token
from evertask.storage.audit import AuditFilter
from evertask.storage.base import (
    AuditLevel,
    CancelResult,
    ClaimResult,
    HeartbeatResult,
    NewTask,
    Outcome,
    RetentionPolicy,
    TaskQuery,
)
from evertask.storage.executions import LEASE_EXPIRED, ended_attempt, lost_attempt
from evertask.storage.key_rules import on_taken_key
from evertask.storage.memory_ops import MemoryOperations, count_by_status, list_tasks
from evertask.storage.records import AttemptRecord, QueueState, WorkerInfo
from evertask.task import CLAIMABLE_STATUSES, StatusChange, TaskRecord, TaskStatus

_record_values = attrgetter(*(f.name for f in fields(TaskRecord)))


@dataclass(slots=True)
class _Row:
    id: UUID
    type: str
    payload: str
    status: TaskStatus
    queue: str
    created_at: datetime
    scheduled_at: datetime
    priority: int
    key: str | None
    schedule: str | None
    seq: int
    version: int = 0
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_error: str | None = None
    run_count: int = 0
    last_run_at: datetime | None = None
    owner: str | None = None
    fence: int = 0
    lease_until: datetime | None = None
    recoveries: int = 0
    cancel_requested: bool = False
    result: str | None = None
    # (from, to, at, error, actor): StatusChange objects are built only when someone reads the history.
    history: list[tuple[TaskStatus | None, TaskStatus, datetime, str | None, str | None]] = field(default_factory=list)
    executions: list[AttemptRecord] = field(default_factory=list)

    def record(self) -> TaskRecord:
        return TaskRecord(*_record_values(self))


class MemoryStorage(MemoryOperations):
    """Storage in this process's memory. Fast and exact, but everything is gone when the process ends."""

    max_buckets = 100_000
    """Rate-limit buckets tracked at most."""

    group_commit = False
    """Writes cost no I/O, so callers gain nothing by batching them (see ``Storage.group_commit``)."""

    def __init__(self, *, audit: AuditLevel = "full", max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self.max_payload_bytes = payload_limit(max_payload_bytes)
        """The largest payload JSON accepted, in UTF-8 bytes (dispatch raises PayloadTooLargeError above it)."""
        self._rows: dict[UUID, _Row] = {}
        self._keys: dict[str, UUID] = {}
        self._audit = AuditFilter(audit)
        # (due timestamp, seq, version, row) and (-priority, due timestamp, seq, version, row): entries hold the
        # row itself, so that checking one costs no lookup; seq is unique, so rows are never compared.
        self._waiting: dict[str, list[tuple[float, int, int, _Row]]] = {}
        self._ready: dict[str, list[tuple[int, float, int, int, _Row]]] = {}
        self._seq = count()
        self._buckets: dict[str, Bucket] = {}
        self._reservations: dict[tuple[str, UUID], datetime] = {}  # (bucket, holder) -> its reserved slot
        self._queue_states: dict[str, QueueState] = {}
        self._paused: set[str] = set()
        self._workers: dict[str, WorkerInfo] = {}

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release; the tasks stay until the object is dropped."""

    async def add(self, tasks: Sequence[NewTask]) -> list[UUID]:
        """Store tasks; see :meth:`evertask.storage.base.Storage.add` for the key rules."""
        return [self._add_one(task) for task in tasks]

    def _add_one(self, task: NewTask) -> UUID:
        if task.key:
            existing_id = self._keys.get(task.key)
            existing = self._rows.get(existing_id) if existing_id else None
            if existing is not None:
                action = on_taken_key(task, existing.id, existing.status, existing.schedule is not None)
                if action == "keep":
                    return existing.id
                if action == "update":
                    self._update_waiting(existing, task)
                    return existing.id
                self._delete(existing)
        row = _Row(
            id=task.id,
            type=task.type,
            payload=task.payload,
            status=task.status,
            queue=task.queue,
            created_at=task.created_at,
            scheduled_at=task.scheduled_at,
            priority=task.priority,
            key=task.key or None,
            schedule=task.schedule,
            seq=next(self._seq),
        )
        self._rows[row.id] = row
        if row.key:
            self._keys[row.key] = row.id
        self._record(row, None, row.status, task.created_at, None)
        self._enqueue(row)
        return row.id

    def _update_waiting(self, row: _Row, task: NewTask) -> None:
        previous = row.status
        row.payload, row.queue, row.priority = task.payload, task.queue, task.priority
        row.schedule, row.scheduled_at = task.schedule, task.scheduled_at
        if previous is not TaskStatus.paused:  # a paused series stays paused until resumed
            row.status = task.status
        row.version += 1
        if previous is not row.status:
            self._record(row, previous, row.status, task.created_at, None)
        self._enqueue(row)

    def _delete(self, row: _Row) -> None:
        del self._rows[row.id]
        row.version += 1  # its heap entries are stale now
        if row.key and self._keys.get(row.key) == row.id:
            del self._keys[row.key]

    def _enqueue(self, row: _Row) -> None:
        heapq.heappush(
            self._waiting.setdefault(row.queue, []),
            (row.scheduled_at.timestamp(), row.seq, row.version, row),
        )

    @staticmethod
    def _valid(row: _Row, version: int, queue: str) -> bool:
        # A deleted row's version was bumped; a changed one has a newer entry of its own.
        return row.version == version and row.queue == queue and row.status in CLAIMABLE_STATUSES

    async def get(self, task_id: UUID) -> TaskRecord | None:
        """The task with this id, or None."""
        row = self._rows.get(task_id)
        return row.record() if row else None

    async def list_tasks(self, query: TaskQuery) -> list[TaskRecord]:
        """Tasks matching ``query``, newest first."""
        return list_tasks(self._rows.values(), query)

    async def count_by_status(self, queue: str | None = None) -> dict[TaskStatus, int]:
        """How many tasks are in each status."""
        return count_by_status(self._rows.values(), queue)

    async def history(self, task_id: UUID) -> list[StatusChange]:
        """The recorded transitions of a task, oldest first."""
        row = self._rows.get(task_id)
        return [StatusChange(task_id, *change) for change in row.history] if row else []

    async def claim(
        self, *, owner: str, queues: Sequence[str], now: datetime, limit: int, lease_until: datetime
    ) -> ClaimResult:
        """Take up to ``limit`` due tasks; see :meth:`evertask.storage.base.Storage.claim`."""
        now_ts = now.timestamp()
        claimed: list[TaskRecord] = []
        paused = self._paused.intersection(queues) if self._paused else frozenset()
        if paused:
            queues = [queue for queue in queues if queue not in paused]
        for queue in queues:
            self._promote_due(queue, now_ts)
            ready = self._ready.get(queue)
            while ready and len(claimed) < limit:
                _, _, _, version, row = heapq.heappop(ready)
                if not self._valid(row, version, queue):
                    continue
                self._record(row, row.status, TaskStatus.in_progress, now, None)
                row.status, row.owner, row.lease_until, row.started_at = (
                    TaskStatus.in_progress,
                    owner,
                    lease_until,
                    now,
                )
                row.attempts += 1
                row.fence += 1
                row.version += 1
                claimed.append(row.record())
        return ClaimResult(claimed, self._next_due(queues), frozenset(paused))

    def _promote_due(self, queue: str, now_ts: float) -> None:
        waiting = self._waiting.get(queue)
        if not waiting:
            return
        ready = self._ready.setdefault(queue, [])
        while waiting and waiting[0][0] <= now_ts:
            due_ts, seq, version, row = heapq.heappop(waiting)
            if self._valid(row, version, queue):
                heapq.heappush(ready, (-row.priority, due_ts, seq, version, row))

    def _next_due(self, queues: Sequence[str]) -> datetime | None:
        earliest: datetime | None = None
        for queue in queues:
            heaps: tuple[list[Any] | None, ...] = (self._ready.get(queue), self._waiting.get(queue))
            for heap in heaps:
                while heap and not self._valid(heap[0][-1], heap[0][-2], queue):
                    heapq.heappop(heap)
                if heap:
                    due = heap[0][-1].scheduled_at
                    earliest = due if earliest is None or due < earliest else earliest
        return earliest

    async def finish(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Record how attempts ended; fenced by owner and fence."""
        return [self._finish_one(outcome) for outcome in outcomes]

    def _finish_one(self, outcome: Outcome) -> bool:
        row = self._rows.get(outcome.id)
        if (
            row is None
            or row.status is not TaskStatus.in_progress
            or row.owner != outcome.owner
            or row.fence != outcome.fence
        ):
            return False
        self._record(row, row.status, outcome.status, outcome.at, outcome.error)
        if outcome.ending is not None:
            if self._audit.keeps_attempt(outcome.error):
                attempt = ended_attempt(outcome, claimed_at=row.started_at)
                row.executions.append(attempt)
            if outcome.ending == "completed":
                row.result = outcome.result
        row.status, row.owner, row.lease_until = outcome.status, None, None
        row.cancel_requested = False
        row.last_error = outcome.error if outcome.error is not None else row.last_error
        row.version += 1
        if outcome.attempt_refunded:
            row.attempts = max(0, row.attempts - 1)
        if outcome.run_finished:
            row.run_count += 1
            row.last_run_at = outcome.at
            row.attempts = 0
        if outcome.status.is_final:
            row.finished_at = outcome.at
            return True
        if outcome.next_run is not None:
            row.scheduled_at = outcome.next_run
        self._enqueue(row)
        return True

    async def heartbeat(
        self, *, owner: str, task_ids: Sequence[UUID], lease_until: datetime, now: datetime | None = None
    ) -> HeartbeatResult:
        """Extend leases; report cancellations asked for and claims lost; refresh the worker's row (``now``)."""
        worker_found = True
        if now is not None:
            info = self._workers.get(owner)
            worker_found = info is not None
            if info is not None:
                self._workers[owner] = replace(info, last_heartbeat=now)
        cancel: set[UUID] = set()
        lost: set[UUID] = set()
        for task_id in task_ids:
            row = self._rows.get(task_id)
            if row is None or row.owner != owner or row.status is not TaskStatus.in_progress:
                lost.add(task_id)
                continue
            row.lease_until = lease_until
            if row.cancel_requested:
                cancel.add(task_id)
        return HeartbeatResult(frozenset(cancel), frozenset(lost), worker_found)

    async def recover_expired(self, *, now: datetime, max_recoveries: int) -> list[TaskRecord]:
        """Return tasks with expired leases to pending (or fail them past ``max_recoveries``)."""
        recovered: list[TaskRecord] = []
        for row in list(self._rows.values()):
            if row.status is not TaskStatus.in_progress or row.lease_until is None or row.lease_until > now:
                continue
            row.recoveries += 1
            worker = row.owner
            row.owner, row.lease_until = None, None
            row.version += 1
            if row.recoveries > max_recoveries:
                error = f"abandoned: its worker stopped responding {row.recoveries} times"
                self._record(row, row.status, TaskStatus.failed, now, error)
                row.status, row.finished_at, row.last_error = TaskStatus.failed, now, error
            else:
                error = LEASE_EXPIRED
                self._record(row, row.status, TaskStatus.pending, now, error)
                row.status, row.scheduled_at = TaskStatus.pending, now
                self._enqueue(row)
            if self._audit.keeps_attempt(error):
                lost = lost_attempt(
                    row.id,
                    attempt=row.attempts,
                    run=row.run_count,
                    worker=worker,
                    claimed_at=row.started_at,
                    now=now,
                    error=error,
                )
                row.executions.append(lost)
            recovered.append(row.record())
        return recovered

    async def attempts(self, task_id: UUID) -> list[AttemptRecord]:
        """The recorded executions of a task, oldest first."""
        row = self._rows.get(task_id)
        return [replace(attempt) for attempt in row.executions] if row else []

    async def result(self, task_id: UUID) -> str | None:
        """The stored result of a task as JSON, or None."""
        row = self._rows.get(task_id)
        return row.result if row else None

    async def set_queue_paused(self, queue: str, *, paused: bool, now: datetime, actor: str | None) -> None:
        """Pause or resume ``queue``: claims skip a paused queue."""
        self._queue_states[queue] = QueueState(queue, paused, now, actor)
        if paused:
            self._paused.add(queue)
        else:
            self._paused.discard(queue)

    async def queue_states(self) -> list[QueueState]:
        """Every queue paused or resumed, by name."""
        return [self._queue_states[name] for name in sorted(self._queue_states)]

    async def register_worker(self, info: WorkerInfo) -> None:
        """Add or replace a worker's row in the registry."""
        self._workers[info.id] = replace(info, running=0)

    async def unregister_worker(self, worker_id: str) -> None:
        """Remove a worker from the registry."""
        self._workers.pop(worker_id, None)

    async def list_workers(self) -> list[WorkerInfo]:
        """The registered workers by id, with the tasks each holds in progress."""
        running: dict[str | None, int] = {}
        for row in self._rows.values():
            if row.status is TaskStatus.in_progress:
                running[row.owner] = running.get(row.owner, 0) + 1
        return [replace(self._workers[w], running=running.get(w, 0)) for w in sorted(self._workers)]

    async def prune_workers(self, *, stale_before: datetime) -> int:
        """Remove workers silent since before ``stale_before``."""
        stale = [w for w, info in self._workers.items() if info.last_heartbeat < stale_before]
        for worker_id in stale:
            del self._workers[worker_id]
        return len(stale)

    async def cancel(self, task_id: UUID, *, now: datetime, actor: str | None = None) -> CancelResult:
        """Cancel a waiting task at once; flag a running one."""
        row = self._rows.get(task_id)
        return CancelResult(None) if row is None else self._cancel(row, now, actor)

    async def reschedule(
        self, task_id: UUID, *, now: datetime, scheduled_at: datetime, status: TaskStatus = TaskStatus.pending
    ) -> bool:
        """Move a waiting or paused task to ``scheduled_at`` with ``status``."""
        row = self._rows.get(task_id)
        if row is None or row.status is TaskStatus.in_progress or row.status.is_final:
            return False
        if row.status is not status:
            self._record(row, row.status, status, now, None)
            row.status = status
        row.scheduled_at = scheduled_at
        row.version += 1
        self._enqueue(row)
        return True

    async def take_token(
        self,
        bucket: str,
        *,
        now: datetime,
        rate: float,
        capacity: int,
        holder: UUID | None = None,
        horizon: float = 0.0,
    ) -> float:
        """Take one permit from a rate-limit bucket, or reserve the holder's slot; see
        :meth:`evertask.storage.base.Storage.take_token`. At most ``max_buckets`` buckets (and as many
        reservations) are tracked, the least recently used dropped."""
        slot = (bucket, holder) if holder is not None else None
        reserved = self._reservations.pop(slot, None) if slot is not None else None
        state = self._buckets.pop(bucket, None)
        take = take_token(state, reserved, now=now, rate=rate, capacity=capacity, horizon=horizon)
        if take.bucket is not None:
            self._buckets[bucket] = take.bucket  # re-inserted last: the dict's order is least recently used first
            if len(self._buckets) > self.max_buckets:
                del self._buckets[next(iter(self._buckets))]  # an untracked bucket counts as full: lenient, bounded
        if slot is not None and take.reserved is not None:
            self._reservations[slot] = take.reserved
            if len(self._reservations) > self.max_buckets:
                del self._reservations[next(iter(self._reservations))]  # its holder takes anew: strict, bounded
        return take.wait

    async def purge(self, *, now: datetime, policy: RetentionPolicy) -> int:
        """Delete finished tasks and history older than ``policy`` allows."""
        removed = 0
        if policy.completed_tasks_days is not None:
            cutoff = now - timedelta(days=policy.completed_tasks_days)
            for row in list(self._rows.values()):
                if row.status.is_final and row.finished_at is not None and row.finished_at < cutoff:
                    self._delete(row)
                    removed += 1
        if policy.history_days is not None:
            cutoff = now - timedelta(days=policy.history_days)
            for row in self._rows.values():
                row.history = [change for change in row.history if change[2] >= cutoff]
                row.executions = [attempt for attempt in row.executions if attempt.finished_at >= cutoff]
        expired = now - RESERVATION_TTL
        self._reservations = {held: at for held, at in self._reservations.items() if at >= expired}
        return removed
