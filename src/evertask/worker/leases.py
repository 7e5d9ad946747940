"""Heartbeats and the reaper: keep this worker's claims and its registry row alive, recover the claims of dead
workers and remove them from the registry, and apply the retention policy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from evertask.events import EventBus, TaskRecovered
from evertask.storage.base import RetentionPolicy, Storage
from evertask.storage.records import WorkerInfo
from evertask.worker.executor import Executor, StopReason
from evertask.worker.outage import OutageLog

logger = logging.getLogger("evertask.worker")


class LeaseKeeper:
    """Every ``interval``: extend the leases of running tasks and refresh this worker's registry row, act on
    cancellations asked for elsewhere, return tasks whose worker went silent (lease expired) to pending, and
    remove silent workers from the registry."""

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
        self._info: WorkerInfo | None = None
        self._registered = False

    async def register(self, info: WorkerInfo) -> None:
        """Write this worker's registry row. A failure is logged, not raised: the registry only informs
        operators, and the next heartbeat tries again."""
        self._info = info
        try:
            await self._storage.register_worker(info)
            self._registered = True
        except Exception:
            logger.exception("could not register worker %s; the next heartbeat retries", info.id)

    async def unregister(self) -> None:
        """Remove this worker's registry row (at stop); a failure is logged, and other workers prune it."""
        if self._info is None:
            return
        try:
            await self._storage.unregister_worker(self._info.id)
        except Exception:
            logger.exception("could not unregister worker %s; other workers remove it once it is silent", self._info.id)

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
        result = await self._storage.heartbeat(
            owner=self._executor.owner, task_ids=self._held(), lease_until=now + self._lease, now=now
        )
        for task_id in result.cancel_requested:
            self._stop_task(task_id, "cancel")
        for task_id in result.lost:
            self._stop_task(task_id, "lost")
        if (not result.worker_found or not self._registered) and self._info is not None:
            # Pruned while this worker stalled (or never registered): it is alive, so it registers again.
            await self.register(replace(self._info, last_heartbeat=now))
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
        pruned = await self._storage.prune_workers(stale_before=now - self._lease)
        if pruned:
            logger.warning("%d workers silent for longer than the lease removed from the registry", pruned)
        if self._retention is not None and (self._purged_at is None or now - self._purged_at >= self._purge_every):
            self._purged_at = now
            removed = await self._storage.purge(now=now, policy=self._retention)
            if removed:
                logger.info("retention: %d finished tasks deleted", removed)
