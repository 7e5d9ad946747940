"""What the smoke scripts share: one task dispatched and run on a storage, and how a missing server is reported.

The smoke scripts run in a venv holding one extra only (``make extras``), so they use nothing but evertask and
the standard library.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from evertask import EverTask, Handler, Task, TaskContext, TaskStatus
from evertask.errors import MissingExtraError, StorageUnavailableError
from evertask.storage import Storage


class Ping(Task):
    task_name = "smoke.Ping"
    n: int


class PingHandler(Handler[Ping]):
    async def handle(self, task: Ping, ctx: TaskContext) -> None:
        print(f"ping {task.n} handled")


def run_one_task(storage: Storage) -> None:
    """Dispatch a task on ``storage``, wait until it completes and print its status."""

    async def main() -> None:
        app = EverTask(storage)
        app.register(PingHandler)
        async with app:
            record = await app.wait(await app.dispatch(Ping(n=1)), timeout=30)
        if record.status is not TaskStatus.completed:
            raise AssertionError(f"the task ended {record.status}: {record.last_error}")
        print(record.status)

    asyncio.run(main())


def expect_missing_extra(extra: str, what: str, call: Callable[[], object]) -> None:
    """``call()`` (doing ``what``) must raise :class:`MissingExtraError` telling to install ``extra``."""
    try:
        call()
    except MissingExtraError as exc:
        if exc.extra != extra or f"install evertask[{extra}]" not in str(exc):
            raise AssertionError(f"{what}: the error does not name the {extra} extra: {exc}") from exc
        print(f"{what}: {exc}")
        return
    raise AssertionError(f"{what} succeeded without the {extra} extra")


def on_server(name: str, url: str, storage: Callable[[], Storage], cleanup: str) -> None:
    """Run one task on ``storage()``, then the SQL statement ``cleanup`` on ``url`` (dropping what the storage
    created). If the server does not answer: a failure under ``CI=true``, a skip (exit 0) elsewhere."""
    answered = True
    try:
        run_one_task(storage())
    except StorageUnavailableError as exc:
        answered = False  # it never opened: nothing to clean up
        message = f"{name} does not answer: {exc}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            sys.exit(f"error: {message}")
        print(f"skipped: {message}")
    finally:
        if answered:
            asyncio.run(_execute(url, cleanup))


async def _execute(url: str, statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from evertask.storage.sql.engine import driver_url

    engine = create_async_engine(driver_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
