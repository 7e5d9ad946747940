"""Databases the CLI tests operate on: SQLite files prepared once and copied for each test, and the session's
PostgreSQL schema filled again for each test that asks for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evertask.storage.sql import SqliteStorage, SqlStorage
from tests.conftest import PostgresTarget, run_async
from tests.integration.cli.helpers import Database, Stored, fill


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Stored]:
    """A SQLite database holding the tasks of :class:`Stored`, run by a real app (prepared once)."""
    path = tmp_path_factory.mktemp("cli") / "template.db"
    stored = run_async(fill(SqliteStorage(str(path))))
    return path, stored


@pytest.fixture
def sqlite_db(sqlite_template: tuple[Path, Stored], tmp_path: Path) -> Database:
    """A copy of the template for one test, which may change it at will."""
    template, stored = sqlite_template
    path = tmp_path / "tasks.db"
    for part in template.parent.glob(template.name + "*"):  # the database and any -wal/-shm beside it
        shutil.copy(part, path.parent / part.name.replace(template.name, path.name))
    return Database(options=["--url", f"sqlite:///{path}"], stored=stored)


@pytest.fixture
def postgres_db(clean_postgres: PostgresTarget) -> Database:
    """The session's PostgreSQL schema, emptied and filled with the tasks of :class:`Stored`."""
    stored = run_async(fill(SqlStorage(clean_postgres.url, schema=clean_postgres.schema)))
    return Database(options=["--url", clean_postgres.url, "--schema", clean_postgres.schema], stored=stored)
