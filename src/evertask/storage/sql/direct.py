"""PostgreSQL's hot path: ``claim``, ``finish`` and ``add`` (without keys), each ONE statement on psycopg directly.

Through SQLAlchemy's async layer each of these cost ``BEGIN``, three or four statements and ``COMMIT``: five round
trips, each awaited through a greenlet with SQLAlchemy's result processing around it. Here each is one statement
sent on the pooled connection's psycopg ``AsyncConnection`` in autocommit (a single statement is its own
transaction, so it is as atomic as the transaction it replaces), with data-modifying CTEs doing the rest:

- claim: ``SELECT ... FOR UPDATE SKIP LOCKED`` -> ``UPDATE ... RETURNING`` -> ``INSERT`` of the history rows,
  and the next due time computed beside them (excluding the rows just claimed: every part of one statement
  sees the same snapshot, taken before the update);
- finish: ``UPDATE ... FROM`` the batch, fenced by status, owner and fence, the history and attempt inserts
  fed by its ``RETURNING``; the applied ids come back;
- add: ``INSERT ... SELECT FROM`` the batch, the history ``INSERT`` in a CTE over the same rows.

A batch travels as ONE parameter, a JSON array of rows (``jsonb_array_elements``, values cast by position), so each
statement's text never changes with the batch size and psycopg prepares add and finish once per connection (after
five runs; the claim is planned for each call, see below). Arrays per column cost psycopg's Python array dumpers
about 50 us each per statement (0.7 ms of CPU for a 16-row finish in text, still 0.6 ms in binary); ``json.dumps``
of the same rows costs a few dozen. ``jsonb``, not ``json``: ``->>`` on ``json`` parses the element again for every
column (``EXPLAIN ANALYZE`` of a 500-row add: 9 ms to unpack the rows as ``json``, 1.5 ms as ``jsonb``). Values are
checked and converted here exactly as the column types (:mod:`.types`) do: a naive datetime is a ``ValueError``,
times come back as aware UTC. The connections come from :mod:`.direct_pool`; SQLAlchemy keeps the DDL, the
migrations and every other (cold) path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from evertask.storage.audit import AuditFilter
from evertask.storage.base import ClaimResult, NewTask, Outcome
from evertask.storage.sql.tables import ATTEMPTS_TABLE, HISTORY_TABLE, QUEUES_TABLE, RECORD_COLUMNS, TASKS_TABLE
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


def _text(value: datetime) -> str:
    """A time as the statements' JSON carries it (ISO 8601 with its offset); naive is refused."""
    return utc_in(value).isoformat()


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


