"""From an attempt's verdict to its fenced storage write, its events and its log line."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from evertask.batching import GroupCommitter
from evertask.events import (
    EventBus,
    TaskCancelled,
    TaskCompleted,
    TaskDeferred,
    TaskEvent,
    TaskFailed,
    TaskRetrying,
    TaskServiceStopped,
    TaskTimedOut,
)
from evertask.storage.base import Outcome, Storage
from evertask.storage.records import AttemptOutcome
from evertask.task import TaskRecord, TaskStatus
from evertask.worker.outage import OutageLog

logger = logging.getLogger("evertask.worker")
NextOccurrence = Callable[[TaskRecord, datetime], datetime | None]
_MAX_ERROR_TEXT = 8000


@dataclass(slots=True)
class Verdict:
    """How an attempt ended, before it is turned into a storage write. ``ran``: whether ``handle`` was called
    (a task stopped before that has no attempt row); ``result``: its return value as JSON."""

    error: BaseException | None = None
    retryable: bool = True
    stop: Literal["cancel", "shutdown", "lost"] | None = None
    timed_out: timedelta | None = None
    retry_in: timedelta | None = None
    deferred_for: timedelta | None = None
    ran: bool = True
    started_at: datetime | None = None
    result: str | None = None


def _next_attempt(record: TaskRecord, outcome: Outcome, due: datetime) -> TaskRecord:
    """The in-memory record of the next attempt (or next run) of a task that was never stored."""
    if outcome.run_finished:
        return replace(record, attempts=1, run_count=record.run_count + 1, scheduled_at=due)
    attempts = record.attempts if outcome.attempt_refunded else record.attempts + 1
    return replace(record, attempts=attempts, scheduled_at=due, last_error=outcome.error)


def describe_error(error: BaseException) -> str:
    """The error text stored with a task: type, message and where it was raised."""
    return _clipped("".join(traceback.format_exception(error)).strip())


def error_type(error: BaseException) -> str:
    """The qualified name of an error's class (builtins without their module): ``ValueError``,
    ``evertask.errors.TaskTimeoutError``, ``httpx.ConnectTimeout``."""
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _clipped(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 3] + "..."


def _ending(verdict: Verdict) -> AttemptOutcome | None:
    """How the execution ended, for its attempt row (None: it has none, the handler never ran)."""
    if verdict.deferred_for is not None:
        return None
    if verdict.stop is not None:
        if not verdict.ran:
            return None
        return "cancelled" if verdict.stop == "cancel" else "interrupted"
    if verdict.error is None:
        return "completed"
    return "failed" if verdict.retry_in is None else "retrying"


@dataclass(frozen=True, slots=True)
class _Ending:
    """An attempt's outcome on its way to storage, with what is needed to announce it once written."""

    record: TaskRecord
    verdict: Verdict
    outcome: Outcome
    duration: float
    tries: int = 1


