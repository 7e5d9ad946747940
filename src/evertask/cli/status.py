"""``evertask status`` (queues and workers at a glance) and ``evertask workers``."""

from __future__ import annotations

import asyncio

import typer

from evertask.cli.listing import Column, Listing
from evertask.cli.output import Json, console, print_json, relative, seconds
from evertask.cli.queues import print_queues
from evertask.cli.session import call
from evertask.ops import Operations, QueueInfo, WorkerModel


def status(ctx: typer.Context, as_json: Json = False) -> None:
    """Tasks by queue and status, how long the oldest due task has waited, and the live workers."""

    async def gather(ops: Operations) -> tuple[list[QueueInfo], list[WorkerModel]]:
        return await asyncio.gather(ops.queues(), ops.workers())

    found, live = call(ctx, gather)
    if as_json:
        print_json({"queues": found, "workers": live})
        return
    print_queues(found)
    print_workers(live)


def workers(ctx: typer.Context, as_json: Json = False) -> None:
    """The live workers: where they run, what they serve, their last heartbeat and running tasks."""
    live = call(ctx, lambda ops: ops.workers())
    if as_json:
        print_json(live)
    else:
        print_workers(live)


def print_workers(live: list[WorkerModel]) -> None:
    """The workers as a table."""
    out = console()
    if not live:
        out.print("no live worker: nothing runs the tasks")
        return
    rows = Listing(
        "worker",
        Column("queues", squeeze=True),
        Column("started", optional=True),
        "heartbeat",
        "running",
        Column("version", optional=True),
        title="Workers",
    )
    for worker in live:
        rows.add(
            worker.id,
            ", ".join(worker.queues),
            relative(worker.started_at),
            f"{seconds(worker.heartbeat_age)} ago",
            worker.running,
            worker.version,
        )
    rows.print(out)
