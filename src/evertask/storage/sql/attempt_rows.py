"""The ``evertask_task_attempts`` rows on the SQLAlchemy paths: written by ``finish`` (the portable path) and by
recovery, read back per task, and deleted with their tasks. (``attempts.py`` is another matter: the attempts
of a transaction.) The hot paths of PostgreSQL and SQLite write the same rows with their own statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, bindparam, delete, insert, select

from evertask.storage.audit import AuditFilter
from evertask.storage.records import AttemptRecord
from evertask.storage.sql.tables import task_attempts

_A = task_attempts.c
_INSERT = insert(task_attempts)
_COLUMNS = (
    _A.task_id,
    _A.attempt,
    _A.run,
    _A.worker,
    _A.started_at,
    _A.finished_at,
    _A.duration,
    _A.outcome,
    _A.error_type,
    _A.error_message,
    _A.traceback,
)
SELECT_ATTEMPTS = select(*_COLUMNS).where(_A.task_id == bindparam("task_id")).order_by(_A.id)
"""A task's attempts, oldest first."""
DELETE_ATTEMPTS_OF = delete(task_attempts).where(_A.task_id.in_(bindparam("ids", expanding=True)))
"""The attempts of the tasks ``ids`` (deleted with them)."""


def to_attempt(row: Sequence[Any]) -> AttemptRecord:
    """An :class:`AttemptRecord` from a row of :data:`SELECT_ATTEMPTS`."""
    return AttemptRecord(*row)


class AttemptWriter:
    """Collects the attempt rows of one transaction that the audit level keeps, and writes them in one go."""

    __slots__ = ("_audit", "rows")

    def __init__(self, audit: AuditFilter) -> None:
        self._audit = audit
        self.rows: list[dict[str, Any]] = []

    def record(self, attempt: AttemptRecord, *, type: str, queue: str) -> None:
        """Note one execution of a task of ``type`` in ``queue`` (dropped if the audit level does not keep it)."""
        if self._audit.keeps_attempt(attempt.traceback or attempt.error_message):
            self.rows.append(
                {
                    "task_id": attempt.task_id,
                    "type": type,
                    "queue": queue,
                    "attempt": attempt.attempt,
                    "run": attempt.run,
                    "worker": attempt.worker,
                    "started_at": attempt.started_at,
                    "finished_at": attempt.finished_at,
                    "duration": attempt.duration,
                    "outcome": attempt.outcome,
                    "error_type": attempt.error_type,
                    "error_message": attempt.error_message,
                    "traceback": attempt.traceback,
                }
            )

    def write(self, conn: Connection) -> None:
        """Insert the noted rows, in the caller's transaction."""
        if self.rows:
            conn.execute(_INSERT, self.rows)


def delete_attempts(conn: Connection, task_ids: Sequence[UUID]) -> None:
    """Delete the attempts of ``task_ids``, in the caller's transaction."""
    if task_ids:
        conn.execute(DELETE_ATTEMPTS_OF, {"ids": list(task_ids)})
