"""PostgreSQL's hot path: ``claim``, ``finish`` and ``add`` (without keys), each ONE statement on psycopg directly.

Through SQLAlchemy's async layer each of these cost ``BEGIN``, three or four statements and ``COMMIT``: five
round trips, each awaited through a greenlet with SQLAlchemy's result processing around it. Here each is one
statement sent on the pooled connection's psycopg ``AsyncConnection`` in autocommit (a single statement is its
own transaction, so it is as atomic as the transaction it replaces), with data-modifying CTEs doing the rest:

- claim: ``SELECT ... FOR UPDATE SKIP LOCKED`` -> ``UPDATE ... RETURNING`` -> ``INSERT`` of the history rows,
  and the next due time computed beside them (excluding the rows just claimed: every part of one statement
  sees the same snapshot, taken before the update);
- finish: ``UPDATE ... FROM unnest(arrays)`` fenced by status, owner and fence, the history ``INSERT`` fed by
  its ``RETURNING``; the applied ids come back;
- add: ``INSERT ... SELECT FROM unnest(arrays)``, the history ``INSERT`` in a CTE over the same arrays.

Batches travel as arrays (``unnest``), so each statement's text never changes with the batch size and psycopg
prepares it once per connection (after five runs). Values are checked and converted here exactly as the
column types (:mod:`.types`) do: a naive datetime is a ``ValueError``, times come back as aware UTC.
SQLAlchemy keeps the pool, the DDL, the migrations and every other (cold) path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from evertask.storage.audit import AuditFilter
from evertask.storage.base import ClaimResult, NewTask, Outcome
from evertask.storage.sql.tables import HISTORY_TABLE, RECORD_COLUMNS, TASKS_TABLE
from evertask.task import TaskRecord, TaskStatus

_RUNNING = TaskStatus.in_progress
_RECORD_NAMES = [column.name for column in RECORD_COLUMNS]
_TIME_FIELDS = frozenset(column.name for column in RECORD_COLUMNS if column.type.__class__.__name__ == "UtcDateTime")
_STATUS_INDEX = _RECORD_NAMES.index("status")
_TIME_INDEXES = tuple(i for i, name in enumerate(_RECORD_NAMES) if name in _TIME_FIELDS)
_WIDTH = len(_RECORD_NAMES)


def utc_in(value: datetime) -> datetime:
    """A time as the database gets it; naive is refused, as :class:`~.types.UtcDateTime` does."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: evertask stores timezone-aware UTC times only")
    return value


