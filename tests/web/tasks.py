"""Task types the web tests run: one that fails on request, one that returns a value, one that waits."""

from __future__ import annotations

import asyncio

from evertask import Handler, RetryPolicy, Task, TaskContext


class Flaky(Task):
    """Fails while ``fail`` is true; otherwise returns a greeting (stored as the result)."""

    task_name = "tests.web.Flaky"
    name: str = "ann"
    fail: bool = False


class FlakyHandler(Handler[Flaky]):
    retry = RetryPolicy.none()

    async def handle(self, task: Flaky, ctx: TaskContext) -> dict[str, str]:
        if task.fail:
            raise RuntimeError(f"{task.name} failed on purpose")
        return {"greeting": f"hello {task.name}"}


class Hold(Task):
    """Runs until cancelled (so that a test can find it in progress)."""

    task_name = "tests.web.Hold"


class Holding:
    """Set once a Hold task has started."""

    def __init__(self) -> None:
        self.started = asyncio.Event()


class HoldHandler(Handler[Hold]):
    retry = RetryPolicy.none()

    def __init__(self, holding: Holding) -> None:
        self.holding = holding

    async def handle(self, task: Hold, ctx: TaskContext) -> None:
        self.holding.started.set()
        await asyncio.Event().wait()
