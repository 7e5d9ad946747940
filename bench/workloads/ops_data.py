"""The data set of the ``ops`` workload: N finished and waiting tasks in four queues, stored fast.

One task in ten is ``failed`` (``n % 10 == 1``); of the others, those of the newest hundredth are still
``queued`` (a backlog is recent work), the rest ``completed``. Ten tasks in a row share a queue; task ``n`` was
created ``N - n`` milliseconds ago and, when finished, ended 5 ms later. On the SQL backends the rows are
written by one ``INSERT ... SELECT`` over a generated series, in the very format the storage writes them (ids
are UUID-shaped and in dispatch order, as UUIDv7 ids are); history and attempt rows are left out (no measured
read touches them). Memory gets the same tasks through the storage calls.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from bench.harness import POSTGRES_URL, Backend, sqlite_path
from evertask.storage import NewTask, Outcome, Storage
from evertask.task import TaskRecord, TaskStatus

QUEUES = ("default", "mail", "reports", "webhooks")
TYPE = "bench.Noop"
ERROR = "ValueError: boom"
_COLUMNS = """id, type, payload, status, queue, created_at, scheduled_at, priority, "key", attempts, started_at,
    finished_at, last_error, schedule, run_count, last_run_at, owner, fence, lease_until, recoveries,
    cancel_requested"""
_STATUS = "CASE WHEN n % 10 = 1 THEN 'failed' WHEN n > {waiting} THEN 'queued' ELSE 'completed' END"
_RAN = "(n % 10 = 1 OR n <= {waiting})"
_POSTGRES = f"""INSERT INTO {{schema}}.evertask_tasks ({_COLUMNS})
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, '{TYPE}', '{{"n": ' || n || '}}', {_STATUS},
    (ARRAY['{"', '".join(QUEUES)}'])[n / 10 % 4 + 1], c.created, c.created, 0, NULL,
    CASE WHEN {_RAN} THEN 1 ELSE 0 END,
    CASE WHEN {_RAN} THEN c.created + interval '2 milliseconds' END,
    CASE WHEN {_RAN} THEN c.created + interval '5 milliseconds' END,
    CASE WHEN n % 10 = 1 THEN '{ERROR}' END, NULL, 0, NULL, NULL, CASE WHEN {_RAN} THEN 1 ELSE 0 END, NULL, 0, false
FROM generate_series(1, %(n)s) AS n, LATERAL (SELECT %(start)s + n * interval '1 millisecond' AS created) AS c
""".replace(" % ", " %% ").replace("{waiting}", "%(waiting)s")  # psycopg's placeholders: a modulo is written %%


async def settle(conn: Any, table: str, attempts: int = 20) -> None:
    """Statistics and the visibility map of a settled table, as autovacuum leaves it within a minute. A
    transaction open elsewhere on the server when VACUUM runs keeps it from marking the new rows visible to
    all (index-only scans then visit the table): it is run again until it marks nearly every page."""
    for _ in range(attempts):
        await conn.execute(f"VACUUM ANALYZE {table}")
        cursor = await conn.execute(
            "SELECT relallvisible >= 0.99 * relpages FROM pg_class WHERE oid = %s::regclass", (table,)
        )
        row = await cursor.fetchone()
        if row and row[0]:
            return
        await asyncio.sleep(0.5)


def _sqlite_time(offset_us: int) -> str:
    """Task ``n``'s creation time plus ``offset_us``, as the storage writes times on SQLite."""
    at = f"(:start_us + n * 1000 + {offset_us})"
    return f"strftime('%Y-%m-%d %H:%M:%S', {at} / 1000000, 'unixepoch') || printf('.%06d', {at} % 1000000)"


_SQLITE = f"""INSERT INTO evertask_tasks ({_COLUMNS})
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n)
SELECT printf('00000000-0000-7000-8000-%012x', n), '{TYPE}', '{{"n": ' || n || '}}', {_STATUS},
    CASE n / 10 % 4 {" ".join(f"WHEN {i} THEN '{q}'" for i, q in enumerate(QUEUES))} END,
    {_sqlite_time(0)}, {_sqlite_time(0)}, 0, NULL,
    CASE WHEN {_RAN} THEN 1 ELSE 0 END,
    CASE WHEN {_RAN} THEN {_sqlite_time(2000)} END,
    CASE WHEN {_RAN} THEN {_sqlite_time(5000)} END,
    CASE WHEN n % 10 = 1 THEN '{ERROR}' END, NULL, 0, NULL, NULL, CASE WHEN {_RAN} THEN 1 ELSE 0 END, NULL, 0, 0
FROM s""".replace("{waiting}", ":waiting")


def queue_of(n: int) -> str:
    """The queue of task ``n``: ten tasks in a row share one (so each queue holds tasks of every status)."""
    return QUEUES[n // 10 % 4]


def waiting_from(total: int) -> int:
    """Tasks numbered above this one and not failed are still waiting."""
    return total - total // 100


def status_of(n: int, total: int) -> TaskStatus:
    """The status task ``n`` of ``total`` has in the data set."""
    if n % 10 == 1:
        return TaskStatus.failed
    return TaskStatus.queued if n > waiting_from(total) else TaskStatus.completed


async def load(backend: Backend, storage: Storage, n: int) -> None:
    """Store the data set of ``n`` tasks (``storage`` is open: the tables exist)."""
    start = datetime.now(UTC) - timedelta(milliseconds=n + 1000)
    if backend.name == "postgres":
        import psycopg

        async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
            parameters = {"n": n, "start": start, "waiting": waiting_from(n)}
            await conn.execute(_POSTGRES.replace("{schema}", str(backend.schema)), parameters)
            await settle(conn, f"{backend.schema}.evertask_tasks")
    elif backend.name == "sqlite":
        start_us = (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        with sqlite3.connect(sqlite_path(backend)) as db:
            db.execute(_SQLITE, {"n": n, "start_us": start_us, "waiting": waiting_from(n)})
    elif backend.name == "memory":
        await _load_through_calls(storage, n, start)
    else:
        raise SystemExit(f"the ops workload has no loader for {backend.name}")


async def _load_through_calls(storage: Storage, n: int, start: datetime, batch: int = 5000) -> None:
    """The data set through add, claim and finish: each batch's finished tasks first, then its waiting ones."""
    for first in range(1, n + 1, batch):
        numbers = range(first, min(first + batch, n + 1))
        await storage.add([_task(i, start) for i in numbers if status_of(i, n).is_final])
        for queue in QUEUES:
            due = _at(start, n)
            claimed = await storage.claim(owner="loader", queues=[queue], now=due, limit=batch, lease_until=due)
            await storage.finish([_ended(record, start, n) for record in claimed.tasks])
        await storage.add([_task(i, start) for i in numbers if not status_of(i, n).is_final])


def _task(n: int, start: datetime) -> NewTask:
    created = _at(start, n)
    return NewTask(UUID(f"00000000-0000-7000-8000-{n:012x}"), TYPE, f'{{"n": {n}}}', queue_of(n), created, created)


def _ended(record: TaskRecord, start: datetime, total: int) -> Outcome:
    n = json.loads(record.payload)["n"]
    status = status_of(n, total)
    error = ERROR if status is TaskStatus.failed else None
    return Outcome(record.id, "loader", record.fence, status, _at(start, n + 5), error)


def _at(start: datetime, n: int) -> datetime:
    return start + timedelta(milliseconds=n)
