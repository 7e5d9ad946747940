"""Each extra works alone, and a missing one is a MissingExtraError naming what to install.

Missing packages are simulated: in this process by ``sys.modules[name] = None`` (an import of it then fails), and
where module-level imports matter in a fresh interpreter that blocks them the same way before importing
evertask. The real proof is ``make extras``: a venv per extra holding only that extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from evertask import EverTask, SyncClient
from evertask._extras import require
from evertask.errors import ConfigurationError, MissingExtraError
from evertask.storage.sql import SqlStorage, storage_from_url
from tests.packaging.readme import quick_start

ROOT = Path(__file__).resolve().parents[2]
SERVER_DRIVERS = ("psycopg", "asyncmy")
SQL = ("sqlalchemy", "alembic", *SERVER_DRIVERS)


def block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def run_without(modules: tuple[str, ...], code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which importing any of ``modules`` fails as if not installed."""
    blocker = f"import sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
    return subprocess.run([sys.executable, "-c", blocker + code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_require_returns_the_module() -> None:
    assert require("json", "none") is json


def test_require_names_the_extra_of_a_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "fastapi")
    with pytest.raises(MissingExtraError) as caught:
        require("fastapi", "web", needed_by="the web API")
    error = caught.value
    assert (error.extra, error.extras, error.module) == ("web", ("web",), "fastapi")
    assert isinstance(error, ConfigurationError)
    assert isinstance(error, ImportError)  # `except ImportError` around an optional import still catches it
    assert str(error).startswith("the web API needs fastapi, which is not installed: install evertask[web]")


@pytest.mark.parametrize(
    ("build", "missing", "extra"),
    [
        (lambda tmp: EverTask.from_url(f"sqlite:///{tmp}/x.db"), "alembic", "sqlite"),
        (lambda tmp: storage_from_url(f"sqlite:///{tmp}/x.db"), "sqlalchemy", "sqlite"),
        (lambda tmp: SyncClient(f"sqlite:///{tmp}/x.db"), "alembic", "sqlite"),
        (lambda tmp: EverTask.from_url("postgresql://user@localhost/db"), "psycopg", "postgres"),
        (lambda tmp: SqlStorage("postgres://user@localhost/db"), "psycopg", "postgres"),
        (lambda tmp: EverTask.from_url("mysql://user@localhost/db"), "asyncmy", "mysql"),
        (lambda tmp: SqlStorage("mariadb://user@localhost/db"), "asyncmy", "mysql"),
    ],
    ids=[
        "from_url-sqlite",
        "storage_from_url-sqlite",
        "SyncClient-sqlite",
        "postgres",
        "SqlStorage-postgres",
        "mysql",
        "SqlStorage-mariadb",
    ],
)
def test_a_storage_without_its_extra_names_the_extra(
    build: Callable[[Path], object], missing: str, extra: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    block(monkeypatch, missing)
    with pytest.raises(MissingExtraError) as caught:
        build(tmp_path)
    assert caught.value.extra == extra
    assert f"install evertask[{extra}]" in str(caught.value)


def test_a_url_naming_another_mysql_driver_does_not_need_asyncmy(monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "asyncmy")
    assert SqlStorage("mysql+aiomysql://user@localhost/db").url.startswith("mysql+aiomysql://")


def test_the_readme_quick_start_runs_without_the_server_drivers(tmp_path: Path) -> None:
    # What `pip install "evertask[sqlite]"` has: no psycopg, no asyncmy, no typer.
    result = run_without((*SERVER_DRIVERS, "typer"), quick_start(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("completed") == 2


@pytest.mark.mysql
def test_mysql_runs_a_task_without_psycopg(mysql_url: str) -> None:
    code = f"""
import asyncio
from evertask import EverTask, Handler, Task, TaskContext
from evertask.storage.sql import SqlStorage

class Ping(Task):
    task_name = "extras.Ping"

class PingHandler(Handler[Ping]):
    async def handle(self, task: Ping, ctx: TaskContext) -> None:
        pass

async def main() -> None:
    app = EverTask(SqlStorage({mysql_url!r}))
    app.register(PingHandler)
    async with app:
        print((await app.wait(await app.dispatch(Ping()), timeout=30)).status)

asyncio.run(main())
"""
    result = run_without(("psycopg", "typer"), code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "completed"


def test_the_command_without_the_cli_extra_says_what_to_install() -> None:
    result = run_without(("typer",), "from evertask.cli import main; main()")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the evertask command needs typer, which is not installed: install evertask[cli] "
        '(pip install "evertask[cli]")'
    ]


@pytest.mark.parametrize(
    ("statement", "extras"),
    [
        ("from evertask.storage import SqliteStorage", ("sqlite",)),
        ("from evertask.storage.sql import SqliteStorage", ("sqlite",)),
        ("from evertask.storage.sql import SqlStorage", ("sqlite", "postgres", "mysql")),
        ("from evertask import EverTask; EverTask.from_url('sqlite:///x.db')", ("sqlite",)),
    ],
)
def test_the_sql_storage_on_a_core_install_names_its_extras(statement: str, extras: tuple[str, ...]) -> None:
    code = f"""
from evertask.errors import MissingExtraError
try:
    {statement}
except MissingExtraError as exc:
    print(exc.extras, exc)
"""
    result = run_without(SQL, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(repr(extras))
    assert f"install evertask[{extras[0]}]" in result.stdout
