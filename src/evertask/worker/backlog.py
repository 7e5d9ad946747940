"""The back-pressure measure of one queue: due tasks this process dispatched that no worker has claimed yet."""

from __future__ import annotations

import asyncio
from uuid import UUID


class Backlog:
    """Task ids in dispatch order; full at ``capacity``. ``room`` is set while there is room."""

    __slots__ = ("_ids", "capacity", "room")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: dict[UUID, None] = {}  # a dict keeps insertion order and removes any id in O(1)
        self.room = asyncio.Event()
        self.room.set()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def full(self) -> bool:
        """Whether ``capacity`` tasks wait."""
        return len(self._ids) >= self.capacity

    def add(self, task_id: UUID) -> None:
        """A due task was dispatched here."""
        self._ids[task_id] = None
        if len(self._ids) >= self.capacity:
            self.room.clear()

    def discard(self, task_id: UUID) -> None:
        """The task was claimed, cancelled or dropped."""
        if self._ids.pop(task_id, 0) is None and len(self._ids) < self.capacity:
            self.room.set()

    def oldest(self) -> UUID | None:
        """The task waiting longest, if any."""
        return next(iter(self._ids), None)

    def newest(self) -> UUID | None:
        """The task dispatched last, if any."""
        return next(reversed(self._ids), None)
