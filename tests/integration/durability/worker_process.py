"""A worker process for the crash and multi-process tests: `python -m tests.integration.durability.worker_process
URL RUNS_FILE [SCHEMA]`. Every run of a task appends its id to RUNS_FILE, so the parent can count lost and
duplicated runs after killing this process. ``EVERTASK_TEST_LEASE`` (seconds) overrides the short lease."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

from evertask import EverTask, Handler, Task, TaskContext, WorkerSettings
from evertask.storage.sql import storage_from_url

# Short leases so that a killed worker's tasks are recovered within seconds in tests. Tests in which no worker
# dies use a long one: a live worker stalled for more than lease - heartbeat on a loaded 2-core CI machine (three
# workers and the database server) has its tasks taken over and run twice, as a lease means it to.
SETTINGS = WorkerSettings(
    heartbeat_interval=0.25,
    lease=timedelta(seconds=float(os.environ.get("EVERTASK_TEST_LEASE", "1.5"))),
    poll_interval=0.2,
)


class Unit(Task):
    task_name = "durability.Unit"
    n: int


class UnitHandler(Handler[Unit]):
    runs_fd: int = -1

    async def handle(self, task: Unit, ctx: TaskContext) -> None:
        await asyncio.sleep(0.002)
        # One write(2) per line on an O_APPEND descriptor: lines from concurrent writers never interleave.
        os.write(UnitHandler.runs_fd, f"{ctx.task_id}\n".encode())


def make_app(url: str, schema: str | None, **kwargs: object) -> EverTask:
    app = EverTask(storage_from_url(url, schema=schema), worker=SETTINGS, **kwargs)  # type: ignore[arg-type]
    app.register(UnitHandler)
    return app


async def main(url: str, runs_file: str, schema: str | None) -> None:
    UnitHandler.runs_fd = os.open(runs_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with make_app(url, schema):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
