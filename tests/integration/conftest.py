"""Fixtures for end-to-end engine tests: an app factory over each backend the engine must work on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from evertask import EverTask, RetryPolicy, WorkerSettings
from evertask.storage import MemoryStorage, Storage

AppFactory = Callable[..., EverTask]

# Fast timings so that tests about leases and shutdown take milliseconds, not the production seconds.
FAST_WORKER = WorkerSettings(heartbeat_interval=0.05, lease=timedelta(seconds=5), poll_interval=0.2, shutdown_grace=1.0)


@pytest.fixture
def storage() -> Storage:
    return MemoryStorage()


@pytest.fixture
async def make_app(storage: Storage) -> AsyncIterator[AppFactory]:
    """Build apps on the test's storage; each is stopped at the end of the test if still running."""
    apps: list[EverTask] = []

    def factory(**kwargs: Any) -> EverTask:
        kwargs.setdefault("worker", FAST_WORKER)
        kwargs.setdefault("default_retry", RetryPolicy.linear(3, timedelta(milliseconds=10)))
        app = EverTask(kwargs.pop("storage", storage), **kwargs)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        await app.stop(grace=0)
