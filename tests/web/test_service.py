"""The operations service called directly, as the CLI does: what it opens and closes, and its typed errors."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from evertask import EverTask
from evertask.errors import (
    ActionNotAllowedError,
    InvalidArgumentError,
    InvalidFilterError,
    TaskKeyNotFoundError,
    TaskValidationError,
)
from evertask.ops import Filter, Operations
from evertask.storage import MemoryStorage
from tests.web.conftest import FAST_WORKER
from tests.web.tasks import Flaky, FlakyHandler


async def test_an_app_not_started_is_started_without_its_worker_and_stopped_again() -> None:
    app = EverTask(MemoryStorage(), worker=FAST_WORKER)
    app.register(FlakyHandler)
    async with Operations(app) as ops:
        assert app.started
        assert await ops.workers() == []  # no worker of this app was started by the service
        assert (await ops.list_tasks()).tasks == []
    assert not app.started


async def test_a_started_app_is_left_running() -> None:
    app = EverTask(MemoryStorage(), worker=FAST_WORKER)
    async with app:
        async with Operations(app) as ops:
            await ops.queues()
        assert app.started


async def test_bad_arguments_are_typed_errors_that_name_the_problem() -> None:
    storage = MemoryStorage()
    async with Operations(storage) as ops:
        with pytest.raises(InvalidFilterError, match="created_after: a time needs a UTC offset"):
            await ops.list_tasks(Filter(created_after=datetime(2025, 1, 1)))
        with pytest.raises(InvalidFilterError, match="limit"):
            await ops.list_tasks(limit=0)
        with pytest.raises(InvalidFilterError, match="sort by one of created, scheduled, finished"):
            await ops.list_tasks(sort="priority")
        with pytest.raises(InvalidFilterError, match="at least one criterion"):
            await ops.cancel_matching(Filter())
        with pytest.raises(InvalidArgumentError, match="older_than"):
            await ops.purge(Filter(status=["completed"]), older_than=timedelta(days=-1))
        with pytest.raises(InvalidArgumentError, match="queue"):
            await ops.pause_queue("")
        with pytest.raises(InvalidArgumentError, match="actor"):
            await ops.pause_queue("default", actor="x" * 201)
        with pytest.raises(InvalidArgumentError, match="window"):
            await ops.stats(timedelta(seconds=1))
        with pytest.raises(TaskKeyNotFoundError, match="no task with key 'nope'"):
            await ops.find_by_key("nope")


async def test_an_edited_payload_is_checked_by_the_task_class_without_echoing_values() -> None:
    app = EverTask(MemoryStorage(), worker=FAST_WORKER)
    app.register(FlakyHandler)
    async with app, Operations(app) as ops:
        task_id = await app.dispatch(Flaky(name="x", fail=True))
        await app.wait(task_id, timeout=30)
        with pytest.raises(TaskValidationError, match="name: Input should be a valid string") as caught:
            await ops.retry(task_id, payload={"name": ["hunter2"]})
        assert "hunter2" not in str(caught.value)
        retried = await ops.retry(task_id, payload={"name": "y"}, actor="carol")
        assert retried.status.value in ("queued", "in_progress", "completed")
        await app.wait(task_id, timeout=30)
        with pytest.raises(ActionNotAllowedError, match="it is completed"):
            await ops.retry(task_id)
        history = await app.history(task_id)
        assert [c.actor for c in history if c.actor] == ["carol"]
