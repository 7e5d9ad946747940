"""The ``evertask`` command: operate tasks, queues and workers of a database, run a worker, manage the schema.

Needs the ``cli`` extra (typer, rich); ``evertask web`` also needs the ``web`` extra.
"""

from __future__ import annotations

import importlib
import sys

from evertask.app import EverTask
from evertask.errors import ConfigurationError


def main() -> None:
    """Entry point of the ``evertask`` console script."""
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
