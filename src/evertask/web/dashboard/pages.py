"""The dashboard's pages (GET): overview, tasks, task detail, queues, workers, recurring series, live events.

Each reads the operations service (never storage or SQL) and renders one template; an htmx refresh of the
page's live region gets only that region (see :mod:`evertask.web.dashboard.render`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import unquote
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from evertask.app import utc_now
from evertask.errors import InvalidFilterError, TaskNotFoundError
from evertask.ops import Stats, TaskDetail
from evertask.ops.service import RETRYABLE
from evertask.task import TaskStatus
from evertask.web.dashboard import forms
from evertask.web.dashboard.access import Visitor, dashboard, ops, settings, visitor
from evertask.web.dashboard.live import RECENT
from evertask.web.dashboard.render import LIVE_BLOCK

router = APIRouter(include_in_schema=False)
Seen = Annotated[Visitor, Depends(visitor)]
PAGE_SIZE = 50
FLASH_COOKIE = "evertask_flash"
CANCELLABLE = frozenset(TaskStatus) - {TaskStatus.completed, TaskStatus.failed, TaskStatus.cancelled}


def render(request: Request, who: Visitor | None, name: str, **context: Any) -> HTMLResponse:
    """Render a page for ``who``, with the notice an action left for it (then dropped)."""
    flash = request.cookies.get(FLASH_COOKIE)
    notice = None
    if flash and request.headers.get("hx-target") != LIVE_BLOCK:  # a live refresh leaves it for the page
        kind, _, message = unquote(flash).partition(":")
        notice = {"kind": "error" if kind == "error" else "ok", "message": message}
    response = dashboard(request).pages.render(
        request,
        name,
        {"visitor": who, "flash": notice, "live_source": dashboard(request).hub.source, **context},
    )
    if notice:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, who: Seen) -> HTMLResponse:
    """Counts by status, throughput, queues, task types, workers."""
    aggregates = dashboard(request).aggregates
    stats, queue_list, worker_list = await asyncio.gather(
        aggregates.stats.get(), aggregates.queues.get(), ops(request).workers()
    )
    return render(
        request,
        who,
        "overview.html",
        page="overview",
        stats=stats,
        chart=chart_data(stats),
        queues=queue_list,
        workers=worker_list,
        total=sum(stats.counts.values()),
        as_of=max(aggregates.stats.age, aggregates.queues.age),
    )


CHART_MIN_BUCKETS = {"minute": 15, "hour": 6}
"""Buckets a chart shows at least: the empty ones before the first execution are left out (a new deployment's
hour is not a flat line with a spike at its end)."""


def chart_data(stats: Stats) -> dict[str, list[list[float]]]:
    """The throughput series as uPlot reads them: timestamps (s), completed, failed."""
    charts: dict[str, list[list[float]]] = {}
    for name, points in (("minute", stats.per_minute), ("hour", stats.per_hour)):
        first = next((i for i, point in enumerate(points) if point.completed or point.failed), len(points))
        shown = points[min(first, max(0, len(points) - CHART_MIN_BUCKETS[name])) :]
        charts[name] = [
            [point.start.timestamp() for point in shown],
            [float(point.completed) for point in shown],
            [float(point.failed) for point in shown],
        ]
    return charts


@router.get("/tasks", response_class=HTMLResponse)
async def tasks(request: Request, who: Seen) -> HTMLResponse:
    """The filterable list, a page at a time."""
    service = ops(request)
    error = None
    try:
        view = forms.list_view(_params(request), now=utc_now())
        page = await service.list_tasks(
            view.filter, sort=view.sort, descending=view.descending, limit=PAGE_SIZE, cursor=view.cursor
        )
    except InvalidFilterError as exc:
        error = str(exc)
        view = forms.ListView(filter=forms.selection({}, now=utc_now()), params={})
        page = await service.list_tasks(limit=PAGE_SIZE)
    return render(
        request,
        who,
        "tasks.html",
        page="tasks",
        view=view,
        tasks=page.tasks,
        next_cursor=page.next_cursor,
        error=error,
        ranges=forms.RANGE_LABELS,
        sorts=forms.SORTS,
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_detail(request: Request, task_id: str, who: Seen) -> HTMLResponse:
    """Everything about one task, and the actions its status allows."""
    try:
        task = await ops(request).get_task(UUID(task_id))
    except (ValueError, TaskNotFoundError):
        return dashboard(request).pages.render(
            request,
            "error.html",
            {
                "visitor": who,
                "title": "No such task",
                "message": f"There is no task {task_id} (it may have been purged).",
            },
            status=404,
        )
    return task_page(request, who, task)


def task_page(request: Request, who: Visitor, task: TaskDetail, *, status: int = 200, **extra: Any) -> HTMLResponse:
    """A task's page (``extra``: an edited payload sent back with what is wrong with it)."""
    response = render(
        request,
        who,
        "task.html",
        page="tasks",
        task=task,
        actions=actions(task),
        logs=_logs(task),
        here=f"/tasks/{task.id}",
        **extra,
    )
    response.status_code = status
    return response


def actions(task: TaskDetail) -> dict[str, bool]:
    """Which actions the task's status allows."""
    series = task.recurring and not task.status.is_final
    return {
        "retry": task.status in RETRYABLE,
        "cancel": task.status in CANCELLABLE and not task.cancel_requested,
        "run_now": series,
        "pause": series and task.status in (TaskStatus.pending, TaskStatus.queued),
        "resume": series and task.status is TaskStatus.paused,
    }


def _logs(task: TaskDetail) -> list[Any]:
    # Captured log lines arrive with the observability work; the template shows the section once they exist.
    logs: list[Any] = getattr(task, "logs", None) or []
    return logs


@router.get("/queues", response_class=HTMLResponse)
async def queues(request: Request, who: Seen) -> HTMLResponse:
    """Every queue: counts, oldest waiting, paused or not."""
    snapshot = dashboard(request).aggregates.queues
    queue_list = await snapshot.get()
    return render(request, who, "queues.html", page="queues", queues=queue_list, as_of=snapshot.age)


@router.get("/workers", response_class=HTMLResponse)
async def workers(request: Request, who: Seen) -> HTMLResponse:
    """The live workers."""
    return render(request, who, "workers.html", page="workers", workers=await ops(request).workers())


@router.get("/recurring", response_class=HTMLResponse)
async def recurring(request: Request, who: Seen) -> HTMLResponse:
    """Every recurring series with its schedule, next and last runs."""
    snapshot = dashboard(request).aggregates.recurring
    series = await snapshot.get()
    return render(request, who, "recurring.html", page="recurring", series=series, as_of=snapshot.age)


@router.get("/live", response_class=HTMLResponse)
async def live(request: Request, who: Seen) -> HTMLResponse:
    """The event stream as it happens."""
    recent = [event.json() for event in dashboard(request).hub.recent()]
    return render(request, who, "live.html", page="live", recent=recent, keep=RECENT)


@router.get("/login", response_class=HTMLResponse, response_model=None)
async def login_page(request: Request) -> Response:
    """The sign-in form (an open dashboard needs none)."""
    if not settings(request).configured:
        return RedirectResponse("/", status_code=303)
    auth = settings(request)
    return dashboard(request).pages.render(
        request,
        "login.html",
        {
            "visitor": None,
            "next": _safe_next(request.query_params.get("next")),
            "error": None,
            "with_users": bool(auth.users),
            "with_tokens": bool(auth.tokens),
        },
    )


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site's address)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
