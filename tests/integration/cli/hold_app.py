"""An app for `evertask worker tests.integration.cli.hold_app:app --concurrency N`: its ``Hold`` tasks run until
the test sets ``release``, and ``peak`` is how many ran at once."""

from __future__ import annotations

import asyncio

from evertask import EverTask, Handler, Task, TaskContext
from evertask.storage import MemoryStorage

app = EverTask(MemoryStorage(), max_parallelism=8)
release = asyncio.Event()
started = asyncio.Queue[None]()
running = 0
peak = 0


class Hold(Task):
    task_name = "cli.Hold"


class HoldHandler(Handler[Hold]):
    async def handle(self, task: Hold, ctx: TaskContext) -> None:
        global running, peak
        running += 1
        peak = max(peak, running)
        started.put_nowait(None)
        try:
            await release.wait()
        finally:
            running -= 1


app.register(HoldHandler)
