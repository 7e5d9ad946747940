"""PostgreSQL LISTEN/NOTIFY: a task stored by another process wakes a sleeping worker at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from evertask import EverTask, SyncClient, TaskStatus, WorkerSettings
from evertask.storage.sql import SqliteStorage, SqlStorage
from tests.integration.cli_app import Ping, PingHandler

pytestmark = pytest.mark.postgres
SLOW_POLL = WorkerSettings(poll_interval=60.0, lease=timedelta(seconds=10))


async def test_a_task_stored_elsewhere_wakes_a_worker_long_before_its_poll(clean_postgres: object) -> None:
    url, schema = clean_postgres.url, clean_postgres.schema  # type: ignore[attr-defined]
    worker = EverTask(SqlStorage(url, schema=schema), worker=SLOW_POLL)
    worker.register(PingHandler)
    async with worker:
        assert worker._wakeups is not None
        await asyncio.wait_for(worker._wakeups.ready.wait(), timeout=10)  # type: ignore[attr-defined]
        await asyncio.sleep(0.2)  # let the fetch loop settle into its 60 s sleep
        client = SyncClient(SqlStorage(url, schema=schema))  # another process, as far as the worker knows
        try:
            task_id = await asyncio.to_thread(client.dispatch, Ping(n=1))
        finally:
            await asyncio.to_thread(client.close)
        record = await worker.wait(task_id, timeout=5, poll_interval=0.05)
    assert record.status is TaskStatus.completed


def test_other_databases_have_no_listener(tmp_path: object) -> None:
    assert SqliteStorage(f"{tmp_path}/x.db").wakeups(lambda queue: None) is None
