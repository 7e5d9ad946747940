"""The commands of ``evertask``: run a worker for an app, and manage the database schema.

Needs the ``cli`` extra (typer); :func:`evertask.cli.main` checks for it before importing this module.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from typing import Annotated

import typer

from evertask import __version__
from evertask.app import EverTask
from evertask.errors import ConfigurationError, StorageError

cli = typer.Typer(help="evertask: durable background tasks.", no_args_is_help=True, add_completion=False)
db = typer.Typer(help="Database schema management.", no_args_is_help=True)
cli.add_typer(db, name="db")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"evertask {__version__}")
        raise typer.Exit


@cli.callback()
def options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """evertask: durable background tasks."""


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


async def serve(app: EverTask) -> None:
    """Run the app's worker until SIGINT or SIGTERM, then stop gracefully. The worker runs even on an app made
    a producer (``run_worker=False``): that setting is for the other processes importing the same module."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start(with_worker=True)
    try:
        logging.getLogger("evertask").info("worker running; Ctrl+C stops it gracefully")
        await stop.wait()
    finally:
        await app.stop()


@cli.command()
def worker(
    app: Annotated[str, typer.Argument(help="The app to run, as module:attribute (e.g. myproject.tasks:app).")],
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Serve only this queue (repeat for several).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO",
) -> None:
    """Run a worker for APP until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    target = load_app(app)
    if queue:
        target.serve_only(queue)
    asyncio.run(serve(target))


@db.command()
def upgrade(
    url: Annotated[str, typer.Option(help="Database URL, e.g. postgresql://localhost/test.")],
    schema: Annotated[str | None, typer.Option(help="Schema for the tables (PostgreSQL, SQL Server).")] = None,
) -> None:
    """Create or migrate evertask's tables in the database at URL."""
    from evertask.storage.sql import upgrade as run_upgrade

    asyncio.run(run_upgrade(url, schema=schema))
    typer.echo("evertask schema is up to date")


def run() -> None:
    """Run the command line given to the process (what :func:`evertask.cli.main` calls)."""
    try:
        cli()
    except (ConfigurationError, StorageError) as exc:  # the message names the problem; no traceback needed
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from exc
