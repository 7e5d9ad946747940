"""The queued run mode: a bounded FIFO of requests run by at most ``consumers`` at a time.

Every caller gets exactly one answer: the result, the handler's exception, a cancellation, or
:class:`~evertask.errors.Rejected` (``queue_full``, ``evicted`` or ``closed``); no future is ever left
pending. Each item runs as its own task in a copy of its caller's context (so request ids and tracing flow),
and a request sent from inside a running item of the same queue runs inline: queueing it would park a slot
waiting for another slot, and with every slot parked that way nothing would move.

State of one item: ``overflow`` (a ``wait``-mode caller waiting for room) -> ``waiting`` (in the queue) ->
``started``. Whatever settles its future first wins; the others see it done and do nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from contextvars import ContextVar
from functools import partial
from typing import Literal, Protocol

from evertask.errors import ConfigurationError, Rejected
from evertask.mediator.messages import Request
from evertask.mediator.pipeline import Next

WhenFull = Literal["wait", "drop_write", "drop_oldest", "drop_newest"]
_WHEN_FULL: tuple[WhenFull, ...] = ("wait", "drop_write", "drop_oldest", "drop_newest")


class QueueObserver(Protocol):
    """Told what the queue did with one request (the mediator's lifecycle trace implements it)."""

    def enqueued(self) -> None:
        """The request entered the queue."""

    def rejected(self, reason: str) -> None:
        """The request was refused or evicted; called before its caller is answered."""


_CANCEL_GRACE = 1.0
"""Seconds to let cancelled handlers unwind at shutdown; their callers are already answered by then."""

_running_in: ContextVar[WorkQueue | None] = ContextVar("evertask_mediator_queue", default=None)


class _Item:
    __slots__ = ("context", "future", "observer", "request", "run", "state", "task")

    def __init__(
        self,
        run: Next,
        request: Request[object],
        future: asyncio.Future[object],
        observer: QueueObserver | None,
    ) -> None:
        self.run = run
        self.request = request
        self.future = future
        self.observer = observer
        self.context = contextvars.copy_context()
        self.state = "new"
        self.task: asyncio.Task[object] | None = None


class WorkQueue:
    """Bounded request queue with a full-mode policy, a concurrency limit and a draining shutdown.

    ``capacity`` counts requests waiting to start (running ones do not count). ``when_full``: ``wait`` parks
    the caller until there is room (its cancellation ends the wait), ``drop_write`` refuses the new request,
    ``drop_oldest`` / ``drop_newest`` evict the oldest / newest waiting request to make room.
    """

    def __init__(self, *, capacity: int, when_full: WhenFull, consumers: int) -> None:
        if capacity < 1:
            raise ConfigurationError(f"queue capacity must be at least 1, got {capacity}")
        if consumers < 1:
            raise ConfigurationError(f"consumers must be at least 1, got {consumers}")
        if when_full not in _WHEN_FULL:
            raise ConfigurationError(f"when_full must be one of {', '.join(_WHEN_FULL)}, got {when_full!r}")
        self.capacity = capacity
        self.when_full: WhenFull = when_full
        self.consumers = consumers
        self._waiting: deque[_Item] = deque()
        self._overflow: deque[_Item] = deque()
        self._running: set[_Item] = set()
        self._closed = False
        self._idle: asyncio.Future[None] | None = None

    @property
    def depth(self) -> int:
        """Requests waiting to start (at most ``capacity``)."""
        return len(self._waiting)

    @property
    def running(self) -> int:
        """Requests running now (at most ``consumers``)."""
        return len(self._running)

    async def submit(self, run: Next, request: Request[object], observer: QueueObserver | None = None) -> object:
        """Queue ``run(request)`` and wait for its outcome, telling ``observer`` what the queue did with it."""
        if _running_in.get() is self:
            return await run(request)
        item = _Item(run, request, asyncio.get_running_loop().create_future(), observer)
        full = bool(self._overflow) or len(self._waiting) >= self.capacity
        if self._closed:
            raise _rejection(item, "closed", "the mediator is shutting down")
        if full and self.when_full == "drop_write":
            raise _rejection(item, "queue_full", f"capacity {self.capacity}, when_full='drop_write'")
        item.future.add_done_callback(partial(self._settled, item))
        if not full:
            self._enter(item)
        elif self.when_full == "wait":
            item.state = "overflow"
            self._overflow.append(item)
        else:
            victim = self._waiting.pop() if self.when_full == "drop_newest" else self._waiting.popleft()
            self._answer(victim, "evicted", f"when_full={self.when_full!r} made room for a newer request")
            self._enter(item)
        self._pump()
        return await item.future

    def _enter(self, item: _Item) -> None:
        item.state = "waiting"
        self._waiting.append(item)
        if item.observer is not None:
            item.observer.enqueued()

    def _answer(self, item: _Item, reason: str, detail: str) -> None:
        """Settle a request that will never start with ``Rejected(reason)``, unless its caller already left."""
        item.state = "gone"
        if not item.future.done():
            item.future.set_exception(_rejection(item, reason, detail))

    def _pump(self) -> None:
        """Start waiting requests while slots are free, then let ``wait``-mode callers into the room made."""
        while True:
            if self._waiting and len(self._running) < self.consumers:
                self._start(self._waiting.popleft())
            elif self._overflow and len(self._waiting) < self.capacity:
                self._enter(self._overflow.popleft())
            else:
                break
        if self._idle is not None and not self._running and not self._waiting and not self._idle.done():
            self._idle.set_result(None)

    def _start(self, item: _Item) -> None:
        if item.future.done():  # its caller gave up a moment ago; _settled has not run yet
            item.state = "gone"
            return
        item.state = "started"
        item.task = asyncio.get_running_loop().create_task(self._run(item), context=item.context)
        item.task.add_done_callback(partial(self._finished, item))
        self._running.add(item)

    async def _run(self, item: _Item) -> object:
        _running_in.set(self)  # item.context is this item's own copy: the mark stays inside this request
        return await item.run(item.request)

    def _finished(self, item: _Item, task: asyncio.Task[object]) -> None:
        self._running.discard(item)
        future = item.future
        if not future.done():
            if task.cancelled():
                future.cancel()
            elif (error := task.exception()) is not None:
                future.set_exception(error)
            else:
                future.set_result(task.result())
        elif not task.cancelled():
            task.exception()  # the caller is gone; mark the outcome seen so that asyncio does not log it
        self._pump()

    def _settled(self, item: _Item, future: asyncio.Future[object]) -> None:
        """The caller's future is done: withdraw the item if it has not started, stop it if it has."""
        if item.state == "waiting":
            self._waiting.remove(item)
            self._pump()
        elif item.state == "overflow":
            self._overflow.remove(item)
        elif item.task is not None and future.cancelled():
            item.task.cancel()
        if item.state != "started":
            item.state = "gone"

    async def aclose(self, timeout: float) -> None:
        """Refuse new requests, let queued and running ones finish within ``timeout`` seconds, then answer
        every caller left: ``Rejected("closed")`` if its request never started, a cancellation if it had."""
        self._closed = True
        while self._overflow:
            self._answer(self._overflow.popleft(), "closed", "the mediator shut down before there was room")
        if self._running or self._waiting:
            self._idle = self._idle or asyncio.get_running_loop().create_future()
            await asyncio.wait([self._idle], timeout=timeout)
        while self._waiting:
            detail = f"not started within the {timeout:g} s shutdown budget"
            self._answer(self._waiting.popleft(), "closed", detail)
        tasks = [item.task for item in self._running if item.task is not None]
        for item in list(self._running):
            item.future.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_GRACE)


def _rejection(item: _Item, reason: str, detail: str) -> Rejected:
    """The ``Rejected`` answer for ``item``, reported to its observer first (counted before answered)."""
    if item.observer is not None:
        item.observer.rejected(reason)
    return Rejected(item.request.message_name, reason, detail)
