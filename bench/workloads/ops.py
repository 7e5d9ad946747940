"""``ops``: what an operator reads and does with N tasks stored (10% failed; see :mod:`.ops_data`).

Timed, each read 20 times after one warm-up (p50 and max in ms):

- ``first_page``: ``query(status=failed, limit=50)``, newest first (``tasks list --status failed``, the API's
  first page); ``next_page``: the page after it, by its cursor; ``deep_page``: the page after 200 pages;
- ``status``: the ``status`` command's reads, ``queue_stats`` and ``list_workers``; ``count_failed``:
  ``count(status=failed)``;
- ``retry``: one bulk ``retry(status=failed)`` of every failed task (N/10), while a claim loop standing in for a
  worker (another storage, as another process would be: claim 16 from ``default``, finish them, again) runs
  beside it; the retry's milliseconds and this process's CPU per task retried, and how long each claim took
  meanwhile (``claim_wait_max_ms`` is the longest a worker waited for a claim during the retry;
  ``claim_idle_p50_ms`` the same claim before the retry started).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from bench.harness import (
    SCHEMA,
    BackendName,
    Measurement,
    Workload,
    fresh_backend,
    open_storage,
    peak_rss_mb,
    process_cpu,
)
from bench.workloads.ops_data import load
from evertask.storage import Outcome, Storage
from evertask.storage.records import PageRequest, TaskFilter
from evertask.task import TaskStatus

REPEAT = 20
DEEP = 200
CLAIM_LIMIT = 16
IDLE_CLAIMS = 1.0
"""Seconds the claim loop runs before the retry starts."""
FAILED = TaskFilter(statuses=frozenset({TaskStatus.failed}))


async def timed(call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """p50 and max milliseconds of ``call`` over :data:`REPEAT` runs after a warm-up."""
    await call()
    samples = []
    for _ in range(REPEAT):
        started = perf_counter()
        await call()
        samples.append((perf_counter() - started) * 1000)
    return {"p50": round(statistics.median(samples), 2), "max": round(max(samples), 2)}


async def deep_cursor(storage: Storage) -> str | None:
    """The cursor after :data:`DEEP` pages of failed tasks (None if there are fewer)."""
    request = PageRequest(FAILED, limit=50)
    for _ in range(DEEP):
        page = await storage.query(request)
        if page.next_cursor is None:
            return None
        request = replace(request, after=page.next_cursor)
    return request.after


async def reads(storage: Storage) -> dict[str, float]:
    """The timed reads of the data set."""
    first = PageRequest(FAILED, limit=50)
    figures: dict[str, float] = {}
    cursor = (await storage.query(first)).next_cursor
    deep = await deep_cursor(storage)
    now = datetime.now(UTC)

    async def status() -> None:
        await storage.queue_stats(now)
        await storage.list_workers()

    measured: dict[str, Callable[[], Awaitable[Any]]] = {
        "first_page": lambda: storage.query(first),
        "next_page": lambda: storage.query(replace(first, after=cursor)),
        "deep_page": lambda: storage.query(replace(first, after=deep)),
        "status": status,
        "count_failed": lambda: storage.count(FAILED),
    }
    for name, call in measured.items():
        for stat, value in (await timed(call)).items():
            figures[f"{name}_{stat}_ms"] = value
    return figures


class ClaimLoop:
    """A worker's claims, timed: claim up to 16 from ``default``, finish them completed, again; a short pause
    when there was nothing to claim (as a worker polls)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.waits: list[float] = []
        self.claimed = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            now = datetime.now(UTC)
            started = perf_counter()
            lease = now + timedelta(seconds=60)
            result = await self.storage.claim(
                owner="bench-worker", queues=["default"], now=now, limit=CLAIM_LIMIT, lease_until=lease
            )
            self.waits.append(perf_counter() - started)
            if result.tasks:
                self.claimed += len(result.tasks)
                done = datetime.now(UTC)
                await self.storage.finish(
                    [Outcome(t.id, "bench-worker", t.fence, TaskStatus.completed, done) for t in result.tasks]
                )
            else:
                await asyncio.sleep(0.01)

    def take(self) -> tuple[list[float], int]:
        """The claim times (seconds) and the tasks claimed so far; both start again."""
        waits, claimed, self.waits, self.claimed = self.waits, self.claimed, [], 0
        return waits, claimed


async def bulk_retry(storage: Storage, worker: Storage) -> dict[str, float]:
    """Retry every failed task while the claim loop runs on ``worker``."""
    loop = ClaimLoop(worker)
    running = asyncio.create_task(loop.run())
    try:
        await asyncio.sleep(IDLE_CLAIMS)
        idle, _ = loop.take()
        cpu = process_cpu()
        started = perf_counter()
        retried = await storage.retry(FAILED, now=datetime.now(UTC), actor="bench")
        seconds = perf_counter() - started
        cpu = process_cpu() - cpu
        during, claimed = loop.take()
    finally:
        loop.stop.set()
        await running
    during_ms = sorted(w * 1000 for w in during)
    return {
        "retried": retried,
        "retry_ms": round(seconds * 1000, 2),
        "retry_per_s": round(retried / seconds) if seconds else 0,
        "retry_cpu_us_per_task": round(cpu * 1e6 / retried) if retried else 0,
        "claims_during_retry": len(during_ms),
        "claim_idle_p50_ms": round(statistics.median(idle) * 1000, 2) if idle else 0.0,
        "claim_wait_p99_ms": round(_p99(during_ms), 2),
        "claim_wait_max_ms": round(during_ms[-1], 2) if during_ms else 0.0,
        "tasks_claimed_during_retry": claimed,
    }


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98] if len(samples) > 1 else 0.0


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    # A schema of its own: a run of another workload on the same server drops and creates SCHEMA meanwhile.
    async with fresh_backend(backend_name, schema=f"{SCHEMA}_ops") as backend:
        storage = open_storage(backend)
        await storage.open()
        worker = storage if backend_name == "memory" else open_storage(backend)
        try:
            if worker is not storage:
                await worker.open()
            started = perf_counter()
            await load(backend, storage, n)
            figures: dict[str, Any] = {"load_s": round(perf_counter() - started, 1)}
            figures |= await reads(storage)
            figures |= await bulk_retry(storage, worker)
            figures["peak_rss_mb"] = peak_rss_mb()
        finally:
            if worker is not storage:
                await worker.close()
            await storage.close()
    notes = ["reads: p50 and max of 20 runs after a warm-up; the retry and the claim loop share this process"]
    return Measurement({"failed": n // 10, "page": 50, "claim_limit": CLAIM_LIMIT}, figures, notes)


WORKLOAD = Workload("ops", run, default_n=1_000_000, quick_n=10_000)
