"""Storage records as the operations models show them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from evertask.ops.models import (
    Attempt,
    HistoryEntry,
    QueueInfo,
    RecurringSeries,
    ScheduleInfo,
    TaskDetail,
    TaskSummary,
    ThroughputPoint,
    TypeStat,
    WorkerModel,
)
from evertask.recurrence import RecurringTask, load_schedule
from evertask.schedule import CronSchedule, Schedule
from evertask.schedule.fluent import FluentSchedule
from evertask.storage.records import AttemptRecord, QueueState, QueueStats, ThroughputBucket, TypeStats, WorkerInfo
from evertask.task import CLAIMABLE_STATUSES, StatusChange, TaskRecord, TaskStatus

MAX_ERROR_LINE = 500
"""The longest error line a list row shows; the detail has the whole text."""


def summary(record: TaskRecord) -> TaskSummary:
    """A task as a list row."""
    return TaskSummary(**_summary_fields(record))


def detail(
    record: TaskRecord, attempts: list[AttemptRecord], history: list[StatusChange], result: str | None
) -> TaskDetail:
    """Everything known about a task; the payload and the result are parsed from their stored JSON."""
    return TaskDetail(
        **_summary_fields(record),
        payload=_parsed(record.payload),
        last_error=record.last_error,
        schedule=None if record.schedule is None else schedule_info(load_schedule(record.schedule)),
        lease_until=record.lease_until,
        recoveries=record.recoveries,
        executions=[attempt(row) for row in attempts],
        history=[history_entry(change) for change in history],
        result=None if result is None else _parsed(result),
    )


def attempt(row: AttemptRecord) -> Attempt:
    """One execution."""
    return Attempt.model_validate(row, from_attributes=True)


def history_entry(change: StatusChange) -> HistoryEntry:
    """One change of status."""
    return HistoryEntry.model_validate(change, from_attributes=True)


def schedule_info(schedule: Schedule) -> ScheduleInfo:
    """A schedule in words, with its cron expression and time zone where it has them."""
    cron = schedule.expression if isinstance(schedule, CronSchedule) else None
    timezone = schedule.tz if isinstance(schedule, CronSchedule | FluentSchedule) else None
    return ScheduleInfo(
        description=schedule.describe(),
        cron=cron,
        timezone=timezone,
        max_runs=schedule.limits.max_runs,
        until=schedule.limits.until,
    )


def series(recurring: RecurringTask) -> RecurringSeries:
    """A recurring series."""
    record = recurring.record
    return RecurringSeries(
        id=record.id,
        type=record.type,
        queue=record.queue,
        key=record.key,
        status=record.status,
        paused=recurring.paused,
        schedule=schedule_info(recurring.schedule),
        next_run=recurring.next_run,
        last_run=record.last_run_at,
        run_count=record.run_count,
    )


def queue_info(
    name: str, stats: QueueStats | None, state: QueueState | None, now: datetime, max_parallelism: int | None
) -> QueueInfo:
    """A queue from its counts (None: it has no tasks) and its operator state (None: never paused)."""
    counts = dict.fromkeys(TaskStatus, 0)
    if stats is not None:
        counts.update(stats.counts)
    oldest = None if stats is None else stats.oldest_waiting_since
    paused = state is not None and state.paused
    return QueueInfo(
        name=name,
        paused=paused,
        paused_at=state.changed_at if state is not None and paused else None,
        paused_by=state.changed_by if state is not None and paused else None,
        counts=counts,
        waiting=sum(counts[status] for status in CLAIMABLE_STATUSES),
        running=counts[TaskStatus.in_progress],
        oldest_waiting_since=oldest,
        oldest_waiting_age=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
        max_parallelism=max_parallelism,
    )


def worker(info: WorkerInfo, now: datetime) -> WorkerModel:
    """A live worker."""
    return WorkerModel(
        id=info.id,
        host=info.host,
        pid=info.pid,
        queues=list(info.queues),
        started_at=info.started_at,
        last_heartbeat=info.last_heartbeat,
        heartbeat_age=max(0.0, (now - info.last_heartbeat).total_seconds()),
        version=info.version,
        running=info.running,
    )


def throughput(bucket: ThroughputBucket) -> ThroughputPoint:
    """One bucket of throughput."""
    return ThroughputPoint.model_validate(bucket, from_attributes=True)


def type_stat(stats: TypeStats) -> TypeStat:
    """Statistics of one task type (``failure_rate`` is a property of the record)."""
    return TypeStat.model_validate(stats, from_attributes=True)


def error_line(error: str | None) -> str | None:
    """The last non-blank line of an error text: for a traceback, the exception and its message."""
    if not error:
        return None
    lines = [line for line in error.splitlines() if line.strip()]
    line = lines[-1].strip() if lines else error.strip()
    return line if len(line) <= MAX_ERROR_LINE else line[: MAX_ERROR_LINE - 3] + "..."


def _summary_fields(record: TaskRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": record.type,
        "queue": record.queue,
        "status": record.status,
        "priority": record.priority,
        "key": record.key,
        "recurring": record.is_recurring,
        "created_at": record.created_at,
        "scheduled_at": record.scheduled_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "attempts": record.attempts,
        "run_count": record.run_count,
        "last_run_at": record.last_run_at,
        "worker": record.owner if record.status is TaskStatus.in_progress else None,
        "cancel_requested": record.cancel_requested,
        "error": error_line(record.last_error),
    }


def _parsed(text: str) -> Any:
    # Stored by evertask, so it is JSON; a row edited by hand that is not is shown as the text it holds.
    try:
        return json.loads(text)
    except ValueError:
        return text
