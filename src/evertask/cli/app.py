"""The ``evertask`` command tree: root options, the command groups, and how errors end the process."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from evertask.cli import db, queues, recurring, status, tasks, web, worker
from evertask.cli.session import Session, default_actor
from evertask.errors import EverTaskError


class _Commands(TyperGroup):
    """The root group: an evertask error in any command ends it with its message and exit status 2, no traceback
    (the message names the problem)."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's click.Context is vendored privately
        try:
            return super().invoke(ctx)
        except EverTaskError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc


cli = typer.Typer(
    cls=_Commands,
    help="evertask: durable background tasks. Operate the tasks of a database, run a worker, manage the schema.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from evertask import __version__

        typer.echo(f"evertask {__version__}")
        raise typer.Exit


@cli.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="EVERTASK_URL",
            help="Storage URL: sqlite:///tasks.db, postgresql://host/db, mysql://user@host/db.",
            show_envvar=True,
        ),
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option(envvar="EVERTASK_SCHEMA", help="Schema of evertask's tables (PostgreSQL), if not the default."),
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who the task history records for actions (default: cli:<login>).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """evertask: durable background tasks."""
    ctx.obj = Session(url=url, schema=schema, actor=actor or default_actor())


cli.command()(status.status)
cli.command()(status.workers)
cli.add_typer(tasks.tasks, name="tasks")
cli.add_typer(queues.queues, name="queues")
cli.add_typer(recurring.recurring, name="recurring")
cli.command()(worker.worker)
cli.command(**web.SETTINGS)(web.web)
cli.add_typer(db.db, name="db")


def run() -> None:
    """Run the command line given to the process (what :func:`evertask.cli.main` calls)."""
    cli()
