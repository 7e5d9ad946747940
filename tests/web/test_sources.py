"""The web app over a storage URL alone (an operator inspecting a database), mounted in another ASGI app, and
served by the ``evertask web`` command in a process of its own."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from evertask import EverTask
from evertask.storage.sql import SqliteStorage, upgrade
from evertask.web import create_app
from tests.conftest import run_async
from tests.web.conftest import FAST_WORKER
from tests.web.server import serving
from tests.web.tasks import Flaky, FlakyHandler


@pytest.fixture
async def written(tmp_path: Path) -> AsyncIterator[tuple[str, EverTask]]:
    """A SQLite file with a failed task written by an app with a worker; yields its URL and the app."""
    path = tmp_path / "tasks.db"
    app = EverTask(SqliteStorage(path), worker=FAST_WORKER)
    app.register(FlakyHandler)
    async with app:
        yield f"sqlite:///{path}", app


async def test_a_url_alone_shows_payloads_as_stored_and_stores_an_edited_one_as_given(
    written: tuple[str, EverTask],
) -> None:
    url, app = written
    task_id = await app.dispatch(Flaky(name="dee", fail=True))
    await app.wait(task_id, timeout=30)
    async with serving(create_app(url)) as base, httpx.AsyncClient(base_url=base) as client:
        detail = (await client.get(f"/api/v1/tasks/{task_id}")).json()
        # No task class here: any JSON object is taken as the new payload.
        retried = await client.post(f"/api/v1/tasks/{task_id}/retry", json={"payload": {"name": "dee"}})
    assert detail["payload"] == {"name": "dee", "fail": True}
    assert detail["type"] == "tests.web.Flaky"
    assert retried.status_code == 200
    record = await app.wait(task_id, timeout=30)  # the app's worker runs it with the edited payload
    assert record.status.value == "completed"
    assert json.loads(record.payload) == {"name": "dee"}


async def test_mounted_in_another_app_it_opens_its_storage_at_the_first_request(
    written: tuple[str, EverTask],
) -> None:
    url, app = written
    task_id = await app.dispatch(Flaky(name="eve"))
    await app.wait(task_id, timeout=30)
    host = FastAPI()  # a mounted app's lifespan is not run by Starlette: the API must not depend on it
    host.mount("/ops", create_app(url))
    async with serving(host) as base, httpx.AsyncClient(base_url=base) as client:
        listed = (await client.get("/ops/api/v1/tasks")).json()
        spec = (await client.get("/ops/api/openapi.json")).json()
        docs = await client.get("/ops/api/docs")
    assert [row["id"] for row in listed["tasks"]] == [str(task_id)]
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/tasks/{task_id}/retry" in spec["paths"]
    assert docs.status_code == 200
    assert "/ops/api/openapi.json" in docs.text


async def test_a_database_without_evertask_tables_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.db"
    async with serving(create_app(f"sqlite:///{path}")) as base, httpx.AsyncClient(base_url=base) as client:
        ready = await client.get("/readyz")
        listing = await client.get("/api/v1/tasks")
    assert (ready.status_code, ready.json()["database"]) == (503, False)
    assert (listing.status_code, listing.json()["error"]) == (503, "StorageSchemaError")
    assert "evertask db upgrade" in listing.json()["detail"]
    with sqlite3.connect(path) as db:  # the API never creates or upgrades the schema under the workers
        assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'evertask%'").fetchall() == []


def test_the_web_command_serves_until_interrupted_and_stops_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    run_async(upgrade(url))
    command = "import typer; from evertask.web.command import web; typer.run(web)"
    env = {**os.environ, "EVERTASK_WEB_TOKEN": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", command, url, "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    lines = []
    try:
        for line in process.stderr:  # uvicorn says where it listens once it does
            lines.append(line)
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                break
        else:
            pytest.fail("the server never started:\n" + "".join(lines))
        base = found.group(1)
        assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(f"{base}/api/v1/tasks", timeout=10).json() == {"tasks": [], "next_cursor": None}
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert "open to loopback" in output
    assert "Traceback" not in output


def test_the_web_command_refuses_a_public_address_without_credentials(tmp_path: Path) -> None:
    command = "import typer; from evertask.web.command import web; typer.run(web)"
    env = {**os.environ, "EVERTASK_WEB_TOKEN": "", "EVERTASK_WEB_VIEWER_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "-c", command, f"sqlite:///{tmp_path / 'x.db'}", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to serve on 0.0.0.0 without credentials" in result.stderr
    assert not (tmp_path / "x.db").exists()  # it stopped before touching anything
