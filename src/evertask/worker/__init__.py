"""The worker: per-queue fetch loops, the executor, leases and heartbeats, its row in the registry of live
workers, graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata
from uuid import UUID

from evertask.di import Container
from evertask.events import EventBus
from evertask.queues import ResolvedQueue
from evertask.registry import Registry
from evertask.results import DEFAULT_MAX_RESULT_SIZE
from evertask.storage.base import NewTask, RetentionPolicy, Storage
from evertask.storage.records import WorkerInfo
from evertask.task import TaskRecord, TaskStatus
from evertask.worker.executor import Executor, StopReason
from evertask.worker.leases import LeaseKeeper
from evertask.worker.outcomes import NextOccurrence, OutcomeRecorder
from evertask.worker.queue_worker import QueueWorker


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Timings of the worker. The defaults recover a dead worker's tasks in about ``lease`` (10 s)."""

    heartbeat_interval: float = 2.0
    """Seconds between heartbeats (lease renewal, remote cancellations, reaping dead workers' tasks)."""
    lease: timedelta = timedelta(seconds=10)
    """How long a claim stays valid without a heartbeat: a worker silent this long is presumed dead."""
    poll_interval: float = 1.0
    """Longest sleep of a fetch loop: the safety net for tasks stored by other processes."""
    max_recoveries: int = 3
    """A task whose worker died more than this many times is failed (poison protection)."""
    shutdown_grace: float = 10.0
    """Seconds running tasks get to finish at shutdown before they are interrupted (service_stopped)."""
    retention: RetentionPolicy | None = None
    """Finished tasks and history older than this are deleted by the worker (None: kept forever)."""
    purge_interval: float = 3600.0
    """Seconds between two purges under ``retention``."""
    prefetch: int | None = None
    """Tasks a queue may claim ahead of its idle consumers while its tasks are short (a moving average under
    20 ms), so that they do not pay one storage round trip each (None: four times the queue's
    ``max_parallelism``, measured 20-30% faster on SQLite and PostgreSQL than once; 0: never). Long tasks are
    never prefetched: that would hoard work other processes could run. Claimed tasks keep their lease."""


def make_owner_id() -> str:
    """A worker identity unique across machines and restarts: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def evertask_version() -> str:
    """The installed evertask's version, as a worker registers it ("unknown" when run from a bare tree)."""
    try:
        return metadata.version("evertask")
    except metadata.PackageNotFoundError:
        return "unknown"


class Worker:
    """Claims and runs tasks of the queues it serves, from storage, until stopped."""

    def __init__(
        self,
        *,
        storage: Storage,
        registry: Registry,
        container: Container,
        queues: dict[str, ResolvedQueue],
        serve: Sequence[str],
        events: EventBus,
        now: Callable[[], datetime],
        settings: WorkerSettings,
        next_occurrence: NextOccurrence,
        on_finished: Callable[[UUID, TaskStatus], None],
        max_result_size: int = DEFAULT_MAX_RESULT_SIZE,
    ) -> None:
        self.owner = make_owner_id()
        self.settings = settings
        self._serve = tuple(serve)
        self._now = now
        self._threads = ThreadPoolExecutor(
            max_workers=sum(queues[name].max_parallelism for name in serve), thread_name_prefix="evertask"
        )
        self._recorder = recorder = OutcomeRecorder(
            owner=self.owner,
            storage=storage,
            events=events,
            now=now,
            next_occurrence=next_occurrence,
            on_finished=on_finished,
            on_rescheduled=self.notify_due,
            rerun_unstored=self._run_unstored,
        )
        self.executor = Executor(
            owner=self.owner,
            registry=registry,
            container=container,
            queues=queues,
            recorder=recorder,
            take_token=storage.take_token,
            events=events,
            now=now,
            threads=self._threads,
            max_result_size=max_result_size,
        )
        self.queues = {
            name: QueueWorker(
                queues[name],
                storage=storage,
                executor=self.executor,
                now=now,
                lease=settings.lease,
                poll_interval=settings.poll_interval,
                prefetch=4 * queues[name].max_parallelism if settings.prefetch is None else settings.prefetch,
            )
            for name in serve
        }
        self._leases = LeaseKeeper(
            storage=storage,
            executor=self.executor,
            held=self.held_ids,
            stop=self.request_stop,
            events=events,
            now=now,
            interval=settings.heartbeat_interval,
            lease=settings.lease,
            max_recoveries=settings.max_recoveries,
            on_recovered=self.notify_due,
            retention=settings.retention,
            purge_interval=settings.purge_interval,
        )

    async def start(self) -> None:
        """Register in the worker registry, then start the fetch loops and the heartbeat."""
        now = self._now()
        info = WorkerInfo(self.owner, socket.gethostname(), os.getpid(), self._serve, now, now, evertask_version())
        await self._leases.register(info)
        for queue in self.queues.values():
            queue.start()
        self._leases.start()

    def notify_due(self, queue: str, due: datetime, now: datetime) -> None:
        """Tell the fetch loop of ``queue`` (if served here) that a task falls due at ``due``."""
        worker = self.queues.get(queue)
        if worker is not None:
            worker.notify(due, now)

    def run_unstored(self, new: NewTask, now: datetime) -> None:
        """Run a task that storage could not take, in memory only, when it falls due (fence 0 marks it)."""
        record = TaskRecord(
            id=new.id,
            type=new.type,
            payload=new.payload,
            status=TaskStatus.in_progress,
            queue=new.queue if new.queue in self.queues else next(iter(self.queues)),
            created_at=new.created_at,
            scheduled_at=new.scheduled_at,
            priority=new.priority,
            key=new.key,
            attempts=1,
            schedule=new.schedule,
        )
        self._run_unstored(record, now)

    def _run_unstored(self, record: TaskRecord, now: datetime) -> None:
        self.queues[record.queue].run_unstored(record, max(0.0, (record.scheduled_at - now).total_seconds()))

    def held_ids(self) -> list[UUID]:
        """Tasks this worker holds a claim on: running, or waiting in a local channel."""
        held = list(self.executor.running)
        for queue in self.queues.values():
            held.extend(queue.waiting_ids())
        return held

    def request_stop(self, task_id: UUID, reason: StopReason) -> None:
        """Stop a task held here (cancellation, or its claim was lost), whether started or not."""
        if not self.executor.stop_running(task_id, reason) and any(q.holds(task_id) for q in self.queues.values()):
            self.executor.stop_when_started(task_id, reason)

    def forget(self, task_id: UUID) -> None:
        """A waiting task was cancelled: it no longer counts against its queue's capacity."""
        for queue in self.queues.values():
            queue.backlog.discard(task_id)

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming, give running tasks ``grace`` seconds, interrupt the rest, then stop heartbeats."""
        budget = self.settings.shutdown_grace if grace is None else grace
        for queue in self.queues.values():
            queue.stop_claiming()
        await asyncio.gather(*(queue.join(budget) for queue in self.queues.values()))
        await self._recorder.drain()
        await self._leases.stop()
        await self._leases.unregister()
        self._threads.shutdown(wait=False, cancel_futures=True)
