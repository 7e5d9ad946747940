"""The durable backends the crash tests run on: a SQLite file, this session's PostgreSQL schema and its
MariaDB/MySQL database."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest


class Target(NamedTuple):
    """Where worker processes meet: a database URL and, on PostgreSQL, the schema."""

    url: str
    schema: str | None


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        return Target(f"sqlite:///{tmp_path / 'tasks.db'}", None)
    if request.param == "mysql":
        return Target(request.getfixturevalue("clean_mysql"), None)
    clean = request.getfixturevalue("clean_postgres")
    return Target(clean.url, clean.schema)
