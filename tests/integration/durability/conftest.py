"""The durable backends the crash tests run on: a SQLite file, and this session's PostgreSQL schema."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest


class Target(NamedTuple):
    """Where worker processes meet: a database URL and, on PostgreSQL, the schema."""

    url: str
    schema: str | None


@pytest.fixture(params=["sqlite", "postgres"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        return Target(f"sqlite:///{tmp_path / 'tasks.db'}", None)
    clean = request.getfixturevalue("clean_postgres")
    return Target(clean.url, clean.schema)
