"""SQLite's one writing connection, and where its transactions run.

The hot transactions (claim, finish, add without keys) run on the event loop's own thread while they can start at
once, and on the writer thread only when they would have to wait. Measured on the throughput bench (2 cores): the
same bodies take 0.63 ms per transaction inline against 1.3-1.8 ms on a thread, where every ``sqlite3`` step hands
the GIL back and forth with the loop; end to end, 2,270 -> 3,600 tasks/s before the other changes of that pass. A
batch of 16 tasks holds the loop for about half a millisecond, no longer than the CPU work of dispatching them.

*Would have to wait* means: another process holds the write lock (the inline attempt runs with ``busy_timeout`` 0,
gets ``SQLITE_BUSY`` at once, rolls back and goes to the thread, which waits until the earliest deadline of the
group's callers: the storage's one bound, ``busy_timeout`` seconds from the start of each call, including any time
spent queued behind other writes of this process), or the thread is still running an earlier transaction (a
threading lock, taken without blocking on the loop, keeps the connection to one user at a time, whoever cancels
what).

Two kinds of bodies share the connection: SQLAlchemy ``Work`` (transaction begun through SQLAlchemy, whose ``begin``
hook sends ``BEGIN IMMEDIATE``), the cold paths, always on the thread (a purge of a large table may take seconds,
which must not hold the loop), and the hot bodies of :mod:`.sqlite_direct` on the bare ``sqlite3`` connection with
``BEGIN IMMEDIATE`` and ``COMMIT`` sent directly: SQLAlchemy's checkout, begin and commit cost more than a 16-row
body. The hot bodies given in one loop turn (a dispatch batch, a claim, the outcomes of finished tasks) share one
transaction, each in a savepoint: WAL pages that all of them dirty (the right edge of the id, claim and history
indexes) are written once per commit instead of once each. On the throughput bench half the transactions carry two
bodies, and CPU per task fell from about 220 to 195 us.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from evertask.errors import StorageError
from evertask.storage.sql.attempts import Progress, Stage, Work, run_transaction

T = TypeVar("T")
RawWork = Callable[[sqlite3.Connection], T]
"""A body on the bare ``sqlite3`` connection, inside the transaction the writer opened."""


def is_busy(error: BaseException | None) -> bool:
    """Whether ``error`` is ``SQLITE_BUSY``: another connection holds the lock (by its primary code: the extended
    busy codes, ``SQLITE_BUSY_RECOVERY`` and the others, mean the same here)."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


class _WouldWait(Exception):
    """The inline attempt met the lock of another process: it was rolled back, the thread takes over."""


@dataclass(slots=True)
class _Item(Generic[T]):
    """A body waiting for its group's transaction, and its caller's future."""

    work: RawWork[T]
    progress: Progress
    future: asyncio.Future[T]


def _in_savepoint(db: sqlite3.Connection, work: RawWork[Any], alone: bool) -> Any:
    """``work``'s result, or the exception it raised after its savepoint was rolled back (a body alone in its
    transaction needs no savepoint: the whole transaction is rolled back)."""
    if alone:
        try:
            return work(db)
        except Exception as exc:
            return exc
    db.execute("SAVEPOINT body")
    try:
        result = work(db)
    except Exception as exc:
        db.execute("ROLLBACK TO body")
        db.execute("RELEASE body")
        return exc
    db.execute("RELEASE body")
    return result


def _wrapped(outcome: Any, conn: Connection) -> Any:
    if isinstance(outcome, sqlite3.Error):
        return DBAPIError.instance(None, None, outcome, sqlite3.Error, dialect=conn.dialect)
    return outcome


def _settle(group: list[_Item[Any]], outcomes: list[Any]) -> None:
    """Hand each caller its outcome; a single outcome for a larger group is every caller's (it failed whole)."""
    if len(outcomes) != len(group):
        outcomes = outcomes * len(group)
    for item, outcome in zip(group, outcomes, strict=True):
        if item.future.done():
            continue
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)


