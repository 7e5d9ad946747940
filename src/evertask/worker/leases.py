"""Heartbeats and the reaper: keep this worker's claims alive, recover the claims of dead workers, and apply
the retention policy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from evertask.events import EventBus, TaskRecovered
from evertask.storage.base import RetentionPolicy, Storage
from evertask.worker.executor import Executor, StopReason
from evertask.worker.outage import OutageLog

logger = logging.getLogger("evertask.worker")


class LeaseKeeper:
    """Every ``interval``: extend the leases of running tasks, act on cancellations asked for elsewhere, and
    return tasks whose worker went silent (lease expired) to pending."""

    def __init__(
        self,
        *,
        storage: Storage,
        executor: Executor,
        held: Callable[[], list[UUID]],
        stop: Callable[[UUID, StopReason], None],
        events: EventBus,
        now: Callable[[], datetime],
        interval: float,
        lease: timedelta,
        max_recoveries: int,
        on_recovered: Callable[[str, datetime, datetime], None],
        retention: RetentionPolicy | None,
        purge_interval: float,
    ) -> None:
        self._storage = storage
        self._executor = executor
        self._held = held
        self._stop_task = stop
        self._events = events
        self._now = now
        self._interval = interval
        self._lease = lease
        self._max_recoveries = max_recoveries
        self._on_recovered = on_recovered
        self._retention = retention
        self._purge_every = timedelta(seconds=purge_interval)
        self._purged_at: datetime | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = OutageLog("the heartbeat (lease renewal, recovery of dead workers' tasks, retention)")

    def start(self) -> None:
        """Start beating."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="evertask-leases")

    async def stop(self) -> None:
        """Stop beating (after the last running task has finished)."""
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.beat()
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
            try:
                async with asyncio.timeout(self._interval):
                    await self._stop.wait()
            except TimeoutError:
                pass

    async def beat(self) -> None:
        """One heartbeat, one reaper pass, and a purge when one is due."""
        now = self._now()
        held = self._held()
        if held:
            result = await self._storage.heartbeat(
                owner=self._executor.owner, task_ids=held, lease_until=now + self._lease
            )
            for task_id in result.cancel_requested:
                self._stop_task(task_id, "cancel")
            for task_id in result.lost:
                self._stop_task(task_id, "lost")
        for record in await self._storage.recover_expired(now=now, max_recoveries=self._max_recoveries):
            logger.warning(
                "task %s recovered from a dead worker (recovery %d): now %s",
                record.id,
                record.recoveries,
                record.status,
                extra={"task_id": str(record.id), "task_type": record.type, "queue": record.queue},
            )
            self._events.publish(
                TaskRecovered(record.id, record.type, record.queue, record.attempts, now, record.last_error)
            )
            self._on_recovered(record.queue, record.scheduled_at, now)
        if self._retention is not None and (self._purged_at is None or now - self._purged_at >= self._purge_every):
            self._purged_at = now
            removed = await self._storage.purge(now=now, policy=self._retention)
            if removed:
                logger.info("retention: %d finished tasks deleted", removed)
