"""``startup`` (durable backends): the launch of ``evertask worker`` to its first task done. Before each of N
launches one task is stored (the schema is current: the producer created it); the workload starts the command
as a user would (the ``evertask`` console script beside this interpreter, running ``bench.startup_app:app``),
reads the line its handler writes, then stops it with SIGTERM. Figures: median, min and max seconds from the
launch to that line; the median CPU seconds the worker used until then (the same cost without other processes
competing for the machine: on a loaded machine the wall-clock figures grow, this one much less); the median
graceful shutdown after SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
from pathlib import Path
from time import perf_counter

from bench.harness import Backend, BackendName, Measurement, Workload, fresh_backend, open_storage
from bench.startup_task import First
from evertask import EverTask

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_TIMEOUT = 30.0


def command() -> list[str]:
    """The ``evertask`` console script of this environment, running the workload's app."""
    script = Path(sys.executable).parent / "evertask"
    if not script.exists():
        raise SystemExit(f"no evertask console script at {script}: install evertask[cli] in this environment")
    return [str(script), "worker", "bench.startup_app:app", "--log-level", "WARNING"]


def environment(backend: Backend) -> dict[str, str]:
    env = dict(os.environ, EVERTASK_BENCH_URL=backend.url)
    # An installed package runs from bytecode (pip compiles it): without it every launch would compile
    # evertask's sources first. The uncounted first launch writes the bytecode of this checkout.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if backend.schema is not None and backend.name == "postgres":
        env["EVERTASK_BENCH_SCHEMA"] = backend.schema
    return env


async def launch(backend: Backend) -> tuple[float, float, float]:
    """One launch: seconds to the first task done, the worker's CPU seconds until then, and seconds from
    SIGTERM to exit."""
    started = perf_counter()
    worker = await asyncio.create_subprocess_exec(
        *command(), cwd=ROOT, env=environment(backend), stdout=asyncio.subprocess.PIPE
    )
    assert worker.stdout is not None
    try:
        line = await asyncio.wait_for(worker.stdout.readline(), LAUNCH_TIMEOUT)
        first_done = perf_counter() - started
        word, _, cpu = line.decode().partition(" ")
        if word != "ran":
            raise RuntimeError(f"the worker ended before running its first task (exit {await worker.wait()})")
    finally:
        stopping = perf_counter()
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        await worker.wait()
    return first_done, float(cpu), perf_counter() - stopping


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    first: list[float] = []
    cpu: list[float] = []
    shutdown: list[float] = []
    async with fresh_backend(backend_name) as backend:
        producer = EverTask(open_storage(backend), run_worker=False)
        producer.dispatcher.require_handlers = False  # the handler is the worker's (bench.startup_app)
        async with producer:
            await producer.dispatch(First())
            await launch(backend)  # warm-up, not counted: bytecode written, files in the page cache
            for _ in range(n):
                await producer.dispatch(First())
                took, used, stopped = await launch(backend)
                first.append(took)
                cpu.append(used)
                shutdown.append(stopped)
    figures = {
        "first_task_median_s": round(statistics.median(first), 3),
        "first_task_min_s": round(min(first), 3),
        "first_task_max_s": round(max(first), 3),
        "first_task_cpu_median_s": round(statistics.median(cpu), 3),
        "shutdown_median_s": round(statistics.median(shutdown), 3),
    }
    notes = [
        "launch = the evertask console script as a subprocess; first task stored before it, schema current",
        "one uncounted warm-up launch first (bytecode written, as an installed package has it)",
    ]
    return Measurement({"launches": n}, figures, notes)


WORKLOAD = Workload("startup", run, default_n=10, quick_n=3, durable_only=True)
