"""What every backend shares to answer queries and bulk actions: checking a request, the statuses it can match,
and the keyset cursor that marks where a page ended.

A page is ordered by its sort time, then by dispatch order (``seq``, unique), both ascending or both
descending; the next page starts strictly after the last task of this one. The cursor carries that position
(the sort time and ``seq``) with the order it was made for, so a cursor reused with another order is refused
rather than silently skipping tasks. Keyset paging stays as fast on the thousandth page as on the first and
never shows a task twice or skips one when tasks are added meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from evertask.errors import InvalidCursorError, InvalidFilterError
from evertask.storage.records import PageRequest, SortField, TaskFilter
from evertask.task import FINAL_STATUSES, TaskRecord, TaskStatus

MAX_PAGE: Final = 1000
"""The largest page a query returns."""
CHUNK: Final = 500
"""Tasks changed per transaction by a bulk action: each chunk holds its locks only while it is written (on
SQLite, where a write excludes every other, about 25 ms for 500 tasks)."""
RETRYABLE: Final = frozenset({TaskStatus.failed, TaskStatus.cancelled})
"""Statuses a task can be retried from."""
SORTS: Final[tuple[SortField, ...]] = ("created", "scheduled", "finished")
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the sort time and the dispatch order of its last task."""

    value: datetime
    seq: int


def sort_value(record: TaskRecord, sort: SortField) -> datetime | None:
    """The time ``record`` is ordered by under ``sort``."""
    if sort == "created":
        return record.created_at
    if sort == "scheduled":
        return record.scheduled_at
    return record.finished_at


def check_filter(filter: TaskFilter) -> None:
    """Refuse a filter no backend can answer the same way (naive datetimes); raises InvalidFilterError."""
    for name in ("created_after", "created_before", "finished_after", "finished_before"):
        value = getattr(filter, name)
        if value is not None and value.tzinfo is None:
            raise InvalidFilterError(f"{name}={value!r} is a naive datetime: give a timezone-aware UTC time")


def check_page(request: PageRequest) -> Position | None:
    """Check ``request`` and return the position its cursor names (None: the first page)."""
    if request.sort not in SORTS:
        raise InvalidFilterError(f"sort={request.sort!r}: sort by one of {', '.join(SORTS)}")
    if not 1 <= request.limit <= MAX_PAGE:
        raise InvalidFilterError(f"limit={request.limit}: a page holds 1 to {MAX_PAGE} tasks")
    check_filter(request.filter)
    return None if request.after is None else decode_cursor(request.after, request.sort, request.descending)


def matching_statuses(filter: TaskFilter, sort: SortField) -> frozenset[TaskStatus] | None:
    """The statuses a page can hold (None: any). Only final tasks have a finish time, so a page sorted by it
    holds final tasks only."""
    if sort != "finished":
        return filter.statuses
    return FINAL_STATUSES if filter.statuses is None else filter.statuses & FINAL_STATUSES


def check_payload(filter: TaskFilter, payload: str | None) -> None:
    """An edited payload belongs to one task: the filter must name exactly one id, and the payload be JSON."""
    if payload is None:
        return
    if filter.ids is None or len(filter.ids) != 1:
        raise InvalidFilterError("an edited payload is retried with one task: give exactly one id")
    try:
        json.loads(payload)
    except ValueError as exc:
        raise InvalidFilterError(f"the edited payload is not JSON ({exc})") from None


def encode_cursor(sort: SortField, descending: bool, position: Position) -> str:
    """The opaque cursor of ``position`` for this order."""
    text = json.dumps([_VERSION, sort, descending, position.value.isoformat(), position.seq], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortField, descending: bool) -> Position:
    """The position ``cursor`` names; InvalidCursorError unless this storage made it for this order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, made_for, made_descending, value, seq = json.loads(raw)
        at = datetime.fromisoformat(value)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidCursorError(cursor, "is not a cursor a page of tasks returned") from None
    if version != _VERSION or not isinstance(seq, int) or isinstance(seq, bool) or at.tzinfo is None:
        raise InvalidCursorError(cursor, "is not a cursor a page of tasks returned")
    if made_for != sort or made_descending is not descending:
        order = "descending" if made_descending else "ascending"
        raise InvalidCursorError(cursor, f"was made for sort={made_for!r} {order}: start again from the first page")
    return Position(at, seq)