def quoted(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class DirectStatements:
    """The hot statements of one storage (its schema and audit level are part of their text)."""

    def __init__(self, schema: str | None, audit: AuditFilter) -> None:
        prefix = f"{quoted(schema)}." if schema else ""
        self._audit = audit
        t, h, a, q = prefix + TASKS_TABLE, prefix + HISTORY_TABLE, prefix + ATTEMPTS_TABLE, prefix + QUEUES_TABLE
        record = ", ".join(f"t.{quoted(name)}" for name in _RECORD_NAMES)
        claim_history = (
            f""", history AS (
    INSERT INTO {h} (task_id, from_status, to_status, at)
    SELECT c.id, l.previous, 'in_progress', %(now)s FROM claimed AS c JOIN locked AS l ON l.seq = c.seq
    ORDER BY c.priority DESC, c.scheduled_at, c.seq
)"""
            if audit.keeps(_RUNNING, None)
            else ""
        )
        claimed_seqs = "seq <> ALL(ARRAY(SELECT seq FROM locked))"
        # A paused queue is left out by the statement itself (strict: a pause committed before it is seen), at
        # the cost of a look at the queues table, which holds a handful of rows: one check for the queue
        # claimed, evaluated once per statement (an InitPlan), not per row.
        open_queue = f"NOT EXISTS (SELECT 1 FROM {q} WHERE name = %(queue)s AND paused)"
        paused = f"ARRAY(SELECT name FROM {q} WHERE paused)"
        paused_asked = {
            True: f"ARRAY(SELECT name FROM {q} WHERE name = %(queue)s AND paused)",
            False: f"ARRAY(SELECT name FROM {q} WHERE name = ANY(%(queues)b::text[]) AND paused)",
        }
        next_due = {
            True: f"""SELECT min(scheduled_at) FROM {t}
    WHERE claim_queue = %(queue)s AND {claimed_seqs} AND {open_queue}""",
            False: f"""SELECT min(due) FROM unnest(%(queues)b::text[]) AS q(name) CROSS JOIN LATERAL (
        SELECT min(scheduled_at) AS due FROM {t} WHERE claim_queue = q.name AND {claimed_seqs}) AS d
    WHERE q.name <> ALL({paused})""",
        }
        # One queue: the claim index is walked one priority at a time (the priorities found by index seeks), so
        # that within a priority the walk stops at the first task not yet due, however many are held for later
        # and however many are due. Several queues (rare: a worker claims queue by queue) keep one query. The
        # claimed rows are updated by ``seq = ANY(ARRAY(...))``, not joined to ``locked``, whose size a plan may
        # misjudge (a third of the table): the update then read the whole table into a hash. The claim is
        # planned for each call, never prepared: with 100,000 tasks held for later, the generic plan PostgreSQL
        # settled on cost 31 ms a claim against 3 ms planned for the call's own values (scheduled-load bench:
        # 517 -> 2,919 tasks/s). Planning costs the server about 150-200 us per task on the throughput bench.
        locked = {
            True: f"""WITH RECURSIVE priorities(p) AS (
    (SELECT priority FROM {t} WHERE claim_queue = %(queue)s AND {open_queue} ORDER BY priority DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT priority FROM {t} WHERE claim_queue = %(queue)s AND priority < priorities.p
        ORDER BY priority DESC LIMIT 1)
    FROM priorities WHERE priorities.p IS NOT NULL
), locked AS (
    SELECT d.seq, d.previous FROM priorities CROSS JOIN LATERAL (
        SELECT seq, status AS previous, scheduled_at FROM {t}
        WHERE claim_queue = %(queue)s AND priority = priorities.p AND scheduled_at <= %(now)s
        ORDER BY scheduled_at, seq LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AS d
    ORDER BY priorities.p DESC, d.scheduled_at, d.seq LIMIT %(limit)s
)""",
            False: f"""WITH locked AS (
    SELECT seq, status AS previous FROM {t}
    WHERE claim_queue = ANY(%(queues)b::text[]) AND claim_queue <> ALL({paused}) AND scheduled_at <= %(now)s
    ORDER BY priority DESC, scheduled_at, seq LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)""",
        }
        self.claim = {
            one: f"""{locked[one]}, claimed AS (
    UPDATE {t} AS t SET status = 'in_progress', owner = %(owner)s, lease_until = %(lease)s, started_at = %(now)s,
        attempts = t.attempts + 1, fence = t.fence + 1
    WHERE t.seq = ANY(ARRAY(SELECT seq FROM locked))
    RETURNING {record}, t.seq
){claim_history}
SELECT c.*, n.next_due, {paused_asked[one]} AS paused FROM ({next_due[one]}) AS n(next_due)
    LEFT JOIN claimed AS c ON true
ORDER BY c.priority DESC, c.scheduled_at, c.seq"""
            for one in (True, False)
        }
        # The rows to update are the batch's ids, looked up in their unique index (``id = ANY``). Left to itself
        # the planner scanned the lease index for ``status = 'in_progress'`` instead (it guesses 100 rows from
        # jsonb_array_elements), and that index holds an entry for every claim not yet vacuumed: 5,000 entries
        # read to finish 10 tasks (EXPLAIN ANALYZE). ``status || ''`` keeps that index out of the choice.
        # The attempt rows take their numbers from the outcomes (the claim's), not from a second read of the
        # tasks joined to ``done``: the generic plan of a statement prepared while the table was small made that
        # join a nested loop over a sequential scan, 28 s for a batch of 1,000 (auto_explain, throughput bench).
        attempt_rows = (
            f""", attempt_rows AS (
    INSERT INTO {a} (task_id, type, queue, attempt, run, worker, started_at, finished_at, duration, outcome,
        error_type, error_message, traceback)
    SELECT id, type, queue, attempt, run, owner, COALESCE(started, claimed_at), at, duration, ending, error_type,
        error_message, error
    FROM done WHERE keep_attempt ORDER BY ord
)"""
            if audit.level != "none"
            else ""
        )
        self.finish = f"""WITH v AS (
    SELECT (e->>0)::uuid AS id, e->>1 AS owner, (e->>2)::int AS fence, e->>3 AS status, (e->>4)::timestamptz AS at,
        e->>5 AS error, (e->>6)::timestamptz AS scheduled, (e->>7)::timestamptz AS finished,
        (e->>8)::timestamptz AS last_run, (e->>9)::bool AS new_run, (e->>10)::bool AS refunded,
        (e->>11)::bool AS keep, e->>12 AS ending, (e->>13)::timestamptz AS started, (e->>14)::float8 AS duration,
        e->>15 AS error_type, e->>16 AS error_message, e->>17 AS result, (e->>18)::bool AS keep_attempt,
        (e->>19)::int AS attempt, (e->>20)::int AS run, ord
    FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS r(e, ord)
), done AS (
    UPDATE {t} AS t SET status = v.status, owner = NULL, lease_until = NULL, cancel_requested = false,
        last_error = COALESCE(v.error, t.last_error),
        attempts = CASE WHEN v.new_run THEN 0 WHEN v.refunded THEN GREATEST(t.attempts - 1, 0) ELSE t.attempts END,
        run_count = t.run_count + CASE WHEN v.new_run THEN 1 ELSE 0 END,
        last_run_at = COALESCE(v.last_run, t.last_run_at),
        finished_at = COALESCE(v.finished, t.finished_at),
        scheduled_at = COALESCE(v.scheduled, t.scheduled_at),
        result = CASE WHEN v.ending = 'completed' THEN v.result ELSE t.result END
    FROM v WHERE t.id = ANY(ARRAY(SELECT id FROM v)) AND t.id = v.id AND t.status || '' = 'in_progress'
        AND t.owner = v.owner AND t.fence = v.fence
    RETURNING t.id, v.status, v.at, v.error, v.keep, v.ord, t.type, t.queue, t.started_at AS claimed_at, v.owner,
        v.ending, v.started, v.duration, v.error_type, v.error_message, v.keep_attempt, v.attempt, v.run
), history AS (
    INSERT INTO {h} (task_id, from_status, to_status, at, error)
    SELECT id, 'in_progress', status, at, error FROM done WHERE keep ORDER BY ord
){attempt_rows}
SELECT ord FROM done"""
        self.add = f"""WITH v AS (
    SELECT (e->>0)::uuid AS id, e->>1 AS type, e->>2 AS payload, e->>3 AS status, e->>4 AS queue,
        (e->>5)::timestamptz AS created_at, (e->>6)::timestamptz AS scheduled_at, (e->>7)::int AS priority,
        e->>8 AS schedule, (e->>9)::bool AS keep, ord
    FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS r(e, ord)
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
        """The claimed records (in claim order), the next due time and the paused queues, from the claim's
        rows."""
        if not rows:  # cannot happen (the next-due row is always there), but costs nothing to allow
            return ClaimResult([], None)
        tasks = [_record(row) for row in rows if row[0] is not None]
        paused = rows[0][-1]
        return ClaimResult(tasks, _utc_out(rows[0][-2]), frozenset(paused) if paused else frozenset())

    def finish_parameters(self, outcomes: Sequence[Outcome]) -> tuple[dict[str, Any], list[int]]:
        """The finish statement's parameters, and the position in ``outcomes`` of each row it sends (the
        statement returns the 1-based ``ord`` of the rows it applied).

        Only the first outcome of an attempt (task, owner, fence) is sent: a second one for the same attempt finds
        the task finished, so it never applies (which is what it found in a batch applied outcome by outcome).
        Outcomes of one task under other owners or fences are all sent: at most one of them holds the claim.
        """
        keeps, keeps_attempt = self._audit.keeps, self._audit.keeps_attempt
        seen: set[tuple[UUID, str, int]] = set()
        sent: list[int] = []
        rows: list[list[Any]] = []
        for position, outcome in enumerate(outcomes):
            at = _text(outcome.at)
            next_run = None if outcome.next_run is None else _text(outcome.next_run)
            attempt = (outcome.id, outcome.owner, outcome.fence)
            if attempt in seen:
                continue
            seen.add(attempt)
            sent.append(position)
            final = outcome.status.is_final
            rows.append(
                [
                    str(outcome.id),
                    outcome.owner,
                    outcome.fence,
                    outcome.status.value,
                    at,
                    outcome.error,
                    None if final else next_run,
                    at if final else None,
                    at if outcome.run_finished else None,
                    outcome.run_finished,
                    outcome.attempt_refunded,
                    keeps(outcome.status, outcome.error),
                    outcome.ending,
                    None if outcome.started_at is None else _text(outcome.started_at),
                    outcome.duration,
                    outcome.error_type,
                    outcome.error_message,
                    outcome.result,
                    outcome.ending is not None and keeps_attempt(outcome.error),
                    outcome.attempt,
                    outcome.run,
                ]
            )
        return {"rows": json.dumps(rows)}, sent

    def add_parameters(self, new: Sequence[NewTask]) -> dict[str, Any]:
        """The add statement's parameters (no task of ``new`` has a key)."""
        keeps = self._audit.keeps
        rows = [
            [
                str(task.id),
                task.type,
                task.payload,
                task.status.value,
                task.queue,
                _text(task.created_at),
                _text(task.scheduled_at),
                task.priority,
                task.schedule,
                keeps(task.status, None),
            ]
            for task in new
        ]
        return {"rows": json.dumps(rows)}
