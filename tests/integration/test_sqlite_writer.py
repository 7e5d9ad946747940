"""SQLite's writer: a write runs on the loop while the write lock is free; when another connection holds it, the
transaction goes to the writer thread, which waits for the lock, and the loop carries on meanwhile.

Each test holds SQLite's write lock from a plain ``sqlite3`` connection on the same file (``BEGIN IMMEDIATE``),
as another process would, and drives a real :class:`SqliteStorage`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from evertask.errors import StorageError
from evertask.storage import NewTask, TaskQuery
from evertask.storage.sql import SqliteStorage
from evertask.storage.sql.attempts import Progress
from evertask.task import TaskStatus

T = TypeVar("T")
T0 = datetime(2031, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
WRITER_THREAD = "evertask-sqlite-writer"  # the name engine.py gives the writer's thread
BUSY_TIMEOUT = 30.0  # seconds a write waits for the lock (engine.DEFAULT_BUSY_TIMEOUT)
PROMPT = 2.0  # "at once", generously: far below BUSY_TIMEOUT, far above a slow runner's hiccup
DONE = 5.0  # how long a write that must complete may take before the test fails rather than hangs

# The writer's two kinds of bodies: tasks without a key take the bare sqlite3 path (sqlite_direct.add), which runs
# on the loop while the lock is free; tasks with a key the SQLAlchemy path (keys.add_tasks), always on the thread.
PATHS = pytest.mark.parametrize("keyed", [False, True], ids=["bare-sqlite3-body", "sqlalchemy-body"])


def new_task(*, keyed: bool = False, **fields: Any) -> NewTask:
    task_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": task_id,
        "type": "tests.SendEmail",
        "payload": '{"to": "ann@example.com"}',
        "queue": "default",
        "created_at": T0,
        "scheduled_at": T0,
        "key": f"key-{task_id}" if keyed else None,
    }
    return NewTask(**(values | fields))


def writer_thread(storage: SqliteStorage) -> threading.Thread:
    """The storage's writer thread (started when it first ran a transaction there: the migrations at open)."""
    engines = storage._db._engines
    assert engines is not None
    assert engines.sqlite is not None
    [thread] = engines.sqlite._executor._threads
    assert thread.name.startswith(WRITER_THREAD)
    return thread


async def stored_ids(storage: SqliteStorage) -> set[uuid.UUID]:
    return {record.id for record in await storage.list_tasks(TaskQuery(limit=1_000))}


async def stored_whole(storage: SqliteStorage, task: NewTask) -> bool:
    """Whether ``task`` is stored with its history; fails if only part of it is."""
    record = await storage.get(task.id)
    history = await storage.history(task.id)
    if record is None:
        assert history == []
        return False
    assert (record.type, record.payload, record.status) == (task.type, task.payload, TaskStatus.queued)
    assert [(change.from_status, change.to_status) for change in history] == [(None, TaskStatus.queued)]
    return True


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "tasks.db"


@pytest.fixture
async def storage(path: Path) -> AsyncIterator[SqliteStorage]:
    storage = SqliteStorage(path)
    await storage.open()
    yield storage
    await asyncio.wait_for(storage.close(), DONE)


@pytest.fixture
def other(path: Path, storage: SqliteStorage) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, as another process would have; takes the write lock when told to."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def hold_write_lock(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    assert conn.in_transaction


async def start(coroutine: Coroutine[Any, Any, T]) -> tuple[asyncio.Task[T], float]:
    """Start ``coroutine`` as a task and return once the loop has run the task's first step, the writer's group
    flush that step scheduled (where an inline attempt runs, whole) and the step that hands the task its result,
    with how long the loop took to get back to other work."""
    task = asyncio.create_task(coroutine)
    began = time.monotonic()
    for _ in range(3):  # one loop turn each: the task's step, the flush, the task's next step
        await asyncio.sleep(0)
    return task, time.monotonic() - began


def on_thread(storage: SqliteStorage) -> bool:
    """Whether a transaction holds SQLite's writing connection from the writer thread.

    Reads the writer's (private) threading lock: no public sign tells that the thread has taken a transaction
    over. Seen from the loop between two steps only the thread can hold it, as inline attempts run whole within
    one step.
    """
    engines = storage._db._engines
    assert engines is not None
    assert engines.sqlite is not None
    return engines.sqlite._lock.locked()


