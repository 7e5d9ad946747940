"""Bulk actions: ``retry``, ``cancel_matching`` and ``purge_matching``, one chunk of tasks per transaction.

Each chunk is found, then changed:

1. the next :data:`~evertask.storage.paging.CHUNK` candidates (``SQLITE_CHUNK`` on SQLite) are read in index
   order, past where the last chunk ended (a plain read, outside any write transaction: SQLite's write lock is
   not held meanwhile);
2. one short write transaction locks them by primary key (in ``seq`` order, so two bulk actions cannot
   deadlock), reads their status again (a task that changed meanwhile is judged as it is now), changes them
   with one statement per kind of change and writes their history rows.

So a chunk's locks last only as long as its write: a claim waits for at most one chunk on SQLite (one writer
at a time) and skips locked rows on the servers (``SKIP LOCKED``). Tasks of final statuses are walked in the
order of their query index (migration 0007): by finish time when the filter bounds it, else by creation time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import BindParameter, Connection, Row, Select, bindparam, delete, select, update

from evertask.storage.audit import AuditFilter
from evertask.storage.paging import Position
from evertask.storage.records import SortField, TaskFilter
from evertask.storage.sql.database import Database
from evertask.storage.sql.queries import SORT_COLUMNS, count_tasks, page_select
from evertask.storage.sql.tables import HistoryWriter, for_update, task_attempts, task_history, tasks
from evertask.storage.sql.types import UtcDateTime
from evertask.task import FINAL_STATUSES, TaskStatus

Change = Callable[[Connection, list[Row[Any]], HistoryWriter], int]
"""Changes the locked rows (seq, id, status) of one chunk in its transaction; how many it changed."""

_SEQS: BindParameter[Any] = bindparam("seqs", expanding=True)
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_NOW = bindparam("now", type_=UtcDateTime())
_LOCK = for_update(select(tasks.c.seq, tasks.c.id, tasks.c.status).where(tasks.c.seq.in_(_SEQS)).order_by(tasks.c.seq))
_BY_SEQ = update(tasks).where(tasks.c.seq.in_(_SEQS))
_REQUEUED = {
    "status": TaskStatus.queued,
    "scheduled_at": _NOW,
    "finished_at": None,
    "attempts": 0,
    "recoveries": 0,
    "owner": None,
    "lease_until": None,
    "cancel_requested": False,
}
_RETRY = {False: _BY_SEQ.values(_REQUEUED), True: _BY_SEQ.values(_REQUEUED | {"payload": bindparam("payload")})}
_CANCEL = _BY_SEQ.values(status=TaskStatus.cancelled, finished_at=_NOW)
_FLAG = _BY_SEQ.values(cancel_requested=True)
_DELETE_HISTORY = delete(task_history).where(task_history.c.task_id.in_(_IDS))
_DELETE_ATTEMPTS = delete(task_attempts).where(task_attempts.c.task_id.in_(_IDS))
_DELETE_TASKS = delete(tasks).where(tasks.c.seq.in_(_SEQS))

if TYPE_CHECKING:  # psycopg is imported only where PostgreSQL is chosen
    from evertask.storage.sql.direct_pool import DirectWork


class BulkAction:
    """The chunked actions of one storage: its database and its audit level."""

    def __init__(self, db: Database, audit: AuditFilter, chunk: int) -> None:
        self._db = db
        self._audit = audit
        self._chunk_size = chunk

    async def count(self, f: TaskFilter, statuses: frozenset[TaskStatus]) -> int:
        """How many tasks an action over ``statuses`` would change (a dry run)."""
        within = statuses if f.statuses is None else statuses & f.statuses
        return await self._db.read(lambda conn: count_tasks(conn, replace(f, statuses=within)))

    async def run(
        self,
        f: TaskFilter,
        statuses: frozenset[TaskStatus],
        change: Change,
        direct: Callable[[list[int]], DirectWork[int]] | None = None,
    ) -> int:
        """Apply ``change`` to every task ``f`` matches among ``statuses``, chunk by chunk; how many it changed.
        ``direct``: the same change as one statement for a chunk's ``seq`` list, run on PostgreSQL's direct path."""
        within = statuses if f.statuses is None else statuses & f.statuses
        final = within <= FINAL_STATUSES
        sort: SortField = "finished" if final and (f.finished_after or f.finished_before) else "created"
        columns = (SORT_COLUMNS[sort],)  # with seq: all in the index walked, no table row is read
        position: Position | None = None
        changed = 0
        while True:
            # One branch per final status walks its own index; the others are read in one walk of creation order.
            statement = page_select(
                columns, f, within, sort=sort, descending=False, limit=self._chunk_size, position=position, split=final
            )
            if statement is None:
                return changed
            candidates = await self._db.read(partial(_rows, statement))
            if not candidates:
                return changed
            position = Position(candidates[-1][0], candidates[-1][1])
            seqs = [row[-1] for row in candidates]
            if direct is not None:
                changed += await self._db.write_direct(direct(seqs), idempotent=True)
            else:
                changed += await self._db.write(partial(self._chunk, seqs=seqs, change=change), idempotent=True)

    def _chunk(self, conn: Connection, *, seqs: Sequence[int], change: Change) -> int:
        rows = list(conn.execute(_LOCK, {"seqs": list(seqs)}))
        history = HistoryWriter(self._audit)
        changed = change(conn, rows, history)
        history.write(conn)
        return changed


def _rows(statement: Select[Any], conn: Connection) -> list[Sequence[Any]]:
    return list(conn.execute(statement))


def retry_change(now: datetime, actor: str | None, payload: str | None) -> Change:
    """Failed and cancelled rows back to ``queued``, due at ``now``, with a fresh retry budget."""

    def change(conn: Connection, rows: list[Row[Any]], history: HistoryWriter) -> int:
        retried = [row for row in rows if row.status in (TaskStatus.failed, TaskStatus.cancelled)]
        if retried:
            parameters: dict[str, Any] = {"seqs": [row.seq for row in retried], "now": now}
            if payload is not None:
                parameters["payload"] = payload
            conn.execute(_RETRY[payload is not None], parameters)
        for row in retried:
            history.record(row.id, row.status, TaskStatus.queued, now, actor=actor)
        return len(retried)

    return change


def cancel_change(now: datetime, actor: str | None) -> Change:
    """Waiting rows ``cancelled`` at ``now``; running ones flagged for their worker; final ones left."""

    def change(conn: Connection, rows: list[Row[Any]], history: HistoryWriter) -> int:
        running = [row.seq for row in rows if row.status is TaskStatus.in_progress]
        waiting = [row for row in rows if row.status is not TaskStatus.in_progress and not row.status.is_final]
        if running:
            conn.execute(_FLAG, {"seqs": running})
        if waiting:
            conn.execute(_CANCEL, {"seqs": [row.seq for row in waiting], "now": now})
        for row in waiting:
            history.record(row.id, row.status, TaskStatus.cancelled, now, actor=actor)
        return len(running) + len(waiting)

    return change


def purge_change(conn: Connection, rows: list[Row[Any]], history: HistoryWriter) -> int:
    """Final rows deleted, with their history and attempt rows."""
    final = [row for row in rows if row.status.is_final]
    if final:
        ids: list[UUID] = [row.id for row in final]
        conn.execute(_DELETE_HISTORY, {"ids": ids})
        conn.execute(_DELETE_ATTEMPTS, {"ids": ids})
        conn.execute(_DELETE_TASKS, {"seqs": [row.seq for row in final]})
    return len(final)
