"""What only the SQL backends promise: durability, clear connection errors, retries, URL handling."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import traceback
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from evertask.errors import ConfigurationError, StorageError, StorageUnavailableError
from evertask.storage import MemoryStorage, Storage
from evertask.storage.sql import SqliteStorage, SqlStorage, storage_from_url
from evertask.storage.sql.attempts import Progress
from evertask.storage.sql.engine import driver_url
from evertask.task import TaskStatus
from tests.conftest import PostgresTarget, execute
from tests.contract.conftest import Backend
from tests.contract.helpers import T0, add_one, claim_one, new_task, outcome

SQL = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mysql", marks=pytest.mark.mysql)]


async def test_sqlite_tasks_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    first = SqliteStorage(path)
    await first.open()
    task_id = await add_one(first, key="k")
    await first.finish([outcome(await claim_one(first), TaskStatus.completed)])
    before = await first.get(task_id)
    await first.close()

    reopened = SqliteStorage(path)
    await reopened.open()
    try:
        assert await reopened.get(task_id) == before
        assert len(await reopened.history(task_id)) == 3
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://evertask:s3cret-pw@127.0.0.1:1/tasks",
        "mysql://evertask:s3cret-pw@127.0.0.1:1/tasks",
    ],
)
async def test_unreachable_server_is_named_without_its_password(url: str) -> None:
    storage = SqlStorage(url)

    with pytest.raises(StorageUnavailableError) as caught:
        await storage.open()

    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "evertask:***@" in message
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in caught.value.url
    await storage.close()


async def test_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "no-such-directory" / "tasks.db")

    with pytest.raises(StorageUnavailableError, match="no-such-directory"):
        await storage.open()


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_naive_datetime_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="naive"):
        await storage.add([new_task(scheduled_at=datetime(2031, 1, 1))])


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_times_in_other_zones_are_stored_as_the_same_instant_in_utc(storage: Storage) -> None:
    task_id = await add_one(storage, created_at=T0.astimezone(timezone(timedelta(hours=-5))))

    record = await storage.get(task_id)

    assert record is not None
    assert record.created_at == T0
    assert record.created_at.tzinfo is UTC


@pytest.mark.postgres
async def test_lost_connections_are_replaced_and_the_call_retried(postgres_target: PostgresTarget) -> None:
    app_name = f"evertask-test-{uuid.uuid4().hex[:8]}"
    storage = SqlStorage(f"{postgres_target.url}?application_name={app_name}", schema=postgres_target.schema)
    await storage.open()
    try:
        task_id = await add_one(storage)
        await execute(
            postgres_target.url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app_name}'",
        )

        assert await storage.get(task_id) is not None
        record = await claim_one(storage, queues=("default",))
        assert await storage.finish([outcome(record, TaskStatus.completed)]) == [True]
    finally:
        await storage.close()


@pytest.mark.postgres
async def test_a_hot_statement_retried_after_close_is_refused(postgres_target: PostgresTarget) -> None:
    # Database retries with the runner it began with: after close() that runner must not open a new connection.
    storage = SqlStorage(postgres_target.url, schema=postgres_target.schema)
    await storage.open()
    engines = storage._db._engines
    assert engines is not None
    direct = engines.direct
    assert direct is not None
    await storage.close()

    async def select_one(conn: object) -> None:
        raise AssertionError("a statement ran after close()")

    with pytest.raises(StorageError, match="closed"):
        await direct(select_one, progress=Progress())


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///tasks.db", "sqlite+pysqlite"),
        ("sqlite+aiosqlite:///tasks.db", "sqlite+pysqlite"),
        ("postgresql://localhost/test", "postgresql+psycopg"),
        ("postgres://localhost/test", "postgresql+psycopg"),
        ("mysql://root@localhost/test", "mysql+asyncmy"),
        ("mariadb://root@localhost/test", "mariadb+asyncmy"),
        ("postgresql+asyncpg://localhost/test", "postgresql+asyncpg"),
    ],
)
def test_urls_get_the_driver_evertask_runs_them_on(given: str, driver: str) -> None:
    assert driver_url(given).drivername == driver


def test_storage_from_url_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(storage_from_url("memory://"), MemoryStorage)
    sqlite = storage_from_url(f"sqlite:///{tmp_path / 'tasks.db'}")
    assert isinstance(sqlite, SqlStorage)
    assert sqlite.url.startswith("sqlite+pysqlite:///")
    assert "***" in SqlStorage("postgresql://u:pw@db/x").url


@pytest.mark.parametrize(
    "build",
    [
        lambda: SqlStorage("sqlite:///tasks.db", schema="evertask"),
        lambda: SqlStorage("sqlite://"),
        lambda: storage_from_url("memory://", schema="evertask"),
    ],
    ids=["sqlite-with-schema", "sqlite-in-memory", "memory-with-schema"],
)
def test_impossible_configurations_are_refused(build: object) -> None:
    with pytest.raises(ConfigurationError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_many_storages_share_one_database_without_errors(backend: Backend, storage: Storage) -> None:
    others = [backend.build() for _ in range(3)]
    for other in others:
        await other.open()
    try:
        everyone = [storage, *others]
        await asyncio.gather(*(s.add([new_task() for _ in range(25)]) for s in everyone))
        batches = await asyncio.gather(
            *(
                s.claim(owner=f"w{i}", queues=["default"], now=T0, limit=30, lease_until=T0)
                for i, s in enumerate(everyone)
            )
        )
        claimed = [r.id for batch in batches for r in batch.tasks]
        assert len(claimed) == len(set(claimed)) == 100
    finally:
        for other in others:
            await other.close()


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_a_failed_write_carries_no_payload_values_in_its_error_or_its_causes(
    backend: Backend, storage: Storage
) -> None:
    secret = "SECRET-4711"
    fields: dict[str, Any] = {"key": "keyed: the SQLAlchemy path", "payload": json.dumps({"iban": secret})}
    if backend.name == "sqlite":  # SQLite stores over-long text: make the insert fail on purpose
        with closing(sqlite3.connect(backend.url.removeprefix("sqlite:///"))) as conn:
            conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON evertask_tasks BEGIN SELECT nope(); END")
    else:
        fields["queue"] = "q" * 300  # longer than the column: refused by the server

    with pytest.raises(StorageError) as caught:
        await storage.add([new_task(**fields)])

    assert secret not in "".join(traceback.format_exception(caught.value))  # a logged traceback shows all this
