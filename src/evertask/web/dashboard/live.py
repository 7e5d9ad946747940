"""Live updates: what happens to tasks, as one stream of :class:`LiveEvent` that every open page shares.

The events come from the in-process event bus when the web app runs inside an app whose worker runs here
(everything that worker does, at once), and otherwise from the storage's history feed, polled every second
(the changes every process records: a database whose workers run elsewhere). The hub reads its source only
while a page listens, keeps the last :data:`RECENT` events for pages that open later, and hands each listener
its own bounded queue, so a slow browser never holds up the others: it loses events, then is told to refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from evertask import events as ev
from evertask.app import utc_now
from evertask.ops import Operations, RecurringSeries, TaskSummary
from evertask.ops.views import error_line
from evertask.storage.feed import HistoryFeed, HistoryRow
from evertask.task import TaskStatus
from evertask.web.dashboard.render import duration

logger = logging.getLogger("evertask.web")

RECENT = 500
"""Events the hub keeps for a page that opens later (and the most the live page shows)."""
POLL_INTERVAL = 1.0
"""Seconds between two reads of the history feed."""
LISTENER_BUFFER = 2000
"""Events a listener may fall behind by before it is told it missed some."""
GAP_TTL = 30.0
"""Seconds a missing history id is asked for again before it is taken for a rolled-back insert."""
FEED_PAGE = 500

_BUS_KINDS: dict[type[ev.TaskEvent], str] = {
    ev.TaskDispatched: "dispatched",
    ev.TaskStarted: "started",
    ev.TaskCompleted: "completed",
    ev.TaskRetrying: "retrying",
    ev.TaskFailed: "failed",
    ev.TaskTimedOut: "timed_out",
    ev.TaskCancelled: "cancelled",
    ev.TaskDeferred: "deferred",
    ev.TaskDropped: "dropped",
    ev.TaskRecovered: "recovered",
    ev.TaskServiceStopped: "service_stopped",
}
KINDS = (*_BUS_KINDS.values(), "retried", "paused", "resumed", "changed")
"""Every kind of live event (``retried``: an operator sent it back to its queue; ``changed``: another change)."""


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """Something that happened to a task. ``seq`` orders the events of this hub; ``detail`` is a short text
    (the error line, how long the attempt ran); ``actor`` who did it when it was not the engine."""

    seq: int
    at: datetime
    kind: str
    task_id: UUID
    type: str
    queue: str
    attempt: int | None
    detail: str | None
    actor: str | None

    def json(self) -> dict[str, Any]:
        """The event as the page's script reads it."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "task_id": str(self.task_id),
            "type": self.type,
            "queue": self.queue,
            "attempt": self.attempt,
            "detail": self.detail,
            "actor": self.actor,
        }


def bus_event(event: ev.TaskEvent, seq: int) -> LiveEvent:
    """A live event from an event of the bus."""
    detail = None
    if isinstance(event, ev.TaskRetrying | ev.TaskFailed):
        detail = error_line(event.error)
    elif isinstance(event, ev.TaskCompleted):
        detail = duration(event.duration)
    elif isinstance(event, ev.TaskTimedOut):
        detail = f"timed out after {event.timeout:g} s"
    elif isinstance(event, ev.TaskDropped):
        detail = event.reason
    elif isinstance(event, ev.TaskRecovered):
        detail = error_line(event.error)
    attempt = None if isinstance(event, ev.TaskDispatched) else event.attempt
    kind = _BUS_KINDS.get(type(event), "changed")
    return LiveEvent(seq, event.at, kind, event.task_id, event.task_type, event.queue, attempt, detail, None)


def history_kind(from_status: TaskStatus | None, to_status: TaskStatus, error: str | None) -> str:
    """The kind of event a recorded change of status stands for."""
    s = TaskStatus
    if from_status is None:
        return "dispatched"
    if to_status is s.in_progress:
        return "started"
    if to_status in (s.completed, s.failed, s.cancelled, s.paused, s.service_stopped):
        return to_status.value
    if from_status is s.paused:
        return "resumed"
    if from_status in (s.failed, s.cancelled):
        return "retried"
    if from_status is s.in_progress and error is not None:
        return "retrying"
    return "changed"


def history_event(row: HistoryRow, seq: int) -> LiveEvent:
    """A live event from a row of the history feed."""
    kind = history_kind(row.from_status, row.to_status, row.error)
    return LiveEvent(seq, row.at, kind, row.task_id, row.type, row.queue, None, error_line(row.error), row.actor)


