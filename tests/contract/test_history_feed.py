"""The history feed: another process follows every task's changes by history row id (SQL backends; memory
storage cannot be seen from another process, so it has no feed)."""

from __future__ import annotations

import pytest

from evertask.storage import Storage
from evertask.storage.feed import HistoryFeed
from evertask.task import TaskStatus
from tests.contract.conftest import Backend
from tests.contract.helpers import T0, add_one, at, claim_one, outcome

S = TaskStatus


@pytest.fixture
def feed(backend: Backend, storage: Storage) -> HistoryFeed:
    if backend.name == "memory":
        pytest.skip("memory storage has no feed: nothing outside its process can watch it")
    assert isinstance(storage, HistoryFeed)
    return storage


async def test_an_empty_history_has_no_rows_and_id_zero(feed: HistoryFeed) -> None:
    assert await feed.latest_history_id() == 0
    assert await feed.history_since(0) == []


async def test_the_feed_lists_changes_after_the_cursor_with_type_and_queue(
    feed: HistoryFeed, storage: Storage, second_storage: Storage
) -> None:
    first = await add_one(storage, type="tests.Report", queue="reports")
    cursor = await feed.latest_history_id()
    record = await claim_one(storage, queues=("reports",), now=at(1))
    await storage.finish([outcome(record, S.failed, now=at(2), error="ValueError: no data")])
    second = await add_one(storage)

    assert isinstance(second_storage, HistoryFeed)  # the other process, on its own connections
    rows = await second_storage.history_since(cursor)

    assert [(r.task_id, r.type, r.queue, r.from_status, r.to_status, r.at, r.error) for r in rows] == [
        (first, "tests.Report", "reports", S.queued, S.in_progress, at(1), None),
        (first, "tests.Report", "reports", S.in_progress, S.failed, at(2), "ValueError: no data"),
        (second, "tests.SendEmail", "default", None, S.queued, T0, None),
    ]
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert rows[0].id > cursor
    assert await feed.latest_history_id() == rows[-1].id


async def test_the_feed_pages_by_limit_and_rereads_missing_ids(feed: HistoryFeed, storage: Storage) -> None:
    for _ in range(5):
        await add_one(storage)
    everything = await feed.history_since(0)

    first_page = await feed.history_since(0, limit=2)
    rest = await feed.history_since(first_page[-1].id)
    again = await feed.history_since(everything[-1].id, missing=[everything[1].id, everything[3].id])

    assert first_page == everything[:2]
    assert rest == everything[2:]
    assert again == [everything[1], everything[3]]
