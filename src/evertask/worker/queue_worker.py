"""The fetch loop of one queue: claim due tasks into free slots, then sleep until woken or the next due time.

It is woken by a local dispatch (no polling latency in-process), by a slot freeing up while due work remains,
or by its timer at the next due time; ``poll_interval`` is only the safety net for work dispatched by other
processes without a notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from evertask.queues import ResolvedQueue
from evertask.storage.base import Storage
from evertask.task import TaskRecord
from evertask.worker.backlog import Backlog
from evertask.worker.executor import Executor

logger = logging.getLogger("evertask.worker")


class QueueWorker:
    """Runs the tasks of one queue with at most ``max_parallelism`` at a time."""

    def __init__(
        self,
        queue: ResolvedQueue,
        *,
        storage: Storage,
        executor: Executor,
        now: Callable[[], datetime],
        lease: timedelta,
        poll_interval: float,
    ) -> None:
        self.queue = queue
        self._storage = storage
        self._executor = executor
        self._now = now
        self._lease = lease
        self._poll_interval = poll_interval
        self._slots = queue.max_parallelism
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._next_due: datetime | None = None
        self._more_due = True
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None
        self.backlog = Backlog(queue.capacity)
        """Due tasks dispatched by this process and not yet claimed: the measure of back-pressure."""

    def start(self) -> None:
        """Start the fetch loop."""
        self._loop = asyncio.get_running_loop().create_task(self._run(), name=f"evertask-queue-{self.queue.name}")

    def notify(self, due: datetime, now: datetime) -> None:
        """A task of this queue was stored, due at ``due``: wake the loop if that is sooner than its plan."""
        if due <= now:
            self._more_due = True
            self._wake.set()
        elif self._next_due is None or due < self._next_due:
            self._next_due = due
            self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self._slots - len(self._tasks)
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception:
                    logger.exception("claiming from queue %r failed; retrying", self.queue.name)
                    await self._sleep(min(self._poll_interval, 1.0))
                    continue
                if claimed == free:
                    continue
            await self._sleep(self._delay())

    async def _claim(self, limit: int) -> int:
        now = self._now()
        result = await self._storage.claim(
            owner=self._executor.owner,
            queues=(self.queue.name,),
            now=now,
            limit=limit,
            lease_until=now + self._lease,
        )
        for record in result.tasks:
            self.backlog.discard(record.id)
            self._spawn(record)
        count = len(result.tasks)
        self._next_due = result.next_due
        self._more_due = count == limit or (result.next_due is not None and result.next_due <= now)
        return count

    def _spawn(self, record: TaskRecord) -> None:
        task = asyncio.get_running_loop().create_task(self._executor.execute(record))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._more_due or (self._next_due is not None and self._next_due <= self._now()):
            self._wake.set()

    def _delay(self) -> float:
        if self._next_due is None or len(self._tasks) >= self._slots:
            return self._poll_interval
        seconds = (self._next_due - self._now()).total_seconds()
        return min(max(seconds, 0.0), self._poll_interval)

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 and not self._wake.is_set():
            await asyncio.sleep(0)
            return
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    def stop_claiming(self) -> None:
        """Stop taking new tasks; running ones go on."""
        self._stopping = True
        self._wake.set()

    async def join(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for running tasks, then stop the rest (they become service_stopped)."""
        if self._loop is not None:
            await self._loop
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        if not pending:
            return
        self._executor.stop_all(self.queue.name)
        await asyncio.wait(pending)
