"""``throughput``: N no-op tasks dispatched one by one from 16 concurrent producers, run by the in-process
worker at default settings. Figures: dispatch rate, end-to-end tasks/s (until every outcome is stored), peak
RSS, and the ratio to the ceiling (the same producers and parallelism with no library around them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import (
    BackendName,
    Measurement,
    Workload,
    fresh_backend,
    open_storage,
    peak_rss_mb,
    process_cpu,
    ratio,
    server_cpu,
)
from bench.noop import Noop, expect, make_app, progress_guard
from evertask import EverTask

PRODUCERS = 16


@dataclass(frozen=True, slots=True)
class Rates:
    """Tasks/s for storing every dispatch, and for running them all with every outcome stored; CPU per task
    (microseconds, from the first dispatch until the last task ran) of this process and of the database
    server's processes (None where they cannot be read)."""

    dispatch: float
    end_to_end: float
    cpu_us: float
    server_cpu_us: float | None


async def run_and_stop(app: EverTask, n: int, producers: int = PRODUCERS, backend: BackendName = "memory") -> Rates:
    """Dispatch ``n`` tasks from ``producers`` coroutines on a started ``app``, wait until all ran, stop it.

    Stopping is inside the measurement: it waits for the last outcomes to be written.
    """
    probe = expect(n)
    cpu, server = process_cpu(), server_cpu(backend)

    async def produce(first: int) -> None:
        for i in range(first, n, producers):
            await app.dispatch(Noop(n=i))

    started = perf_counter()
    try:
        async with progress_guard(probe):
            await asyncio.gather(*(produce(i) for i in range(producers)))
            dispatched = perf_counter()
            await probe.done.wait()
            cpu_us = (process_cpu() - cpu) * 1e6 / n
            server_after = server_cpu(backend)
    finally:
        await app.stop()
    finished = perf_counter()
    server_us = None if server is None or server_after is None else (server_after - server) * 1e6 / n
    return Rates(n / (dispatched - started), n / (finished - started), cpu_us, server_us)


async def measure(backend_name: BackendName, n: int) -> Rates:
    """``run_and_stop`` on a fresh backend and a fresh app."""
    async with fresh_backend(backend_name) as backend:
        app = make_app(open_storage(backend))
        await app.start()
        return await run_and_stop(app, n, backend=backend_name)


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    rates = await measure(backend_name, n)
    figures: dict[str, object] = {
        "dispatch_per_s": round(rates.dispatch),
        "end_to_end_per_s": round(rates.end_to_end),
        "peak_rss_mb": peak_rss_mb(),
        "cpu_us_per_task": round(rates.cpu_us),
    }
    if rates.server_cpu_us is not None:
        figures["server_cpu_us_per_task"] = round(rates.server_cpu_us)
    notes = []
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        limit = await ceiling.lifecycle_rate(n, PRODUCERS)
        figures |= {"limit_per_s": round(limit), "ratio_to_limit": ratio(rates.end_to_end, limit)}
        notes.append(f"limit: {ceiling.what}")
    return Measurement({"producers": PRODUCERS, "settings": "defaults"}, figures, notes)


WORKLOAD = Workload("throughput", run, default_n=20_000, quick_n=2_000)
