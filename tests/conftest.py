"""Fixtures for the database servers the tests use: PostgreSQL and MariaDB/MySQL on their loopback ports.

``postgres_url`` / ``mysql_url`` check that the server answers; if it does not, the test is skipped with a
message saying how to start it, or fails under ``CI=true`` (where a missing server is a broken machine, not a
choice). Each session works in its own PostgreSQL schema and its own MySQL database, so concurrent runs on one
server do not meet; ``clean_postgres`` / ``clean_mysql`` empty evertask's tables before each test.
Override the servers with ``EVERTASK_TEST_POSTGRES_URL`` and ``EVERTASK_TEST_MYSQL_URL``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

import pytest

T = TypeVar("T")

POSTGRES_URL = os.environ.get("EVERTASK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("EVERTASK_TEST_MYSQL_URL", "mysql+asyncmy://root@127.0.0.1:3306/test")
HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "MariaDB/MySQL": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}
TABLES = (
    "evertask_task_history",
    "evertask_task_attempts",
    "evertask_tasks",
    "evertask_rate_buckets",
    "evertask_queues",
    "evertask_workers",
)


class PostgresTarget(NamedTuple):
    """A PostgreSQL database and the schema this session owns in it."""

    url: str
    schema: str


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end from synchronous code, on a loop of its own in another thread (so that it
    never meets the loop pytest-asyncio runs the tests on)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def execute(url: str, *statements: str) -> None:
    """Run SQL statements on ``url`` over one short-lived connection, committing at the end."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def require_server(name: str, url: str) -> None:
    """Skip (or, under CI=true, fail) unless the server at ``url`` answers."""
    try:
        run_async(execute(url, "SELECT 1"))
    except Exception as exc:
        from sqlalchemy.engine import make_url

        shown = make_url(url).render_as_string(hide_password=True)
        message = f"{name} at {shown} does not answer ({type(exc).__name__}); start it with: {HOW_TO_START[name]}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)


def session_name() -> str:
    """A schema/database name no other test session uses."""
    return f"evertask_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server's URL (async driver), once it is known to answer."""
    require_server("PostgreSQL", POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_target(postgres_url: str) -> Iterator[PostgresTarget]:
    """A schema of this session's own, with evertask's tables, dropped at the end of the session."""
    from evertask.storage.sql import upgrade

    schema = session_name()
    run_async(upgrade(postgres_url, schema=schema))
    yield PostgresTarget(postgres_url, schema)
    run_async(execute(postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
async def clean_postgres(postgres_target: PostgresTarget) -> PostgresTarget:
    """The session's PostgreSQL schema with evertask's tables emptied."""
    await execute(postgres_target.url, *(f'DELETE FROM "{postgres_target.schema}".{table}' for table in TABLES))
    return postgres_target


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """The URL of a MySQL/MariaDB database of this session's own, with evertask's tables, dropped at the end."""
    from sqlalchemy.engine import make_url

    from evertask.storage.sql import upgrade

    require_server("MariaDB/MySQL", MYSQL_URL)
    database = session_name()
    run_async(execute(MYSQL_URL, f"CREATE DATABASE {database}"))
    url = make_url(MYSQL_URL).set(database=database).render_as_string(hide_password=False)
    try:
        run_async(upgrade(url))
        yield url
    finally:
        run_async(execute(MYSQL_URL, f"DROP DATABASE IF EXISTS {database}"))


@pytest.fixture
async def clean_mysql(mysql_url: str) -> str:
    """The session's MySQL database with evertask's tables emptied."""
    await execute(mysql_url, *(f"DELETE FROM {table}" for table in TABLES))
    return mysql_url
