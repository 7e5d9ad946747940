"""The ``evertask`` command: operate tasks, queues and workers of a database, run a worker, manage the schema.

Needs the ``cli`` extra (typer, rich); ``evertask web`` also needs the ``web`` extra.
"""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``evertask`` console script."""
    from evertask.cli.app import cli

    cli()
