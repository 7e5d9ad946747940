"""Schemathesis against the web app's OpenAPI document, every request sent to a real server: no generated
request, valid or not, makes the server fail, and every answer is one the document describes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from evertask import EverTask, cron
from evertask.storage.sql import SqliteStorage
from evertask.web import create_app
from tests.conftest import run_async
from tests.web.conftest import FAST_WORKER
from tests.web.server import serving_in_thread
from tests.web.tasks import Flaky, FlakyHandler

EXAMPLES = 12
"""Examples per operation: enough to reach every parameter's edge cases, small enough for ~30 s in all."""

# The document is the app's own (the server below is checked to serve the same one).
DOCUMENT = create_app("memory://").openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


async def seed(path: Path) -> None:
    """Tasks in most statuses, a recurring series and execution rows, for the generated requests to meet."""
    app = EverTask(SqliteStorage(path), worker=FAST_WORKER)
    app.register(FlakyHandler)
    async with app:
        ran = [await app.dispatch(Flaky(name=f"t{i}", fail=i % 2 == 0)) for i in range(4)]
        await app.dispatch(Flaky(name="later"), delay=timedelta(hours=1), key="later")
        await app.dispatch(Flaky(name="nightly"), recurring=cron("0 3 * * *"))
        for task_id in ran:
            await app.wait(task_id, timeout=30)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("fuzz") / "tasks.db"
    run_async(seed(path))
    with serving_in_thread(create_app(f"sqlite:///{path}")) as url:
        assert httpx.get(f"{url}/api/openapi.json").json() == DOCUMENT
        yield url


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_makes_the_server_fail(case: schemathesis.Case, base_url: str) -> None:
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    if case.path != "/readyz":  # its 503 is its documented answer while no worker runs (none does here)
        checks.append(not_a_server_error)
    case.call_and_validate(base_url=base_url, checks=checks)
