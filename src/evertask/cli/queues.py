"""``evertask queues``: each queue's tasks by status, and pausing and resuming a queue for every worker."""

from __future__ import annotations

from typing import Annotated

import typer

from evertask.cli.listing import Column, Listing
from evertask.cli.output import Json, console, plural, print_json, reply, seconds, when
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
    columns = ("waiting", "running", "completed", "failed", "cancelled")
    rows = Listing(Column("queue", squeeze=True), "state", *columns, "oldest due", title="Queues")
    for queue in found:
        counts = queue.counts
        rows.add(
            queue.name,
            "paused" if queue.paused else "running",
            queue.waiting,
            queue.running,
            counts[TaskStatus.completed],
            counts[TaskStatus.failed],
            counts[TaskStatus.cancelled],
            seconds(queue.oldest_waiting_age),
        )
    rows.print(out)
    for queue in found:
        if queue.paused:
            out.print(f"{queue.name}: paused by {queue.paused_by or 'an unknown actor'} at {when(queue.paused_at)}")


@queues.command()
def pause(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Pause a queue: no worker claims its tasks until it is resumed (dispatch still stores them)."""
    queue = call(ctx, lambda ops: ops.pause_queue(name))
    waiting = plural(queue.waiting, "task")
    reply(
        queue,
        f"queue {queue.name} paused: no worker claims its tasks until it is resumed ({waiting} waiting)",
        as_json=as_json,
    )


@queues.command()
def resume(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Resume a paused queue: workers claim its tasks again."""
    queue = call(ctx, lambda ops: ops.resume_queue(name))
    reply(queue, f"queue {queue.name} resumed ({plural(queue.waiting, 'task')} waiting)", as_json=as_json)
