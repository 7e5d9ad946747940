"""``evertask recurring``: recurring series, with their schedules and runs; run one now, pause, resume."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from evertask.cli.listing import Column, Listing
from evertask.cli.output import Json, console, print_json, relative, reply, when
from evertask.cli.session import call
from evertask.ops import RecurringSeries

recurring = typer.Typer(help="Recurring series: list, run now, pause, resume.", no_args_is_help=True)

SeriesId = Annotated[UUID, typer.Argument(help="The series' id (see evertask recurring list).", show_default=False)]


@recurring.command("list")
def list_series(ctx: typer.Context, as_json: Json = False) -> None:
    """Every series that is not over: soonest next run first, paused ones last."""
    found = call(ctx, lambda ops: ops.recurring())
    if as_json:
        print_json(found)
        return
    out = console()
    if not found:
        out.print("no recurring series")
        return
    rows = Listing(
        "id",
        Column("type", squeeze=True),
        Column("schedule", squeeze=True),
        "next run",
        Column("last run", optional=True),
        Column("runs", optional=True),
        "status",
    )
    for series in found:
        rows.add(
            series.id,
            series.type,
            series.schedule.description,
            relative(series.next_run),
            relative(series.last_run),
            series.run_count,
            series.status,
        )
    rows.print(out)


@recurring.command()
def run(ctx: typer.Context, series_id: SeriesId, as_json: Json = False) -> None:
    """Run a series' task once now, as a separate one-off task; the series keeps its schedule."""
    started = call(ctx, lambda ops: ops.run_now(series_id))
    reply(started, f"started task {started.task_id} from series {started.series_id}", as_json=as_json)


@recurring.command()
def pause(ctx: typer.Context, series_id: SeriesId, as_json: Json = False) -> None:
    """Hold a series: none of its occurrences runs until it is resumed."""
    _said("paused", call(ctx, lambda ops: ops.pause_series(series_id)), as_json)


@recurring.command()
def resume(ctx: typer.Context, series_id: SeriesId, as_json: Json = False) -> None:
    """Continue a paused series from its next occurrence (the ones missed while paused are skipped)."""
    _said("resumed", call(ctx, lambda ops: ops.resume_series(series_id)), as_json)


def _said(done: str, series: RecurringSeries, as_json: bool) -> None:
    reply(series, f"series {series.id} {done}: next run {when(series.next_run)}", as_json=as_json)
