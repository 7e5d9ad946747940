"""The worker registry: live workers register, heartbeat and unregister; dead ones are pruned."""

from __future__ import annotations

from dataclasses import replace

from evertask.storage import Storage
from evertask.storage.records import WorkerInfo
from evertask.task import TaskStatus
from tests.contract.helpers import OWNER, T0, add_one, at, claim, claim_one, new_task, outcome

INFO = WorkerInfo(OWNER, "host-a", 4242, ("default", "mail"), T0, T0, "1.2.3")


async def test_a_registered_worker_is_listed(storage: Storage) -> None:
    await storage.register_worker(INFO)

    assert await storage.list_workers() == [INFO]
    [listed] = await storage.list_workers()
    assert (listed.started_at.tzinfo, listed.last_heartbeat.tzinfo) == (T0.tzinfo, T0.tzinfo)


async def test_workers_are_listed_by_id_with_the_tasks_they_run(storage: Storage) -> None:
    other = replace(INFO, id="worker-0", queues=())
    await storage.register_worker(INFO)
    await storage.register_worker(other)
    await storage.add([new_task(), new_task(), new_task()])
    first, second = await claim(storage, limit=2)
    await storage.finish([outcome(first, TaskStatus.completed)])

    assert await storage.list_workers() == [other, replace(INFO, running=1)]
    assert second.owner == OWNER


async def test_registering_again_replaces_the_row(storage: Storage) -> None:
    await storage.register_worker(INFO)

    restarted = replace(INFO, pid=99, queues=("reports",), started_at=at(5), last_heartbeat=at(5), version="2.0")
    await storage.register_worker(restarted)

    assert await storage.list_workers() == [restarted]


async def test_registering_the_same_row_twice_keeps_one(storage: Storage) -> None:
    """An update that changes nothing still finds the row (MySQL counts such rows as unchanged)."""
    await storage.register_worker(INFO)
    await storage.register_worker(INFO)
    await storage.heartbeat(owner=OWNER, task_ids=[], lease_until=at(40), now=T0)

    assert await storage.list_workers() == [INFO]
    assert (await storage.heartbeat(owner=OWNER, task_ids=[], lease_until=at(40), now=T0)).worker_found


async def test_an_unregistered_worker_is_gone(storage: Storage) -> None:
    await storage.register_worker(INFO)

    await storage.unregister_worker(OWNER)
    await storage.unregister_worker("never-registered")

    assert await storage.list_workers() == []


async def test_a_heartbeat_refreshes_the_worker_also_without_tasks(storage: Storage) -> None:
    await storage.register_worker(INFO)

    result = await storage.heartbeat(owner=OWNER, task_ids=[], lease_until=at(40), now=at(10))

    assert result.worker_found
    assert [w.last_heartbeat for w in await storage.list_workers()] == [at(10)]


async def test_a_heartbeat_with_tasks_refreshes_the_worker_too(storage: Storage) -> None:
    await storage.register_worker(INFO)
    await add_one(storage)
    record = await claim_one(storage)

    result = await storage.heartbeat(owner=OWNER, task_ids=[record.id], lease_until=at(40), now=at(10))

    assert (result.worker_found, result.lost) == (True, frozenset())
    assert [(w.last_heartbeat, w.running) for w in await storage.list_workers()] == [(at(10), 1)]


async def test_a_heartbeat_tells_a_worker_missing_from_the_registry(storage: Storage) -> None:
    result = await storage.heartbeat(owner=OWNER, task_ids=[], lease_until=at(40), now=at(10))

    assert not result.worker_found
    assert await storage.list_workers() == []


async def test_a_heartbeat_without_now_leaves_the_registry_alone(storage: Storage) -> None:
    await storage.register_worker(INFO)

    result = await storage.heartbeat(owner=OWNER, task_ids=[], lease_until=at(40))

    assert result.worker_found
    assert await storage.list_workers() == [INFO]


async def test_pruning_removes_the_silent_workers_only(storage: Storage, second_storage: Storage) -> None:
    silent = replace(INFO, id="worker-0", last_heartbeat=at(1))
    alive = replace(INFO, last_heartbeat=at(20))
    await storage.register_worker(silent)
    await second_storage.register_worker(alive)

    assert await second_storage.prune_workers(stale_before=at(10)) == 1
    assert await storage.prune_workers(stale_before=at(10)) == 0

    assert await storage.list_workers() == [alive]
