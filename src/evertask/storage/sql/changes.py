"""Changes asked for from outside a worker: ``cancel``, ``reschedule`` and ``purge``, each in the caller's
transaction, with the task's row locked while its status is decided."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, and_, bindparam, delete, select

from evertask.storage.base import CancelResult, RetentionPolicy
from evertask.storage.sql.ratelimit import drop_full_buckets
from evertask.storage.sql.tables import UPDATE_BY_ID, HistoryWriter, for_update, task_attempts, task_history, tasks
from evertask.task import FINAL_STATUSES, TaskStatus

_STATUS_OF = for_update(select(tasks.c.status).where(tasks.c.id == bindparam("target")))


def _locked_status(conn: Connection, task_id: UUID) -> TaskStatus | None:
    status: TaskStatus | None = conn.execute(_STATUS_OF, {"target": task_id}).scalar()
    return status


def cancel_task(
    conn: Connection, task_id: UUID, now: datetime, history: HistoryWriter, actor: str | None = None
) -> CancelResult:
    """A waiting (or paused) task becomes ``cancelled``; a running one is flagged; a final one is left."""
    previous = _locked_status(conn, task_id)
    if previous is None:
        return CancelResult(None)
    if previous.is_final:
        return CancelResult(previous)
    if previous is TaskStatus.in_progress:
        conn.execute(UPDATE_BY_ID, {"target": task_id, "cancel_requested": True})
        return CancelResult(previous, cancel_requested=True)
    conn.execute(UPDATE_BY_ID, {"target": task_id, "status": TaskStatus.cancelled, "finished_at": now})
    history.record(task_id, previous, TaskStatus.cancelled, now, actor=actor)
    history.write(conn)
    return CancelResult(previous, cancelled=True)


def reschedule_task(
    conn: Connection,
    task_id: UUID,
    *,
    now: datetime,
    scheduled_at: datetime,
    status: TaskStatus,
    history: HistoryWriter,
    actor: str | None = None,
) -> bool:
    """Move a task that is neither running nor final to ``scheduled_at`` with ``status``."""
    previous = _locked_status(conn, task_id)
    if previous is None or previous is TaskStatus.in_progress or previous.is_final:
        return False
    conn.execute(UPDATE_BY_ID, {"target": task_id, "scheduled_at": scheduled_at, "status": status})
    if previous is not status:
        history.record(task_id, previous, status, now, actor=actor)
        history.write(conn)
    return True


def purge_tasks(conn: Connection, now: datetime, policy: RetentionPolicy) -> int:
    """Delete final tasks (with their history and attempts) and history and attempt rows older than ``policy``
    allows, and the rate-limit buckets that are full again (which loses nothing: a missing bucket counts as
    full)."""
    drop_full_buckets(conn, now)
    removed = 0
    if policy.completed_tasks_days is not None:
        cutoff = now - timedelta(days=policy.completed_tasks_days)
        expired = and_(tasks.c.status.in_(sorted(FINAL_STATUSES)), tasks.c.finished_at < cutoff)
        conn.execute(delete(task_history).where(task_history.c.task_id.in_(select(tasks.c.id).where(expired))))
        conn.execute(delete(task_attempts).where(task_attempts.c.task_id.in_(select(tasks.c.id).where(expired))))
        removed = (conn.execute(delete(tasks).where(expired))).rowcount
    if policy.history_days is not None:
        cutoff = now - timedelta(days=policy.history_days)
        conn.execute(delete(task_history).where(task_history.c.at < cutoff))
        conn.execute(delete(task_attempts).where(task_attempts.c.finished_at < cutoff))
    return removed
