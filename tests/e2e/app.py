"""The app the browser tests run: ``evertask worker tests.e2e.app:app`` works its tasks and ``evertask web``
serves it, both on the database named by ``EVERTASK_E2E_URL`` (PostgreSQL: in ``EVERTASK_E2E_SCHEMA``)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from evertask import EverTask, Handler, Queue, RetryPolicy, Task, TaskContext, WorkerSettings
from evertask.storage.urls import storage_from_url

BROKEN_DIR = Path(os.environ.get("EVERTASK_E2E_BROKEN", "/nonexistent"))
"""A file ``<BROKEN_DIR>/<service>`` means that service is down: tasks that call it fail."""
QUEUES = ("overview", "retry", "pause", "control", "bulk", "bulk-other", "live", "guarded", "pg")
"""One queue per test, so that each test finds its own tasks whatever the others left in the database."""
WORKER = WorkerSettings(heartbeat_interval=0.5, lease=timedelta(seconds=5), poll_interval=0.2, shutdown_grace=1.0)


class CallService(Task):
    """Calls ``service``; fails while that service is down (so that a retry after the fix completes)."""

    task_name = "e2e.CallService"
    service: str
    order: int = 0


class CallServiceHandler(Handler[CallService]):
    retry = RetryPolicy.none()

    async def handle(self, task: CallService, ctx: TaskContext) -> dict[str, str]:
        if (BROKEN_DIR / task.service).exists():
            raise ConnectionError(f"service {task.service} is down")
        return {"called": task.service}


def build(url: str, schema: str | None = None, *, run_worker: bool = True) -> EverTask:
    """The app on a database (the tests build their own, without a worker, to dispatch and inspect)."""
    queues = {name: Queue() for name in ("default", *QUEUES)}
    app = EverTask(storage_from_url(url, schema=schema), worker=WORKER, queues=queues, run_worker=run_worker)
    app.register(CallServiceHandler)
    return app


app = build(os.environ.get("EVERTASK_E2E_URL", "memory://"), os.environ.get("EVERTASK_E2E_SCHEMA") or None)
