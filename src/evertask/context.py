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
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
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
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~evertask.errors.TaskCancelledError` if cancellation has been signalled."""
        if self._cancel.is_set():
            raise TaskCancelledError(self.task_id)

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Block (sync code only) until cancellation is signalled or ``timeout`` passes; True if signalled."""
        return self._cancel.wait(timeout)

    def signal_cancel(self) -> None:
        """Set the cancellation signal (used by the worker)."""
        self._cancel.set()
