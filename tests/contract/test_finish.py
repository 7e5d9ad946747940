"""finish: an attempt's outcome is written only while its owner and fence still hold the claim."""

from __future__ import annotations

import dataclasses

import pytest

from evertask.storage import Storage
from evertask.task import TaskStatus
from tests.contract.helpers import T0, add_one, at, claim, claim_one, new_task, outcome


async def test_completed_attempt_is_final_and_releases_the_claim(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    assert await storage.finish([outcome(record, TaskStatus.completed, now=at(2))]) == [True]

    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.finished_at, after.owner, after.lease_until) == (
        TaskStatus.completed,
        at(2),
        None,
        None,
    )
    assert (after.attempts, after.fence, after.started_at) == (1, 1, T0)


async def test_failed_attempt_keeps_its_error(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, TaskStatus.failed, error="ValueError: bad address")])

    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.last_error) == (TaskStatus.failed, "ValueError: bad address")


async def test_outcome_from_another_owner_is_ignored(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    stranger = dataclasses.replace(outcome(record, TaskStatus.completed), owner="worker-2")

    assert await storage.finish([stranger]) == [False]
    assert await storage.get(record.id) == record


async def test_outcome_with_a_stale_fence_is_ignored(storage: Storage) -> None:
    await add_one(storage)
    first = await claim_one(storage)
    await storage.recover_expired(now=at(3600), max_recoveries=5)
    second = await claim_one(storage, now=at(3600))

    assert await storage.finish([outcome(first, TaskStatus.completed)]) == [False]
    assert await storage.get(second.id) == second
    assert await storage.finish([outcome(second, TaskStatus.completed)]) == [True]


async def test_outcome_for_a_task_no_longer_running_is_ignored(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)
    done = outcome(record, TaskStatus.completed)

    assert await storage.finish([done, done]) == [True, False]
    assert await storage.finish([done]) == [False]


async def test_retry_returns_to_pending_at_next_run_keeping_the_attempt(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, TaskStatus.pending, error="TimeoutError", next_run=at(30))])

    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.scheduled_at, after.attempts) == (TaskStatus.pending, at(30), 1)
    assert (after.last_error, after.finished_at, after.owner) == ("TimeoutError", None, None)
    assert await claim(storage, now=at(29)) == []
    [again] = await claim(storage, now=at(30))
    assert (again.attempts, again.fence, again.last_error) == (2, 2, "TimeoutError")


async def test_finished_run_of_a_series_counts_the_run_and_restarts_attempts(storage: Storage) -> None:
    await add_one(storage, schedule='{"every": 60}')
    record = await claim_one(storage)

    await storage.finish([outcome(record, TaskStatus.pending, now=at(1), next_run=at(60), run_finished=True)])

    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.scheduled_at, after.run_count, after.last_run_at) == (
        TaskStatus.pending,
        at(60),
        1,
        at(1),
    )
    assert (after.attempts, after.finished_at) == (0, None)


async def test_last_run_of_a_series_is_final(storage: Storage) -> None:
    await add_one(storage, schedule='{"every": 60}')
    record = await claim_one(storage)

    await storage.finish([outcome(record, TaskStatus.completed, now=at(1), run_finished=True)])

    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.run_count, after.finished_at, after.attempts) == (TaskStatus.completed, 1, at(1), 0)


async def test_service_stopped_task_is_claimable_again(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, TaskStatus.service_stopped, now=at(1))])

    stopped = await storage.get(record.id)
    assert stopped is not None
    assert (stopped.status, stopped.attempts, stopped.owner) == (TaskStatus.service_stopped, 1, None)
    [again] = await claim(storage, now=at(2))
    assert (again.id, again.attempts, again.fence) == (record.id, 2, 2)


@pytest.mark.parametrize("status", [TaskStatus.service_stopped, TaskStatus.pending])
async def test_refunded_attempt_does_not_count(storage: Storage, status: TaskStatus) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    await storage.finish([outcome(record, status, now=at(1), next_run=at(1), attempt_refunded=True)])

    [again] = await claim(storage, now=at(2))
    assert (again.id, again.attempts, again.fence) == (record.id, 1, 2)


async def test_finish_clears_a_cancel_request(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)
    await storage.cancel(record.id, now=at(1))

    await storage.finish([outcome(record, TaskStatus.cancelled, error="cancelled by request")])

    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.cancel_requested) == (TaskStatus.cancelled, False)


async def test_batch_reports_each_outcome_on_its_own(storage: Storage) -> None:
    await storage.add([new_task() for _ in range(3)])
    first, second, third = await claim(storage)
    stale = dataclasses.replace(outcome(second, TaskStatus.completed), fence=0)

    applied = await storage.finish(
        [outcome(first, TaskStatus.completed), stale, outcome(third, TaskStatus.failed, error="x")]
    )

    assert applied == [True, False, True]
    statuses = [(await storage.get(r.id)).status for r in (first, second, third)]  # type: ignore[union-attr]
    assert statuses == [TaskStatus.completed, TaskStatus.in_progress, TaskStatus.failed]


async def test_in_one_batch_only_the_first_outcome_of_an_attempt_applies(storage: Storage) -> None:
    # One statement applies a whole batch on PostgreSQL: a stale outcome listed before the live one, and a second
    # outcome for the same attempt, must be judged as if the outcomes were applied one by one.
    await add_one(storage)
    record = await claim_one(storage)
    stale = dataclasses.replace(outcome(record, TaskStatus.failed, error="stale"), fence=0)

    applied = await storage.finish(
        [stale, outcome(record, TaskStatus.completed), outcome(record, TaskStatus.failed, error="again")]
    )

    assert applied == [False, True, False]
    after = await storage.get(record.id)
    assert after is not None
    assert (after.status, after.last_error) == (TaskStatus.completed, None)
    assert [change.to_status for change in await storage.history(record.id)][-1] == TaskStatus.completed
