from __future__ import annotations

import pytest

from evertask import EverTask
from tests.integration.conftest import AppFactory
from tests.integration.engine.tasks import BlockHandler, BlockingSyncHandler, EchoHandler, FlakyHandler, Probe


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def app(make_app: AppFactory, probe: Probe) -> EverTask:
    """An app with the shared test handlers registered and the probe injectable."""
    app = make_app(max_parallelism=4)
    for handler in (EchoHandler, FlakyHandler, BlockHandler, BlockingSyncHandler):
        app.register(handler)
    app.container.provide_value(Probe, probe)
    return app
