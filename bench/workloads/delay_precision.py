"""``delay-precision``: N tasks all due at one instant 2 s ahead, then N due evenly over 5 s; lateness
(start minus due time, measured in the handler with ``perf_counter``) per phase."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import BackendName, Measurement, Workload, distribution_ms, fresh_backend, open_storage, ratio
from bench.noop import Noop, expect, make_app, progress_guard
from bench.workloads.bulk import BATCH
from bench.workloads.throughput import PRODUCERS
from evertask import EverTask


def _clocks() -> tuple[datetime, float]:
    """The same instant on the wall clock (what the worker schedules by) and on ``perf_counter``."""
    return datetime.now(UTC), perf_counter()


async def same_instant(app: EverTask, n: int, ahead: float) -> list[float]:
    """Lateness of ``n`` tasks stored in batches, all due ``ahead`` seconds from now."""
    probe = expect(n)
    wall, mark = _clocks()
    at = wall + timedelta(seconds=ahead)
    async with progress_guard(probe):
        for first in range(0, n, BATCH):
            batch = [Noop(n=i, mark=mark + ahead) for i in range(first, min(first + BATCH, n))]
            await app.dispatch_many(batch, at=at)
        await probe.done.wait()
    return probe.samples


async def spread(app: EverTask, n: int, ahead: float, span: float) -> list[float]:
    """Lateness of ``n`` tasks dispatched by 16 producers, due evenly from ``ahead`` to ``ahead + span``."""
    probe = expect(n)
    wall, mark = _clocks()

    async def produce(first: int) -> None:
        for i in range(first, n, PRODUCERS):
            offset = ahead + span * i / n
            await app.dispatch(Noop(n=i, mark=mark + offset), at=wall + timedelta(seconds=offset))

    async with progress_guard(probe):
        await asyncio.gather(*(produce(i) for i in range(PRODUCERS)))
        await probe.done.wait()
    return probe.samples


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    ahead, span = (1.0, 1.0) if quick else (2.0, 5.0)
    async with fresh_backend(backend_name) as backend, make_app(open_storage(backend)) as app:
        at_once = distribution_ms(await same_instant(app, n, ahead))
        evenly = distribution_ms(await spread(app, n, ahead, span))
    figures = {f"same_instant_{k}": v for k, v in at_once.items()} | {f"spread_{k}": v for k, v in evenly.items()}
    notes = []
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        limit = distribution_ms(await ceiling.due_lateness(n, ahead))
        figures |= {
            "limit_p50_ms": limit["p50_ms"],
            "limit_p99_ms": limit["p99_ms"],
            "ratio_to_limit": ratio(limit["p99_ms"], at_once["p99_ms"]),
        }
        notes += [f"limit: {ceiling.what}", "ratio = limit p99 / same-instant p99 (the limit: all due at one instant)"]
    return Measurement({"ahead_s": ahead, "spread_over_s": span, "producers": PRODUCERS}, figures, notes)


WORKLOAD = Workload("delay-precision", run, default_n=2_000, quick_n=200)
