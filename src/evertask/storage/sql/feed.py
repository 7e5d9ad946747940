"""The history as a feed: the status changes recorded after a cursor, for watchers in other processes (the
dashboard's live view of a database whose workers run elsewhere).

The cursor is the history row's id. Ids are handed out when a row is inserted but become visible when its
transaction commits, so on PostgreSQL and MySQL a row may appear after rows with higher ids: the caller keeps the
gaps it saw and asks for them again for a while (see :class:`evertask.ops.feed.FeedReader`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, or_, select

from evertask.storage.feed import HistoryRow
from evertask.storage.sql.tables import task_history, tasks

_CHANGE = task_history.c
_COLUMNS = (
    _CHANGE.id,
    _CHANGE.task_id,
    tasks.c.type,
    tasks.c.queue,
    _CHANGE.from_status,
    _CHANGE.to_status,
    _CHANGE.at,
    _CHANGE.error,
    _CHANGE.actor,
)
# History rows are deleted with their task, so every row has one (a purge racing the read hides its rows).
_FROM = task_history.join(tasks, tasks.c.id == _CHANGE.task_id)
LATEST = select(func.max(_CHANGE.id))


def history_since(conn: Connection, after: int, missing: Collection[int], limit: int) -> list[HistoryRow]:
    """Up to ``limit`` history rows with an id above ``after`` or in ``missing``, by id (the primary key: a
    range scan however long the history is)."""
    newer = _CHANGE.id > after
    where = or_(newer, _CHANGE.id.in_(sorted(missing))) if missing else newer
    statement = select(*_COLUMNS).select_from(_FROM).where(where).order_by(_CHANGE.id).limit(limit)
    return [_row(row) for row in conn.execute(statement)]


def latest_id(conn: Connection) -> int:
    """The id of the newest history row (0 when there is none)."""
    value = conn.execute(LATEST).scalar()
    return int(value or 0)


def _row(row: Any) -> HistoryRow:
    return HistoryRow(
        id=row[0],
        task_id=row[1],
        type=row[2],
        queue=row[3],
        from_status=row[4],
        to_status=row[5],
        at=row[6],
        error=row[7],
        actor=row[8],
    )
