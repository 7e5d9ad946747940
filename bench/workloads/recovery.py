"""``recovery`` (durable backends): N tasks stored, a worker process killed with SIGKILL when about half have
run, a fresh worker process started; figures: tasks lost (must be 0), tasks run twice, and the time from the
restart until storage shows all N completed. The workers use a 2 s lease and a 0.5 s heartbeat so that the
dead worker's claims come back quickly; their handler appends each task id to a file opened in append mode."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from time import perf_counter

from bench.ceilings import ceiling_for
from bench.harness import Backend, BackendName, Measurement, Workload, fresh_backend, open_storage, ratio
from bench.noop import Noop, make_app
from bench.recovery_worker import HEARTBEAT, LEASE
from bench.workloads.bulk import BATCH
from bench.workloads.throughput import PRODUCERS
from evertask import TaskStatus

TIMEOUT = 300.0
POLL = 0.05


async def _start_worker(backend: Backend, log: Path) -> asyncio.subprocess.Process:
    command = (sys.executable, "-m", "bench.recovery_worker", backend.to_json(), str(log))
    return await asyncio.create_subprocess_exec(*command)


def _ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _lines(log: Path) -> int:
    """How many ids the log holds, without reading it: each line is a UUID and a newline."""
    return log.stat().st_size // 37 if log.exists() else 0


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    async with fresh_backend(backend_name) as backend:
        storage = open_storage(backend)
        async with make_app(storage, run_worker=False) as client:
            ids = [
                str(task_id)
                for first in range(0, n, BATCH)
                for task_id in await client.dispatch_many([Noop(n=i) for i in range(first, min(first + BATCH, n))])
            ]
        with tempfile.TemporaryDirectory(prefix="evertask-recovery-") as folder:
            log = Path(folder) / "ran.log"
            first = await _start_worker(backend, log)
            deadline = perf_counter() + TIMEOUT
            while _lines(log) < n // 2 and first.returncode is None and perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.002)  # another process writes the log: nothing to wait on but the file
            first.send_signal(signal.SIGKILL)
            await first.wait()
            ran_before_kill = _lines(log)
            restarted = perf_counter()
            second = await _start_worker(backend, log)
            try:
                await storage.open()
                try:
                    while (await storage.count_by_status()).get(TaskStatus.completed, 0) < n:
                        if perf_counter() - restarted > TIMEOUT:
                            raise TimeoutError(f"not all {n} tasks completed {TIMEOUT:.0f} s after the restart")
                        await asyncio.sleep(POLL)
                    drained = perf_counter() - restarted
                finally:
                    await storage.close()
            finally:
                second.terminate()
                await second.wait()
            runs = Counter(_ran(log))
    figures: dict[str, object] = {
        "lost": sum(1 for task_id in ids if task_id not in runs),
        "duplicated": sum(1 for count in runs.values() if count > 1),
        "ran_before_kill": ran_before_kill,
        "drain_s": round(drained, 3),
    }
    notes = [f"workers use lease={LEASE.total_seconds():g}s, heartbeat={HEARTBEAT:g}s (not the defaults)"]
    ceiling = ceiling_for(backend_name)
    if ceiling is not None:
        # A claim renewed at the last heartbeat before the kill expires a lease later: at the earliest
        # lease - heartbeat after the kill. Then the rest runs, at best at the ceiling's rate.
        expiry = LEASE.total_seconds() - HEARTBEAT
        floor = expiry + (n - ran_before_kill) / await ceiling.lifecycle_rate(n, PRODUCERS)
        figures |= {"limit_drain_s": round(floor, 3), "ratio_to_limit": ratio(floor, drained)}
        notes += [f"limit: {ceiling.what}", "limit: lease - heartbeat, then the tasks left at the lifecycle ceiling"]
    return Measurement({"lease_s": LEASE.total_seconds(), "heartbeat_s": HEARTBEAT, "kill_at": n // 2}, figures, notes)


WORKLOAD = Workload("recovery", run, default_n=5_000, quick_n=500, durable_only=True)
