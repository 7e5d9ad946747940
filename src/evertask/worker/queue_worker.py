"""One queue's worker: a fetch loop that claims due tasks for idle consumers, and ``max_parallelism``
long-lived consumers that run them.

Consumers run each task inline (no task object per execution, as EverTask's consumers do). The fetch loop is
woken by a local dispatch (no polling latency in-process), by a consumer going idle while due work remains,
or by its timer at the next due time; ``poll_interval`` is only the safety net for work stored by other
processes without a notification.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from evertask.queues import ResolvedQueue
from evertask.storage.base import Storage
from evertask.task import TaskRecord
from evertask.worker.backlog import Backlog
from evertask.worker.executor import Executor
from evertask.worker.outage import OutageLog

_SHORT_TASK = 0.02
"""Seconds under which tasks count as short: a moving average below it turns prefetching on."""


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
        prefetch: int,
    ) -> None:
        self.queue = queue
        self._storage = storage
        self._executor = executor
        self._now = now
        self._lease = lease
        self._poll_interval = poll_interval
        self._ready: deque[TaskRecord] = deque()
        self._prefetch = prefetch
        self._typical_duration = _SHORT_TASK  # unknown until tasks run: no prefetch for the first ones
        self._idle = 0
        self._has_work = asyncio.Event()
        self._wake = asyncio.Event()
        self._next_due: datetime | None = None
        self._more_due = True
        self._stopping = False
        self._fetcher: asyncio.Task[None] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._outage = OutageLog(f"claiming from queue {queue.name!r}")
        self.backlog = Backlog(queue.capacity)
        """Due tasks dispatched by this process and not yet claimed: the measure of back-pressure."""

    def start(self) -> None:
        """Start the consumers and the fetch loop."""
        loop = asyncio.get_running_loop()
        name = self.queue.name
        self._consumers = [
            loop.create_task(self._consume(), name=f"evertask-{name}-{i}") for i in range(self.queue.max_parallelism)
        ]
        self._fetcher = loop.create_task(self._fetch(), name=f"evertask-{name}-fetch")

    def notify(self, due: datetime, now: datetime) -> None:
        """A task of this queue was stored, due at ``due``: wake the loop if that is sooner than its plan."""
        if due <= now:
            self._more_due = True
            self._wake.set()
        elif self._next_due is None or due < self._next_due:
            self._next_due = due
            self._wake.set()

    def _prefetch_now(self) -> int:
        # Claiming ahead of idle consumers saves storage round trips, which dominate for short tasks; for long
        # ones it would only hoard work other processes could run, and show it in_progress before it starts.
        return self._prefetch if self._typical_duration < _SHORT_TASK else 0

    def run_unstored(self, record: TaskRecord, delay: float) -> None:
        """Hand a task that is not in storage to the consumers, ``delay`` seconds from now."""
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self.run_unstored, record, 0.0)
            return
        self._ready.append(record)
        self._has_work.set()

    def holds(self, task_id: UUID) -> bool:
        """Whether ``task_id`` is claimed here and waiting in the local channel for a consumer."""
        return any(record.id == task_id for record in self._ready)

    def waiting_ids(self) -> list[UUID]:
        """Ids claimed here and not started yet (their leases are renewed like running ones)."""
        return [record.id for record in self._ready]

    async def _consume(self) -> None:
        ready, has_work, execute = self._ready, self._has_work, self._executor.execute
        loop = asyncio.get_running_loop()
        while True:
            if not ready:
                if self._stopping:
                    return
                self._idle += 1
                if self._more_due or (self._next_due is not None and self._next_due <= self._now()):
                    self._wake.set()
                has_work.clear()
                try:
                    await has_work.wait()
                finally:
                    self._idle -= 1
                continue
            started = loop.time()
            await execute(ready.popleft())
            self._typical_duration += (loop.time() - started - self._typical_duration) * 0.2

    async def _fetch(self) -> None:
        while not self._stopping:
            self._wake.clear()
            wanted = self._idle + self._prefetch_now() - len(self._ready) if self._idle else 0
            if wanted > 0:
                try:
                    claimed = await self._claim(wanted)
                except Exception as exc:
                    self._outage.failed(exc)
                    await self._sleep(min(self._poll_interval, 1.0))
                    continue
                self._outage.succeeded()
                if claimed == wanted:
                    continue
            await self._sleep(self._delay(wanted))

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
        if result.tasks:
            self._ready.extend(result.tasks)
            self._has_work.set()
        count = len(result.tasks)
        self._next_due = result.next_due
        self._more_due = count == limit or (result.next_due is not None and result.next_due <= now)
        return count

    def _delay(self, wanted: int) -> float:
        if self._next_due is None or wanted <= 0:
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
        """Stop taking new tasks; running ones go on, idle consumers exit."""
        self._stopping = True
        self._wake.set()
        self._has_work.set()

    async def join(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for running tasks, then interrupt the rest (they become service_stopped)."""
        if self._fetcher is not None:
            await self._fetcher
        if not self._consumers:
            return
        _, pending = await asyncio.wait(self._consumers, timeout=grace)
        if pending:
            self._executor.stop_all(self.queue.name)
            await asyncio.wait(pending)
