"""Shared helpers: a gate that holds handlers mid-flight, and the messages the queue tests send through it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from evertask.mediator import Command, CommandHandler


class Gate:
    """Holds every handler that enters until the test opens it, recording start and finish order."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.opened = asyncio.Event()

    async def enter(self, n: int) -> int:
        self.started.append(n)
        await self.opened.wait()
        self.finished.append(n)
        return n


class Job(Command[int]):
    n: int


class JobHandler(CommandHandler[Job, int]):
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def handle(self, command: Job) -> int:
        return await self.gate.enter(command.n)


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds: bounded loop turns, no wall-clock waiting."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")
