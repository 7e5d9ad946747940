"""What every workload shares: backends (fresh for each run, removed after), statistics, the JSON line."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal

from evertask.storage import MemoryStorage, Storage

BackendName = Literal["memory", "sqlite", "postgres", "mysql"]
BACKENDS: Final[tuple[BackendName, ...]] = ("memory", "sqlite", "postgres", "mysql")
DURABLE: Final[tuple[BackendName, ...]] = ("sqlite", "postgres", "mysql")
POSTGRES_URL: Final = "postgresql://localhost/test"
MYSQL_SERVER: Final = "mysql://root@127.0.0.1:3306"
SCHEMA: Final = "evertask_bench"
"""The PostgreSQL schema (MySQL database) a run owns: dropped and created again for each run, dropped after."""

_PACKAGES: Final[dict[str, tuple[str, ...]]] = {
    "memory": ("evertask", "pydantic"),
    "sqlite": ("evertask", "pydantic", "sqlalchemy", "aiosqlite"),
    "postgres": ("evertask", "pydantic", "sqlalchemy", "psycopg"),
    "mysql": ("evertask", "pydantic", "sqlalchemy", "asyncmy"),
}


@dataclass(frozen=True, slots=True)
class Backend:
    """Where one run stores its tasks: enough to open the same storage again in another process."""

    name: BackendName
    url: str
    schema: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Backend:
        return cls(**json.loads(text))


@asynccontextmanager
async def fresh_backend(name: BackendName, schema: str = SCHEMA) -> AsyncIterator[Backend]:
    """An empty place to store tasks: a new SQLite file, a new PostgreSQL schema or MySQL database."""
    if name == "memory":
        yield Backend(name, "memory://")
    elif name == "sqlite":
        folder = tempfile.mkdtemp(prefix="evertask-bench-")
        try:
            yield Backend(name, f"sqlite:///{folder}/bench.db")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    elif name == "postgres":
        import psycopg

        async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await conn.execute(f"CREATE SCHEMA {schema}")
            # Start from a clean WAL: else the previous run's checkpoint lands in the middle of this one.
            await conn.execute("CHECKPOINT")
            try:
                yield Backend(name, POSTGRES_URL, schema)
            finally:
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    else:
        await _mysql(f"DROP DATABASE IF EXISTS {schema}", f"CREATE DATABASE {schema}")
        try:
            yield Backend(name, f"{MYSQL_SERVER}/{schema}", schema)
        finally:
            await _mysql(f"DROP DATABASE IF EXISTS {schema}")


async def _mysql(*statements: str) -> str:
    """Run statements on the MySQL server (no database selected); returns the last one's first value."""
    import asyncmy

    conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    try:
        async with conn.cursor() as cursor:
            for statement in statements:
                await cursor.execute(statement)
            row = await cursor.fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else ""


def open_storage(backend: Backend) -> Storage:
    """The evertask storage for ``backend``, not yet opened (the app opens it)."""
    if backend.name == "memory":
        return MemoryStorage()
    from evertask.storage.sql import SqlStorage, storage_from_url

    if backend.name == "postgres":
        return SqlStorage(backend.url, schema=backend.schema)
    return storage_from_url(backend.url)


def sqlite_path(backend: Backend) -> Path:
    """The database file of a SQLite backend."""
    return Path(backend.url.removeprefix("sqlite:///"))


async def unavailable(name: BackendName) -> str | None:
    """Why ``name`` cannot be benchmarked here, or None if it can."""
    if name == "memory":
        return None
    try:
        import evertask.storage.sql  # noqa: F401
    except ImportError as exc:
        return f"evertask.storage.sql is not importable ({exc})"
    if name == "sqlite":
        return None
    try:
        async with fresh_backend(name, schema=f"{SCHEMA}_probe"):
            return None
    except Exception as exc:
        return f"the {name} server does not answer ({type(exc).__name__}: {exc})"


# -- statistics -------------------------------------------------------------------------------------------


