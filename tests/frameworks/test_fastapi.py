"""FastAPI and Starlette: ``lifespan=app.lifespan`` on a real uvicorn server (start-up, a request that dispatches,
the task run, shutdown draining the running task), producer mode, and the ``EverTaskApp`` dependency."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from evertask import EverTask, Handler, Task, TaskContext, TaskStatus, WorkerSettings
from evertask.contrib.fastapi import EverTaskApp, get_evertask
from evertask.errors import ConfigurationError
from evertask.storage.sql import SqliteStorage
from tests.frameworks.server import serving


class Welcome(Task):
    task_name = "frameworks.Welcome"
    email: str


class Gate:
    """What the handler signals and waits for: a test decides when a running task may finish."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.ran: list[str] = []


GATE = Gate()


class WelcomeHandler(Handler[Welcome]):
    async def handle(self, task: Welcome, ctx: TaskContext) -> None:
        GATE.started.set()
        await GATE.release.wait()
        GATE.ran.append(task.email)


@pytest.fixture(autouse=True)
def gate() -> Gate:
    global GATE
    GATE = Gate()
    return GATE


def tasks_app(path: Path, *, run_worker: bool = True) -> EverTask:
    app = EverTask(SqliteStorage(str(path)), worker=WorkerSettings(shutdown_grace=30.0), run_worker=run_worker)
    app.register(WelcomeHandler)
    return app


def web_app(app: EverTask) -> FastAPI:
    web = FastAPI(lifespan=app.lifespan)

    @web.post("/signup")
    async def signup(email: str, tasks: EverTaskApp) -> dict[str, str]:
        return {"task": str(await tasks.dispatch(Welcome(email=email)))}

    return web


async def stored(path: Path, task_id: UUID) -> tuple[TaskStatus, int]:
    storage = SqliteStorage(str(path))
    await storage.open()
    try:
        record = await storage.get(task_id)
    finally:
        await storage.close()
    assert record is not None
    return record.status, record.attempts


async def test_the_lifespan_runs_the_worker_with_a_uvicorn_server_and_drains_it_at_shutdown(
    tmp_path: Path, gate: Gate
) -> None:
    app = tasks_app(tmp_path / "tasks.db")
    async with serving(web_app(app)) as (server, running, base):
        async with httpx.AsyncClient(base_url=base) as client:
            first = UUID((await client.post("/signup", params={"email": "ann@example.com"})).json()["task"])
            assert (await app.wait(first, timeout=30)).status is TaskStatus.completed
            gate.started.clear()
            gate.release.clear()
            second = UUID((await client.post("/signup", params={"email": "bob@example.com"})).json()["task"])
        await asyncio.wait_for(gate.started.wait(), 30)
        server.should_exit = True
        # Shutdown waits for the running task (up to shutdown_grace) instead of interrupting it.
        done, _ = await asyncio.wait({running}, timeout=0.5)
        assert not done
        gate.release.set()
        await asyncio.wait_for(running, 30)
    assert gate.ran == ["ann@example.com", "bob@example.com"]
    assert await stored(tmp_path / "tasks.db", second) == (TaskStatus.completed, 1)


async def test_a_producer_app_behind_uvicorn_stores_tasks_for_a_worker_elsewhere(tmp_path: Path, gate: Gate) -> None:
    producer = tasks_app(tmp_path / "tasks.db", run_worker=False)
    async with serving(web_app(producer)) as (_, _, base), httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/signup", params={"email": "ann@example.com"})
        task_id = UUID(response.json()["task"])
    assert not gate.started.is_set()
    assert await stored(tmp_path / "tasks.db", task_id) == (TaskStatus.queued, 0)
    worker = tasks_app(tmp_path / "tasks.db")
    async with worker:
        assert (await worker.wait(task_id, timeout=30)).status is TaskStatus.completed
    assert gate.ran == ["ann@example.com"]


def test_starlette_takes_the_same_lifespan_and_finds_the_app_in_the_request(tmp_path: Path) -> None:
    app = tasks_app(tmp_path / "tasks.db")

    async def signup(request: Request) -> JSONResponse:
        tasks = get_evertask(request)
        task_id = await tasks.dispatch(Welcome(email=request.query_params["email"]))
        return JSONResponse({"status": (await tasks.wait(task_id, timeout=30)).status.value})

    web = Starlette(routes=[Route("/signup", signup, methods=["POST"])], lifespan=app.lifespan)
    with TestClient(web) as client:
        assert client.post("/signup", params={"email": "ann@example.com"}).json() == {"status": "completed"}


async def test_the_dependency_without_the_lifespan_says_what_to_do(tmp_path: Path) -> None:
    web = web_app(tasks_app(tmp_path / "tasks.db"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as client:
        with pytest.raises(ConfigurationError, match=r"lifespan=app.lifespan"):
            await client.post("/signup", params={"email": "ann@example.com"})


async def test_the_dependency_can_be_overridden_in_tests(tmp_path: Path) -> None:
    other = tasks_app(tmp_path / "other.db")
    web = web_app(tasks_app(tmp_path / "tasks.db"))
    web.dependency_overrides[get_evertask] = lambda: other
    async with other, httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as client:
        task_id = UUID((await client.post("/signup", params={"email": "ann@example.com"})).json()["task"])
        assert (await other.wait(task_id, timeout=30)).status is TaskStatus.completed
