"""retry, cancel_matching and purge_matching: what an operator does to the tasks a filter names, single or in
bulk, each change in the history with who made it."""

from __future__ import annotations

import uuid

import pytest

from evertask.errors import InvalidFilterError
from evertask.storage import AuditLevel, NewTask, Storage
from evertask.storage.paging import CHUNK
from evertask.storage.records import TaskFilter
from evertask.task import TaskStatus
from tests.contract.conftest import OpenStorage
from tests.contract.helpers import LEASE, OWNER, T0, add_in_status, add_one, at, claim, claim_one, new_task, outcome

S = TaskStatus
OPERATOR = "ops:ann"


def only(*task_ids: uuid.UUID) -> TaskFilter:
    return TaskFilter(ids=frozenset(task_ids))


async def statuses(storage: Storage, *task_ids: uuid.UUID) -> list[TaskStatus | None]:
    records = [await storage.get(task_id) for task_id in task_ids]
    return [None if record is None else record.status for record in records]


async def add_failed(storage: Storage, count: int, *, queue: str = "bulk") -> list[uuid.UUID]:
    """``count`` tasks failed in one go (one add, one claim, one finish)."""
    tasks: list[NewTask] = [new_task(queue=queue) for _ in range(count)]
    await storage.add(tasks)
    records = await claim(storage, queues=(queue,), limit=count)
    assert await storage.finish([outcome(r, S.failed, error="boom") for r in records]) == [True] * count
    return [task.id for task in tasks]


# -- retry ------------------------------------------------------------------------------------------------


async def test_retry_sends_failed_and_cancelled_tasks_back_with_a_fresh_retry_budget(storage: Storage) -> None:
    failed = await add_in_status(storage, S.failed, queue="a")
    cancelled = await add_in_status(storage, S.cancelled, queue="b")
    completed = await add_in_status(storage, S.completed, queue="c")
    waiting = await add_one(storage, queue="d")
    everything = only(failed, cancelled, completed, waiting)

    assert await storage.retry(everything, now=at(50), actor=OPERATOR) == 2

    assert await statuses(storage, failed, cancelled, completed, waiting) == [S.queued, S.queued, S.completed, S.queued]
    record = await storage.get(failed)
    assert record is not None
    assert (record.attempts, record.scheduled_at, record.finished_at) == (0, at(50), None)
    assert record.last_error == "boom"  # kept until an attempt ends with another error
    assert (record.owner, record.lease_until, record.cancel_requested) == (None, None, False)
    again = await claim_one(storage, queues=("a",), now=at(50))
    assert (again.id, again.attempts) == (failed, 1)


async def test_retry_is_recorded_with_its_actor_after_the_earlier_history(storage: Storage) -> None:
    failed = await add_in_status(storage, S.failed)

    await storage.retry(only(failed), now=at(50), actor=OPERATOR)

    history = await storage.history(failed)
    assert [(c.from_status, c.to_status, c.actor) for c in history] == [
        (None, S.queued, None),
        (S.queued, S.in_progress, None),
        (S.in_progress, S.failed, None),
        (S.failed, S.queued, OPERATOR),
    ]
    assert history[-1].at == at(50)


@pytest.mark.parametrize(("audit", "kept"), [("full", True), ("minimal", False), ("none", False)])
async def test_the_retry_history_row_follows_the_audit_level(
    open_storage: OpenStorage, audit: AuditLevel, kept: bool
) -> None:
    storage = await open_storage(audit=audit)
    failed = await add_in_status(storage, S.failed)
    before = len(await storage.history(failed))

    assert await storage.retry(only(failed), now=at(50), actor=OPERATOR) == 1

    history = await storage.history(failed)
    assert len(history) == before + kept
    assert await statuses(storage, failed) == [S.queued]


async def test_a_dry_run_counts_and_changes_nothing(storage: Storage) -> None:
    failed = await add_in_status(storage, S.failed)
    cancelled = await add_in_status(storage, S.cancelled, queue="b")

    assert await storage.retry(TaskFilter(), now=at(50), actor=OPERATOR, dry_run=True) == 2
    assert await storage.cancel_matching(TaskFilter(), now=at(50), actor=OPERATOR, dry_run=True) == 0
    assert await storage.purge_matching(TaskFilter(), dry_run=True) == 2

    assert await statuses(storage, failed, cancelled) == [S.failed, S.cancelled]
    assert len(await storage.history(failed)) == 3


async def test_retry_with_an_edited_payload_replaces_it(storage: Storage) -> None:
    failed = await add_in_status(storage, S.failed)

    assert await storage.retry(only(failed), now=at(50), actor=OPERATOR, payload='{"to": "bob@example.com"}') == 1

    record = await storage.get(failed)
    assert record is not None
    assert (record.status, record.payload) == (S.queued, '{"to": "bob@example.com"}')


@pytest.mark.parametrize(
    ("task_filter", "payload", "message"),
    [
        (TaskFilter(statuses=frozenset({S.failed})), "{}", "exactly one id"),
        (TaskFilter(ids=frozenset({uuid.uuid4(), uuid.uuid4()})), "{}", "exactly one id"),
        (None, "{not json", "not JSON"),
    ],
)
async def test_an_edited_payload_needs_one_task_and_json(
    storage: Storage, task_filter: TaskFilter | None, payload: str, message: str
) -> None:
    failed = await add_in_status(storage, S.failed)

    with pytest.raises(InvalidFilterError, match=message):
        await storage.retry(task_filter or only(failed), now=at(50), actor=OPERATOR, payload=payload)

    record = await storage.get(failed)
    assert record is not None
    assert (record.status, record.payload) == (S.failed, '{"to": "ann@example.com"}')