def distribution_ms(samples_s: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99/max in milliseconds, and the 101-point quantile curve (min, p1..p99, max) for plots."""
    if len(samples_s) < 2:
        raise ValueError(f"need at least two samples, got {len(samples_s)}")
    ms = sorted(s * 1000 for s in samples_s)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(ms[-1], 3),
        "curve_ms": [round(x, 3) for x in (ms[0], *cuts, ms[-1])],
    }


def ratio(better: float, worse: float) -> float:
    """``better / worse``: how close a figure comes to its ceiling, 1.0 meaning as good (0 if undefined)."""
    return round(better / worse, 3) if worse > 0 else 0.0


def peak_rss_mb() -> float:
    """The largest resident set this process has had, in MiB (each workload runs in its own process)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- the result line --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Measurement:
    """What a workload measured: the settings it used and the figures it got."""

    parameters: dict[str, Any]
    figures: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def machine() -> dict[str, Any]:
    """The machine line: cores, CPU model, Python."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


_SERVER_PROCESS = {"postgres": "postgres", "mysql": "mariadbd"}


def process_cpu() -> float:
    """CPU seconds this process has used so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu(name: BackendName) -> float | None:
    """CPU seconds used so far by the database server's processes on this machine (all of them: other work on
    the same server counts too), or None for an embedded backend or where ``/proc`` does not show them."""
    command = _SERVER_PROCESS.get(name)
    if command is None or not Path("/proc").is_dir():
        return None
    ticks, found = 0, False
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or (entry / "comm").read_text().strip() != command:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile, or is not ours to read
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


def cpu_ticks() -> tuple[int, int] | None:
    """(stolen, total) CPU ticks of the whole machine so far (``/proc/stat``), or None where there is none.

    Stolen ticks are time the hypervisor gave this virtual machine's CPUs to someone else: on a shared host a
    workload that lost 30% of its CPU this way measures about 30% slower, whatever evertask does.
    """
    stat = Path("/proc/stat")
    if not stat.exists():
        return None
    fields = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already counted in user)
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def stolen_pct(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time stolen between two :func:`cpu_ticks` readings, in percent."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)


async def server_version(name: BackendName) -> str | None:
    """The database server's version, for server backends."""
    if name == "postgres":
        import psycopg

        async with await psycopg.AsyncConnection.connect(POSTGRES_URL) as conn:
            row = await (await conn.execute("SHOW server_version")).fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"
    if name == "mysql":
        return f"MySQL {await _mysql('SELECT VERSION()')}"
    return None


def versions(name: BackendName, server: str | None) -> dict[str, str]:
    """Versions of what was measured: the packages on the path of a task, and the database."""
    found = {"python": platform.python_version()}
    for package in _PACKAGES[name]:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    if name == "sqlite":
        found["sqlite"] = sqlite3.sqlite_version
    if server is not None:
        found["server"] = server
    return found


def emit(
    workload: str,
    backend: BackendName,
    n: int,
    measurement: Measurement,
    server: str | None,
    stolen: float | None = None,
) -> None:
    """Print the JSON line on stdout and a readable summary on stderr (``stolen``: see :func:`stolen_pct`)."""
    line = {
        "workload": workload,
        "backend": backend,
        "n": n,
        "parameters": measurement.parameters,
        "figures": measurement.figures,
        "notes": measurement.notes,
        "versions": versions(backend, server),
        "machine": machine() | {"cpu_stolen_pct": stolen},
    }
    print(json.dumps(line), flush=True)
    print(summary(line), file=sys.stderr, flush=True)


def summary(line: dict[str, Any]) -> str:
    """The result in a few readable lines (curves left out)."""
    params = ", ".join(f"{k}={v}" for k, v in line["parameters"].items())
    rows = [f"{line['workload']} on {line['backend']} (n={line['n']}; {params})"]
    for key, value in line["figures"].items():
        if not isinstance(value, list):
            rows.append(f"  {key:<34} {value:>14,}" if isinstance(value, int | float) else f"  {key:<34} {value}")
    rows.extend(f"  note: {note}" for note in line["notes"])
    if line["machine"].get("cpu_stolen_pct"):
        rows.append(f"  machine: {line['machine']['cpu_stolen_pct']}% of the CPU time was stolen by the hypervisor")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Workload:
    """One benchmark: ``run(backend, n, quick)`` measures on a fresh backend of that name."""

    name: str
    run: Callable[[BackendName, int, bool], Awaitable[Measurement]]
    default_n: int
    quick_n: int
    durable_only: bool = False