def _utc_out(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def _record(row: Sequence[Any]) -> TaskRecord:
    values = list(row[:_WIDTH])
    values[_STATUS_INDEX] = TaskStatus(values[_STATUS_INDEX])
    for i in _TIME_INDEXES:
        values[i] = _utc_out(values[i])
    return TaskRecord(*values)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DirectStatements:
    """The hot statements of one storage (its schema and audit level are part of their text)."""

    def __init__(self, schema: str | None, audit: AuditFilter) -> None:
        prefix = f"{_quoted(schema)}." if schema else ""
        self._audit = audit
        t, h = prefix + TASKS_TABLE, prefix + HISTORY_TABLE
        record = ", ".join(f"t.{_quoted(name)}" for name in _RECORD_NAMES)
        claim_history = (
            f""", history AS (
    INSERT INTO {h} (task_id, from_status, to_status, at)
    SELECT id, previous, 'in_progress', %(now)s FROM claimed ORDER BY priority DESC, scheduled_at, seq
)"""
            if audit.keeps(_RUNNING, None)
            else ""
        )
        claimed_seqs = "seq <> ALL(ARRAY(SELECT seq FROM locked))"
        next_due = {
            True: f"SELECT min(scheduled_at) FROM {t} WHERE claim_queue = %(queue)s AND {claimed_seqs}",
            False: f"""SELECT min(due) FROM unnest(%(queues)s::text[]) AS q(name) CROSS JOIN LATERAL (
        SELECT min(scheduled_at) AS due FROM {t} WHERE claim_queue = q.name AND {claimed_seqs}) AS d""",
        }
        waiting = {True: "claim_queue = %(queue)s", False: "claim_queue = ANY(%(queues)s::text[])"}
        self.claim = {
            one: f"""WITH locked AS (
    SELECT seq, status AS previous FROM {t}
    WHERE {waiting[one]} AND scheduled_at <= %(now)s
    ORDER BY priority DESC, scheduled_at, seq LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {t} AS t SET status = 'in_progress', owner = %(owner)s, lease_until = %(lease)s, started_at = %(now)s,
        attempts = t.attempts + 1, fence = t.fence + 1
    FROM locked WHERE t.seq = locked.seq
    RETURNING {record}, t.seq, locked.previous
){claim_history}
SELECT c.*, n.next_due FROM ({next_due[one]}) AS n(next_due) LEFT JOIN claimed AS c ON true
ORDER BY c.priority DESC, c.scheduled_at, c.seq"""
            for one in (True, False)
        }
        self.finish = f"""WITH v AS (
    SELECT * FROM unnest(%(ids)s::uuid[], %(owners)s::text[], %(fences)s::int[], %(statuses)s::text[],
        %(ats)s::timestamptz[], %(errors)s::text[], %(scheduled)s::timestamptz[], %(finished)s::timestamptz[],
        %(last_run)s::timestamptz[], %(new_run)s::bool[], %(refunded)s::bool[], %(keep)s::bool[])
        WITH ORDINALITY AS v(id, owner, fence, status, at, error, scheduled, finished, last_run, new_run, refunded,
            keep, ord)
), done AS (
    UPDATE {t} AS t SET status = v.status, owner = NULL, lease_until = NULL, cancel_requested = false,
        last_error = COALESCE(v.error, t.last_error),
        attempts = CASE WHEN v.new_run THEN 0 WHEN v.refunded THEN GREATEST(t.attempts - 1, 0) ELSE t.attempts END,
        run_count = t.run_count + CASE WHEN v.new_run THEN 1 ELSE 0 END,
        last_run_at = COALESCE(v.last_run, t.last_run_at),
        finished_at = COALESCE(v.finished, t.finished_at),
        scheduled_at = COALESCE(v.scheduled, t.scheduled_at)
    FROM v WHERE t.id = v.id AND t.status = 'in_progress' AND t.owner = v.owner AND t.fence = v.fence
    RETURNING t.id, v.status, v.at, v.error, v.keep, v.ord
), history AS (
    INSERT INTO {h} (task_id, from_status, to_status, at, error)
    SELECT id, 'in_progress', status, at, error FROM done WHERE keep ORDER BY ord
)
SELECT ord FROM done"""
        self.add = f"""WITH v AS (
    SELECT * FROM unnest(%(ids)s::uuid[], %(types)s::text[], %(payloads)s::text[], %(statuses)s::text[],
        %(queues)s::text[], %(created)s::timestamptz[], %(scheduled)s::timestamptz[], %(priorities)s::int[],
        %(schedules)s::text[], %(keep)s::bool[])
        WITH ORDINALITY AS v(id, type, payload, status, queue, created_at, scheduled_at, priority, schedule, keep,
            ord)
), history AS (
    INSERT INTO {h} (task_id, from_status, to_status, at) SELECT id, NULL, status, created_at FROM v WHERE keep
    ORDER BY ord
)
INSERT INTO {t} (id, type, payload, status, queue, created_at, scheduled_at, priority, "key", schedule, attempts,
    run_count, fence, recoveries, cancel_requested)
SELECT id, type, payload, status, queue, created_at, scheduled_at, priority, NULL, schedule, 0, 0, 0, 0, false
FROM v ORDER BY ord"""

    def claim_parameters(
        self, *, owner: str, queues: Sequence[str], now: datetime, limit: int, lease_until: datetime
    ) -> tuple[str, dict[str, Any]]:
        """The claim statement and its parameters (``queues`` not empty)."""
        one = len(queues) == 1
        parameters: dict[str, Any] = {
            "now": utc_in(now),
            "lease": utc_in(lease_until),
            "owner": owner,
            "limit": max(limit, 0),
        }
        if one:
            parameters["queue"] = queues[0]
        else:
            parameters["queues"] = list(queues)
        return self.claim[one], parameters

    @staticmethod
    def claim_result(rows: Sequence[Sequence[Any]]) -> ClaimResult:
        """The claimed records (in claim order) and the next due time, from the claim's rows."""
        if not rows:  # cannot happen (the next-due row is always there), but costs nothing to allow
            return ClaimResult([], None)
        tasks = [_record(row) for row in rows if row[0] is not None]
        return ClaimResult(tasks, _utc_out(rows[0][-1]))

    def finish_parameters(self, outcomes: Sequence[Outcome]) -> tuple[dict[str, Any], list[int]]:
        """The finish statement's parameters, and the position in ``outcomes`` of each row it sends (the
        statement returns the 1-based ``ord`` of the rows it applied).

        Only the first outcome of an attempt (task, owner, fence) is sent: a second one for the same attempt finds
        the task finished, so it never applies (which is what it found in a batch applied outcome by outcome).
        Outcomes of one task under other owners or fences are all sent: at most one of them holds the claim.
        """
        keeps = self._audit.keeps
        seen: set[tuple[UUID, str, int]] = set()
        sent: list[int] = []
        columns: dict[str, list[Any]] = {
            name: []
            for name in (
                "ids",
                "owners",
                "fences",
                "statuses",
                "ats",
                "errors",
                "scheduled",
                "finished",
                "last_run",
                "new_run",
                "refunded",
                "keep",
            )
        }
        for position, outcome in enumerate(outcomes):
            at = utc_in(outcome.at)
            next_run = None if outcome.next_run is None else utc_in(outcome.next_run)
            attempt = (outcome.id, outcome.owner, outcome.fence)
            if attempt in seen:
                continue
            seen.add(attempt)
            sent.append(position)
            final = outcome.status.is_final
            columns["ids"].append(outcome.id)
            columns["owners"].append(outcome.owner)
            columns["fences"].append(outcome.fence)
            columns["statuses"].append(outcome.status.value)
            columns["ats"].append(at)
            columns["errors"].append(outcome.error)
            columns["scheduled"].append(None if final else next_run)
            columns["finished"].append(at if final else None)
            columns["last_run"].append(at if outcome.run_finished else None)
            columns["new_run"].append(outcome.run_finished)
            columns["refunded"].append(outcome.attempt_refunded)
            columns["keep"].append(keeps(outcome.status, outcome.error))
        return columns, sent

    def add_parameters(self, new: Sequence[NewTask]) -> dict[str, Any]:
        """The add statement's parameters (no task of ``new`` has a key)."""
        keeps = self._audit.keeps
        return {
            "ids": [task.id for task in new],
            "types": [task.type for task in new],
            "payloads": [task.payload for task in new],
            "statuses": [task.status.value for task in new],
            "queues": [task.queue for task in new],
            "created": [utc_in(task.created_at) for task in new],
            "scheduled": [utc_in(task.scheduled_at) for task in new],
            "priorities": [task.priority for task in new],
            "schedules": [task.schedule for task in new],
            "keep": [keeps(task.status, None) for task in new],
        }
