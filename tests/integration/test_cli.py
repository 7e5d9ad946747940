"""The `evertask` command: a worker for an app (optionally some queues only), and schema upgrades."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from evertask import EverTask, Queue, TaskStatus, __version__
from evertask.storage.sql import SqliteStorage

ROOT = Path(__file__).resolve().parents[2]
EVERTASK = [sys.executable, "-c", "from evertask.cli import main; main()"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EVERTASK, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "worker" in result.stdout
    assert "db" in result.stdout


def test_version_prints_the_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"evertask {__version__}\n"


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
