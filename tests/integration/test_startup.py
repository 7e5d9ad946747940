"""A worker's start-up on a current schema: one read of the version table, no write, and none of the modules
only other paths need (alembic, SQLAlchemy's asyncio extension and ORM, other databases' dialects)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from evertask.storage.sql import SqliteStorage, SqlStorage, upgrade
from evertask.storage.sql.database import Database
from evertask.storage.sql.migrate import MIGRATIONS, current_revision, head_revision
from evertask.storage.sql.tables import VERSION_TABLE
from tests.conftest import PostgresTarget

ROOT = Path(__file__).resolve().parents[2]


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def alembic_revision(connection: Connection, schema: str | None) -> str | None:
    opts = {"version_table": VERSION_TABLE, "version_table_schema": schema}
    return MigrationContext.configure(connection, opts=opts).get_current_revision()


async def revisions(url: str, schema: str | None) -> tuple[str | None, str | None]:
    db = Database(url, schema=schema)
    await db.start()
    try:
        ours = await db.read(lambda conn: current_revision(conn, schema))
        theirs = await db.read(lambda conn: alembic_revision(conn, schema))
    finally:
        await db.stop()
    return ours, theirs


async def test_the_revision_read_without_alembic_is_alembics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    assert await revisions(url, None) == (None, None)
    await upgrade(url)
    assert await revisions(url, None) == (head_revision(), head_revision())


@pytest.mark.postgres
async def test_the_revision_read_without_alembic_is_alembics_on_postgres(postgres_target: PostgresTarget) -> None:
    head = head_revision()
    assert await revisions(postgres_target.url, postgres_target.schema) == (head, head)
    assert await revisions(postgres_target.url, "evertask_no_such_schema") == (None, None)


async def test_opening_a_current_sqlite_database_takes_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    await upgrade(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing, for longer than this storage would wait
    try:
        storage = SqliteStorage(str(path), busy_timeout=0.2)
        await storage.open()
        await storage.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def imported_after_open(code: str) -> set[str]:
    """The modules of interest that a fresh interpreter has imported after running ``code``."""
    probe = (
        "import asyncio, json, sys\n"
        f"{code}\n"
        "asyncio.run(main())\n"
        "watched = ('alembic', 'mako', 'sqlalchemy.ext.asyncio', 'sqlalchemy.orm', 'sqlalchemy.dialects.postgresql',"
        " 'sqlalchemy.dialects.mysql', 'sqlalchemy.dialects.mssql', 'psycopg', 'asyncmy')\n"
        "print(json.dumps([name for name in watched if name in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


async def test_a_sqlite_worker_on_a_current_schema_imports_no_migration_or_server_code(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    await upgrade(f"sqlite:///{path}")
    code = f"""
from evertask import EverTask
from evertask.storage.sql import SqliteStorage
async def main():
    async with EverTask(SqliteStorage({str(path)!r})):
        pass
"""
    assert imported_after_open(code) <= {
        # Table and index options name these dialects, and SQLAlchemy loads a dialect to check its options.
        "sqlalchemy.dialects.postgresql",
        "sqlalchemy.dialects.mysql",
        "sqlalchemy.dialects.mssql",
    }


@pytest.mark.postgres
def test_a_postgres_worker_on_a_current_schema_imports_no_migration_code(postgres_target: PostgresTarget) -> None:
    code = f"""
from evertask import EverTask
from evertask.storage.sql import SqlStorage
async def main():
    async with EverTask(SqlStorage({postgres_target.url!r}, schema={postgres_target.schema!r})):
        pass
"""
    imported = imported_after_open(code)
    assert "psycopg" in imported
    assert not imported & {"alembic", "mako", "asyncmy"}


async def test_a_database_without_tables_is_still_migrated_at_open(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite:///{tmp_path / 'new.db'}")
    await storage.open()
    await storage.close()
    assert await revisions(f"sqlite:///{tmp_path / 'new.db'}", None) == (head_revision(), head_revision())
