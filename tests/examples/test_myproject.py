"""The second example of the first hour: ``examples/myproject`` (tasks in an importable module) run as a user
runs it: ``evertask worker myproject.tasks:app`` in one process, producers in others (an async script, a plain
synchronous script, a Flask app)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVERTASK = [sys.executable, "-c", "from evertask.cli import main; main()"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example project in a fresh folder (its tasks.db is created there)."""
    shutil.copytree(
        ROOT / "examples" / "myproject", tmp_path / "myproject", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


@pytest.fixture
def worker(project: Path) -> Iterator[subprocess.Popen[str]]:
    """``evertask worker myproject.tasks:app`` running in the project's folder; stopped with SIGTERM after."""
    process = subprocess.Popen(
        [*EVERTASK, "worker", "myproject.tasks:app"], cwd=project, stderr=subprocess.PIPE, text=True
    )
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


def stop(worker: subprocess.Popen[str]) -> str:
    """Stop the worker gracefully; what it logged."""
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    return stderr


def run_module(project: Path, module: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=project, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_worker_command_runs_what_an_async_producer_and_a_plain_script_dispatch(
    project: Path, worker: subprocess.Popen[str]
) -> None:
    assert (
        run_module(project, "myproject.dispatch", "ann@example.com")
        .strip()
        .endswith(" completed: sent to ann@example.com")
    )
    assert (
        run_module(project, "myproject.script", "bob@example.com")
        .strip()
        .endswith(" completed (sent to bob@example.com); 2 completed recently")
    )
    logged = stop(worker)
    assert "welcome mail to ann@example.com (attempt 1)" in logged
    assert "welcome mail to bob@example.com (attempt 1)" in logged


def test_importing_the_tasks_module_runs_no_task(project: Path) -> None:
    # A producer alone: the task is stored and stays queued, since no worker process runs.
    code = (
        "import asyncio\n"
        "from myproject.tasks import SendWelcomeEmail, app\n"
        "async def main():\n"
        "    async with app:\n"
        "        task_id = await app.dispatch(SendWelcomeEmail(email='ann@example.com'))\n"
        "        try:\n"
        "            await app.wait(task_id, timeout=1)\n"
        "        except TimeoutError:\n"
        "            print((await app.get(task_id)).status.value)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "queued"


@pytest.fixture
def flask_app(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    import myproject.flask_app as module

    try:
        yield module
    finally:
        module.client.close()
        for name in [name for name in sys.modules if name == "myproject" or name.startswith("myproject.")]:
            del sys.modules[name]


def test_the_flask_example_dispatches_and_reports_through_the_worker(
    flask_app: ModuleType, worker: subprocess.Popen[str]
) -> None:
    http = flask_app.web.test_client()
    response = http.post("/signup", data={"email": "ann@example.com"})
    assert response.status_code == 202
    task_id = response.get_json()["task"]
    flask_app.client.wait(flask_app.UUID(task_id), timeout=60)
    assert http.get(f"/tasks/{task_id}").get_json() == {
        "status": "completed",
        "attempts": 1,
        "result": "sent to ann@example.com",
    }
    assert http.post(f"/tasks/{task_id}/cancel").get_json() == {"cancelled": False}  # it had finished
    assert http.get("/tasks/00000000-0000-0000-0000-000000000000").status_code == 404
    assert "welcome mail to ann@example.com" in stop(worker)
