"""Aggregates that are costly on a large database (counts by queue and status, throughput, percentiles), kept
for a moment so that a page answers at once whatever the table holds.

A snapshot that cost little to read (under :data:`CHEAP` seconds: a database of thousands of tasks) is read
again for every page, so small deployments always see the exact figures. A costly one is served as it is for
a few times its cost, then served while a fresh one is read behind it (the pages are told when that one is
ready, and refresh); an action taken in the dashboard drops every snapshot, so the page after it is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from evertask.ops import Operations, QueueInfo, RecurringSeries, Stats

logger = logging.getLogger("evertask.web")
T = TypeVar("T")

CHEAP = 0.05
"""Seconds under which a snapshot is read fresh for every page."""
KEEP_FOR = 5.0
"""A costly snapshot is served for this many times what it cost to read, before it is read again."""


class Snapshot(Generic[T]):
    """One aggregate, read by ``load``; ``refreshed`` is called when a fresh one replaced a stale one that
    pages were shown."""

    def __init__(self, name: str, load: Callable[[], Awaitable[T]], refreshed: Callable[[], None]) -> None:
        self._name = name
        self._load = load
        self._refreshed = refreshed
        self._value: T | None = None
        self._read_at = 0.0
        self._cost = 0.0
        self._reading: asyncio.Task[None] | None = None

    @property
    def age(self) -> float:
        """Seconds since the value served was read (0 for a value read for this request)."""
        return 0.0 if self._value is None else max(0.0, time.monotonic() - self._read_at)

    async def get(self) -> T:
        """The aggregate: fresh when it is cheap, when there is none yet, or after :meth:`drop`; otherwise the
        one kept, with a fresh one read behind it once it is older than :data:`KEEP_FOR` times its cost."""
        value = self._value
        if value is None or self._cost < CHEAP:
            return await self._read()
        if time.monotonic() - self._read_at >= self._cost * KEEP_FOR and self._reading is None:
            self._reading = asyncio.get_running_loop().create_task(self._read_behind())
        return value

    def drop(self) -> None:
        """Forget the kept value: the next page reads a fresh one (after an action that changed it)."""
        self._value = None

    async def close(self) -> None:
        """Stop a read behind the pages (the app stops: its storage is about to close)."""
        reading = self._reading
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _read(self) -> T:
        started = time.monotonic()
        value = await self._load()
        self._cost = time.monotonic() - started
        self._value, self._read_at = value, started
        return value

    async def _read_behind(self) -> None:
        try:
            await self._read()
        except Exception as exc:  # the pages keep the value they have; the next one tries again
            logger.warning("dashboard: reading %s failed: %s", self._name, type(exc).__name__)
            return
        finally:
            self._reading = None
        self._refreshed()


class Aggregates:
    """The snapshots the overview, queues and recurring pages read."""

    def __init__(self, ops: Operations, refreshed: Callable[[], None]) -> None:
        self.stats: Snapshot[Stats] = Snapshot("statistics", ops.stats, refreshed)
        self.queues: Snapshot[list[QueueInfo]] = Snapshot("queues", ops.queues, refreshed)
        self.recurring: Snapshot[list[RecurringSeries]] = Snapshot("recurring series", ops.recurring, refreshed)

    def drop(self) -> None:
        """Forget every snapshot (an action changed what they count)."""
        for snapshot in self._all:
            snapshot.drop()

    async def close(self) -> None:
        """Stop the reads behind the pages."""
        for snapshot in self._all:
            await snapshot.close()

    @property
    def _all(self) -> tuple[Snapshot[Any], ...]:
        return (self.stats, self.queues, self.recurring)
