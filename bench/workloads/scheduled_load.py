"""``scheduled-load``: the immediate rate with many delayed tasks held in storage. First the ``throughput``
measurement with N immediate tasks on an empty backend (the baseline), then the same after storing 100,000
tasks due in an hour; the loaded end-to-end rate should stay within 10% of the baseline."""

from __future__ import annotations

from datetime import timedelta
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import BackendName, Measurement, Workload, fresh_backend, open_storage, peak_rss_mb, ratio
from bench.noop import Noop, make_app
from bench.workloads.bulk import BATCH
from bench.workloads.throughput import PRODUCERS, measure, run_and_stop

HELD, QUICK_HELD = 100_000, 10_000
DELAY = timedelta(hours=1)


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    held = QUICK_HELD if quick else HELD
    baseline = await measure(backend_name, n)
    async with fresh_backend(backend_name) as backend:
        app = make_app(open_storage(backend))
        await app.start()
        started = perf_counter()
        for first in range(0, held, BATCH):
            await app.dispatch_many([Noop(n=-i) for i in range(first, min(first + BATCH, held))], delay=DELAY)
        hold_rate = held / (perf_counter() - started)
        loaded = await run_and_stop(app, n)
    figures: dict[str, object] = {
        "held_stored_per_s": round(hold_rate),
        "baseline_end_to_end_per_s": round(baseline.end_to_end),
        "dispatch_per_s": round(loaded.dispatch),
        "end_to_end_per_s": round(loaded.end_to_end),
        "ratio_to_baseline": ratio(loaded.end_to_end, baseline.end_to_end),
        "peak_rss_mb": peak_rss_mb(),
    }
    notes = []
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        limit = await ceiling.lifecycle_rate(n, PRODUCERS)
        figures |= {"limit_per_s": round(limit), "ratio_to_limit": ratio(loaded.end_to_end, limit)}
        notes += [f"limit: {ceiling.what}", "the limit holds no delayed tasks"]
    return Measurement({"held": held, "held_delay_s": DELAY.total_seconds(), "producers": PRODUCERS}, figures, notes)


WORKLOAD = Workload("scheduled-load", run, default_n=10_000, quick_n=1_000)
