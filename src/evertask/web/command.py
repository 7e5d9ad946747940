"""``evertask web APP_OR_URL``: serve the web app with uvicorn until Ctrl+C.

The CLI registers :func:`web` as its ``web`` command. Bound to loopback without credentials, the API is open
(the local developer's case); bound to any other address it refuses to start unless a token is configured.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated

import typer
import uvicorn

from evertask.errors import ConfigurationError
from evertask.ops import Operations
from evertask.web.app import create_app
from evertask.web.auth import TOKEN_ENV, USERS_ENV, VIEWER_TOKEN_ENV, AuthSettings, is_loopback
from evertask.web.serving import Server

logger = logging.getLogger("evertask.web")


def web(
    target: Annotated[
        str,
        typer.Argument(
            metavar="APP_OR_URL",
            help="A storage URL (sqlite:///tasks.db, postgresql://host/db) or an app as module:attribute.",
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on; other than loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    auth_token: Annotated[
        str | None,
        typer.Option(envvar=TOKEN_ENV, show_default=False, help="Operator token (better given by the env var)."),
    ] = None,
    viewer_token: Annotated[
        str | None,
        typer.Option(envvar=VIEWER_TOKEN_ENV, show_default=False, help="Read-only token (or the env var)."),
    ] = None,
    users: Annotated[
        str | None,
        typer.Option(
            envvar=USERS_ENV,
            show_default=False,
            help="Dashboard users as name:role:password;... (better given by the env var).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "info",
) -> None:
    """Serve the dashboard (at /) and the REST API (docs at /api/docs) over a database or an app until Ctrl+C."""
    auth = AuthSettings.from_tokens(auth_token, viewer_token, users=users, environ={})  # typer read the env vars
    require_credentials(host, auth)
    if "://" in target:
        ops = Operations(target)
    else:
        from evertask.cli import load_app  # the CLI's loader of module:attribute

        ops = Operations(load_app(target))
    app = create_app(ops, auth=auth)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower())
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    shown = getattr(ops.storage, "url", type(ops.storage).__name__)
    access = "tokens required" if auth.configured else "open to loopback (no credentials configured)"
    logger.info(
        "evertask web over %s: the dashboard at http://%s:%d/ (API docs at /api/docs); %s",
        shown,
        _bracketed(host),
        port,
        access,
    )
    # uvicorn shuts down gracefully on Ctrl+C, then raises the captured signal again: that is the normal end.
    with contextlib.suppress(KeyboardInterrupt):
        Server(config).run()
    logger.info("evertask web stopped")


def require_credentials(host: str, auth: AuthSettings) -> None:
    """Refuse to serve on an address other than loopback without credentials: there is no default password."""
    if not auth.configured and not is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve on {host} without credentials: anyone who can reach it could act on your tasks. "
            f"Set {TOKEN_ENV} (operator) and/or {VIEWER_TOKEN_ENV} (read-only), or pass --auth-token, "
            "or listen on 127.0.0.1"
        )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
