"""SQLite's hot path: ``claim``, ``finish`` and ``add`` (without keys) on the writer's ``sqlite3`` connection.

The bodies run on the bare ``sqlite3`` writing connection, in the transaction :class:`.sqlite_writer.SqliteWriter`
opened (``BEGIN IMMEDIATE`` ... ``COMMIT``), skipping SQLAlchemy's per-statement work (execution context, result and
type processing); ``sqlite3`` errors propagate and the writer raises them as SQLAlchemy would. The statements are
the ones the SQLAlchemy path runs (same order, same index use), with batches as ``executemany`` and id lists passed
as one JSON array (``json_each``) so that each statement's text is fixed and stays in ``sqlite3``'s statement cache.
Values are stored exactly as the column types (:mod:`.types`) store them: times as naive-UTC text with microseconds
(SQLAlchemy's SQLite format), ids as dashed text, statuses by value; a naive datetime is a ``ValueError``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from evertask.storage.audit import AuditFilter
from evertask.storage.base import ClaimResult, NewTask, Outcome
from evertask.storage.sql.tables import ATTEMPTS_TABLE, HISTORY_TABLE, QUEUES_TABLE, RECORD_COLUMNS, TASKS_TABLE
from evertask.task import TaskRecord, TaskStatus

_RUNNING = TaskStatus.in_progress
_NAMES = [column.name for column in RECORD_COLUMNS]
_RECORD = ", ".join(f'"{name}"' for name in _NAMES)
_TIMES = tuple(i for i, c in enumerate(RECORD_COLUMNS) if c.type.__class__.__name__ == "UtcDateTime")
_STATUS = _NAMES.index("status")
_ID = _NAMES.index("id")
_CANCEL = _NAMES.index("cancel_requested")
_T, _H = TASKS_TABLE, HISTORY_TABLE
_PAUSED = f"SELECT name FROM {QUEUES_TABLE} WHERE paused"

# The claim walks the claim index (claim_queue, priority DESC, scheduled_at, seq) one priority at a time: within a
# priority the due rows come first, so the scan stops at the first row not yet due. One query over all
# priorities cannot stop there (the due time is not its leading order) and read every waiting row of the queue
# whenever fewer than ``limit`` were due: 13-20 ms per claim with 100,000 tasks held for later.
_TOP_PRIORITY = f"SELECT priority FROM {_T} WHERE claim_queue = ? ORDER BY priority DESC LIMIT 1"
_NEXT_PRIORITY = f"SELECT priority FROM {_T} WHERE claim_queue = ? AND priority < ? ORDER BY priority DESC LIMIT 1"
_SELECT_DUE = {
    True: f"""SELECT {_RECORD}, seq FROM {_T} WHERE claim_queue = ? AND priority = ? AND scheduled_at <= ?
        ORDER BY scheduled_at, seq LIMIT ?""",
    False: f"""SELECT {_RECORD}, seq FROM {_T}
        WHERE claim_queue IN (SELECT value FROM json_each(?)) AND priority = ? AND scheduled_at <= ?
        ORDER BY scheduled_at, seq LIMIT ?""",
}
_CLAIM = f"""UPDATE {_T} SET status = 'in_progress', owner = ?, lease_until = ?, started_at = ?,
    attempts = attempts + 1, fence = fence + 1 WHERE seq IN (SELECT value FROM json_each(?))"""
_NEXT_DUE = f"SELECT min(scheduled_at) FROM {_T} WHERE claim_queue = ?"
_HISTORY = f"INSERT INTO {_H} (task_id, from_status, to_status, at, error) VALUES (?, ?, ?, ?, ?)"
_RUNNING_ROWS = f"""SELECT id, owner, fence, attempts, run_count, last_run_at, last_error, finished_at, scheduled_at,
    type, queue, started_at FROM {_T} WHERE id IN (SELECT value FROM json_each(?)) AND status = 'in_progress'"""
_FINISH = f"""UPDATE {_T} SET status = ?, owner = NULL, lease_until = NULL, cancel_requested = 0, last_error = ?,
    attempts = ?, run_count = ?, last_run_at = ?, finished_at = ?, scheduled_at = ?,
    result = CASE WHEN ? THEN ? ELSE result END WHERE id = ?"""
_ATTEMPT = f"""INSERT INTO {ATTEMPTS_TABLE} (task_id, type, queue, attempt, run, worker, started_at, finished_at,
    duration, outcome, error_type, error_message, traceback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_INSERT = f"""INSERT INTO {_T} (id, type, payload, status, queue, created_at, scheduled_at, priority, "key",
    schedule, attempts, run_count, fence, recoveries, cancel_requested)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 0, 0, 0, 0, 0)"""


def stored_time(value: datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite (naive UTC, microseconds); a naive datetime is refused."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: evertask stores timezone-aware UTC times only")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _record(row: Sequence[Any]) -> TaskRecord:
    values = list(row[: len(_NAMES)])
    values[_ID] = UUID(values[_ID])
    values[_STATUS] = TaskStatus(values[_STATUS])
    values[_CANCEL] = bool(values[_CANCEL])
    for i in _TIMES:
        values[i] = _time(values[i])
    return TaskRecord(*values)


def claim(
    db: sqlite3.Connection,
    audit: AuditFilter,
    *,
    owner: str,
    queues: Sequence[str],
    now: datetime,
    limit: int,
    lease_until: datetime,
) -> ClaimResult:
    """The claim, in the writer's transaction: due rows in claim order, marked claimed, history, next due.
    Paused queues are left out, read in the same transaction."""
    paused: frozenset[str] = frozenset()
    rows_paused = db.execute(_PAUSED).fetchall()
    if rows_paused:
        paused = frozenset(name for (name,) in rows_paused).intersection(queues)
        queues = [queue for queue in queues if queue not in paused]
        if not queues:
            return ClaimResult([], None, paused)
    at, lease = stored_time(now), stored_time(lease_until)
    rows: list[Any] = []
    if limit > 0:
        one = len(queues) == 1
        where = queues[0] if one else json.dumps(list(queues))
        priority = _next_priority(db, queues, None)
        while priority is not None and len(rows) < limit:
            rows += db.execute(_SELECT_DUE[one], (where, priority, at, limit - len(rows))).fetchall()
            priority = _next_priority(db, queues, priority)
    claimed: list[TaskRecord] = []
    if rows:
        db.execute(_CLAIM, (owner, lease, at, json.dumps([row[-1] for row in rows])))
        keep = audit.keeps(_RUNNING, None)
        history = []
        for row in rows:
            record = _record(row)
            previous = record.status
            record.status = _RUNNING
            record.owner = owner
            record.lease_until = lease_until
            record.started_at = now
            record.attempts += 1
            record.fence += 1
            claimed.append(record)
            if keep:
                history.append((row[_ID], previous.value, _RUNNING.value, at, None))
        if history:
            db.executemany(_HISTORY, history)
    dues = [db.execute(_NEXT_DUE, (queue,)).fetchone()[0] for queue in queues]
    due = min((d for d in dues if d is not None), default=None)
    return ClaimResult(claimed, _time(due), paused)


def _next_priority(db: sqlite3.Connection, queues: Sequence[str], below: int | None) -> int | None:
    """The highest priority of a waiting task in ``queues`` (below ``below``), each queue one index seek."""
    found = [
        db.execute(_TOP_PRIORITY, (queue,)).fetchone()
        if below is None
        else db.execute(_NEXT_PRIORITY, (queue, below)).fetchone()
        for queue in queues
    ]
    return max((row[0] for row in found if row is not None), default=None)


def finish(db: sqlite3.Connection, audit: AuditFilter, outcomes: Sequence[Outcome]) -> list[bool]:
    """Apply each outcome whose owner and fence still hold the claim (as :func:`.leases.finish_outcomes`)."""
    times = _Times()
    ids = json.dumps(sorted({str(o.id) for o in outcomes}))
    running = {row[0]: row for row in db.execute(_RUNNING_ROWS, (ids,))}
    applied: list[bool] = []
    changes: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    attempt_rows: list[tuple[Any, ...]] = []
    for outcome in outcomes:
        task_id = str(outcome.id)
        row = running.get(task_id)
        if row is None or row[1] != outcome.owner or row[2] != outcome.fence:
            applied.append(False)
            continue
        del running[task_id]  # a second outcome for the same attempt finds it finished
        _, _, _, attempts, run_count, last_run_at, last_error, finished_at, scheduled_at, type_, queue, claimed = row
        at = times(outcome.at)
        final = outcome.status.is_final
        new_run = outcome.run_finished
        if outcome.attempt_refunded:
            attempts = max(0, attempts - 1)
        if not final and outcome.next_run is not None:
            scheduled_at = times(outcome.next_run)
        changes.append(
            (
                outcome.status.value,
                outcome.error if outcome.error is not None else last_error,
                0 if new_run else attempts,
                run_count + 1 if new_run else run_count,
                at if new_run else last_run_at,
                at if final else finished_at,
                scheduled_at,
                outcome.ending == "completed",
                outcome.result,
                task_id,
            )
        )
        if audit.keeps(outcome.status, outcome.error):
            history.append((task_id, _RUNNING.value, outcome.status.value, at, outcome.error))
        if outcome.ending is not None and audit.keeps_attempt(outcome.error):
            started = claimed if outcome.started_at is None else times(outcome.started_at)
            attempt_rows.append(
                (
                    task_id,
                    type_,
                    queue,
                    outcome.attempt,
                    outcome.run,
                    outcome.owner,
                    started,
                    at,
                    outcome.duration,
                    outcome.ending,
                    outcome.error_type,
                    outcome.error_message,
                    outcome.error,
                )
            )
        applied.append(True)
    if changes:
        db.executemany(_FINISH, changes)
    if history:
        db.executemany(_HISTORY, history)
    if attempt_rows:
        db.executemany(_ATTEMPT, attempt_rows)
    return applied


def add(db: sqlite3.Connection, audit: AuditFilter, new: Sequence[NewTask]) -> list[UUID]:
    """Insert ``new`` (no task has a key) and its history rows, in the writer's transaction."""
    times = _Times()
    rows = []
    history = []
    for task in new:
        task_id, created = str(task.id), times(task.created_at)
        status = task.status.value
        rows.append(
            (
                task_id,
                task.type,
                task.payload,
                status,
                task.queue,
                created,
                times(task.scheduled_at),
                task.priority,
                task.schedule,
            )
        )
        if audit.keeps(task.status, None):
            history.append((task_id, None, status, created, None))
    db.executemany(_INSERT, rows)
    if history:
        db.executemany(_HISTORY, history)
    return [task.id for task in new]


class _Times:
    """:func:`stored_time` for one batch: the tasks of a batch mostly share an instant, formatted once."""

    __slots__ = ("_last", "_text")

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._text = ""

    def __call__(self, value: datetime) -> str:
        if value is not self._last:
            self._text = stored_time(value)
            self._last = value
        return self._text
