"""The back-pressure measure of one queue: due tasks this process dispatched that no worker has claimed yet."""

from __future__ import annotations

import asyncio
from collections import deque
from uuid import UUID


class Backlog:
    """Task ids in dispatch order; full at ``capacity``.

    Dispatchers waiting for room queue up in FIFO order. Once the backlog is full they are woken in groups:
    when it has drained to a low-water mark, as many as there is room for, at once. Waking one per freed place
    would make every dispatch sleep and wake once; a group costs one wake-up per quarter of the capacity.

    A paused queue is never full: nothing drains it until it is resumed, so waiting for room would hold
    dispatchers until then, while dispatch must still store into it.
    """

    __slots__ = ("_ids", "_low_water", "_waiters", "capacity", "paused")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.paused = False
        self._low_water = capacity - max(1, capacity // 4)
        self._ids: dict[UUID, None] = {}  # a dict keeps insertion order and removes any id in O(1)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def full(self) -> bool:
        """Whether ``capacity`` tasks wait (or dispatchers already queue for room), the queue running."""
        return not self.paused and (len(self._ids) >= self.capacity or bool(self._waiters))

    def set_paused(self, paused: bool) -> None:
        """The queue was found paused (or running again): a pause lets every waiting dispatcher through."""
        self.paused = paused
        if paused:
            self._wake(len(self._waiters))

    async def wait_for_room(self) -> None:
        """Return once there is room (or the queue is paused); callers are served first come, first served."""
        while not self.paused and (len(self._ids) >= self.capacity or self._waiters):
            future = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            except BaseException:
                self._remove(future)
                raise
            if self.paused or len(self._ids) < self.capacity:
                return

    def _remove(self, future: asyncio.Future[None]) -> None:
        if future in self._waiters:
            self._waiters.remove(future)
        elif future.done() and not future.cancelled():
            self._wake(1)  # we were handed room but leave without it: pass it on

    def add(self, task_id: UUID) -> None:
        """A due task was dispatched here."""
        self._ids[task_id] = None

    def discard(self, task_id: UUID) -> None:
        """The task was claimed, cancelled or dropped."""
        if self._ids.pop(task_id, 0) is None and self._waiters and len(self._ids) <= self._low_water:
            self._wake(self.capacity - len(self._ids))

    def _wake(self, count: int) -> None:
        while self._waiters and count > 0:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def oldest(self) -> UUID | None:
        """The task waiting longest, if any."""
        return next(iter(self._ids), None)

    def newest(self) -> UUID | None:
        """The task dispatched last, if any."""
        return next(reversed(self._ids), None)
