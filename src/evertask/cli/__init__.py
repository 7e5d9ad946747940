"""The ``evertask`` command (console script ``evertask.cli:main``): operate tasks, queues and workers of a database,
run a worker, manage the schema.

Its commands live in :mod:`evertask.cli.app` and need the ``cli`` extra (typer, rich); ``evertask web`` also needs
the ``web`` extra. This module imports without them, so that the command run on an install without the extra says
what to install instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys

from evertask._extras import require
from evertask.app import EverTask
from evertask.errors import ConfigurationError, MissingExtraError


def main() -> None:
    """Entry point of the ``evertask`` console script: runs the command, or exits with status 2 and one line
    naming the extra to install when typer is missing."""
    try:
        require("typer", "cli", needed_by="the evertask command")
    except MissingExtraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    from evertask.cli.app import run

    run()


def load_app(target: str) -> EverTask:
    """Import ``module:attribute`` (or ``module``, using its ``app``) and return the EverTask app there."""
    module_name, _, attribute = target.partition(":")
    sys.path.insert(0, ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, EverTask):
        raise ConfigurationError(f"{target!r} is not an EverTask app (looked for {attribute or 'app'!r})")
    return app
