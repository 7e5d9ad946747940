"""Engines per dialect, and how one transaction body reaches a connection.

Transaction bodies are plain functions over a SQLAlchemy ``Connection``. On the servers they run through the
async driver (psycopg 3, asyncmy) with ``AsyncConnection.run_sync``, so each statement is one awaited round trip.
SQLite has no network to wait on but a file lock: its bodies run whole with the standard ``sqlite3`` driver,
not statement by statement through aiosqlite (measured: twice the claim throughput). Writes go through one
connection (:class:`~.sqlite_writer.SqliteWriter`: on the loop while the lock is free, else on its thread);
reads use a pool of reader threads beside it (WAL lets them run during a write).
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

from evertask.errors import ConfigurationError
from evertask.storage.sql.attempts import Progress, Runner, Work, run_transaction
from evertask.storage.sql.sqlite_writer import SqliteWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from evertask.storage.sql.direct_pool import DirectRunner

T = TypeVar("T")

_DRIVERS = {
    "sqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+asyncmy",
    "mariadb": "mariadb+asyncmy",
}
DEFAULT_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite call waits for another process's write lock before it raises StorageBusyError."""
# Statement parameters carry task payloads (personal data): kept out of error messages, tracebacks and echo logs.
_ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}


def driver_url(url: str | URL) -> URL:
    """``url`` with the driver evertask runs it on: ``postgresql://`` -> psycopg, ``mysql://`` /
    ``mariadb://`` -> asyncmy, any ``sqlite`` URL (``sqlite+aiosqlite`` included) -> the standard ``sqlite3``.
    A server URL naming its driver is kept as it is."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" or ("+" not in parsed.drivername and backend in _DRIVERS):
        parsed = parsed.set(drivername=_DRIVERS["postgres" if backend == "postgres" else backend])
    return parsed


def sqlite_busy_timeout(url: URL, given: float | None) -> tuple[URL, float]:
    """The bound on waiting for SQLite's lock, from ``given`` or the URL's ``?busy_timeout=SECONDS`` (else
    :data:`DEFAULT_BUSY_TIMEOUT`), and the URL without that option, which is evertask's, not the driver's."""
    query = url.query.get("busy_timeout")
    if query is not None and given is not None:
        raise ConfigurationError(f"{shown(url)}: give busy_timeout once, in the URL or as an argument")
    value: object = given if query is None else query
    if value is None:
        return url, DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise ConfigurationError(f"busy_timeout must be a number of seconds, 0 or more (got {value!r})")
    return url.difference_update_query(["busy_timeout"]), seconds


def shown(url: URL) -> str:
    """The URL as it may appear in messages and logs: password hidden."""
    return url.render_as_string(hide_password=True)


class _AsyncRunner:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __call__(self, work: Work[T], *, transaction: bool, progress: Progress) -> T:
        async with self._engine.connect() as conn:
            return await conn.run_sync(run_transaction, work, transaction, progress)


class _ThreadRunner:
    def __init__(self, engine: Engine, executor: ThreadPoolExecutor) -> None:
        self._engine = engine
        self._executor = executor

    async def __call__(self, work: Work[T], *, transaction: bool, progress: Progress) -> T:
        attempt = functools.partial(self._attempt, work, transaction, progress)
        return await asyncio.get_running_loop().run_in_executor(self._executor, attempt)

    def _attempt(self, work: Work[T], transaction: bool, progress: Progress) -> T:
        with self._engine.connect() as conn:
            return run_transaction(conn, work, transaction, progress)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._engine.dispose)
        self._executor.shutdown(wait=False)


@dataclass(frozen=True, slots=True)
class Engines:
    """The runners of one database (writes, reads) and how to close them; ``direct`` where the driver's own
    connection serves the hot statements (PostgreSQL), ``sqlite`` where they run on the bare ``sqlite3``
    writing connection."""

    writer: Runner
    reader: Runner
    close: Callable[[], Awaitable[None]]
    direct: DirectRunner | None = None
    sqlite: SqliteWriter | None = None


def create_engines(url: URL, *, schema: str | None, pool_size: int, echo: bool, busy_timeout: float) -> Engines:
    """Engines for ``url``'s dialect (``schema`` mapped in for every statement; ``busy_timeout``: SQLite's
    default wait for another process's lock, in seconds)."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engines(url, pool_size=pool_size, echo=echo, busy_timeout=busy_timeout)
    # Imported here: SQLAlchemy's asyncio extension brings its ORM along, which SQLite never needs.
    from sqlalchemy.ext.asyncio import create_async_engine

    options: dict[str, Any] = _ENGINE_OPTIONS | {"pool_size": pool_size, "max_overflow": pool_size, "echo": echo}
    if url.get_backend_name() in ("mysql", "mariadb"):
        # READ COMMITTED: no gap locks, so concurrent adds and SKIP LOCKED claims do not deadlock each other;
        # recycling beats the server's wait_timeout to idle connections.
        options |= {"isolation_level": "READ COMMITTED", "pool_recycle": 3600}
    base = create_async_engine(url, **options)
    engine = base.execution_options(schema_translate_map={None: schema}) if schema else base
    reader = engine
    direct = None
    if url.get_backend_name() == "postgresql":
        # psycopg sends BEGIN as a round trip of its own; a single-statement read needs no transaction.
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        if url.get_driver_name() == "psycopg":
            # Imported here, not above: it imports psycopg, which only the postgres extra installs.
            from evertask.storage.sql.direct_pool import DirectRunner

            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            direct = DirectRunner(conninfo, base.dialect, pool_size)

    async def close() -> None:
        if direct is not None:
            await direct.close()
        await base.dispose()

    return Engines(_AsyncRunner(engine), _AsyncRunner(reader), close, direct)


def _sqlite_engines(url: URL, *, pool_size: int, echo: bool, busy_timeout: float) -> Engines:
    connect_args = {"check_same_thread": False}  # pooled connections move between the reader threads
    options = _ENGINE_OPTIONS | {"connect_args": connect_args, "echo": echo}
    writer_engine = create_engine(url, pool_size=1, max_overflow=0, **options)
    reader_engine = create_engine(url, pool_size=pool_size, isolation_level="AUTOCOMMIT", **options)
    busy_ms = round(busy_timeout * 1000)
    _sqlite_writer(writer_engine, busy_ms)
    _sqlite_reader(reader_engine, busy_ms)
    writer = SqliteWriter(
        writer_engine, ThreadPoolExecutor(1, thread_name_prefix="evertask-sqlite-writer"), busy_timeout
    )
    reader = _ThreadRunner(reader_engine, ThreadPoolExecutor(pool_size, thread_name_prefix="evertask-sqlite-reader"))

    async def close() -> None:
        await writer.close()
        await reader.close()

    return Engines(writer, reader, close, sqlite=writer)


def _sqlite_writer(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, decides where transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={busy_ms}"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def begin(conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that upgrades to writing fails at once with
        # "database is locked" when another process wrote in between, without waiting on busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_reader(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        for pragma in (f"busy_timeout={busy_ms}", "query_only=1"):
            dbapi_connection.execute(f"PRAGMA {pragma}")
