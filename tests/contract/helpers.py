"""Building blocks of the contract tests: a fixed clock, new tasks, and tasks brought to a given status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from evertask.storage import NewTask, Outcome, Storage
from evertask.task import TaskRecord, TaskStatus

T0 = datetime(2031, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
"""The tests' "now": microseconds included, so that a backend that rounds times is caught."""
LEASE = timedelta(seconds=30)
OWNER = "worker-1"


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def new_task(**fields: Any) -> NewTask:
    """A new task due at ``T0`` in the default queue; ``fields`` override any attribute."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "type": "tests.SendEmail",
        "payload": '{"to": "ann@example.com"}',
        "queue": "default",
        "created_at": T0,
        "scheduled_at": T0,
    }
    return NewTask(**(values | fields))


async def add_one(storage: Storage, **fields: Any) -> uuid.UUID:
    """Add one task (see :func:`new_task`) and return its id."""
    [task_id] = await storage.add([new_task(**fields)])
    return task_id


async def claim(
    storage: Storage,
    *,
    owner: str = OWNER,
    queues: tuple[str, ...] = ("default",),
    now: datetime = T0,
    limit: int = 100,
) -> list[TaskRecord]:
    """The tasks ``owner`` claims at ``now``."""
    result = await storage.claim(owner=owner, queues=queues, now=now, limit=limit, lease_until=now + LEASE)
    return result.tasks


async def claim_one(storage: Storage, **options: Any) -> TaskRecord:
    """Claim exactly one task."""
    [record] = await claim(storage, limit=1, **options)
    return record


def outcome(record: TaskRecord, status: TaskStatus, *, now: datetime = T0, **fields: Any) -> Outcome:
    """The outcome of ``record``'s attempt, from the owner that holds it, numbered as the engine numbers it."""
    assert record.owner is not None
    numbers = {"attempt": record.attempts, "run": record.run_count}
    return Outcome(record.id, record.owner, record.fence, status, now, **(numbers | fields))


async def add_in_status(storage: Storage, status: TaskStatus, **fields: Any) -> uuid.UUID:
    """Add a task and bring it to ``status`` the way the engine would (claiming it from its queue: add it
    before other due tasks of that queue)."""
    if status is TaskStatus.pending:
        return await add_one(storage, status=TaskStatus.pending, scheduled_at=at(3600), **fields)
    task_id = await add_one(storage, **fields)
    if status is TaskStatus.queued:
        return task_id
    if status is TaskStatus.paused:
        assert await storage.reschedule(task_id, now=T0, scheduled_at=at(3600), status=TaskStatus.paused)
        return task_id
    record = await claim_one(storage, queues=(fields.get("queue", "default"),))
    assert record.id == task_id
    if status is not TaskStatus.in_progress:
        error = "boom" if status is TaskStatus.failed else None
        assert await storage.finish([outcome(record, status, error=error)]) == [True]
    return task_id


WAITING = (TaskStatus.pending, TaskStatus.queued, TaskStatus.service_stopped)
FINAL = (TaskStatus.completed, TaskStatus.failed, TaskStatus.cancelled)
