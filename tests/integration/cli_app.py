"""An app for the CLI tests: `evertask worker tests.integration.cli_app:app`, storage from EVERTASK_TEST_URL.

Its tasks give an operator something to look at: ``Ping`` completes and returns a result, ``Flaky`` fails every
time (one retry, so two executions with tracebacks).
"""

from __future__ import annotations

import os
from datetime import timedelta

from evertask import EverTask, Handler, Queue, RetryPolicy, Task, TaskContext

app = EverTask.from_url(os.environ.get("EVERTASK_TEST_URL", "memory://"), queues={"critical": Queue()})


class Ping(Task):
    task_name = "cli.Ping"
    n: int


class PingHandler(Handler[Ping]):
    async def handle(self, task: Ping, ctx: TaskContext) -> dict[str, int]:
        ctx.logger.info("ping %d", task.n)
        return {"pong": task.n}


class Flaky(Task):
    task_name = "cli.Flaky"
    n: int


class FlakyHandler(Handler[Flaky]):
    retry = RetryPolicy.linear(1, timedelta(milliseconds=10))

    async def handle(self, task: Flaky, ctx: TaskContext) -> None:
        raise ValueError(f"boom {task.n}")


for handler in (PingHandler, FlakyHandler):
    app.register(handler)
