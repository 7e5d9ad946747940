"""The REST API under ``/api/v1``: tasks, actions, queues, workers, recurring series, statistics and health.

Each route is a thin call of :class:`~evertask.ops.Operations`; reads need a viewer, actions (POST) an
operator. The models are the service's, so the JSON here is the CLI's ``--json`` too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, JsonValue

from evertask.ops import (
    BulkResult,
    Filter,
    Health,
    QueueInfo,
    RecurringSeries,
    RunNowResult,
    Stats,
    TaskDetail,
    TaskPage,
    TaskSummary,
    WorkerModel,
)
from evertask.ops.filters import MAX_PAGE
from evertask.web.deps import Operator, Ops, Viewer, web_state
from evertask.web.problems import problem_responses

router = APIRouter(prefix="/api/v1", responses=problem_responses(400, 401, 403, 422, 503))
NOT_FOUND = problem_responses(404)
CONFLICT = problem_responses(404, 409)


class TaskListQuery(Filter):
    """A filter, an order and a page, as query parameters (repeat ``status``, ``queue``, ``type``, ``id``
    for several values)."""

    sort: Literal["created", "scheduled", "finished"] = "created"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, description="The next_cursor of the page before.")


class RetryRequest(BaseModel):
    """An optional replacement payload (a JSON object), validated against the task class when it is known."""

    payload: dict[str, JsonValue] | None = None


class BulkRequest(BaseModel):
    """Which tasks (at least one criterion), and whether only to count them."""

    filter: Filter
    dry_run: bool = False


class PurgeRequest(BulkRequest):
    """Which finished tasks to delete: ``older_than`` (seconds, or ISO 8601 like ``P7D``) counts from when
    they finished."""

    older_than: timedelta | None = None


# -- tasks -------------------------------------------------------------------------------------------------


@router.get("/tasks", tags=["tasks"])
async def list_tasks(query: Annotated[TaskListQuery, Query()], ops: Ops, _: Viewer) -> TaskPage:
    """A page of tasks matching the filter; follow ``next_cursor`` for the next page."""
    selection = Filter.model_validate(query.model_dump(include=set(Filter.model_fields)))
    return await ops.list_tasks(
        selection, sort=query.sort, descending=query.order == "desc", limit=query.limit, cursor=query.cursor
    )


@router.get("/tasks/by-key", tags=["tasks"], responses=NOT_FOUND)
async def task_by_key(key: Annotated[str, Query(min_length=1, max_length=200)], ops: Ops, _: Viewer) -> TaskDetail:
    """The task stored under a key."""
    return await ops.find_by_key(key)


@router.get("/tasks/{task_id}", tags=["tasks"], responses=NOT_FOUND)
async def get_task(task_id: UUID, ops: Ops, _: Viewer) -> TaskDetail:
    """One task: payload, each execution with its error and traceback, history with actors, result."""
    return await ops.get_task(task_id)


@router.post("/tasks/{task_id}/retry", tags=["tasks"], responses=CONFLICT)
async def retry_task(task_id: UUID, ops: Ops, who: Operator, body: RetryRequest | None = None) -> TaskSummary:
    """Retry a failed or cancelled task now, its attempts counted from zero; optionally with a new payload."""
    return await ops.retry(task_id, actor=who.name, payload=None if body is None else body.payload)


@router.post("/tasks/{task_id}/cancel", tags=["tasks"], responses=CONFLICT)
async def cancel_task(task_id: UUID, ops: Ops, who: Operator) -> TaskSummary:
    """Cancel a task: at once if it waits, at its worker's next heartbeat if it runs."""
    return await ops.cancel(task_id, actor=who.name)


@router.post("/tasks/retry", tags=["tasks"])
async def retry_tasks(body: BulkRequest, ops: Ops, who: Operator) -> BulkResult:
    """Retry every failed or cancelled task matching the filter (``dry_run``: count them only)."""
    return await ops.retry_matching(body.filter, actor=who.name, dry_run=body.dry_run)


