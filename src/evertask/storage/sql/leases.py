"""The life of a claim after it is made: ``finish`` (fenced), ``heartbeat`` and ``recover_expired``.

``finish`` and ``recover_expired`` read the rows they may change with a row lock, decide in Python, and write
every change of the batch with one executemany of an ``UPDATE`` by id, then the history and attempt rows;
``heartbeat`` is one ``UPDATE`` (with ``RETURNING`` where the dialect has it). All run in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, Connection, and_, bindparam, case, select, update

from evertask.storage.base import HeartbeatResult, Outcome
from evertask.storage.executions import LEASE_EXPIRED, ended_attempt, lost_attempt
from evertask.storage.sql.attempt_rows import AttemptWriter
from evertask.storage.sql.tables import RECORD_COLUMNS, UPDATE_BY_ID, HistoryWriter, for_update, tasks, to_record
from evertask.storage.sql.types import UtcDateTime
from evertask.task import TaskRecord, TaskStatus

_RUNNING = TaskStatus.in_progress
_FINISH_READS = (
    tasks.c.id,
    tasks.c.owner,
    tasks.c.fence,
    tasks.c.attempts,
    tasks.c.run_count,
    tasks.c.last_run_at,
    tasks.c.last_error,
    tasks.c.finished_at,
    tasks.c.scheduled_at,
    tasks.c.type,
    tasks.c.queue,
    tasks.c.started_at,
)
_RECOVERY_WRITES = ("status", "owner", "lease_until", "recoveries", "finished_at", "last_error", "scheduled_at")


SELECT_RUNNING = for_update(
    select(*_FINISH_READS).where(tasks.c.id.in_(bindparam("ids", expanding=True)), tasks.c.status == _RUNNING)
)
"""The running tasks among ``ids``, locked, with what ``finish`` needs to fence and update them."""
_FINISH = UPDATE_BY_ID.values(
    result=case((bindparam("set_result", type_=Boolean()), bindparam("new_result")), else_=tasks.c.result)
)
"""Like ``UPDATE_BY_ID``, and the result set only where ``set_result`` (a completed execution) says so."""
_HELD = and_(
    tasks.c.id.in_(bindparam("ids", expanding=True)),
    tasks.c.owner == bindparam("lease_owner"),
    tasks.c.status == _RUNNING,
)
_EXTEND = update(tasks).where(_HELD).values(lease_until=bindparam("new_lease", type_=UtcDateTime()))
_EXTEND_RETURNING = _EXTEND.returning(tasks.c.id, tasks.c.cancel_requested)
_SELECT_HELD = select(tasks.c.id, tasks.c.cancel_requested).where(_HELD)
# SKIP LOCKED: two reapers at once each recover a task once, and never wait on a finishing worker.
_SELECT_EXPIRED = for_update(
    select(*RECORD_COLUMNS).where(tasks.c.status == _RUNNING, tasks.c.lease_until <= bindparam("now")),
    skip_locked=True,
)


def _finished_row(row: Any, outcome: Outcome) -> dict[str, Any]:
    """The columns an applied outcome sets (see :class:`Outcome` for what each field means)."""
    final = outcome.status.is_final
    new_run = outcome.run_finished
    attempts = max(0, row.attempts - 1) if outcome.attempt_refunded else row.attempts
    return {
        "target": outcome.id,
        "status": outcome.status,
        "owner": None,
        "lease_until": None,
        "cancel_requested": False,
        "last_error": outcome.error if outcome.error is not None else row.last_error,
        "attempts": 0 if new_run else attempts,
        "run_count": row.run_count + 1 if new_run else row.run_count,
        "last_run_at": outcome.at if new_run else row.last_run_at,
        "finished_at": outcome.at if final else row.finished_at,
        "scheduled_at": outcome.next_run if not final and outcome.next_run is not None else row.scheduled_at,
        "set_result": outcome.ending == "completed",
        "new_result": outcome.result,
    }


def finish_outcomes(
    conn: Connection, outcomes: Sequence[Outcome], history: HistoryWriter, attempts: AttemptWriter
) -> list[bool]:
    """Apply each outcome whose owner and fence still hold the claim; per outcome, whether it applied."""
    ids = sorted({outcome.id for outcome in outcomes})  # sorted: every transaction locks in one order
    running = {row.id: row for row in conn.execute(SELECT_RUNNING, {"ids": ids})}
    applied: list[bool] = []
    changes: list[dict[str, Any]] = []
    for outcome in outcomes:
        row = running.get(outcome.id)
        if row is None or row.owner != outcome.owner or row.fence != outcome.fence:
            applied.append(False)
            continue
        del running[outcome.id]  # a second outcome for the same attempt finds it finished
        changes.append(_finished_row(row, outcome))
        history.record(outcome.id, _RUNNING, outcome.status, outcome.at, outcome.error)
        if outcome.ending is not None:
            attempt = ended_attempt(outcome, claimed_at=row.started_at)
            attempts.record(attempt, type=row.type, queue=row.queue)
        applied.append(True)
    if changes:
        conn.execute(_FINISH, changes)
    history.write(conn)
    attempts.write(conn)
    return applied


def extend_leases(conn: Connection, owner: str, task_ids: Sequence[UUID], lease_until: datetime) -> HeartbeatResult:
    """Extend ``owner``'s leases on ``task_ids``; report the cancellations asked for and the claims lost."""
    parameters = {"ids": list(task_ids), "lease_owner": owner, "new_lease": lease_until}
    if conn.dialect.update_returning:
        rows = conn.execute(_EXTEND_RETURNING, parameters).all()
    else:
        conn.execute(_EXTEND, parameters)
        rows = conn.execute(_SELECT_HELD, parameters).all()
    still_held = {task_id for task_id, _ in rows}
    return HeartbeatResult(
        cancel_requested=frozenset(task_id for task_id, cancel in rows if cancel),
        lost=frozenset(task_id for task_id in task_ids if task_id not in still_held),
    )


def _recovered(record: TaskRecord, now: datetime, max_recoveries: int) -> tuple[TaskRecord, str]:
    released: dict[str, Any] = {"owner": None, "lease_until": None, "recoveries": record.recoveries + 1}
    if released["recoveries"] > max_recoveries:
        error = f"abandoned: its worker stopped responding {released['recoveries']} times"
        return replace(record, status=TaskStatus.failed, finished_at=now, last_error=error, **released), error
    return replace(record, status=TaskStatus.pending, scheduled_at=now, **released), LEASE_EXPIRED


def recover_leases(
    conn: Connection, now: datetime, max_recoveries: int, history: HistoryWriter, attempts: AttemptWriter
) -> list[TaskRecord]:
    """Return running tasks whose lease expired to pending, or fail them past ``max_recoveries``; each dead
    execution gets its ``lost`` attempt row."""
    rows = conn.execute(_SELECT_EXPIRED, {"now": now}).all()
    recovered: list[TaskRecord] = []
    for row in rows:
        before = to_record(row)
        after, error = _recovered(before, now, max_recoveries)
        history.record(after.id, _RUNNING, after.status, now, error)
        lost = lost_attempt(
            before.id,
            attempt=before.attempts,
            run=before.run_count,
            worker=before.owner,
            claimed_at=before.started_at,
            now=now,
            error=error,
        )
        attempts.record(lost, type=before.type, queue=before.queue)
        recovered.append(after)
    if recovered:
        conn.execute(
            UPDATE_BY_ID, [{"target": r.id} | {name: getattr(r, name) for name in _RECOVERY_WRITES} for r in recovered]
        )
    history.write(conn)
    attempts.write(conn)
    return recovered
