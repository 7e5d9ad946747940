"""The registry of live workers on SQL (``evertask_workers``): written at a worker's start, refreshed by its
heartbeats, removed at its stop or, once its heartbeats stop, by another worker's reaper.

``register`` is an ``UPDATE`` then, for a new id, an ``INSERT`` (a race on the primary key is retried by the
caller, as in :mod:`.queue_states`). ``queues`` is stored as a JSON list.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from evertask.storage.records import WorkerInfo
from evertask.storage.sql.tables import tasks, workers
from evertask.task import TaskStatus

_W = workers.c
_UPDATE = update(workers).where(_W.id == bindparam("worker"))
_INSERT = insert(workers)
_DELETE = delete(workers).where(_W.id == bindparam("worker"))
_REFRESH = update(workers).where(_W.id == bindparam("worker")).values(last_heartbeat=bindparam("beat"))
_PRUNE = delete(workers).where(_W.last_heartbeat < bindparam("stale_before"))
_RUNNING = (
    select(tasks.c.owner, func.count())
    .where(tasks.c.status == TaskStatus.in_progress, tasks.c.owner.in_(bindparam("ids", expanding=True)))
    .group_by(tasks.c.owner)
)
_LIST = select(_W.id, _W.host, _W.pid, _W.queues, _W.started_at, _W.last_heartbeat, _W.version).order_by(_W.id)


def register(conn: Connection, info: WorkerInfo) -> None:
    """Insert or replace ``info``'s row in the caller's transaction."""
    values = {
        "host": info.host,
        "pid": info.pid,
        "queues": json.dumps(list(info.queues)),
        "started_at": info.started_at,
        "last_heartbeat": info.last_heartbeat,
        "version": info.version,
    }
    if conn.execute(_UPDATE, values | {"worker": info.id}).rowcount == 0:
        conn.execute(_INSERT, values | {"id": info.id})


def unregister(conn: Connection, worker_id: str) -> None:
    """Remove the worker's row (none: nothing happens)."""
    conn.execute(_DELETE, {"worker": worker_id})


def refresh(conn: Connection, worker_id: str, now: datetime) -> bool:
    """Set the worker's last heartbeat to ``now``; False if it has no row."""
    return bool(conn.execute(_REFRESH, {"worker": worker_id, "beat": now}).rowcount)


def prune(conn: Connection, stale_before: datetime) -> int:
    """Remove the workers silent since before ``stale_before``; how many went."""
    return int(conn.execute(_PRUNE, {"stale_before": stale_before}).rowcount)


def list_all(conn: Connection) -> list[WorkerInfo]:
    """Every registered worker by id, with the tasks it holds in progress."""
    rows = conn.execute(_LIST).all()
    running: dict[str, int] = {}
    if rows:
        for owner, count in conn.execute(_RUNNING, {"ids": [row.id for row in rows]}):
            running[owner] = count
    return [
        WorkerInfo(
            row.id,
            row.host,
            row.pid,
            tuple(json.loads(row.queues)),
            row.started_at,
            row.last_heartbeat,
            row.version,
            running.get(row.id, 0),
        )
        for row in rows
    ]
