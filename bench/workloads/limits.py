"""``limits``: this machine's ceilings for the work the other workloads do, with no library around it
(see :mod:`bench.ceilings`); each other workload also measures its own matching ceiling and prints the ratio."""

from __future__ import annotations

from bench.ceilings import ceiling_for
from bench.harness import BackendName, Measurement, Workload, distribution_ms
from bench.workloads.bulk import BATCH
from bench.workloads.latency import CEILING_SAMPLES, SPACING
from bench.workloads.throughput import PRODUCERS

DUE_AHEAD = 1.0
DUE_TASKS = 2_000


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    ceiling = ceiling_for(backend_name)
    if ceiling is None:
        return Measurement({}, {}, [f"no ceiling is implemented for {backend_name}"])
    pickup = distribution_ms(await ceiling.pickup_latency(CEILING_SAMPLES, SPACING))
    late = distribution_ms(await ceiling.due_lateness(min(n, DUE_TASKS), DUE_AHEAD))
    figures = {
        "lifecycle_per_s": round(await ceiling.lifecycle_rate(n, PRODUCERS)),
        "batched_insert_per_s": round(await ceiling.insert_rate(n, BATCH)),
        "pickup_p50_ms": pickup["p50_ms"],
        "pickup_p99_ms": pickup["p99_ms"],
        "due_lateness_p50_ms": late["p50_ms"],
        "due_lateness_p99_ms": late["p99_ms"],
    }
    parameters = {
        "producers": PRODUCERS,
        "batch": BATCH,
        "pickup_samples": CEILING_SAMPLES,
        "spacing_ms": SPACING * 1000,
        "due_tasks": min(n, DUE_TASKS),
        "due_ahead_s": DUE_AHEAD,
    }
    return Measurement(parameters, figures, [f"limit: {ceiling.what}"])


WORKLOAD = Workload("limits", run, default_n=20_000, quick_n=2_000)