class SqliteWriter:
    """Runs write transactions on SQLite's one writing connection (the :class:`~.engine.Runner` protocol)."""

    def __init__(self, engine: Engine, executor: ThreadPoolExecutor, busy_timeout: float) -> None:
        self._engine = engine
        self._executor = executor
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._busy_ms: int | None = None  # the connection's busy_timeout pragma as last set
        self._closed = False
        self._group: list[_Item[Any]] = []
        self._on_thread: set[asyncio.Task[None]] = set()

    async def __call__(self, work: Work[T], *, transaction: bool, progress: Progress) -> T:
        """Run a SQLAlchemy body on the thread: these are the cold paths (keyed adds, cancel, heartbeats, purge,
        migrations), and some can be long (a purge of a large table), which must not hold the loop."""
        if self._closed:  # a retry of a call that began before close()
            raise StorageError("the SQLite storage was closed while a write was being retried")
        attempt = functools.partial(self._attempt, work, transaction, progress)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._waiting, attempt)

    async def raw(self, work: RawWork[T], *, progress: Progress) -> T:
        """Run ``work`` on the bare connection in a transaction, with the other bodies given in the same loop turn.

        The group shares one ``BEGIN IMMEDIATE`` ... ``COMMIT``, each body inside a savepoint of its own: a body
        that fails is rolled back alone and its caller gets its error, the others commit. ``sqlite3`` errors are
        raised as SQLAlchemy raises them (:class:`DBAPIError`), so that the storage's retry rules apply
        unchanged. A caller that stops waiting before the group starts is left out of it.
        """
        loop = asyncio.get_running_loop()
        item: _Item[T] = _Item(work, progress, loop.create_future())
        self._group.append(item)
        if len(self._group) == 1:
            loop.call_soon(self._flush)
        return await item.future

    def _flush(self) -> None:
        group = [item for item in self._group if not item.future.done()]
        self._group = []
        if not group:
            return
        if self._closed:
            _settle(group, [StorageError("the SQLite storage was closed while a write was being retried")])
            return
        if self._lock.acquire(blocking=False):
            try:
                _settle(group, self._group_attempt(group, False))
                return
            except _WouldWait:
                pass
            except BaseException as exc:  # no connection to run on: each caller hears it (and may retry)
                _settle(group, [exc])
                return
            finally:
                self._lock.release()
        task = asyncio.get_running_loop().create_task(self._group_on_thread(group))
        self._on_thread.add(task)
        task.add_done_callback(self._on_thread.discard)

    async def _group_on_thread(self, group: list[_Item[Any]]) -> None:
        try:
            attempt = functools.partial(self._group_attempt, group)
            outcomes = await asyncio.get_running_loop().run_in_executor(self._executor, self._waiting, attempt)
        except BaseException as exc:  # the executor was shut down by close()
            outcomes = [exc]
        _settle(group, outcomes)

    def _group_attempt(self, group: list[_Item[Any]], wait: bool) -> list[Any]:
        """Run the group in one transaction; returns each body's result or exception (one for all if the
        transaction itself failed)."""
        conn, db = self._connection(self._wait_ms(item.progress for item in group) if wait else 0)
        for item in group:
            item.progress.stage = Stage.work
        alone = len(group) == 1
        try:
            db.execute("BEGIN IMMEDIATE")
            outcomes = [_in_savepoint(db, item.work, alone) for item in group]
            errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            if alone and errors:
                raise errors[0]
            for item, outcome in zip(group, outcomes, strict=True):
                if not isinstance(outcome, BaseException):
                    item.progress.stage = Stage.commit
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed(conn, db, wait, exc)
            return [DBAPIError.instance(None, None, exc, sqlite3.Error, dialect=conn.dialect)]
        except BaseException as exc:
            self._failed(conn, db, wait, None)
            return [exc]
        return [_wrapped(outcome, conn) for outcome in outcomes]

    def _waiting(self, attempt: Callable[[bool], T]) -> T:
        with self._lock:
            return attempt(True)

    def _wait_ms(self, progresses: Iterable[Progress]) -> int:
        """How long a transaction on the thread may wait for the lock: until its callers' earliest deadline."""
        deadlines = [progress.lock_deadline for progress in progresses if progress.lock_deadline is not None]
        if not deadlines:
            return round(self._busy_timeout * 1000)
        return max(0, round((min(deadlines) - time.monotonic()) * 1000))

    def _connection(self, busy_ms: int) -> tuple[Connection, sqlite3.Connection]:
        if self._conn is None:
            self._conn = self._engine.connect()
            self._busy_ms = None
        db: sqlite3.Connection = self._conn.connection.driver_connection  # type: ignore[assignment]
        if self._busy_ms != busy_ms:
            # On the bare connection: a statement through SQLAlchemy would begin a transaction.
            db.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._busy_ms = busy_ms
        return self._conn, db

    def _attempt(self, work: Work[T], transaction: bool, progress: Progress, wait: bool) -> T:
        conn, db = self._connection(self._wait_ms((progress,)) if wait else 0)
        try:
            return run_transaction(conn, work, transaction, progress)
        except BaseException:
            self._failed(conn, db, wait, None)
            raise

    def _failed(self, conn: Connection, db: sqlite3.Connection, wait: bool, error: BaseException | None) -> None:
        """Roll back what the attempt began; hand an inline attempt that met another process's lock over."""
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if conn.in_transaction():
                conn.rollback()
        except sqlite3.Error:
            # A connection that cannot even roll back is replaced: the next attempt starts afresh.
            self._conn = None
            conn.invalidate()
        if not wait and is_busy(error):
            raise _WouldWait from error

    async def close(self) -> None:
        """Close the connection and the thread (waits for a transaction still running there)."""
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._engine.dispose()
