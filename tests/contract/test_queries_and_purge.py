"""list_tasks, count_by_status and purge: what the dashboard reads and what retention removes."""

from __future__ import annotations

from evertask.storage import RetentionPolicy, Storage, TaskQuery
from evertask.task import TaskStatus
from tests.contract.helpers import add_in_status, add_one, at, claim_one, new_task, outcome

DAY = 86_400


async def test_list_is_newest_first_then_latest_dispatched_first(storage: Storage) -> None:
    old = await add_one(storage, created_at=at(-60))
    same_time = await storage.add([new_task(created_at=at(0)), new_task(created_at=at(0))])
    new = await add_one(storage, created_at=at(60))

    listed = [record.id for record in await storage.list_tasks(TaskQuery())]

    assert listed == [new, same_time[1], same_time[0], old]


async def test_list_filters_by_status_queue_type_and_recurrence(storage: Storage) -> None:
    running = await add_in_status(storage, TaskStatus.in_progress)
    mail = await add_one(storage, queue="mail", type="tests.Mail")
    series = await add_one(storage, schedule='{"every": 60}')

    async def ids(**filters: object) -> set[object]:
        return {r.id for r in await storage.list_tasks(TaskQuery(**filters))}  # type: ignore[arg-type]

    assert await ids(statuses=frozenset({TaskStatus.in_progress})) == {running}
    assert await ids(statuses=frozenset({TaskStatus.queued, TaskStatus.in_progress})) == {running, mail, series}
    assert await ids(statuses=frozenset()) == set()
    assert await ids(queue="mail") == {mail}
    assert await ids(type="tests.Mail") == {mail}
    assert await ids(recurring=True) == {series}
    assert await ids(recurring=False) == {running, mail}
    assert await ids(queue="mail", recurring=True) == set()


async def test_list_pages_with_limit_and_offset(storage: Storage) -> None:
    tasks = [new_task(created_at=at(i)) for i in range(7)]
    await storage.add(tasks)
    newest_first = [t.id for t in reversed(tasks)]

    pages = [await storage.list_tasks(TaskQuery(limit=3, offset=offset)) for offset in (0, 3, 6)]

    assert [[r.id for r in page] for page in pages] == [newest_first[0:3], newest_first[3:6], newest_first[6:]]


async def test_count_by_status_overall_and_per_queue(storage: Storage) -> None:
    await add_in_status(storage, TaskStatus.completed)
    await add_in_status(storage, TaskStatus.failed, queue="mail")
    await storage.add([new_task(), new_task(queue="mail")])

    assert await storage.count_by_status() == {TaskStatus.completed: 1, TaskStatus.failed: 1, TaskStatus.queued: 2}
    assert await storage.count_by_status("mail") == {TaskStatus.failed: 1, TaskStatus.queued: 1}
    assert await storage.count_by_status("nowhere") == {}


async def test_purge_deletes_old_final_tasks_with_their_history(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)
    await storage.finish([outcome(record, TaskStatus.completed, now=at(0))])

    removed = await storage.purge(now=at(8 * DAY), policy=RetentionPolicy(completed_tasks_days=7))

    assert removed == 1
    assert await storage.get(record.id) is None
    assert await storage.history(record.id) == []


async def test_purge_keeps_recent_and_unfinished_tasks(storage: Storage) -> None:
    recent = await add_in_status(storage, TaskStatus.completed)
    waiting = await add_one(storage, created_at=at(-30 * DAY), scheduled_at=at(-30 * DAY))
    running = await add_in_status(storage, TaskStatus.in_progress, queue="other")

    assert await storage.purge(now=at(6 * DAY), policy=RetentionPolicy(completed_tasks_days=7)) == 0
    assert await storage.purge(now=at(6 * DAY), policy=RetentionPolicy()) == 0
    for task_id in (recent, waiting, running):
        assert await storage.get(task_id) is not None


async def test_purge_trims_old_history_but_keeps_the_tasks(storage: Storage) -> None:
    task_id = await add_one(storage)
    await claim_one(storage, now=at(3 * DAY))

    removed = await storage.purge(now=at(4 * DAY), policy=RetentionPolicy(history_days=2))

    assert removed == 0
    assert [c.to_status for c in await storage.history(task_id)] == [TaskStatus.in_progress]
    assert await storage.get(task_id) is not None
