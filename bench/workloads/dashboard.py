"""``dashboard``: each page's server time and weight with N tasks stored (the ``ops`` data set: 10% failed)
and N/10 executions in the last hour (the overview's throughput and per-type statistics read those).

Each page is requested through the ASGI app in this process (no network: what is timed is the server's work,
from the request to the last byte of the page): once (``first``: the overview's, queues' and recurring pages'
aggregates are read then, see :mod:`evertask.web.dashboard.snapshots`), then 20 times; p50 and max in ms. A
page's weight is its HTML plus every static file it loads (as a first visit downloads them), in KB.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any
from uuid import uuid4

from bench.harness import (
    POSTGRES_URL,
    Backend,
    BackendName,
    Measurement,
    Workload,
    fresh_backend,
    open_storage,
    sqlite_path,
)
from bench.workloads.ops_data import QUEUES, load
from evertask.storage import NewTask, Outcome, Storage
from evertask.storage.records import AttemptOutcome
from evertask.task import TaskStatus

REPEAT = 20
TYPES = ("bench.SendEmail", "bench.Resize", "bench.Charge", "bench.Report", "bench.Sync")
_ATTEMPTS_POSTGRES = """INSERT INTO {schema}.evertask_task_attempts
    (task_id, type, queue, attempt, run, worker, started_at, finished_at, duration, outcome, error_type,
     error_message, traceback)
SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(n), 12, '0'))::uuid,
    (ARRAY['{types}'])[n %% 5 + 1], (ARRAY['{queues}'])[n %% 4 + 1], 1, 0, 'bench-worker',
    f.at - interval '20 milliseconds', f.at, 0.02 + (n %% 50) / 1000.0,
    CASE WHEN n %% 10 = 0 THEN 'failed' ELSE 'completed' END,
    CASE WHEN n %% 10 = 0 THEN 'ValueError' END, CASE WHEN n %% 10 = 0 THEN 'boom' END, NULL
FROM generate_series(1, %(n)s) AS n,
    LATERAL (SELECT %(now)s - (n * %(step)s::float8) * interval '1 microsecond' AS at) AS f
"""
_SQLITE_AT = "strftime('%Y-%m-%d %H:%M:%S', {us} / 1000000, 'unixepoch') || printf('.%06d', {us} % 1000000)"
_ATTEMPTS_SQLITE = """INSERT INTO evertask_task_attempts
    (task_id, type, queue, attempt, run, worker, started_at, finished_at, duration, outcome, error_type,
     error_message, traceback)
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n)
SELECT printf('00000000-0000-7000-9000-%012x', n),
    CASE n % 5 {types} END, CASE n % 4 {queues} END, 1, 0, 'bench-worker',
    {started}, {finished}, 0.02 + (n % 50) / 1000.0,
    CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'completed' END,
    CASE WHEN n % 10 = 0 THEN 'ValueError' END, CASE WHEN n % 10 = 0 THEN 'boom' END, NULL
