"""The memory ceiling: a bare ``asyncio.Queue`` passing no-op coroutine functions to consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter

from evertask.queues import default_capacity, default_parallelism

Job = Callable[[], Awaitable[None]]


async def _noop() -> None:
    """The job: nothing, awaited like a handler's ``handle``."""


class QueueCeiling:
    """Producers put, ``consumers`` (the worker's default parallelism) get and await; capacity as the queue's."""

    what = "bare asyncio.Queue, no-op coroutine functions, default parallelism and capacity"

    def __init__(self) -> None:
        self.consumers = default_parallelism()
        self.capacity = default_capacity()

    async def lifecycle_rate(self, n: int, producers: int) -> float:
        queue: asyncio.Queue[Job] = asyncio.Queue(self.capacity)
        done = asyncio.Event()
        count = 0

        async def produce(first: int) -> None:
            for _ in range(first, n, producers):
                await queue.put(_noop)

        async def consume() -> None:
            nonlocal count
            while True:
                job = await queue.get()
                await job()
                count += 1
                if count == n:
                    done.set()

        consumers = [asyncio.create_task(consume()) for _ in range(self.consumers)]
        started = perf_counter()
        await asyncio.gather(*(produce(i) for i in range(producers)))
        await done.wait()
        elapsed = perf_counter() - started
        for consumer in consumers:
            consumer.cancel()
        return n / elapsed

    async def insert_rate(self, n: int, batch: int) -> float:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        started = perf_counter()
        for first in range(0, n, batch):
            for _ in range(min(batch, n - first)):
                queue.put_nowait(_noop)
            await asyncio.sleep(0)
        return n / (perf_counter() - started)

    async def pickup_latency(self, samples: int, spacing: float) -> list[float]:
        queue: asyncio.Queue[float] = asyncio.Queue()
        seen: list[float] = []

        async def consume() -> None:
            while len(seen) < samples:
                sent = await queue.get()
                seen.append(perf_counter() - sent)

        consumer = asyncio.create_task(consume())
        start = perf_counter()
        for i in range(samples):
            await asyncio.sleep(max(0.0, start + i * spacing - perf_counter()))
            queue.put_nowait(perf_counter())
        await consumer
        return seen

    async def due_lateness(self, n: int, ahead: float) -> list[float]:
        loop = asyncio.get_running_loop()
        late: list[float] = []
        done = asyncio.Event()
        due = loop.time() + ahead

        def fire() -> None:
            late.append(loop.time() - due)
            if len(late) == n:
                done.set()

        for _ in range(n):
            loop.call_at(due, fire)
        await done.wait()
        return late
