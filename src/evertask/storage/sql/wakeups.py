"""Cross-process wake-ups on PostgreSQL: a worker LISTENs, and every insert of a task NOTIFYs.

Storing a task and waking a worker are two jobs: the tables carry a statement-level trigger (migration 0002)
that sends one notification per queue per insert statement, whoever the writer is (another worker, a
``SyncClient``, a script in another language); this module is the listening side. Without it a worker still
finds such tasks, within its poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

logger = logging.getLogger("evertask.worker")


def channel_for(schema: str | None) -> str:
    """The NOTIFY channel of the tables in ``schema`` (the trigger builds the same name)."""
    return f"evertask_{schema or 'public'}"


class PostgresWakeups:
    """Listens on ``channel`` and calls ``wake(queue)`` for every notification; reconnects with back-off."""

    def __init__(self, dsn: str, channel: str, wake: Callable[[str], None]) -> None:
        self._dsn = dsn
        self._channel = channel
        self._wake = wake
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        """Set while the LISTEN is in place (tests wait for it before relying on a wake-up)."""

    def start(self) -> None:
        """Start listening in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="evertask-wakeups")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import psycopg  # only PostgreSQL deployments have it (the postgres extra)

        delay = 0.5
        while True:
            try:
                await self._listen()
            except (OSError, psycopg.Error) as exc:
                self.ready.clear()
                logger.warning("listening for new tasks failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _listen(self) -> None:
        import psycopg
        from psycopg import sql

        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self.ready.set()
            async for notification in conn.notifies():
                self._wake(notification.payload)
