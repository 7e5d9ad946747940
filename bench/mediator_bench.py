"""Mediator overhead and throughput. Run: ``.venv/bin/python bench/mediator_bench.py``.

Prints one JSON line per measurement:
- inline send overhead: microseconds per ``await mediator.send(cmd)`` beyond ``await handler.handle(cmd)`` on a
  ready handler instance, for the default pipeline, the bare pipeline, and with a lifecycle subscriber;
- queued send throughput: requests per second through the queue, all sent concurrently.
Each figure is the best of several rounds (the least disturbed by the rest of the machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable

from evertask.mediator import Command, CommandHandler, Lifecycle, LifecycleEvent, Mediator

ROUNDS = 5
CALLS = 50_000
QUEUED = 20_000


class Add(Command[int]):
    a: int
    b: int


class AddHandler(CommandHandler[Add, int]):
    async def handle(self, command: Add) -> int:
        return command.a + command.b


async def _per_call(
    call: Callable[[Add], Awaitable[int]], calls: int, settle: Callable[[], Awaitable[None]] | None = None
) -> float:
    """Best-of-rounds seconds per call of ``call``, including ``settle()`` (background work left to finish)."""
    command = Add(a=1, b=2)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            await call(command)
        if settle is not None:
            await settle()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


async def inline_overhead() -> list[dict[str, object]]:
    direct = await _per_call(AddHandler().handle, CALLS)
    bare = Mediator(default_behaviors=False)
    default = Mediator()
    # The loop below never yields, so the delivery task only runs at the end: a buffer that holds every
    # event keeps them all, and flush() delivers them inside the timing (publishing cost + delivery cost).
    observed = Mediator(lifecycle=Lifecycle(buffer=3 * CALLS))
    observed.lifecycle.subscribe(_ignore)
    results = []
    for name, mediator in (("default", default), ("bare", bare), ("default+lifecycle", observed)):
        mediator.register(AddHandler)
        per_call = await _per_call(mediator.send, CALLS, mediator.lifecycle.flush)
        await mediator.aclose()
        results.append(
            {
                "measurement": "inline_send_overhead_us",
                "pipeline": name,
                "value": round((per_call - direct) * 1e6, 2),
                "send_us": round(per_call * 1e6, 2),
                "direct_handle_us": round(direct * 1e6, 3),
            }
        )
    return results


async def queued_throughput() -> dict[str, object]:
    best = 0.0
    consumers = os.cpu_count() or 1
    for _ in range(ROUNDS):
        mediator = Mediator(run_mode="queued", capacity=1000, when_full="wait")
        mediator.register(AddHandler)
        started = time.perf_counter()
        await asyncio.gather(*(mediator.send(Add(a=i, b=1)) for i in range(QUEUED)))
        best = max(best, QUEUED / (time.perf_counter() - started))
        await mediator.aclose()
    return {
        "measurement": "queued_send_throughput_per_s",
        "value": round(best),
        "requests": QUEUED,
        "capacity": 1000,
        "consumers": consumers,
    }


def _ignore(event: LifecycleEvent) -> None:
    """A lifecycle subscriber that does nothing: measures the publishing cost alone."""


async def main() -> None:
    for line in await inline_overhead():
        print(json.dumps(line))
    print(json.dumps(await queued_throughput()))


if __name__ == "__main__":
    asyncio.run(main())
