"""``query``, ``count`` and ``find_by_key``: a :class:`TaskFilter` as SQL terms, and keyset pages that read one
index range each.

A page is ordered by its sort time then ``seq``; the next one starts strictly after the last row of this one
(``time < v OR (time = v AND seq < s)``, written with a leading ``time <= v`` that the index can seek to).
When a filter names several statuses, each status is its own branch, ordered and limited, and the branches are
merged (``UNION ALL`` then the same order and limit): finished tasks of one status are one run of the
``(status, created_at, seq)`` or ``(status, finished_at, seq)`` index (migration 0006), so each branch reads
about a page of entries however many tasks are stored. Without statuses, a page by creation time walks
``ix_evertask_tasks_created``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    ColumnExpressionArgument,
    Connection,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    union_all,
)

from evertask.storage.paging import Position, check_filter, check_page, encode_cursor, matching_statuses, sort_value
from evertask.storage.records import PageRequest, SortField, TaskFilter, TaskPage
from evertask.storage.sql.tables import FINAL_SQL, RECORD_COLUMNS, tasks, to_record
from evertask.task import CLAIMABLE_STATUSES, FINAL_STATUSES, TaskRecord, TaskStatus

SORT_COLUMNS: dict[SortField, Column[Any]] = {
    "created": tasks.c.created_at,
    "scheduled": tasks.c.scheduled_at,
    "finished": tasks.c.finished_at,
}
_SEARCHED = (tasks.c.type, tasks.c["key"], tasks.c.last_error, tasks.c.payload)
# As text, not bound parameters: SQLite uses a partial index only for a query holding its predicate term for term.
_FINAL_TERM: ColumnExpressionArgument[bool] = text(FINAL_SQL)
_FIND_BY_KEY = select(*RECORD_COLUMNS).where(tasks.c["key"] == bindparam("key"))


def status_terms(statuses: frozenset[TaskStatus]) -> list[ColumnExpressionArgument[bool]]:
    """``status`` is one of ``statuses``, with the terms that let the database use the indexes holding them:
    the partial indexes of final tasks, and those of waiting ones (``claim_queue IS NOT NULL``)."""
    if not statuses:
        return [false()]
    ordered = sorted(statuses)
    terms: list[ColumnExpressionArgument[bool]] = [
        tasks.c.status == ordered[0] if len(ordered) == 1 else tasks.c.status.in_(ordered)
    ]
    if statuses <= FINAL_STATUSES:
        terms.append(_FINAL_TERM)
    elif statuses <= CLAIMABLE_STATUSES:
        terms.append(tasks.c.claim_queue.is_not(None))
    return terms


def filter_terms(f: TaskFilter) -> list[ColumnExpressionArgument[bool]]:
    """Every condition of ``f`` except its statuses (see :func:`status_terms`)."""
    terms: list[ColumnExpressionArgument[bool]] = []
    if f.ids is not None:
        terms.append(tasks.c.id.in_(sorted(f.ids)) if f.ids else false())
    if f.queues is not None:
        terms.append(tasks.c.queue.in_(sorted(f.queues)) if f.queues else false())
    if f.types is not None:
        terms.append(tasks.c.type.in_(sorted(f.types)) if f.types else false())
    if f.key is not None:
        terms.append(tasks.c["key"] == f.key)
    if f.recurring is not None:
        terms.append(tasks.c.schedule.is_not(None) if f.recurring else tasks.c.schedule.is_(None))
    for column, after, before in (
        (tasks.c.created_at, f.created_after, f.created_before),
        (tasks.c.finished_at, f.finished_after, f.finished_before),
    ):
        if after is not None:
            terms.append(column >= after)
        if before is not None:
            terms.append(column < before)
    if f.search is not None:
        # ILIKE on PostgreSQL, lower() LIKE lower() elsewhere; % and _ in the text match themselves.
        terms.append(or_(*(column.icontains(f.search, autoescape=True) for column in _SEARCHED)))
    return terms


def _past(column: Column[Any], position: Position, descending: bool) -> ColumnElement[bool]:
    value, seq = position.value, position.seq
    if descending:
        return and_(column <= value, or_(column < value, tasks.c.seq < seq))
    return and_(column >= value, or_(column > value, tasks.c.seq > seq))


def page_select(
    columns: Sequence[Column[Any]],
    f: TaskFilter,
    statuses: frozenset[TaskStatus] | None,
    *,
    sort: SortField,
    descending: bool,
    limit: int,
    position: Position | None,
    split: bool = True,
) -> Select[Any] | None:
    """The first ``limit`` rows (``columns``, then ``seq``) that ``f`` matches with one of ``statuses`` (None:
    any), past ``position`` in sort order; one branch per status when ``split``. None when nothing can match."""
    if statuses is not None and not statuses:
        return None
    column = SORT_COLUMNS[sort]
    terms = filter_terms(f)
    if sort == "finished":
        terms.append(column.is_not(None))
    if position is not None:
        terms.append(_past(column, position, descending))

    def branch(group: frozenset[TaskStatus] | None) -> Select[Any]:
        where = terms if group is None else [*terms, *status_terms(group)]
        order = (column.desc(), tasks.c.seq.desc()) if descending else (column.asc(), tasks.c.seq.asc())
        return select(*columns, tasks.c.seq).where(*where).order_by(*order).limit(limit)

    if statuses is None or not split or len(statuses) == 1:
        return branch(statuses)
    branches = [branch(frozenset({status})).subquery() for status in sorted(statuses)]
    merged = union_all(*(select(*sub.c) for sub in branches)).subquery()
    by, seq = merged.c[column.name], merged.c.seq
    return select(*merged.c).order_by(*((by.desc(), seq.desc()) if descending else (by, seq))).limit(limit)


def query_page(conn: Connection, request: PageRequest) -> TaskPage:
    """One page of :meth:`Storage.query`, in one statement."""
    position = check_page(request)
    statuses = matching_statuses(request.filter, request.sort)
    statement = page_select(
        RECORD_COLUMNS,
        request.filter,
        statuses,
        sort=request.sort,
        descending=request.descending,
        limit=request.limit + 1,  # one more than shown: whether there is a next page
        position=position,
    )
    rows = [] if statement is None else conn.execute(statement).all()
    records = [to_record(row) for row in rows[: request.limit]]
    cursor = None
    if len(rows) > request.limit:
        last_value = sort_value(records[-1], request.sort)
        assert last_value is not None  # rows without the sort time are never selected
        cursor = encode_cursor(request.sort, request.descending, Position(last_value, rows[request.limit - 1][-1]))
    return TaskPage(records, cursor)


def count_tasks(conn: Connection, f: TaskFilter) -> int:
    """How many tasks ``f`` matches."""
    check_filter(f)
    terms = filter_terms(f) + ([] if f.statuses is None else status_terms(f.statuses))
    found: int = conn.execute(select(func.count()).select_from(tasks).where(*terms)).scalar_one()
    return found


def find_by_key(conn: Connection, key: str) -> TaskRecord | None:
    """The task holding ``key``, or None."""
    row = conn.execute(_FIND_BY_KEY, {"key": key}).first()
    return None if row is None else to_record(row)
