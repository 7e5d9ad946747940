"""The SQL ceilings: the raw driver (aiosqlite, psycopg) running the statements the backend runs, no library.

The tables are evertask's own (created by its migrations, so the same columns and indexes); per task:

- dispatch: the task row and its history row, inserted in one transaction per batch;
- claim: the due rows in claim order through the ``claim_queue`` index (SQLite: ``SELECT`` then ``UPDATE`` by
  ``seq`` under ``BEGIN IMMEDIATE``; PostgreSQL: one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)
  RETURNING``), their history rows, and the next-due query;
- finish: the running rows read under lock, one fenced ``UPDATE`` per task (executemany), the history rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any, Protocol

from bench.harness import SCHEMA, Backend, BackendName, fresh_backend, open_storage, sqlite_path
from evertask.queues import default_parallelism

CLAIM_BATCH = 2 * default_parallelism()
"""A claim takes at most idle consumers + prefetch: twice the default parallelism."""
FINISH_BATCH = 1000
"""The most outcomes evertask writes in one group commit."""
OWNER = "ceiling:1"
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000")
"""The pragmas of evertask's SQLite writer connection."""

_RECORD = """id, type, payload, status, queue, created_at, scheduled_at, priority, "key", attempts, started_at,
    finished_at, last_error, schedule, run_count, last_run_at, owner, fence, lease_until, recoveries,
    cancel_requested"""
_INSERT = """INSERT INTO evertask_tasks (id, type, payload, status, queue, created_at, scheduled_at, priority, "key",
    schedule, attempts, run_count, fence, recoveries, cancel_requested)
    VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, 0, 0, 0, 0, FALSE)"""
_HISTORY = "INSERT INTO evertask_task_history (task_id, from_status, to_status, at, error) VALUES (?, ?, ?, ?, NULL)"
_DUE = """FROM evertask_tasks WHERE claim_queue = ? AND {due} <= ?
    ORDER BY priority DESC, scheduled_at, seq LIMIT ?"""
_CLAIMED = """status = 'in_progress', owner = ?, lease_until = ?, started_at = ?, attempts = attempts + 1,
    fence = fence + 1"""
# SQLite reads through the claim index only if the due-time comparison cannot use another index ("+").
_SQLITE_SELECT_DUE = f"SELECT {_RECORD}, seq {_DUE.format(due='+scheduled_at')}"
_SQLITE_CLAIM = f"UPDATE evertask_tasks SET {_CLAIMED} WHERE seq IN ({{seqs}})"
_POSTGRES_CLAIM = f"""UPDATE evertask_tasks SET {_CLAIMED}
    FROM (SELECT seq, status AS previous {_DUE.format(due="scheduled_at")} FOR UPDATE SKIP LOCKED) AS locked
    WHERE evertask_tasks.seq = locked.seq RETURNING {_RECORD}, evertask_tasks.seq, locked.previous"""
_NEXT_DUE = "SELECT MIN(scheduled_at) FROM evertask_tasks WHERE claim_queue = ?"
_RUNNING = """SELECT id, owner, fence, attempts, run_count, last_run_at, last_error, finished_at, scheduled_at
    FROM evertask_tasks WHERE id IN ({ids}) AND status = 'in_progress'{lock}"""
_FINISH = """UPDATE evertask_tasks SET status = 'completed', owner = NULL, lease_until = NULL,
    cancel_requested = FALSE, last_error = ?, attempts = ?, run_count = ?, last_run_at = ?, finished_at = ?,
    scheduled_at = ? WHERE id = ?"""
_QUEUE = "default"


class Connection(Protocol):
    """The little of a driver the ceilings use; SQL is written with ``?`` placeholders."""

    lock: str
    """What a read of rows about to be changed adds to lock them."""

    def value(self, v: Any) -> Any:
        """A Python value (UUID, aware datetime) as evertask stores it on this database."""

    def transaction(self) -> AbstractAsyncContextManager[None]: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def claim(self, limit: int, now: datetime) -> list[tuple[Any, Any]]:
        """Claim up to ``limit`` due rows the way evertask does on this database: their ids and previous status."""

    async def close(self) -> None: ...


