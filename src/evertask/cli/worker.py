"""``evertask worker APP``: run an app's worker in this process, with the command line's overrides."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from typing import Annotated

import typer

from evertask.app import EverTask
from evertask.cli import load_app


def override(app: EverTask, *, queues: list[str] | None, concurrency: int | None, poll_interval: float | None) -> None:
    """Apply the command line's settings to ``app`` before its worker starts; they win over the app's own.

    ``concurrency`` becomes the ``max_parallelism`` of every queue (a queue's own setting included: the operator
    starting this process decides how much it runs), ``poll_interval`` the worker's ``poll_interval``.
    """
    if queues:
        app.serve_only(queues)
    if concurrency is not None:
        for name, queue in app.queues.items():
            app.queues[name] = dataclasses.replace(queue, max_parallelism=concurrency)
    if poll_interval is not None:
        app.worker_settings = dataclasses.replace(app.worker_settings, poll_interval=poll_interval)


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


def _positive(value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise typer.BadParameter(f"must be more than 0 seconds, got {value:g}")
    return value


def worker(
    app: Annotated[str, typer.Argument(help="The app to run, as module:attribute (e.g. myproject.tasks:app).")],
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Serve only this queue (repeat for several).")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, help="Tasks each queue runs at once (overrides its max_parallelism)."
        ),
    ] = None,
    poll_interval: Annotated[
        float | None,
        typer.Option(
            callback=_positive,
            help="Longest wait in seconds before looking for tasks stored by other processes (default 1).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO",
) -> None:
    """Run a worker for APP until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    target = load_app(app)
    override(target, queues=queue, concurrency=concurrency, poll_interval=poll_interval)
    asyncio.run(serve(target))
