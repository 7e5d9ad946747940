"""The workloads, in the order ``all`` runs them."""

from __future__ import annotations

from bench.harness import Workload
from bench.workloads import (
    bulk,
    dashboard,
    delay_precision,
    latency,
    limits,
    ops,
    recovery,
    scheduled_load,
    startup,
    throughput,
)

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        limits.WORKLOAD,
        throughput.WORKLOAD,
        bulk.WORKLOAD,
        latency.WORKLOAD,
        delay_precision.WORKLOAD,
        scheduled_load.WORKLOAD,
        recovery.WORKLOAD,
        ops.WORKLOAD,
        dashboard.WORKLOAD,
        startup.WORKLOAD,
    )
}