class FeedReader:
    """Reads the history feed from the newest row on, asking again for ids it skipped: on PostgreSQL and
    MySQL a row with a lower id can commit after a higher one was read."""

    def __init__(self, feed: HistoryFeed, clock: Callable[[], float] = time.monotonic) -> None:
        self._feed = feed
        self._clock = clock
        self._cursor: int | None = None
        self._gaps: dict[int, float] = {}  # missing id -> when it was first missed

    async def read(self) -> list[HistoryRow]:
        """The rows recorded since the last read (none at the first: it only finds where the feed ends)."""
        if self._cursor is None:
            self._cursor = await self._feed.latest_history_id()
            return []
        now = self._clock()
        self._gaps = {gap: since for gap, since in self._gaps.items() if now - since < GAP_TTL}
        rows = await self._feed.history_since(self._cursor, missing=self._gaps.keys(), limit=FEED_PAGE)
        for row in rows:
            self._gaps.pop(row.id, None)
            if row.id > self._cursor:
                self._gaps.update((gap, now) for gap in range(self._cursor + 1, row.id))
                self._cursor = row.id
        return rows


class Listener:
    """One open stream: its queue of events, and whether its page should refresh all it shows (it lost events
    because it fell behind, or fresher figures are ready)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue(LISTENER_BUFFER)
        self.refresh = False

    def offer(self, event: LiveEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.refresh = True


class LiveHub:
    """Fans the events of one source out to the open streams of a web app; see the module's docstring."""

    def __init__(self, ops: Operations, *, poll_interval: float = POLL_INTERVAL) -> None:
        self._ops = ops
        self._poll_interval = poll_interval
        self._listeners: set[Listener] = set()
        self._recent: deque[LiveEvent] = deque(maxlen=RECENT)
        self._seq = itertools.count(1)
        self._source: asyncio.Task[None] | None = None
        self._subscription: ev.Subscription | None = None
        self._held: Listener | None = None
        self._release: asyncio.TimerHandle | None = None
        self.closing = asyncio.Event()
        """Set when the server shuts down: every stream ends, so that the server can stop."""

    @property
    def source(self) -> str:
        """Where the events come from: ``bus``, ``history`` (polled) or ``none``."""
        app = self._ops.app
        if app is not None and app.runs_worker:
            return "bus"
        return "history" if isinstance(self._ops.storage, HistoryFeed) else "none"

    def recent(self) -> list[LiveEvent]:
        """The last events, oldest first."""
        return list(self._recent)

    def subscribe(self) -> Listener:
        """A new listener of every event from now on; start reading the source if nobody was listening."""
        listener = Listener()
        self._listeners.add(listener)
        if len(self._listeners) == 1:
            self._start()
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        """Stop sending to ``listener``; stop reading the source once nobody listens."""
        self._listeners.discard(listener)
        if not self._listeners:
            self._stop()

    def nudge(self) -> None:
        """Ask every open page to refresh what it shows (fresher figures are ready)."""
        for listener in self._listeners:
            listener.refresh = True

    def hold(self, seconds: float) -> None:
        """Keep reading the source for ``seconds`` more without a stream (a page polling while its stream is
        down still finds the events of the meantime)."""
        if self._held is None:
            self._held = self.subscribe()
            self._held.queue = asyncio.Queue(1)  # nobody reads it: only the recent events matter
        if self._release is not None:
            self._release.cancel()
        self._release = asyncio.get_running_loop().call_later(seconds, self._let_go)

    def _let_go(self) -> None:
        if self._held is not None:
            self.unsubscribe(self._held)
        self._held = self._release = None

    def touch(self, task: TaskSummary | RecurringSeries, kind: str, *, actor: str) -> None:
        """Tell the listeners about an operator's action on ``task`` taken through this app (the bus does not
        carry those; the history feed does, a second later)."""
        if self.source == "bus":
            self._publish(
                LiveEvent(next(self._seq), utc_now(), kind, task.id, task.type, task.queue, None, None, actor)
            )

    def close(self) -> None:
        """End every stream and stop reading the source (the server is stopping)."""
        self.closing.set()
        if self._release is not None:
            self._release.cancel()
        self._held = self._release = None
        self._listeners.clear()
        self._stop()

    def _publish(self, event: LiveEvent) -> None:
        self._recent.append(event)
        for listener in self._listeners:
            listener.offer(event)

    def _start(self) -> None:
        source = self.source
        if source == "bus":
            app = self._ops.app
            assert app is not None
            self._subscription = app.events.subscribe(self._on_bus)
        elif source == "history":
            self._source = asyncio.get_running_loop().create_task(self._poll(), name="evertask-web-live")

    def _stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._source is not None:
            self._source.cancel()
            self._source = None

    def _on_bus(self, event: ev.TaskEvent) -> None:
        self._publish(bus_event(event, next(self._seq)))

    async def _poll(self) -> None:
        feed = self._ops.storage
        assert isinstance(feed, HistoryFeed)
        reader = FeedReader(feed)
        while True:
            try:
                for row in await reader.read():
                    self._publish(history_event(row, next(self._seq)))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be down for a while: say so once per failure, go on
                logger.warning("live updates: reading the history failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), self._poll_interval)
                return