FROM s"""


def _cases(values: tuple[str, ...]) -> str:
    return " ".join(f"WHEN {i} THEN '{value}'" for i, value in enumerate(values))


async def load_attempts(backend: Backend, n: int) -> None:
    """``n`` executions spread over the last hour, one in ten failed, in five types and the four queues."""
    now = datetime.now(UTC)
    step_us = 3_600_000_000 // max(n, 1)
    if backend.name == "postgres":
        import psycopg

        statement = _ATTEMPTS_POSTGRES.format(
            schema=backend.schema, types="', '".join(TYPES), queues="', '".join(QUEUES)
        )
        async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
            await conn.execute(statement, {"n": n, "now": now, "step": step_us})
            await conn.execute(f"VACUUM ANALYZE {backend.schema}.evertask_task_attempts")
    elif backend.name == "sqlite":
        now_us = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        finished = f"(:now_us - n * {step_us})"
        statement = _ATTEMPTS_SQLITE.format(
            types=_cases(TYPES),
            queues=_cases(QUEUES),
            started=_SQLITE_AT.format(us=f"({finished} - 20000)"),
            finished=_SQLITE_AT.format(us=finished),
        )
        with sqlite3.connect(sqlite_path(backend)) as db:
            db.execute(statement, {"n": n, "now_us": now_us})


async def a_failed_task(storage: Storage) -> str:
    """A task with a history and two executions, as the detail page shows one."""
    now = datetime.now(UTC)
    task_id = uuid4()
    await storage.add([NewTask(task_id, TYPES[0], '{"to": "ann@example.com"}', "detail", now, now)])
    error = "Traceback (most recent call last):\n  ...\nValueError: boom"
    endings: tuple[tuple[TaskStatus, AttemptOutcome], ...] = (
        (TaskStatus.pending, "retrying"),
        (TaskStatus.failed, "failed"),
    )
    for status, ending in endings:
        claim = await storage.claim(owner="bench", queues=["detail"], now=now, limit=1, lease_until=now)
        [record] = [r for r in claim.tasks if r.id == task_id]
        outcome = Outcome(
            record.id,
            "bench",
            record.fence,
            status,
            now,
            error,
            next_run=now,
            ending=ending,
            started_at=now,
            duration=0.02,
            error_type="ValueError",
            error_message="boom",
        )
        await storage.finish([outcome])
    return str(task_id)


async def pages(storage: Storage, detail: str) -> dict[str, float]:
    """The timed pages and their weights."""
    import httpx

    from evertask.web import create_app

    app = create_app(storage)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    figures: dict[str, float] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        failed = (await client.get("/tasks?status=failed")).text
        found = re.search(r'href="(/tasks\?[^"]*cursor=[^"]+)"', failed)
        next_page = found[1].replace("&amp;", "&") if found else "/tasks?status=failed"
        urls = {
            "overview": ("/", {}),
            "overview_live": ("/", {"HX-Request": "true", "HX-Target": "live"}),
            "tasks": ("/tasks", {}),
            "tasks_failed": ("/tasks?status=failed", {}),
            "tasks_failed_next": (next_page, {}),
            "tasks_queue_failed": ("/tasks?status=failed&queue=mail", {}),
            "task_detail": (f"/tasks/{detail}", {}),
            "queues": ("/queues", {}),
            "workers": ("/workers", {}),
            "recurring": ("/recurring", {}),
            "live": ("/live", {}),
        }
        html: list[int] = []
        weights: list[int] = []
        for name, (url, headers) in urls.items():
            started = perf_counter()
            first = await client.get(url, headers=headers)
            figures[f"{name}_first_ms"] = round((perf_counter() - started) * 1000, 2)
            assert first.status_code == 200, (url, first.status_code, first.text[:300])
            samples = []
            for _ in range(REPEAT):
                started = perf_counter()
                response = await client.get(url, headers=headers)
                samples.append((perf_counter() - started) * 1000)
            figures[f"{name}_p50_ms"] = round(statistics.median(samples), 2)
            figures[f"{name}_max_ms"] = round(max(samples), 2)
            if not headers:
                html.append(len(response.content))
                weights.append(await _weight(client, response.text))
        figures["html_max_kb"] = round(max(html) / 1024, 1)
        figures["page_weight_max_kb"] = round(max(weights) / 1024, 1)
    await app.state.dashboard.close()
    await storage.close()
    return figures


async def _weight(client: Any, html: str) -> int:
    assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    sizes = [len((await client.get(asset.replace("&amp;", "&"))).content) for asset in assets]
    return len(html.encode()) + sum(sizes)


async def run(backend_name: BackendName, n: int, quick: bool) -> Measurement:
    async with fresh_backend(backend_name) as backend:
        storage = open_storage(backend)
        await storage.open()
        try:
            started = perf_counter()
            await load(backend, storage, n)
            await load_attempts(backend, n // 10)
            detail = await a_failed_task(storage)
            figures: dict[str, Any] = {"load_s": round(perf_counter() - started, 1)}
        finally:
            await storage.close()
        figures |= await pages(open_storage(backend), detail)
    notes = [
        "server time: each page through the ASGI app in this process: the first request, then p50 and max of 20",
        "weight: the HTML and every static file it loads, as on a first visit (no compression)",
        f"queues: {', '.join(QUEUES)}",
    ]
    return Measurement({"executions_last_hour": n // 10, "page": 50}, figures, notes)


WORKLOAD = Workload("dashboard", run, default_n=1_000_000, quick_n=10_000, durable_only=True)
