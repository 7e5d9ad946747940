"""The operations service: find, inspect, retry, cancel and purge tasks; pause queues; list workers and series;
statistics and health. The REST API, the CLI and the dashboard all call this one class.

It needs only a storage URL: an operator inspects a database without importing the code that wrote it, so
payloads and results are shown as stored JSON. Given an :class:`~evertask.EverTask` app instead, it uses the
app's storage, and its registry validates an edited payload against the task class.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from evertask.app import EverTask, utc_now
from evertask.errors import (
    ActionNotAllowedError,
    EverTaskError,
    InvalidArgumentError,
    TaskKeyNotFoundError,
    TaskNotFoundError,
    TaskValidationError,
)
from evertask.ops import filters, views
from evertask.ops.models import (
    BulkResult,
    Filter,
    Health,
    QueueInfo,
    RecurringSeries,
    RunNowResult,
    Stats,
    TaskDetail,
    TaskPage,
    TaskSummary,
    WorkerModel,
)
from evertask.recurrence import RecurringTasks
from evertask.registry import Registry
from evertask.serialization import dump_payload
from evertask.storage.base import NewTask, Storage
from evertask.storage.records import PageRequest, TaskFilter, WorkerInfo
from evertask.task import FINAL_STATUSES, TaskRecord, TaskStatus

logger = logging.getLogger("evertask.ops")

RETRYABLE = frozenset({TaskStatus.failed, TaskStatus.cancelled})
"""The statuses a task can be retried from."""
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_AGE = timedelta(days=36_525)
"""The oldest age a purge takes (100 years): anything older is a typo, and would overflow a datetime."""


class Operations:
    """Operating the tasks of one storage. ``source`` is a storage URL (``sqlite:///tasks.db``,
    ``postgresql://...``), a :class:`Storage`, or an EverTask app.

    A URL or a storage is opened by :meth:`open` (or at the first call) and closed by :meth:`close`, as an app
    does with its storage (a URL's tables are checked, never created or upgraded: ``evertask db upgrade`` does
    that); an app that is not started yet is started without its worker, and stopped again by
    :meth:`close`. ``actor`` names who acts when a call names no one; it is recorded in the task's history.
    """

    def __init__(
        self,
        source: Storage | str | EverTask,
        *,
        actor: str = "api",
        registry: Registry | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._app = source if isinstance(source, EverTask) else None
        if isinstance(source, EverTask):
            self.storage: Storage = source.storage
        elif isinstance(source, str):
            self.storage = _storage_from_url(source)
        else:
            self.storage = source
        self.registry = registry if registry is not None else (self._app.registry if self._app else None)
        self.actor = filters.name_text(actor, "actor")
        self._now = clock
        self._opened = False
        self._started_app = False
        self._lock = asyncio.Lock()
        self._recurring = (
            self._app.recurring
            if self._app is not None
            else RecurringTasks(storage=self.storage, store=self._store, now=clock, wake=_no_worker_here)
        )

    @property
    def app(self) -> EverTask | None:
        """The EverTask app this service was made from (None: from a storage or a URL)."""
        return self._app

    @property
    def max_parallelism(self) -> Mapping[str, int]:
        """Per queue, how many executions a worker of the app runs at once (empty without an app)."""
        return {} if self._app is None else {name: q.max_parallelism for name, q in self._app.queues.items()}

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the storage (or start the app without its worker). Idempotent; every call does it if needed."""
        if self._opened:
            return
        async with self._lock:
            if self._opened:
                return
            if self._app is None:
                await self.storage.open()
            elif not self._app.started:
                await self._app.start(with_worker=False)
                self._started_app = True
            self._opened = True

    async def close(self) -> None:
        """Close what :meth:`open` opened. Idempotent."""
        async with self._lock:
            if not self._opened:
                return
            self._opened = False
            if self._app is None:
                await self.storage.close()
            elif self._started_app:
                self._started_app = False
                await self._app.stop()

    async def __aenter__(self) -> Operations:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- tasks ---------------------------------------------------------------------------------------------

    async def list_tasks(
        self,
        selection: Filter | None = None,
        *,
        sort: str = "created",
        descending: bool = True,
        limit: int = 50,
        cursor: str | None = None,
    ) -> TaskPage:
        """A page of the tasks matching ``selection``, ordered by ``sort`` (created, scheduled or finished; then
        by dispatch order); pass the page's ``next_cursor`` as ``cursor`` for the next one."""
        request = PageRequest(
            filter=filters.storage_filter(selection),
            sort=filters.sort_field(sort),
            descending=descending,
            limit=filters.page_size(limit),
            after=cursor,
        )
        await self.open()
        page = await self.storage.query(request)
        return TaskPage(tasks=[views.summary(record) for record in page.tasks], next_cursor=page.next_cursor)

    async def count(self, selection: Filter | None = None) -> int:
        """How many tasks match ``selection``."""
        await self.open()
        return await self.storage.count(filters.storage_filter(selection))

    async def get_task(self, task_id: UUID) -> TaskDetail:
        """Everything about one task; :class:`TaskNotFoundError` if there is none with this id."""
        return await self._detail(await self._record(task_id))

    async def find_by_key(self, key: str) -> TaskDetail:
        """The task stored under ``key``; :class:`TaskNotFoundError` if there is none."""
        await self.open()
        record = await self.storage.find_by_key(filters.name_text(key, "key"))
        if record is None:
            raise TaskKeyNotFoundError(key)
        return await self._detail(record)

    async def retry(
        self, task_id: UUID, *, actor: str | None = None, payload: dict[str, Any] | None = None
    ) -> TaskSummary:
        """Put a failed or cancelled task back in its queue, due now, its attempts counted from zero again
        (earlier executions and history are kept). ``payload`` replaces the stored one: it is validated
        against the task class when the app is known, and otherwise stored as the JSON object given.

        :class:`ActionNotAllowedError` if the task is in another status."""
        record = await self._record(task_id)
        if record.status not in RETRYABLE:
            raise ActionNotAllowedError("retry", task_id, record.status, "failed or cancelled")
        stored = None if payload is None else self._payload_text(record.type, payload)
        one = TaskFilter(ids=frozenset({task_id}))
        retried = await self.storage.retry(one, now=self._now(), actor=self._actor(actor), payload=stored)
        if not retried:  # it changed status meanwhile
            now = await self._record(task_id)
            raise ActionNotAllowedError("retry", task_id, now.status, "failed or cancelled")
        return views.summary(await self._record(task_id))

    async def retry_matching(self, selection: Filter, *, actor: str | None = None, dry_run: bool = False) -> BulkResult:
        """Retry every failed or cancelled task matching ``selection`` (other statuses are left alone); with
        ``dry_run``, only count them."""
        selected = filters.bulk_filter(selection)
        await self.open()
        count = await self.storage.retry(selected, now=self._now(), actor=self._actor(actor), dry_run=dry_run)
        return BulkResult(action="retry", dry_run=dry_run, count=count)

    async def cancel(self, task_id: UUID, *, actor: str | None = None) -> TaskSummary:
        """Cancel a task: a waiting one at once; a running one is asked to stop (``cancel_requested``) and its
        worker stops it at its next heartbeat. :class:`ActionNotAllowedError` if it has already finished."""
        record = await self._record(task_id)
        if record.status.is_final:
            raise ActionNotAllowedError("cancel", task_id, record.status, "waiting, paused or running")
        result = await self.storage.cancel(task_id, now=self._now(), actor=self._actor(actor))
        if result.previous is None:
            raise TaskNotFoundError(task_id)
        if not (result.cancelled or result.cancel_requested):
            raise ActionNotAllowedError("cancel", task_id, result.previous, "waiting, paused or running")
        return views.summary(await self._record(task_id))

    async def cancel_matching(
        self, selection: Filter, *, actor: str | None = None, dry_run: bool = False
    ) -> BulkResult:
        """Cancel every task matching ``selection`` that has not finished; with ``dry_run``, only count them."""
        selected = filters.bulk_filter(selection)
        await self.open()
        count = await self.storage.cancel_matching(selected, now=self._now(), actor=self._actor(actor), dry_run=dry_run)
        return BulkResult(action="cancel", dry_run=dry_run, count=count)

    async def purge(
        self, selection: Filter, *, older_than: timedelta | None = None, dry_run: bool = False
    ) -> BulkResult:
        """Delete finished tasks (completed, failed, cancelled) matching ``selection`` that finished more than
        ``older_than`` ago, with their history and executions; tasks that have not finished are never deleted.
        With ``dry_run``, only count them."""
        if older_than is not None:
            if not timedelta(0) <= older_than <= MAX_AGE:
                raise InvalidArgumentError("older_than", f"an age from 0 to {MAX_AGE.days} days")
            cutoff = self._now() - older_than
            bound = selection.finished_before
            selection = selection.model_copy(
                update={"finished_before": cutoff if bound is None else min(bound, cutoff)}
            )
        selected = filters.bulk_filter(selection)
        await self.open()
        count = await self.storage.purge_matching(selected, dry_run=dry_run)
        return BulkResult(action="purge", dry_run=dry_run, count=count)

    # -- queues and workers --------------------------------------------------------------------------------

    async def queues(self) -> list[QueueInfo]:
        """Every queue that has tasks, is paused, or is configured in the app: counts, paused, oldest waiting."""
        await self.open()
        now = self._now()
        stats = {row.queue: row for row in await self.storage.queue_stats(now)}
        states = {state.name: state for state in await self.storage.queue_states()}
        parallelism = self.max_parallelism
        names = sorted(set(stats) | set(states) | set(parallelism))
        return [views.queue_info(name, stats.get(name), states.get(name), now, parallelism.get(name)) for name in names]

    async def pause_queue(self, queue: str, *, actor: str | None = None) -> QueueInfo:
        """Pause ``queue``: no worker claims its tasks until it is resumed; dispatch still stores into it, and
        its waiting tasks keep their status. Persisted, so it holds for every worker of the cluster."""
        return await self._set_paused(queue, paused=True, actor=actor)

    async def resume_queue(self, queue: str, *, actor: str | None = None) -> QueueInfo:
        """Let workers claim the tasks of ``queue`` again."""
        return await self._set_paused(queue, paused=False, actor=actor)

    async def workers(self) -> list[WorkerModel]:
        """The live workers (a worker that stops heartbeating drops out once its lease has passed)."""
        await self.open()
        now = self._now()
        return [views.worker(info, now) for info in sorted(await self.storage.list_workers(), key=_worker_order)]

    # -- recurring series ----------------------------------------------------------------------------------

    async def recurring(self) -> list[RecurringSeries]:
        """Every recurring series that is not over: soonest next run first, paused ones last."""
        await self.open()
        return [views.series(item) for item in await self._recurring.list()]

    async def run_now(self, series_id: UUID) -> RunNowResult:
        """Run a series' task once now, as a one-off task; the series keeps its schedule."""
        await self.open()
        task_id = await self._recurring.trigger(series_id)
        return RunNowResult(series_id=series_id, task_id=task_id)

    async def pause_series(self, series_id: UUID, *, actor: str | None = None) -> RecurringSeries:
        """Hold a series: none of its occurrences runs until it is resumed. :class:`ActionNotAllowedError`
        while one of its runs is in progress, or once it is over."""
        await self.open()
        if not await self._recurring.pause(series_id, actor=self._actor(actor)):
            raise ActionNotAllowedError("pause", series_id, (await self._record(series_id)).status, "waiting")
        return views.series(await self._recurring.get(series_id))

    async def resume_series(self, series_id: UUID, *, actor: str | None = None) -> RecurringSeries:
        """Continue a paused series from its next occurrence. :class:`ActionNotAllowedError` unless paused."""
        await self.open()
        if not await self._recurring.resume(series_id, actor=self._actor(actor)):
            raise ActionNotAllowedError("resume", series_id, (await self._record(series_id)).status, "paused")
        return views.series(await self._recurring.get(series_id))

    # -- statistics and health -----------------------------------------------------------------------------

    async def stats(self, window: timedelta = HOUR) -> Stats:
        """Throughput per minute over the last hour and per hour over the last day, duration percentiles and
        failure rate per task type over ``window``, and task counts by status."""
        if not MINUTE <= window <= 30 * DAY:
            raise InvalidArgumentError("window", "from one minute to 30 days")
        await self.open()
        now = self._now()
        minute_end = _floor(now, MINUTE) + MINUTE
        hour_end = _floor(now, HOUR) + HOUR
        per_minute = await self.storage.throughput(since=minute_end - HOUR, until=minute_end, width=MINUTE)
        per_hour = await self.storage.throughput(since=hour_end - DAY, until=hour_end, width=HOUR)
        types = await self.storage.type_stats(since=now - window)
        counts = dict.fromkeys(TaskStatus, 0)
        counts.update(await self.storage.count_by_status())
        return Stats(
            generated_at=now,
            window=window.total_seconds(),
            counts=counts,
            per_minute=[views.throughput(bucket) for bucket in per_minute],
            per_hour=[views.throughput(bucket) for bucket in per_hour],
            types=[views.type_stat(row) for row in types],
        )

    async def health(self, *, max_lag: float | None = None) -> Health:
        """Whether the database answers, whether a live worker heartbeats, and the scheduler lag: how long the
        oldest due task of a running (not paused) queue has waited. Ready means the database answers and a
        worker is alive (and, with ``max_lag``, the lag is at most that many seconds). Never raises for a
        database that is down: that is what it reports."""
        now = self._now()
        try:
            await self.open()
            workers = await self.storage.list_workers()
            stats = await self.storage.queue_stats(now)
            paused = {state.name for state in await self.storage.queue_states() if state.paused}
        except Exception as exc:  # any failure of the database is the answer, not an error of this call
            # Only evertask's own messages, which hide passwords, are shown; a driver's text could hold a DSN.
            error = str(exc) if isinstance(exc, EverTaskError) else f"{type(exc).__name__} (see the server log)"
            logger.warning("health check: the database is not usable: %s", error)
            return Health(
                ready=False,
                checked_at=now,
                database=False,
                database_error=error,
                workers=0,
                last_heartbeat_age=None,
                scheduler_lag=None,
                problems=[f"the database is not usable: {error}"],
            )
        beats = [info.last_heartbeat for info in workers]
        last_beat = None if not beats else max(0.0, (now - max(beats)).total_seconds())
        due = [row.oldest_waiting_since for row in stats if row.oldest_waiting_since and row.queue not in paused]
        lag = None if not due else max(0.0, (now - min(due)).total_seconds())
        problems = []
        if not workers:
            problems.append("no live worker: nothing runs the tasks")
        if max_lag is not None and lag is not None and lag > max_lag:
            problems.append(f"the oldest due task has waited {lag:.1f} s (more than {max_lag:g} s)")
        return Health(
            ready=not problems,
            checked_at=now,
            database=True,
            database_error=None,
            workers=len(workers),
            last_heartbeat_age=last_beat,
            scheduler_lag=lag,
            problems=problems,
        )

    # -- helpers -------------------------------------------------------------------------------------------

    async def _record(self, task_id: UUID) -> TaskRecord:
        await self.open()
        record = await self.storage.get(task_id)
        if record is None:
            raise TaskNotFoundError(task_id)
        return record

    async def _detail(self, record: TaskRecord) -> TaskDetail:
        attempts = await self.storage.attempts(record.id)
        history = await self.storage.history(record.id)
        result = await self.storage.result(record.id) if record.status in FINAL_STATUSES else None
        return views.detail(record, attempts, history, result)

    async def _set_paused(self, queue: str, *, paused: bool, actor: str | None) -> QueueInfo:
        name = filters.name_text(queue, "queue")
        await self.open()
        await self.storage.set_queue_paused(name, paused=paused, now=self._now(), actor=self._actor(actor))
        found = [info for info in await self.queues() if info.name == name]
        return found[0]

    async def _store(self, new: NewTask, now: datetime) -> UUID:
        (task_id,) = await self.storage.add((new,))
        return task_id

    def _actor(self, actor: str | None) -> str:
        return self.actor if actor is None else filters.name_text(actor, "actor")

    def _payload_text(self, task_type: str, payload: dict[str, Any]) -> str:
        """The JSON to store for an edited payload: validated by the task class when it is registered."""
        if not isinstance(payload, dict):
            raise TaskValidationError(task_type, "a payload is a JSON object")
        if self.registry is None or task_type not in self.registry:
            try:
                return json.dumps(payload, ensure_ascii=False, allow_nan=False)
            except ValueError as exc:
                raise TaskValidationError(task_type, f"not valid JSON: {exc}") from exc
        task_cls = self.registry.get(task_type).task_cls
        try:
            task = task_cls.model_validate(payload)
        except ValidationError as exc:
            # Locations and messages only: the values typed may be secrets and are never echoed or logged.
            reasons = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
                for error in exc.errors(include_url=False, include_input=False, include_context=False)
            )
            raise TaskValidationError(task_type, reasons) from None
        return dump_payload(task, task_type).decode()


def _storage_from_url(url: str) -> Storage:
    if url.startswith("memory:"):
        from evertask.storage.memory import MemoryStorage

        return MemoryStorage()
    from evertask.storage.sql import storage_from_url  # needs the sqlite, postgres or mysql extra

    # An operator's tool never changes the schema under the workers: `evertask db upgrade` does that.
    return storage_from_url(url, auto_migrate=False)


def _no_worker_here(queue: str, due: datetime, now: datetime) -> None:
    """Without an app there is no local worker to wake: the workers find the task at their next poll."""


def _worker_order(info: WorkerInfo) -> tuple[str, str]:
    return (info.host, info.id)


def _floor(moment: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return moment - (moment - epoch) % width