async def test_bulk_retry_works_through_every_chunk(storage: Storage) -> None:
    failed = await add_failed(storage, CHUNK * 2 + 7)
    other = await add_failed(storage, 3, queue="other")

    retried = await storage.retry(TaskFilter(queues=frozenset({"bulk"})), now=at(50), actor=OPERATOR)

    assert retried == len(failed)
    assert await storage.count(TaskFilter(statuses=frozenset({S.queued}))) == len(failed)
    assert set(await statuses(storage, *other)) == {S.failed}
    assert await storage.retry(TaskFilter(queues=frozenset({"bulk"})), now=at(60), actor=OPERATOR) == 0


async def test_retry_refuses_a_naive_time_in_the_filter(storage: Storage) -> None:
    from datetime import datetime

    with pytest.raises(InvalidFilterError, match="naive"):
        await storage.retry(TaskFilter(finished_before=datetime(2031, 1, 1)), now=T0, actor=None)


# -- cancel -----------------------------------------------------------------------------------------------


async def test_cancel_matching_cancels_waiting_tasks_and_flags_running_ones(storage: Storage) -> None:
    queued = await add_one(storage, queue="a")
    pending = await add_in_status(storage, S.pending, queue="a")
    paused = await add_in_status(storage, S.paused, queue="a", schedule='{"every": 60}')
    running = await add_in_status(storage, S.in_progress, queue="b")
    completed = await add_in_status(storage, S.completed, queue="c")

    cancelled = await storage.cancel_matching(TaskFilter(), now=at(5), actor=OPERATOR)

    assert cancelled == 4
    assert await statuses(storage, queued, pending, paused, running, completed) == [
        S.cancelled,
        S.cancelled,
        S.cancelled,
        S.in_progress,
        S.completed,
    ]
    heartbeat = await storage.heartbeat(owner=OWNER, task_ids=[running], lease_until=at(5) + LEASE)
    assert heartbeat.cancel_requested == frozenset({running})
    change = (await storage.history(queued))[-1]
    assert (change.from_status, change.to_status, change.at, change.actor) == (S.queued, S.cancelled, at(5), OPERATOR)
    record = await storage.get(pending)
    assert record is not None
    assert record.finished_at == at(5)


async def test_cancel_matching_applies_the_filter(storage: Storage) -> None:
    mail = [await add_one(storage, queue="mail") for _ in range(3)]
    other = await add_one(storage, queue="other")

    assert await storage.cancel_matching(TaskFilter(queues=frozenset({"mail"})), now=at(5), actor=None) == 3
    assert await statuses(storage, *mail, other) == [S.cancelled] * 3 + [S.queued]


async def test_cancel_of_one_task_records_its_actor(storage: Storage) -> None:
    task_id = await add_one(storage)

    result = await storage.cancel(task_id, now=at(5), actor=OPERATOR)

    assert result.cancelled
    assert (await storage.history(task_id))[-1].actor == OPERATOR


# -- purge ------------------------------------------------------------------------------------------------


async def test_purge_matching_deletes_final_tasks_with_their_history_and_never_others(storage: Storage) -> None:
    completed = await add_in_status(storage, S.completed, queue="a")
    failed = await add_in_status(storage, S.failed, queue="b")
    running = await add_in_status(storage, S.in_progress, queue="c")
    waiting = await add_one(storage, queue="d")

    everything = TaskFilter(statuses=frozenset(S))
    assert await storage.purge_matching(everything) == 2

    assert await statuses(storage, completed, failed, running, waiting) == [None, None, S.in_progress, S.queued]
    assert await storage.history(completed) == []
    assert await storage.history(failed) == []


async def test_retry_keeps_the_attempt_rows_and_purge_deletes_them(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)
    ended = outcome(record, S.failed, error="boom", ending="failed", started_at=T0, duration=0.5)
    assert await storage.finish([ended]) == [True]

    await storage.retry(only(record.id), now=at(50), actor=OPERATOR)
    again = await claim_one(storage, now=at(50))
    assert await storage.finish([outcome(again, S.completed, now=at(51), ending="completed")]) == [True]
    assert [attempt.outcome for attempt in await storage.attempts(record.id)] == ["failed", "completed"]

    assert await storage.purge_matching(only(record.id)) == 1
    assert await storage.attempts(record.id) == []


async def test_purge_matching_by_status_and_age(storage: Storage) -> None:
    old, recent = [await add_one(storage, queue=q) for q in ("old", "recent")]
    for queue, when in (("old", at(-10 * 86_400)), ("recent", at(-3600))):
        record = await claim_one(storage, queues=(queue,))
        await storage.finish([outcome(record, S.completed, now=when)])
    failed_long_ago = await add_in_status(storage, S.failed, queue="f")

    older_than_a_week = TaskFilter(statuses=frozenset({S.completed}), finished_before=at(-7 * 86_400))
    assert await storage.purge_matching(older_than_a_week, dry_run=True) == 1
    assert await storage.purge_matching(older_than_a_week) == 1

    assert await statuses(storage, old, recent, failed_long_ago) == [None, S.completed, S.failed]


async def test_bulk_purge_works_through_every_chunk(storage: Storage) -> None:
    failed = await add_failed(storage, CHUNK + 5)

    assert await storage.purge_matching(TaskFilter(statuses=frozenset({S.failed}))) == len(failed)
    assert await storage.count(TaskFilter()) == 0
