"""The SQL backends behave exactly like the in-memory twin: random sequences of calls give equal answers.

The examples mix every method, keys that collide, stale outcomes and a clock that moves; each answer (records,
ids, next due times, heartbeats, history) must be the same from both storages.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evertask.storage import MemoryStorage, NewTask, Outcome, RetentionPolicy, Storage, TaskQuery
from evertask.storage.sql import SqliteStorage
from evertask.task import TaskRecord, TaskStatus
from tests.conftest import TABLES, execute, run_async
from tests.contract.conftest import Backend
from tests.contract.helpers import T0

S = TaskStatus
QUEUES = ("q1", "q2")
OUTCOMES = (S.completed, S.failed, S.cancelled, S.pending, S.service_stopped)

step = st.one_of(
    st.tuples(
        st.just("add"),
        st.lists(
            st.tuples(
                st.sampled_from([None, "", "a", "b"]),
                st.sampled_from(QUEUES),
                st.integers(0, 2),
                st.integers(-5, 20),
                st.sampled_from([None, '{"every": 60}']),
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    st.tuples(st.just("claim"), st.sampled_from(["w1", "w2"]), st.sampled_from(QUEUES), st.integers(0, 3)),
    st.tuples(
        st.just("finish"),
        st.integers(0, 50),
        st.sampled_from(OUTCOMES),
        st.booleans(),
        st.booleans(),
        st.sampled_from(["", "owner", "fence"]),
    ),
    st.tuples(st.just("heartbeat"), st.sampled_from(["w1", "w2"])),
    st.tuples(st.just("recover"), st.integers(0, 2)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("reschedule"), st.integers(0, 50), st.sampled_from([S.pending, S.paused]), st.integers(0, 30)),
    st.tuples(st.just("tick"), st.integers(1, 40)),
    st.tuples(st.just("token"), st.sampled_from(["x", "y"]), st.sampled_from([None, 0, 1, 2])),
    st.tuples(st.just("purge"), st.integers(0, 2)),
)


class Twins:
    """The same calls made on both storages, their answers compared."""

    def __init__(self, memory: Storage, sqlite: Storage) -> None:
        self.storages = (memory, sqlite)
        self.now = T0
        self.ids: list[uuid.UUID] = []
        self.claimed: list[TaskRecord] = []
        self.holders = [uuid.uuid4() for _ in range(3)]

    async def same(self, call: Callable[[Storage], Awaitable[Any]]) -> Any:
        expected, actual = [await call(storage) for storage in self.storages]
        assert actual == expected
        return expected

    def pick(self, index: int) -> uuid.UUID:
        return self.ids[index % len(self.ids)] if self.ids else uuid.uuid4()

    async def run(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        await getattr(self, kind)(*args)

    async def add(self, specs: list[tuple[str | None, str, int, int, str | None]]) -> None:
        tasks = [
            NewTask(
                uuid.uuid4(),
                "t",
                f"payload-{n}",
                queue,
                self.now,
                self.now + timedelta(seconds=due),
                S.queued if due <= 0 else S.pending,
                priority,
                key,
                schedule,
            )
            for n, (key, queue, priority, due, schedule) in enumerate(specs)
        ]
        self.ids += await self.same(lambda s: s.add(tasks))

    async def claim(self, owner: str, queue: str, limit: int) -> None:
        lease = self.now + timedelta(seconds=30)
        results = [
            await s.claim(owner=owner, queues=[queue], now=self.now, limit=limit, lease_until=lease)
            for s in self.storages
        ]
        expected, actual = ((r.tasks, self.due_now_or_later(r.next_due)) for r in results)
        assert actual == expected
        self.claimed += expected[0]

    def due_now_or_later(self, due: datetime | None) -> datetime | None:
        """Among tasks already due, the in-memory twin reports the due time of the next in claim order, SQL the
        earliest: both mean "claim again now", which is all a worker reads from it."""
        return None if due is None else max(due, self.now)

    async def finish(self, index: int, status: TaskStatus, refund: bool, new_run: bool, spoil: str) -> None:
        if not self.claimed:
            return
        record = self.claimed[index % len(self.claimed)]
        assert record.owner is not None
        next_run = self.now + timedelta(seconds=5) if status is S.pending else None
        error = "boom" if status in (S.failed, S.pending) else None
        outcome = Outcome(record.id, record.owner, record.fence, status, self.now, error, next_run, new_run, refund)
        if spoil:
            outcome = replace(outcome, owner="someone-else") if spoil == "owner" else replace(outcome, fence=0)
        await self.same(lambda s: s.finish([outcome]))

    async def heartbeat(self, owner: str) -> None:
        ids = [r.id for r in self.claimed if r.owner == owner][-4:]
        lease = self.now + timedelta(seconds=30)
        await self.same(lambda s: s.heartbeat(owner=owner, task_ids=ids, lease_until=lease))

    async def recover(self, max_recoveries: int) -> None:
        await self.same(lambda s: s.recover_expired(now=self.now, max_recoveries=max_recoveries))

    async def cancel(self, index: int) -> None:
        await self.same(lambda s: s.cancel(self.pick(index), now=self.now))

    async def reschedule(self, index: int, status: TaskStatus, delay: int) -> None:
        due = self.now + timedelta(seconds=delay)
        await self.same(lambda s: s.reschedule(self.pick(index), now=self.now, scheduled_at=due, status=status))

    async def tick(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    async def token(self, bucket: str, holder: int | None) -> None:
        held = None if holder is None else self.holders[holder]
        await self.same(lambda s: s.take_token(bucket, now=self.now, rate=0.5, capacity=2, holder=held, horizon=30))

    async def purge(self, days: int) -> None:
        policy = RetentionPolicy(completed_tasks_days=days / 86_400 * 30, history_days=days / 86_400 * 60)
        await self.same(lambda s: s.purge(now=self.now, policy=policy))

    async def compare_everything(self) -> None:
        await self.same(lambda s: s.list_tasks(TaskQuery(limit=1000)))
        await self.same(lambda s: s.count_by_status())
        for task_id in self.ids:
            await self.same(lambda s, task_id=task_id: s.history(task_id))


SQL = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mysql", marks=pytest.mark.mysql)]


async def fresh(backend: Backend, tmp_path: Path) -> Storage:
    """An open storage of ``backend`` with no tasks: a new file, or the session's tables emptied."""
    if backend.name == "sqlite":
        storage: Storage = SqliteStorage(tmp_path / f"{uuid.uuid4()}.db")
    else:
        prefix = f'"{backend.schema}".' if backend.schema else ""
        await execute(backend.url, *(f"DELETE FROM {prefix}{table}" for table in TABLES))
        storage = backend.build()
    await storage.open()
    return storage


@pytest.mark.parametrize("backend", SQL, indirect=True)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=40))
def test_sql_answers_every_call_as_memory_does(backend: Backend, tmp_path: Path, steps: list[tuple[Any, ...]]) -> None:
    async def scenario() -> None:
        storage = await fresh(backend, tmp_path)
        try:
            twins = Twins(MemoryStorage(), storage)
            for op in steps:
                await twins.run(op)
            await twins.compare_everything()
        finally:
            await storage.close()

    run_async(scenario())
