"""Checking what an operator asked for and turning it into storage's terms: a :class:`Filter` into a
:class:`TaskFilter`, a page size, a sort. Every problem is an :class:`InvalidFilterError` naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar, cast, get_args

from evertask.errors import InvalidArgumentError, InvalidFilterError
from evertask.ops.models import Filter
from evertask.storage.records import SortField, TaskFilter

MAX_PAGE = 1000
"""The largest page of tasks one call returns."""
MAX_SEARCH = 200
"""The longest free-text search accepted (longer text is no search a person types)."""
MAX_NAME = 200
"""The longest queue name, key or actor storage keeps."""
T = TypeVar("T")


def storage_filter(selection: Filter | None) -> TaskFilter:
    """The storage filter of ``selection`` (None: every task), after checking each field."""
    if selection is None:
        return TaskFilter()
    for name in ("created", "finished"):
        after: datetime | None = getattr(selection, f"{name}_after")
        before: datetime | None = getattr(selection, f"{name}_before")
        for field, value in ((f"{name}_after", after), (f"{name}_before", before)):
            if value is not None and value.utcoffset() is None:
                raise InvalidFilterError(f"{field}: a time needs a UTC offset (e.g. 2025-01-31T09:00:00Z)")
        if after is not None and before is not None and after > before:
            raise InvalidFilterError(f"{name}_after is later than {name}_before: the range is empty")
    for field in ("queue", "type"):
        for value in getattr(selection, field) or ():
            _filter_text(value, field)
    if selection.key is not None:
        _filter_text(selection.key, "key")
    search = selection.search
    if search is not None and len(search) > MAX_SEARCH:
        raise InvalidFilterError(f"search: at most {MAX_SEARCH} characters")
    return TaskFilter(
        ids=_set(selection.id),
        statuses=_set(selection.status),
        queues=_set(selection.queue),
        types=_set(selection.type),
        key=selection.key,
        recurring=selection.recurring,
        created_after=selection.created_after,
        created_before=selection.created_before,
        finished_after=selection.finished_after,
        finished_before=selection.finished_before,
        search=search or None,  # an empty search box searches for nothing: it matches everything
    )


def bulk_filter(selection: Filter) -> TaskFilter:
    """The storage filter of a bulk action, which must name at least one criterion: an action on every task
    ever stored is never what an operator meant by leaving the filter empty."""
    if selection.is_empty():
        raise InvalidFilterError("a bulk action needs at least one criterion (e.g. status=failed)")
    return storage_filter(selection)


def page_size(limit: int) -> int:
    """``limit`` if it is a usable page size."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidFilterError(f"limit: a page holds 1 to {MAX_PAGE} tasks, not {limit}")
    return limit


def sort_field(sort: str) -> SortField:
    """``sort`` as a storage sort field."""
    if sort in get_args(SortField):
        return cast(SortField, sort)
    raise InvalidFilterError(f"sort by one of {', '.join(get_args(SortField))}, not {sort!r}")


def name_text(value: str, name: str) -> str:
    """``value`` if it is a usable name (a queue, a key, an actor): 1 to 200 characters."""
    if not value or len(value) > MAX_NAME:
        raise InvalidArgumentError(name, _length(value))
    return value


def _filter_text(value: str, name: str) -> None:
    if not value or len(value) > MAX_NAME:
        raise InvalidFilterError(f"{name}: {_length(value)}")


def _length(value: str) -> str:
    return f"1 to {MAX_NAME} characters, got {len(value)}"


def _set(values: list[T] | None) -> frozenset[T] | None:
    return None if values is None else frozenset(values)
