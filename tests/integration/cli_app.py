"""An app for the CLI tests: `evertask worker tests.integration.cli_app:app`, storage from EVERTASK_TEST_URL."""

from __future__ import annotations

import os

from evertask import EverTask, Handler, Queue, Task, TaskContext

app = EverTask.from_url(os.environ.get("EVERTASK_TEST_URL", "memory://"), queues={"critical": Queue()})


class Ping(Task):
    task_name = "cli.Ping"
    n: int


class PingHandler(Handler[Ping]):
    async def handle(self, task: Ping, ctx: TaskContext) -> None:
        ctx.logger.info("ping %d", task.n)


app.register(PingHandler)
