"""``bulk``: the ``throughput`` work stored through ``dispatch_many`` in batches of 500 from 16 producers.

Twice: first by an app that only dispatches (``run_worker=False``, as a web process that hands work to worker
processes): how fast tasks are stored; then by an app that runs them too, whose queue's back-pressure lets
dispatch run only as far ahead of the worker as the queue's capacity. Figures: stored tasks/s for both,
end-to-end tasks/s, peak RSS, and the ratios to the ceilings (batched inserts alone; the whole lifecycle)."""

from __future__ import annotations

import asyncio
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import BackendName, Measurement, Workload, fresh_backend, open_storage, peak_rss_mb, ratio
from bench.noop import Noop, expect, make_app, progress_guard
from bench.workloads.throughput import PRODUCERS
from evertask import EverTask

BATCH = 500


async def dispatch_all(app: EverTask, n: int) -> float:
    """Store ``n`` tasks in batches from the producers; the seconds it took."""

    async def produce(first: int) -> None:
        for start in range(first * BATCH, n, PRODUCERS * BATCH):
            await app.dispatch_many([Noop(n=i) for i in range(start, min(start + BATCH, n))])

    started = perf_counter()
    await asyncio.gather(*(produce(i) for i in range(PRODUCERS)))
    return perf_counter() - started


async def store_only(backend_name: BackendName, n: int) -> float:
    """Stored tasks/s of an app that only dispatches."""
    async with fresh_backend(backend_name) as backend, make_app(open_storage(backend), run_worker=False) as app:
        return n / await dispatch_all(app, n)


async def store_and_run(backend_name: BackendName, n: int) -> tuple[float, float]:
    """Stored tasks/s and end-to-end tasks/s of an app that also runs the tasks (stopped inside the clock)."""
    async with fresh_backend(backend_name) as backend:
        app = make_app(open_storage(backend))
        await app.start()
        probe = expect(n)
        started = perf_counter()
        try:
            async with progress_guard(probe):
                dispatching = await dispatch_all(app, n)
                await probe.done.wait()
        finally:
            await app.stop()
        return n / dispatching, n / (perf_counter() - started)


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    stored = await store_only(backend_name, n)
    stored_running, end_to_end = await store_and_run(backend_name, n)
    figures: dict[str, object] = {
        "dispatch_only_per_s": round(stored),
        "dispatch_per_s": round(stored_running),
        "end_to_end_per_s": round(end_to_end),
        "peak_rss_mb": peak_rss_mb(),
    }
    notes = []
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        insert_limit = await ceiling.insert_rate(n, BATCH)
        lifecycle_limit = await ceiling.lifecycle_rate(n, PRODUCERS)
        figures |= {
            "dispatch_limit_per_s": round(insert_limit),
            "dispatch_ratio_to_limit": ratio(stored, insert_limit),
            "limit_per_s": round(lifecycle_limit),
            "ratio_to_limit": ratio(end_to_end, lifecycle_limit),
        }
        notes.append(f"limit: {ceiling.what}")
    return Measurement({"producers": PRODUCERS, "batch": BATCH, "settings": "defaults"}, figures, notes)


WORKLOAD = Workload("bulk", run, default_n=20_000, quick_n=2_000)
