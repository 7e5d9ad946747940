"""Paused queues: no claim takes their tasks, on any storage sharing the database; dispatch still stores into
them and their waiting tasks keep their status until the queue is resumed."""

from __future__ import annotations

from evertask.storage import Storage, TaskQuery
from evertask.storage.records import QueueState
from evertask.task import TaskStatus
from tests.contract.helpers import T0, add_in_status, add_one, at, claim, claim_one, outcome

S = TaskStatus


async def test_a_paused_queue_is_not_claimed_and_reports_no_due_time(storage: Storage) -> None:
    waiting = await add_one(storage, queue="mail")
    await storage.set_queue_paused("mail", paused=True, now=T0, actor="ann")

    result = await storage.claim(owner="w", queues=["mail"], now=at(1), limit=10, lease_until=at(60))

    assert (result.tasks, result.next_due) == ([], None)
    record = await storage.get(waiting)
    assert record is not None
    assert record.status is S.queued


async def test_a_resumed_queue_is_claimed_again(storage: Storage) -> None:
    task_id = await add_one(storage, queue="mail")
    await storage.set_queue_paused("mail", paused=True, now=T0, actor=None)

    await storage.set_queue_paused("mail", paused=False, now=at(1), actor=None)

    assert [r.id for r in await claim(storage, queues=("mail",), now=at(2))] == [task_id]


async def test_dispatch_stores_into_a_paused_queue(storage: Storage) -> None:
    await storage.set_queue_paused("mail", paused=True, now=T0, actor=None)

    task_id = await add_one(storage, queue="mail")
    delayed = await add_one(storage, queue="mail", status=S.pending, scheduled_at=at(30))

    assert [record.status for record in await storage.list_tasks(TaskQuery(queue="mail"))] == [S.pending, S.queued]
    assert {task_id, delayed} == {record.id for record in await storage.list_tasks(TaskQuery(queue="mail"))}


async def test_other_queues_are_claimed_as_usual(storage: Storage) -> None:
    await add_one(storage, queue="mail")
    other = await add_one(storage, queue="reports")
    later = await add_one(storage, queue="reports", status=S.pending, scheduled_at=at(30))
    await storage.set_queue_paused("mail", paused=True, now=T0, actor=None)

    result = await storage.claim(owner="w", queues=["mail", "reports"], now=at(1), limit=10, lease_until=at(60))

    assert [r.id for r in result.tasks] == [other]
    assert result.next_due == at(30)
    assert later not in [r.id for r in result.tasks]


async def test_a_pause_set_by_one_storage_holds_for_another(storage: Storage, second_storage: Storage) -> None:
    await add_one(storage, queue="mail")

    await second_storage.set_queue_paused("mail", paused=True, now=T0, actor="ops")

    assert await claim(storage, queues=("mail",), now=at(1)) == []


async def test_tasks_claimed_before_the_pause_finish_normally(storage: Storage) -> None:
    await add_one(storage, queue="mail")
    record = await claim_one(storage, queues=("mail",))
    await storage.set_queue_paused("mail", paused=True, now=at(1), actor=None)

    assert await storage.finish([outcome(record, S.completed, now=at(2))]) == [True]


async def test_a_retry_due_in_a_paused_queue_waits_for_the_resume(storage: Storage) -> None:
    task_id = await add_in_status(storage, S.in_progress, queue="mail")
    record = await storage.get(task_id)
    assert record is not None
    await storage.finish([outcome(record, S.pending, now=at(1), next_run=at(5), error="boom")])
    await storage.set_queue_paused("mail", paused=True, now=at(2), actor=None)

    assert await claim(storage, queues=("mail",), now=at(10)) == []
    await storage.set_queue_paused("mail", paused=False, now=at(11), actor=None)
    [again] = await claim(storage, queues=("mail",), now=at(12))

    assert (again.id, again.attempts) == (task_id, 2)


async def test_queue_states_say_who_changed_what_when(storage: Storage) -> None:
    await storage.set_queue_paused("mail", paused=True, now=T0, actor="ann")
    await storage.set_queue_paused("reports", paused=True, now=at(1), actor=None)
    await storage.set_queue_paused("reports", paused=False, now=at(2), actor="bob")
    await storage.set_queue_paused("mail", paused=True, now=at(3), actor="carl")

    assert await storage.queue_states() == [
        QueueState("mail", True, at(3), "carl"),
        QueueState("reports", False, at(2), "bob"),
    ]
    assert all(state.changed_at.tzinfo is T0.tzinfo for state in await storage.queue_states())


async def test_no_queue_is_paused_at_first(storage: Storage) -> None:
    assert await storage.queue_states() == []
