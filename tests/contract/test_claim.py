"""claim: due tasks only, in priority / due time / dispatch order, never to two owners at once."""

from __future__ import annotations

import asyncio

from evertask.storage import Storage
from evertask.task import TaskStatus
from tests.contract.helpers import LEASE, OWNER, T0, add_in_status, add_one, at, claim, new_task


async def test_claim_order_is_priority_then_due_time_then_dispatch_order(storage: Storage) -> None:
    tasks = [
        new_task(payload="late", scheduled_at=at(-1)),
        new_task(payload="early-second", scheduled_at=at(-5)),
        new_task(payload="urgent", scheduled_at=at(0), priority=10),
        new_task(payload="early-first", scheduled_at=at(-5), created_at=at(-9)),
        new_task(payload="low", scheduled_at=at(-100), priority=-1),
    ]
    await storage.add(tasks[:3])
    await storage.add(tasks[3:])

    claimed = [record.payload for record in await claim(storage)]

    assert claimed == ["urgent", "early-second", "early-first", "late", "low"]


async def test_claim_in_small_batches_keeps_the_order(storage: Storage) -> None:
    tasks = [new_task(payload=str(i), priority=i % 3) for i in range(12)]
    await storage.add(tasks)
    expected = [t.payload for t in sorted(tasks, key=lambda t: -t.priority)]

    claimed = [record.payload for _ in range(4) for record in await claim(storage, limit=3)]

    assert claimed == expected


async def test_claim_takes_only_due_tasks(storage: Storage) -> None:
    due = await add_one(storage, scheduled_at=at(-1))
    await add_one(storage, status=TaskStatus.pending, scheduled_at=at(1))

    assert [record.id for record in await claim(storage)] == [due]


async def test_a_task_due_exactly_now_is_claimed(storage: Storage) -> None:
    task_id = await add_one(storage, status=TaskStatus.pending, scheduled_at=T0)

    assert [record.id for record in await claim(storage, now=T0)] == [task_id]


async def test_claim_respects_the_limit(storage: Storage) -> None:
    await storage.add([new_task() for _ in range(5)])

    assert len(await claim(storage, limit=2)) == 2
    assert len(await claim(storage, limit=0)) == 0
    assert len(await claim(storage, limit=10)) == 3


async def test_claim_takes_only_the_given_queues(storage: Storage) -> None:
    mail = await add_one(storage, queue="mail")
    reports = await add_one(storage, queue="reports")
    await add_one(storage, queue="other")

    assert {r.id for r in await claim(storage, queues=("mail", "reports"))} == {mail, reports}
    assert await claim(storage, queues=()) == []


async def test_claimed_task_is_in_progress_under_its_owner_and_lease(storage: Storage) -> None:
    task_id = await add_one(storage, scheduled_at=at(-3))

    [record] = await claim(storage, now=at(1))

    assert record.id == task_id
    assert (record.status, record.owner, record.lease_until) == (TaskStatus.in_progress, OWNER, at(1) + LEASE)
    assert (record.started_at, record.attempts, record.fence) == (at(1), 1, 1)
    assert await storage.get(task_id) == record


async def test_claim_counts_attempts_and_fences_across_claims(storage: Storage) -> None:
    task_id = await add_in_status(storage, TaskStatus.service_stopped)

    [record] = await claim(storage, now=at(1))

    assert record.id == task_id
    assert record.fence == 2


async def test_paused_and_final_tasks_are_never_claimed(storage: Storage) -> None:
    await add_in_status(storage, TaskStatus.paused)
    await add_in_status(storage, TaskStatus.completed)

    assert await claim(storage, now=at(7200)) == []


async def test_concurrent_claims_never_share_a_task(storage: Storage) -> None:
    tasks = [new_task() for _ in range(40)]
    await storage.add(tasks)

    batches = await asyncio.gather(*(claim(storage, owner=f"w{i}", limit=5) for i in range(10)))

    ids = [record.id for batch in batches for record in batch]
    assert len(ids) == len(set(ids)) == 40
    assert all(record.owner == f"w{i}" for i, batch in enumerate(batches) for record in batch)


async def test_claims_from_two_storages_never_share_a_task(storage: Storage, second_storage: Storage) -> None:
    await storage.add([new_task() for _ in range(60)])

    batches = await asyncio.gather(
        *(claim(s, owner=f"{n}-{i}", limit=4) for i in range(10) for n, s in enumerate((storage, second_storage)))
    )

    ids = [record.id for batch in batches for record in batch]
    assert len(ids) == len(set(ids)) == 60


async def test_next_due_is_the_earliest_waiting_task_left(storage: Storage) -> None:
    await storage.add([new_task(), new_task(scheduled_at=at(-2))])
    await add_one(storage, status=TaskStatus.pending, scheduled_at=at(30))
    await add_one(storage, status=TaskStatus.pending, scheduled_at=at(20), queue="other")

    first = await storage.claim(owner=OWNER, queues=["default"], now=T0, limit=1, lease_until=at(30))
    assert first.next_due == T0, "a due task is left: the worker should claim again at once"
    second = await storage.claim(owner=OWNER, queues=["default"], now=T0, limit=5, lease_until=at(30))
    assert second.next_due == at(30)
    both = await storage.claim(owner=OWNER, queues=["default", "other"], now=T0, limit=0, lease_until=at(30))
    assert both.next_due == at(20)


async def test_next_due_is_none_without_waiting_tasks(storage: Storage) -> None:
    await add_in_status(storage, TaskStatus.in_progress)
    await add_in_status(storage, TaskStatus.paused)

    result = await storage.claim(owner=OWNER, queues=["default"], now=T0, limit=5, lease_until=at(30))

    assert (result.tasks, result.next_due) == ([], None)
