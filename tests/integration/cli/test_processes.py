"""The `evertask` console script as operators run it: in its own process, next to a live worker, and on a
terminal where bulk changes ask first."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.cli.helpers import EVERTASK, ROOT, Database, evertask, json_of

SCRIPT = str(Path(sys.executable).with_name("evertask"))
"""The console script pip installed beside this interpreter (.venv/bin/evertask)."""


def test_the_console_script_prints_status_as_json(sqlite_db: Database) -> None:
    result = subprocess.run(
        [SCRIPT, *sqlite_db.options, "status", "--json"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    queues = {queue["name"]: queue for queue in status["queues"]}
    assert (queues["default"]["counts"]["completed"], queues["default"]["counts"]["failed"]) == (2, 3)
    assert status["workers"] == []


def test_workers_lists_a_live_worker_until_it_stops(sqlite_db: Database) -> None:
    url = sqlite_db.options[1]
    worker = subprocess.Popen(
        [*EVERTASK, "worker", "tests.integration.cli_app:app", "--queue", "critical"],
        cwd=ROOT,
        env={**os.environ, "EVERTASK_TEST_URL": url},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        for line in worker.stderr:  # the worker has registered itself once it says it runs
            if "worker running" in line:
                break
        (live,) = json_of(evertask(sqlite_db, "workers", "--json"))
        assert (live["pid"], live["queues"], live["running"]) == (worker.pid, ["critical"], 0)
        assert [w["id"] for w in json_of(evertask(sqlite_db, "status", "--json"))["workers"]] == [live["id"]]
        assert str(worker.pid) in evertask(sqlite_db, "workers").stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert worker.returncode == 0
    assert json_of(evertask(sqlite_db, "workers", "--json")) == []
    assert evertask(sqlite_db, "workers").stdout == "no live worker: nothing runs the tasks\n"


def on_a_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run the console script with a pseudo-terminal as its stdin and output, answer its question, and return
    its exit status and everything it printed."""
    controller, terminal = os.openpty()
    command = subprocess.Popen([SCRIPT, *args], stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT)
    os.close(terminal)
    printed = b""
    answered = False
    try:
        while select.select([controller], [], [], 60)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the command ended and its terminal closed
                break
            if not chunk:
                break
            printed += chunk
            if not answered and b"[y/N]" in printed:
                os.write(controller, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(controller)
    return command.wait(timeout=60), printed.decode()


def test_a_bulk_retry_on_a_terminal_asks_first_and_a_no_changes_nothing(sqlite_db: Database) -> None:
    code, printed = on_a_terminal([*sqlite_db.options, "tasks", "retry", "--status", "failed"], "n")
    assert code == 1
    assert "Retry 3 tasks (status=failed)? [y/N]" in printed
    assert "nothing changed" in printed
    failed = json_of(evertask(sqlite_db, "tasks", "list", "--status", "failed", "--json"))["tasks"]
    assert len(failed) == 3


def test_a_purge_on_a_terminal_goes_ahead_on_yes(sqlite_db: Database) -> None:
    code, printed = on_a_terminal([*sqlite_db.options, "tasks", "purge", "--status", "completed"], "y")
    assert code == 0, printed
    assert "Delete 2 tasks (status=completed)? Their history and executions go too; this cannot be undone." in printed
    assert "deleted 2 tasks" in printed
    assert json_of(evertask(sqlite_db, "tasks", "list", "--status", "completed", "--json"))["tasks"] == []
