"""The dashboard: server-rendered pages over the operations service, made live by Server-Sent Events, served by
the same app as the REST API at ``/`` (the same authentication and roles). See docs/dashboard.md.

:func:`install` adds it to an app made by :func:`evertask.web.create_app`, which does so unless told not to.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

from fastapi import FastAPI, Request
from fastapi.responses import Response

from evertask.web import problems
from evertask.web.auth import Authenticate, AuthError, Principal
from evertask.web.dashboard import actions, pages, stream
from evertask.web.dashboard.access import Dashboard, LoginRequired, login_redirect, refused, session_principal
from evertask.web.dashboard.live import LiveHub
from evertask.web.dashboard.render import Pages
from evertask.web.dashboard.session import Sessions
from evertask.web.dashboard.snapshots import Aggregates
from evertask.web.dashboard.static import StaticFiles
from evertask.web.deps import WebState

__all__ = ["install"]


def install(app: FastAPI, *, secret: str | bytes | None = None) -> Dashboard:
    """Serve the dashboard from ``app`` (made by ``create_app``): its pages at ``/``, its stream and static
    files, and sign-in sessions that the API accepts too. ``secret`` signs the sessions (default: the
    ``EVERTASK_WEB_SECRET`` environment variable, else a random key per process)."""
    state: WebState = app.state.evertask
    hub = LiveHub(state.ops)
    aggregates = Aggregates(state.ops, refreshed=hub.nudge)
    board = Dashboard(pages=Pages(), sessions=Sessions(secret), hub=hub, static=StaticFiles(), aggregates=aggregates)
    app.state.dashboard = board
    auth = state.auth
    if auth.configured:
        app.state.evertask = replace(state, auth=replace(auth, authenticate=_with_sessions(auth.authenticate)))
    board.pages.env.globals["static"] = board.static.url
    for router in (stream.router, actions.router, pages.router):
        app.include_router(router)
    app.add_exception_handler(LoginRequired, login_redirect)

    app.add_exception_handler(AuthError, _refused)
    return board


async def _refused(request: Request, exc: Exception) -> Response:
    """A refused request: a problem document for the API and scripts, a page for a browser's page or form."""
    assert isinstance(exc, AuthError)
    browser = "text/html" in request.headers.get("accept", "") or request.headers.get("hx-request")
    if request.url.path.startswith("/api/") or not browser:
        return problems.problem(request, exc.status, type(exc).__name__, str(exc))
    return refused(request, exc)


def _with_sessions(original: Authenticate | None) -> Authenticate:
    """The app's ``authenticate`` with the dashboard's sign-in sessions tried first."""

    async def authenticate(request: Request) -> Principal | None:
        principal = session_principal(request)
        if principal is not None or original is None:
            return principal
        answer = original(request)
        return await answer if inspect.isawaitable(answer) else answer

    return authenticate
