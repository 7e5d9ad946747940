"""An attempt's time limit: signal the handler, then cancel it, in that order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from evertask.context import TaskContext


class Deadline:
    """Fires once, ``limit`` after it is made: sets ``ctx.cancelled``, then cancels the current task.

    ``asyncio.timeout`` would cancel first and leave the signal to code that runs after the handler has already
    seen its ``CancelledError``; here ``except CancelledError`` inside ``handle`` (and a sync handler's thread)
    already finds ``ctx.cancelled`` set.
    """

    __slots__ = ("_ctx", "_handle", "_task", "expired", "limit")

    def __init__(self, limit: timedelta, ctx: TaskContext) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a Deadline needs a running task")
        self._task = task
        self._ctx = ctx
        self.limit = limit
        self.expired = False
        loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = loop.call_later(limit.total_seconds(), self._expire)

    def _expire(self) -> None:
        self.expired = True
        self._ctx.signal_cancel()
        self._task.cancel()

    def close(self) -> bool:
        """End the time limit (idempotent); whether it fired. A fired limit takes back its cancellation request,
        so that the task's own cancellation count is as it was (as ``asyncio.timeout`` does)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            if self.expired:
                self._task.uncancel()
        return self.expired