class OutcomeRecorder:
    """Writes outcomes in group commits without holding up the consumer, then publishes events and tells
    waiters.

    A consumer moves on to its next task as soon as the outcome is queued: the write is batched with its
    neighbours'. If the write fails it is retried a few times; if it still fails, the task keeps its claim
    until the lease expires and is then recovered and run again (at-least-once, never lost). At shutdown,
    :meth:`drain` tries the writes waiting for a retry at once, and gives up those that fail again.
    """

    max_tries = 5

    def __init__(
        self,
        *,
        owner: str,
        storage: Storage,
        events: EventBus,
        now: Callable[[], datetime],
        next_occurrence: NextOccurrence,
        on_finished: Callable[[UUID, TaskStatus], None],
        on_rescheduled: Callable[[str, datetime, datetime], None],
        rerun_unstored: Callable[[TaskRecord, datetime], None],
    ) -> None:
        self._owner = owner
        self._storage = storage
        self._committer: GroupCommitter[_Ending, bool] = GroupCommitter(
            self._write, on_result=self._written, on_error=self._write_failed
        )
        self._events = events
        self._now = now
        self._next_occurrence = next_occurrence
        self._on_finished = on_finished
        self._on_rescheduled = on_rescheduled
        self._rerun_unstored = rerun_unstored
        self._outage = OutageLog("recording outcomes")
        self._retries: dict[asyncio.Task[None], list[_Ending]] = {}
        self._draining = False

    def submit(self, record: TaskRecord, verdict: Verdict, duration: float) -> None:
        """Queue the fenced write that ends ``record``'s attempt; it is announced once written."""
        if verdict.stop == "lost":
            logger.warning("task %s was taken over by another worker; its result here is discarded", record.id)
            return
        outcome = self.outcome_for(record, verdict, self._now(), duration)
        if record.fence == 0:  # never stored (storage was down at dispatch): its life is in memory only
            self._announce(record, verdict, outcome, duration)
            if outcome.next_run is not None:
                self._rerun_unstored(_next_attempt(record, outcome, outcome.next_run), outcome.at)
            return
        self._committer.push(_Ending(record, verdict, outcome, duration))

    async def drain(self) -> None:
        """Write every queued outcome, those waiting for a retry at once; what fails now is given up (its task
        runs again when its lease expires), so that no write is left to run after the storage is closed."""
        self._draining = True
        for waiting, endings in self._retries.items():
            waiting.cancel()
            self._push_all(endings)
        self._retries.clear()
        await self._committer.drain()

    async def _write(self, endings: Sequence[_Ending]) -> list[bool]:
        applied = await self._storage.finish([ending.outcome for ending in endings])
        self._outage.succeeded()
        return applied

    def _write_failed(self, endings: Sequence[_Ending], exc: Exception) -> None:
        self._outage.failed(exc)
        retry = [] if self._draining else [replace(e, tries=e.tries + 1) for e in endings if e.tries < self.max_tries]
        if len(retry) < len(endings):
            logger.warning(
                "%d outcomes not recorded %s; their tasks run again when their leases expire",
                len(endings) - len(retry),
                "at shutdown" if self._draining else f"after {self.max_tries} tries",
            )
        if retry:
            waiting = asyncio.get_running_loop().create_task(asyncio.sleep(0.2 * 2 ** retry[0].tries))
            self._retries[waiting] = retry
            waiting.add_done_callback(self._retry_due)

    def _retry_due(self, waiting: asyncio.Task[None]) -> None:
        endings = self._retries.pop(waiting, None)
        if endings is not None:  # None: drain() pushed them already
            self._push_all(endings)

    def _push_all(self, endings: list[_Ending]) -> None:
        for ending in endings:
            self._committer.push(ending)

    def _written(self, ending: _Ending, applied: bool) -> None:
        record, outcome = ending.record, ending.outcome
        if not applied:
            logger.warning("outcome of task %s not recorded: its claim was taken over", record.id)
            return
        self._announce(record, ending.verdict, outcome, ending.duration)
        if outcome.next_run is not None:
            self._on_rescheduled(record.queue, outcome.next_run, outcome.at)
        self._on_finished(record.id, outcome.status)

    def outcome_for(self, record: TaskRecord, verdict: Verdict, now: datetime, duration: float = 0.0) -> Outcome:
        """The storage write that ends this attempt (``duration``: seconds it ran), with its attempt row."""
        ending = _ending(verdict)
        failure = verdict.error
        kind = message = None
        if failure is not None and ending is not None:
            kind, message = error_type(failure), _clipped(str(failure))

        def outcome(
            status: TaskStatus,
            error: str | None = None,
            next_run: datetime | None = None,
            run_finished: bool = False,
        ) -> Outcome:
            return Outcome(
                record.id,
                self._owner,
                record.fence,
                status,
                now,
                error,
                next_run,
                run_finished,
                False,
                ending,
                verdict.started_at,
                duration,
                kind,
                message,
                verdict.result,
                record.attempts,
                record.run_count,
            )

        # Neither an interrupted nor a deferred attempt may use up a retry: both give the attempt back.
        if verdict.stop == "shutdown":
            return replace(outcome(TaskStatus.service_stopped), attempt_refunded=True)
        if verdict.deferred_for is not None:
            return replace(outcome(TaskStatus.pending, None, now + verdict.deferred_for), attempt_refunded=True)
        if verdict.stop == "cancel":
            return outcome(TaskStatus.cancelled, "cancelled by request")
        error = describe_error(verdict.error) if verdict.error is not None else None
        if verdict.retry_in is not None:
            return outcome(TaskStatus.pending, error, now + verdict.retry_in)
        final = TaskStatus.completed if error is None else TaskStatus.failed
        if record.schedule is None:
            return outcome(final, error)
        # A failed run does not end the series: the next occurrence is scheduled all the same.
        following = self._next_occurrence(record, now)
        if following is None:
            return outcome(final, error, run_finished=True)
        return outcome(TaskStatus.pending, error, following, run_finished=True)

    def _announce(self, record: TaskRecord, verdict: Verdict, outcome: Outcome, duration: float) -> None:
        if self._events.active:
            for event in self._events_for(record, verdict, outcome, duration):
                self._events.publish(event)
        if verdict.error is None and verdict.stop is None and not logger.isEnabledFor(logging.DEBUG):
            return  # the common case logs nothing: skip building the record's extras
        extra = {
            "task_id": str(record.id),
            "task_type": record.type,
            "queue": record.queue,
            "attempt": record.attempts,
        }
        if verdict.timed_out is not None:
            logger.warning("task %s timed out after %s", record.id, verdict.timed_out, extra=extra)
        if verdict.deferred_for is not None:
            logger.debug("task %s over its rate limit; deferred %s", record.id, verdict.deferred_for, extra=extra)
        elif verdict.error is None and verdict.stop is None:
            logger.debug("task %s completed in %.3f s", record.id, duration, extra=extra)
        elif verdict.stop == "cancel":
            logger.info("task %s cancelled while running", record.id, extra=extra)
        elif verdict.stop == "shutdown":
            logger.info("task %s interrupted by shutdown; it resumes at next start", record.id, extra=extra)
        elif verdict.retry_in is not None:
            logger.warning(
                "task %s failed (attempt %d), retrying in %s: %s",
                record.id,
                record.attempts,
                verdict.retry_in,
                verdict.error,
                extra=extra,
            )
        else:
            logger.error("task %s failed: %s", record.id, verdict.error, extra=extra)

    def _events_for(self, record: TaskRecord, verdict: Verdict, outcome: Outcome, duration: float) -> list[TaskEvent]:
        head = (record.id, record.type, record.queue, record.attempts, outcome.at)
        events: list[TaskEvent] = []
        if verdict.timed_out is not None:
            events.append(TaskTimedOut(*head, duration=duration, timeout=verdict.timed_out.total_seconds()))
        if verdict.stop == "shutdown":
            events.append(TaskServiceStopped(*head))
        elif verdict.deferred_for is not None and outcome.next_run is not None:
            events.append(TaskDeferred(*head, until=outcome.next_run))
        elif verdict.stop == "cancel":
            events.append(TaskCancelled(*head))
        elif verdict.error is None:
            events.append(TaskCompleted(*head, duration=duration))
        elif verdict.retry_in is not None and outcome.next_run is not None:
            events.append(
                TaskRetrying(*head, duration=duration, error=str(verdict.error), next_attempt_at=outcome.next_run)
            )
        else:
            events.append(TaskFailed(*head, duration=duration, error=str(verdict.error)))
        return events
