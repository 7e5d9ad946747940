"""The operations API mounted under the user's own FastAPI app, served by uvicorn: the host's lifespan starts
the EverTask app, and ``/evertask/api/v1`` answers about the tasks the host's routes dispatched."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from evertask import EverTask, Handler, Task, TaskContext, TaskStatus
from evertask.contrib.fastapi import EverTaskApp
from evertask.storage.sql import SqliteStorage
from tests.frameworks.server import serving

web_module = pytest.importorskip("evertask.web", reason="the operations API (evertask.web) is not in this tree")


class Archive(Task):
    task_name = "frameworks.Archive"
    folder: str


class ArchiveHandler(Handler[Archive]):
    async def handle(self, task: Archive, ctx: TaskContext) -> str:
        return f"archived {task.folder}"


async def test_the_operations_api_mounted_in_the_users_app_sees_its_tasks(tmp_path: Path) -> None:
    app = EverTask(SqliteStorage(str(tmp_path / "tasks.db")))
    app.register(ArchiveHandler)
    web = FastAPI(lifespan=app.lifespan)

    @web.post("/archive")
    async def archive(folder: str, tasks: EverTaskApp) -> dict[str, str]:
        return {"task": str(await tasks.dispatch(Archive(folder=folder)))}

    web.mount("/evertask", web_module.create_app(app))
    async with serving(web) as (_, _, base), httpx.AsyncClient(base_url=base) as client:
        task_id = UUID((await client.post("/archive", params={"folder": "2026"})).json()["task"])
        assert (await app.wait(task_id, timeout=30)).status is TaskStatus.completed
        listed = (await client.get("/evertask/api/v1/tasks")).json()
        detail = (await client.get(f"/evertask/api/v1/tasks/{task_id}")).json()
    assert [item["id"] for item in listed["tasks"]] == [str(task_id)]
    assert detail["status"] == "completed"
