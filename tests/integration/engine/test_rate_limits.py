"""Keyed rate limits end to end: over-budget attempts wait without a slot, other keys keep flowing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from evertask import Handler, Task, TaskContext, TaskStatus
from evertask.events import TaskDeferred, TaskEvent
from evertask.ratelimit import RateLimit
from evertask.storage import ClaimResult, MemoryStorage, Storage
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import Probe


class PartnerCall(Task):
    tenant: str
    n: int


class PartnerCallHandler(Handler[PartnerCall]):
    rate_limit = RateLimit(permits=2, per=timedelta(hours=1), key=lambda task: task.tenant)

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: PartnerCall, ctx: TaskContext) -> None:
        self.probe.saw("call", (task.tenant, task.n))

    async def on_error(self, task_id: UUID, error: BaseException | None, message: str | None) -> None:
        self.probe.saw("on_error", error)


class DiscardingHandler(PartnerCallHandler):
    rate_limit = RateLimit(permits=1, per=timedelta(hours=1), when_exceeded="discard")


async def test_an_over_budget_task_waits_for_its_permit_while_other_keys_run(
    make_app: AppFactory, probe: Probe
) -> None:
    app = make_app(max_parallelism=1)
    app.register(PartnerCallHandler)
    app.provide_value(Probe, probe)
    deferred: list[TaskEvent] = []
    app.events.subscribe(deferred.append, TaskDeferred)
    async with app:
        a = [await app.dispatch(PartnerCall(tenant="a", n=i)) for i in range(3)]
        b = await app.dispatch(PartnerCall(tenant="b", n=0))
        for task_id in [*a[:2], b]:
            assert (await app.wait(task_id, timeout=5)).status is TaskStatus.completed
        await app.events.flush()
        waiting = await app.get(a[2])
    assert waiting is not None
    assert waiting.status is TaskStatus.pending
    assert waiting.attempts == 0  # waiting for a permit uses up no retry
    assert timedelta(minutes=29) < waiting.scheduled_at - waiting.created_at <= timedelta(minutes=31)
    assert [e.task_id for e in deferred] == [a[2]]
    assert ("call", ("a", 2)) not in probe.calls


async def test_discard_fails_the_over_budget_task_with_a_clear_reason(make_app: AppFactory, probe: Probe) -> None:
    app = make_app()
    app.register(DiscardingHandler)
    app.provide_value(Probe, probe)
    async with app:
        first = await app.wait(await app.dispatch(PartnerCall(tenant="x", n=1)), timeout=5)
        second = await app.wait(await app.dispatch(PartnerCall(tenant="x", n=2)), timeout=5)
    assert first.status is TaskStatus.completed
    assert second.status is TaskStatus.failed
    assert second.attempts == 1
    assert second.last_error is not None
    assert "rate limit" in second.last_error
    assert "discarded" in second.last_error
    assert [name for name, _ in probe.calls] == ["call", "on_error"]


class Metered(Task):
    tenant: str
    n: int


class MeteredHandler(Handler[Metered]):
    """One call every 40 ms per tenant, no burst: a queue of one tenant's tasks has to wait in line."""

    rate_limit = RateLimit(permits=1, per=timedelta(milliseconds=40), key=lambda task: task.tenant)

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, task: Metered, ctx: TaskContext) -> None:
        self.probe.saw("call", task.n)


class FastMeteredHandler(MeteredHandler):
    rate_limit = RateLimit(permits=1, per=timedelta(milliseconds=10), key=lambda task: task.tenant)


class CountingStorage:
    """A storage that counts the tasks it hands out in claims."""

    def __init__(self, inner: Storage) -> None:
        self._inner = inner
        self.claimed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim(
        self, *, owner: str, queues: Sequence[str], now: datetime, limit: int, lease_until: datetime
    ) -> ClaimResult:
        result = await self._inner.claim(owner=owner, queues=queues, now=now, limit=limit, lease_until=lease_until)
        self.claimed += len(result.tasks)
        return result


def storage_named(name: str, tmp_path: Path) -> Storage:
    if name == "memory":
        return MemoryStorage()
    from evertask.storage.sql import SqliteStorage

    return SqliteStorage(tmp_path / "tasks.db")


async def run_one_tenant(
    make_app: AppFactory, probe: Probe, storage: CountingStorage, count: int, handler: type[MeteredHandler]
) -> Counter[UUID]:
    """Dispatch ``count`` tasks of one tenant at once and run them all; how often each was deferred."""
    app = make_app(storage=storage, max_parallelism=1)
    app.register(handler)
    app.provide_value(Probe, probe)
    deferrals: Counter[UUID] = Counter()
    app.events.subscribe(lambda event: deferrals.update([event.task_id]), TaskDeferred)
    async with app:
        ids = await app.dispatch_many([Metered(tenant="acme", n=i) for i in range(count)])
        for task_id in ids:
            assert (await app.wait(task_id, timeout=30)).status is TaskStatus.completed
        await app.events.flush()
    return deferrals


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_tasks_of_one_key_run_in_dispatch_order(
    make_app: AppFactory, probe: Probe, tmp_path: Path, backend: str
) -> None:
    storage = CountingStorage(storage_named(backend, tmp_path))

    deferrals = await run_one_tenant(make_app, probe, storage, 5, MeteredHandler)

    assert [n for _, n in probe.calls] == [0, 1, 2, 3, 4]
    # The first runs at once; each other one waits for its reserved slot at most once. One claimed after its slot
    # has come (a loaded machine, a slow claim) runs without waiting, so fewer than four may defer.
    assert set(deferrals.values()) <= {1}
    assert len(deferrals) <= 4


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_a_hundred_tasks_of_one_key_cost_a_claim_each_and_at_most_one_deferral_each(
    make_app: AppFactory, probe: Probe, tmp_path: Path, backend: str
) -> None:
    storage = CountingStorage(storage_named(backend, tmp_path))

    deferrals = await run_one_tenant(make_app, probe, storage, 100, FastMeteredHandler)

    assert sorted(n for _, n in probe.calls) == list(range(100))
    assert max(deferrals.values()) == 1
    assert storage.claimed == 100 + sum(deferrals.values())  # each claim ran its task or deferred it once
