"""Attempts: each execution of a task leaves a row (number, run, worker, times, how it ended, its error), written
by ``finish`` and by recovery in the same transaction as the task's change, and kept as the audit level says."""

from __future__ import annotations

import uuid

import pytest

from evertask.storage import AuditLevel, RetentionPolicy, Storage
from evertask.storage.records import AttemptRecord
from evertask.task import TaskStatus
from tests.contract.conftest import OpenStorage
from tests.contract.helpers import OWNER, T0, add_one, at, claim, claim_one, new_task, outcome

S = TaskStatus
TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad address'


async def fail_then_complete(storage: Storage) -> uuid.UUID:
    """First execution fails with a retry to come, the second completes."""
    task_id = await add_one(storage)
    first = await claim_one(storage, now=at(1))
    failed = outcome(
        first,
        S.pending,
        now=at(3),
        next_run=at(10),
        error=TRACEBACK,
        ending="retrying",
        started_at=at(1.5),
        duration=1.25,
        error_type="ValueError",
        error_message="bad address",
    )
    assert await storage.finish([failed]) == [True]
    second = await claim_one(storage, now=at(10))
    done = outcome(second, S.completed, now=at(12), ending="completed", started_at=at(10.5), duration=0.5)
    assert await storage.finish([done]) == [True]
    return task_id


async def test_each_execution_has_a_row_oldest_first(storage: Storage) -> None:
    task_id = await fail_then_complete(storage)

    assert await storage.attempts(task_id) == [
        AttemptRecord(task_id, 1, 0, OWNER, at(1.5), at(3), 1.25, "retrying", "ValueError", "bad address", TRACEBACK),
        AttemptRecord(task_id, 2, 0, OWNER, at(10.5), at(12), 0.5, "completed"),
    ]
    assert all(
        a.started_at.tzinfo is T0.tzinfo and a.finished_at.tzinfo is T0.tzinfo for a in await storage.attempts(task_id)
    )


async def test_rows_of_one_batch_go_to_their_own_tasks(storage: Storage) -> None:
    await storage.add([new_task(), new_task()])
    one, other = await claim(storage)

    await storage.finish(
        [
            outcome(one, S.completed, now=at(1), ending="completed", duration=0.1),
            outcome(other, S.failed, now=at(2), ending="failed", error="boom", error_type="RuntimeError"),
        ]
    )

    [first] = await storage.attempts(one.id)
    [second] = await storage.attempts(other.id)
    assert (first.outcome, first.finished_at, first.duration, first.error_type) == ("completed", at(1), 0.1, None)
    assert (second.outcome, second.finished_at, second.traceback, second.error_type) == (
        "failed",
        at(2),
        "boom",
        "RuntimeError",
    )


async def test_an_outcome_without_an_ending_writes_no_row(storage: Storage) -> None:
    """A rate-limit deferral never ran the handler: the task moves on, no attempt is recorded."""
    task_id = await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, S.pending, next_run=at(5), attempt_refunded=True)])

    assert await storage.attempts(task_id) == []
    after = await storage.get(task_id)
    assert after is not None
    assert after.status is S.pending


async def test_a_stale_outcome_writes_no_row(storage: Storage) -> None:
    task_id = await add_one(storage)
    first = await claim_one(storage)
    await storage.recover_expired(now=at(3600), max_recoveries=5)
    second = await claim_one(storage, now=at(3600))

    assert await storage.finish([outcome(first, S.completed, ending="completed")]) == [False]
    assert await storage.finish([outcome(second, S.completed, now=at(3601), ending="completed")]) == [True]

    assert [(a.attempt, a.outcome) for a in await storage.attempts(task_id)] == [(1, "lost"), (2, "completed")]


async def test_attempt_numbers_are_those_of_the_claim_also_when_the_attempt_is_refunded(storage: Storage) -> None:
    """A shutdown gives the attempt back (``attempts`` goes down), but the row keeps the number it ran as."""
    task_id = await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, S.service_stopped, attempt_refunded=True, ending="interrupted")])

    [row] = await storage.attempts(task_id)
    assert (row.attempt, row.outcome) == (1, "interrupted")
    after = await storage.get(task_id)
    assert after is not None
    assert after.attempts == 0


