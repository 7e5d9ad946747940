"""``evertask queues``: each queue's tasks by status, and pausing and resuming a queue for every worker."""

from __future__ import annotations

from typing import Annotated

import typer

from evertask.cli.output import Json, cells, console, print_json, seconds, table
from evertask.cli.session import call
from evertask.ops import QueueInfo
from evertask.task import TaskStatus

queues = typer.Typer(help="Queues: tasks by status, oldest waiting; pause and resume.", invoke_without_command=True)

Name = Annotated[str, typer.Argument(help="The queue's name.", show_default=False)]


@queues.callback()
def list_queues(ctx: typer.Context, as_json: Json = False) -> None:
    """Every queue: its tasks by status, whether it is paused, since when its oldest due task waits."""
    if ctx.invoked_subcommand is not None:
        return
    found = call(ctx, lambda ops: ops.queues())
    if as_json:
        print_json(found)
    else:
        print_queues(found)


def print_queues(found: list[QueueInfo]) -> None:
    """The queues as a table (also the first part of ``evertask status``)."""
    out = console()
    if not found:
        out.print("no queues: no task is stored")
        return
    columns = ("pending", "queued", "running", "completed", "failed", "cancelled", "stopped")
    grid = table("Queues", "queue", "state", *columns, "oldest waiting")
    for queue in found:
        counts = queue.counts
        grid.add_row(
            *cells(
                queue.name,
                _state(queue),
                counts[TaskStatus.pending],
                counts[TaskStatus.queued],
                counts[TaskStatus.in_progress],
                counts[TaskStatus.completed],
                counts[TaskStatus.failed],
                counts[TaskStatus.cancelled],
                counts[TaskStatus.service_stopped],
                seconds(queue.oldest_waiting_age),
            )
        )
    out.print(grid)


@queues.command()
def pause(ctx: typer.Context, name: Name) -> None:
    """Pause a queue: no worker claims its tasks until it is resumed (dispatch still stores them)."""
    queue = call(ctx, lambda ops: ops.pause_queue(name))
    console().print(f"queue {queue.name} paused: {queue.waiting} waiting tasks stay until it is resumed")


@queues.command()
def resume(ctx: typer.Context, name: Name) -> None:
    """Resume a paused queue: workers claim its tasks again."""
    queue = call(ctx, lambda ops: ops.resume_queue(name))
    console().print(f"queue {queue.name} resumed: {queue.waiting} waiting tasks")


def _state(queue: QueueInfo) -> str:
    if not queue.paused:
        return "running"
    return f"paused by {queue.paused_by}" if queue.paused_by else "paused"
