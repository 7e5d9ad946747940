"""The SQL schema: migrations (idempotent, concurrent, in a schema), agreement with the query-side tables,
and SQL Server statements that at least compile."""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.dialects import mssql
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import CreateIndex, CreateTable

from evertask.errors import StorageSchemaError
from evertask.storage.sql import SqliteStorage, SqlStorage, upgrade
from evertask.storage.sql.claim import CLAIM_BY_SEQ, NEXT_DUE, SELECT_DUE, UPDATE_RETURNING
from evertask.storage.sql.database import Database
from evertask.storage.sql.keys import INSERT_TASKS
from evertask.storage.sql.leases import SELECT_RUNNING
from evertask.storage.sql.migrate import MIGRATIONS
from evertask.storage.sql.tables import CLAIM_QUEUE_SQL, INSERT_HISTORY, UPDATE_BY_ID, VERSION_TABLE, metadata
from evertask.task import TaskStatus
from tests.conftest import execute
from tests.contract.conftest import Backend
from tests.contract.helpers import add_one

SQL = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mysql", marks=pytest.mark.mysql)]


def mssql_sql(statement: Any) -> str:
    return str(statement.compile(dialect=mssql.dialect()))


def test_sql_server_compiles_the_claim_finish_and_add_statements() -> None:
    for one_queue in (True, False):
        claim = mssql_sql(SELECT_DUE[one_queue])
        assert "WITH (UPDLOCK, ROWLOCK, READPAST)" in claim
        assert "ORDER BY evertask_tasks.priority DESC" in claim
        assert "OUTPUT" in mssql_sql(UPDATE_RETURNING[one_queue])
    assert "UPDATE evertask_tasks SET" in mssql_sql(CLAIM_BY_SEQ)
    assert "min(evertask_tasks.scheduled_at)" in mssql_sql(NEXT_DUE)
    assert "WITH (UPDLOCK, ROWLOCK)" in mssql_sql(SELECT_RUNNING)
    assert "UPDATE evertask_tasks SET" in mssql_sql(UPDATE_BY_ID.values(status=TaskStatus.completed))
    assert "INSERT INTO evertask_tasks" in mssql_sql(INSERT_TASKS)
    assert "INSERT INTO evertask_task_history" in mssql_sql(INSERT_HISTORY)
    for table in metadata.sorted_tables:
        assert "CREATE TABLE" in mssql_sql(CreateTable(table))
        for index in table.indexes:
            assert "CREATE" in mssql_sql(CreateIndex(index))


def test_the_migration_generates_claim_queue_as_the_tables_module_reads_it() -> None:
    spec = importlib.util.spec_from_file_location("initial", MIGRATIONS / "versions" / "0001_initial.py")
    assert spec is not None
    assert spec.loader is not None
    initial = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(initial)

    assert initial._CLAIM_QUEUE == CLAIM_QUEUE_SQL


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_migrated_schema_agrees_with_the_tables_module(backend: Backend, storage: SqlStorage) -> None:
    def compare(conn: Connection) -> list[Any]:
        if backend.schema:
            conn.exec_driver_sql(f'SET search_path TO "{backend.schema}"')
        opts = {"version_table": VERSION_TABLE, "compare_type": True}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), metadata))

    db = Database(backend.url, schema=backend.schema)
    await db.start()
    try:
        assert await db.read(compare) == []
    finally:
        await db.stop()


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_upgrade_twice_changes_nothing(backend: Backend, storage: SqlStorage) -> None:
    task_id = await add_one(storage)

    await upgrade(backend.url, schema=backend.schema)
    await upgrade(backend.url, schema=backend.schema)

    assert await storage.get(task_id) is not None


async def test_auto_migrate_off_refuses_a_database_without_tables(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "empty.db", auto_migrate=False)

    with pytest.raises(StorageSchemaError, match="evertask db upgrade"):
        await storage.open()

    await upgrade(f"sqlite:///{tmp_path / 'empty.db'}")
    await storage.open()
    await storage.close()


async def catalogue(postgres_url: str, prefix: str, query: str) -> list[Any]:
    """The rows ``query`` (with ``:s``, the schema) finds after a storage in a new schema stored a task."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    storage = SqlStorage(postgres_url, schema=schema)
    try:
        await storage.open()
        await add_one(storage)
        engine = create_async_engine(postgres_url)
        async with engine.connect() as conn:
            rows = list(await conn.execute(text(query), {"s": schema}))
        await engine.dispose()
        return rows
    finally:
        await storage.close()
        await execute(postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
async def test_schema_option_creates_the_schema_and_keeps_every_table_in_it(postgres_url: str) -> None:
    tables = await catalogue(
        postgres_url, "evertask_schema", "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
    )
    assert {row[0] for row in tables} == {*metadata.tables, VERSION_TABLE}


@pytest.mark.postgres
async def test_processes_upgrading_one_database_at_once_all_succeed(postgres_url: str) -> None:
    schema = f"evertask_race_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.gather(*(upgrade(postgres_url, schema=schema) for _ in range(4)))
        storage = SqlStorage(postgres_url, schema=schema, auto_migrate=False)
        await storage.open()
        await storage.close()
    finally:
        await execute(postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
async def test_postgres_indexes_on_waiting_running_and_keyed_tasks_are_partial(postgres_url: str) -> None:
    # Every claim and finish inserts an entry into each index its new row belongs to: finished tasks must not
    # belong to the claim, due, lease and key indexes (migration 0004).
    rows = await catalogue(
        postgres_url, "evertask_partial", "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"
    )
    definitions = {row[0]: row[1] for row in rows}
    assert "WHERE (claim_queue IS NOT NULL)" in definitions["ix_evertask_tasks_claim"]
    assert "WHERE (claim_queue IS NOT NULL)" in definitions["ix_evertask_tasks_due"]
    assert "'in_progress'" in definitions["ix_evertask_tasks_lease"]
    assert "WHERE (key IS NOT NULL)" in definitions["ux_evertask_tasks_key"]
    assert "WHERE" not in definitions["ux_evertask_tasks_id"]
