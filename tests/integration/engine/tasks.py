"""Task types and handlers shared by the engine tests. Each records what happened in a `Probe`."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from uuid import UUID

from evertask import Handler, SyncHandler, Task, TaskContext


@dataclass
class Probe:
    """What handlers saw, in order, plus events tests can wait on."""

    calls: list[tuple[str, object]] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    thread_started: threading.Event = field(default_factory=threading.Event)
    running: int = 0
    peak: int = 0

    def saw(self, what: str, detail: object = None) -> None:
        self.calls.append((what, detail))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class Echo(Task):
    text: str


class EchoHandler(Handler[Echo]):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.seen: str | None = None

    async def handle(self, task: Echo, ctx: TaskContext) -> None:
        self.seen = task.text
        self.probe.saw("handle", task.text)
        self.probe.attempts.append(ctx.attempt)

    async def on_started(self, task_id: UUID) -> None:
        self.probe.saw("on_started", task_id)

    async def on_completed(self, task_id: UUID) -> None:
        self.probe.saw("on_completed", self.seen)

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


class Flaky(Task):
    fail_times: int


class FlakyHandler(Handler[Flaky]):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Flaky, ctx: TaskContext) -> None:
        self.probe.attempts.append(ctx.attempt)
        if ctx.attempt <= task.fail_times:
            raise ValueError(f"boom {ctx.attempt}")
        self.probe.saw("handle", ctx.attempt)

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


class Block(Task):
    name: str = ""


class BlockHandler(Handler[Block]):
    """Runs until the probe's `release` event is set; tracks concurrency."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Block, ctx: TaskContext) -> None:
        self.probe.running += 1
        self.probe.peak = max(self.probe.peak, self.probe.running)
        self.probe.started.set()
        try:
            await self.probe.release.wait()
        finally:
            self.probe.running -= 1
        self.probe.saw("handle", task.name)

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


class Blocking(Task):
    pass


class BlockingSyncHandler(SyncHandler[Blocking]):
    """A sync handler that cooperates with cancellation by polling its context."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def handle(self, task: Blocking, ctx: TaskContext) -> None:
        self.probe.threads.append(threading.current_thread().name)
        self.probe.thread_started.set()
        ctx.wait_cancelled(timeout=30)
        ctx.raise_if_cancelled()

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)
