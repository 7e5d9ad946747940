"""`make demo`: a worker on the embedded SQLite storage running example tasks, printing their progress.

Shows fire-and-forget, delayed and recurring tasks, a retried failure, a continuation dispatched from a hook,
and a cancelled task. Stop it with Ctrl+C, or let it finish after the demo's scenario (about 15 s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
from datetime import timedelta
from uuid import UUID

from evertask import EverTask, Handler, RetryPolicy, Task, TaskContext, every
from evertask.events import TaskEvent

DATABASE = os.environ.get("EVERTASK_DEMO_URL", "sqlite:///evertask-demo.db")


class SendWelcomeEmail(Task):
    email: str


class ResizeImage(Task):
    image_id: int


class CollectMetrics(Task):
    pass


class SendWelcomeEmailHandler(Handler[SendWelcomeEmail]):
    retry = RetryPolicy.linear(2, timedelta(milliseconds=300))

    def __init__(self, app: EverTask) -> None:
        self.app = app

    async def handle(self, task: SendWelcomeEmail, ctx: TaskContext) -> None:
        await asyncio.sleep(0.2)
        if task.email.startswith("flaky") and ctx.attempt == 1:
            raise ConnectionError("mail server busy")  # the retry policy runs it again

    async def on_completed(self, task_id: UUID) -> None:
        await self.app.dispatch(ResizeImage(image_id=random.randint(1, 999)))  # a continuation


class ResizeImageHandler(Handler[ResizeImage]):
    async def handle(self, task: ResizeImage, ctx: TaskContext) -> None:
        await asyncio.sleep(0.1)


class CollectMetricsHandler(Handler[CollectMetrics]):
    async def handle(self, task: CollectMetrics, ctx: TaskContext) -> None:
        await asyncio.sleep(0.05)


def show(event: TaskEvent) -> None:
    name = type(event).__name__.removeprefix("Task").lower()
    kind = event.task_type.rsplit(".", 1)[-1]
    print(f"{event.at:%H:%M:%S.%f}"[:-3], f"{name:<11} {kind:<17} attempt {event.attempt}  {event.task_id}")


async def main() -> None:
    app = EverTask.from_url(DATABASE)
    app.register_module(sys.modules[__name__])
    app.events.subscribe(show)
    async with app:
        print(f"evertask demo on {DATABASE}: worker running\n")
        await app.dispatch(CollectMetrics(), recurring=every(3).seconds().run_now().max_runs(4), key="metrics")
        for email in ("ann@example.com", "flaky@example.com", "bob@example.com"):
            await app.dispatch(SendWelcomeEmail(email=email))
        await app.dispatch(SendWelcomeEmail(email="later@example.com"), delay=timedelta(seconds=2))
        doomed = await app.dispatch(ResizeImage(image_id=0), delay=timedelta(seconds=5))
        await app.cancel(doomed)
        await asyncio.sleep(12)
    print("\nworker stopped; the tasks are stored in", DATABASE)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
