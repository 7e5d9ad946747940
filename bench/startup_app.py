"""The app the ``startup`` workload's worker processes run: ``evertask worker bench.startup_app:app``.

Written as a user's tasks module would be (nothing of the bench harness is imported, so the launch measured is
evertask's own): the storage named by ``EVERTASK_BENCH_URL`` (and ``EVERTASK_BENCH_SCHEMA``), one task type whose
handler writes ``ran`` and the CPU seconds used so far on stdout.
"""

from __future__ import annotations

import os
import time

from bench.startup_task import First
from evertask import EverTask, Handler, TaskContext
from evertask.storage.urls import storage_from_url


class FirstHandler(Handler[First]):
    async def handle(self, task: First, ctx: TaskContext) -> None:
        # Unbuffered: the workload reads the line the instant it is written. The CPU time this process has used
        # so far is the launch's cost without the other processes competing for the machine.
        os.write(1, f"ran {time.process_time():.4f}\n".encode())


app = EverTask(storage_from_url(os.environ["EVERTASK_BENCH_URL"], schema=os.environ.get("EVERTASK_BENCH_SCHEMA")))
app.register(FirstHandler)
