"""``latency``: an idle, warm worker; N tasks dispatched 5 ms apart by one producer; dispatch-to-start
measured inside the handler (the payload carries the ``perf_counter`` of the dispatch call)."""

from __future__ import annotations

import asyncio
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import (
    BackendName,
    Measurement,
    Workload,
    distribution_ms,
    fresh_backend,
    open_storage,
    ratio,
)
from bench.noop import Noop, expect, make_app, progress_guard

SPACING = 0.005
WARMUP = 50
IDLE = 0.5
"""Seconds the warm worker sits idle before the first measured dispatch."""
CEILING_SAMPLES = 200


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    async with fresh_backend(backend_name) as backend:
        app = make_app(open_storage(backend))
        async with app:
            warm = expect(WARMUP)
            async with progress_guard(warm):
                for i in range(WARMUP):
                    await app.dispatch(Noop(n=i))
                await warm.done.wait()
            await asyncio.sleep(IDLE)
            probe = expect(n)
            async with progress_guard(probe):
                start = perf_counter()
                for i in range(n):
                    await asyncio.sleep(max(0.0, start + i * SPACING - perf_counter()))
                    await app.dispatch(Noop(n=i, mark=perf_counter()))
                await probe.done.wait()
    figures = distribution_ms(probe.samples)
    notes = []
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        limit = distribution_ms(await ceiling.pickup_latency(min(n, CEILING_SAMPLES), SPACING))
        figures |= {
            "limit_p50_ms": limit["p50_ms"],
            "limit_p99_ms": limit["p99_ms"],
            "ratio_to_limit": ratio(limit["p50_ms"], figures["p50_ms"]),
        }
        notes += [f"limit: {ceiling.what}", "ratio = limit p50 / p50"]
    return Measurement({"spacing_ms": SPACING * 1000, "warmup": WARMUP, "idle_s": IDLE}, figures, notes)


WORKLOAD = Workload("latency", run, default_n=1_000, quick_n=100)
