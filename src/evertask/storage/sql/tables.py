"""The tables as the queries see them: tasks, their history and attempts, rate-limit buckets and reservations,
queues, workers. The DDL itself belongs to the migrations, which must agree with this
(``tests/contract/test_sql_schema.py`` compares them).

``seq`` is the dispatch order and the primary key: rows are appended in order (the clustered key on InnoDB, the
rowid on SQLite), and ``id`` is a unique secondary key. ``claim_queue`` is a generated column: the task's queue
while it waits to be claimed, NULL otherwise. Indexing it works as a partial index on every dialect (MySQL and
MariaDB have no partial indexes), so the claim and next-due queries read only waiting tasks, in claim order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Computed,
    Connection,
    Double,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    bindparam,
    insert,
    text,
    update,
)

from evertask.limits import MAX_KEY_LENGTH, MAX_QUEUE_NAME_LENGTH, MAX_TYPE_NAME_LENGTH
from evertask.storage.audit import AuditFilter
from evertask.storage.sql.types import LongText, Status, TaskId, UtcDateTime
from evertask.task import CLAIMABLE_STATUSES, FINAL_STATUSES, TaskRecord, TaskStatus

TASKS_TABLE = "evertask_tasks"
HISTORY_TABLE = "evertask_task_history"
BUCKETS_TABLE = "evertask_rate_buckets"
RESERVATIONS_TABLE = "evertask_rate_reservations"
ATTEMPTS_TABLE = "evertask_task_attempts"
QUEUES_TABLE = "evertask_queues"
WORKERS_TABLE = "evertask_workers"
VERSION_TABLE = "evertask_alembic_version"

CLAIM_QUEUE_SQL = "CASE WHEN status IN ({}) THEN queue END".format(
    ", ".join(f"'{status.value}'" for status in sorted(CLAIMABLE_STATUSES))
)
"""The generated ``claim_queue`` column: the queue of a task that waits to be claimed."""
FINAL_SQL = "status IN ({})".format(", ".join(f"'{status.value}'" for status in sorted(FINAL_STATUSES)))
AT_REST_SQL = "status IN ({})".format(
    ", ".join(f"'{status.value}'" for status in sorted(FINAL_STATUSES | {TaskStatus.paused}))
)
"""The predicates of the query indexes (migration 0007), partial on PostgreSQL: final tasks; final and paused
ones. Queries add them as this text (not with bound parameters) so that a plan PostgreSQL keeps for a prepared
statement can use those indexes."""

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); elsewhere the key is 64-bit.
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")
# MySQL's TEXT holds 64 KB; payloads may be larger.
LONG_TEXT = LongText()
# utf8mb4_bin makes keys, queues and types case-sensitive on MySQL/MariaDB, as on the other databases.
MYSQL_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

metadata = MetaData()

tasks = Table(
    TASKS_TABLE,
    metadata,
    Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    Column("id", TaskId(), nullable=False),
    Column("type", String(MAX_TYPE_NAME_LENGTH), nullable=False),
    Column("payload", LONG_TEXT, nullable=False),
    Column("status", Status(), nullable=False),
    Column("queue", String(MAX_QUEUE_NAME_LENGTH), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("scheduled_at", UtcDateTime(), nullable=False),
    Column("priority", Integer(), nullable=False),
    Column("key", String(MAX_KEY_LENGTH), nullable=True),
    Column("attempts", Integer(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("schedule", Text(), nullable=True),
    Column("run_count", Integer(), nullable=False),
    Column("last_run_at", UtcDateTime(), nullable=True),
    Column("owner", String(255), nullable=True),
    Column("fence", Integer(), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("recoveries", Integer(), nullable=False),
    Column("cancel_requested", Boolean(), nullable=False),
    Column("claim_queue", String(MAX_QUEUE_NAME_LENGTH), Computed(CLAIM_QUEUE_SQL, persisted=True)),
    Column("result", LONG_TEXT, nullable=True),
    **MYSQL_OPTIONS,
)

task_history = Table(
    HISTORY_TABLE,
    metadata,
    Column("id", SEQUENCE, primary_key=True, autoincrement=True),
    Column("task_id", TaskId(), nullable=False),
    Column("from_status", Status(), nullable=True),
    Column("to_status", Status(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("error", Text(), nullable=True),
    Column("actor", String(200), nullable=True),
    **MYSQL_OPTIONS,
)

task_attempts = Table(
    ATTEMPTS_TABLE,
    metadata,
    Column("id", SEQUENCE, primary_key=True, autoincrement=True),
    Column("task_id", TaskId(), nullable=False),
    Column("type", String(MAX_TYPE_NAME_LENGTH), nullable=False),
    Column("queue", String(MAX_QUEUE_NAME_LENGTH), nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("run", Integer(), nullable=False),
    Column("worker", String(255), nullable=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=False),
    Column("duration", Double(), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("error_type", String(255), nullable=True),
    Column("error_message", Text(), nullable=True),
    Column("traceback", Text(), nullable=True),
    **MYSQL_OPTIONS,
)
"""One row per execution of a task; type and queue are copied so that window statistics read this table alone."""

queues = Table(
    QUEUES_TABLE,
    metadata,
    Column("name", String(MAX_QUEUE_NAME_LENGTH), primary_key=True),
    Column("paused", Boolean(), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("changed_by", String(200), nullable=True),
    **MYSQL_OPTIONS,
)
"""Queue state set by operators: a paused queue is claimed by no worker. A queue without a row is running."""

workers = Table(
    WORKERS_TABLE,
    metadata,
    Column("id", String(255), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("queues", Text(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("last_heartbeat", UtcDateTime(), nullable=False),
    Column("version", String(50), nullable=False),
    **MYSQL_OPTIONS,
)
"""Live workers: written at start and by each heartbeat, removed at stop or when found dead. ``queues`` is a JSON
list of the queue names served."""

rate_buckets = Table(
    BUCKETS_TABLE,
    metadata,
    Column("name", String(255), primary_key=True),
    Column("tokens", Double(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("full_at", UtcDateTime(), nullable=False),
    **MYSQL_OPTIONS,
)
"""Rate-limit buckets. ``full_at`` is the bucket's whole state (GCRA's theoretical arrival time, see
:mod:`evertask.ratelimit`): when the bucket is full again. From then on its row says nothing a missing row
would not, so ``purge`` may delete it. ``tokens`` as of ``updated_at`` is written for people reading the table
(below zero: that many permits are reserved ahead); nothing reads it."""

rate_reservations = Table(
    RESERVATIONS_TABLE,
    metadata,
    Column("bucket", String(255), primary_key=True),
    Column("holder", TaskId(), primary_key=True),
    Column("slot", UtcDateTime(), nullable=False),
    **MYSQL_OPTIONS,
)
"""The slot each deferred task (``holder``) reserved in a bucket (named as its row in ``rate_buckets``)."""

# On PostgreSQL the key, claim, due and lease indexes are partial (migration 0004: fewer entries to insert on
# every claim and finish); SQL Server allows one NULL in a unique index unless it is filtered.
_WAITING = tasks.c.claim_queue.is_not(None)
_KEYED = tasks.c["key"].is_not(None)
Index("ux_evertask_tasks_id", tasks.c.id, unique=True)
Index(
    "ux_evertask_tasks_key",
    tasks.c["key"],
    unique=True,
    mssql_where=_KEYED,
    postgresql_where=_KEYED,
)
CLAIM_INDEX = Index(
    "ix_evertask_tasks_claim",
    tasks.c.claim_queue,
    tasks.c.priority.desc(),
    tasks.c.scheduled_at,
    tasks.c.seq,
    postgresql_where=_WAITING,
)
Index("ix_evertask_tasks_due", tasks.c.claim_queue, tasks.c.scheduled_at, postgresql_where=_WAITING)
Index(
    "ix_evertask_tasks_lease",
    tasks.c.status,
    tasks.c.lease_until,
    postgresql_where=tasks.c.status == TaskStatus.in_progress.value,
)
Index("ix_evertask_tasks_created", tasks.c.created_at, tasks.c.seq)
_FINAL = text(FINAL_SQL)
for _name, _order in (("created", tasks.c.created_at), ("finished", tasks.c.finished_at)):
    Index(
        f"ix_evertask_tasks_final_{_name}",
        tasks.c.status,
        _order,
        tasks.c.seq,
        postgresql_where=_FINAL,
    )
_AT_REST = text(AT_REST_SQL)
Index("ix_evertask_tasks_at_rest", tasks.c.status, tasks.c.queue, postgresql_where=_AT_REST)
Index("ix_evertask_task_history_task", task_history.c.task_id, task_history.c.id)
Index("ix_evertask_rate_buckets_full", rate_buckets.c.full_at)
Index("ix_evertask_rate_reservations_slot", rate_reservations.c.slot)
Index("ix_evertask_task_attempts_task", task_attempts.c.task_id, task_attempts.c.id)
Index("ix_evertask_task_attempts_finished", task_attempts.c.finished_at)
Index("ix_evertask_workers_heartbeat", workers.c.last_heartbeat)

RECORD_COLUMNS: tuple[Column[Any], ...] = tuple(tasks.c[f.name] for f in fields(TaskRecord))
"""The columns of a :class:`TaskRecord`, in its field order: ``TaskRecord(*row)`` builds one."""

INSERT_HISTORY = insert(task_history)
UPDATE_BY_ID = update(tasks).where(tasks.c.id == bindparam("target"))
"""Executed with rows of ``target`` (the task id) and the columns to set: one statement for a whole batch."""

CLAIM_ORDER: tuple[ColumnElement[Any], ...] = (tasks.c.priority.desc(), tasks.c.scheduled_at, tasks.c.seq)
"""Priority (higher first), then due time, then dispatch order."""


def for_update(query: Select[Any], *, skip_locked: bool = False, table: Table = tasks) -> Select[Any]:
    """``query`` locking the rows it reads from ``table`` until the transaction ends (a no-op on SQLite, whose
    writer holds the whole database). SQL Server spells the lock as table hints."""
    hint = "WITH (UPDLOCK, ROWLOCK, READPAST)" if skip_locked else "WITH (UPDLOCK, ROWLOCK)"
    return query.with_for_update(skip_locked=skip_locked).with_hint(table, hint, "mssql")


def to_record(row: Sequence[Any]) -> TaskRecord:
    """A :class:`TaskRecord` from a row that starts with :data:`RECORD_COLUMNS`."""
    return TaskRecord(*row[: len(RECORD_COLUMNS)])


class HistoryWriter:
    """Collects the status changes of one transaction that the audit level keeps, and writes them in one go."""

    __slots__ = ("_audit", "rows")

    def __init__(self, audit: AuditFilter) -> None:
        self._audit = audit
        self.rows: list[dict[str, Any]] = []

    def record(
        self,
        task_id: UUID,
        before: TaskStatus | None,
        after: TaskStatus,
        at: datetime,
        error: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Note one transition, made by ``actor`` (None: the engine); dropped if the audit level does not keep it."""
        if self._audit.keeps(after, error):
            self.rows.append(
                {
                    "task_id": task_id,
                    "from_status": before,
                    "to_status": after,
                    "at": at,
                    "error": error,
                    "actor": actor,
                }
            )

    def write(self, conn: Connection) -> None:
        """Insert the noted rows, in the caller's transaction."""
        if self.rows:
            conn.execute(INSERT_HISTORY, self.rows)
