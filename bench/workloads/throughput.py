"""``throughput``: N no-op tasks dispatched one by one from 16 concurrent producers, run by the in-process
worker at default settings. Figures: dispatch rate, end-to-end tasks/s (until every outcome is stored), peak
RSS, and the ratio to the ceiling (the same producers and parallelism with no library around them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import BackendName, Measurement, Workload, fresh_backend, open_storage, peak_rss_mb, ratio
from bench.noop import Noop, expect, make_app, progress_guard
from evertask import EverTask

PRODUCERS = 16


@dataclass(frozen=True, slots=True)
class Rates:
    """Tasks/s for storing every dispatch, and for running them all with every outcome stored."""

    dispatch: float
    end_to_end: float


async def run_and_stop(app: EverTask, n: int, producers: int = PRODUCERS) -> Rates:
    """Dispatch ``n`` tasks from ``producers`` coroutines on a started ``app``, wait until all ran, stop it.

    Stopping is inside the measurement: it waits for the last outcomes to be written.
    """
    probe = expect(n)

    async def produce(first: int) -> None:
        for i in range(first, n, producers):
            await app.dispatch(Noop(n=i))

    started = perf_counter()
    try:
        async with progress_guard(probe):
            await asyncio.gather(*(produce(i) for i in range(producers)))
            dispatched = perf_counter()
            await probe.done.wait()
    finally:
        await app.stop()
    finished = perf_counter()
    return Rates(n / (dispatched - started), n / (finished - started))


async def measure(backend_name: BackendName, n: int) -> Rates:
    """``run_and_stop`` on a fresh backend and a fresh app."""
    async with fresh_backend(backend_name) as backend:
        app = make_app(open_storage(backend))
        await app.start()
        return await run_and_stop(app, n)


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    rates = await measure(backend_name, n)
    figures: dict[str, object] = {
        "dispatch_per_s": round(rates.dispatch),
        "end_to_end_per_s": round(rates.end_to_end),
        "peak_rss_mb": peak_rss_mb(),
    }
    notes = []
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        limit = await ceiling.lifecycle_rate(n, PRODUCERS)
        figures |= {"limit_per_s": round(limit), "ratio_to_limit": ratio(rates.end_to_end, limit)}
        notes.append(f"limit: {ceiling.what}")
    return Measurement({"producers": PRODUCERS, "settings": "defaults"}, figures, notes)


WORKLOAD = Workload("throughput", run, default_n=20_000, quick_n=2_000)
