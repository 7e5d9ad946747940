"""Running the `evertask` command in tests, and the tasks a test database is prepared with."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from typer.testing import CliRunner, Result

from evertask import EverTask, Queue, WorkerSettings, every
from evertask.cli.app import cli
from evertask.storage import Storage
from tests.integration.cli_app import Flaky, FlakyHandler, Ping, PingHandler

ROOT = Path(__file__).resolve().parents[3]
EVERTASK = [sys.executable, "-c", "from evertask.cli import main; main()"]
FAST = WorkerSettings(heartbeat_interval=0.05, lease=timedelta(seconds=5), poll_interval=0.1, shutdown_grace=1.0)


@dataclass(frozen=True, slots=True)
class Stored:
    """What :func:`fill` stored: two completed Pings, three failed Flakys (two executions each), a Ping due in an
    hour in queue ``critical`` under key ``report-1``, and a nightly recurring Ping under key ``nightly``."""

    completed: list[UUID]
    failed: list[UUID]
    pending: UUID
    series: UUID


@dataclass(frozen=True, slots=True)
class Database:
    """A prepared database: the root options that reach it, and what it holds."""

    options: list[str]
    stored: Stored


async def fill(storage: Storage) -> Stored:
    """Dispatch and run the tasks of :class:`Stored` with an EverTask app on ``storage``."""
    app = EverTask(storage, queues={"critical": Queue()}, worker=FAST)
    app.register(PingHandler)
    app.register(FlakyHandler)
    async with app:
        completed = [await app.dispatch(Ping(n=n)) for n in (1, 2)]
        failed = [await app.dispatch(Flaky(n=n)) for n in (1, 2, 3)]
        for task_id in completed + failed:
            await app.wait(task_id, timeout=30, poll_interval=0.05)
        pending = await app.dispatch(Ping(n=9), delay=timedelta(hours=1), queue="critical", key="report-1")
        series = await app.dispatch(Ping(n=0), recurring=every().day().at(time(3, 0)), key="nightly")
    return Stored(completed=completed, failed=failed, pending=pending, series=series)


def invoke(*args: str) -> Result:
    """Run ``evertask ARGS`` in this process with typer's test runner; stdin is no terminal there, so a command
    that must confirm refuses unless ``--yes``. Wide columns keep rich from wrapping what a test looks for; the
    environment's storage settings, if any, are left out."""
    env = {"COLUMNS": "200", "EVERTASK_URL": None, "EVERTASK_SCHEMA": None}
    return CliRunner().invoke(cli, list(args), prog_name="evertask", env=env)


def evertask(database: Database, *args: str) -> Result:
    """Run ``evertask <the database's root options> ARGS`` (see :func:`invoke`)."""
    return invoke(*database.options, *args)


def succeeds(result: Result) -> Result:
    """``result``, after checking that the command exited 0."""
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def json_of(result: Result) -> Any:
    """The JSON a successful ``--json`` command printed."""
    return json.loads(succeeds(result).stdout)
