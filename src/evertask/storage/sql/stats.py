"""Statistics in SQL: tasks per queue and status, attempts per time bucket, durations per task type.

Every aggregate runs in the database; Python only names the buckets that had no attempt (zeros) and finishes
the interpolation of a percentile from the two values the database picked.

- ``queue_stats``: ``GROUP BY queue, status`` over the tasks, in three parts that each read an index holding
  them: waiting tasks (the claim and due indexes), running ones (the lease index) and those at rest, finished or
  paused (``ix_evertask_tasks_at_rest``, read alone: no table row); then the paused queues, and per queue with
  waiting tasks the earliest due time (one seek of the due index each).
- ``throughput``: attempts in ``[since, until)`` through the ``finished_at`` index, grouped by bucket number,
  computed exactly in whole microseconds on every dialect (no floating-point day fractions).
- ``type_stats``: on PostgreSQL ``percentile_cont``; on SQLite and MySQL/MariaDB (no such aggregate) each
  attempt is ranked within its type by a window function (``ROW_NUMBER``, ``COUNT`` over the type), and the
  grouping keeps the two values around each percentile's rank (:func:`evertask.storage.windows.rank`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ColumnExpressionArgument,
    Connection,
    Integer,
    Select,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    text,
    union_all,
)

from evertask.storage import windows
from evertask.storage.records import QueueStats, ThroughputBucket, TypeStats
from evertask.storage.sql.claim import NEXT_DUE
from evertask.storage.sql.tables import AT_REST_SQL, queues, task_attempts, tasks
from evertask.storage.sql.types import UtcDateTime
from evertask.task import CLAIMABLE_STATUSES, TaskStatus


def _counted(where: ColumnExpressionArgument[bool]) -> Select[Any]:
    # Grouped in the at-rest index's order (status, queue): its entries are counted as they are read, unsorted.
    return select(tasks.c.queue, tasks.c.status, func.count()).where(where).group_by(tasks.c.status, tasks.c.queue)


# Every task is in exactly one part; the predicates are text so that a partial index is used by its own terms
# on SQLite, and by a generic plan on PostgreSQL.
COUNTS = union_all(
    _counted(tasks.c.claim_queue.is_not(None)),
    _counted(text("status = 'in_progress'")),
    _counted(text(AT_REST_SQL)),
)
"""Tasks per queue and status (rows of queue, status, count), each task counted in the one part holding it."""
_PAUSED = select(queues.c.name).where(queues.c.paused)
_A = task_attempts.c
_FAILED = case((_A.outcome.in_(windows.FAILED_OUTCOMES), 1), else_=0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def queue_stats(conn: Connection, now: datetime) -> list[QueueStats]:
    """Per queue holding tasks or paused: counts by status and the oldest due waiting task."""
    counts: dict[str, dict[TaskStatus, int]] = {name: {} for name in conn.execute(_PAUSED).scalars()}
    for queue, status, count in conn.execute(COUNTS):
        counts.setdefault(queue, {})[status] = count
    oldest: dict[str, datetime | None] = {}
    for name, in_queue in counts.items():
        if CLAIMABLE_STATUSES & in_queue.keys():
            due: datetime | None = conn.execute(NEXT_DUE, {"in_queue": name}).scalar()
            oldest[name] = due if due is not None and due <= now else None
    return [QueueStats(name, counts[name], oldest.get(name)) for name in sorted(counts)]


def _micros_since(dialect: str, since: datetime) -> ColumnElement[int]:
    """Whole microseconds from ``since`` to an attempt's end, exactly, in the dialect's own time arithmetic."""
    end = _A.finished_at
    if dialect == "postgresql":
        start = literal(since, UtcDateTime())
        return cast(extract("epoch", end - start) * 1_000_000, BigInteger)
    if dialect in ("mysql", "mariadb"):
        return func.timestampdiff(text("MICROSECOND"), literal(since, UtcDateTime()), end, type_=BigInteger)
    # SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' text (naive UTC): whole seconds, then the fraction.
    seconds = cast(func.strftime("%s", end), Integer)
    fraction = cast(func.substr(end, 21, 6), Integer)
    return seconds * 1_000_000 + fraction - (since - _EPOCH) // timedelta(microseconds=1)


def throughput(
    conn: Connection, dialect: str, *, since: datetime, until: datetime, width: timedelta
) -> list[ThroughputBucket]:
    """Completed and failed attempts per bucket of ``width`` in ``[since, until)``, every bucket present."""
    count = windows.bucket_count(since, until, width)
    bucket = (_micros_since(dialect, since) // windows.micros(width)).label("bucket")
    statement = (
        select(bucket, func.sum(case((_A.outcome == "completed", 1), else_=0)), func.sum(_FAILED))
        .where(_A.finished_at >= since, _A.finished_at < until)
        .group_by(bucket)
    )
    found = {int(number): (int(completed), int(failed)) for number, completed, failed in conn.execute(statement)}
    return [ThroughputBucket(since + i * width, *found.get(i, (0, 0))) for i in range(count)]


def type_stats(conn: Connection, dialect: str, *, since: datetime) -> list[TypeStats]:
    """Per task type: attempts that ended since ``since``, failures, and duration percentiles."""
    windows.check_since(since)
    if dialect == "postgresql":
        percentiles = [func.percentile_cont(p / 100).within_group(_A.duration) for p in windows.PERCENTILES]
        statement = (
            select(_A.type, func.count(), func.sum(_FAILED), *percentiles)
            .where(_A.finished_at >= since)
            .group_by(_A.type)
            .order_by(_A.type)
        )
        return [TypeStats(row[0], row[1], int(row[2]), *row[3:]) for row in conn.execute(statement)]
    return [_interpolated(row) for row in conn.execute(_ranked_statement(since))]


def _ranked_statement(since: datetime) -> Any:
    ranked = (
        select(
            _A.type,
            _A.duration,
            _FAILED.label("failed"),
            (func.row_number().over(partition_by=_A.type, order_by=(_A.duration, _A.id)) - 1).label("position"),
            func.count().over(partition_by=_A.type).label("n"),
        )
        .where(_A.finished_at >= since)
        .subquery()
    )
    n, position, duration = ranked.c.n, ranked.c.position, ranked.c.duration
    picked = []
    for percent in windows.PERCENTILES:
        rank = (n - 1) * percent // 100  # as windows.rank does: exact integer division
        picked.append(func.max(case((position == rank, duration))))
        picked.append(func.max(case((position == rank + 1, duration))))
    return (
        select(ranked.c.type, func.max(n), func.sum(ranked.c.failed), *picked)
        .group_by(ranked.c.type)
        .order_by(ranked.c.type)
    )


def _interpolated(row: Any) -> TypeStats:
    task_type, count, failures, *values = row
    figures = []
    for i, percent in enumerate(windows.PERCENTILES):
        _, fraction = windows.rank(count, percent)
        low, high = values[2 * i], values[2 * i + 1]
        figures.append(None if low is None else windows.interpolate(low, high, fraction))
    return TypeStats(task_type, int(count), int(failures), *figures)
