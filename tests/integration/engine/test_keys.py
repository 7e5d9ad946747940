"""Task keys: idempotent registration (in_progress kept, waiting updated in place, finished replaced)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from evertask import EverTask, TaskQuery, TaskStatus, every
from tests.integration.engine.tasks import Block, Echo, Probe


async def test_a_waiting_task_with_the_same_key_is_updated_in_place(app: EverTask) -> None:
    async with app:
        first = await app.dispatch(Echo(text="old"), delay=timedelta(hours=1), key="reminder")
        second = await app.dispatch(Echo(text="new"), delay=timedelta(hours=2), key="reminder")
        record = await app.get(first)
    assert second == first
    assert record is not None
    assert record.payload == '{"text":"new"}'
    assert record.scheduled_at - record.created_at > timedelta(hours=1, minutes=59)


async def test_a_running_task_with_the_same_key_is_left_unchanged(app: EverTask, probe: Probe) -> None:
    async with app:
        running = await app.dispatch(Block(name="first"), key="import")
        await probe.started.wait()
        again = await app.dispatch(Block(name="second"), key="import")
        record = await app.get(running)
        probe.release.set()
    assert again == running
    assert record is not None
    assert record.payload == '{"name":"first"}'
    assert len(await app.storage.list_tasks(TaskQuery())) == 1


@pytest.mark.parametrize("finish", ["complete", "cancel"])
async def test_a_finished_task_with_the_same_key_is_replaced(app: EverTask, finish: str) -> None:
    async with app:
        old = await app.dispatch(
            Echo(text="old"), key="daily", delay=timedelta(hours=1) if finish == "cancel" else None
        )
        if finish == "cancel":
            await app.cancel(old)
        else:
            await app.wait(old, timeout=5)
        new = await app.dispatch(Echo(text="new"), key="daily")
        gone = await app.get(old)
        replacement = await app.wait(new, timeout=5)
    assert new != old
    assert gone is None
    assert replacement.status is TaskStatus.completed


@pytest.mark.parametrize("key", [None, ""])
async def test_no_key_or_an_empty_key_never_deduplicates(app: EverTask, key: str | None) -> None:
    async with app:
        a = await app.dispatch(Echo(text="a"), delay=timedelta(hours=1), key=key)
        b = await app.dispatch(Echo(text="b"), delay=timedelta(hours=1), key=key)
    assert a != b


async def test_keys_are_case_sensitive(app: EverTask) -> None:
    async with app:
        lower = await app.dispatch(Echo(text="a"), delay=timedelta(hours=1), key="report")
        upper = await app.dispatch(Echo(text="b"), delay=timedelta(hours=1), key="Report")
    assert lower != upper


async def test_registering_a_recurring_series_at_every_start_keeps_one_series(app: EverTask) -> None:
    async with app:
        ids = {await app.dispatch(Echo(text="r"), recurring=every(5).minutes(), key="sync") for _ in range(3)}
        (series,) = await app.recurring.list()
    assert ids == {series.record.id}


async def test_a_one_shot_dispatch_never_ends_a_series_registered_under_its_key(app: EverTask) -> None:
    async with app:
        series_id = await app.dispatch(Echo(text="r"), recurring=every(5).minutes(), key="sync")
        again = await app.dispatch(Echo(text="once"), key="sync")
        (series,) = await app.recurring.list()
    assert again == series_id == series.record.id
    assert series.description.startswith("every 5 minutes")
    assert series.record.payload == '{"text":"r"}'
