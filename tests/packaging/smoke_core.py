"""The core install (no extra): memory storage runs a task, and each SQL backend and the command say which extra
to install."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from smoke import expect_missing_extra, run_one_task

from evertask import EverTask
from evertask.storage import MemoryStorage

run_one_task(MemoryStorage())
for url, extra in [
    ("sqlite:///x.db", "sqlite"),
    ("postgresql://user@localhost/db", "postgres"),
    ("mysql://user@localhost/db", "mysql"),
]:
    expect_missing_extra(extra, f"EverTask.from_url({url!r})", lambda url=url: EverTask.from_url(url))
storage = importlib.import_module("evertask.storage")
expect_missing_extra("sqlite", "from evertask.storage import SqliteStorage", lambda: storage.SqliteStorage)
command = subprocess.run([Path(sys.executable).parent / "evertask", "--help"], capture_output=True, text=True)
if command.returncode != 2 or "install evertask[cli]" not in command.stderr or "Traceback" in command.stderr:
    raise AssertionError(f"evertask without the cli extra: exit {command.returncode}, {command.stderr}")
print(f"evertask --help: {command.stderr}", end="")
