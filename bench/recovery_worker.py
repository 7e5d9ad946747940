"""A worker process for the ``recovery`` workload: ``python -m bench.recovery_worker BACKEND_JSON LOG``.

Runs the stored no-op tasks with a short lease; each run appends the task id to LOG (one ``write`` on a file
opened with O_APPEND, so a SIGKILL loses no line that was written). Stops gracefully on SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta
from typing import ClassVar

from bench.harness import Backend, open_storage
from bench.noop import Noop
from evertask import EverTask, Handler, TaskContext, WorkerSettings

LEASE = timedelta(seconds=2)
HEARTBEAT = 0.5


class LoggingHandler(Handler[Noop]):
    fd: ClassVar[int] = -1

    async def handle(self, task: Noop, ctx: TaskContext) -> None:
        os.write(self.fd, f"{ctx.task_id}\n".encode())


async def main(backend: Backend, log: str) -> None:
    logging.getLogger("evertask").setLevel(logging.ERROR)  # a recovery warning per task is expected here
    LoggingHandler.fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    app = EverTask(open_storage(backend), worker=WorkerSettings(lease=LEASE, heartbeat_interval=HEARTBEAT))
    app.register(LoggingHandler)
    async with app:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(Backend.from_json(sys.argv[1]), sys.argv[2]))