async def start_while_locked(storage: SqliteStorage, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start a write while another connection holds the lock: it must give the loop back at once, pending, and
    the writer thread must take it over (returns once the thread holds the connection)."""
    task, latency = await start(coroutine)
    assert latency < PROMPT, f"the loop was held {latency:.1f} s by a write waiting for the lock"
    assert not task.done()
    deadline = time.monotonic() + DONE
    while not on_thread(storage):  # a condition without an event to wait on: polled
        assert time.monotonic() < deadline, "the writer thread did not take the transaction over"
        assert not task.done()
        await asyncio.sleep(0.001)
    return task


@PATHS
async def test_a_write_waits_on_the_thread_for_another_connections_lock_while_the_loop_goes_on(
    storage: SqliteStorage, other: sqlite3.Connection, keyed: bool
) -> None:
    added: list[NewTask] = []
    # Twice, releasing the lock both ways: after a write went to the thread, the next one is inline again
    # (busy_timeout back to 0 on the loop: it must not wait for the lock there either).
    for release in ("ROLLBACK", "COMMIT"):
        hold_write_lock(other)
        task = new_task(keyed=keyed)
        adding = await start_while_locked(storage, storage.add([task]))
        # The loop's timers fire while the write waits, and the write stays pending while the lock is held,
        # waiting on the thread all along (not failing there and retried from the loop).
        done, _ = await asyncio.wait({adding}, timeout=0.2)
        assert not done, "the write completed or failed while another connection held the write lock"
        assert on_thread(storage)
        assert await storage.get(task.id) is None  # readers are not blocked either (WAL)
        other.execute(release)
        assert await asyncio.wait_for(adding, DONE) == [task.id]
        assert await stored_whole(storage, task)
        added.append(task)
        # With the lock free, a write runs whole on the loop, within the loop turns that start it.
        inline = new_task(keyed=keyed)
        inline_add, _ = await start(storage.add([inline]))
        assert inline_add.done() or keyed
        assert await asyncio.wait_for(inline_add, DONE) == [inline.id]
        assert await stored_whole(storage, inline)
        added.append(inline)
    assert await stored_ids(storage) == {task.id for task in added}


# A body that fails after the transaction began: an unbindable payload fails the INSERT at the second row, after
# the first row went in; a naive datetime is refused before any row is written (ValueError, the caller's error).
FAILURES = pytest.mark.parametrize(
    ("bad", "error"),
    [({"payload": object()}, StorageError), ({"created_at": datetime(2031, 3, 4, 5, 6, 7)}, ValueError)],
    ids=["unbindable-payload", "naive-datetime"],
)


@PATHS
@FAILURES
@pytest.mark.parametrize("locked", [False, True], ids=["inline", "on-thread"])
async def test_a_failing_body_rolls_back_its_own_transaction_and_the_next_write_works(
    storage: SqliteStorage,
    other: sqlite3.Connection,
    keyed: bool,
    bad: dict[str, Any],
    error: type[Exception],
    locked: bool,
) -> None:
    kept = new_task(keyed=keyed)
    assert await storage.add([kept]) == [kept.id]
    good, failing = new_task(keyed=keyed), new_task(keyed=keyed, **bad)
    if locked:
        hold_write_lock(other)
        adding = await start_while_locked(storage, storage.add([good, failing]))
        other.execute("ROLLBACK")
    else:
        adding = asyncio.create_task(storage.add([good, failing]))
    began = time.monotonic()
    with pytest.raises(error):
        await asyncio.wait_for(adding, DONE)
    assert time.monotonic() - began < PROMPT  # raised at once, not after rounds of retries
    # Nothing of the failed batch is stored, what was committed before is.
    assert not await stored_whole(storage, good)
    assert not await stored_whole(storage, failing)
    assert await stored_whole(storage, kept)
    # The connection is usable, and its next transaction does not carry anything of the failed one.
    after = new_task(keyed=keyed)
    assert await asyncio.wait_for(storage.add([after]), DONE) == [after.id]
    assert await stored_whole(storage, after)
    assert await stored_ids(storage) == {kept.id, after.id}
    assert await storage.count_by_status() == {TaskStatus.queued: 2}


@PATHS
async def test_cancelling_a_write_waiting_on_the_thread_leaves_later_writes_working(
    storage: SqliteStorage, other: sqlite3.Connection, keyed: bool
) -> None:
    hold_write_lock(other)
    cancelled = new_task(keyed=keyed)
    adding = await start_while_locked(storage, storage.add([cancelled]))
    adding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await adding
    # A write started while the cancelled one may still be waiting on the thread must queue behind it, not
    # share the connection with it: both run on the one connection, one after the other.
    queued = new_task(keyed=keyed)
    queued_add = await start_while_locked(storage, storage.add([queued]))
    other.execute("ROLLBACK")
    assert await asyncio.wait_for(queued_add, DONE) == [queued.id]
    assert await stored_whole(storage, queued)
    # Then a write with the lock free runs inline again.
    inline = new_task(keyed=keyed)
    inline_add, _ = await start(storage.add([inline]))
    assert inline_add.done() or keyed
    assert await asyncio.wait_for(inline_add, DONE) == [inline.id]
    # The cancelled add may have been committed by the thread (cancelling stops the wait, not the thread),
    # but whole or not at all.
    kept_cancelled = await stored_whole(storage, cancelled)
    expected = {queued.id, inline.id} | ({cancelled.id} if kept_cancelled else set())
    assert await stored_ids(storage) == expected
    assert await storage.count_by_status() == {TaskStatus.queued: len(expected)}


@PATHS
async def test_close_waits_for_the_transaction_on_the_thread_then_returns(
    storage: SqliteStorage, other: sqlite3.Connection, path: Path, keyed: bool
) -> None:
    hold_write_lock(other)
    thread = writer_thread(storage)
    task = new_task(keyed=keyed)
    adding = await start_while_locked(storage, storage.add([task]))
    closing = asyncio.create_task(storage.close())
    done, _ = await asyncio.wait({closing}, timeout=0.2)
    assert not done, "close returned while a transaction was still waiting on the writer thread"
    other.execute("COMMIT")
    assert await asyncio.wait_for(adding, DONE) == [task.id]  # the transaction finished, not dropped
    await asyncio.wait_for(closing, DONE)
    # The writer thread ends (nothing left to hold the process at exit), and the storage refuses writes.
    await asyncio.wait_for(asyncio.to_thread(thread.join, DONE), DONE)
    assert not thread.is_alive()
    with pytest.raises(StorageError, match="not open"):
        await asyncio.wait_for(storage.add([new_task(keyed=keyed)]), DONE)
    # What the thread committed is in the file.
    reopened = SqliteStorage(path)
    await reopened.open()
    try:
        assert await stored_whole(reopened, task)
    finally:
        await reopened.close()


@PATHS
async def test_close_after_a_cancelled_write_on_the_thread_returns(
    storage: SqliteStorage, other: sqlite3.Connection, keyed: bool
) -> None:
    hold_write_lock(other)
    thread = writer_thread(storage)
    adding = await start_while_locked(storage, storage.add([new_task(keyed=keyed)]))
    adding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await adding
    other.execute("ROLLBACK")
    await asyncio.wait_for(storage.close(), DONE)
    await asyncio.wait_for(asyncio.to_thread(thread.join, DONE), DONE)
    assert not thread.is_alive()


async def test_a_write_retried_after_close_is_refused_without_reopening_the_file(storage: SqliteStorage) -> None:
    # A write retried after close() (Database keeps the writer it began with) must not open a new connection on
    # the disposed engine, nor reach the shut-down thread.
    engines = storage._db._engines
    assert engines is not None
    writer = engines.sqlite
    assert writer is not None
    await storage.close()

    with pytest.raises(StorageError, match="closed"):
        await writer.raw(lambda db: db.execute("SELECT 1").fetchone(), progress=Progress())
    assert writer._conn is None


async def test_writes_of_one_loop_turn_share_a_transaction_and_a_failing_one_is_rolled_back_alone(
    storage: SqliteStorage,
) -> None:
    good, naive, other_good = new_task(), new_task(scheduled_at=datetime(2031, 1, 1)), new_task()

    results = await asyncio.gather(
        storage.add([good]), storage.add([naive]), storage.add([other_good]), return_exceptions=True
    )

    assert results[0] == [good.id]
    assert isinstance(results[1], ValueError)
    assert "naive" in str(results[1])
    assert results[2] == [other_good.id]
    assert await stored_whole(storage, good)
    assert await stored_whole(storage, other_good)
    assert not await stored_whole(storage, naive)


async def test_a_write_whose_caller_stopped_waiting_before_its_transaction_began_is_left_out(
    storage: SqliteStorage,
) -> None:
    dropped, kept = new_task(), new_task()
    adding = asyncio.create_task(storage.add([dropped]))
    await asyncio.sleep(0)  # its first step ran: the body waits for the flush at the end of this loop turn
    adding.cancel()

    assert await storage.add([kept]) == [kept.id]

    with pytest.raises(asyncio.CancelledError):
        await adding
    assert not await stored_whole(storage, dropped)
    assert await stored_whole(storage, kept)


async def test_a_write_that_cannot_get_a_connection_fails_instead_of_hanging(
    storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = storage._db._engines
    assert engines is not None
    writer = engines.sqlite
    assert writer is not None
    writer._conn = None  # as after a connection that could not roll back was thrown away

    def refuse() -> None:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(writer._engine, "connect", refuse)
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await asyncio.wait_for(writer.raw(lambda db: None, progress=Progress()), DONE)
