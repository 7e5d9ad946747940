"""The `evertask` command: a worker for an app (some queues only, its concurrency and poll interval), schema
upgrades, the version, and the web command's missing extra."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import evertask
from evertask import EverTask, Queue, TaskStatus
from evertask.cli import worker as worker_command
from evertask.storage.sql import SqliteStorage
from tests.integration.cli.helpers import EVERTASK, ROOT, invoke


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EVERTASK, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "worker" in result.stdout
    assert "db" in result.stdout


def test_db_upgrade_creates_the_tables(tmp_path: Path) -> None:
    database = tmp_path / "tasks.db"
    result = run("db", "upgrade", "--url", f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert database.exists()


def test_an_unknown_app_is_a_clear_error() -> None:
    result = run("worker", "no.such.module:app")
    assert result.returncode == 2
    assert "cannot import 'no.such.module'" in result.stderr


async def test_a_worker_for_one_queue_runs_that_queue_only_and_stops_gracefully(tmp_path: Path) -> None:
    from tests.integration.cli_app import Ping, PingHandler

    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    client = EverTask(SqliteStorage(str(tmp_path / "tasks.db")), run_worker=False, queues={"critical": Queue()})
    client.register(PingHandler)
    async with client:
        critical = await client.dispatch(Ping(n=1), queue="critical")
        elsewhere = await client.dispatch(Ping(n=2))
    worker = await asyncio.create_subprocess_exec(
        *EVERTASK,
        "worker",
        "tests.integration.cli_app:app",
        "--queue",
        "critical",
        cwd=ROOT,
        env={**os.environ, "EVERTASK_TEST_URL": url},
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with client:
            record = await client.wait(critical, timeout=30, poll_interval=0.05)
            assert record.status is TaskStatus.completed
            other = await client.get(elsewhere)
            assert other is not None
            assert other.status is TaskStatus.queued
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), timeout=30)
    assert worker.returncode == 0, stderr.decode()
    assert "worker running" in stderr.decode()


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"evertask {evertask.__version__}\n"


def test_concurrency_and_poll_interval_configure_the_worker_that_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.cli import hold_app

    served: list[EverTask] = []

    async def capture(app: EverTask) -> None:
        served.append(app)

    monkeypatch.setattr(worker_command, "serve", capture)
    result = invoke("worker", "tests.integration.cli.hold_app:app", "--concurrency", "2", "--poll-interval", "0.25")
    assert result.exit_code == 0, result.output
    assert served == [hold_app.app]
    assert hold_app.app.worker_settings.poll_interval == 0.25

    async def run_five() -> list[TaskStatus]:
        async with hold_app.app as app:
            ids = [await app.dispatch(hold_app.Hold()) for _ in range(5)]
            for _ in range(2):
                await asyncio.wait_for(hold_app.started.get(), timeout=10)
            with pytest.raises(TimeoutError):  # a third never starts while two hold the queue's slots
                await asyncio.wait_for(hold_app.started.get(), timeout=0.5)
            hold_app.release.set()
            return [(await app.wait(task_id, timeout=10)).status for task_id in ids]

    assert asyncio.run(run_five()) == [TaskStatus.completed] * 5
    assert hold_app.peak == 2


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--concurrency", "0", "Invalid value for '--concurrency'"),
        ("--poll-interval", "0", "must be more than 0 seconds"),
    ],
)
def test_worker_options_out_of_range_are_usage_errors(option: str, value: str, message: str) -> None:
    result = invoke("worker", "tests.integration.cli_app:app", option, value)
    assert result.exit_code == 2
    assert message in result.stderr


def test_web_without_the_web_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # importing it now fails as if it were not installed
    monkeypatch.delitem(sys.modules, "evertask.web.command", raising=False)
    result = invoke("web", "sqlite:///tasks.db")
    assert result.exit_code == 2
    assert 'install evertask[web], e.g. pip install "evertask[web]"' in result.stderr
