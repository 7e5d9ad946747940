"""The backends the contract suite runs on. A new backend is proven by adding it to ``BACKENDS`` and
``backend`` below: every test of the suite then runs against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evertask.storage import MemoryStorage, Storage

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@dataclass(frozen=True)
class Backend:
    """One backend under test: ``build(**options)`` makes a new, unopened storage on this test's (clean)
    database; two storages built by one SQL backend share their tasks, as two processes would."""

    name: str
    build: Callable[..., Storage]
    url: str = ""
    """The database URL (SQL backends)."""
    schema: str | None = None


OpenStorage = Callable[..., Awaitable[Storage]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name: str = request.param
    if name == "memory":
        return Backend(name, MemoryStorage)
    from evertask.storage.sql import SqliteStorage, SqlStorage

    if name == "sqlite":
        path = tmp_path / "evertask.db"
        return Backend(name, lambda **options: SqliteStorage(path, **options), f"sqlite:///{path}")
    if name == "postgres":
        url, schema = request.getfixturevalue("clean_postgres")
        return Backend(name, lambda **options: SqlStorage(url, schema=schema, **options), url, schema)
    url = request.getfixturevalue("clean_mysql")
    return Backend(name, lambda **options: SqlStorage(url, **options), url)


@pytest.fixture
async def open_storage(backend: Backend) -> AsyncIterator[OpenStorage]:
    """Open storages of the backend under test (``open_storage(audit="minimal")``); closed after the test."""
    opened: list[Storage] = []

    async def open_one(**options: Any) -> Storage:
        storage = backend.build(**options)
        await storage.open()
        opened.append(storage)
        return storage

    yield open_one
    for storage in opened:
        await storage.close()


@pytest.fixture
async def storage(open_storage: OpenStorage) -> Storage:
    """An open storage of the backend under test, keeping full history."""
    return await open_storage()


@pytest.fixture
async def second_storage(backend: Backend, storage: Storage, open_storage: OpenStorage) -> Storage:
    """Another storage on the same tasks, with connections of its own (memory: the same object, as one
    process's memory cannot be shared)."""
    return storage if backend.name == "memory" else await open_storage()
