"""``/healthz`` (the process is up) and ``/readyz`` (it can do its job) for orchestrators' probes.

Both answer without credentials, as probes have none, and so say no more than an orchestrator needs: the
database error itself is in ``/api/v1/health`` (for viewers) and in the server log.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from evertask.web.deps import web_state

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the database answers and a worker is alive (and the scheduler keeps up, when a lag bound is
    set); ``problems`` says what is wrong."""

    ready: bool
    database: bool
    workers: int
    scheduler_lag: float | None
    problems: list[str]


@router.get("/healthz")
async def healthz() -> Alive:
    """200 while the process serves requests."""
    return Alive()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    """200 when ready, 503 (with the same document) when not."""
    state = web_state(request)
    health = await state.ops.health(max_lag=state.max_lag)
    problems = [problem if health.database else "the database is not usable" for problem in health.problems]
    body = Readiness(
        ready=health.ready,
        database=health.database,
        workers=health.workers,
        scheduler_lag=health.scheduler_lag,
        problems=problems,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if health.ready else 503)
