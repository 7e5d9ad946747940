"""SQLite answers every query as the in-memory twin does: random tasks, random filters, every page followed by
its cursor, and the counts of what a bulk action would change."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evertask.storage import MemoryStorage, NewTask, Outcome, Storage
from evertask.storage.records import PageRequest, TaskFilter
from evertask.storage.sql import SqliteStorage
from evertask.task import TaskStatus
from tests.conftest import run_async
from tests.contract.helpers import T0

S = TaskStatus
ENDINGS = (S.pending, S.in_progress, S.completed, S.failed, S.cancelled)
TEXTS = ("Ann", "ann%", "a_b", "B", "50%_off")

task = st.tuples(
    st.sampled_from(("q1", "q2")),
    st.sampled_from(("tests.A", "tests.B")),
    st.sampled_from((None, "k1", "k2")),
    st.integers(0, 3),  # created (and due) second: ties are likely
    st.integers(0, 3),  # finished second
    st.sampled_from(ENDINGS),
    st.sampled_from(TEXTS),
    st.booleans(),  # recurring
)
FIELDS = {
    "statuses": st.frozensets(st.sampled_from(ENDINGS), max_size=3),
    "queues": st.frozensets(st.sampled_from(("q1", "q2", "q3")), max_size=2),
    "types": st.frozensets(st.sampled_from(("tests.A", "tests.B")), min_size=1, max_size=1),
    "key": st.sampled_from(("k1", "k2")),
    "recurring": st.booleans(),
    "created_after": st.integers(0, 3).map(lambda s: T0 + timedelta(seconds=s)),
    "created_before": st.integers(0, 4).map(lambda s: T0 + timedelta(seconds=s)),
    "finished_after": st.integers(0, 3).map(lambda s: T0 + timedelta(seconds=s)),
    "finished_before": st.integers(0, 4).map(lambda s: T0 + timedelta(seconds=s)),
    "search": st.sampled_from(("ann", "%", "_", "a_", "OFF", "tests.b", "boom", "k1")),
}
# At most two conditions: with more, most filters match nothing and prove little.
filters = st.lists(st.sampled_from(sorted(FIELDS)), max_size=2, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: FIELDS[name] for name in names})
)
request = st.tuples(filters, st.sampled_from(("created", "scheduled", "finished")), st.booleans(), st.integers(1, 4))


async def store(storage: Storage, specs: list[tuple[Any, ...]]) -> None:
    """The tasks of ``specs``, each brought to its status right after it is added (so that claiming its queue
    takes it: the waiting tasks are due only later)."""
    for n, (queue, task_type, key, created, finished, ending, text, recurring) in enumerate(specs):
        at = T0 + timedelta(seconds=created)
        due = at + timedelta(days=1) if ending is S.pending else at
        status = S.pending if ending is S.pending else S.queued
        schedule = '{"every": 60}' if recurring else None
        payload = f'{{"n": {n}, "text": "{text}"}}'
        [task_id] = await storage.add(
            [NewTask(uuid.UUID(int=n + 1), task_type, payload, queue, at, due, status, 0, key, schedule)]
        )
        if ending in (S.pending, S.queued) or task_id != uuid.UUID(int=n + 1):
            continue  # waiting, or its key was taken by a running task
        lease = at + timedelta(seconds=30)
        [record] = (await storage.claim(owner="w", queues=[queue], now=at, limit=1, lease_until=lease)).tasks
        if ending is not S.in_progress:
            end = T0 + timedelta(seconds=finished)
            error = f"boom {text}" if ending is S.failed else None
            await storage.finish([Outcome(record.id, "w", record.fence, ending, end, error)])


async def pages(storage: Storage, page_request: PageRequest, most: int) -> list[list[uuid.UUID]]:
    """Every page, following the cursors; more than ``most`` pages means a cursor that does not advance."""
    found = []
    while len(found) < most:
        page = await storage.query(page_request)
        found.append([record.id for record in page.tasks])
        if page.next_cursor is None:
            return found
        page_request = replace(page_request, after=page.next_cursor)
    raise AssertionError(f"more than {most} pages: the cursor does not advance")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(task, max_size=12), requests=st.lists(request, min_size=1, max_size=5))
def test_sqlite_pages_and_counts_as_memory_does(
    tmp_path: Path, specs: list[tuple[Any, ...]], requests: list[tuple[Any, ...]]
) -> None:
    async def scenario() -> None:
        memory, sqlite = MemoryStorage(), SqliteStorage(tmp_path / f"{uuid.uuid4()}.db")
        await sqlite.open()
        try:
            for storage in (memory, sqlite):
                await store(storage, specs)
            for fields, sort, descending, limit in requests:
                task_filter = TaskFilter(**fields)
                page_request = PageRequest(task_filter, sort, descending, limit)
                most = len(specs) + 1
                assert await pages(sqlite, page_request, most) == await pages(memory, page_request, most)
                assert await sqlite.count(task_filter) == await memory.count(task_filter)
                for action in ("retry", "cancel_matching"):
                    counts = [
                        await getattr(s, action)(task_filter, now=T0, actor=None, dry_run=True)
                        for s in (memory, sqlite)
                    ]
                    assert counts[0] == counts[1], action
                assert await sqlite.purge_matching(task_filter, dry_run=True) == await memory.purge_matching(
                    task_filter, dry_run=True
                )
        finally:
            await sqlite.close()

    run_async(scenario())
