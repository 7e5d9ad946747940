"""History rows as a feed: what a watcher in another process reads to follow the changes of every task.

A storage that can be watched this way has ``history_since`` and ``latest_history_id`` (an optional capability,
like ``wakeups``: SQL storage has them; memory storage, which no other process can see, does not).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from evertask.task import TaskStatus


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One recorded status change with its row id (the feed's cursor) and its task's type and queue."""

    id: int
    task_id: UUID
    type: str
    queue: str
    from_status: TaskStatus | None
    to_status: TaskStatus
    at: datetime
    error: str | None
    actor: str | None


@runtime_checkable
class HistoryFeed(Protocol):
    """A storage whose history can be followed by id."""

    async def history_since(self, after: int, *, missing: Collection[int] = (), limit: int = 500) -> list[HistoryRow]:
        """Up to ``limit`` history rows with an id above ``after`` or in ``missing``, oldest first."""

    async def latest_history_id(self) -> int:
        """The id of the newest history row (0 when there is none)."""
