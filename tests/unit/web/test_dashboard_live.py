"""The live hub: what a recorded change is called, how the history feed is followed, and how events reach
the open streams."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from evertask import EverTask, Handler, Task, TaskContext
from evertask.ops import Operations
from evertask.storage import MemoryStorage
from evertask.storage.feed import HistoryRow
from evertask.task import TaskStatus
from evertask.web.dashboard.live import FeedReader, LiveHub, history_kind

S = TaskStatus
AT = datetime(2031, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("from_status", "to_status", "error", "kind"),
    [
        (None, S.queued, None, "dispatched"),
        (None, S.pending, None, "dispatched"),
        (S.queued, S.in_progress, None, "started"),
        (S.in_progress, S.completed, None, "completed"),
        (S.in_progress, S.failed, "boom", "failed"),
        (S.in_progress, S.pending, "boom", "retrying"),
        (S.failed, S.queued, None, "retried"),
        (S.cancelled, S.queued, None, "retried"),
        (S.queued, S.cancelled, None, "cancelled"),
        (S.pending, S.paused, None, "paused"),
        (S.paused, S.pending, None, "resumed"),
        (S.in_progress, S.service_stopped, None, "service_stopped"),
        (S.in_progress, S.pending, None, "changed"),
    ],
)
def test_each_recorded_change_has_a_kind(
    from_status: TaskStatus | None, to_status: TaskStatus, error: str | None, kind: str
) -> None:
    assert history_kind(from_status, to_status, error) == kind


class Feed:
    """A history feed whose rows become visible in any order, as commits do on PostgreSQL."""

    def __init__(self) -> None:
        self.visible: dict[int, HistoryRow] = {}

    def commit(self, *ids: int) -> None:
        for row_id in ids:
            self.visible[row_id] = HistoryRow(row_id, uuid4(), "t", "q", None, S.queued, AT, None, None)

    async def history_since(self, after: int, *, missing: Collection[int] = (), limit: int = 500) -> list[HistoryRow]:
        ids = sorted(i for i in self.visible if i > after or i in missing)
        return [self.visible[i] for i in ids[:limit]]

    async def latest_history_id(self) -> int:
        return max(self.visible, default=0)


async def test_the_feed_starts_at_its_end_and_finds_rows_that_commit_late() -> None:
    feed = Feed()
    feed.commit(1, 2)
    clock = [0.0]
    reader = FeedReader(feed, clock=lambda: clock[0])

    assert await reader.read() == []  # where the feed ends: what came before is not news
    feed.commit(3, 5)  # 4 is still being written
    assert [row.id for row in await reader.read()] == [3, 5]
    feed.commit(4, 6)
    assert [row.id for row in await reader.read()] == [4, 6]
    assert await reader.read() == []


async def test_a_gap_is_forgotten_once_old_enough() -> None:
    feed = Feed()
    clock = [0.0]
    reader = FeedReader(feed, clock=lambda: clock[0])
    await reader.read()
    feed.commit(2)
    await reader.read()  # 1 missing: rolled back, never to come
    clock[0] = 31.0
    await reader.read()

    feed.commit(1)
    assert await reader.read() == []


class Greet(Task):
    task_name = "tests.live.Greet"


class GreetHandler(Handler[Greet]):
    async def handle(self, task: Greet, ctx: TaskContext) -> None:
        pass


async def test_an_app_running_its_worker_here_feeds_every_stream_from_its_bus() -> None:
    app = EverTask(MemoryStorage())
    app.register(GreetHandler)
    async with app:
        hub = LiveHub(Operations(app))
        assert hub.source == "bus"
        first, second = hub.subscribe(), hub.subscribe()
        task_id = await app.dispatch(Greet())
        await app.wait(task_id, timeout=5)
        await app.events.flush()

        kinds = []
        while not first.queue.empty():
            event = first.queue.get_nowait()
            assert event.task_id == task_id
            kinds.append(event.kind)
        assert kinds == ["dispatched", "started", "completed"]
        assert second.queue.qsize() == 3
        assert [event.kind for event in hub.recent()] == kinds

        hub.unsubscribe(first)
        hub.unsubscribe(second)
        await app.dispatch(Greet())
        await app.events.flush()
        assert len(hub.recent()) == 3  # nobody listens: the bus is no longer followed


async def test_a_storage_without_a_feed_or_an_app_has_no_live_source() -> None:
    hub = LiveHub(Operations(MemoryStorage()))

    assert hub.source == "none"
    listener = hub.subscribe()
    await asyncio.sleep(0)
    assert listener.queue.empty()
    hub.close()
