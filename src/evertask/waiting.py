"""Waiting for a task to finish: woken at once by this process's worker, polling storage for the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from evertask.errors import TaskNotFoundError
from evertask.task import TaskRecord, TaskStatus


class Waiters:
    """Callers of ``app.wait``, keyed by task id."""

    def __init__(self, get: Callable[[UUID], Awaitable[TaskRecord | None]]) -> None:
        self._get = get
        self._futures: dict[UUID, list[asyncio.Future[None]]] = {}

    async def wait(self, task_id: UUID, timeout: float | None, poll_interval: float) -> TaskRecord:
        """The task's record once its status is final; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                future = asyncio.get_running_loop().create_future()
                self._futures.setdefault(task_id, []).append(future)
                try:
                    record = await self._get(task_id)
                    if record is None:
                        raise TaskNotFoundError(task_id)
                    if record.status.is_final:
                        return record
                    await asyncio.wait([future], timeout=poll_interval)
                finally:
                    self._forget(task_id, future)

    def finished(self, task_id: UUID, status: TaskStatus) -> None:
        """A task reached ``status`` here: wake its waiters if that status is final."""
        if not self._futures or not status.is_final:
            return
        for future in self._futures.pop(task_id, ()):
            if not future.done():
                future.set_result(None)

    def _forget(self, task_id: UUID, future: asyncio.Future[None]) -> None:
        futures = self._futures.get(task_id)
        if futures is not None and future in futures:
            futures.remove(future)
            if not futures:
                del self._futures[task_id]
