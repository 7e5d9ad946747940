"""Fixtures of the web tests: an app with a worker on each backend, served by a real uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from evertask import EverTask, WorkerSettings
from tests.contract.conftest import Backend, backend  # noqa: F401  (the backends, as the contract suite has them)
from tests.web.server import serving
from tests.web.tasks import FlakyHandler, HoldHandler, Holding

FAST_WORKER = WorkerSettings(heartbeat_interval=0.05, lease=timedelta(seconds=5), poll_interval=0.1, shutdown_grace=0.5)


@pytest.fixture
def holding() -> Holding:
    return Holding()


@pytest.fixture
async def app(backend: Backend, holding: Holding) -> AsyncIterator[EverTask]:  # noqa: F811
    """A started app with a worker on the backend under test, running the tasks of tests.web.tasks."""
    app = EverTask(backend.build(), worker=FAST_WORKER)
    app.register(FlakyHandler)
    app.register(HoldHandler)
    app.provide_value(Holding, holding)
    async with app:
        yield app


@pytest.fixture
async def api(app: EverTask) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the web app over ``app``, served by uvicorn on a loopback port."""
    from evertask.web import create_app

    async with serving(create_app(app)) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client
