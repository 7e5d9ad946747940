"""heartbeat and recover_expired: live workers keep their claims; a silent worker's tasks come back."""

from __future__ import annotations

import uuid

from evertask.storage import HeartbeatResult, Storage
from evertask.task import TaskStatus
from tests.contract.helpers import LEASE, OWNER, add_one, at, claim, claim_one, new_task, outcome


async def test_heartbeat_extends_the_leases_of_running_tasks(storage: Storage) -> None:
    await storage.add([new_task(), new_task()])
    records = await claim(storage)

    result = await storage.heartbeat(owner=OWNER, task_ids=[r.id for r in records], lease_until=at(100))

    assert result == HeartbeatResult()
    for record in records:
        after = await storage.get(record.id)
        assert after is not None
        assert after.lease_until == at(100)
    assert await storage.recover_expired(now=at(99), max_recoveries=5) == []


async def test_heartbeat_reports_cancel_requests(storage: Storage) -> None:
    await storage.add([new_task(), new_task()])
    cancelled, running = await claim(storage)
    await storage.cancel(cancelled.id, now=at(1))

    result = await storage.heartbeat(owner=OWNER, task_ids=[cancelled.id, running.id], lease_until=at(100))

    assert result == HeartbeatResult(cancel_requested=frozenset({cancelled.id}))


async def test_heartbeat_reports_claims_lost(storage: Storage) -> None:
    await storage.add([new_task(), new_task(), new_task()])
    taken_over, finished, kept = await claim(storage)
    await storage.recover_expired(now=at(3600), max_recoveries=5)  # every lease expired: all back to pending
    await claim(storage, owner="worker-2", now=at(3600), limit=1)
    await storage.finish([outcome(finished, TaskStatus.completed)])  # stale fence: ignored, still pending
    unknown = uuid.uuid4()

    result = await storage.heartbeat(
        owner=OWNER, task_ids=[taken_over.id, finished.id, kept.id, unknown], lease_until=at(3700)
    )

    assert result.lost == {taken_over.id, finished.id, kept.id, unknown}
    stolen = await storage.get(taken_over.id)
    assert stolen is not None
    assert stolen.owner == "worker-2"
    assert stolen.lease_until == at(3600) + LEASE


async def test_heartbeat_without_tasks_reports_nothing(storage: Storage) -> None:
    assert await storage.heartbeat(owner=OWNER, task_ids=[], lease_until=at(1)) == HeartbeatResult()


async def test_expired_lease_returns_the_task_to_pending_due_at_once(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)
    expiry = record.lease_until
    assert expiry is not None

    [recovered] = await storage.recover_expired(now=expiry, max_recoveries=3)

    assert recovered.id == record.id
    assert (recovered.status, recovered.scheduled_at, recovered.recoveries) == (TaskStatus.pending, expiry, 1)
    assert (recovered.owner, recovered.lease_until, recovered.attempts) == (None, None, 1)
    assert await storage.get(record.id) == recovered
    last = (await storage.history(record.id))[-1]
    assert (last.to_status, last.error) == (TaskStatus.pending, "lease expired: worker presumed dead")


async def test_live_leases_are_left_alone(storage: Storage) -> None:
    await add_one(storage)
    record = await claim_one(storage)

    assert await storage.recover_expired(now=at(1), max_recoveries=3) == []
    assert await storage.get(record.id) == record


async def test_task_recovered_past_max_recoveries_fails(storage: Storage) -> None:
    task_id = await add_one(storage)
    now = at(0)
    for _ in range(2):
        await claim_one(storage, now=now)
        now += LEASE
        [recovered] = await storage.recover_expired(now=now, max_recoveries=1)
    assert recovered.id == task_id

    assert (recovered.status, recovered.recoveries, recovered.finished_at) == (TaskStatus.failed, 2, now)
    assert recovered.last_error == "abandoned: its worker stopped responding 2 times"
    assert await claim(storage, now=now) == []
