"""What a running handler knows about its execution: ids, attempt, cancellation, a bound logger."""

from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from evertask.errors import TaskCancelledError

_logger = logging.getLogger("evertask.task")


class TaskLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger whose records carry ``task_id``, ``task_type``, ``queue`` and ``attempt`` as extras."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


@dataclass(slots=True)
class TaskContext:
    """Handed to ``handle``: which task this is, which attempt, and whether it has been asked to stop.

    The cancellation signal works from async and from sync code (sync handlers run in a thread): poll
    :attr:`cancelled`, call :meth:`raise_if_cancelled`, or block on :meth:`wait_cancelled`.
    """

    task_id: UUID
    task_type: str
    queue: str
    attempt: int
    scheduled_at: datetime
    run_count: int = 0
    _cancelled: bool = field(default=False, repr=False)
    # A threading.Event costs a lock; only code that blocks on it (sync handlers) gets one, on first use.
    _event: threading.Event | None = field(default=None, repr=False)
    _logger: TaskLogger | None = field(default=None, repr=False)

    @property
    def logger(self) -> TaskLogger:
        """A logger bound to this task (created on first use: most handlers never log)."""
        if self._logger is None:
            extra = {"task_id": str(self.task_id), "task_type": self.task_type, "queue": self.queue}
            self._logger = TaskLogger(_logger, {**extra, "attempt": self.attempt})
        return self._logger

    @property
    def cancelled(self) -> bool:
        """Whether cancellation (by request, timeout or shutdown) has been signalled."""
        return self._cancelled

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~evertask.errors.TaskCancelledError` if cancellation has been signalled."""
        if self._cancelled:
            raise TaskCancelledError(self.task_id)

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Block (sync handlers only) until cancellation is signalled or ``timeout`` passes; True if signalled."""
        event = self._event
        if event is None:
            raise RuntimeError("wait_cancelled() is for sync handlers; async handlers are cancelled at an await")
        return event.wait(timeout)

    def enable_blocking_wait(self) -> None:
        """Give this context the event that :meth:`wait_cancelled` blocks on (done before a sync handler runs)."""
        if self._event is None:
            self._event = threading.Event()
            if self._cancelled:
                self._event.set()

    def signal_cancel(self) -> None:
        """Set the cancellation signal (used by the worker)."""
        self._cancelled = True
        if self._event is not None:
            self._event.set()
