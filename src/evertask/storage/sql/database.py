"""One database as the storage sees it: transactions, what is retried when they fail, and the errors raised.

What is retried (10 attempts, with jittered exponential back-off from 20 ms to 2 s: 3 to 7 s in all):

- a failure to connect: nothing was sent, so any operation is tried again;
- a transaction the server rolled back on its own: deadlock, serialisation failure, lock timeout (and, for
  ``add`` and ``take_token``, a unique-key race: the next attempt sees the winner's row);
- a connection lost mid-transaction before COMMIT was sent: the server rolled the work back, so it is redone.

A connection lost *during* COMMIT leaves the outcome unknown: idempotent operations (reads, claim, heartbeat,
recovery, cancel, reschedule, purge) are retried; ``add``, ``finish`` and ``take_token`` raise
:class:`~evertask.errors.StorageUnavailableError` instead. A lost connection invalidates the whole pool, so the
retry reconnects instead of meeting the next dead socket.

SQLite's lock held by another process is bounded by time, not by attempts: a call waits for it at most
``busy_timeout`` seconds from its start (SQLite's own busy handler does the waiting, on the writer's thread), then
raises :class:`~evertask.errors.StorageBusyError`; nothing of it was written.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, StatementError

from evertask.errors import (
    ConfigurationError,
    InvalidStorageUrlError,
    StorageBusyError,
    StorageError,
    StorageUnavailableError,
)
from evertask.storage import urls
from evertask.storage.sql.attempts import Progress, Stage, Work
from evertask.storage.sql.engine import (
    DEFAULT_BUSY_TIMEOUT,
    Engines,
    create_engines,
    driver_url,
    shown,
    sqlite_busy_timeout,
)
from evertask.storage.sql.sqlite_writer import RawWork, is_busy

if TYPE_CHECKING:
    from evertask.storage.sql.direct_pool import DirectWork  # imports psycopg: PostgreSQL deployments only

T = TypeVar("T")

_ATTEMPTS = 10
_FIRST_DELAY, _MAX_DELAY = 0.02, 2.0
# Server-side rollbacks that mean "try again": PostgreSQL SQLSTATEs and MySQL error numbers.
_PG_RETRY = frozenset({"40001", "40P01", "55P03"})
_MYSQL_RETRY = frozenset({1205, 1213})


class Database:
    """The connections of one storage and the transactions it runs through them.

    Construction checks ``url`` (:class:`InvalidStorageUrlError`) and that its backend's extra is installed
    (:class:`~evertask.errors.MissingExtraError`); nothing connects before :meth:`start`.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        echo: bool = False,
        busy_timeout: float | None = None,
    ) -> None:
        self.url = _checked(url)
        self.dialect = self.url.get_backend_name()
        urls.require_backend(self.dialect, self.url.get_driver_name())
        self.busy_timeout = DEFAULT_BUSY_TIMEOUT
        """Seconds a SQLite call waits for another process's write lock (servers have lock timeouts of their own)."""
        if self.dialect == "sqlite":
            self.url, self.busy_timeout = sqlite_busy_timeout(self.url, busy_timeout)
        elif busy_timeout is not None:
            raise ConfigurationError(f"busy_timeout is an option of SQLite storage only (got {busy_timeout!r})")
        self.shown_url = shown(self.url)
        if self.dialect == "sqlite" and schema is not None:
            raise ConfigurationError(f"SQLite has no schemas; drop schema={schema!r} or use another file")
        if self.dialect == "sqlite" and self.url.database in (None, "", ":memory:"):
            raise ConfigurationError("an in-memory SQLite database cannot be shared: use memory:// or a file path")
        self.schema = schema
        self._pool_size = pool_size
        self._echo = echo
        self._engines: Engines | None = None

    async def start(self) -> None:
        """Create the engines and prove the database answers (else :class:`StorageUnavailableError`)."""
        if self._engines is not None:
            return
        self._engines = create_engines(
            self.url,
            schema=self.schema,
            pool_size=self._pool_size,
            echo=self._echo,
            busy_timeout=self.busy_timeout,
        )
        try:
            await self._engines.writer(lambda conn: None, transaction=False, progress=Progress())
        except (DBAPIError, OSError) as exc:
            await self.stop()
            raise StorageUnavailableError(self.shown_url, self._reason(exc)) from exc

    async def stop(self) -> None:
        """Close every connection. Idempotent."""
        engines, self._engines = self._engines, None
        if engines is not None:
            await engines.close()

    def _opened(self) -> Engines:
        if self._engines is None:
            raise StorageError(f"storage at {self.shown_url} is not open: call open() first")
        return self._engines

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` on a read connection (no transaction); retried on connection loss."""
        reader = self._opened().reader
        return await self._retrying(
            lambda progress: reader(work, transaction=False, progress=progress), idempotent=True, conflicts=()
        )

    async def write(self, work: Work[T], *, idempotent: bool, conflicts: tuple[type[DBAPIError], ...] = ()) -> T:
        """Run ``work`` in one transaction and commit it; retried as the module doc says.

        ``conflicts`` are further errors that roll the transaction back and call for another attempt.
        """
        writer = self._opened().writer
        return await self._retrying(
            lambda progress: writer(work, transaction=True, progress=progress),
            idempotent=idempotent,
            conflicts=conflicts,
        )

    @property
    def direct(self) -> bool:
        """Whether :meth:`write_direct` is available (PostgreSQL on psycopg)."""
        return self._opened().direct is not None

    async def write_direct(
        self, work: DirectWork[T], *, idempotent: bool, conflicts: tuple[type[DBAPIError], ...] = ()
    ) -> T:
        """Run ``work``, ONE statement, on the driver's own connection in autocommit; retried as :meth:`write`
        (the statement is its own transaction: once sent, it is at the COMMIT stage)."""
        return await self._write_bare(self._opened().direct, "has no direct path", work, idempotent, conflicts)

    async def write_sqlite(
        self, work: RawWork[T], *, idempotent: bool, conflicts: tuple[type[DBAPIError], ...] = ()
    ) -> T:
        """Run ``work`` on SQLite's bare ``sqlite3`` writing connection in one transaction; retried as
        :meth:`write`."""
        writer = self._opened().sqlite
        return await self._write_bare(writer and writer.raw, "is not SQLite", work, idempotent, conflicts)

    async def _write_bare(
        self,
        runner: Callable[..., Awaitable[T]] | None,
        missing: str,
        work: object,
        idempotent: bool,
        conflicts: tuple[type[DBAPIError], ...],
    ) -> T:
        if runner is None:
            raise StorageError(f"storage at {self.shown_url} {missing}")
        return await self._retrying(
            lambda progress: runner(work, progress=progress), idempotent=idempotent, conflicts=conflicts
        )

    async def _retrying(
        self,
        run: Callable[[Progress], Awaitable[T]],
        *,
        idempotent: bool,
        conflicts: tuple[type[DBAPIError], ...],
    ) -> T:
        started = time.monotonic()
        deadline = started + self.busy_timeout
        attempt = 0
        while True:
            progress = Progress(lock_deadline=deadline)
            try:
                return await run(progress)
            except DBAPIError as exc:
                if is_busy(exc.orig):  # SQLite's busy handler waited, up to the deadline of this call or another's
                    left = deadline - time.monotonic()
                    if left <= 0:
                        waited = time.monotonic() - started
                        raise StorageBusyError(str(self.url.database), waited, self.busy_timeout) from exc
                    await asyncio.sleep(min(_FIRST_DELAY, left))
                    continue
                if attempt + 1 == _ATTEMPTS or not self._retryable(exc, progress.stage, idempotent, conflicts):
                    raise self._error(exc, progress.stage) from exc
            except StatementError as exc:
                # A value passed in could not be bound (a naive datetime): the caller's error, shown as such.
                if isinstance(exc.orig, ValueError):
                    raise exc.orig from exc
                raise
            except OSError as exc:
                if attempt + 1 == _ATTEMPTS or progress.stage is not Stage.connect:
                    raise StorageUnavailableError(self.shown_url, self._reason(exc)) from exc
            delay = min(_MAX_DELAY, _FIRST_DELAY * 2**attempt)
            attempt += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def _retryable(
        self, exc: DBAPIError, stage: Stage, idempotent: bool, conflicts: tuple[type[DBAPIError], ...]
    ) -> bool:
        if stage is Stage.connect:
            return True
        if exc.connection_invalidated:
            return stage is Stage.work or idempotent
        return isinstance(exc, conflicts) or self._rolled_back(exc)

    def _rolled_back(self, exc: DBAPIError) -> bool:
        """Whether the server rolled the transaction back for a reason another attempt may not meet."""
        orig = exc.orig
        if self.dialect == "postgresql":
            return getattr(orig, "sqlstate", None) in _PG_RETRY
        if self.dialect in ("mysql", "mariadb"):
            return bool(orig is not None and orig.args and orig.args[0] in _MYSQL_RETRY)
        return self.dialect == "sqlite" and "locked" in str(orig)

    def _error(self, exc: DBAPIError, stage: Stage) -> StorageError:
        reason = self._reason(exc)
        if stage is Stage.connect or exc.connection_invalidated:
            if stage is Stage.commit:
                reason = f"connection lost during COMMIT, the outcome is unknown: {reason}"
            return StorageUnavailableError(self.shown_url, reason)
        return StorageError(f"storage at {self.shown_url} failed: {reason}")

    def _reason(self, exc: BaseException) -> str:
        orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        password = self.url.password
        return text.replace(str(password), "***") if password else text


def _checked(url: str | URL) -> URL:
    """``url`` parsed, with the driver evertask runs it on, of a SQL backend whose dialect SQLAlchemy has."""
    if isinstance(url, str):
        urls.parse(url)  # the clearer message for what SQLAlchemy would only call unparsable
    try:
        parsed = driver_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise InvalidStorageUrlError(str(url), f"SQLAlchemy cannot read it ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "memory":
        raise InvalidStorageUrlError(shown(parsed), "memory:// is MemoryStorage (or storage_from_url), not SqlStorage")
    if backend not in urls.BACKENDS:
        raise InvalidStorageUrlError(shown(parsed), f"evertask has no storage backend {backend!r}")
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise InvalidStorageUrlError(shown(parsed), f"SQLAlchemy has no driver {parsed.drivername!r}") from None
    return parsed
