"""``claim``: take due tasks for one owner, never handing a task to two owners at once.

A claim is one small function per dialect, chosen by :func:`claim_for`:

- PostgreSQL: one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` statement;
- MySQL/MariaDB, SQL Server and SQLite: ``SELECT ... FOR UPDATE SKIP LOCKED`` (table hints on SQL Server;
  nothing on SQLite, whose single writer excludes every other claimer), then ``UPDATE`` by primary key, the
  claimed records being built from the rows read. (MariaDB has no ``UPDATE ... RETURNING``, and SQLite's cannot
  return the status a task had before.)

Both read waiting tasks through the ``claim_queue`` index in claim order, so a claim reads about ``limit`` rows
however many tasks wait. :func:`claim_tasks` adds the history rows and the next due time in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, FunctionElement, Select, bindparam, func, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from evertask.storage.base import ClaimResult
from evertask.storage.sql.queue_states import paused_names
from evertask.storage.sql.tables import (
    CLAIM_INDEX,
    CLAIM_ORDER,
    RECORD_COLUMNS,
    HistoryWriter,
    for_update,
    tasks,
    to_record,
)
from evertask.storage.sql.types import UtcDateTime
from evertask.task import TaskRecord, TaskStatus


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """The arguments of one :meth:`Storage.claim` call."""

    owner: str
    queues: tuple[str, ...]
    now: datetime
    limit: int
    lease_until: datetime


Claimed = list[tuple[TaskRecord, TaskStatus]]
"""Claimed tasks in claim order, each with the status it had before."""
ClaimFunction = Callable[[Connection, ClaimRequest], Claimed]


class _NotIndexed(FunctionElement[datetime]):
    """A column the planner may not use an index for: ``+column`` on SQLite, the plain column elsewhere."""

    inherit_cache = True
    type = UtcDateTime()


@compiles(_NotIndexed)
def _plain(element: _NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_NotIndexed, "sqlite")
def _unary_plus(element: _NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


# Statements are built once, with bound parameters, so that a claim pays neither for building them nor for
# their cache keys. Each comes in two forms: for one queue (``in_queue``) and for several (``in_queues``).
_WAITING: dict[bool, ColumnElement[bool]] = {
    True: tasks.c.claim_queue == bindparam("in_queue"),
    False: tasks.c.claim_queue.in_(bindparam("in_queues", expanding=True)),
}
_NOW = bindparam("now", type_=UtcDateTime())
_CLAIMED_VALUES: dict[str, Any] = {
    "status": TaskStatus.in_progress,
    "owner": bindparam("claim_owner"),
    "lease_until": bindparam("claim_lease", type_=UtcDateTime()),
    "started_at": _NOW,
    "attempts": tasks.c.attempts + 1,
    "fence": tasks.c.fence + 1,
}


def _select_due(*columns: Any, one_queue: bool) -> Select[Any]:
    """The first ``limit`` due tasks in claim order, locked, skipping those another claimer holds.

    They are read through the claim index, in claim order, so about ``limit`` rows are read however many tasks
    are due. Left to choose, SQLite (no statistics) prefers the due-time index and sorts every due task on each
    claim, and MySQL scans and sorts small tables, which makes a locking read lock every due task for one claimer.
    """
    due = _NotIndexed(tasks.c.scheduled_at) <= _NOW  # on SQLite: keeps the due-time index out of the choice
    query = select(*columns).where(_WAITING[one_queue], due).order_by(*CLAIM_ORDER).limit(bindparam("limit"))
    force = f"FORCE INDEX ({CLAIM_INDEX.name})"
    return for_update(query.with_hint(tasks, force, "mysql").with_hint(tasks, force, "mariadb"), skip_locked=True)


def _update_returning(one_queue: bool) -> Any:
    locked = _select_due(tasks.c.seq, tasks.c.status.label("previous"), one_queue=one_queue).subquery("locked")
    return (
        update(tasks)
        .where(tasks.c.seq == locked.c.seq)
        .values(_CLAIMED_VALUES)
        .returning(*RECORD_COLUMNS, tasks.c.seq, locked.c.previous)
    )


SELECT_DUE = {one: _select_due(*RECORD_COLUMNS, tasks.c.seq, one_queue=one) for one in (True, False)}
"""The first step of the two-step claim."""
CLAIM_BY_SEQ = update(tasks).where(tasks.c.seq.in_(bindparam("seqs", expanding=True))).values(_CLAIMED_VALUES)
"""The second step of the two-step claim: mark the rows read as claimed."""
UPDATE_RETURNING = {one: _update_returning(one) for one in (True, False)}
"""PostgreSQL's one-statement claim: the locked rows updated, returned with their previous status."""
NEXT_DUE = select(func.min(tasks.c.scheduled_at)).where(_WAITING[True])
"""The earliest due time among waiting tasks of one queue: one index lookup."""