@router.post("/tasks/cancel", tags=["tasks"])
async def cancel_tasks(body: BulkRequest, ops: Ops, who: Operator) -> BulkResult:
    """Cancel every unfinished task matching the filter (``dry_run``: count them only)."""
    return await ops.cancel_matching(body.filter, actor=who.name, dry_run=body.dry_run)


@router.post("/tasks/purge", tags=["tasks"])
async def purge_tasks(body: PurgeRequest, ops: Ops, _: Operator) -> BulkResult:
    """Delete finished tasks matching the filter (and older than ``older_than``), with their history and
    executions; unfinished tasks are never deleted (``dry_run``: count them only)."""
    return await ops.purge(body.filter, older_than=body.older_than, dry_run=body.dry_run)


# -- queues and workers ------------------------------------------------------------------------------------


@router.get("/queues", tags=["queues"])
async def list_queues(ops: Ops, _: Viewer) -> list[QueueInfo]:
    """Every queue: tasks by status, paused or not, the age of its oldest waiting task."""
    return await ops.queues()


@router.post("/queues/{name}/pause", tags=["queues"])
async def pause_queue(name: str, ops: Ops, who: Operator) -> QueueInfo:
    """Pause a queue for every worker: its tasks wait (and are still stored) until it is resumed."""
    return await ops.pause_queue(name, actor=who.name)


@router.post("/queues/{name}/resume", tags=["queues"])
async def resume_queue(name: str, ops: Ops, who: Operator) -> QueueInfo:
    """Let workers claim the queue's tasks again."""
    return await ops.resume_queue(name, actor=who.name)


@router.get("/workers", tags=["workers"])
async def list_workers(ops: Ops, _: Viewer) -> list[WorkerModel]:
    """The live workers: host, pid, queues, last heartbeat, running tasks."""
    return await ops.workers()


# -- recurring series --------------------------------------------------------------------------------------


@router.get("/recurring", tags=["recurring"])
async def list_recurring(ops: Ops, _: Viewer) -> list[RecurringSeries]:
    """Every recurring series that is not over, soonest next run first."""
    return await ops.recurring()


@router.post("/recurring/{series_id}/run", tags=["recurring"], responses=NOT_FOUND)
async def run_series_now(series_id: UUID, ops: Ops, _: Operator) -> RunNowResult:
    """Run the series' task once now, as a one-off task; the schedule is unchanged."""
    return await ops.run_now(series_id)


@router.post("/recurring/{series_id}/pause", tags=["recurring"], responses=CONFLICT)
async def pause_series(series_id: UUID, ops: Ops, who: Operator) -> RecurringSeries:
    """Hold the series until it is resumed."""
    return await ops.pause_series(series_id, actor=who.name)


@router.post("/recurring/{series_id}/resume", tags=["recurring"], responses=CONFLICT)
async def resume_series(series_id: UUID, ops: Ops, who: Operator) -> RecurringSeries:
    """Continue a paused series from its next occurrence."""
    return await ops.resume_series(series_id, actor=who.name)


# -- statistics and health ---------------------------------------------------------------------------------


@router.get("/stats", tags=["stats"])
async def stats(
    ops: Ops,
    _: Viewer,
    window: Annotated[float, Query(ge=60, le=30 * 86400, description="Seconds of the per-type window.")] = 3600,
) -> Stats:
    """Throughput per minute (last hour) and per hour (last day); per type: executions, failure rate,
    p50/p95/p99 duration over ``window``; task counts by status."""
    return await ops.stats(timedelta(seconds=window))


@router.get("/health", tags=["health"])
async def health(request: Request, ops: Ops, _: Viewer) -> Health:
    """The readiness checks in full: database (with its error), workers, scheduler lag."""
    return await ops.health(max_lag=web_state(request).max_lag)
