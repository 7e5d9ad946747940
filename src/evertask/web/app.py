"""``create_app``: the evertask web app, an ASGI application to serve with uvicorn or to mount in another one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.params import Depends

from evertask import __version__
from evertask.app import EverTask
from evertask.errors import EverTaskError
from evertask.ops import Operations
from evertask.storage.base import Storage
from evertask.web import api, health, problems
from evertask.web.auth import AuthSettings
from evertask.web.deps import WebState

logger = logging.getLogger("evertask.web")


def create_app(
    source: EverTask | Storage | str | Operations,
    *,
    auth: AuthSettings | None = None,
    routers: Sequence[APIRouter] = (),
    dependencies: Sequence[Depends] = (),
    max_lag: float | None = None,
    title: str = "evertask",
    dashboard: bool = True,
) -> FastAPI:
    """The REST API (``/api/v1``, OpenAPI 3.1 at ``/api/openapi.json``, docs at ``/api/docs``) and the probes
    (``/healthz``, ``/readyz``) over ``source``: an EverTask app (its storage; its registry validates edited
    payloads), a storage, a storage URL such as ``sqlite:///tasks.db``, or an :class:`Operations` service.

    ``auth``: who may use it (None: open to loopback requests only; see :mod:`evertask.web.auth`).
    ``routers`` are served beside the API (the dashboard at ``/``) with the same dependencies and problem
    documents; ``dependencies`` (FastAPI ``Depends``) run before every route, e.g. the host app's own login.
    ``max_lag``: seconds the oldest due task may wait before ``/readyz`` reports not ready (None: not judged).
    ``dashboard``: serve the dashboard at ``/`` too (it needs the templates' Jinja2, in the ``web`` extra).

    The storage is opened when the app starts (or at its first request: when it is mounted in an app whose
    lifespan does not reach it, or the database was down at start) and closed when it stops; an EverTask app
    not started yet is started without its worker, and stopped again at the end.
    """
    ops = source if isinstance(source, Operations) else Operations(source)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await ops.open()
        except EverTaskError as exc:  # a database that is down at start: /readyz says so, requests try again
            logger.warning("the storage could not be opened yet (every request tries again): %s", exc)
        try:
            yield
        finally:
            board = getattr(app.state, "dashboard", None)
            if board is not None:
                await board.close()
            await ops.close()

    app = FastAPI(
        title=title,
        version=__version__,
        summary="Operate evertask's durable background tasks: find, inspect, retry, cancel, pause, purge.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=list(dependencies),
    )
    app.state.evertask = WebState(ops=ops, auth=auth or AuthSettings(), max_lag=max_lag)
    problems.install(app)
    app.include_router(health.router)
    app.include_router(api.router)
    for extra in routers:
        app.include_router(extra)
    if dashboard:
        from evertask.web.dashboard import install

        install(app)
    return app
