"""SQLite's claim reads the due tasks it takes, not every task waiting in the queue.

The work is counted in SQLite's own VM instructions (``set_progress_handler``), not timed: the count is the
same on any machine, and a claim that scanned the tasks held for later would take hundreds of times more.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evertask.ids import new_task_id
from evertask.storage.audit import AuditFilter
from evertask.storage.base import NewTask
from evertask.storage.sql import SqliteStorage, sqlite_direct

NOW = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
HELD = 20_000


def task(queue: str, due: datetime, priority: int = 0) -> NewTask:
    return NewTask(new_task_id(), "tests.Noop", "{}", queue, NOW, due, priority=priority)


def claim_cost(db: sqlite3.Connection, queues: list[str], limit: int) -> tuple[int, list[int]]:
    """Thousands of VM instructions one claim took, and the priorities it claimed in order."""
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    db.set_progress_handler(tick, 1_000)
    db.execute("BEGIN IMMEDIATE")
    result = sqlite_direct.claim(
        db, AuditFilter("full"), owner="w", queues=queues, now=NOW, limit=limit, lease_until=NOW + timedelta(1)
    )
    db.execute("ROLLBACK")
    db.set_progress_handler(None, 0)
    return ticks, [record.priority for record in result.tasks]


async def test_a_claim_does_not_read_the_tasks_held_for_later(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    storage = SqliteStorage(path)
    await storage.open()
    later = NOW + timedelta(hours=1)
    for _ in range(HELD // 1000):
        await storage.add([task("default", later, priority=p % 3) for p in range(1000)])
    await storage.add([task("default", NOW, priority=p) for p in (0, 2, 1)] + [task("other", NOW)])
    await storage.close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # Fewer due than asked for: the case where one query over all priorities read every held task.
        ticks, priorities = claim_cost(db, ["default"], limit=16)
        assert priorities == [2, 1, 0]
        assert ticks < 10, f"{ticks}k VM instructions: the claim scanned the {HELD:,} tasks held for later"
        ticks, priorities = claim_cost(db, ["default", "other"], limit=16)
        assert priorities == [2, 1, 0, 0]
        assert ticks < 10, f"{ticks}k VM instructions: the claim scanned the {HELD:,} tasks held for later"
    finally:
        db.close()
