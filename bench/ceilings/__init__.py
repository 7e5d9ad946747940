"""The physical ceilings: the same work as a workload, done with no library around it.

For memory, a bare ``asyncio.Queue`` between producers and consumers; for SQLite and PostgreSQL, the raw
driver running the statements the backend runs per task (insert, claim, finish, with their history rows).
Every workload divides its figure by the matching ceiling: 1.0 would mean evertask costs nothing.
"""

from __future__ import annotations

from typing import Protocol

from bench.harness import BackendName


class Ceiling(Protocol):
    """The best this machine does for each kind of work a workload measures."""

    what: str
    """One line saying what was measured, for the report."""

    async def lifecycle_rate(self, n: int, producers: int) -> float:
        """Tasks/s from ``producers`` concurrent producers through dispatch, claim and finish."""

    async def insert_rate(self, n: int, batch: int) -> float:
        """Tasks/s stored in batches of ``batch``."""

    async def pickup_latency(self, samples: int, spacing: float) -> list[float]:
        """Seconds from dispatch to start of one task at a time, ``spacing`` seconds apart."""

    async def due_lateness(self, n: int, ahead: float) -> list[float]:
        """Seconds late that ``n`` tasks all due ``ahead`` seconds from now start."""


def ceiling_for(backend: BackendName) -> Ceiling | None:
    """The ceiling of ``backend``, or None where none is implemented (MySQL)."""
    if backend == "memory":
        from bench.ceilings.asyncio_queue import QueueCeiling

        return QueueCeiling()
    if backend in ("sqlite", "postgres"):
        from bench.ceilings.raw_sql import SqlCeiling

        return SqlCeiling(backend)
    return None
