"""``evertask web``: the REST API's command, which lives with the API in :mod:`evertask.web.command`.

It is imported only when ``evertask web`` runs, so that the other commands work (and start fast) without the
``web`` extra; its own options and ``--help`` are passed through to it.
"""

from __future__ import annotations

from typing import Any, Final

import typer

from evertask.errors import ConfigurationError

_WEB_PACKAGES: Final = frozenset({"fastapi", "starlette", "uvicorn"})

SETTINGS: Final[dict[str, Any]] = {
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "add_help_option": False,
}
"""How the command is registered: every argument, ``--help`` included, goes to the real command."""


def web(ctx: typer.Context) -> None:
    """Serve the dashboard and the REST API over a database or an app (needs the web extra); see evertask web --help."""
    try:
        from evertask.web.command import web as command
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in _WEB_PACKAGES:
            raise
        raise ConfigurationError(
            f"evertask web needs {exc.name}, which is not installed: "
            'install evertask[web], e.g. pip install "evertask[web]"'
        ) from exc
    served = typer.Typer(add_completion=False)
    served.command()(command)
    served(args=ctx.args, prog_name=f"{ctx.find_root().info_name} web")
