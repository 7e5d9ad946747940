"""SQLite's one bound on waiting for another process's write lock: ``busy_timeout`` (30 s unless configured),
after which a write raises ``StorageBusyError`` naming the file and the wait, with nothing of it written.

Each test holds the write lock from a plain ``sqlite3`` connection on the same file (``BEGIN IMMEDIATE``), as
another process would.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from evertask import EverTask, TaskStatus
from evertask.errors import ConfigurationError, StorageBusyError, StorageError
from evertask.storage.sql import SqliteStorage, SqlStorage, storage_from_url
from tests.integration import test_sqlite_writer as writer_tests
from tests.integration.conftest import FAST_WORKER
from tests.integration.engine.tasks import Echo, EchoHandler, Probe
from tests.integration.test_sqlite_writer import PATHS, hold_write_lock, new_task, stored_ids, stored_whole

BOUND = 0.5
DONE = 10.0  # a write that must end (with its result or its error) fails the test past this, rather than hang


# The file, and another connection to it as another process would have, as the writer's tests have them.
path, other = writer_tests.path, writer_tests.other


@pytest.fixture
async def storage(path: Path) -> AsyncIterator[SqliteStorage]:
    storage = SqliteStorage(path, busy_timeout=BOUND)
    await storage.open()
    yield storage
    await asyncio.wait_for(storage.close(), DONE)


async def timed(write: Awaitable[object]) -> tuple[BaseException | None, float]:
    """How a write ended (its StorageError, or None) and how long it took."""
    began = time.monotonic()
    try:
        await asyncio.wait_for(write, DONE)
    except StorageError as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


@PATHS
async def test_a_write_waiting_for_another_processs_lock_raises_storage_busy_after_the_bound(
    storage: SqliteStorage, other: sqlite3.Connection, path: Path, keyed: bool
) -> None:
    kept = new_task(keyed=keyed)
    await storage.add([kept])
    hold_write_lock(other)
    refused = new_task(keyed=keyed)

    error, waited = await timed(storage.add([refused]))

    assert isinstance(error, StorageBusyError)
    assert BOUND * 0.8 <= waited < DONE
    assert error.path == str(path)
    assert str(path) in str(error)
    assert f"{BOUND:g} s" in str(error)
    # Nothing stored is lost, nothing of the refused write is there, and the storage works once the lock is free.
    other.execute("ROLLBACK")
    assert await stored_whole(storage, kept)
    assert not await stored_whole(storage, refused)
    after = new_task(keyed=keyed)
    assert await asyncio.wait_for(storage.add([after]), DONE) == [after.id]
    assert await stored_ids(storage) == {kept.id, after.id}


async def test_writes_queued_behind_each_other_each_wait_the_bound_at_most(
    path: Path, other: sqlite3.Connection
) -> None:
    storage = SqliteStorage(path, busy_timeout=1.0)
    await storage.open()
    try:
        hold_write_lock(other)
        waits: list[asyncio.Task[tuple[BaseException | None, float]]] = []
        for _ in range(5):  # five callers, each in a turn of its own, one behind the other on the writer
            waits.append(asyncio.create_task(timed(storage.add([new_task()]))))
            await asyncio.sleep(0.25)
        results = await asyncio.gather(*waits)
    finally:
        other.execute("ROLLBACK")
        await storage.close()
    for error, waited in results:
        assert isinstance(error, StorageBusyError)
        # Not 1 s more for each caller queued ahead (the third would wait 2.5 s, the last 4 s): one bound for all.
        assert 0.8 <= waited < 2.0


async def test_dispatch_raises_storage_busy_while_another_process_holds_the_lock(
    storage: SqliteStorage, other: sqlite3.Connection
) -> None:
    app = EverTask(storage, run_worker=False)
    app.register(EchoHandler)
    async with app:
        hold_write_lock(other)
        with pytest.raises(StorageBusyError, match="locked"):
            await asyncio.wait_for(app.dispatch(Echo(text="waits for the lock")), DONE)
        other.execute("ROLLBACK")
        assert await app.get(await app.dispatch(Echo(text="then works"))) is not None


@pytest.mark.parametrize(
    "build",
    [
        lambda path: SqlStorage(f"sqlite:///{path}?busy_timeout={BOUND}"),
        lambda path: storage_from_url(f"sqlite:///{path}?busy_timeout={BOUND}"),
        lambda path: SqlStorage(f"sqlite:///{path}", busy_timeout=BOUND),
    ],
    ids=["url-query", "storage_from_url", "keyword"],
)
async def test_the_bound_is_configured_in_the_url_or_by_keyword(tmp_path: Path, build: object) -> None:
    path = tmp_path / "tasks.db"
    storage = build(path)  # type: ignore[operator]
    await storage.open()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        hold_write_lock(conn)
        error, waited = await timed(storage.add([new_task()]))
        assert isinstance(error, StorageBusyError)
        assert waited < DONE
        assert "busy_timeout" not in storage.url  # an evertask option, not passed on to the driver
    finally:
        conn.close()
        await storage.close()


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda path: SqliteStorage(path, busy_timeout=-1), "busy_timeout"),
        (lambda path: SqliteStorage(path, busy_timeout=math.nan), "busy_timeout"),
        (lambda path: SqlStorage(f"sqlite:///{path}?busy_timeout=soon"), "busy_timeout"),
        (lambda path: SqlStorage(f"sqlite:///{path}?busy_timeout=1", busy_timeout=2), "once"),
        (lambda path: SqlStorage("postgresql://app@db.internal/app", busy_timeout=5), "SQLite"),
    ],
    ids=["negative", "nan", "not-a-number", "twice", "not-sqlite"],
)
def test_an_unusable_bound_is_a_configuration_error(tmp_path: Path, build: object, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build(tmp_path / "tasks.db")  # type: ignore[operator]


async def test_a_worker_under_a_held_lock_logs_the_outage_once_and_its_end(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="evertask")
    app = EverTask(SqliteStorage(path, busy_timeout=0.2), worker=FAST_WORKER)
    app.register(EchoHandler)
    app.provide_value(Probe, Probe())
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        async with app:
            hold_write_lock(conn)
            await asyncio.sleep(1.5)  # the outage: several polls (0.2 s apart) and heartbeats meet the lock
            conn.execute("ROLLBACK")
            record = await app.wait(await app.dispatch(Echo(text="after the lock")), timeout=DONE)
            assert record.status is TaskStatus.completed
    finally:
        conn.close()
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "evertask.worker"]
    claims = [(level, text) for level, text in lines if "claiming from queue 'default'" in text]
    assert [level for level, _ in claims] == [logging.WARNING, logging.INFO]
    assert "StorageBusyError" in claims[0][1]
    assert str(path) in claims[0][1]
    assert "failed attempts" in claims[1][1]
    warnings = [text.split(" failed (")[0] for level, text in lines if level == logging.WARNING]
    assert len(warnings) == len(set(warnings)), "one warning per operation"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
