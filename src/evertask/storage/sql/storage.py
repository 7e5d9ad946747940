"""``SqlStorage``: the :class:`~evertask.storage.base.Storage` contract on PostgreSQL, MySQL/MariaDB and SQLite.

Each method is one transaction (or one read) run by :class:`~evertask.storage.sql.database.Database`, which owns
connections and retries; the statements live beside the idea they serve (``keys``, ``claim``, ``leases``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from evertask.limits import DEFAULT_MAX_PAYLOAD_BYTES, payload_limit
from evertask.storage.audit import AuditFilter
from evertask.storage.base import (
    AuditLevel,
    CancelResult,
    ClaimResult,
    HeartbeatResult,
    NewTask,
    Outcome,
    RetentionPolicy,
    TaskQuery,
)
from evertask.storage.feed import HistoryRow
from evertask.storage.paging import CHUNK, RETRYABLE, SQLITE_CHUNK, check_filter, check_payload
from evertask.storage.records import (
    AttemptRecord,
    PageRequest,
    QueueState,
    QueueStats,
    TaskFilter,
    TaskPage,
    ThroughputBucket,
    TypeStats,
    WorkerInfo,
)
from evertask.storage.sql import feed, queue_states, sqlite_direct, stats, worker_registry
from evertask.storage.sql.actions import BulkAction, cancel_change, purge_change, retry_change
from evertask.storage.sql.attempt_rows import SELECT_ATTEMPTS, AttemptWriter, to_attempt
from evertask.storage.sql.bulk_direct import DirectRetry
from evertask.storage.sql.changes import cancel_task, purge_tasks, reschedule_task
from evertask.storage.sql.claim import ClaimRequest, claim_for, claim_tasks
from evertask.storage.sql.database import Database
from evertask.storage.sql.direct import DirectStatements
from evertask.storage.sql.engine import DEFAULT_BUSY_TIMEOUT
from evertask.storage.sql.keys import add_tasks
from evertask.storage.sql.leases import extend_leases, finish_outcomes, recover_leases
from evertask.storage.sql.migrate import check_schema, migrate
from evertask.storage.sql.queries import count_tasks, find_by_key, query_page
from evertask.storage.sql.ratelimit import take_bucket_token
from evertask.storage.sql.tables import RECORD_COLUMNS, HistoryWriter, task_history, tasks, to_record
from evertask.storage.sql.wakeups import PostgresWakeups, channel_for
from evertask.storage.urls import DEFAULT_POOL_SIZE
from evertask.task import FINAL_STATUSES, StatusChange, TaskRecord, TaskStatus

_GET = select(*RECORD_COLUMNS).where(tasks.c.id == bindparam("id"))
_COUNT = select(tasks.c.status, func.count()).group_by(tasks.c.status)
_COUNT_IN_QUEUE = _COUNT.where(tasks.c.queue == bindparam("queue"))
_NOT_FINAL = frozenset(TaskStatus) - FINAL_STATUSES
_CHANGE = task_history.c
_HISTORY = (
    select(_CHANGE.task_id, _CHANGE.from_status, _CHANGE.to_status, _CHANGE.at, _CHANGE.error, _CHANGE.actor)
    .where(_CHANGE.task_id == bindparam("task_id"))
    .order_by(_CHANGE.id)
)
# A MySQL statement travels in one packet of at most max_allowed_packet bytes, with the payload escaped inside
# it (asyncmy sends text, and escaping can double JSON, which is full of quotes), beside the row's other values.
_MYSQL_ROW_ROOM = 64 * 1024
_RESULT = select(tasks.c.result).where(tasks.c.id == bindparam("id"))


class SqlStorage:
    """Durable storage in a SQL database, through SQLAlchemy Core (async).

    ``url``: ``postgresql://...`` (psycopg 3), ``mysql://...`` or ``mariadb://...`` (asyncmy; MySQL 8, MariaDB
    10.6+) or ``sqlite:///path`` (``sqlite+aiosqlite:///path`` is accepted too: see :mod:`.engine` for why SQLite
    runs on the standard ``sqlite3`` module).
    ``schema``: PostgreSQL schema (created if missing) or, on MySQL/MariaDB, the database to use; SQLite has none.
    ``auto_migrate``: create or upgrade the tables at :meth:`open` (else :meth:`open` checks they are current).
    ``audit``: how much status history is kept. ``pool_size``: connections kept open (SQLite: readers).
    ``busy_timeout``: SQLite only, the seconds a call waits for another process's write lock before it raises
    :class:`~evertask.errors.StorageBusyError` (default 30; also ``?busy_timeout=SECONDS`` in the URL).
    ``max_payload_bytes``: the largest payload JSON accepted, in UTF-8 bytes (dispatch raises
    :class:`~evertask.errors.PayloadTooLargeError` above it). On MySQL/MariaDB, :meth:`open` lowers it to what the
    server's ``max_allowed_packet`` can carry: half of it, less 64 KiB.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        schema: str | None = None,
        auto_migrate: bool = True,
        audit: AuditLevel = "full",
        pool_size: int = DEFAULT_POOL_SIZE,
        echo: bool = False,
        busy_timeout: float | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self._db = Database(url, schema=schema, pool_size=pool_size, echo=echo, busy_timeout=busy_timeout)
        self._max_payload_bytes = self._configured_payload_bytes = payload_limit(max_payload_bytes)
        self._audit = AuditFilter(audit)
        self._auto_migrate = auto_migrate
        self._claim = claim_for(self._db.dialect)
        # PostgreSQL on psycopg: claim, finish and add (without keys) as one statement each (see .direct).
        self._direct = DirectStatements(schema, self._audit) if self._db.dialect == "postgresql" else None
        self._direct_retry = DirectRetry(schema, self._audit) if self._db.dialect == "postgresql" else None
        # SQLite: the same statements on the writer's sqlite3 connection, without SQLAlchemy's per-statement work.
        self._sqlite = self._db.dialect == "sqlite"
        self._bulk = BulkAction(self._db, self._audit, SQLITE_CHUNK if self._sqlite else CHUNK)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._db.shown_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @property
    def max_payload_bytes(self) -> int:
        """The largest payload JSON this storage accepts, in UTF-8 bytes (on MySQL/MariaDB, known once open)."""
        return self._max_payload_bytes

    def wakeups(self, wake: Callable[[str], None]) -> PostgresWakeups | None:
        """On PostgreSQL, a listener that calls ``wake(queue)`` whenever any process stores tasks in ``queue``
        (LISTEN/NOTIFY, see :mod:`.wakeups`); None on other databases, whose workers rely on polling."""
        if self._db.dialect != "postgresql":
            return None
        dsn = self._db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresWakeups(dsn, channel_for(self._db.schema), wake)

    def _history(self) -> HistoryWriter:
        return HistoryWriter(self._audit)

    def _attempts(self) -> AttemptWriter:
        return AttemptWriter(self._audit)

    async def open(self) -> None:
        """Connect, then migrate (``auto_migrate``) or check the schema. Raises ``StorageUnavailableError``."""
        await self._db.start()
        try:
            await (migrate(self._db) if self._auto_migrate else check_schema(self._db))
            if self._db.dialect in ("mysql", "mariadb"):
                self._max_payload_bytes = min(self._configured_payload_bytes, await _mysql_payload_room(self._db))
        except BaseException:
            await self._db.stop()
            raise

    async def close(self) -> None:
        """Close every connection. Idempotent."""
        await self._db.stop()

    async def add(self, tasks: Sequence[NewTask]) -> list[UUID]:
        """Store ``tasks`` in one transaction; see :meth:`Storage.add` for the key rules."""
        if not tasks:
            return []
        direct = self._direct
        if direct is not None and self._db.direct and not any(task.key for task in tasks):
            statement, parameters = direct.add, direct.add_parameters(tasks)

            async def insert(conn: Any) -> None:
                await conn.execute(statement, parameters)

            await self._db.write_direct(insert, idempotent=False, conflicts=(IntegrityError,))
            return [task.id for task in tasks]
        if self._sqlite and not any(task.key for task in tasks):
            audit = self._audit
            return await self._db.write_sqlite(
                lambda db: sqlite_direct.add(db, audit, tasks), idempotent=False, conflicts=(IntegrityError,)
            )
        return await self._db.write(
            lambda conn: add_tasks(conn, tasks, self._history()), idempotent=False, conflicts=(IntegrityError,)
        )

    async def get(self, task_id: UUID) -> TaskRecord | None:
        """The task with this id, or None."""
        row = await self._db.read(lambda conn: conn.execute(_GET, {"id": task_id}).first())
        return None if row is None else to_record(row)

    async def list_tasks(self, query: TaskQuery) -> list[TaskRecord]:
        """Tasks matching ``query``, newest first."""
        found = select(*RECORD_COLUMNS)
        if query.statuses is not None:
            found = found.where(tasks.c.status.in_(sorted(query.statuses)))
        if query.queue is not None:
            found = found.where(tasks.c.queue == query.queue)
        if query.type is not None:
            found = found.where(tasks.c.type == query.type)
        if query.recurring is not None:
            found = found.where(tasks.c.schedule.is_not(None) if query.recurring else tasks.c.schedule.is_(None))
        found = found.order_by(tasks.c.created_at.desc(), tasks.c.seq.desc()).limit(query.limit).offset(query.offset)
        rows = await self._db.read(lambda conn: conn.execute(found).all())
        return [to_record(row) for row in rows]

    async def count_by_status(self, queue: str | None = None) -> dict[TaskStatus, int]:
        """How many tasks are in each status (statuses with none are absent)."""
        query, parameters = (_COUNT, {}) if queue is None else (_COUNT_IN_QUEUE, {"queue": queue})
        rows = await self._db.read(lambda conn: conn.execute(query, parameters).all())
        return {row[0]: row[1] for row in rows}

    async def history(self, task_id: UUID) -> list[StatusChange]:
        """The recorded transitions of a task, oldest first."""
        rows = await self._db.read(lambda conn: conn.execute(_HISTORY, {"task_id": task_id}).all())
        return [StatusChange(row[0], row[1], row[2], row[3], row[4], row[5]) for row in rows]

    async def attempts(self, task_id: UUID) -> list[AttemptRecord]:
        """The recorded executions of a task, oldest first."""
        rows = await self._db.read(lambda conn: conn.execute(SELECT_ATTEMPTS, {"task_id": task_id}).all())
        return [to_attempt(row) for row in rows]

    async def result(self, task_id: UUID) -> str | None:
        """The stored result of a task as JSON, or None."""
        value: str | None = await self._db.read(lambda conn: conn.execute(_RESULT, {"id": task_id}).scalar())
        return value

    async def set_queue_paused(self, queue: str, *, paused: bool, now: datetime, actor: str | None) -> None:
        """Pause or resume ``queue`` for every worker on this database."""
        await self._db.write(
            lambda conn: queue_states.set_paused(conn, queue, paused=paused, now=now, actor=actor),
            idempotent=True,
            conflicts=(IntegrityError,),
        )

    async def queue_states(self) -> list[QueueState]:
        """Every queue paused or resumed, by name."""
        return await self._db.read(queue_states.read_states)

    async def register_worker(self, info: WorkerInfo) -> None:
        """Add or replace a worker's row in the registry."""
        await self._db.write(
            lambda conn: worker_registry.register(conn, info), idempotent=True, conflicts=(IntegrityError,)
        )

    async def unregister_worker(self, worker_id: str) -> None:
        """Remove a worker from the registry."""
        await self._db.write(lambda conn: worker_registry.unregister(conn, worker_id), idempotent=True)

    async def list_workers(self) -> list[WorkerInfo]:
        """The registered workers by id, with the tasks each holds in progress."""
        return await self._db.read(worker_registry.list_all)

    async def prune_workers(self, *, stale_before: datetime) -> int:
        """Remove workers silent since before ``stale_before``."""
        return await self._db.write(lambda conn: worker_registry.prune(conn, stale_before), idempotent=True)

    async def history_since(self, after: int, *, missing: Collection[int] = (), limit: int = 500) -> list[HistoryRow]:
        """History rows after id ``after`` (or in ``missing``), oldest first; see :mod:`evertask.storage.feed`."""
        return await self._db.read(lambda conn: feed.history_since(conn, after, missing, limit))

    async def latest_history_id(self) -> int:
        """The id of the newest history row (0 when there is none)."""
        return await self._db.read(feed.latest_id)

    async def claim(
        self, *, owner: str, queues: Sequence[str], now: datetime, limit: int, lease_until: datetime
    ) -> ClaimResult:
        """Take up to ``limit`` due tasks for ``owner``; see :meth:`Storage.claim`."""
        direct = self._direct
        if direct is not None and queues and self._db.direct:
            statement, parameters = direct.claim_parameters(
                owner=owner, queues=queues, now=now, limit=limit, lease_until=lease_until
            )

            async def take(conn: Any) -> ClaimResult:
                # Planned for each call, never prepared (see DirectStatements.__init__).
                cursor = await conn.execute(statement, parameters, prepare=False)
                return direct.claim_result(await cursor.fetchall())

            return await self._db.write_direct(take, idempotent=True)
        if self._sqlite and queues:
            audit = self._audit
            return await self._db.write_sqlite(
                lambda db: sqlite_direct.claim(
                    db, audit, owner=owner, queues=queues, now=now, limit=limit, lease_until=lease_until
                ),
                idempotent=True,
            )
        request = ClaimRequest(owner, tuple(queues), now, limit, lease_until)
        # Retried even when COMMIT's fate is unknown: a claim lost that way is recovered when its lease expires.
        return await self._db.write(
            lambda conn: claim_tasks(conn, self._claim, request, self._history()), idempotent=True
        )

    async def finish(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Record how attempts ended, fenced by owner and fence, in one transaction."""
        if not outcomes:
            return []
        direct = self._direct
        if direct is not None and self._db.direct:
            statement, (parameters, sent) = direct.finish, direct.finish_parameters(outcomes)

            async def apply(conn: Any) -> list[bool]:
                cursor = await conn.execute(statement, parameters)
                applied = [False] * len(outcomes)
                for (ordinal,) in await cursor.fetchall():
                    applied[sent[ordinal - 1]] = True
                return applied

            return await self._db.write_direct(apply, idempotent=False)
        if self._sqlite:
            audit = self._audit
            return await self._db.write_sqlite(lambda db: sqlite_direct.finish(db, audit, outcomes), idempotent=False)
        return await self._db.write(
            lambda conn: finish_outcomes(conn, outcomes, self._history(), self._attempts()), idempotent=False
        )

    async def heartbeat(
        self, *, owner: str, task_ids: Sequence[UUID], lease_until: datetime, now: datetime | None = None
    ) -> HeartbeatResult:
        """Extend ``owner``'s leases; report cancellations asked for and claims lost; with ``now``, refresh the
        worker's registry row in the same transaction."""
        if not task_ids and now is None:
            return HeartbeatResult()

        def beat(conn: Any) -> HeartbeatResult:
            result = extend_leases(conn, owner, task_ids, lease_until) if task_ids else HeartbeatResult()
            if now is not None and not worker_registry.refresh(conn, owner, now):
                return HeartbeatResult(result.cancel_requested, result.lost, worker_found=False)
            return result

        return await self._db.write(beat, idempotent=True)

    async def recover_expired(self, *, now: datetime, max_recoveries: int) -> list[TaskRecord]:
        """Return tasks with expired leases to pending (or fail them past ``max_recoveries``)."""
        return await self._db.write(
            lambda conn: recover_leases(conn, now, max_recoveries, self._history(), self._attempts()),
            idempotent=True,
        )

    async def cancel(self, task_id: UUID, *, now: datetime, actor: str | None = None) -> CancelResult:
        """Cancel a waiting task at once; flag a running one; leave a final one."""
        return await self._db.write(
            lambda conn: cancel_task(conn, task_id, now, self._history(), actor), idempotent=True
        )

    async def reschedule(
        self,
        task_id: UUID,
        *,
        now: datetime,
        scheduled_at: datetime,
        status: TaskStatus = TaskStatus.pending,
        actor: str | None = None,
    ) -> bool:
        """Move a task that is neither running nor final to ``scheduled_at`` with ``status``."""
        return await self._db.write(
            lambda conn: reschedule_task(
                conn,
                task_id,
                now=now,
                scheduled_at=scheduled_at,
                status=status,
                history=self._history(),
                actor=actor,
            ),
            idempotent=True,
        )

    async def take_token(
        self,
        bucket: str,
        *,
        now: datetime,
        rate: float,
        capacity: int,
        holder: UUID | None = None,
        horizon: float = 0.0,
    ) -> float:
        """Take one permit from rate-limit bucket ``bucket``, or reserve the holder's slot; see
        :meth:`evertask.storage.base.Storage.take_token`."""
        return await self._db.write(
            lambda conn: take_bucket_token(
                conn, bucket, now=now, rate=rate, capacity=capacity, holder=holder, horizon=horizon
            ),
            idempotent=False,
            conflicts=(IntegrityError,),
        )

    async def purge(self, *, now: datetime, policy: RetentionPolicy) -> int:
        """Delete finished tasks and history older than ``policy`` allows; returns how many tasks went."""
        return await self._db.write(lambda conn: purge_tasks(conn, now, policy), idempotent=True)

    async def query(self, request: PageRequest) -> TaskPage:
        """One page of the tasks a filter matches; see :meth:`Storage.query`."""
        return await self._db.read(lambda conn: query_page(conn, request))

    async def count(self, filter: TaskFilter) -> int:
        """How many tasks ``filter`` matches."""
        return await self._db.read(lambda conn: count_tasks(conn, filter))

    async def find_by_key(self, key: str) -> TaskRecord | None:
        """The task holding ``key``, or None."""
        return await self._db.read(lambda conn: find_by_key(conn, key))

    async def retry(
        self, filter: TaskFilter, *, now: datetime, actor: str | None, payload: str | None = None, dry_run: bool = False
    ) -> int:
        """Send failed and cancelled tasks back to ``queued``, chunk by chunk; see :meth:`Storage.retry`."""
        check_filter(filter)
        check_payload(filter, payload)
        if dry_run:
            return await self._bulk.count(filter, RETRYABLE)
        direct = None
        if self._direct_retry is not None and self._db.direct:
            retry = self._direct_retry
            direct = partial(retry.chunk, now=now, actor=actor, payload=payload)
        return await self._bulk.run(filter, RETRYABLE, retry_change(now, actor, payload), direct)

    async def cancel_matching(
        self, filter: TaskFilter, *, now: datetime, actor: str | None, dry_run: bool = False
    ) -> int:
        """Cancel waiting tasks and flag running ones that ``filter`` matches, chunk by chunk."""
        check_filter(filter)
        if dry_run:
            return await self._bulk.count(filter, _NOT_FINAL)
        return await self._bulk.run(filter, _NOT_FINAL, cancel_change(now, actor))

    async def purge_matching(self, filter: TaskFilter, *, dry_run: bool = False) -> int:
        """Delete the final tasks ``filter`` matches, with their history and attempts, chunk by chunk."""
        check_filter(filter)
        if dry_run:
            return await self._bulk.count(filter, FINAL_STATUSES)
        return await self._bulk.run(filter, FINAL_STATUSES, purge_change)

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        """Per queue: tasks by status and the oldest due waiting task."""
        dialect = self._db.dialect
        return await self._db.read(lambda conn: stats.queue_stats(conn, dialect, now))

    async def throughput(self, *, since: datetime, until: datetime, width: timedelta) -> list[ThroughputBucket]:
        """Completed and failed attempts per bucket of ``width``."""
        dialect = self._db.dialect
        return await self._db.read(lambda conn: stats.throughput(conn, dialect, since=since, until=until, width=width))

    async def type_stats(self, *, since: datetime) -> list[TypeStats]:
        """Attempts, failures and duration percentiles per task type."""
        dialect = self._db.dialect
        return await self._db.read(lambda conn: stats.type_stats(conn, dialect, since=since))


async def _mysql_payload_room(db: Database) -> int:
    """The largest payload a MySQL/MariaDB server's ``max_allowed_packet`` carries in one row's statement."""
    packet = await db.read(lambda conn: conn.execute(text("SELECT @@max_allowed_packet")).scalar_one())
    return max(1, (int(packet) - _MYSQL_ROW_ROOM) // 2)


class SqliteStorage(SqlStorage):
    """The embedded default: a SQLite file in WAL mode, one writer at a time, readers beside it.

    ``busy_timeout``: seconds a call waits for another process's write lock before it raises
    :class:`~evertask.errors.StorageBusyError`, with nothing of it written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        auto_migrate: bool = True,
        audit: AuditLevel = "full",
        pool_size: int = 4,
        echo: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        url = URL.create("sqlite", database=os.fspath(path))
        super().__init__(
            url,
            auto_migrate=auto_migrate,
            audit=audit,
            pool_size=pool_size,
            echo=echo,
            busy_timeout=busy_timeout,
            max_payload_bytes=max_payload_bytes,
        )
