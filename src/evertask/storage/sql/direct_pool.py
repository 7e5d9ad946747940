"""The connections of PostgreSQL's hot path: psycopg ``AsyncConnection`` objects in autocommit, pooled here.

Taking a connection from SQLAlchemy's async pool and giving it back costs two greenlet hops, the pool's events
and a reset per statement: measured at about 1.6 s of 7.5 s of CPU on the throughput bench, more than the
statements themselves. A hot statement needs none of it (no transaction to reset, no ORM, its own retry rules in
:class:`~.database.Database`), so its connections live in a plain list instead; SQLAlchemy keeps the pool of every
other (cold) path.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from evertask.errors import StorageError
from evertask.storage.sql.attempts import Progress, Stage

T = TypeVar("T")
DirectWork = Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]
"""A body of ONE statement on a psycopg connection in autocommit."""


class DirectRunner:
    """Runs one-statement bodies on pooled psycopg connections (at most ``size`` at once, ``size`` kept idle).

    The statement is its own transaction, so once it is sent its outcome is unknown if the connection dies:
    the attempt is at ``Stage.commit`` from then on (idempotent operations are retried, the others raise).
    Before sending, the socket is polled without waiting: a connection the server closed while it sat in the
    pool (restart, ``pg_terminate_backend``) has its goodbye waiting to be read, and is replaced at
    ``Stage.connect`` (retried, nothing sent). Driver errors are raised as SQLAlchemy would raise them
    (:class:`DBAPIError`, ``connection_invalidated`` on a disconnect), so the retry rules apply unchanged.
    """

    def __init__(self, conninfo: str, dialect: Dialect, size: int) -> None:
        self._conninfo = conninfo
        self._dialect = dialect
        self._size = size
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._closed = False

    async def __call__(self, work: DirectWork[T], *, progress: Progress) -> T:
        async with self._slots:
            conn = await self._checkout()
            progress.stage = Stage.commit
            try:
                result = await work(conn)
            except psycopg.Error as exc:
                lost = conn.closed or conn.broken
                await (self._discard(conn) if lost else self._checkin(conn))
                raise self._wrapped(exc, lost) from exc
            except BaseException:
                # Cancelled mid-statement: the connection's state is unknown, so it is not reused.
                await asyncio.shield(self._discard(conn))
                raise
            await self._checkin(conn)
            return result

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        if self._closed:  # a retry of a call that began before close()
            raise StorageError("the PostgreSQL storage was closed while a write was being retried")
        while self._idle:
            conn = self._idle.pop()
            if _alive(conn):
                return conn
            await self._discard(conn)
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise self._wrapped(exc, True) from exc
        try:
            # A misjudged plan of a hot statement once crossed jit_above_cost and spent 60 ms compiling what
            # runs in 1: these statements are always small.
            await conn.execute("SET jit = off")
        except psycopg.Error as exc:
            await self._discard(conn)
            raise self._wrapped(exc, True) from exc
        return conn

    async def _checkin(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._closed or len(self._idle) >= self._size or conn.closed:
            await self._discard(conn)
        else:
            self._idle.append(conn)

    @staticmethod
    async def _discard(conn: psycopg.AsyncConnection[Any]) -> None:
        with contextlib.suppress(psycopg.Error):  # thrown away because it failed: closing it is a courtesy
            await conn.close()

    def _wrapped(self, exc: psycopg.Error, lost: bool) -> Exception:
        return DBAPIError.instance(None, None, exc, psycopg.Error, connection_invalidated=lost, dialect=self._dialect)

    async def close(self) -> None:
        """Close the idle connections; those in use are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._discard(conn)


def _alive(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection is still open: nothing may be waiting to be read on its socket."""
    if conn.closed or conn.broken:
        return False
    try:
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN)
        return not poller.poll(0)
    except (OSError, psycopg.Error):
        return False
