"""``evertask db``: create or migrate evertask's tables."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from evertask.cli.session import session, storage_url

db = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db.command()
def upgrade(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Database URL, e.g. postgresql://localhost/test (default: evertask --url).")
    ] = None,
    schema: Annotated[
        str | None, typer.Option(help="Schema for the tables (PostgreSQL, SQL Server; default: evertask --schema).")
    ] = None,
) -> None:
    """Create or migrate evertask's tables in the database at URL."""
    from evertask.storage.sql import upgrade as run_upgrade

    asyncio.run(run_upgrade(url or storage_url(ctx), schema=schema or session(ctx).schema))
    typer.echo("evertask schema is up to date")
