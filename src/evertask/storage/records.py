"""What storage's operations methods take and return: filters and pages of tasks, attempts, queues, workers and
statistics. Plain slotted dataclasses, like the rest of the storage contract; the operations service
(:mod:`evertask.ops`) turns them into the typed models its API, CLI and dashboard show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from evertask.task import TaskRecord, TaskStatus

AttemptOutcome = Literal["completed", "failed", "retrying", "cancelled", "interrupted", "lost"]
"""How one execution ended: ``retrying`` failed with a retry to come; ``interrupted`` was stopped by a shutdown;
``lost`` is written by recovery for an execution whose worker died. A rate-limit deferral never ran the handler
and has no attempt row."""

SortField = Literal["created", "scheduled", "finished"]
"""What a page of tasks is ordered by (then by dispatch order). Sorting by ``finished`` lists finished tasks only."""


@dataclass(slots=True)
class AttemptRecord:
    """One execution of a task, as stored. ``attempt`` counts within the run (1 is the first try), ``run`` is
    the occurrence of a recurring series it belongs to (``run_count`` when it started; 0 for a one-shot task)."""

    task_id: UUID
    attempt: int
    run: int
    worker: str | None
    started_at: datetime
    finished_at: datetime
    duration: float
    """Seconds the handler ran."""
    outcome: AttemptOutcome
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks a query or a bulk action applies to; every field left None matches everything.

    ``search`` is case-insensitive free text matched against the type, the key, the last error and the payload.
    Time bounds are inclusive below (``after``) and exclusive above (``before``).
    """

    ids: frozenset[UUID] | None = None
    statuses: frozenset[TaskStatus] | None = None
    queues: frozenset[str] | None = None
    types: frozenset[str] | None = None
    key: str | None = None
    recurring: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    finished_after: datetime | None = None
    finished_before: datetime | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page of tasks: a filter, an order and a cursor (``after``: the ``next_cursor`` of the page before)."""

    filter: TaskFilter = field(default_factory=TaskFilter)
    sort: SortField = "created"
    descending: bool = True
    limit: int = 50
    after: str | None = None


@dataclass(frozen=True, slots=True)
class TaskPage:
    """A page of tasks and the cursor of the next one (None: this is the last page)."""

    tasks: list[TaskRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class QueueState:
    """An operator's setting for a queue: paused queues are claimed by no worker."""

    name: str
    paused: bool
    changed_at: datetime
    changed_by: str | None = None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A live worker as the registry knows it; ``running`` counts the tasks it holds in progress."""

    id: str
    host: str
    pid: int
    queues: tuple[str, ...]
    started_at: datetime
    last_heartbeat: datetime
    version: str
    running: int = 0


@dataclass(frozen=True, slots=True)
class QueueStats:
    """How many tasks of a queue are in each status, and since when its oldest due task has waited."""

    queue: str
    counts: dict[TaskStatus, int]
    oldest_waiting_since: datetime | None
    """The due time of the oldest task that is due and waiting (pending, queued, service_stopped); None: none."""


@dataclass(frozen=True, slots=True)
class ThroughputBucket:
    """Attempts that ended in ``[start, start + width)``: completed ones, and failed ones (final or retrying)."""

    start: datetime
    completed: int
    failed: int


@dataclass(frozen=True, slots=True)
class TypeStats:
    """Attempts of one task type that ended in a time window: how many, how many failed, duration percentiles."""

    type: str
    attempts: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None

    @property
    def failure_rate(self) -> float:
        """Failed attempts over all attempts (0.0 when there were none)."""
        return self.failures / self.attempts if self.attempts else 0.0