class _Sqlite:
    """One connection, as evertask's single SQLite writer: transactions take turns, ``BEGIN IMMEDIATE``."""

    lock = ""

    def __init__(self, db: Any) -> None:
        self._db = db
        self._turn = asyncio.Lock()

    def value(self, v: Any) -> Any:
        if isinstance(v, datetime):
            return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return str(v) if isinstance(v, uuid.UUID) else v

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._turn:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = await self._db.execute(sql, params)
        return list(await cursor.fetchall())

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)

    async def claim(self, limit: int, now: datetime) -> list[tuple[Any, Any]]:
        at, lease = self.value(now), self.value(now + timedelta(seconds=10))
        rows = await self.execute(_SQLITE_SELECT_DUE, (_QUEUE, at, limit))
        if rows:
            seqs = ", ".join(str(row[-1]) for row in rows)
            await self.execute(_SQLITE_CLAIM.format(seqs=seqs), (OWNER, lease, at))
        return [(row[0], row[3]) for row in rows]

    async def close(self) -> None:
        await self._db.close()


class _Postgres:
    lock = " FOR UPDATE"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def value(self, v: Any) -> Any:
        return v

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._conn.transaction():
            yield

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = await self._conn.execute(sql.replace("?", "%s"), params)
        return list(await cursor.fetchall()) if cursor.description else []

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self._conn.cursor() as cursor:
            await cursor.executemany(sql.replace("?", "%s"), rows)

    async def claim(self, limit: int, now: datetime) -> list[tuple[Any, Any]]:
        rows = await self.execute(_POSTGRES_CLAIM, (OWNER, now + timedelta(seconds=10), now, _QUEUE, now, limit))
        return [(row[0], row[-1]) for row in rows]

    async def close(self) -> None:
        await self._conn.close()


