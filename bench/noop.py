"""The task every workload runs: a no-op whose handler only records what the workload measures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any, ClassVar

from evertask import EverTask, Handler, Task, TaskContext
from evertask.storage import Storage

STALL = 30.0
"""Seconds without a task starting after which a workload fails instead of waiting on."""


class Noop(Task):
    """A task that does nothing. ``mark`` is a ``perf_counter`` instant to measure the start against
    (when it was dispatched, or when it fell due); 0 measures nothing."""

    task_name = "bench.Noop"

    n: int
    mark: float = 0.0


class Probe:
    """Counts the tasks that started, keeps ``start - mark`` per measured task, and says when all ran."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.samples: list[float] = []
        self.done = asyncio.Event()

    def ran(self, started: float, mark: float) -> None:
        if mark:
            self.samples.append(started - mark)
        self.count += 1
        if self.count == self.expected:
            self.done.set()


class NoopHandler(Handler[Noop]):
    probe: ClassVar[Probe] = Probe(0)

    async def handle(self, task: Noop, ctx: TaskContext) -> None:
        self.probe.ran(perf_counter(), task.mark)


def expect(count: int) -> Probe:
    """Point the handler at a new probe that is done after ``count`` tasks."""
    NoopHandler.probe = Probe(count)
    return NoopHandler.probe


def make_app(storage: Storage, **settings: Any) -> EverTask:
    """An app at default settings (except ``settings``) with the no-op handler registered."""
    app = EverTask(storage, **settings)
    app.register(NoopHandler)
    return app


@asynccontextmanager
async def progress_guard(probe: Probe, stall: float = STALL) -> AsyncIterator[None]:
    """Fail with a clear error, instead of hanging, if no task starts for ``stall`` seconds in the block."""
    try:
        async with asyncio.timeout(stall) as deadline:
            watcher = asyncio.create_task(_push_back(deadline, probe, stall))
            try:
                yield
            finally:
                watcher.cancel()
    except TimeoutError:
        ran = f"{probe.count} of {probe.expected} ran"
        raise TimeoutError(f"stalled: no task started for {stall:.0f} s ({ran})") from None


async def _push_back(deadline: asyncio.Timeout, probe: Probe, stall: float) -> None:
    """Move ``deadline`` to ``stall`` seconds after the latest progress; lift it once every task ran."""
    loop = asyncio.get_running_loop()
    seen = probe.count
    while not probe.done.is_set():
        await asyncio.sleep(1.0)
        if probe.count != seen:
            seen = probe.count
            deadline.reschedule(loop.time() + stall)
    deadline.reschedule(None)
