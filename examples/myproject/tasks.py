"""The project's tasks: one module that the worker command and every process that dispatches import.

``run_worker=False`` makes the app a producer wherever it is imported: ``async with app`` (a web app, a script)
stores tasks and runs none of them in that process. ``evertask worker myproject.tasks:app`` runs its worker.
"""

from __future__ import annotations

import os

from evertask import EverTask, Handler, Task, TaskContext
from evertask.storage import SqliteStorage

app = EverTask(SqliteStorage(os.environ.get("MYPROJECT_DB", "tasks.db")), run_worker=False)


class SendWelcomeEmail(Task):
    """Mail a new user (the fields are the stored payload)."""

    email: str


class SendWelcomeEmailHandler(Handler[SendWelcomeEmail]):
    async def handle(self, task: SendWelcomeEmail, ctx: TaskContext) -> str:
        ctx.logger.info("welcome mail to %s (attempt %d)", task.email, ctx.attempt)
        return f"sent to {task.email}"  # the task's result: app.result(task_id), SyncClient.result


app.register(SendWelcomeEmailHandler)
