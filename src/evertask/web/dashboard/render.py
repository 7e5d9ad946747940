"""Rendering the dashboard's pages: the Jinja2 templates shipped in ``evertask/web/templates`` and the filters
they format times, durations and payloads with.

A request from htmx that targets a live region (``HX-Target: live``) gets only that region, rendered from the
page's ``live`` block with the same data, so a live refresh sends a few kilobytes and no page is reloaded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from evertask import __version__
from evertask.app import utc_now
from evertask.ops import ScheduleInfo
from evertask.ops.views import error_line
from evertask.task import TaskStatus
from evertask.web.dashboard.cronwords import cron_words

LIVE_BLOCK = "live"

STATUS_LABELS = {
    TaskStatus.pending: "pending",
    TaskStatus.queued: "queued",
    TaskStatus.in_progress: "running",
    TaskStatus.completed: "completed",
    TaskStatus.failed: "failed",
    TaskStatus.cancelled: "cancelled",
    TaskStatus.service_stopped: "interrupted",
    TaskStatus.paused: "paused",
}
"""How each status is named on the page (``in_progress`` reads better as "running")."""


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """``moment`` relative to now: "12 s ago", "in 3 min", "just now"."""
    if moment is None:
        return "—"
    seconds = ((now or utc_now()) - moment).total_seconds()
    text = _span(abs(seconds))
    if text is None:
        return "just now"
    return f"{text} ago" if seconds > 0 else f"in {text}"


def age(seconds: float | None) -> str:
    """An age in seconds, in words: "4 s", "2 min", "3 h 5 min"."""
    if seconds is None:
        return "—"
    return _span(seconds) or "< 1 s"


def duration(seconds: float | None) -> str:
    """A run time: "85 ms", "1.24 s", "3 min 4 s"."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    return _span(seconds) or ""


def utc(moment: datetime | None) -> str:
    """An absolute time, to the second, in UTC."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "seconds") + " UTC"


def when(moment: datetime | None) -> Markup:
    """A time as the pages show it: relative ("3 s ago"), the absolute time in its title."""
    if moment is None:
        return Markup('<span class="muted">—</span>')
    return Markup('<time datetime="{}" title="{}">{}</time>').format(moment.isoformat(), utc(moment), ago(moment))


def badge(status: TaskStatus) -> Markup:
    """A status as a coloured badge that names it."""
    return Markup('<span class="badge st-{}">{}</span>').format(status.value, STATUS_LABELS.get(status, status))


def short_type(name: str) -> str:
    """The last dotted part of a task type (the whole name goes in the title)."""
    return name.rsplit(".", 1)[-1]


def short_id(task_id: object) -> str:
    """The last 8 characters of an id: the random part (ids begin with their creation time, alike in a batch)."""
    return str(task_id)[-8:]


def pretty_json(value: Any) -> str:
    """A stored JSON value, indented."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def number(value: int | float) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def percent(rate: float | None) -> str:
    """A rate in [0, 1] as a percentage."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f} %" if rate < 0.995 or rate == 1 else f"{rate * 100:.2f} %"


def _span(seconds: float) -> str | None:
    if seconds < 1:
        return None
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(int(minutes), 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} d"


def schedule_words(schedule: ScheduleInfo) -> str:
    """A schedule in words: its description, or, for a cron expression, what it means when it is a common one."""
    words = cron_words(schedule.cron) if schedule.cron else None
    if words is None:
        return schedule.description
    limits = schedule.description.partition("), ")[2]  # "cron ... (UTC), at most 10 runs": the limits
    return f"{words}, {limits}" if limits else words


def environment() -> Environment:
    """The Jinja2 environment of the dashboard's templates."""
    env = Environment(
        loader=PackageLoader("evertask.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=ago,
        age=age,
        duration=duration,
        utc=utc,
        short_type=short_type,
        short_id=short_id,
        error_line=error_line,
        pretty_json=pretty_json,
        number=number,
        percent=percent,
        status_label=lambda status: STATUS_LABELS.get(status, str(status)),
        schedule_words=schedule_words,
    )
    env.globals.update(
        version=__version__, statuses=list(TaskStatus), status_labels=STATUS_LABELS, when=when, badge=badge
    )
    # The macros are globals rather than imports, so that a live region rendered alone (a block) has them too.
    for part in ("parts/macros.html", "parts/queue_card.html"):
        module = env.get_template(part).module
        env.globals.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})
    return env


class Pages:
    """Renders templates for requests, with what every page shows (the principal, the CSRF token)."""

    def __init__(self) -> None:
        self.env = environment()

    def render(self, request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
        """The page ``name``, or only its live region for an htmx refresh of it."""
        template = self.env.get_template(name)
        values = {"request": request, "now": utc_now(), **_DEFAULTS, **context}
        if request.headers.get("hx-request") and request.headers.get("hx-target") == LIVE_BLOCK:
            block = template.blocks.get(LIVE_BLOCK)
            if block is not None:
                html = "".join(block(template.new_context(values)))
                return HTMLResponse(html, status_code=status, headers=_NO_STORE)
        return HTMLResponse(template.render(values), status_code=status, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store"}
_DEFAULTS: dict[str, Any] = {"visitor": None, "flash": None, "live_source": "none"}
