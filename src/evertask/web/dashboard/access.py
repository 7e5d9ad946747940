"""Who may see and use the dashboard: the API's rules (:mod:`evertask.web.auth`), with a sign-in page in front.

Pages need a viewer; a visitor without credentials is sent to ``/login`` (or, on an open loopback dashboard,
let in as the local operator). Forms need an operator, the same-origin check and the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from evertask.ops import Operations
from evertask.web.auth import (
    AuthenticationRequiredError,
    AuthError,
    AuthSettings,
    ForbiddenError,
    Principal,
    authenticate,
    check_same_origin,
)
from evertask.web.dashboard.live import LiveHub
from evertask.web.dashboard.render import Pages
from evertask.web.dashboard.session import CSRF_FIELD, CSRF_HEADER, Session, Sessions
from evertask.web.dashboard.snapshots import Aggregates
from evertask.web.dashboard.static import StaticFiles
from evertask.web.deps import web_state


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the dashboard keeps on ``app.state.dashboard``."""

    pages: Pages
    sessions: Sessions
    hub: LiveHub
    static: StaticFiles
    aggregates: Aggregates

    async def close(self) -> None:
        """End the live streams and the reads behind the pages (the app stops)."""
        self.hub.close()
        await self.aggregates.close()


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who looks at a page: their principal, their session (None: a token or an open dashboard), and the
    CSRF token their forms carry."""

    principal: Principal
    session: Session | None
    csrf: str
    signed_in: bool

    @property
    def can_act(self) -> bool:
        """Whether the page shows the buttons that act."""
        return self.principal.can_act


class LoginRequired(Exception):
    """The visitor must sign in first; ``next`` is where to go afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def dashboard(request: Request) -> Dashboard:
    """The dashboard state of the app serving ``request``."""
    state: Dashboard = request.app.state.dashboard
    return state


def ops(request: Request) -> Operations:
    """The operations service the dashboard reads and acts through."""
    return web_state(request).ops


def settings(request: Request) -> AuthSettings:
    """The app's authentication settings."""
    return web_state(request).auth


async def visitor(request: Request) -> Visitor:
    """The visitor of a page; :class:`LoginRequired` when they have not signed in."""
    board = dashboard(request)
    try:
        principal = await authenticate(request, settings(request))
    except AuthenticationRequiredError:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target) from None
    session = board.sessions.read(request)
    return Visitor(principal, session, board.sessions.csrf_token(session), session is not None)


async def acting(request: Request, fields: dict[str, list[str]]) -> Visitor:
    """The visitor posting a form: from this site, signed in as an operator, with the form's CSRF token."""
    check_same_origin(request, settings(request).trusted_origins)
    found = await visitor(request)
    presented = (fields.get(CSRF_FIELD) or [request.headers.get(CSRF_HEADER, "")])[0]
    dashboard(request).sessions.check_csrf(found.session, presented)
    if not found.can_act:
        raise ForbiddenError(f"{found.principal.name!r} is a viewer: only an operator may act")
    return found


def session_principal(request: Request) -> Principal | None:
    """The principal of the request's session cookie (the dashboard's part in the API's authentication)."""
    board: Dashboard | None = getattr(request.app.state, "dashboard", None)
    session = None if board is None else board.sessions.read(request)
    return None if session is None else session.principal


def login_redirect(request: Request, exc: Exception) -> Response:
    """Send a visitor who has not signed in to the sign-in page (an htmx request by ``HX-Redirect``)."""
    assert isinstance(exc, LoginRequired)
    target = "/login?next=" + quote(exc.next_url, safe="/")
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def refused(request: Request, exc: AuthError) -> HTMLResponse:
    """A page saying why an action or a page was refused."""
    return dashboard(request).pages.render(
        request, "error.html", {"title": "Not allowed", "message": str(exc), "visitor": None}, status=exc.status
    )
