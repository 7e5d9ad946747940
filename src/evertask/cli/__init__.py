"""The ``evertask`` command (console script ``evertask.cli:main``).

Its commands live in :mod:`evertask.cli.app` and need the ``cli`` extra (typer); this module imports without it,
so that the command run on an install without the extra says what to install instead of a traceback.
"""

from __future__ import annotations

import sys

from evertask._extras import require
from evertask.errors import MissingExtraError


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