async def test_runs_of_a_recurring_series_are_numbered(storage: Storage) -> None:
    task_id = await add_one(storage, schedule='{"every": 60}')
    for run in range(2):
        record = await claim_one(storage, now=at(60 * run))
        finished = outcome(
            record, S.pending, now=at(60 * run + 1), next_run=at(60 * run + 60), run_finished=True, ending="completed"
        )
        assert await storage.finish([finished]) == [True]

    assert [(a.run, a.attempt, a.finished_at) for a in await storage.attempts(task_id)] == [
        (0, 1, at(1)),
        (1, 1, at(61)),
    ]


async def test_a_start_not_given_is_the_claim_time(storage: Storage) -> None:
    task_id = await add_one(storage)
    record = await claim_one(storage, now=at(7))

    await storage.finish([outcome(record, S.cancelled, now=at(9), ending="cancelled", error="cancelled by request")])

    [row] = await storage.attempts(task_id)
    assert (row.started_at, row.finished_at, row.outcome) == (at(7), at(9), "cancelled")


async def test_recovery_writes_a_lost_row_for_the_dead_workers_execution(storage: Storage) -> None:
    task_id = await add_one(storage)
    await claim_one(storage, now=at(1))

    await storage.recover_expired(now=at(3600), max_recoveries=0)

    assert await storage.attempts(task_id) == [
        AttemptRecord(
            task_id,
            1,
            0,
            OWNER,
            at(1),
            at(3600),
            0.0,
            "lost",
            None,
            "abandoned: its worker stopped responding 1 times",
        )
    ]


async def test_recovery_to_pending_is_lost_too(storage: Storage) -> None:
    task_id = await add_one(storage)
    await claim_one(storage)

    await storage.recover_expired(now=at(3600), max_recoveries=5)

    [row] = await storage.attempts(task_id)
    assert (row.outcome, row.worker, row.error_message) == ("lost", OWNER, "lease expired: worker presumed dead")


@pytest.mark.parametrize(
    ("level", "kept"),
    [
        ("full", ["retrying", "completed"]),
        ("minimal", ["retrying", "completed"]),
        ("errors", ["retrying"]),
        ("none", []),
    ],
)
async def test_audit_level_decides_which_attempts_are_kept(
    open_storage: OpenStorage, level: AuditLevel, kept: list[str]
) -> None:
    storage = await open_storage(audit=level)

    task_id = await fail_then_complete(storage)

    assert [a.outcome for a in await storage.attempts(task_id)] == kept


async def test_attempts_of_an_unknown_task_are_empty(storage: Storage) -> None:
    assert await storage.attempts(uuid.uuid4()) == []


async def test_purged_tasks_take_their_attempts_with_them(storage: Storage) -> None:
    task_id = await fail_then_complete(storage)

    await storage.purge(now=at(10 * 86400), policy=RetentionPolicy(completed_tasks_days=1))

    assert await storage.attempts(task_id) == []


async def test_history_retention_applies_to_attempts(storage: Storage) -> None:
    task_id = await add_one(storage, schedule='{"every": 60}')
    for finished_at in (at(1), at(5 * 86400)):
        record = await claim_one(storage, now=finished_at)
        done = outcome(record, S.pending, now=finished_at, next_run=finished_at, run_finished=True, ending="completed")
        await storage.finish([done])

    await storage.purge(now=at(6 * 86400), policy=RetentionPolicy(history_days=2))

    assert [a.finished_at for a in await storage.attempts(task_id)] == [at(5 * 86400)]


async def test_a_key_reused_after_a_final_task_starts_with_no_attempts(storage: Storage) -> None:
    old = await add_one(storage, key="report")
    record = await claim_one(storage)
    await storage.finish([outcome(record, S.completed, ending="completed")])

    new = await add_one(storage, key="report")

    assert new != old
    assert await storage.attempts(old) == []
    assert await storage.attempts(new) == []


async def test_the_engines_history_rows_have_no_actor(storage: Storage) -> None:
    task_id = await fail_then_complete(storage)

    assert {change.actor for change in await storage.history(task_id)} == {None}