class SqlCeiling:
    """The raw-driver ceilings of one SQL backend, each measured on its own empty tables."""

    def __init__(self, backend: BackendName) -> None:
        self.backend = backend
        self.what = (
            f"raw aiosqlite, one writer connection, same pragmas ({', '.join(SQLITE_PRAGMAS)}) and statements"
            if backend == "sqlite"
            else "raw psycopg 3, same server, same statements, a connection per side (dispatch, claim, finish)"
        )

    @asynccontextmanager
    async def _connections(self, count: int) -> AsyncIterator[list[Connection]]:
        """``count`` connections, one per concurrent side; on SQLite one shared writer, as in evertask."""
        async with fresh_backend(self.backend, schema=f"{SCHEMA}_ceiling") as backend:
            storage = open_storage(backend)
            await storage.open()  # evertask's migrations create the tables
            await storage.close()
            if backend.name == "sqlite":
                shared = await self._sqlite(backend)
                try:
                    yield [shared] * count
                finally:
                    await shared.close()
                return
            conns = [await self._postgres(backend) for _ in range(count)]
            try:
                yield conns
            finally:
                for conn in conns:
                    await conn.close()

    async def _sqlite(self, backend: Backend) -> Connection:
        import aiosqlite

        db = await aiosqlite.connect(sqlite_path(backend), isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            await db.execute(f"PRAGMA {pragma}")
        return _Sqlite(db)

    async def _postgres(self, backend: Backend) -> Connection:
        import psycopg

        options = f"-c search_path={backend.schema}"
        return _Postgres(await psycopg.AsyncConnection.connect(backend.url, autocommit=True, options=options))

    async def lifecycle_rate(self, n: int, producers: int) -> float:
        """Dispatch, claim and finish run side by side, as in evertask: finishes are written in group commits
        of whatever was claimed meanwhile."""
        async with self._connections(3) as (writer, claimer, finisher):
            stored, claimed = asyncio.Event(), asyncio.Event()
            running: list[Any] = []

            async def dispatch_all() -> None:
                for first in range(0, n, producers):
                    await _insert(writer, min(producers, n - first), ahead=0.0)
                    stored.set()

            async def claim_all() -> None:
                taken = 0
                while taken < n:
                    stored.clear()  # before the claim: a commit after this point sets it again
                    rows = await _claim(claimer, CLAIM_BATCH)
                    if not rows:
                        await stored.wait()
                        continue
                    running.extend(task_id for task_id, _ in rows)
                    taken += len(rows)
                    claimed.set()

            async def finish_all() -> None:
                finished = 0
                while finished < n:
                    await claimed.wait()
                    claimed.clear()
                    batch = running[:FINISH_BATCH]
                    del running[:FINISH_BATCH]
                    if running:
                        claimed.set()
                    await _finish(finisher, batch)
                    finished += len(batch)

            started = perf_counter()
            await asyncio.gather(dispatch_all(), claim_all(), finish_all())
            return n / (perf_counter() - started)

    async def insert_rate(self, n: int, batch: int) -> float:
        async with self._connections(1) as (writer,):
            started = perf_counter()
            for first in range(0, n, batch):
                await _insert(writer, min(batch, n - first), ahead=0.0)
            return n / (perf_counter() - started)

    async def pickup_latency(self, samples: int, spacing: float) -> list[float]:
        async with self._connections(2) as (writer, worker):
            seen: list[float] = []
            start = perf_counter()
            for i in range(samples):
                await asyncio.sleep(max(0.0, start + i * spacing - perf_counter()))
                sent = perf_counter()
                await _insert(writer, 1, ahead=0.0)
                await _claim(worker, CLAIM_BATCH)
                seen.append(perf_counter() - sent)
            return seen

    async def due_lateness(self, n: int, ahead: float) -> list[float]:
        async with self._connections(2) as (writer, worker):
            due = perf_counter() + ahead
            for first in range(0, n, 500):
                await _insert(writer, min(500, n - first), ahead=ahead)
            await asyncio.sleep(due - perf_counter())
            late: list[float] = []
            while len(late) < n:
                claimed = await _claim(worker, CLAIM_BATCH)
                late.extend(perf_counter() - due for _ in claimed)
            return late


async def _insert(conn: Connection, count: int, *, ahead: float) -> None:
    now = datetime.now(UTC)
    at, due = conn.value(now), conn.value(now + timedelta(seconds=ahead))
    status = "queued" if ahead <= 0 else "pending"
    ids = [conn.value(uuid.uuid4()) for _ in range(count)]
    payload = '{"n":0,"mark":0.0}'
    async with conn.transaction():
        await conn.executemany(_INSERT, [(i, "bench.Noop", payload, status, _QUEUE, at, due) for i in ids])
        await conn.executemany(_HISTORY, [(i, None, status, at) for i in ids])


async def _claim(conn: Connection, limit: int) -> list[tuple[Any, Any]]:
    now = datetime.now(UTC)
    async with conn.transaction():
        claimed = await conn.claim(limit, now)
        if claimed:
            at = conn.value(now)
            await conn.executemany(_HISTORY, [(task_id, previous, "in_progress", at) for task_id, previous in claimed])
        await conn.execute(_NEXT_DUE, (_QUEUE,))
    return claimed


async def _finish(conn: Connection, ids: Sequence[Any]) -> None:
    at = conn.value(datetime.now(UTC))
    marks = ", ".join("?" for _ in ids)
    async with conn.transaction():
        running = await conn.execute(_RUNNING.format(ids=marks, lock=conn.lock), ids)
        changes = [(row[6], row[3], row[4], row[5], at, row[8], row[0]) for row in running]
        await conn.executemany(_FINISH, changes)
        await conn.executemany(_HISTORY, [(row[0], "in_progress", "completed", at) for row in running])
