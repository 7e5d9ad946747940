"""The storage contract: everything a backend must do, and what callers may rely on.

A backend is one module implementing :class:`Storage`; ``tests/contract`` proves each one with the same suite.
Rules every backend keeps:

- Every method is safe to call concurrently from many coroutines (and, for server databases, many processes).
- Every change of a task's status is written together with a :class:`~evertask.task.StatusChange` row in the
  same transaction (subject to the audit level), so the history never disagrees with the task.
- Times passed in and returned are timezone-aware UTC datetimes; the caller owns the clock (``now``
  arguments), which keeps backends deterministic under test.

A backend may also offer ``wakeups(wake) -> object | None``: a listener with ``start()`` and ``async stop()``
that calls ``wake(queue)`` when another process stores tasks (PostgreSQL's LISTEN/NOTIFY does). Storing and
waking stay two jobs: without it, workers find such tasks within their poll interval.

A backend may declare ``max_payload_bytes``: the largest payload JSON (UTF-8 bytes) it stores; dispatch refuses
larger ones with :class:`~evertask.errors.PayloadTooLargeError` (16 MiB if it declares none). The other values
it must store are those of :mod:`evertask.limits`, which dispatch checks before calling :meth:`Storage.add`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, runtime_checkable
from uuid import UUID

from evertask.storage.records import (
    AttemptOutcome,
    AttemptRecord,
    PageRequest,
    QueueState,
    QueueStats,
    TaskFilter,
    TaskPage,
    ThroughputBucket,
    TypeStats,
    WorkerInfo,
)
from evertask.task import StatusChange, TaskRecord, TaskStatus

AuditLevel = Literal["full", "minimal", "errors", "none"]
"""How much history is kept: every transition; only final ones; only failures; nothing."""


# NewTask and Outcome are built once per task on the hot path: slotted, not frozen (see evertask.task).
@dataclass(slots=True)
class NewTask:
    """A task to store. ``status`` is ``queued`` when due at once and ``pending`` when it waits for its time."""

    id: UUID
    type: str
    payload: str
    queue: str
    created_at: datetime
    scheduled_at: datetime
    status: TaskStatus = TaskStatus.queued
    priority: int = 0
    key: str | None = None
    schedule: str | None = None


@dataclass(slots=True)
class Outcome:
    """How one claimed attempt ended; written only while ``owner`` and ``fence`` still hold the claim.

    ``status`` is final (completed, failed, cancelled), ``service_stopped`` (shutdown: claimable again at
    once), or ``pending`` with ``next_run`` (a retry, a rate-limit deferral, or the next occurrence of a
    recurring task).
    ``run_finished`` marks the end of one run of a recurring series: ``run_count`` grows by one, ``last_run_at``
    becomes ``at`` and ``attempts`` starts again at zero. ``attempt_refunded`` gives the attempt back
    (``attempts`` goes down by one): the attempt was interrupted by a shutdown or deferred by a rate limit,
    and must not use up a retry.

    ``ending`` says how the execution ended, for its row in the task's attempts (None: no row, the handler never
    ran: a rate-limit deferral, a stop before it started). ``started_at`` and ``duration`` are when the handler
    started and how many seconds it ran; ``error`` is the full text with its traceback, ``error_type`` (the
    exception's qualified class name) and ``error_message`` (``str(exc)``) its parts. ``result`` is the handler's
    return value as JSON, stored when ``ending`` is ``completed`` (None stores NULL). ``attempt`` and ``run``
    number the execution: the claimed record's ``attempts`` and ``run_count``, which the fence makes the row's
    own (only the claim's owner changes them while it holds the claim).
    """

    id: UUID
    owner: str
    fence: int
    status: TaskStatus
    at: datetime
    error: str | None = None
    next_run: datetime | None = None
    run_finished: bool = False
    attempt_refunded: bool = False
    ending: AttemptOutcome | None = None
    started_at: datetime | None = None
    duration: float = 0.0
    error_type: str | None = None
    error_message: str | None = None
    result: str | None = None
    attempt: int = 0
    run: int = 0


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """Tasks claimed for a worker, when the next claimable task of those queues falls due (None: none), and
    which of the queues asked for are paused (nothing of them was claimed)."""

    tasks: list[TaskRecord]
    next_due: datetime | None
    paused: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    """What a heartbeat learnt: tasks whose cancellation was asked for, and tasks this owner no longer holds."""

    cancel_requested: frozenset[UUID] = frozenset()
    lost: frozenset[UUID] = frozenset()
    worker_found: bool = True
    """False when the heartbeat was given ``now`` but the registry has no row for the owner (it was pruned while
    the worker stalled): the worker registers again."""


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Filters for :meth:`Storage.list_tasks`; results are newest first."""

    statuses: frozenset[TaskStatus] | None = None
    queue: str | None = None
    type: str | None = None
    recurring: bool | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What :meth:`Storage.cancel` found: the status before (None if no such task) and whether it changed."""

    previous: TaskStatus | None
    cancelled: bool = False
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long finished tasks and history rows are kept (None: forever)."""

    completed_tasks_days: float | None = None
    history_days: float | None = None


@runtime_checkable
class Storage(Protocol):
    """The whole contract between evertask and a database."""

    async def open(self) -> None:
        """Connect and, if configured, migrate. Raises ``StorageUnavailableError`` naming the URL."""

    async def close(self) -> None:
        """Release connections. Idempotent."""

    async def add(self, tasks: Sequence[NewTask]) -> list[UUID]:
        """Store ``tasks`` durably in one transaction and return their ids in order.

        A task with a ``key`` that another stored task already has follows the key rules
        (:func:`evertask.storage.key_rules.on_taken_key`): that task ``in_progress`` -> its id is returned and
        nothing changes; ``pending``/``queued``/``service_stopped``/``paused`` -> its payload, queue, priority,
        schedule and due time are replaced in place (a paused task stays paused; a one-shot may become
        recurring), its id returned, except that a recurring task never becomes a one-shot: a task without a
        schedule leaves it unchanged, its id is returned and a warning logged; final -> it is deleted (with its
        history) and the new task stored. Two concurrent adds with one key end with exactly one task.
        """

    async def get(self, task_id: UUID) -> TaskRecord | None:
        """The task with this id, or None."""

    async def list_tasks(self, query: TaskQuery) -> list[TaskRecord]:
        """Tasks matching ``query``, newest first."""

    async def count_by_status(self, queue: str | None = None) -> dict[TaskStatus, int]:
        """How many tasks are in each status (statuses with none may be absent)."""

    async def history(self, task_id: UUID) -> list[StatusChange]:
        """The recorded transitions of a task, oldest first."""

    async def claim(
        self, *, owner: str, queues: Sequence[str], now: datetime, limit: int, lease_until: datetime
    ) -> ClaimResult:
        """Atomically take up to ``limit`` claimable tasks due at ``now`` from ``queues`` for ``owner``.

        Claimable means ``pending``, ``queued`` or ``service_stopped`` with ``scheduled_at <= now``; order is
        priority (higher first), then due time, then dispatch order. Each claimed task becomes ``in_progress``
        with ``owner``, ``lease_until``, ``started_at = now``, ``attempts + 1`` and ``fence + 1``. No task is
        ever claimed by two owners at once. Queues paused by :meth:`set_queue_paused` are skipped, checked in
        the claim's own transaction, and named in the result; ``next_due`` ignores them.
        """

    async def finish(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Record how attempts ended, in one transaction; per outcome, whether it was applied.

        An outcome applies only if the task is still ``in_progress`` under the same owner and fence; otherwise
        it is ignored (another worker owns the task now), and the task is left as it is. An applied outcome with
        an ``ending`` also writes the execution's :class:`AttemptRecord` (numbered by the outcome, type and queue
        from the task's row, the owner as worker; kept as the audit level says), and one whose ending is
        ``completed`` sets the task's result.
        """

    async def heartbeat(
        self, *, owner: str, task_ids: Sequence[UUID], lease_until: datetime, now: datetime | None = None
    ) -> HeartbeatResult:
        """Extend the lease of ``owner``'s running tasks; report cancellations asked for and claims lost.

        With ``now``, also refresh the ``last_heartbeat`` of ``owner``'s row in the worker registry (also when it
        holds no task); the result says whether that row was there.
        """

    async def recover_expired(self, *, now: datetime, max_recoveries: int) -> list[TaskRecord]:
        """Return tasks whose lease expired (their worker died) to ``pending``, due at once.

        Each recovery is counted; a task recovered more than ``max_recoveries`` times is ``failed`` instead
        (it keeps killing its worker). Each writes a ``lost`` attempt row for the execution that died (subject
        to the audit level). Returns the tasks as they are after the change.
        """

    async def attempts(self, task_id: UUID) -> list[AttemptRecord]:
        """The recorded executions of a task, oldest first (empty for an unknown task)."""

    async def result(self, task_id: UUID) -> str | None:
        """The stored result of a task as JSON: its last completed execution's return value; None if there is
        none (or no such task)."""

    async def set_queue_paused(self, queue: str, *, paused: bool, now: datetime, actor: str | None) -> None:
        """Pause or resume ``queue`` for every worker on this storage. While paused, :meth:`claim` takes none of
        its tasks and reports no due time for it; dispatch still stores into it and waiting tasks keep their
        status. Tasks already claimed run to their end."""

    async def queue_states(self) -> list[QueueState]:
        """Every queue an operator paused or resumed, by name (a queue never set is running)."""

    async def register_worker(self, info: WorkerInfo) -> None:
        """Add ``info`` to the registry of live workers, or replace the row of the same id."""

    async def unregister_worker(self, worker_id: str) -> None:
        """Remove a worker from the registry (it stopped); unknown ids are ignored."""

    async def list_workers(self) -> list[WorkerInfo]:
        """The registered workers by id, each with ``running``: the tasks it holds ``in_progress``."""

    async def prune_workers(self, *, stale_before: datetime) -> int:
        """Remove workers whose last heartbeat is older than ``stale_before`` (they died); returns how many."""

    async def cancel(self, task_id: UUID, *, now: datetime, actor: str | None = None) -> CancelResult:
        """Cancel a task: a waiting one becomes ``cancelled`` at once; a running one is flagged
        ``cancel_requested`` (its worker learns it at the next heartbeat); a final one is left as it is.
        ``actor`` (who asked: an operator, a script) is recorded with the change in the history."""

    async def reschedule(
        self, task_id: UUID, *, now: datetime, scheduled_at: datetime, status: TaskStatus = TaskStatus.pending
    ) -> bool:
        """Move a task that is not running and not final (pending, queued, service_stopped, paused) to
        ``scheduled_at`` with ``status`` (``pending`` or ``paused``), recording the change of status if any;
        False if the task is running, final or unknown."""

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
        """Take one permit from the rate-limit bucket named ``bucket``, atomically across every process sharing
        this storage (the arithmetic is :func:`evertask.ratelimit.take_token`; a bucket never seen is full).

        Returns 0.0 if the caller may go ahead, else the seconds to wait. With a ``holder`` (the task's id) and
        a ``horizon`` > 0, an over-budget take reserves the next free slot for the holder if it is at most
        ``horizon`` seconds away (the bucket moves on by one interval, so the next caller gets the slot after),
        and the holder's next take at or after that slot goes ahead without taking again; one before it is told
        to wait for the same slot. A reservation not used within ``RESERVATION_TTL`` of its slot is forgotten
        (``purge`` deletes it). Without a reservation nothing is taken from an over-budget bucket.
        """

    async def purge(self, *, now: datetime, policy: RetentionPolicy) -> int:
        """Delete finished tasks and history older than ``policy`` allows; returns how many tasks went."""

    # -- operations: what the operations service (evertask.ops) reads and does; see docs/storage.md --

    async def query(self, request: PageRequest) -> TaskPage:
        """One page of the tasks ``request.filter`` matches, in ``request.sort`` order (then dispatch order), and
        the cursor of the next page. Raises ``InvalidFilterError`` for a bad request, ``InvalidCursorError``
        for a cursor this storage did not hand out for that order."""

    async def count(self, filter: TaskFilter) -> int:
        """How many tasks ``filter`` matches."""

    async def find_by_key(self, key: str) -> TaskRecord | None:
        """The task holding ``key``, or None."""

    async def retry(
        self, filter: TaskFilter, *, now: datetime, actor: str | None, payload: str | None = None, dry_run: bool = False
    ) -> int:
        """Send the ``failed`` and ``cancelled`` tasks ``filter`` matches back to ``queued``, due at ``now``,
        with ``attempts`` (and recoveries) at zero so that the retry policy applies in full; returns how many
        were (``dry_run``: would be) retried. Each gets a history row carrying ``actor``; its earlier history,
        attempt rows and ``last_error`` are kept. ``payload`` replaces the stored payload and needs a filter of
        exactly one id. Works in chunks of :data:`~evertask.storage.paging.CHUNK` tasks, each its own
        transaction: tasks that come to match while it runs may be retried too."""

    async def cancel_matching(
        self, filter: TaskFilter, *, now: datetime, actor: str | None, dry_run: bool = False
    ) -> int:
        """Cancel the tasks ``filter`` matches as :meth:`cancel` does (waiting ones at once, running ones
        flagged; final ones are left); returns how many were (``dry_run``: would be) cancelled or flagged.
        Chunked as :meth:`retry`."""

    async def purge_matching(self, filter: TaskFilter, *, dry_run: bool = False) -> int:
        """Delete the final tasks ``filter`` matches, with their history and attempt rows; tasks that are not
        final are never deleted (whatever statuses the filter names). Returns how many were (``dry_run``:
        would be) deleted. Chunked as :meth:`retry`."""

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        """Per queue (every queue holding tasks, and every queue with a paused setting), by name: its tasks
        counted by status, and the due time of its oldest task due at ``now`` and still waiting."""

    async def throughput(self, *, since: datetime, until: datetime, width: timedelta) -> list[ThroughputBucket]:
        """Attempts that ended in ``[since, until)``, counted in buckets of ``width`` from ``since``, oldest
        first; every bucket is present, empty ones with zeros."""

    async def type_stats(self, *, since: datetime) -> list[TypeStats]:
        """Per task type, by name: the attempts that ended at or after ``since``, the failed ones (``failed`` and
        ``retrying``), and the 50th, 95th and 99th percentile of their duration (linear interpolation
        between the two nearest attempts, as PostgreSQL's ``percentile_cont``)."""
