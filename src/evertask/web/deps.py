"""What every route of the web app depends on: the operations service, and who is asking. Routers added by
``create_app(routers=...)`` (the dashboard) use the same dependencies, so they share the API's auth and roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from evertask.ops import Operations
from evertask.web.auth import AuthSettings, ForbiddenError, Principal, authenticate, check_same_origin


@dataclass(frozen=True, slots=True)
class WebState:
    """What ``create_app`` keeps on ``app.state.evertask``."""

    ops: Operations
    auth: AuthSettings
    max_lag: float | None = None


BEARER = HTTPBearer(auto_error=False, description="An API token: Authorization: Bearer <token>.")
"""Declares the token header in the OpenAPI document (so /api/docs can send it); :func:`authenticate` reads it."""
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def web_state(request: Request) -> WebState:
    """The state of the evertask web app serving ``request``."""
    state: WebState = request.app.state.evertask
    return state


def operations(request: Request) -> Operations:
    """The operations service of the app serving ``request``."""
    return web_state(request).ops


async def viewer(request: Request, _: Credentials) -> Principal:
    """The principal of a request that reads: any authenticated one (or anyone on an open loopback API)."""
    return await authenticate(request, web_state(request).auth)


async def operator(request: Request, _: Credentials) -> Principal:
    """The principal of a request that acts: it must come from this site (a browser) and be an operator."""
    auth = web_state(request).auth
    check_same_origin(request, auth.trusted_origins)
    principal = await authenticate(request, auth)
    if not principal.can_act:
        raise ForbiddenError(f"{principal.name!r} is a {principal.role}: only an operator may act")
    return principal


Ops = Annotated[Operations, Depends(operations)]
Viewer = Annotated[Principal, Depends(viewer)]
Operator = Annotated[Principal, Depends(operator)]
