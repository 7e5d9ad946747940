"""The tasks list's filter as it lives in the URL (so that a view can be bookmarked and shared), and the bodies
of the dashboard's forms.

Query parameters: ``status``, ``queue``, ``type`` (each repeatable), ``key``, ``q`` (free text), ``recurring``
(``yes``/``no``), ``range`` (``15m``, ``1h``, ``24h``, ``7d``: created within, counted from each request) or
``from``/``to`` (ISO 8601, UTC when no offset is given), ``sort``, ``order``, ``cursor``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from fastapi import Request

from evertask.errors import InvalidFilterError
from evertask.ops import Filter
from evertask.task import TaskStatus

RANGES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
RANGE_LABELS = {"": "any time", "15m": "last 15 min", "1h": "last hour", "24h": "last 24 h", "7d": "last 7 days"}
SORTS = ("created", "scheduled", "finished")
FILTER_KEYS = ("status", "queue", "type", "key", "q", "recurring", "range", "from", "to")
MAX_FORM = 1024 * 1024
"""The largest form body accepted (an edited payload included)."""

Params = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class ListView:
    """What the tasks list shows: the filter, its order, the page, and the filter's own query parameters."""

    filter: Filter
    sort: str = "created"
    descending: bool = True
    cursor: str | None = None
    params: dict[str, list[str]] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The filter's query string (without order or page): what a bookmark and a bulk action keep."""
        return urlencode([(key, value) for key in FILTER_KEYS for value in self.params.get(key, [])])

    def url(self, **changes: str | None) -> str:
        """The list's URL with some parameters changed (None drops one)."""
        pairs = {key: list(values) for key, values in self.params.items()}
        if self.sort != "created":
            pairs["sort"] = [self.sort]
        if not self.descending:
            pairs["order"] = ["asc"]
        for key, value in changes.items():
            pairs.pop(key, None)
            if value is not None:
                pairs[key] = [value]
        query = urlencode([(key, value) for key, values in pairs.items() for value in values])
        return f"/tasks?{query}" if query else "/tasks"

    def has(self, key: str, value: str) -> bool:
        """Whether the filter holds ``value`` for ``key`` (to check a box, select an option)."""
        return value in self.params.get(key, [])

    def first(self, key: str) -> str:
        """The first value of ``key``, or an empty text."""
        values = self.params.get(key)
        return values[0] if values else ""


def list_view(params: Params, *, now: datetime) -> ListView:
    """The list a URL's query asks for; :class:`InvalidFilterError` naming what is wrong."""
    kept = {key: [v for v in params.get(key, []) if v.strip()] for key in FILTER_KEYS}
    kept = {key: values for key, values in kept.items() if values}
    sort = _one(params, "sort") or "created"
    if sort not in SORTS:
        raise InvalidFilterError(f"sort by one of {', '.join(SORTS)}, not {sort!r}")
    order = _one(params, "order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidFilterError(f"order is asc or desc, not {order!r}")
    return ListView(
        filter=selection(kept, now=now),
        sort=sort,
        descending=order == "desc",
        cursor=_one(params, "cursor") or None,
        params=kept,
    )


def selection(params: Params, *, now: datetime) -> Filter:
    """The filter of a query's filter parameters."""
    statuses = []
    for value in params.get("status", []):
        try:
            statuses.append(TaskStatus(value))
        except ValueError:
            raise InvalidFilterError(f"status: no status {value!r}") from None
    created_after = created_before = None
    window = _one(params, "range")
    if window:
        if window not in RANGES:
            raise InvalidFilterError(f"range is one of {', '.join(RANGES)}, not {window!r}")
        created_after = now - RANGES[window]
    if _one(params, "from"):
        created_after = _moment(_one(params, "from"), "from")
    if _one(params, "to"):
        created_before = _moment(_one(params, "to"), "to")
    recurring = {"yes": True, "no": False, "": None}.get(_one(params, "recurring"))
    if _one(params, "recurring") not in ("yes", "no", ""):
        raise InvalidFilterError("recurring is yes or no")
    return Filter(
        status=statuses or None,
        queue=list(params.get("queue", [])) or None,
        type=list(params.get("type", [])) or None,
        key=_one(params, "key") or None,
        search=_one(params, "q") or None,
        recurring=recurring,
        created_after=created_after,
        created_before=created_before,
    )


async def form(request: Request) -> dict[str, list[str]]:
    """The fields of a form posted as ``application/x-www-form-urlencoded`` (what browsers and htmx send)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidFilterError("a dashboard form is sent as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise InvalidFilterError(f"the form is larger than {MAX_FORM // 1024} KiB")
    fields: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(key, []).append(value)
    return fields


def one(fields: Params, key: str) -> str:
    """The first value of a form field, or an empty text."""
    return _one(fields, key)


def parse_query(text: str) -> dict[str, list[str]]:
    """A query string's parameters (the filter a bulk form carries)."""
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(text, keep_blank_values=False):
        params.setdefault(key, []).append(value)
    return params


def describe(view_filter: Filter) -> str:
    """A filter in words, for a confirmation ("status failed, queue mail")."""
    parts = []
    if view_filter.id:
        parts.append(f"{len(view_filter.id)} selected")
    for name in ("status", "queue", "type"):
        values = getattr(view_filter, name)
        if values:
            parts.append(f"{name} {' or '.join(str(v) for v in values)}")
    if view_filter.key:
        parts.append(f"key {view_filter.key}")
    if view_filter.search:
        parts.append(f"matching “{view_filter.search}”")
    if view_filter.recurring is not None:
        parts.append("recurring" if view_filter.recurring else "one-off")
    if view_filter.created_after or view_filter.created_before:
        parts.append("created in the chosen time range")
    return ", ".join(parts) or "every task"


def _one(params: Params, key: str) -> str:
    values = params.get(key)
    return values[0].strip() if values else ""


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidFilterError(f"{name}: not a date and time (2031-01-31T09:00)") from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
