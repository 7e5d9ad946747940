"""History: every change of status is recorded with the task, filtered by the audit level."""

from __future__ import annotations

import uuid

import pytest

from evertask.storage import AuditLevel, Storage
from evertask.task import TaskStatus
from tests.contract.conftest import OpenStorage
from tests.contract.helpers import T0, add_one, at, claim_one, outcome

S = TaskStatus


async def run_a_task_that_fails_once(storage: Storage) -> uuid.UUID:
    """queued -> in_progress -> pending (retry, with error) -> in_progress -> completed."""
    task_id = await add_one(storage)
    first = await claim_one(storage, now=at(1))
    await storage.finish([outcome(first, S.pending, now=at(2), error="TimeoutError", next_run=at(3))])
    second = await claim_one(storage, now=at(3))
    await storage.finish([outcome(second, S.completed, now=at(4))])
    return task_id


async def test_every_transition_is_recorded_in_order(storage: Storage) -> None:
    task_id = await run_a_task_that_fails_once(storage)

    changes = [(c.task_id, c.from_status, c.to_status, c.at, c.error) for c in await storage.history(task_id)]

    assert changes == [
        (task_id, None, S.queued, T0, None),
        (task_id, S.queued, S.in_progress, at(1), None),
        (task_id, S.in_progress, S.pending, at(2), "TimeoutError"),
        (task_id, S.pending, S.in_progress, at(3), None),
        (task_id, S.in_progress, S.completed, at(4), None),
    ]
    assert all(change.at.tzinfo is T0.tzinfo for change in await storage.history(task_id))


@pytest.mark.parametrize(
    ("level", "kept"),
    [
        ("minimal", [(S.in_progress, S.pending), (S.in_progress, S.completed)]),
        ("errors", [(S.in_progress, S.pending)]),
        ("none", []),
    ],
)
async def test_audit_level_decides_what_is_kept(
    open_storage: OpenStorage, level: AuditLevel, kept: list[tuple[TaskStatus, TaskStatus]]
) -> None:
    storage = await open_storage(audit=level)

    task_id = await run_a_task_that_fails_once(storage)

    assert [(c.from_status, c.to_status) for c in await storage.history(task_id)] == kept


async def test_history_of_an_unknown_task_is_empty(storage: Storage) -> None:
    assert await storage.history(uuid.uuid4()) == []


async def test_history_belongs_to_its_task_only(storage: Storage) -> None:
    one = await add_one(storage)
    other = await add_one(storage)

    assert [c.task_id for c in await storage.history(one)] == [one]
    assert [c.task_id for c in await storage.history(other)] == [other]