def _parameters(request: ClaimRequest) -> dict[str, Any]:
    queues: dict[str, Any] = (
        {"in_queue": request.queues[0]} if len(request.queues) == 1 else {"in_queues": request.queues}
    )
    return queues | {
        "now": request.now,
        "limit": request.limit,
        "claim_owner": request.owner,
        "claim_lease": request.lease_until,
    }


def _claim_returning(conn: Connection, request: ClaimRequest) -> Claimed:
    statement = UPDATE_RETURNING[len(request.queues) == 1]
    rows = list(conn.execute(statement, _parameters(request)).all())
    # RETURNING follows no order: restore claim order (priority, due time, dispatch order).
    rows.sort(key=lambda row: (-row.priority, row.scheduled_at, row.seq))
    return [(to_record(row), row.previous) for row in rows]


def _claim_select_then_update(conn: Connection, request: ClaimRequest) -> Claimed:
    parameters = _parameters(request)
    rows = conn.execute(SELECT_DUE[len(request.queues) == 1], parameters).all()
    if not rows:
        return []
    conn.execute(CLAIM_BY_SEQ, parameters | {"seqs": [row.seq for row in rows]})
    claimed: Claimed = []
    for row in rows:
        record = to_record(row)
        after = replace(
            record,
            status=TaskStatus.in_progress,
            owner=request.owner,
            lease_until=request.lease_until,
            started_at=request.now,
            attempts=record.attempts + 1,
            fence=record.fence + 1,
        )
        claimed.append((after, record.status))
    return claimed


_CLAIMS: dict[str, ClaimFunction] = {"postgresql": _claim_returning}


def claim_for(dialect: str) -> ClaimFunction:
    """The claim function of ``dialect`` (the two-step claim unless the dialect has a better one)."""
    return _CLAIMS.get(dialect, _claim_select_then_update)


def _next_due(conn: Connection, queues: Sequence[str]) -> datetime | None:
    dues = [conn.execute(NEXT_DUE, {"in_queue": queue}).scalar() for queue in queues]
    return min((due for due in dues if due is not None), default=None)


def claim_tasks(conn: Connection, claim: ClaimFunction, request: ClaimRequest, history: HistoryWriter) -> ClaimResult:
    """Claim in the caller's transaction: the dialect's claim, its history rows, then the next due time.

    Paused queues are dropped from the request first, read in the same transaction (one read of a table of a
    few rows): a pause committed before the claim began is always seen.
    """
    paused = paused_names(conn) if request.queues else frozenset()
    if paused:
        request = replace(request, queues=tuple(queue for queue in request.queues if queue not in paused))
    if not request.queues:
        return ClaimResult([], None)
    claimed = claim(conn, request) if request.limit > 0 else []
    for record, previous in claimed:
        history.record(record.id, previous, TaskStatus.in_progress, request.now)
    history.write(conn)
    return ClaimResult([record for record, _ in claimed], _next_due(conn, request.queues))
