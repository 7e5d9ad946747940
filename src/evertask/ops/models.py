"""What the operations service returns: pydantic models whose field names are the JSON of the REST API and of the
CLI's ``--json`` output. They are a stable interface: fields are added, never renamed or removed.

Times are aware UTC datetimes (ISO 8601 in JSON); durations and ages are seconds as floats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from evertask.storage.records import AttemptOutcome
from evertask.task import TaskStatus


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class Filter(_Model):
    """Which tasks a list or a bulk action applies to; a field left out (None) matches every task.

    Several values in one field match any of them; different fields must all match. ``search`` is
    case-insensitive text looked for in the type, the key, the last error and the payload. Time bounds are
    inclusive below (``*_after``) and exclusive above (``*_before``), aware datetimes.
    """

    id: list[UUID] | None = None
    status: list[TaskStatus] | None = None
    queue: list[str] | None = None
    type: list[str] | None = None
    key: str | None = None
    recurring: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    finished_after: datetime | None = None
    finished_before: datetime | None = None
    search: str | None = None

    def is_empty(self) -> bool:
        """Whether this filter matches every task."""
        return all(value is None for value in self.model_dump().values())


class TaskSummary(_Model):
    """A task as a row of a list: what it is, where it is in its life, and the last line of its last error."""

    id: UUID
    type: str
    queue: str
    status: TaskStatus
    priority: int
    key: str | None
    recurring: bool
    created_at: datetime
    scheduled_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="Executions started in the current run (a retry adds one).")
    run_count: int = Field(description="Runs finished by a recurring series (0 for a one-off task).")
    last_run_at: datetime | None
    worker: str | None = Field(description="The worker holding the task while it is in progress.")
    cancel_requested: bool
    error: str | None = Field(description="The last line of the last error (the exception and its message).")


class Attempt(_Model):
    """One execution of a task's handler: which worker, when, how long, how it ended, and its exception."""

    attempt: int = Field(description="1 for the first try of a run, 2 for its first retry...")
    run: int = Field(description="The occurrence of a recurring series it belongs to (0 for a one-off task).")
    worker: str | None
    started_at: datetime
    finished_at: datetime
    duration: float = Field(description="Seconds the handler ran.")
    outcome: AttemptOutcome
    error_type: str | None
    error_message: str | None
    traceback: str | None


class HistoryEntry(_Model):
    """A recorded change of status, with who made it (``actor``: None for the engine itself)."""

    at: datetime
    from_status: TaskStatus | None
    to_status: TaskStatus
    error: str | None
    actor: str | None


class ScheduleInfo(_Model):
    """A recurring series' schedule: in words, and as a cron expression when it is one."""

    description: str
    cron: str | None
    timezone: str | None
    max_runs: int | None
    until: datetime | None


class TaskDetail(TaskSummary):
    """Everything known about one task: the summary, its payload as stored, each execution, its history and
    its result."""

    payload: JsonValue = Field(description="The stored payload, parsed from its JSON.")
    last_error: str | None = Field(description="The full text of the last error, traceback included.")
    schedule: ScheduleInfo | None
    lease_until: datetime | None
    recoveries: int = Field(description="Times the task was taken back from a worker that died.")
    executions: list[Attempt] = Field(description="Each execution of the handler, oldest first.")
    history: list[HistoryEntry] = Field(description="Each change of status, oldest first.")
    result: JsonValue = Field(description="What the handler returned (null: nothing, or not finished).")


class TaskPage(_Model):
    """A page of tasks and the cursor of the next page (null: this is the last one)."""

    tasks: list[TaskSummary]
    next_cursor: str | None


class BulkResult(_Model):
    """How many tasks a bulk action changed (or, with ``dry_run``, would change)."""

    action: Literal["retry", "cancel", "purge"]
    dry_run: bool
    count: int


class QueueInfo(_Model):
    """A queue: its tasks by status, whether it is paused, and how long its oldest due task has waited."""

    name: str
    paused: bool
    paused_at: datetime | None
    paused_by: str | None
    counts: dict[TaskStatus, int] = Field(description="Tasks in each status (every status present).")
    waiting: int = Field(description="Tasks waiting for a worker (pending, queued, service_stopped).")
    running: int
    oldest_waiting_since: datetime | None = Field(description="When the oldest due, waiting task fell due.")
    oldest_waiting_age: float | None = Field(description="Seconds since then.")
    max_parallelism: int | None = Field(description="Executions at once per worker, when the app is known.")


class WorkerModel(_Model):
    """A live worker process."""

    id: str
    host: str
    pid: int
    queues: list[str]
    started_at: datetime
    last_heartbeat: datetime
    heartbeat_age: float = Field(description="Seconds since its last heartbeat.")
    version: str
    running: int = Field(description="Tasks it holds in progress.")


class RecurringSeries(_Model):
    """A recurring series: its schedule, its next and last runs, and how many runs it has finished."""

    id: UUID
    type: str
    queue: str
    key: str | None
    status: TaskStatus
    paused: bool
    schedule: ScheduleInfo
    next_run: datetime | None
    last_run: datetime | None
    run_count: int


class RunNowResult(_Model):
    """The one-off task started by "run now" for a series (the series keeps its schedule)."""

    series_id: UUID
    task_id: UUID


class ThroughputPoint(_Model):
    """Executions that ended in ``[start, start + width)``."""

    start: datetime
    completed: int
    failed: int


class TypeStat(_Model):
    """Executions of one task type in the stats window: how many, how many failed, and their durations."""

    type: str
    attempts: int
    failures: int
    failure_rate: float
    p50: float | None
    p95: float | None
    p99: float | None


class Stats(_Model):
    """Throughput per minute over the last hour and per hour over the last day; per type statistics over
    ``window`` seconds; task counts by status."""

    generated_at: datetime
    window: float
    counts: dict[TaskStatus, int]
    per_minute: list[ThroughputPoint]
    per_hour: list[ThroughputPoint]
    types: list[TypeStat]


class Health(_Model):
    """Whether the database answers, whether a worker is alive, and how late the oldest due task is."""

    ready: bool
    checked_at: datetime
    database: bool
    database_error: str | None
    workers: int
    last_heartbeat_age: float | None
    scheduler_lag: float | None = Field(description="Seconds the oldest due task of a running queue has waited.")
    problems: list[str] = Field(description="Why it is not ready (empty when ready).")
