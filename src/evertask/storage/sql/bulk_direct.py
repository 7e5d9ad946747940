"""PostgreSQL: a bulk retry's chunk as ONE statement on psycopg directly (the hot path's way, see :mod:`.direct`).

Through SQLAlchemy a chunk costs three statements (lock, update, history rows, the last one executed row by
row) and their Python around them: 100,000 retried tasks took about twice as long as this statement, which
locks the chunk's rows by primary key, keeps those still failed or cancelled (``FOR UPDATE`` reads a row's
newest version again), updates them and writes their history rows from the update's ``RETURNING``. The
chunk's candidates come from :mod:`.actions` as on every database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from evertask.storage.audit import AuditFilter
from evertask.storage.sql.direct import quoted, utc_in
from evertask.storage.sql.tables import HISTORY_TABLE, TASKS_TABLE
from evertask.task import TaskStatus

if TYPE_CHECKING:  # psycopg is imported only where PostgreSQL is chosen
    from evertask.storage.sql.direct_pool import DirectWork

_RETRYABLE = [TaskStatus.cancelled.value, TaskStatus.failed.value]


class DirectRetry:
    """The retry chunk statement of one storage (its schema and audit level are part of its text)."""

    def __init__(self, schema: str | None, audit: AuditFilter) -> None:
        prefix = f"{quoted(schema)}." if schema else ""
        t, h = prefix + TASKS_TABLE, prefix + HISTORY_TABLE
        history = (
            f""", history AS (
    INSERT INTO {h} (task_id, from_status, to_status, at, actor)
    SELECT id, previous, 'queued', %(now)s, %(actor)s FROM done ORDER BY seq
)"""
            if audit.keeps(TaskStatus.queued, None)
            else ""
        )
        self._statement = f"""WITH locked AS (
    SELECT seq, status FROM {t} WHERE seq = ANY(%(seqs)s) AND status = ANY(%(retryable)s) ORDER BY seq FOR UPDATE
), done AS (
    UPDATE {t} AS t SET status = 'queued', scheduled_at = %(now)s, finished_at = NULL, attempts = 0, recoveries = 0,
        owner = NULL, lease_until = NULL, cancel_requested = false, payload = COALESCE(%(payload)s, t.payload)
    FROM locked WHERE t.seq = locked.seq
    RETURNING t.id, t.seq, locked.status AS previous
){history}
SELECT count(*) FROM done"""

    def chunk(self, seqs: Sequence[int], *, now: datetime, actor: str | None, payload: str | None) -> DirectWork[int]:
        """The work that retries the tasks of ``seqs`` still failed or cancelled; how many it retried."""
        parameters: dict[str, Any] = {
            "seqs": list(seqs),
            "retryable": _RETRYABLE,
            "now": utc_in(now),
            "actor": actor,
            "payload": payload,
        }
        statement = self._statement

        async def retry(conn: Any) -> int:
            cursor = await conn.execute(statement, parameters)
            row = await cursor.fetchone()
            return int(row[0]) if row else 0

        return retry
