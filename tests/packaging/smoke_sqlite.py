"""The sqlite extra alone: the README quick start runs as written; a server URL names its own extra."""

from __future__ import annotations

from readme import run_quick_start
from smoke import expect_missing_extra

from evertask import EverTask

print(run_quick_start(), end="")
expect_missing_extra("postgres", "a PostgreSQL URL", lambda: EverTask.from_url("postgresql://user@localhost/db"))
expect_missing_extra("mysql", "a MySQL URL", lambda: EverTask.from_url("mysql://user@localhost/db"))
